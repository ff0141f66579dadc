"""model.realdata: real crops from a folder or label file, split deterministically,
checked, recorded in a manifest; bad input is one error line."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from model.errors import ModelError
from model import realdata
from model_helpers import CONFIG, error_lines, run_module


def make_source(root, names, labels=None, fmt="labels.tsv"):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for k, name in enumerate(names):
        Image.fromarray(rng.integers(0, 255, (24, 60, 3), dtype=np.uint8)).save(root / name)
        lines.append("%s\t%s" % (name, labels[k] if labels else "word%d" % k))
    (root / fmt).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def names(n_iiit, n_svt):
    return ["iiit5k_train_%d.jpg" % i for i in range(n_iiit)] + ["svt_train_%d.jpg" % i for i in range(n_svt)]


def test_split_rule_all_counts_and_fractions():
    items = [(n, "x") for n in names(40, 7)] + [("other_%d.png" % i, "y") for i in range(20)]
    train, val = realdata.split(items, realdata.parse_val_rule("svt=all,iiit5k=10,*=0.25"))
    sources = lambda part: {s: sum(realdata.source_of(p) == s for p, _ in part) for s in ("iiit5k", "svt", "other")}
    assert sources(val) == {"iiit5k": 10, "svt": 7, "other": 5}
    assert sources(train) == {"iiit5k": 30, "svt": 0, "other": 15}
    assert not {p for p, _ in train} & {p for p, _ in val}
    # deterministic, and independent of the order of the label file
    again = realdata.split(list(reversed(items)), realdata.parse_val_rule("svt=all,iiit5k=10,*=0.25"))
    assert sorted(again[1]) == sorted(val)
    for bad in ("svt", "svt=some", "=3"):
        with pytest.raises(ModelError, match="expected source="):
            realdata.parse_val_rule(bad)


def test_prepare_writes_label_files_manifest_and_report(tmp_path):
    src = make_source(tmp_path / "crops", names(12, 3))
    rc, output = run_module("model.realdata", "--source", src, "--config", CONFIG, "--out", tmp_path / "out",
                            "--val", "svt=all,iiit5k=4")
    assert rc == 0, output
    out = tmp_path / "out"
    report = json.load(open(out / "report.json"))
    assert report["train"] == 8 and report["val"] == 7 and report["skipped_labels"] == 0
    val = (out / "val.txt").read_text().splitlines()
    assert len(val) == 7 and all(os.path.isfile(out / l.split("\t")[0]) for l in val)
    assert all(not os.path.isabs(l.split("\t")[0]) for l in val)  # no machine's absolute path
    manifest = (out / "images.sha256").read_text().splitlines()
    assert len(manifest) == 15 and all(len(l.split("  ")[0]) == 64 for l in manifest)
    # same input, same bytes
    rc, _ = run_module("model.realdata", "--source", src / "labels.tsv", "--config", CONFIG,
                       "--out", tmp_path / "again", "--val", "svt=all,iiit5k=4")
    for name in ("train.txt", "images.sha256"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()


def test_labels_outside_the_dictionary_are_skipped_and_counted(tmp_path):
    src = make_source(tmp_path / "crops", names(5, 0), ["ok", "café", "fine", "naïve", "good"])
    report = realdata.prepare(str(src), _charset(), str(tmp_path / "out"))
    assert report["skipped_labels"] == 2 and report["images"] == 3
    assert [label for _, label in report["skipped_examples"]] == ["café", "naïve"]


def _charset():
    from model.config import RecConfig
    return RecConfig(CONFIG).charset


@pytest.mark.parametrize("damage,words", [
    (lambda src: os.remove(src / "iiit5k_train_2.jpg"), "iiit5k_train_2.jpg"),
    (lambda src: (src / "iiit5k_train_1.jpg").write_bytes(b"not a jpeg"), "not a readable image"),
    (lambda src: os.remove(src / "labels.tsv"), "has no labels.tsv or label.txt"),
])
def test_bad_sources_are_one_error_line_and_write_nothing(tmp_path, damage, words):
    src = make_source(tmp_path / "crops", names(4, 1))
    damage(src)
    rc, output = run_module("model.realdata", "--source", src, "--config", CONFIG, "--out", tmp_path / "out")
    assert rc == 2 and len(error_lines(output)) == 1 and words in output, output
    assert not (tmp_path / "out").exists()


def test_training_samples_are_a_function_of_the_index(tmp_path):
    src = make_source(tmp_path / "crops", names(6, 2))
    realdata.prepare(str(src), _charset(), str(tmp_path / "out"), "svt=all,iiit5k=1")
    a = realdata.RealCrops(str(tmp_path / "out" / "train.txt"), _charset(), [3, 48, 320], seed=3)
    b = realdata.RealCrops(str(tmp_path / "out" / "train.txt"), _charset(), [3, 48, 320], seed=3)
    for i in (0, 5, 13):
        xa, la, na = a[i]
        xb, lb, nb = b[i]
        assert xa.shape == (3, 48, 320) and xa.dtype == np.float32
        assert np.array_equal(xa, xb) and np.array_equal(la, lb) and na == nb
    # every pass over the data sees every image once, in a new order
    first = [a.index(i) for i in range(len(a))]
    second = [a.index(i) for i in range(len(a), 2 * len(a))]
    assert sorted(first) == sorted(second) == list(range(len(a))) and first != second


def test_augmentation_keeps_the_crop_readable_in_shape():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (32, 100, 3), dtype=np.uint8)
    for k in range(30):
        out = realdata.augment_photo(np.random.default_rng([4, k]), img)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert 0.6 < out.shape[1] / out.shape[0] / (100 / 32) < 1.6  # the aspect stays about the same
