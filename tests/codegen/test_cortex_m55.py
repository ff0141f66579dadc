"""The generated code on the Cortex-M55: C builds -Wall -Wextra -Werror clean
with arm-none-eabi-gcc, the LLVM/MVE backend's kernels.o really holds MVE
code (vldrw/vfma), and both run on QEMU's mps3-an547 with the firmware
platform, agreeing with Paddle within 1e-4 (same argmax)."""
import os
import subprocess

import numpy as np
import pytest

from codegen_helpers import ROOT, export

CPU = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]
CFLAGS = CPU + ["-O3", "-std=gnu11", "-ffreestanding", "-ffunction-sections", "-fdata-sections",
                "-Wall", "-Wextra", "-Werror"]
PLATFORM = os.path.join(ROOT, "firmware", "platform")

MAIN_C = r"""
#include <math.h>
#include <stdio.h>
#include "platform.h"
#include "model.h"
extern const uint8_t test_input[];
extern const uint8_t test_expected[];
static float output[MODEL_OUTPUT_SIZE] PLATFORM_DDR_BSS;
int main(void) {
  platform_init();
  int rc = model_run((const float *)(const void *)test_input, output);
  const float *ref = (const float *)(const void *)test_expected;
  float worst = 0.0f;
  for (int i = 0; i < MODEL_OUTPUT_SIZE; i++) {
    float d = fabsf(output[i] - ref[i]);
    if (!(d <= worst)) worst = d;
  }
  printf("rc %d max_abs_diff_e9 %ld\n", rc, (long)(worst * 1e9f));
  for (int i = 0; i < MODEL_OUTPUT_SIZE; i++) printf("%08lx\n", (unsigned long)((const uint32_t *)(const void *)output)[i]);
  platform_exit(rc == 0 && worst <= 1e-4f ? 0 : 1);
  return 0;
}
"""


def small_model(paddle):
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2D(3, 8, 3, padding=1)
            self.b1 = nn.BatchNorm2D(8)
            self.c2 = nn.Conv2D(8, 8, 3, padding=1, groups=8)
            self.c3 = nn.Conv2D(8, 16, 1)
            self.fc = nn.Linear(16, 7)

        def forward(self, x):
            x = nn.functional.hardswish(self.b1(self.c1(x)))
            x = nn.functional.relu(self.c3(self.c2(x)))
            x = x.mean(axis=2).transpose([0, 2, 1])
            return nn.functional.softmax(self.fc(x), axis=-1)
    return Net(), [1, 3, 8, 20]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One small model, compiled with both backends, plus a Paddle reference."""
    import paddle
    from codegen import check, compiler, frontend
    paddle.seed(7)
    model, shape = small_model(paddle)
    root = tmp_path_factory.mktemp("m55")
    model_dir = export(model, shape, root / "model")
    out = {}
    for backend in ("c", "llvm-mve"):
        files, _ = compiler.build(model_dir, None, backend=backend)
        compiler.write_outputs(str(root / backend), files)
        out[backend] = str(root / backend)
    x = np.random.default_rng(3).uniform(-1, 1, size=[1] + shape).astype(np.float32)
    _, _, _, pred = frontend.load(model_dir, shape)
    ref = check.paddle_reference(pred, x)[0]
    data = root / "data"
    data.mkdir()
    x.tofile(str(data / "in.bin"))
    ref.astype(np.float32).tofile(str(data / "ref.bin"))
    return out, str(data), ref


def arm(*args, cwd=None):
    proc = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_c_backend_cross_compiles_warning_free(generated):
    out, _, _ = generated
    for name in ("kernels.c", "model.c"):
        proc = arm("arm-none-eabi-gcc", *CFLAGS, "-I", out["c"], "-c",
                   os.path.join(out["c"], name), "-o", os.devnull)
        assert proc.stderr == ""


def test_llvm_backend_object_has_mve_code_and_resolves(generated):
    """(Its hard-float calls into libm, e.g. expf in softmax, are checked by the
    QEMU run below: a soft-float call would return garbage.)"""
    out, _, _ = generated
    obj = os.path.join(out["llvm-mve"], "kernels.o")
    dis = arm("arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", obj).stdout
    assert "vldrw." in dis and "vfma.f32\tq" in dis
    syms = arm("arm-none-eabi-nm", obj).stdout
    defined = {l.split()[-1] for l in syms.splitlines() if " T " in l}
    with open(os.path.join(out["llvm-mve"], "model.c")) as f:
        model_c = f.read()
    called = {w for w in model_c.replace("(", " ").split() if w.startswith("tvmk_")}
    assert called and called <= defined
    # No GOT-indirect data access: the LLVM object links into a plain image.
    relocs = arm("arm-none-eabi-readelf", "-r", obj).stdout
    assert "GOT" not in relocs


def _qemu_run(gen_dir, data_dir, work):
    srcs = [os.path.join(PLATFORM, f) for f in sorted(os.listdir(PLATFORM)) if f.endswith(".c")]
    with open(os.path.join(work, "main.c"), "w") as f:
        f.write(MAIN_C)
    objs = []
    for src in srcs + [os.path.join(gen_dir, "model.c"), os.path.join(work, "main.c")] + \
            ([os.path.join(gen_dir, "kernels.c")] if os.path.exists(
                os.path.join(gen_dir, "kernels.c")) else []):
        obj = os.path.join(work, "%d.o" % len(objs))
        arm("arm-none-eabi-gcc", *CFLAGS, "-Wno-error", "-I", gen_dir, "-I", PLATFORM,
            "-c", src, "-o", obj)
        objs.append(obj)
    if os.path.exists(os.path.join(gen_dir, "kernels.o")):
        objs.append(os.path.join(gen_dir, "kernels.o"))
    blob = os.path.join(PLATFORM, "blob.S")
    for inc, defs, name in [(gen_dir, [], "w.o"),
                            (data_dir, ["-DBLOB_FILE=in.bin", "-DBLOB_NAME=test_input",
                                        "-DBLOB_SECTION=.rodata.test_data"], "in.o"),
                            (data_dir, ["-DBLOB_FILE=ref.bin", "-DBLOB_NAME=test_expected",
                                        "-DBLOB_SECTION=.rodata.test_data"], "ref.o")]:
        arm("arm-none-eabi-gcc", *CPU, "-x", "assembler-with-cpp", "-c", "-Wa,-I," + inc,
            *defs, blob, "-o", os.path.join(work, name))
        objs.append(os.path.join(work, name))
    elf = os.path.join(work, "app.elf")
    arm("arm-none-eabi-gcc", *CPU, "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
        "-Wl,--no-warn-rwx-segments", "-T", os.path.join(PLATFORM, "corstone300.ld"),
        *objs, "-lm", "-o", elf)
    proc = subprocess.run(["qemu-system-arm", "-machine", "mps3-an547", "-display", "none",
                           "-serial", "stdio", "-monitor", "none", "-semihosting-config",
                           "enable=on,target=native", "-icount", "shift=0", "-kernel", elf],
                          capture_output=True, text=True, timeout=300)
    return proc


@pytest.mark.parametrize("backend", ["c", "llvm-mve"])
def test_runs_on_qemu_cortex_m55_and_matches_paddle(generated, backend, tmp_path):
    out, data, ref = generated
    proc = _qemu_run(out[backend], data, str(tmp_path))
    lines = [l.strip() for l in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    start = next(i for i, l in enumerate(lines) if l.startswith("rc 0 "))
    words = lines[start + 1:start + 1 + ref.size]
    got = np.array([int(w, 16) for w in words], dtype=np.uint32).view(np.float32)
    assert np.abs(got - ref.ravel()).max() <= 1e-4
    assert np.array_equal(got.reshape(ref.shape).argmax(-1), ref.argmax(-1))
