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


def test_kernel_limits_match_the_c_defines():
    with open(os.path.join(microkernels.SOURCE_DIR, "f32_kernels.c"), encoding="utf-8") as f:
        text = f.read()
    defines = dict(re.findall(r"#define (CONV_MAX_KERNEL|DECONV_CHUNK|IM2COL_TILE) (\d+)", text))
    assert int(defines["CONV_MAX_KERNEL"]) == flib.MAX_KERNEL
    assert int(defines["DECONV_CHUNK"]) == flib.DECONV_CHUNK
    assert int(defines["IM2COL_TILE"]) == flib.IM2COL_TILE


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
    gen = tmp_path / "gen"
    compiler.write_outputs(str(gen), files)
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((2, 1, cin, h, w)).astype(np.float32)
    refs = np.stack([_ort(model, x) for x in xs])
    work = tmp_path / "work"
    work.mkdir()
    elf = device.build_elf(str(gen), xs, refs, str(work), ROOT)
    for row in device.run_qemu(elf, len(xs), timeout=600):
        assert row["rc"] == 0 and row["max_abs_diff"] <= 2e-5, row


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
    gen = tmp_path / "gen"
    compiler.write_outputs(str(gen), files)
    rng = np.random.default_rng(6)
    xs = rng.standard_normal((2, 1, cin, h, w)).astype(np.float32)
    refs = np.stack([_ort(model, x) for x in xs])
    import onnx
    weight = onnx.numpy_helper.to_array(model.graph.initializer[0])
    np.testing.assert_allclose(np.maximum(flib.conv_reference_strided(xs[0], weight, (stride, stride), [pad] * 4), 0),
                               refs[0], atol=1e-5)
    work = tmp_path / "work"
    work.mkdir()
    elf = device.build_elf(str(gen), xs, refs, str(work), ROOT)
    for row in device.run_qemu(elf, len(xs), timeout=600):
        assert row["rc"] == 0 and row["max_abs_diff"] <= 2e-5, row
