"""The committed checkpoint: its files agree with each other, and its metrics.json
is reproduced by ``python -m model.evaluate`` on the rendered test split (the
same pixels on every machine with the pinned fonts: model/render.lock) and on
the real validation split (when the real crops are there).

The graph exports model/checkpoints/en_PP-OCRv3_rec with the config.yml stored
beside it; if that config, config.sha, metrics.json and model.states disagree,
the device runs a model nobody measured.
"""
import hashlib
import json
import os
import pickle

import pytest

from model_helpers import (ROOT, clean_words, error_lines, exported_small, run_module,  # noqa: F401
                           untrained_checkpoint)

COMMITTED = os.path.join(ROOT, "model", "checkpoints", "en_PP-OCRv3_rec")
METRICS = os.path.join(COMMITTED, "metrics.json")
TEST_SEED = 2001  # model.splits' default seed of the test split (what the graph renders)
SPLIT_COUNT = 2000  # images in build/data/test (model/SConscript)
REAL = os.path.join(os.path.dirname(ROOT), "shared", "data", "real_train")  # model/SConscript's SHARED_REAL


def committed(name):
    return os.path.join(COMMITTED, name)


@pytest.fixture(scope="module")
def metrics():
    with open(METRICS, encoding="utf-8") as handle:
        return json.load(handle)


def test_config_hash_shape_and_weights_agree(metrics):
    from model.config import RecConfig
    cfg = RecConfig(committed("config.yml"))
    with open(committed("model.states"), "rb") as handle:
        states = pickle.load(handle)
    sha = open(committed("config.sha")).read().strip()
    assert cfg.hash == sha == metrics["config_hash"] == states["config_hash"]
    assert cfg.image_shape == metrics["image_shape"] == states["image_shape"]
    assert cfg.charset.num_classes == metrics["num_classes"] == states["num_classes"] == 97
    assert states["step"] == metrics["checkpoint_step"]
    with open(committed("model.pdparams"), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == metrics["pdparams_sha256"]


@pytest.fixture(scope="module")
def committed_export(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("committed") / "en_PP-OCRv3_rec")
    rc, output = run_module("model.export", "--config", committed("config.yml"),
                            "--checkpoint", committed("model.pdparams"), "--out", out,
                            "--name", "en_PP-OCRv3_rec")
    assert rc == 0, output
    return out


@pytest.fixture(scope="module")
def test_split(tmp_path_factory, metrics):
    """The graph's test split, rendered as the graph renders it (model.splits)."""
    from model import ppocr_path
    from model.charset import Charset
    from model.dataset import write_split
    out = str(tmp_path_factory.mktemp("data") / "test")
    return write_split(out, "test", SPLIT_COUNT, TEST_SEED, Charset.from_file(ppocr_path.en_dict_path()))


def test_the_rendered_test_split_is_the_one_measured(test_split, metrics):
    """Same pinned fonts and word list, same seed: the same labels and the same
    pixels as on the machine that measured metrics.json."""
    from model.labelfile import images_digest, split_digest
    recorded = metrics["test"]
    assert split_digest(test_split) == recorded["labels_crc32"]
    assert images_digest(test_split, recorded["count"]) == recorded["images_sha256"]


def reproduces(output, metrics, split):
    assert "reproduces %s (%s split)" % (METRICS, split) in output, output
    line = next(l for l in output.splitlines() if "word accuracy" in l)
    assert "(%d images)" % metrics[split]["count"] in line
    assert "word accuracy %.4f" % metrics[split]["word_acc"] in line
    assert "character accuracy %.4f" % metrics[split]["char_acc"] in line


def test_model_evaluate_reproduces_the_committed_metrics(committed_export, test_split, metrics):
    rc, output = run_module("model.evaluate", "--model", committed_export, "--labels", test_split,
                            "--expect", METRICS, "--split", "test")
    assert rc == 0, output
    reproduces(output, metrics, "test")


def test_model_evaluate_reproduces_the_real_val_metrics(committed_export, metrics, tmp_path):
    """The real validation split (model.realdata's split of the IIIT5K/SVT train
    crops, which the project reads from ../shared and never copies)."""
    if not os.path.isfile(os.path.join(REAL, "labels.tsv")):
        pytest.skip("the real crops are not on this machine (%s): the real split's numbers "
                    "cannot be reproduced here" % REAL)
    from model.config import RecConfig
    from model.realdata import prepare
    assert "real_val" in metrics, "metrics.json has no real_val split"
    prepare(REAL, RecConfig(committed("config.yml")).charset, str(tmp_path / "real"))
    rc, output = run_module("model.evaluate", "--model", committed_export,
                            "--labels", tmp_path / "real" / "val.txt", "--expect", METRICS,
                            "--split", "real_val")
    assert rc == 0, output
    reproduces(output, metrics, "real_val")


def test_expect_fails_on_numbers_that_do_not_reproduce(tmp_path, exported_small, clean_words):  # noqa: F811
    from model.evaluate import evaluate
    real = evaluate(exported_small, clean_words, limit=6)
    fake = tmp_path / "metrics.json"
    fake.write_text(json.dumps({"test": {"word_acc": real["word_acc"], "count": 6,
                                         "char_acc": min(1.0, real["char_acc"] + 0.5)}}))
    rc, output = run_module("model.evaluate", "--model", exported_small, "--labels", clean_words,
                            "--expect", fake)
    assert rc == 1 and len(error_lines(output)) == 1, output
    assert "character accuracy %.4f does not reproduce" % real["char_acc"] in output
    # The same numbers, recorded: reproduced.
    fake.write_text(json.dumps({"test": {k: real[k] for k in ("word_acc", "char_acc")} | {"count": 6}}))
    rc, output = run_module("model.evaluate", "--model", exported_small, "--labels", clean_words,
                            "--expect", fake)
    assert rc == 0 and "reproduces" in output, output
    # Another label file than the one measured on.
    fake.write_text(json.dumps({"test": {"word_acc": 0, "char_acc": 0, "count": 6, "labels_crc32": "0badf00d"}}))
    rc, output = run_module("model.evaluate", "--model", exported_small, "--labels", clean_words,
                            "--expect", fake)
    assert rc == 2 and len(error_lines(output)) == 1 and "not the label file" in output, output
