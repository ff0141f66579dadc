"""Helpers for the codegen tests: export small Paddle models with
paddle.jit.save and compile + check one with codegen (a module of its own,
not conftest, so it cannot clash with other test folders' conftest)."""
import os
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault("GLOG_minloglevel", "2")
warnings.filterwarnings("ignore", message="No ccache found")


def export(layer, shape, out_dir, dynamic_batch=False):
    """paddle.jit.save a layer (eval mode, seeded) into out_dir/inference.*"""
    import paddle
    layer.eval()
    spec_shape = [None] + list(shape[1:]) if dynamic_batch else list(shape)
    spec = [paddle.static.InputSpec(shape=spec_shape, dtype="float32", name="x")]
    paddle.jit.save(paddle.jit.to_static(layer, input_spec=spec, full_graph=True),
                    os.path.join(str(out_dir), "inference"))
    return str(out_dir)


def compile_and_check(model_dir, out_dir, shape=None, n=2, **kw):
    """codegen in-process, then the host harness. Returns (report, check result)."""
    from codegen import check, compiler
    files, report = compiler.build(model_dir, shape, **kw)
    compiler.write_outputs(str(out_dir), files)
    result = check.check(model_dir, str(out_dir), n=n)
    return report, result



@pytest.fixture
def paddle_seeded():
    """paddle, seeded, for tests that build random models (import this fixture
    by name into the test module)."""
    import paddle
    paddle.seed(1234)
    return paddle
