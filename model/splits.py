"""Write the validation/test splits: ``python -m model.splits``.

    python -m model.splits --config CFG --split val --count 2000 --seed 1001 --out DIR
    python -m model.splits --config CFG --split val --split test --root build/data

Writes DIR/label.txt (or ROOT/<split>/label.txt for each split) (PaddleOCR format, ``images/x.png<TAB>label``) and
DIR/images/.  Words come from the split's own hash partition of the word
list, so they never occur in training.  Deterministic: same arguments, same
bytes.  The default seeds match the ones model.train uses for its in-memory
validation subset (1000 + profile seed), so the first images agree.
"""
import argparse
import os
import sys

from .config import RecConfig
from .dataset import write_split
from .errors import run_main

DEFAULT_SEEDS = {"val": 1001, "test": 2001}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.splits", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="recognition yml (for the dictionary)")
    ap.add_argument("--split", choices=("val", "test"), action="append", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, help="default: %s (one split only)" % DEFAULT_SEEDS)
    ap.add_argument("--level", type=float, default=1.0, help="augmentation level 0..1")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="the split's folder (one --split)")
    where.add_argument("--root", help="write ROOT/<split>/ for every --split")
    a = ap.parse_args(argv)
    if a.out and len(a.split) != 1:
        ap.error("--out takes one --split; use --root for several")
    if a.seed is not None and len(a.split) != 1:
        ap.error("--seed takes one --split")
    cfg = RecConfig(a.config)
    for split in a.split:
        seed = DEFAULT_SEEDS[split] if a.seed is None else a.seed
        out = a.out or os.path.join(a.root, split)
        path = write_split(out, split, a.count, seed, cfg.charset, a.level)
        print("wrote %d %s images: %s" % (a.count, split, path))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
