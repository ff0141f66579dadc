"""model.evaluate: word/character accuracy over a label file, worst examples, JSON."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "model"))

from model_helpers import (clean_words, error_lines, exported_small, ppocrv4_dir,  # noqa: E402,F401
                           run_module, untrained_checkpoint)


def test_evaluate_cli_reports_accuracy_and_worst(tmp_path, ppocrv4_dir, clean_words):  # noqa: F811
    out = tmp_path / "eval.json"
    rc, output = run_module("model.evaluate", "--model", ppocrv4_dir, "--labels", clean_words,
                            "--json", out, "--worst", "3")
    assert rc == 0, output
    r = json.load(open(out))
    assert r["count"] == 24 and 0.6 <= r["word_acc"] <= r["char_acc"] <= 1.0
    assert len(r["worst"]) <= 3
    for w in r["worst"]:
        assert w["text"] != w["label"] and w["ned"] > 0
    assert "word accuracy %.4f" % r["word_acc"] in output
    # Every misread is counted under exactly one kind.
    assert sum(r["misreads"].values()) == round(r["count"] * (1 - r["word_acc"]))
    assert "misreads: " in output


def test_metric_definitions():
    from model.metrics import edit_distance, score
    assert edit_distance("kitten", "sitting") == 3
    m = score(["abc", "abd", ""], ["abc", "abc", "xy"])
    assert m["word_acc"] == 1 / 3
    assert abs(m["char_acc"] - (1 - (0 + 1 / 3 + 1) / 3)) < 1e-12


def test_misread_kinds():
    from model.metrics import MISREAD_KINDS, misread_kind, misread_kinds
    assert misread_kind("Noreen", "Noreen") is None
    assert misread_kind("noreen", "Noreen") == "case"
    assert misread_kind("164, 108", "164,108") == "spacing"
    assert misread_kind("Noren", "Noreen") == "repeat"
    assert misread_kind("Galstones", "Gallstones") == "repeat"
    assert misread_kind("I0l.", "l01,") == "look-alike"
    assert misread_kind("ironcads", "ironclads") == "one edit"
    assert misread_kind("Unforlunate", "Unfortunate") == "one edit"
    assert misread_kind("islahnpi", "Isfahan Digitized") == "other"
    counts = misread_kinds(["a", "A", "b c", "xyz"], ["a", "a", "bc", "abc"])
    assert list(counts) == list(MISREAD_KINDS)
    assert counts == {"case": 1, "spacing": 1, "repeat": 0, "look-alike": 0,
                      "one edit": 0, "other": 1}


def test_missing_label_file(tmp_path, exported_small):  # noqa: F811
    rc, output = run_module("model.evaluate", "--model", exported_small, "--labels",
                            tmp_path / "none.txt")
    assert rc == 2 and len(error_lines(output)) == 1
