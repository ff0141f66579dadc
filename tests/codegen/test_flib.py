"""codegen/flib.py: the Helium float convolutions (3x3/5x5 "same", 2x2 up-sampling).

The packers and numpy references against onnxruntime; which convolutions the
rewrite takes (and which it leaves to TVM); the kernels on QEMU inside a
compiled network, against onnxruntime, including image borders, rows shorter
than a register block, up-sampling to a channel count that is not a multiple
of 4, and the kernel's limits (#defines) against flib's."""
import os
import re

import numpy as np
import pytest

from codegen import compiler, device, flib, microkernels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ort(model, x):
    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString())
    return session.run(None, {"x": x})[0]


def _conv_model(cin, cout, k, h, w, stride=1, pad=None, deconv_out=None, two_users=False):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(cin * 100 + k)
    pad = k // 2 if pad is None else pad
    weight = (rng.standard_normal((cout, cin, k, k)) * 0.2).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[k, k], pads=[pad] * 4,
                              strides=[stride, stride])]
    inits = [numpy_helper.from_array(weight, "w")]
    last = "c"
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    if deconv_out:
        wt = (rng.standard_normal((cout, deconv_out, 2, 2)) * 0.2).astype(np.float32)
        nodes.append(helper.make_node("ConvTranspose", ["c", "wt"], ["y"], kernel_shape=[2, 2], strides=[2, 2]))
        inits.append(numpy_helper.from_array(wt, "wt"))
        last, out = "y", [1, deconv_out, 2 * oh, 2 * ow]
    else:
        out = [1, cout, oh, ow]
    if two_users:  # the convolution's result read twice: no epilogue fused
        nodes += [helper.make_node("Relu", [last], ["r"]), helper.make_node("Add", ["r", last], ["out"])]
    else:
        nodes.append(helper.make_node("Relu", [last], ["out"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, h, w])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, out)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_references_match_onnxruntime():
    import onnx
    rng = np.random.default_rng(0)
    for k in (3, 5):
        model = _conv_model(6, 8, k, 9, 13)
        x = rng.standard_normal((1, 6, 9, 13)).astype(np.float32)
        weight = onnx.numpy_helper.to_array(model.graph.initializer[0])
        np.testing.assert_allclose(np.maximum(flib.conv_reference(x, weight), 0), _ort(model, x), atol=1e-5)
    model = _conv_model(5, 8, 3, 4, 6, deconv_out=3)
    x = rng.standard_normal((1, 5, 4, 6)).astype(np.float32)
    w, wt = (onnx.numpy_helper.to_array(t) for t in model.graph.initializer)
    got = np.maximum(flib.deconv_reference(flib.conv_reference(x, w), wt), 0)
    np.testing.assert_allclose(got, _ort(model, x), atol=1e-5)


def test_packed_layouts():
    w = np.arange(8 * 3 * 3 * 3, dtype=np.float32).reshape(8, 3, 3, 3)
    p = flib.pack_conv(w)
    assert p.shape == (2, 3, 3, 3, 4) and p[1, 2, 0, 1, 3] == w[7, 1, 2, 0]
    wt = np.arange(5 * 6 * 4, dtype=np.float32).reshape(5, 6, 2, 2)
    q = flib.pack_deconv(wt)
    assert q.shape == (2, 2, 2, 5, 4) and q[1, 0, 1, 4, 1] == wt[4, 5, 0, 1]
    assert not q[1, :, :, :, 2:].any()  # channels 6, 7 do not exist


def _c_source(name):
    """(text, {macro: int}) of a ukernels/ source file's #defines."""
    with open(os.path.join(microkernels.SOURCE_DIR, name), encoding="utf-8") as f:
        text = f.read()
    return text, {k: int(v) for k, v in re.findall(r"#define (\w+) (\d+)", text)}


def test_kernel_limits_match_the_c_defines():
    _, defines = _c_source("f32_kernels.c")
    assert (defines["CONV_MAX_KERNEL"], defines["DECONV_CHUNK"], defines["IM2COL_TILE"]) == \
        (flib.MAX_KERNEL, flib.DECONV_CHUNK, flib.IM2COL_TILE)


def _matches_onnxruntime_on_qemu(model, files, xs, refs, tmp_path):
    """The compiled model (files) on QEMU for inputs xs [n, 1, ...] against refs."""
    gen = tmp_path / "gen"
    compiler.write_outputs(str(gen), files)
    work = tmp_path / "work"
    work.mkdir()
    elf = device.build_elf(str(gen), xs, refs, str(work), ROOT)
    for row in device.run_qemu(elf, len(xs), timeout=600):
        assert row["rc"] == 0 and row["max_abs_diff"] <= 2e-5, row


def _compile(model, tmp_path, shape, backend="llvm-mve"):
    import onnx
    path = str(tmp_path / "m.onnx")
    onnx.save(model, path)
    return compiler.build(None, shape, backend=backend, onnx_file=path)


@pytest.mark.parametrize("case", [
    # (cin, cout, k, h, w, stride, pad, taken)
    (3, 8, 3, 1, 20, 1, 1, False),     # one output row: TVM's schedule (dead taps)
    (3, 8, 3, 8, 8, 2, 1, "im2col"),   # a stem: stride 2, a short reduction
    (16, 8, 3, 8, 8, 2, 1, False),     # stride 2, 144 > 64 reduction rows
    (3, 6, 3, 8, 8, 1, 1, False),      # 6 output channels
    (3, 8, 3, 8, 8, 1, 0, False),      # "valid" padding
    (3, 8, 3, 8, 8, 1, 1, True),
    (8, 8, 1, 8, 8, 1, 0, False),      # 1x1 with its epilogue: rule 3e's micro-kernel
    (8, 8, 1, 8, 8, 1, 0, "two users"),  # 1x1 read twice: no epilogue
])
def test_which_convolutions_are_taken(tmp_path, case):
    cin, cout, k, h, w, stride, pad, taken = case
    model = _conv_model(cin, cout, k, h, w, stride, pad, two_users=taken == "two users")
    _, report = _compile(model, tmp_path, [1, cin, h, w])
    kernels = [e["kernel"] for e in report["kernels"]]
    assert (flib.CONV in kernels) == (taken in (True, "two users")), kernels
    assert (flib.IM2COL in kernels) == (taken == "im2col"), kernels
    _, report = _compile(model, tmp_path, [1, cin, h, w], backend="c")
    assert not [e for e in report["kernels"] if e["kernel"].startswith("codegen_f32")]  # C: TVM's loops


@pytest.mark.parametrize("case", [
    (16, 8, 3, 12, 23, None),   # 23 columns: 3 blocks of 7 and one of 0 after the borders
    (5, 4, 3, 2, 3, None),      # a row shorter than a block, two rows
    (24, 12, 5, 9, 17, None),   # 5x5: two border columns a side
    (12, 8, 3, 6, 10, 6),       # 3x3 then a 2x2 up-sampling to 6 channels
    (8, 24, 3, 5, 300, 1),      # up-sampling to 1 channel, rows longer than a chunk (2 x 300 > 256)
    (20, 12, 1, 6, 30, "two users"),  # a 1x1 read twice
])
def test_kernels_match_onnxruntime_on_qemu(tmp_path, case):
    cin, cout, k, h, w, up = case
    two = up == "two users"
    up = None if two else up
    model = _conv_model(cin, cout, k, h, w, deconv_out=up, two_users=two)
    files, report = _compile(model, tmp_path, [1, cin, h, w])
    kernels = [e["kernel"] for e in report["kernels"]]
    assert flib.CONV in kernels and (flib.DECONV in kernels) == bool(up), kernels
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((2, 1, cin, h, w)).astype(np.float32)
    refs = np.stack([_ort(model, x) for x in xs])
    _matches_onnxruntime_on_qemu(model, files, xs, refs, tmp_path)


@pytest.mark.parametrize("case", [
    # (cin, cout, k, h, w, stride, pad)
    (3, 8, 3, 17, 23, 2, 1),    # the stem: 3x3 stride 2 on 3 channels, odd sizes
    (2, 4, 5, 9, 61, 2, 2),     # 50 reduction rows: runs of 20 pixels, a rest
    (3, 12, 3, 8, 9, 2, 0),     # no padding
])
def test_im2col_kernel_matches_onnxruntime_on_qemu(tmp_path, case):
    cin, cout, k, h, w, stride, pad = case
    model = _conv_model(cin, cout, k, h, w, stride, pad)
    files, report = _compile(model, tmp_path, [1, cin, h, w])
    assert flib.IM2COL in [e["kernel"] for e in report["kernels"]]
    rng = np.random.default_rng(6)
    xs = rng.standard_normal((2, 1, cin, h, w)).astype(np.float32)
    refs = np.stack([_ort(model, x) for x in xs])
    import onnx
    weight = onnx.numpy_helper.to_array(model.graph.initializer[0])
    np.testing.assert_allclose(np.maximum(flib.conv_reference_strided(xs[0], weight, (stride, stride), [pad] * 4), 0),
                               refs[0], atol=1e-5)
    _matches_onnxruntime_on_qemu(model, files, xs, refs, tmp_path)


def _depthwise_model(c, k, h, w, strides=(1, 1), pads=None, act="hardswish", extra_user=False, bias=False,
                     quantized=False):
    """Conv(group = c) -> BatchNormalization -> HardSigmoid * x | Relu | nothing,
    as paddle2onnx writes MobileNet's depthwise layers; ``bias``: the norm folded
    into the convolution's bias (as after onnxruntime's pre-processing);
    ``quantized``: the result goes through QuantizeLinear/DequantizeLinear (the
    last fp32 layer before int8 ones)."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(c * 10 + k)
    pads = [k // 2] * 4 if pads is None else pads
    inits = [numpy_helper.from_array((rng.standard_normal((c, 1, k, k)) * 0.4).astype(np.float32), "w"),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), "gamma"),
             numpy_helper.from_array((rng.standard_normal(c) * 0.5).astype(np.float32), "beta"),
             numpy_helper.from_array((rng.standard_normal(c) * 0.3).astype(np.float32), "mean"),
             numpy_helper.from_array(rng.uniform(0.5, 2.0, c).astype(np.float32), "var")]
    if bias:
        inits.append(numpy_helper.from_array((rng.standard_normal(c) * 0.5).astype(np.float32), "b"))
        nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], pads=pads,
                                  strides=list(strides), group=c)]
    else:
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[k, k], pads=pads,
                                  strides=list(strides), group=c),
                 helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"],
                                  epsilon=1e-5)]
    last = "y"
    if act == "hardswish":
        nodes += [helper.make_node("HardSigmoid", ["y"], ["hs"], alpha=1.0 / 6, beta=0.5),
                  helper.make_node("Mul", ["y", "hs"], ["a"])]
        last = "a"
    elif act == "relu":
        nodes.append(helper.make_node("Relu", ["y"], ["a"]))
        last = "a"
    if quantized:
        inits += [numpy_helper.from_array(np.array(0.05, np.float32), "qs"),
                  numpy_helper.from_array(np.array(3, np.int8), "qz")]
        nodes += [helper.make_node("QuantizeLinear", [last, "qs", "qz"], ["q"]),
                  helper.make_node("DequantizeLinear", ["q", "qs", "qz"], ["out"])]
    elif extra_user:  # the norm's result also read outside the chain
        nodes.append(helper.make_node("Add", [last, "y"], ["out"]))
    else:
        nodes.append(helper.make_node("Identity", [last], ["out"]))
    oh = (h + pads[0] + pads[2] - k) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - k) // strides[1] + 1
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, c, oh, ow])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_depthwise_reference_matches_onnxruntime():
    import onnx
    rng = np.random.default_rng(1)
    for k, strides, pads, act in [(3, (1, 1), None, "hardswish"), (5, (2, 2), None, "relu"),
                                  (3, (2, 1), [0, 0, 1, 1], "none"), (5, (1, 2), [2, 1, 2, 3], "hardswish")]:
        model = _depthwise_model(6, k, 9, 14, strides, pads, act)
        x = rng.standard_normal((1, 6, 9, 14)).astype(np.float32)
        w, g, b, mu, var = (onnx.numpy_helper.to_array(t) for t in model.graph.initializer)
        packed = flib.fold_batch_norm(w, g, b, mu, var, 1e-5)
        assert packed.shape == (6, k * k + 1) and packed.dtype == np.float32
        got = flib.depthwise_reference(x, packed, k, strides, pads or [k // 2] * 4, act)
        np.testing.assert_allclose(got, _ort(model, x), atol=2e-5)


def test_depthwise_limits_match_the_c_defines():
    text, defines = _c_source("f32_depthwise.c")
    assert (defines["DEPTHWISE_MAX_KERNEL"], defines["DEPTHWISE_RING_FLOATS"], defines["ROW_SLACK"]) == \
        (flib.DEPTHWISE_MAX_KERNEL, flib.DEPTHWISE_RING_FLOATS, flib.ROW_SLACK)
    assert "k * row_floats > DEPTHWISE_RING_FLOATS" in text
    # the kernel's stack stays under the limit of every kernel
    assert flib.STACK_BYTES[flib.DEPTHWISE] <= compiler.STACK_LIMIT_BYTES
    enum = re.search(r"enum \{ ACT_NONE = (\d), ACT_RELU = (\d), ACT_HARDSWISH = (\d) \}", text)
    assert [int(v) for v in enum.groups()] == [flib.ACTIVATIONS[a] for a in ("none", "relu", "hardswish")]
    # the row the C kernel sizes (its row_floats) is the one flib checks
    assert "((sx == 2 ? half + n / 2 : n) + ROW_SLACK + 3) & ~3" in text
    assert flib.depthwise_row_floats(160, 5, 1) == 172 and flib.depthwise_row_floats(80, 5, 2) == 176


@pytest.mark.parametrize("case", [
    # (c, k, h, w, strides, pads, act, extra_user, taken: activation fused or None)
    (8, 3, 6, 20, (1, 1), None, "hardswish", False, "hardswish"),
    (8, 5, 6, 20, (2, 2), None, "relu", False, "relu"),
    (8, 3, 6, 20, (1, 1), None, "none", False, "none"),
    (8, 3, 6, 20, (1, 1), None, "hardswish", True, "none"),   # y read outside: the norm only
    (8, 3, 6, 20, (1, 1), None, "bias hardswish", False, "hardswish"),  # a bias instead of the norm
    (8, 5, 6, 20, (1, 1), None, "bias none", False, "none"),
    (8, 3, 6, 20, (1, 1), None, "quantized hardswish", False, None),  # TVM's kernel writes the int8 map
    (8, 3, 6, 20, (3, 3), None, "relu", False, None),          # stride 3
    (8, 3, 4, 600, (1, 1), None, "relu", False, None),         # 3 padded rows of 612 floats > 1008
    (8, 5, 4, 200, (1, 1), None, "relu", False, None),         # 5 rows of 212 floats > 1008
])
def test_which_depthwise_convolutions_are_taken(tmp_path, case):
    c, k, h, w, strides, pads, act, extra, taken = case
    model = _depthwise_model(c, k, h, w, strides, pads, act.split()[-1], extra_user=extra,
                             bias=act.startswith("bias "), quantized=act.startswith("quantized "))
    _, report = _compile(model, tmp_path, [1, c, h, w])
    calls = [e for e in report["kernels"] if e["kernel"] == flib.DEPTHWISE]
    assert len(calls) == (taken is not None), report["kernels"]
    if taken:
        assert calls[0]["macs"] == c * k * k * ((h + 2 * (k // 2) - k) // strides[0] + 1) * \
            ((w + 2 * (k // 2) - k) // strides[1] + 1)
        # the fused activation leaves no TVM kernel after it (extra user: the add)
        assert len(report["kernels"]) == (2 if extra else 1), report["kernels"]
    _, report = _compile(model, tmp_path, [1, c, h, w], backend="c")
    assert not [e for e in report["kernels"] if e["kernel"] == flib.DEPTHWISE]  # C: TVM's loops


@pytest.mark.parametrize("case", [
    # (c, k, h, w, strides, pads, act)
    (5, 3, 7, 37, (1, 1), None, "hardswish"),           # 2 strips of 16 and a predicated rest of 5
    (3, 5, 2, 16, (1, 1), None, "relu"),                # 2 rows, 5x5: every window reads padding rows
    (4, 3, 9, 41, (2, 1), None, "none"),                # vertical stride 2 (SVTR's stem blocks)
    (4, 5, 6, 70, (1, 2), None, "hardswish"),           # horizontal stride 2: de-interleaved rows
    (3, 3, 11, 67, (2, 2), [0, 0, 1, 1], "relu"),       # padding only after (TF "same", stride 2)
    (3, 5, 8, 35, (2, 2), [2, 1, 2, 3], "hardswish"),   # odd left padding, stride 2: odd columns first
    (2, 7, 9, 21, (1, 1), None, "hardswish"),           # 7x7: the generic vector loop only
    (2, 1, 3, 10, (1, 1), [0, 0, 0, 0], "relu"),        # 1x1 depthwise
    (6, 3, 5, 40, (1, 1), None, "bias hardswish"),      # a bias instead of the norm
])
def test_depthwise_kernel_matches_onnxruntime_on_qemu(tmp_path, case):
    c, k, h, w, strides, pads, act = case
    model = _depthwise_model(c, k, h, w, strides, pads, act.split()[-1], bias=act.startswith("bias "))
    files, report = _compile(model, tmp_path, [1, c, h, w])
    assert flib.DEPTHWISE in [e["kernel"] for e in report["kernels"]], report["kernels"]
    rng = np.random.default_rng(7)
    xs = (rng.standard_normal((2, 1, c, h, w)) * 3).astype(np.float32)
    refs = np.stack([_ort(model, x) for x in xs])
    _matches_onnxruntime_on_qemu(model, files, xs, refs, tmp_path)
