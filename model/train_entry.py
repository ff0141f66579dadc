"""Script entry for ``paddle.distributed.launch``, which runs a file path, not
``-m module``: puts the repository root on sys.path and calls model.train."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from model.errors import run_main  # noqa: E402
from model.train import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_main(main))
