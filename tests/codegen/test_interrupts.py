"""Fault injection: SIGINT/SIGTERM at any moment of ``python -m codegen``.

TVM can swallow the KeyboardInterrupt a signal raises and carry on with a
different compilation (seen: 85 kernel calls instead of 84, another arena, exit
0). Whatever the moment of the signal, the result must be either the complete
output, byte-identical to an undisturbed run, or a non-zero exit with nothing
in the output folder.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from codegen import fixtures
from codegen_helpers import ROOT

BACKEND = "llvm-mve"


def codegen(model_dir, out_dir):
    return subprocess.Popen([sys.executable, "-m", "codegen", "--model-dir", model_dir, "--out", out_dir,
                             "--backend", BACKEND], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))


def outputs(folder):
    if not os.path.isdir(folder):
        return {}
    found = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as handle:
            found[name] = handle.read()
    return found


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    """The PP-OCRv3 network (random weights) at a small input, and its undisturbed
    compilation: (model dir, {file: bytes}, seconds it took)."""
    model_dir = fixtures.export_ppocr_v3(str(tmp_path_factory.mktemp("v3")), (1, 3, 32, 96))
    out = str(tmp_path_factory.mktemp("reference"))
    start = time.time()
    proc = codegen(model_dir, out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return model_dir, outputs(out), time.time() - start


def test_a_signal_at_any_moment_gives_the_whole_output_or_nothing(recognizer, tmp_path):
    model_dir, reference, seconds = recognizer
    assert {"kernels.o", "model.c", "model.h", "weights.bin", "report.json"} <= set(reference)
    interrupted = 0
    # From the imports through the TVM passes to the end of the compilation.
    for k, (fraction, sig) in enumerate([(0.1, signal.SIGINT), (0.3, signal.SIGINT),
                                         (0.5, signal.SIGTERM), (0.7, signal.SIGINT),
                                         (0.9, signal.SIGINT)]):
        out = str(tmp_path / ("out%d" % k))
        proc = codegen(model_dir, out)
        time.sleep(fraction * seconds)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=600)
        got = outputs(out)
        if proc.returncode == 0:
            assert got == reference, "a signal changed the output: %s" % sorted(
                n for n in reference if got.get(n) != reference[n])
        else:
            interrupted += 1
            assert proc.returncode == 128 + sig, err
            assert got == {}, "an interrupted run left %s" % sorted(got)
            errors = [l for l in err.splitlines() if "error:" in l]
            assert len(errors) == 1 and "interrupted by" in errors[0] and "Traceback" not in err, err
    assert interrupted >= 3, "the signals came too late to test anything"
