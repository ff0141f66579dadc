"""One exception type for everything a user can fix, and the output files.

The CLI prints ``codegen: error: <message>`` (one line) and exits 2 for these;
anything else is a bug in codegen and keeps its traceback.  The names of the
outputs live here, beside the errors, so the CLI can clear a failed step's
folder without importing TVM.
"""
import os

OUTPUTS = {"c": ("kernels.c", "model.c", "model.h", "weights.bin", "report.json"),
           "llvm-mve": ("kernels.o", "model.c", "model.h", "weights.bin", "report.json")}
ALL_OUTPUTS = sorted(set(OUTPUTS["c"]) | set(OUTPUTS["llvm-mve"]))


def clear_outputs(out_dir):
    for name in ALL_OUTPUTS:
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            os.remove(path)


class CodegenError(Exception):
    """A problem with the user's model or options, explained in one line."""
