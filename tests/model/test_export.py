"""Export: fixed-shape PIR inference model matching the dynamic network."""
import json
import os

import numpy as np

from model_helpers import (CONFIG, error_lines, exported_small, run_module,  # noqa: F401
                           untrained_checkpoint)


def test_export_round_trip_small_shape(exported_small):  # noqa: F811
    assert sorted(os.listdir(exported_small)) == ["dict.txt", "inference.json",
                                                  "inference.pdiparams", "meta.json"]
    meta = json.load(open(os.path.join(exported_small, "meta.json")))
    assert meta["input_shape"] == [1, 3, 32, 320] and meta["output_shape"] == [1, 40, 97]
    assert meta["num_classes"] == 97 and meta["use_space_char"] is True
    assert meta["mean"] == [0.5] * 3 and meta["std"] == [0.5] * 3 and meta["channel_order"] == "BGR"  # the config's (PaddleOCR's) order
    assert meta["verify_tolerance"] == 1e-4  # checked at export: same classes, max abs diff <= 1e-4
    chars = open(os.path.join(exported_small, "dict.txt"), encoding="utf-8").read().split("\n")[:-1]
    assert len(chars) == 95 and chars[0] == "0" and chars[-1] == " "


def test_exported_model_matches_dynamic_model(exported_small, untrained_checkpoint):  # noqa: F811
    import paddle
    from model import checkpoint
    from model.config import RecConfig
    from model.inference import create_predictor, run_predictor
    net = RecConfig(CONFIG, {"Global.image_shape": [3, 32, 320]}).build_model()
    checkpoint.load_into(net, untrained_checkpoint)
    net.eval()
    x = np.random.default_rng(9).uniform(-1, 1, (1, 3, 32, 320)).astype(np.float32)
    ref = net(paddle.to_tensor(x)).numpy()
    pred = create_predictor(os.path.join(exported_small, "inference.json"),
                            os.path.join(exported_small, "inference.pdiparams"))
    assert np.abs(run_predictor(pred, x) - ref).max() <= 1e-4


def test_bad_checkpoint_leaves_no_export(tmp_path):
    bad = tmp_path / "bad.pdparams"
    bad.write_bytes(b"truncated")
    out = tmp_path / "model"
    rc, output = run_module("model.export", "--config", CONFIG, "--checkpoint", bad, "--out", out)
    assert rc == 2 and len(error_lines(output)) == 1 and "corrupt checkpoint" in output
    assert not out.exists() and not (tmp_path / "model.tmp").exists()


def test_failed_export_keeps_the_previous_one(tmp_path, exported_small):  # noqa: F811
    import shutil
    out = tmp_path / "model"
    shutil.copytree(exported_small, out)
    before = open(out / "meta.json").read()
    rc, output = run_module("model.export", "--config", CONFIG, "--checkpoint",
                            tmp_path / "none.pdparams", "--out", out)
    assert rc == 2 and "not found" in output
    assert open(out / "meta.json").read() == before


def test_checkpoint_with_another_class_count_is_one_error_and_no_export(tmp_path):
    """A 6,625-class checkpoint (ppocr_keys_v1 dictionary) under the 97-class config."""
    import paddle
    from model.config import RecConfig
    paddle.seed(5)
    big = RecConfig(CONFIG, {"Global.character_dict_path": "ppocr/utils/ppocr_keys_v1.txt",
                             "Architecture.Head.out_channels": 6625}).build_model()
    ckpt = tmp_path / "big.pdparams"
    paddle.save(big.state_dict(), str(ckpt))
    out = tmp_path / "model"
    rc, output = run_module("model.export", "--config", CONFIG, "--checkpoint", ckpt, "--out", out)
    errors = error_lines(output)
    assert rc == 2 and len(errors) == 1, output
    assert "does not fit this network" in errors[0] and "[64, 6625]" in errors[0] and "[64, 97]" in errors[0]
    assert not out.exists() and not (tmp_path / "model.tmp").exists()


def test_unknown_architecture_and_dictionary_mismatch_are_one_error_line(tmp_path, untrained_checkpoint):  # noqa: F811
    good = open(CONFIG).read()
    for name, text, words in (("arch.yml", good.replace("MobileNetV1Enhance", "NoSuchBackbone"),
                               "cannot build architecture"),
                              ("dict.yml", good.replace("out_channels: 97", "out_channels: 50"),
                               "Head has 50 output classes but the dictionary gives 97")):
        (tmp_path / name).write_text(text)
        out = tmp_path / ("out_" + name)
        rc, output = run_module("model.export", "--config", tmp_path / name, "--checkpoint",
                                untrained_checkpoint, "--out", out)
        errors = error_lines(output)
        assert rc == 2 and len(errors) == 1 and words in errors[0], output
        assert "Traceback" not in output and not out.exists()
