"""``python -m codegen.check --model-dir DIR --gen OUTDIR [--n 4]``

Correctness harness: compiles the generated C for the host with the system gcc
(-O2 -Wall -Wextra -Werror), links weights.bin with ``.incbin`` exactly as the
firmware does, runs N seeded random inputs and compares the logits with Paddle
inference and onnxruntime: max abs diff <= tolerance and identical argmax over
the last axis at every position. Prints one JSON line; exits 1 on failure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TOLERANCE = 1e-4
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"]

HOST_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include "model.h"

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static float in[MODEL_INPUT_SIZE], out[MODEL_OUTPUT_SIZE];

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    if (crc32(model_weights, MODEL_WEIGHTS_BYTES) != MODEL_WEIGHTS_CRC32) {
        fprintf(stderr, "weights CRC mismatch\n");
        return 3;
    }
    int n = atoi(argv[3]);
    FILE *fi = fopen(argv[1], "rb"), *fo = fopen(argv[2], "wb");
    if (!fi || !fo) return 4;
    for (int i = 0; i < n; i++) {
        if (fread(in, sizeof in, 1, fi) != 1) return 5;
        int rc = model_run(in, out);
        if (rc != 0) { fprintf(stderr, "model_run returned %d\n", rc); return 6; }
        if (fwrite(out, sizeof out, 1, fo) != 1) return 7;
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
"""

WEIGHTS_S = """    .section .rodata.model_weights,"a"
    .balign 16
    .global model_weights
model_weights:
    .incbin "%s"
    .section .note.GNU-stack,"",@progbits
"""


def build_host(gen_dir, work, cc="gcc"):
    """Compile kernels.c + model.c + a host main; return the executable path."""
    kernels = os.path.join(gen_dir, "kernels.c")
    if not os.path.isfile(kernels):
        raise SystemExit("codegen.check: %s has no kernels.c (the host check needs the C backend)"
                         % gen_dir)
    with open(os.path.join(work, "main.c"), "w") as f:
        f.write(HOST_MAIN)
    with open(os.path.join(work, "weights.S"), "w") as f:
        f.write(WEIGHTS_S % os.path.abspath(os.path.join(gen_dir, "weights.bin")))
    exe = os.path.join(work, "model_host")
    cmd = [cc] + CFLAGS + ["-I", gen_dir, kernels, os.path.join(gen_dir, "model.c"),
                           os.path.join(work, "main.c"), os.path.join(work, "weights.S"),
                           "-o", exe, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or proc.stderr.strip():
        raise SystemExit("codegen.check: host build failed or warned:\n" + proc.stderr)
    return exe


def run_host(exe, inputs, out_shape, work):
    fin, fout = os.path.join(work, "in.bin"), os.path.join(work, "out.bin")
    np.ascontiguousarray(inputs, dtype=np.float32).tofile(fin)
    subprocess.run([exe, fin, fout, str(len(inputs))], check=True)
    return np.fromfile(fout, dtype=np.float32).reshape([len(inputs)] + list(out_shape))


def paddle_reference(pred, inputs):
    outs = []
    name = pred.get_input_names()[0]
    for x in inputs:
        h = pred.get_input_handle(name)
        h.reshape(list(x.shape))
        h.copy_from_cpu(np.ascontiguousarray(x))
        pred.run()
        outs.append(pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu())
    return np.stack(outs)


def ort_reference(model, in_name, inputs):
    import onnxruntime as ort
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.stack([sess.run(None, {in_name: x})[0] for x in inputs])


def compare(ours, ref):
    diff = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64))))
    same = bool(np.array_equal(np.argmax(ours, axis=-1), np.argmax(ref, axis=-1)))
    return diff, same


def check(model_dir, gen_dir, n=4, seed=0, tolerance=TOLERANCE, device=None):
    from . import frontend
    from .errors import stdout_to_stderr
    with open(os.path.join(gen_dir, "report.json")) as f:
        report = json.load(f)
    shape = report["input_shape"]
    rng = np.random.default_rng(seed)
    # Normalized images live in [-1, 1]; use that range.
    inputs = rng.uniform(-1.0, 1.0, size=[n] + shape).astype(np.float32)
    with stdout_to_stderr():
        model, in_name, _, pred = frontend.load(model_dir, shape)
        ref_paddle = paddle_reference(pred, inputs)
        ref_ort = ort_reference(model, in_name, inputs)
    result = {"n": n, "tolerance": tolerance, "output_shape": list(ref_paddle.shape[1:])}
    ok = True
    if os.path.isfile(os.path.join(gen_dir, "kernels.c")):
        with tempfile.TemporaryDirectory() as work:
            exe = build_host(gen_dir, work)
            ours = run_host(exe, inputs, ref_paddle.shape[1:], work)
        d_pd, a_pd = compare(ours, ref_paddle)
        d_ort, a_ort = compare(ours, ref_ort)
        ok = d_pd <= tolerance and d_ort <= tolerance and a_pd and a_ort
        result.update({"max_abs_diff_paddle": d_pd, "max_abs_diff_onnxruntime": d_ort,
                       "argmax_equal_paddle": a_pd, "argmax_equal_onnxruntime": a_ort,
                       "cflags": " ".join(CFLAGS)})
    elif device is None:
        raise SystemExit("codegen.check: %s has kernels.o (LLVM/MVE backend): it only runs on "
                         "the device, use --device qemu" % gen_dir)
    if device == "qemu":
        from . import device as dev
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with tempfile.TemporaryDirectory() as work:
            elf = dev.build_elf(gen_dir, inputs, ref_paddle, work, root)
            rows = dev.run_qemu(elf, n)
        worst = max(r["max_abs_diff"] for r in rows)
        same = all(r["argmax_mismatch"] == 0 for r in rows)
        ok = ok and worst <= tolerance and same and all(r["rc"] == 0 for r in rows)
        result.update({"device": "qemu mps3-an547 (Cortex-M55)",
                       "device_max_abs_diff_paddle": worst, "device_argmax_equal_paddle": same,
                       "device_instructions": [r["instructions"] for r in rows]})
    result["ok"] = ok
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m codegen.check", description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--gen", required=True, help="codegen output directory")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["qemu"], default=None,
                    help="also build for the Cortex-M55 and compare on QEMU")
    args = ap.parse_args(argv)
    os.environ.setdefault("GLOG_minloglevel", "2")
    result = check(args.model_dir, args.gen, args.n, args.seed, device=args.device)
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
