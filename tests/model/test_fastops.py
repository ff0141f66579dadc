"""model.fastops: the C depthwise convolution and hard_swish used for training
agree with Paddle's own kernels (outputs and both gradients), alone and inside
the PP-OCRv3 network."""
import numpy as np
import paddle
import pytest

from model import fastops
from model_helpers import CONFIG

paddle.set_device("cpu")


def _run(layer, x0, seed=0):
    paddle.seed(seed)
    x = x0.clone()
    x.stop_gradient = False
    y = layer(x)
    (y * y * 0.5 + y).sum().backward()  # a non-uniform upstream gradient
    grads = {n: p.grad.numpy().copy() for n, p in layer.named_parameters() if p.grad is not None}
    return y.numpy(), x.grad.numpy(), grads


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-6))


def _twins(make):
    stock = make()
    fast = make()
    fast.set_state_dict(stock.state_dict())
    return stock, fast


@pytest.mark.parametrize("kernel,stride,pad,hw,bias", [
    (3, 1, 1, (16, 40), False), (3, (2, 1), 1, (16, 40), False), (3, 2, 1, (7, 9), True),
    (3, 2, 0, (7, 9), False), (5, 1, 2, (8, 40), False), (5, (2, 1), 2, (8, 40), True),
    (5, (1, 2), 2, (2, 80), False), (5, 1, 2, (3, 3), False)])
def test_depthwise_matches_paddle(kernel, stride, pad, hw, bias):
    c = 8
    stock, fast = _twins(lambda: paddle.nn.Conv2D(c, c, kernel, stride=stride, padding=pad,
                                                 groups=c, bias_attr=None if bias else False))
    assert fastops.use_fast_kernels(fast) == {"depthwise": 1, "hard_swish": 0}
    x = paddle.randn([3, c, *hw])
    (ys, gxs, gws), (yf, gxf, gwf) = _run(stock, x), _run(fast, x)
    assert ys.shape == yf.shape
    assert _rel(ys, yf) < 1e-5 and _rel(gxs, gxf) < 1e-5
    assert gws.keys() == gwf.keys() and all(_rel(gws[k], gwf[k]) < 1e-5 for k in gws)


def test_depthwise_takes_a_non_contiguous_input():
    c = 4
    stock, fast = _twins(lambda: paddle.nn.Conv2D(c, c, 3, padding=1, groups=c))
    fastops.use_fast_kernels(fast)
    x = paddle.randn([2, 6, 5, c]).transpose([0, 3, 1, 2])  # a strided view
    assert not x.is_contiguous()
    assert _rel(stock(x).numpy(), fast(x).numpy()) < 1e-6


def test_frozen_weights_and_constant_inputs():
    """Paddle's PyLayer contract: no gradient for what does not need one
    (a frozen layer when fine-tuning, an input that is data)."""
    c = 4
    stock, fast = _twins(lambda: paddle.nn.Conv2D(c, c, 3, padding=1, groups=c))
    fastops.use_fast_kernels(fast)
    x = paddle.randn([2, c, 5, 6])  # stop_gradient: a constant input
    for layer in (stock, fast):
        layer(x).sum().backward()
    assert _rel(stock.weight.grad.numpy(), fast.weight.grad.numpy()) < 1e-5
    fast.weight.stop_gradient = True
    x.stop_gradient = False
    (fast(x) * 2).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_layers_it_must_leave_alone():
    grouped = paddle.nn.Conv2D(8, 8, 3, groups=2)           # grouped, not depthwise
    dilated = paddle.nn.Conv2D(4, 4, 3, groups=4, dilation=2)
    nhwc = paddle.nn.Conv2D(4, 4, 3, groups=4, data_format="NHWC")
    assert not any(fastops.is_depthwise(l) for l in (grouped, dilated, nhwc))
    assert fastops.is_depthwise(paddle.nn.Conv2D(4, 4, 3, groups=4))


def test_hardswish_matches_paddle_including_the_kinks():
    stock, fast = _twins(lambda: paddle.nn.BatchNorm(6, act="hard_swish"))
    assert fastops.use_fast_kernels(fast) == {"depthwise": 0, "hard_swish": 1}
    x = paddle.randn([2, 6, 4, 5]) * 4
    (ys, gxs, gs), (yf, gxf, gf) = _run(stock, x), _run(fast, x)
    assert _rel(ys, yf) < 1e-6 and _rel(gxs, gxf) < 1e-5
    assert all(_rel(gs[k], gf[k]) < 1e-5 for k in gs)
    # exact values at and around the kinks (-3 and 3), plain nn.Hardswish
    stock, fast = paddle.nn.Hardswish(), paddle.nn.Hardswish()
    assert fastops.use_fast_kernels(fast)["hard_swish"] == 1
    x = paddle.to_tensor([[-4.0, -3.0, -2.9, 0.0, 1.5, 2.9, 3.0, 3.1]])
    (ys, gxs, _), (yf, gxf, _) = _run(stock, x), _run(fast, x)
    np.testing.assert_allclose(yf, ys, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gxf, gxs, rtol=1e-6, atol=1e-7)


def test_whole_recognizer_same_loss_and_gradients():
    from model.config import RecConfig
    cfg = RecConfig(CONFIG, {})
    paddle.seed(3)
    stock, fast = _twins(cfg.build_model)
    assert fastops.use_fast_kernels(fast) == {"depthwise": 13, "hard_swish": 27}
    loss_fn = cfg.build_loss()
    x = paddle.randn([2] + cfg.image_shape)
    rng = np.random.default_rng(0)
    labels = paddle.to_tensor(rng.integers(1, 96, (2, cfg.max_text_length)).astype("int64"))
    lengths = paddle.to_tensor(np.array([5, 9], "int64"))
    results = []
    for net in (stock, fast):
        paddle.seed(7)  # the same dropout masks
        net.train()
        loss = loss_fn(net(x), [x, labels, lengths])["loss"]
        loss.backward()
        results.append((float(loss), {n: p.grad.numpy() for n, p in net.named_parameters()
                                      if p.grad is not None}))
    (ls, gs), (lf, gf) = results
    assert abs(ls - lf) <= 1e-5 * abs(ls)
    assert gs.keys() == gf.keys() and len(gs) > 100
    # Float rounding through ~40 layers (measured 6.5e-5 relative at worst), each
    # tensor against its own scale -- or, for a gradient that is rounding noise
    # itself (the last layer norm's bias: |g| < 1e-7 with the 3x3 SVTR neck),
    # against the largest gradient of the network.
    largest = max(float(np.abs(g).max()) for g in gs.values())
    worst = max(float(np.abs(gs[k] - gf[k]).max()) / max(float(np.abs(gs[k]).max()), 1e-3 * largest)
                for k in gs)
    assert worst < 1e-4, worst


def test_missing_compiler_is_a_compile_error(monkeypatch):
    monkeypatch.setattr(fastops, "_lib", None)
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(fastops.CompileError):
        fastops.load()
