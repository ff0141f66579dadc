"""codegen.quantize: post-training int8 quantization with measured mixed precision.

Fast unit tests of the pieces, then the whole procedure on a small CTC-shaped
network (random weights: the mechanics, not the accuracy, are under test; the
released recognizer's numbers are in codegen/README.md and build/quant/)."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from codegen_helpers import ROOT, export, paddle_seeded  # noqa: F401 (fixture)
from codegen import quantize
from codegen.errors import CodegenError


def write_labels(folder, name, count, seed):
    from PIL import Image
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    lines = []
    for i in range(count):
        pixels = rng.integers(0, 256, size=(16, 40, 3), dtype=np.uint8)
        rel = "%s/%03d.png" % (name, i)
        Image.fromarray(pixels).save(os.path.join(folder, rel))
        lines.append("%s\t%s" % (rel, "ab"[i % 2] * (1 + i % 3)))
    path = os.path.join(folder, name + ".txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def test_split_limit():
    assert quantize.split_limit("a/b.txt:30") == ("a/b.txt", 30)
    assert quantize.split_limit("a/b.txt") == ("a/b.txt", None)
    assert quantize.split_limit("c:/x.txt") == ("c:/x.txt", None)


def test_images_are_taken_in_turn_from_each_file(tmp_path):
    a = write_labels(str(tmp_path), "a", 3, 0)
    b = write_labels(str(tmp_path), "b", 5, 1)
    items = quantize.interleaved_images([a, b + ":4"])
    names = [os.path.relpath(p, str(tmp_path)) for p, _ in items]
    assert names == ["a/000.png", "b/000.png", "a/001.png", "b/001.png", "a/002.png",
                     "b/002.png", "b/003.png"]


def test_selection_keeps_the_fewest_first_layers_fp32():
    order = ["c0", "c1", "c2", "c3", "c4", "c5"]
    one = lambda acc: {"s": acc}  # noqa: E731
    # accuracy rises by 0.1 per fp32 layer up to 3, then stays
    evaluate = lambda fp32: one(0.6 + 0.1 * min(len(fp32), 3))  # noqa: E731
    count, tried = quantize.select_fp32_layers(order, evaluate, one(0.9), one(0.0), lambda m: None)
    assert count == 3 and sorted(tried) == [0, 1, 2, 3]  # a scan from 0 up, stopping at the first
    assert tried[3]["s"] == pytest.approx(0.9) and tried[2]["s"] < 0.9
    count, _ = quantize.select_fp32_layers(order, evaluate, one(0.9), one(0.15), lambda m: None)
    assert count == 2  # 0.8 is within 0.15 of 0.9
    count, tried = quantize.select_fp32_layers(order, lambda fp32: one(0.5), one(0.9), one(0.0), lambda m: None)
    assert count is None and sorted(tried) == list(range(6))  # never good enough: said, not hidden
    count, tried = quantize.select_fp32_layers(order, lambda fp32: one(0.95), one(0.9), one(0.0), lambda m: None)
    assert count == 0 and list(tried) == [0]


def test_selection_is_not_fooled_by_a_count_that_reads_worse_than_a_smaller_one():
    """Accuracy is not monotonic in the count (measured on the released
    recognizer): the scan takes the first count that passes, not a later one."""
    reads = {0: 0.5, 1: 0.9, 2: 0.7, 3: 0.9}
    count, _ = quantize.select_fp32_layers(list("abcd"), lambda fp32: {"s": reads[len(fp32)]},
                                           {"s": 0.9}, {"s": 0.0}, lambda m: None)
    assert count == 1


def test_every_selection_source_must_stay_within_its_own_drop():
    """Two sources: the count passes only when both do, each against its own
    allowed drop (rendered 0.5 points, real 1 point in the SConstruct)."""
    fp32 = {"rendered": 0.95, "real": 0.93}
    drops = {"rendered": 0.005, "real": 0.01}
    reads = {0: {"rendered": 0.96, "real": 0.80}, 1: {"rendered": 0.93, "real": 0.925},
             2: {"rendered": 0.951, "real": 0.921}, 3: {"rendered": 0.95, "real": 0.93}}
    count, tried = quantize.select_fp32_layers(list("abcd"), lambda fp32: reads[len(fp32)], fp32, drops,
                                               lambda m: None)
    assert count == 2  # 0: real too low; 1: rendered too low; 2: both within
    assert quantize.drop_margin(reads[2], fp32, drops) == pytest.approx(0.001)
    assert quantize.drops_for(["a", "b"], 0.02) == {"a": 0.02, "b": 0.02}
    assert quantize.drops_for(["a", "b"], {"": 0.02, "b": 0.1}) == {"a": 0.02, "b": 0.1}
    with pytest.raises(CodegenError, match="no such selection source"):
        quantize.drops_for(["a"], {"c": 0.1})
    assert quantize.parse_max_drop(["0.01", "real_val=0.02"]) == {"": 0.01, "real_val": 0.02}
    with pytest.raises(CodegenError, match="expected"):
        quantize.parse_max_drop(["real_val=lots"])


def test_mean_kl_is_zero_for_equal_outputs_and_positive_otherwise():
    p = np.full((4, 5), 0.2, np.float32)
    q = np.array([[0.6, 0.1, 0.1, 0.1, 0.1]] * 4, np.float32)
    assert quantize.mean_kl([p], [p]) == pytest.approx(0.0, abs=1e-6)
    assert quantize.mean_kl([p], [q]) > 0.1


@pytest.fixture(scope="module")
def small_recognizer(tmp_path_factory):
    """A CTC-shaped network (conv stem, depthwise + pointwise, a linear head,
    softmax over 5 classes at 10 steps) as an inference model directory."""
    import paddle
    import paddle.nn as nn
    paddle.seed(7)

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2D(3, 8, 3, stride=2, padding=1)
            self.bn = nn.BatchNorm2D(8)
            self.dw = nn.Conv2D(8, 8, 3, padding=1, groups=8)
            self.pw = nn.Conv2D(8, 16, 1)
            self.pool = nn.AdaptiveAvgPool2D((1, 10))
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            x = nn.functional.hardswish(self.bn(self.stem(x)))
            x = nn.functional.relu(self.pw(self.dw(x)))
            x = self.pool(x).squeeze(2).transpose([0, 2, 1])
            return nn.functional.softmax(self.fc(x), axis=-1)

    folder = tmp_path_factory.mktemp("small_rec")
    model_dir = export(Net(), [1, 3, 16, 40], str(folder / "model"))
    with open(os.path.join(model_dir, "dict.txt"), "w") as f:
        f.write("a\nb\nc\n")
    with open(os.path.join(model_dir, "meta.json"), "w") as f:
        json.dump({"input_shape": [1, 3, 16, 40], "channel_order": "BGR", "num_classes": 5,
                   "use_space_char": True}, f)
    data = str(folder / "data")
    return model_dir, write_labels(data, "calib", 14, 2), write_labels(data, "held", 6, 3)


def quantized(small_recognizer, out, **kw):
    model_dir, calib, held = small_recognizer
    args = dict(calib=[calib], calib_count=8, select_count=6, sensitivity_count=3,
                evals=["held=" + held], log=lambda m: None)
    args.update(kw)
    return quantize.run(model_dir, str(out), **args)


def test_quantizes_every_layer_but_the_ones_selection_keeps(small_recognizer, tmp_path):
    import onnx
    from onnx import numpy_helper
    report = quantized(small_recognizer, tmp_path / "q")
    model = onnx.load(str(tmp_path / "q" / "model.qdq.onnx"))
    layers = {entry["name"]: entry for entry in report["layers"]}
    assert set(layers) == {n.name for n in model.graph.node if n.op_type in quantize.QUANTIZED_OPS}
    assert len(layers) == 4  # stem (BN folded), depthwise, pointwise, the head
    assert report["int8_layers"] + len(report["fp32_layers"]) == 4
    assert {e["precision"] for e in layers.values()} <= {"int8", "fp32"}
    assert all(e["kl_int8_alone"] >= 0 for e in layers.values())
    # an int8 layer reads int8 weights through a DequantizeLinear; an fp32 one reads floats
    producers = {o: n for n in model.graph.node for o in n.output}
    inits = {i.name: i for i in model.graph.initializer}
    for node in (n for n in model.graph.node if n.name in layers):
        weight = producers.get(node.input[1])
        if layers[node.name]["precision"] == "int8":
            assert weight is not None and weight.op_type == "DequantizeLinear"
            assert numpy_helper.to_array(inits[weight.input[0]]).dtype == np.int8
        else:
            assert weight is None or weight.op_type != "DequantizeLinear"
    ev = report["evaluations"]["held"]
    assert ev["count"] == 6 and 0.0 <= ev["same_text"] <= 1.0
    assert report["calibration"]["count"] == 8
    assert report["selection"]["sources"] == {"calibration files": 6}
    assert report["selection"]["order"] == "graph"


def test_named_selection_sources_leave_the_calibration_images_out(small_recognizer, tmp_path):
    """--select NAME=LABELS: each source is judged on its own; images that
    calibration took never select (the calibration file itself as a source
    keeps only its 14 - 8 others); an unknown --max-drop name is one error."""
    model_dir, calib, held = small_recognizer
    report = quantized(small_recognizer, tmp_path / "q", select=["rest=" + calib, "held=" + held],
                       max_drop={"": 1.0, "held": 1.0})
    assert report["selection"]["sources"] == {"rest": 6, "held": 6}
    assert report["selection"]["max_drop"] == {"rest": 1.0, "held": 1.0}
    assert set(report["selection"]["tried"]["0"]) == {"rest", "held"}
    assert report["fp32_layers"] == []  # everything passes a drop of 1.0
    with pytest.raises(CodegenError, match="no such selection source"):
        quantized(small_recognizer, tmp_path / "bad", select=["held=" + held], max_drop={"other": 0.1})
    with pytest.raises(CodegenError, match="no selection images left in rest"):
        quantized(small_recognizer, tmp_path / "bad2", select=["rest=%s:8" % calib])


def test_a_generous_budget_quantizes_all_and_outputs_are_deterministic(small_recognizer, tmp_path):
    first = quantized(small_recognizer, tmp_path / "a", max_drop=1.0)
    second = quantized(small_recognizer, tmp_path / "b", max_drop=1.0)
    assert first["fp32_layers"] == [] and first["int8_layers"] == 4
    for name in quantize.OUTPUTS:
        with open(str(tmp_path / "a" / name), "rb") as fa, open(str(tmp_path / "b" / name), "rb") as fb:
            assert fa.read() == fb.read(), name


def test_bias_correction_takes_out_each_int8_convolutions_mean_error(small_recognizer, tmp_path):
    import onnx
    from onnx import numpy_helper
    plain = quantized(small_recognizer, tmp_path / "plain", max_drop=1.0, bias_correction_count=0)
    report = quantized(small_recognizer, tmp_path / "bc", max_drop=1.0, bias_correction_count=8,
                       bias_correction="always")
    assert plain["bias_correction"]["images"] == 0 and plain["bias_correction"]["layers"] == []
    assert not plain["bias_correction"]["kept"] and report["bias_correction"]["kept"]
    corrected = report["bias_correction"]["layers"]
    # the three int8 convolutions in graph order (the head is a Gemm: not corrected)
    assert report["bias_correction"]["images"] == 8 and len(corrected) == 3
    for entry in corrected:
        assert entry["mean_abs_shift_after"] < entry["mean_abs_shift_before"], entry
        assert entry["mean_abs_shift_after"] < 1e-2 * max(entry["mean_abs_shift_before"], 1e-6) + 1e-4, entry
    # only the int32 biases differ from the uncorrected model
    a, b = (onnx.load(str(tmp_path / d / "model.qdq.onnx")) for d in ("plain", "bc"))
    changed = {i.name for i, j in zip(a.graph.initializer, b.graph.initializer)
               if not np.array_equal(numpy_helper.to_array(i), numpy_helper.to_array(j))}
    assert changed and all(numpy_helper.to_array(i).dtype == np.int32
                           for i in b.graph.initializer if i.name in changed)
    assert [n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]


def test_bias_correction_is_kept_only_when_the_selection_reads_better(small_recognizer, tmp_path):
    report = quantized(small_recognizer, tmp_path / "auto", max_drop=1.0, bias_correction_count=8)
    bc = report["bias_correction"]
    margin = lambda acc: quantize.drop_margin(acc, report["selection"]["fp32_word_acc"],  # noqa: E731
                                              report["selection"]["max_drop"])
    assert bc["kept"] == (margin(bc["selection_corrected"]) > margin(bc["selection_uncorrected"]))
    assert bc["selection"] == (bc["selection_corrected"] if bc["kept"] else bc["selection_uncorrected"])


def test_too_few_calibration_images_is_one_error(small_recognizer, tmp_path):
    with pytest.raises(CodegenError, match="hold 14 images"):
        quantized(small_recognizer, tmp_path / "q", calib_count=14)


def test_cli_bad_input_is_one_line_and_leaves_nothing(small_recognizer, tmp_path):
    model_dir, calib, _held = small_recognizer
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "q"
    out.mkdir()
    (out / "model.qdq.onnx").write_bytes(b"stale")
    proc = subprocess.run([sys.executable, "-m", "codegen.quantize", "--model-dir", model_dir,
                           "--out", str(out), "--calib", str(empty)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert errors == ["quantize: error: label file %s has no entries" % empty]
    assert not os.listdir(str(out))


SCONSTRUCT = """
import os
env = Environment(ENV=os.environ.copy(), tools=[], PYTHON=%r)
env.Replace(QUANTCOMSTR="QUANT-RUN $TARGET")
env.Tool("quantize")
m = %r
q = env.Quantize("build/quant/model.qdq.onnx",
                 [os.path.join(m, n) for n in ("inference.json", "inference.pdiparams", "meta.json", "dict.txt")],
                 CALIB=[File(%r)], EVAL={"held": File(%r)},
                 CALIB_COUNT=int(ARGUMENTS.get("count", 8)), SELECT_COUNT=6, EVAL_LIMIT=4)
Default(q)
"""


def test_builder_reruns_for_its_inputs_only(small_recognizer, tmp_path):
    from PIL import Image
    model_dir, calib, held = small_recognizer
    root = tmp_path / "proj"
    root.mkdir()
    for name in ("site_scons", "codegen", "model"):
        os.symlink(os.path.join(ROOT, name), str(root / name))
    (root / "SConstruct").write_text(SCONSTRUCT % (sys.executable, model_dir, calib, held))

    def scons(*args):
        proc = subprocess.run([sys.executable, "-m", "SCons", "-Q"] + list(args), cwd=str(root),
                              capture_output=True, text=True, timeout=900)
        return proc.returncode, proc.stdout + proc.stderr
    rc, out = scons()
    assert rc == 0 and out.count("QUANT-RUN") == 1, out
    report = json.loads((root / "build" / "quant" / "report.json").read_text())
    assert report["calibration"]["count"] == 8 and report["evaluations"]["held"]["count"] == 4
    rc, out = scons()
    assert rc == 0 and "QUANT-RUN" not in out, out  # no-op
    rc, out = scons("count=7")
    assert rc == 0 and out.count("QUANT-RUN") == 1, out  # an option
    # a calibration image's pixels (the label file unchanged): its listed_images Value
    image = os.path.join(os.path.dirname(calib), "calib", "000.png")
    Image.fromarray(np.zeros((16, 40, 3), np.uint8)).save(image)
    rc, out = scons("count=7")
    assert rc == 0 and out.count("QUANT-RUN") == 1, out
    rc, out = scons("count=7", "--tree=prune", "build/quant/model.qdq.onnx")
    for dep in ("codegen/quantize.py", "codegen/frontend.py", "model/preprocess.py"):
        assert dep in out, out


# ---------------------------------------------------------------------------
# codegen.qnn: the QDQ model as integer kernels
# ---------------------------------------------------------------------------
def test_quantize_step_does_not_depend_on_the_kernel_compiler():
    """The quantizer's signature (site_tools/quantize.py: what codegen/quantize.py
    imports) leaves out the int8 kernels and the compiler: a kernel change
    recompiles, it does not re-quantize (8-26 minutes)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("pyaction", os.path.join(ROOT, "site_scons", "pyaction.py"))
    pyaction = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pyaction)
    seen, todo = set(), [os.path.join(ROOT, "codegen", "quantize.py")]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += pyaction._imports(path, ROOT)
    names = {os.path.relpath(p, ROOT) for p in seen}
    assert "codegen/frontend.py" in names
    assert not names & {"codegen/compiler.py", "codegen/qnn.py", "codegen/__main__.py",
                        "codegen/schedule.py"}, sorted(names)


def test_fixed_point_multipliers():
    from codegen import qnn
    real = np.array([0.75, 0.5, 1e-3, 3.1e-5, 0.999999])
    mult, shift = qnn.quant_multiplier(real)
    assert np.all(mult >= 1 << 30) and np.all(mult < 1 << 31)
    assert np.allclose(mult * 2.0 ** -shift, real, rtol=2 ** -30)
    mult, shift = qnn.quant_multiplier(np.array([1e-30]))  # an all-zero channel
    assert mult[0] == 0 and shift[0] == 1


def test_requantization_rounds_to_nearest():
    from codegen import qnn
    rng = np.random.default_rng(0)
    acc = rng.integers(-2 ** 20, 2 ** 20, size=(64, 8))
    real = rng.uniform(1e-5, 1e-3, size=8)
    got = qnn.requantize_reference(acc, real, zy=-3).astype(np.int64)
    exact = np.clip(-3 + np.floor(acc * real + 0.5), -128, 127)
    assert np.abs(got - exact).max() <= 1  # the 31-bit multiplier: a tie may go either way
    assert (got == exact).mean() > 0.99


def test_int8_kernels_match_onnxruntime_on_the_host(small_recognizer, tmp_path):
    """The QDQ model through codegen (C backend, host gcc) reads what onnxruntime
    reads; int8 tensors between the kernels, int8 weights in the blob."""
    import onnx
    from codegen import check, compiler
    model_dir = small_recognizer[0]
    quantized(small_recognizer, tmp_path / "q", max_drop=1.0)  # every layer int8
    qdq = str(tmp_path / "q" / "model.qdq.onnx")
    files, report = compiler.build(model_dir, None, backend="c", onnx_file=qdq)
    compiler.write_outputs(str(tmp_path / "gen"), files)
    kernels = report["kernels"]
    convs = [k for k in kernels if re.search("conv2d|matmul|codegen_s8_", k["kernel"])]
    assert len(convs) == 4
    names = [k["kernel"] for k in kernels]  # the convolutions are library kernels
    assert [names.count("codegen_s8_" + n) for n in ("conv", "depthwise", "pointwise")] == [1, 1, 1]
    for k in convs:  # int8 activations in, int8 weights, int8 (or the float head) out
        assert [i["dtype"] for i in k["inputs"][:2]] == ["int8", "int8"], k
    assert sum(k["output"]["dtype"] == "int8" for k in convs) >= 2
    assert "int8_t" in files["kernels.c"].decode() and "int32_t" in files["kernels.c"].decode()
    inputs = np.random.default_rng(1).uniform(-1, 1, size=[3, 1, 3, 16, 40]).astype(np.float32)
    ref = check.ort_reference(onnx.load(qdq), "x", inputs)
    with __import__("tempfile").TemporaryDirectory() as work:
        exe = check.build_host(str(tmp_path / "gen"), work)
        ours = check.run_host(exe, inputs, ref.shape[1:], work)
    diff, same_argmax = check.compare(ours, ref)
    assert same_argmax and diff < 1e-3, diff
