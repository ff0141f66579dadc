"""Run generated code on the Cortex-M55 (QEMU mps3-an547) and compare there.

The device build links the codegen output with the project's firmware
platform (firmware/platform: startup, UART, SysTick counter, exit) and a small
test main that runs ``model_run`` on N embedded inputs and compares each output
with an embedded reference *on the device*, printing one line per input:

    check <i> rc <rc> max_abs_diff_e9 <int> argmax_mismatch <int> instructions <n>

so only a few bytes cross the UART whatever the output size. Used by
``python -m codegen.check --device qemu`` and the tests.
"""
import os
import re
import subprocess

import numpy as np

CPU = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]
CFLAGS = CPU + ["-O3", "-std=gnu11", "-ffreestanding", "-ffunction-sections", "-fdata-sections",
                "-Wall", "-Wextra"]
QEMU = ["qemu-system-arm", "-machine", "mps3-an547", "-display", "none", "-serial", "stdio",
        "-monitor", "none", "-semihosting-config", "enable=on,target=native", "-icount", "shift=0"]

DEVICE_MAIN = r"""
#include <math.h>
#include <stdio.h>
#include "platform.h"
#include "model.h"

extern const uint8_t test_inputs[];
extern const uint8_t test_refs[];
static float output[MODEL_OUTPUT_SIZE] PLATFORM_DDR_BSS;

int main(void)
{
    const int classes = MODEL_OUTPUT_DIM%(last)d;
    int failed = 0;
    for (int i = 0; i < %(n)d; i++) {
        const float *in = (const float *)(const void *)test_inputs + (long)i * MODEL_INPUT_SIZE;
        const float *ref = (const float *)(const void *)test_refs + (long)i * MODEL_OUTPUT_SIZE;
        uint64_t start = counter_ticks();
        int rc = model_run(in, output);
        uint64_t n = counter_ticks_to_instructions(counter_ticks() - start);
        float worst = 0.0f;
        for (int k = 0; k < MODEL_OUTPUT_SIZE; k++) {
            float d = fabsf(output[k] - ref[k]);
            if (!(d <= worst)) worst = d;  /* NaN counts as worst */
        }
        int mismatch = 0;
        for (int r = 0; r < MODEL_OUTPUT_SIZE / classes; r++) {
            int a = 0, b = 0;
            for (int c = 1; c < classes; c++) {
                if (output[r * classes + c] > output[r * classes + a]) a = c;
                if (ref[r * classes + c] > ref[r * classes + b]) b = c;
            }
            mismatch += a != b;
        }
        char text[21];
        printf("check %%d rc %%d max_abs_diff_e9 %%ld argmax_mismatch %%d instructions %%s\n", i, rc,
               worst < 1e9f ? (long)(worst * 1e9f) : -1L, mismatch, format_u64(n, text));
        failed |= rc != 0;
    }
    platform_exit(failed);
    return 0;
}
"""

_LINE = re.compile(r"check (\d+) rc (-?\d+) max_abs_diff_e9 (-?\d+) argmax_mismatch (\d+) "
                   r"instructions (\d+)")


def platform_dir(root):
    path = os.path.join(root, "firmware", "platform")
    if not os.path.isfile(os.path.join(path, "corstone300.ld")):
        raise SystemExit("codegen.device: %s has no firmware platform to link with" % path)
    return path


def _run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("codegen.device: %s failed:\n%s" % (cmd[0], proc.stderr[-4000:]))
    return proc


def build_elf(gen_dir, inputs, refs, work, root):
    """Compile codegen output + platform + test main into work/check.elf."""
    plat = platform_dir(root)
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    refs = np.ascontiguousarray(refs, dtype=np.float32)
    inputs.tofile(os.path.join(work, "inputs.bin"))
    refs.tofile(os.path.join(work, "refs.bin"))
    rank = refs.ndim - 1
    with open(os.path.join(work, "main.c"), "w") as f:
        f.write(DEVICE_MAIN % {"n": len(inputs), "last": rank - 1})
    sources = [os.path.join(plat, n) for n in sorted(os.listdir(plat)) if n.endswith(".c")]
    sources += [os.path.join(gen_dir, "model.c"), os.path.join(work, "main.c")]
    objects = []
    if os.path.isfile(os.path.join(gen_dir, "kernels.c")):
        sources.append(os.path.join(gen_dir, "kernels.c"))
    else:
        objects.append(os.path.join(gen_dir, "kernels.o"))
    for src in sources:
        obj = os.path.join(work, "%d.o" % len(objects))
        _run(["arm-none-eabi-gcc"] + CFLAGS + ["-I", gen_dir, "-I", plat, "-c", src, "-o", obj])
        objects.append(obj)
    blob = os.path.join(plat, "blob.S")
    for inc, name, symbol, section in [
            (gen_dir, "weights.bin", "model_weights", ".rodata.model_weights"),
            (work, "inputs.bin", "test_inputs", ".rodata.test_data"),
            (work, "refs.bin", "test_refs", ".rodata.test_data")]:
        obj = os.path.join(work, symbol + ".o")
        _run(["arm-none-eabi-gcc"] + CPU + ["-x", "assembler-with-cpp", "-c", "-Wa,-I," + inc,
                                            "-DBLOB_FILE=" + name, "-DBLOB_NAME=" + symbol,
                                            "-DBLOB_SECTION=" + section, blob, "-o", obj])
        objects.append(obj)
    elf = os.path.join(work, "check.elf")
    _run(["arm-none-eabi-gcc"] + CPU + ["-nostartfiles", "--specs=nano.specs",
                                        "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments",
                                        "-L", plat, "-T", os.path.join(plat, "corstone300.ld")]
         + objects + ["-lm", "-o", elf])
    return elf


def run_qemu(elf, n, timeout=1800):
    """-> [{"rc", "max_abs_diff", "argmax_mismatch", "instructions"}] per input."""
    proc = subprocess.run(QEMU + ["-kernel", elf], capture_output=True, text=True,
                          timeout=timeout)
    rows = [m.groups() for m in map(_LINE.search, proc.stdout.splitlines()) if m]
    if len(rows) != n:
        raise SystemExit("codegen.device: QEMU exit %d, %d of %d results:\n%s"
                         % (proc.returncode, len(rows), n, proc.stdout[-3000:]))
    return [{"rc": int(rc),
             "max_abs_diff": round(int(d) * 1e-9, 9) if int(d) >= 0 else float("inf"),
             "argmax_mismatch": int(mm), "instructions": int(ins)}
            for _, rc, d, mm, ins in rows]
