"""Same inputs give byte-identical outputs; only report.json's timing field
may differ."""
import json

from codegen_helpers import export, paddle_seeded  # noqa: F401 (fixture)
from codegen import compiler


def test_two_builds_are_byte_identical(paddle_seeded, tmp_path):
    nn = paddle_seeded.nn
    model = nn.Sequential(nn.Conv2D(3, 4, 3, padding=1), nn.BatchNorm2D(4), nn.Hardswish(),
                          nn.Conv2D(4, 4, 1), nn.Softmax(axis=1))
    model_dir = export(model, [1, 3, 8, 8], tmp_path / "m")
    a, ra = compiler.build(model_dir, None)
    b, rb = compiler.build(model_dir, None)
    assert sorted(a) == sorted(b) == ["kernels.c", "model.c", "model.h", "report.json",
                                      "weights.bin"]
    for name in ("kernels.c", "model.c", "model.h", "weights.bin"):
        assert a[name] == b[name], name
    ja, jb = json.loads(a["report.json"]), json.loads(b["report.json"])
    ja.pop("timing_seconds"), jb.pop("timing_seconds")
    assert ja == jb
    for text in (a["kernels.c"], a["model.c"], a["model.h"]):
        assert str(tmp_path).encode() not in text
