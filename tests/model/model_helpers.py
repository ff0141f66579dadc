"""Shared fixtures of the model tests (imported by name into test modules;
a conftest.py here would shadow tests/conftest.py for the other folders)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "model", "configs", "en_PP-OCRv3_rec.yml")
SMALL = [3, 32, 320]  # the learning path's shape: cheaper, and it must work too


def run_module(module, *args, cwd=ROOT, timeout=600, prefix=()):
    """Run ``python -m module args`` like the SCons builders do (after ``prefix``,
    a wrapper command); (rc, output)."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    proc = subprocess.run(list(prefix) + [sys.executable, "-m", module] + [str(a) for a in args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def error_lines(output):
    return [l for l in output.splitlines() if l.startswith("error:")]


@pytest.fixture(scope="session")
def cfg():
    from model.config import RecConfig
    return RecConfig(CONFIG)


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory):
    """A randomly initialised network saved as .pdparams (seeded)."""
    import paddle
    from model.config import RecConfig
    paddle.seed(3)
    net = RecConfig(CONFIG).build_model()
    path = str(tmp_path_factory.mktemp("ckpt") / "model.pdparams")
    paddle.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def exported_small(tmp_path_factory, untrained_checkpoint):
    """The untrained network exported at 3x32x320 through the CLI."""
    out = str(tmp_path_factory.mktemp("export") / "rec32")
    rc, output = run_module("model.export", "--config", CONFIG, "--checkpoint", untrained_checkpoint,
                            "--out", out, "--shape", "3,32,320", "--name", "untrained32")
    assert rc == 0, output
    return out


@pytest.fixture(scope="session")
def ppocrv4_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("v4") / "ppocrv4")
    rc, output = run_module("model.pretrained", "--name", "ppocrv4", "--out", out)
    assert rc == 0, output
    return out


@pytest.fixture(scope="session")
def clean_words(tmp_path_factory):
    """A small label file of clean (level 0) rendered test-split words."""
    from model.charset import Charset
    from model import ppocr_path
    from model.dataset import write_split
    out = str(tmp_path_factory.mktemp("words") / "test")
    return write_split(out, "test", 24, 5, Charset.from_file(ppocr_path.en_dict_path()), level=0.0)
