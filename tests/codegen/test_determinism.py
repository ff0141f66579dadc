"""Same inputs give byte-identical outputs, report.json included (no
wall-clock times in it), for both backends."""
import json

import pytest

from codegen_helpers import export, paddle_seeded  # noqa: F401 (fixture)
from codegen import compiler


@pytest.mark.parametrize("backend", ["c", "llvm-mve"])
def test_two_builds_are_byte_identical(paddle_seeded, tmp_path, backend):
    nn = paddle_seeded.nn
    model = nn.Sequential(nn.Conv2D(3, 4, 3, padding=1), nn.BatchNorm2D(4), nn.Hardswish(),
                          nn.Conv2D(4, 4, 1), nn.Softmax(axis=1))
    model_dir = export(model, [1, 3, 8, 8], tmp_path / "m")
    a, ra = compiler.build(model_dir, None, backend)
    b, rb = compiler.build(model_dir, None, backend)
    kernels = "kernels.c" if backend == "c" else "kernels.o"
    assert sorted(a) == sorted(b) == sorted([kernels, "model.c", "model.h", "report.json",
                                             "weights.bin"])
    for name in a:
        assert a[name] == b[name], name
    report = json.loads(a["report.json"])
    assert "timing_seconds" not in report
    assert "timing_seconds" in ra  # the in-memory result still has them
    for text in (a["model.c"], a["model.h"], a["report.json"]) + \
            ((a["kernels.c"],) if backend == "c" else ()):
        assert str(tmp_path).encode() not in text
