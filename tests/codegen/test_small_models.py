"""Generality: small Paddle models of our own, compiled and checked against
Paddle inference and onnxruntime (max abs diff <= 1e-4, same argmax)."""
import pytest

from codegen_helpers import compile_and_check, export, paddle_seeded  # noqa: F401 (fixture)


def _randomize_bn(paddle, model):
    """Fresh BN layers have mean 0 / var 1: give them real statistics so BN
    folding is actually exercised."""
    for layer in model.sublayers():
        if hasattr(layer, "_mean") and hasattr(layer, "_variance"):
            n = layer._mean.shape[0]
            layer._mean.set_value(paddle.randn([n]) * 0.2)
            layer._variance.set_value(paddle.rand([n]) + 0.5)


def conv_bn_act_pool(paddle):
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2D(3, 8, 3, padding=1)
            self.b1 = nn.BatchNorm2D(8)
            self.c2 = nn.Conv2D(8, 8, 3, stride=2, padding=1, groups=8)  # depthwise
            self.b2 = nn.BatchNorm2D(8)
            self.c3 = nn.Conv2D(8, 16, 1)
            self.pool = nn.MaxPool2D(2, 2)
            self.avg = nn.AvgPool2D(2, 2)

        def forward(self, x):
            x = nn.functional.relu(self.b1(self.c1(x)))
            x = nn.functional.hardswish(self.b2(self.c2(x)))
            x = self.pool(nn.functional.sigmoid(self.c3(x)) * x.mean(axis=1, keepdim=True))
            return self.avg(x)
    return Net(), [1, 3, 16, 24]


def matmul_softmax(paddle):
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(12, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = nn.functional.hardsigmoid(self.fc1(x))
            return nn.functional.softmax(self.fc2(x), axis=-1)
    return Net(), [1, 5, 12]


def attention_layernorm(paddle):
    nn = paddle.nn

    class Net(nn.Layer):
        """One pre-norm transformer block, as in the SVTR neck."""
        def __init__(self, dim=16, heads=2):
            super().__init__()
            self.heads, self.dim = heads, dim
            self.norm1 = nn.LayerNorm(dim, epsilon=1e-6)
            self.qkv = nn.Linear(dim, dim * 3)
            self.proj = nn.Linear(dim, dim)
            self.norm2 = nn.LayerNorm(dim, epsilon=1e-6)
            self.mlp1 = nn.Linear(dim, dim * 2)
            self.mlp2 = nn.Linear(dim * 2, dim)

        def forward(self, x):
            b, n, c = x.shape
            h = self.norm1(x)
            qkv = self.qkv(h).reshape([b, n, 3, self.heads, c // self.heads])
            qkv = qkv.transpose([2, 0, 3, 1, 4])
            q, k, v = qkv[0] * (c // self.heads) ** -0.5, qkv[1], qkv[2]
            att = nn.functional.softmax(q.matmul(k.transpose([0, 1, 3, 2])), axis=-1)
            y = att.matmul(v).transpose([0, 2, 1, 3]).reshape([b, n, c])
            x = x + self.proj(y)
            x = x + self.mlp2(nn.functional.gelu(self.mlp1(self.norm2(x))))
            return nn.functional.softmax(x, axis=-1)
    return Net(), [1, 8, 16]


def conv_to_sequence(paddle):
    """A CTC-style tail: conv features squeezed to a sequence, then a head."""
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(3, 8, 3, stride=(2, 1), padding=1)
            self.bn = nn.BatchNorm2D(8)
            self.pool = nn.AvgPool2D((4, 2), (4, 2))
            self.fc = nn.Linear(8, 11)

        def forward(self, x):
            x = nn.functional.hardswish(self.bn(self.conv(x)))
            x = self.pool(x).flatten(2).transpose([0, 2, 1])
            return nn.functional.softmax(self.fc(x), axis=2)
    return Net(), [1, 3, 8, 16]


def pools_and_log_softmax(paddle):
    """Strided conv, relu6, padded avg/max pooling, adaptive pooling, flatten."""
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2D(3, 8, 3, stride=2, padding=1)
            self.pool = nn.AdaptiveAvgPool2D(1)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            y = nn.functional.relu6(self.c(x))
            y = nn.functional.avg_pool2d(y, 3, stride=1, padding=1) + \
                nn.functional.max_pool2d(y, 3, stride=1, padding=1)
            return nn.functional.log_softmax(self.fc(self.pool(y).flatten(1)), axis=-1)
    return Net(), [1, 3, 9, 11]


def batched_matmul_layernorm(paddle):
    """Batch 2, bmm attention-like product, layer norm, a mean broadcast back."""
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.q = nn.Linear(10, 10)
            self.ln = nn.LayerNorm(10)

        def forward(self, x):
            a = paddle.bmm(self.q(x), x.transpose([0, 2, 1]))
            y = paddle.bmm(nn.functional.softmax(a, -1), x)
            return self.ln(y) + x.mean(axis=1, keepdim=True)
    return Net(), [2, 7, 10]


def dilated_grouped_split_acts(paddle):
    """Dilated conv, grouped conv with a 1x3 kernel and stride (1,2), split and
    concat, leaky_relu (paddle2onnx drops its slope; codegen repairs it),
    tanh, gelu."""
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2D(3, 6, 3, padding=2, dilation=2)
            self.bn = nn.BatchNorm2D(6)
            self.c2 = nn.Conv2D(6, 6, (1, 3), stride=(1, 2), padding=(0, 1), groups=3)

        def forward(self, x):
            y = nn.functional.leaky_relu(self.bn(self.c(x)), 0.1)
            a, b = paddle.split(self.c2(y), 2, axis=1)
            return paddle.concat([paddle.tanh(a), nn.functional.gelu(b)], axis=1)
    return Net(), [1, 3, 10, 12]


@pytest.mark.parametrize("builder", [conv_bn_act_pool, matmul_softmax, attention_layernorm,
                                     conv_to_sequence, pools_and_log_softmax,
                                     batched_matmul_layernorm, dilated_grouped_split_acts],
                         ids=lambda b: b.__name__)
def test_small_model_matches_paddle(builder, paddle_seeded, tmp_path):
    model, shape = builder(paddle_seeded)
    _randomize_bn(paddle_seeded, model)
    model_dir = export(model, shape, tmp_path / "model")
    report, result = compile_and_check(model_dir, tmp_path / "gen", n=2)
    assert result["ok"], result
    assert result["max_abs_diff_paddle"] <= 1e-4
    assert report["totals"]["arena_bytes"] >= report["totals"]["peak_live_lower_bound"]
    assert report["totals"]["scratch_tensors"] == 0


def test_dynamic_batch_model_compiles_with_given_shape(paddle_seeded, tmp_path):
    model, shape = matmul_softmax(paddle_seeded)
    model_dir = export(model, shape, tmp_path / "model", dynamic_batch=True)
    report, result = compile_and_check(model_dir, tmp_path / "gen", shape=shape, n=2)
    assert result["ok"], result
    assert report["input_shape"] == shape


def test_stock_schedule_is_also_correct(paddle_seeded, tmp_path):
    """The untouched legalized TIR (issue 7's baseline) needs scratch buffers,
    which the planner places in the arena; it must still match."""
    model, shape = conv_bn_act_pool(paddle_seeded)
    model_dir = export(model, shape, tmp_path / "model")
    report, result = compile_and_check(model_dir, tmp_path / "gen", n=1, schedule="stock")
    assert result["ok"], result
    assert report["totals"]["scratch_tensors"] > 0


def test_reshapes_between_kernels_are_views(paddle_seeded, tmp_path):
    """A reshape that stays a kernel of its own after fusion costs a copy; the
    executor passes the same arena bytes instead."""
    nn = paddle_seeded.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2D(3, 4, 3, padding=1)
            self.c2 = nn.Conv2D(4, 4, 1)

        def forward(self, x):
            y = self.c1(x)
            z = self.c2(y)
            return nn.functional.softmax(y.reshape([1, 4, 36]), axis=-1) + z.reshape([1, 4, 36])
    model_dir = export(Net(), [1, 3, 6, 6], tmp_path / "model")
    report, result = compile_and_check(model_dir, tmp_path / "gen", n=2)
    assert result["ok"], result
    assert report["totals"]["views"] == 2
    assert not any("reshape" in k["kernel"] for k in report["kernels"])


def test_output_that_is_a_view_is_written_in_place(paddle_seeded, tmp_path):
    """conv -> reshape as the last op: the conv writes straight into the
    caller's output buffer, no arena at all (and no unused-arena warning)."""
    nn = paddle_seeded.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2D(3, 4, 3, padding=1)

        def forward(self, x):
            return self.c(x).reshape([1, 4, 36])
    model_dir = export(Net(), [1, 3, 6, 6], tmp_path / "model")
    report, result = compile_and_check(model_dir, tmp_path / "gen", n=2)
    assert result["ok"], result
    assert report["totals"]["arena_bytes"] == 0 and report["totals"]["views"] == 1
    assert report["kernels"][0]["output"]["external"] == "output"


def test_layer_norm_squares_without_powf(paddle_seeded, tmp_path):
    """Layer norm's variance is exported as Pow(x, 2); codegen turns it into
    x * x so the device does not call powf per element."""
    model, shape = attention_layernorm(paddle_seeded)
    model_dir = export(model, shape, tmp_path / "model")
    report, result = compile_and_check(model_dir, tmp_path / "gen", n=1)
    assert result["ok"], result
    assert "powf" not in (tmp_path / "gen" / "kernels.c").read_text()
