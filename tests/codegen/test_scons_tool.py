"""The Codegen builder in an SCons graph: it declares every output, re-runs
TVM only when the model, an option or codegen's own code changes, and a no-op
build does nothing. Runs in a throw-away project (SConstruct written here)
that links the repository's site_scons and codegen folders."""
import os
import subprocess
import sys

import pytest

from codegen_helpers import ROOT, export

SCONSTRUCT = """
import os
env = Environment(ENV=os.environ.copy(), tools=[], PYTHON=%r)
env.Replace(TVMCOMSTR="TVM-RUN $TARGET")
env.Tool("tvm_codegen")
shape = ARGUMENTS.get("input_shape", "")
gen = env.Codegen("build/gen/model.h", ["net/inference.json", "net/inference.pdiparams"],
                  INPUT_SHAPE=shape)
other = env.Command("build/other.txt", "other.txt", Copy("$TARGET", "$SOURCE"))
Default(gen, other)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    import paddle
    paddle.seed(0)
    root = tmp_path_factory.mktemp("sconsproj")
    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3, padding=1), paddle.nn.ReLU())
    export(net, [1, 3, 6, 6], root / "net", dynamic_batch=True)
    os.symlink(os.path.join(ROOT, "site_scons"), str(root / "site_scons"))
    os.symlink(os.path.join(ROOT, "codegen"), str(root / "codegen"))
    os.symlink(os.path.join(ROOT, "model"), str(root / "model"))  # codegen signals through model.errors
    (root / "SConstruct").write_text(SCONSTRUCT % sys.executable)
    (root / "other.txt").write_text("a\n")
    return root


def scons(root, *args):
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q"] + list(args), cwd=str(root),
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_graph_behaviour(project):
    rc, out = scons(project, "input_shape=1,3,6,6")
    assert rc == 0, out
    assert out.count("TVM-RUN") == 1
    for name in ("model.h", "model.c", "kernels.c", "weights.bin", "report.json"):
        assert (project / "build" / "gen" / name).is_file()

    rc, out = scons(project, "input_shape=1,3,6,6")  # no-op
    assert rc == 0 and "TVM-RUN" not in out and "Copy" not in out, out

    (project / "other.txt").write_text("b\n")  # unrelated source: no TVM
    rc, out = scons(project, "input_shape=1,3,6,6")
    assert rc == 0 and "TVM-RUN" not in out, out

    rc, out = scons(project, "input_shape=2,3,6,6")  # option change: TVM again
    assert rc == 0 and out.count("TVM-RUN") == 1, out
    assert "#define MODEL_INPUT_N 2" in (project / "build" / "gen" / "model.h").read_text()

    # codegen's own code, including the micro-kernel sources it assembles into
    # kernels.o, is part of every codegen step's signature
    rc, out = scons(project, "input_shape=2,3,6,6", "--tree=prune", "build/gen/model.h")
    assert rc == 0, out
    for dep in ("codegen/schedule.py", "codegen/ukernels/pointwise_mve.S",
                "codegen/ukernels/pointwise.c", "model/errors.py"):
        assert dep in out, out


def test_failure_leaves_no_outputs(project):
    rc, out = scons(project, "input_shape=1,3,6,6")
    assert rc == 0, out
    rc, out = scons(project)  # dynamic batch and no shape: codegen must fail
    assert rc != 0
    assert "codegen: error:" in out and "input_shape=" in out
    assert not any((project / "build" / "gen").iterdir())
