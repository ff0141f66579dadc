"""model.publish: a checkpoint enters model/checkpoints with numbers measured
through the exported model (what model.evaluate reproduces)."""
import json
import os

import paddle

from model_helpers import CONFIG, clean_words, error_lines, run_module, untrained_checkpoint  # noqa: F401


def test_publish_snapshot(tmp_path, untrained_checkpoint, clean_words):  # noqa: F811
    from model import checkpoint
    state = str(tmp_path / "best")
    checkpoint.save_dir(state, paddle.load(untrained_checkpoint), {"m": paddle.zeros([1])},
                        {"step": 7, "samples": 224, "world": 2, "profile": "full"})
    out = tmp_path / "published"
    rc, output = run_module("model.publish", "--state", state, "--config", CONFIG,
                            "--val", clean_words, "--test", clean_words, "--limit", "4", "--out", out)
    assert rc == 0, output
    assert sorted(os.listdir(out)) == ["config.sha", "config.yml", "metrics.json", "model.pdparams",
                                       "model.states"]
    m = json.load(open(out / "metrics.json"))
    assert m["checkpoint_step"] == 7 and m["finished"] is False and m["test"]["count"] == 4
    for split in ("val", "test"):
        r = m[split]
        assert sum(r["misreads"].values()) == round(r["count"] * (1 - r["word_acc"]))
    assert open(out / "config.sha").read().strip() == m["config_hash"]
    # the config itself travels with the weights: the graph exports them with it
    from model.config import RecConfig
    assert RecConfig(str(out / "config.yml")).hash == m["config_hash"]


def test_publish_without_checkpoint(tmp_path, clean_words):  # noqa: F811
    rc, output = run_module("model.publish", "--state", tmp_path / "none", "--config", CONFIG,
                            "--val", clean_words, "--test", clean_words, "--out", tmp_path / "o")
    assert rc == 2 and len(error_lines(output)) == 1 and not (tmp_path / "o").exists()
