"""``python -m codegen --model-dir DIR --input-shape 1,3,48,320 --out OUTDIR``

Compiles a Paddle inference model into dependency-free C (see compiler.py).
User errors print one line ``codegen: error: ...`` and exit 2; no output file
is left behind in OUTDIR on any failure.  A signal (Ctrl-C, SIGTERM) at any
moment exits 128 + signal with nothing written, even when TVM swallowed the
KeyboardInterrupt and the compilation went on (model.errors.guard_signals):
an interrupted step never passes for a finished one.
"""
import argparse
import os
import sys
import warnings


def main(argv=None):
    # First of all: a signal during the heavy imports below is one line too.
    from model.errors import guard_signals
    from .errors import ALL_OUTPUTS, run_step, stdout_to_stderr
    guard_signals()
    ap = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--input-shape", default=None,
                    help="fixed input shape, e.g. 1,3,48,320 (default: meta.json's "
                         "input_shape, else the model's own static shape)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--onnx", default=None,
                    help="compile this ONNX file (the QDQ model of python -m codegen.quantize) "
                         "instead of the model directory's Paddle model")
    ap.add_argument("--backend", choices=["c", "llvm-mve"], default="c")
    ap.add_argument("--schedule", choices=["best", "stock"], default="best")
    ap.add_argument("--prefix", default="model",
                    help="C names: PREFIX_run, PREFIX_weights, PREFIX_* macros... (default model; "
                         "the detector is det, to link beside the recognizer)")
    ap.add_argument("--toolchain-prefix", default="arm-none-eabi-",
                    help="GNU Arm toolchain that assembles the micro-kernels (llvm-mve)")
    args = ap.parse_args(argv)

    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", message="No ccache found")
    # TVM's ONNX importer warns once per value_info without a shape: harmless.
    warnings.filterwarnings("ignore", message="Field 'shape' of 'type' is required")

    def compile_model():
        guard_signals(paddle=True)  # paddle2onnx reads the model with Paddle: its handlers, then ours
        from . import compiler, frontend
        with stdout_to_stderr():
            shape = frontend.parse_shape(args.input_shape) if args.input_shape \
                else frontend.meta_input_shape(args.model_dir)
            files, report = compiler.build(args.model_dir, shape, args.backend, args.schedule,
                                           toolchain_prefix=args.toolchain_prefix, onnx_file=args.onnx,
                                           prefix=args.prefix)
            compiler.write_outputs(args.out, files)
        return report
    rc, report = run_step("codegen", args.out, ALL_OUTPUTS, compile_model)
    if rc:
        return rc
    t = report["totals"]
    print("codegen: %d kernel calls, %d MACs, arena %d B (lower bound %d), weights %d B"
          % (t["kernel_calls"], t["macs"], t["arena_bytes"], t["peak_live_lower_bound"],
             t["weights_bytes"]))
    # Wall-clock times vary from run to run: stderr only, never in report.json.
    print("codegen: time %s" % ", ".join("%s %.1f s" % kv
                                         for kv in report["timing_seconds"].items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
