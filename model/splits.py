"""Write the validation/test splits: ``python -m model.splits``.

    python -m model.splits --config CFG --split val --count 2000 --seed 1001 --out DIR

Writes DIR/label.txt (PaddleOCR format, ``images/x.png<TAB>label``) and
DIR/images/.  Words come from the split's own hash partition of the word
list, so they never occur in training.  Deterministic: same arguments, same
bytes.  The default seeds match the ones model.train uses for its in-memory
validation subset (1000 + profile seed), so the first images agree.
"""
import argparse
import sys

from .config import RecConfig
from .dataset import write_split
from .errors import run_main

DEFAULT_SEEDS = {"val": 1001, "test": 2001}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m model.splits", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="recognition yml (for the dictionary)")
    ap.add_argument("--split", choices=("val", "test"), required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, help="default: %s" % DEFAULT_SEEDS)
    ap.add_argument("--level", type=float, default=1.0, help="augmentation level 0..1")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    cfg = RecConfig(a.config)
    seed = DEFAULT_SEEDS[a.split] if a.seed is None else a.seed
    path = write_split(a.out, a.split, a.count, seed, cfg.charset, a.level)
    print("wrote %d %s images: %s" % (a.count, a.split, path))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
