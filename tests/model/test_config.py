"""The yml is a standard PaddleOCR config; what is wrong with one is one ModelError."""
import pytest
import yaml

from model.config import RecConfig
from model.errors import ModelError
from model_helpers import CONFIG, cfg  # noqa: F401  (fixture)


def write(tmp_path, mutate):
    data = yaml.safe_load(open(CONFIG))
    mutate(data)
    path = tmp_path / "c.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_shipped_config_builds_the_pp_ocrv3_ctc_recognizer(cfg):  # noqa: F811
    import paddle
    arch = cfg.raw["Architecture"]
    assert arch["Backbone"]["name"] == "MobileNetV1Enhance" and arch["Backbone"]["scale"] == 0.5
    assert arch["Neck"]["encoder_type"] == "svtr" and arch["Neck"]["use_guide"] is False
    assert cfg.image_shape == [3, 48, 320] and cfg.charset.num_classes == 97
    net = cfg.build_model()
    net.eval()
    for h in (48, 32):
        out = net(paddle.zeros([1, 3, h, 320]))
        assert list(out.shape) == [1, 40, 97]


def test_unknown_architecture_is_one_clear_error(tmp_path):
    path = write(tmp_path, lambda d: d["Architecture"]["Backbone"].update(name="NoSuchNet"))
    with pytest.raises(ModelError, match="NoSuchNet"):
        RecConfig(path).build_model()


def test_dictionary_size_must_match_the_head(tmp_path):
    path = write(tmp_path, lambda d: d["Architecture"]["Head"].update(out_channels=6625))
    with pytest.raises(ModelError, match="6625 output classes but the dictionary gives 97"):
        RecConfig(path)


def test_other_bad_configs(tmp_path):
    for mutate, msg in [(lambda d: d["Global"].update(image_shape=[3, 50, 320]), "multiple of 16"),
                        (lambda d: d["Architecture"]["Head"].update(name="AttentionHead"), "CTCHead"),
                        (lambda d: d["Global"].update(character_dict_path="nope/none.txt"), "not found"),
                        (lambda d: d.pop("Architecture"), "Architecture"),
                        (lambda d: d["Architecture"].update(algorithm="NoSuchAlgo"),
                         "'NoSuchAlgo' is not a PaddleOCR recognition algorithm"),
                        (lambda d: d["Global"].update(channel_order="GRB"), "BGR or RGB")]:
        with pytest.raises(ModelError, match=msg):
            RecConfig(write(tmp_path, mutate))
    (tmp_path / "broken.yml").write_text("Global: [unclosed\n")
    with pytest.raises(ModelError, match="not valid YAML"):
        RecConfig(str(tmp_path / "broken.yml"))


def test_hash_ignores_layout_but_not_values(tmp_path):
    same = write(tmp_path, lambda d: None)
    assert RecConfig(same).hash == RecConfig(CONFIG).hash
    other = RecConfig(CONFIG, {"Global.image_shape": [3, 32, 320]})
    assert other.hash != RecConfig(CONFIG).hash and other.image_shape == [3, 32, 320]
