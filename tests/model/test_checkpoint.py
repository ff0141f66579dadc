"""Checkpoints: atomic trio, exact-fit loading, one error for bad files."""
import os

import paddle
import pytest

from model import checkpoint
from model.config import RecConfig
from model.errors import ModelError
from model_helpers import CONFIG, untrained_checkpoint  # noqa: F401


def test_save_dir_writes_the_paddleocr_trio_atomically(tmp_path):
    d = str(tmp_path / "latest")
    checkpoint.save_dir(d, {"w": paddle.ones([2])}, {"m": paddle.zeros([2])}, {"step": 1})
    checkpoint.save_dir(d, {"w": paddle.ones([2]) * 2}, {"m": paddle.zeros([2])}, {"step": 2})
    assert sorted(os.listdir(d)) == ["model.pdopt", "model.pdparams", "model.states"]
    assert not os.path.exists(d + ".tmp") and not os.path.exists(d + ".old")
    assert checkpoint.read_states(checkpoint.files(d)["states"])["step"] == 2
    # a swap interrupted between its renames still finds the previous checkpoint
    os.rename(d, d + ".old")
    assert checkpoint.find_dir(d) == d + ".old"


def test_load_round_trip(untrained_checkpoint):  # noqa: F811
    net = RecConfig(CONFIG).build_model()
    checkpoint.load_into(net, untrained_checkpoint)
    ref = paddle.load(untrained_checkpoint)
    k = next(iter(ref))
    assert (net.state_dict()[k].numpy() == ref[k].numpy()).all()


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pdparams"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelError, match="corrupt checkpoint"):
        checkpoint.load_into(RecConfig(CONFIG).build_model(), str(bad))
    with pytest.raises(ModelError, match="not found"):
        checkpoint.load_into(RecConfig(CONFIG).build_model(), str(tmp_path / "none.pdparams"))


def test_checkpoint_of_another_network(tmp_path, untrained_checkpoint):  # noqa: F811
    other = RecConfig(CONFIG, {"Architecture.Neck.hidden_dims": 64}).build_model()
    with pytest.raises(ModelError, match="does not fit this network"):
        checkpoint.load_into(other, untrained_checkpoint)
