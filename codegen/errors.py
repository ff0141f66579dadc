"""One exception type for everything a user can fix, and the output files.

The CLI prints ``codegen: error: <message>`` (one line) and exits 2 for these;
anything else is a bug in codegen and keeps its traceback.  The names of the
outputs live here, beside the errors, so the CLI can clear a failed step's
folder without importing TVM.
"""
import contextlib
import os
import sys

OUTPUTS = {"c": ("kernels.c", "model.c", "model.h", "weights.bin", "report.json"),
           "llvm-mve": ("kernels.o", "model.c", "model.h", "weights.bin", "report.json")}
ALL_OUTPUTS = sorted(set(OUTPUTS["c"]) | set(OUTPUTS["llvm-mve"]))


def clear_outputs(out_dir, names=ALL_OUTPUTS):
    for name in names:
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            os.remove(path)


def run_step(prog, out_dir, names, body):
    """Run ``body()`` -> (exit code, its result or None).  On any failure the
    step's outputs ``names`` in ``out_dir`` are removed; a CodegenError is one
    ``<prog>: error:`` line and exit 2; a signal (also one that arrived after
    body returned) exits 128 + signal with one line and nothing left."""
    import sys
    from model.errors import Interrupted, interrupted_exit, received, settle
    try:
        result = body()
    except BaseException as err:
        clear_outputs(out_dir, names)
        # A signal raised inside a TVM callback comes back as another exception
        # (tvm_ffi turns it into a RuntimeError): the recorded signal decides.
        if received() or isinstance(err, (Interrupted, KeyboardInterrupt)):
            return interrupted_exit(prog), None
        if isinstance(err, CodegenError):
            print("%s: error: %s" % (prog, err), file=sys.stderr)
            return 2, None
        raise
    if settle():  # after the outputs were installed: take them back
        clear_outputs(out_dir, names)
        return interrupted_exit(prog), None
    return 0, result


class CodegenError(Exception):
    """A problem with the user's model or options, explained in one line."""


@contextlib.contextmanager
def stdout_to_stderr():
    """Native libraries (paddle2onnx, TVM) print to fd 1; keep stdout for results."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
