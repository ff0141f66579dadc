"""The committed checkpoint: its files agree with each other, and its metrics.json
is reproduced by ``python -m model.evaluate`` on the rendered test split.

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
def test_split_prefix(tmp_path_factory, metrics):
    """The graph's test label file, byte for byte (all 2,000 lines), with the images
    of the first ``count`` entries: the ones metrics.json scored."""
    from PIL import Image
    from model import ppocr_path
    from model.charset import Charset
    from model.dataset import RenderedLines
    count = metrics["test"]["count"]
    ds = RenderedLines(Charset.from_file(ppocr_path.en_dict_path()), [3, 48, 320], "test", TEST_SEED,
                       SPLIT_COUNT, curriculum=lambda i: 1.0)
    root = tmp_path_factory.mktemp("test_split")
    (root / "images").mkdir()
    lines = []
    for i in range(SPLIT_COUNT):
        rel = "images/test_%05d.png" % i
        if i < count:
            img, text = ds.raw(i)
            Image.fromarray(img).save(str(root / rel), compress_level=1)
        else:
            text = ds.text(i)
        lines.append("%s\t%s\n" % (rel, text))
    labels = root / "label.txt"
    labels.write_text("".join(lines), encoding="utf-8")
    return str(labels)


def test_model_evaluate_reproduces_the_committed_metrics(committed_export, test_split_prefix, metrics):
    rc, output = run_module("model.evaluate", "--model", committed_export, "--labels", test_split_prefix,
                            "--expect", METRICS, "--split", "test")
    assert rc == 0, output
    assert "reproduces %s (test split)" % METRICS in output
    line = next(l for l in output.splitlines() if "word accuracy" in l)
    assert "(%d images)" % metrics["test"]["count"] in line
    assert "word accuracy %.4f" % metrics["test"]["word_acc"] in line
    assert "character accuracy %.4f" % metrics["test"]["char_acc"] in line


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
