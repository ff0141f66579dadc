"""Copy a training checkpoint into the repository with its measured metrics.

    python -m model.publish --state /work/train-state/full/state/best \
        --config model/configs/en_PP-OCRv3_rec.yml \
        --val build/data/val/label.txt --test build/data/test/label.txt \
        [--real-val build/data/real/val.txt] \
        --out model/checkpoints/en_PP-OCRv3_rec [--limit 500] [--with-optimizer]

The committed checkpoint is what ``./scons deploy`` exports when nobody
trains, so its numbers must be reproducible by anyone: they are measured here
the same way ``python -m model.evaluate`` measures them (export to a Paddle
inference model, then evaluate that) on the rendered val/test splits and, with
``--real-val``, the real validation split (model.realdata), and ``metrics.json`` records the
checkpoint's step, the config hash, the label files' CRCs, whether the run had
finished, and how many images were scored.  ``--with-optimizer`` also copies
``.pdopt`` so a later session can resume training from the committed files.
The config is copied in as ``config.yml``: the graph exports the committed
checkpoint with that file, not with ``model/configs/`` (which may have moved on).
Files are written to a temporary folder and swapped in.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

from .errors import ModelError, run_main


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.publish", description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True, help="checkpoint folder holding model.pdparams/.states")
    ap.add_argument("--config", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--real-val", help="real validation label file (model.realdata's val.txt)")
    ap.add_argument("--trained", help="how the checkpoint was made, one line for metrics.json")
    ap.add_argument("--readme", help="how it was made, in full: copied in as README.md")
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, help="score only the first N images of each split")
    ap.add_argument("--with-optimizer", action="store_true")
    ap.add_argument("--finished", action="store_true", help="the training run has completed")
    a = ap.parse_args(argv)

    from . import checkpoint
    from .config import RecConfig
    from .evaluate import evaluate
    from .export import export_checkpoint
    from .files import sha256, staged
    from .labelfile import images_digest, split_digest
    from .metrics import format_misreads

    src = checkpoint.find_dir(a.state)
    if src is None:
        raise ModelError("no complete checkpoint in %s" % a.state)
    files = checkpoint.files(src)
    states = checkpoint.read_states(files["states"])
    cfg = RecConfig(a.config)
    if states.get("config_hash") not in (None, cfg.hash):
        raise ModelError("checkpoint was trained with config hash %s, %s has %s"
                         % (states.get("config_hash"), a.config, cfg.hash))
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        model_dir = os.path.join(tmp, "model")
        export_checkpoint(a.config, files["pdparams"], model_dir)
        metrics = {"config": a.config, "config_hash": cfg.hash, "profile": states.get("profile"),
                   "checkpoint_step": states.get("step"), "samples": states.get("samples"),
                   "train_time_s": round(states.get("elapsed_s", 0.0), 1),
                   "processes": states.get("world"), "finished": bool(a.finished),
                   "image_shape": cfg.image_shape, "num_classes": cfg.charset.num_classes,
                   "pdparams_sha256": sha256(files["pdparams"]),
                   "measured_with": "python -m model.evaluate on the exported inference model"}
        if a.trained:
            metrics["trained"] = a.trained
        splits = [("val", a.val, a.limit), ("test", a.test, a.limit)]
        splits += [("real_val", a.real_val, None)] if a.real_val else []
        for split, labels, limit in splits:
            r = evaluate(model_dir, labels, limit, worst=10)
            metrics[split] = {"word_acc": r["word_acc"], "char_acc": r["char_acc"],
                              "loose_word_acc": r["loose_word_acc"],
                              "count": r["count"], "labels": labels,
                              "labels_crc32": split_digest(labels),
                              "images_sha256": images_digest(labels, limit),
                              "misreads": r["misreads"],
                              "worst": [[w["label"], w["text"]] for w in r["worst"]]}
            print("%s: word acc %.4f, char acc %.4f (%d images); misreads: %s"
                  % (split, r["word_acc"], r["char_acc"], r["count"], format_misreads(r["misreads"])))
        with staged(a.out) as stage:
            shutil.copyfile(files["pdparams"], os.path.join(stage, "model.pdparams"))
            shutil.copyfile(files["states"], os.path.join(stage, "model.states"))
            if a.with_optimizer:
                shutil.copyfile(files["pdopt"], os.path.join(stage, "model.pdopt"))
            # The config itself, not only its hash: the graph exports the committed
            # checkpoint with it, so editing model/configs/ later cannot silently
            # export these weights with another input shape or network.
            shutil.copyfile(a.config, os.path.join(stage, "config.yml"))
            if a.readme:
                shutil.copyfile(a.readme, os.path.join(stage, "README.md"))
            with open(os.path.join(stage, "config.sha"), "w") as f:
                f.write(cfg.hash + "\n")
            with open(os.path.join(stage, "metrics.json"), "w", encoding="utf-8") as f:
                json.dump(metrics, f, indent=1, sort_keys=True)
                f.write("\n")
    print("published step %s to %s" % (states.get("step"), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
