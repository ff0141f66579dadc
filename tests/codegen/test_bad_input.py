"""Bad input: one clear error line, non-zero exit, and no output files left
behind (not even stale ones from an earlier successful run)."""
import os
import shutil
import subprocess
import sys

import pytest

from codegen_helpers import ROOT, export

PY = sys.executable


def run_codegen(model_dir, out_dir, *extra):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([PY, "-m", "codegen", "--model-dir", str(model_dir),
                           "--out", str(out_dir)] + list(extra),
                          capture_output=True, text=True, cwd=ROOT, env=env)


def error_lines(proc):
    return [l for l in proc.stderr.splitlines() if l.startswith("codegen: error:")]


def stale_outputs(out_dir):
    """Pretend an earlier run succeeded, so we see that failure removes them."""
    os.makedirs(out_dir, exist_ok=True)
    for name in ("kernels.c", "model.c", "model.h", "weights.bin", "report.json"):
        with open(os.path.join(out_dir, name), "w") as f:
            f.write("stale")


def assert_failed_cleanly(proc, out_dir, *words):
    assert proc.returncode != 0
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    left = [n for n in os.listdir(out_dir) if not n.startswith(".")] \
        if os.path.isdir(out_dir) else []
    assert left == [], left


@pytest.fixture(scope="module")
def lstm_model(tmp_path_factory):
    """A CRNN-style neck: paddle2onnx exports nn.LSTM as ONNX LSTM, which
    TVM's Relax importer does not support."""
    import paddle
    paddle.seed(0)

    class Net(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.rnn = paddle.nn.LSTM(8, 8)
            self.fc = paddle.nn.Linear(8, 5)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y)
    return export(Net(), [1, 6, 8], tmp_path_factory.mktemp("lstm"))


@pytest.fixture(scope="module")
def dynamic_model(tmp_path_factory):
    import paddle
    paddle.seed(0)
    return export(paddle.nn.Linear(4, 3), [1, 2, 4], tmp_path_factory.mktemp("dyn"),
                  dynamic_batch=True)


def test_unsupported_operator_names_op_and_node(lstm_model, tmp_path):
    out = tmp_path / "gen"
    stale_outputs(out)
    proc = run_codegen(lstm_model, out)
    assert_failed_cleanly(proc, out, "unsupported operator LSTM", "node")


def test_dynamic_shape_tells_how_to_give_it(dynamic_model, tmp_path):
    out = tmp_path / "gen"
    stale_outputs(out)
    proc = run_codegen(dynamic_model, out)
    assert_failed_cleanly(proc, out, "dynamic shape", "input_shape=1,3,32,320")


def test_wrong_rank_input_shape(dynamic_model, tmp_path):
    out = tmp_path / "gen"
    proc = run_codegen(dynamic_model, out, "--input-shape", "1,3,32,320")
    assert_failed_cleanly(proc, out, "does not fit")


def test_corrupt_model_file(dynamic_model, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(dynamic_model, bad)
    model = next(p for p in bad.iterdir() if p.name in ("inference.json", "inference.pdmodel"))
    model.write_bytes(model.read_bytes()[: len(model.read_bytes()) // 2])
    out = tmp_path / "gen"
    stale_outputs(out)
    proc = run_codegen(bad, out, "--input-shape", "1,2,4")
    assert_failed_cleanly(proc, out, "cannot load")


def test_params_of_another_model(dynamic_model, lstm_model, tmp_path):
    bad = tmp_path / "mismatch"
    shutil.copytree(dynamic_model, bad)
    shutil.copy(os.path.join(lstm_model, "inference.pdiparams"), bad / "inference.pdiparams")
    out = tmp_path / "gen"
    proc = run_codegen(bad, out, "--input-shape", "1,2,4")
    assert_failed_cleanly(proc, out, "cannot load")


def test_missing_params_file(dynamic_model, tmp_path):
    bad = tmp_path / "noparams"
    shutil.copytree(dynamic_model, bad)
    os.remove(bad / "inference.pdiparams")
    out = tmp_path / "gen"
    proc = run_codegen(bad, out, "--input-shape", "1,2,4")
    assert_failed_cleanly(proc, out, "no inference.pdiparams")


def test_converter_mistranslation_is_caught(tmp_path):
    """The converted graph is run against Paddle before anything is compiled.
    paddle2onnx 2.1 exports leaky_relu(x, 0.1) as LeakyRelu(alpha=0); codegen
    repairs that from inference.json, so undo the repair to see the check."""
    import paddle
    from codegen import frontend
    from codegen.errors import CodegenError
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3, padding=1), paddle.nn.LeakyReLU(0.1))
    model_dir = export(net, [1, 3, 6, 6], tmp_path / "leaky")
    model, name, shape, pred = frontend.load(model_dir)  # repaired: passes the check
    leaky = [n for n in model.graph.node if n.op_type == "LeakyRelu"]
    assert [a.f for a in leaky[0].attribute if a.name == "alpha"] == [pytest.approx(0.1)]
    for a in leaky[0].attribute:
        if a.name == "alpha":
            a.f = 0.0
    with pytest.raises(CodegenError, match="disagrees with Paddle.*LeakyRelu"):
        frontend.verify_conversion(model, name, shape, pred)
