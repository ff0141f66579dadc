"""The generated code on the Cortex-M55: C builds -Wall -Wextra -Werror clean
with arm-none-eabi-gcc, the LLVM/MVE backend's kernels.o really holds MVE
code (vldrw/vfma), and both run on QEMU's mps3-an547 with the firmware
platform (codegen.check --device qemu), agreeing with Paddle within 1e-4
(same argmax)."""
import os
import subprocess

import pytest

from codegen_helpers import export

CPU = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]
CFLAGS = CPU + ["-O3", "-std=gnu11", "-ffreestanding", "-ffunction-sections", "-fdata-sections",
                "-Wall", "-Wextra", "-Werror"]


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
    """One small model compiled with both backends: {"model": dir, backend: dir}."""
    import paddle
    from codegen import compiler
    paddle.seed(7)
    model, shape = small_model(paddle)
    root = tmp_path_factory.mktemp("m55")
    out = {"model": export(model, shape, root / "model")}
    for backend in ("c", "llvm-mve"):
        files, _ = compiler.build(out["model"], None, backend=backend)
        compiler.write_outputs(str(root / backend), files)
        out[backend] = str(root / backend)
    return out


def arm(*args, cwd=None):
    proc = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_c_backend_cross_compiles_warning_free(generated):
    out = generated
    for name in ("kernels.c", "model.c"):
        proc = arm("arm-none-eabi-gcc", *CFLAGS, "-I", out["c"], "-c",
                   os.path.join(out["c"], name), "-o", os.devnull)
        assert proc.stderr == ""


def test_llvm_backend_object_has_mve_code_and_resolves(generated):
    """(Its hard-float calls into libm, e.g. expf in softmax, are checked by the
    QEMU run below: a soft-float call would return garbage.)"""
    out = generated
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


@pytest.mark.parametrize("backend", ["c", "llvm-mve"])
def test_runs_on_qemu_cortex_m55_and_matches_paddle(generated, backend):
    """codegen.check --device qemu: firmware platform + model on mps3-an547."""
    from codegen import check
    result = check.check(generated["model"], generated[backend], n=2, device="qemu")
    assert result["ok"], result
    assert result["device_max_abs_diff_paddle"] <= 1e-4 and result["device_argmax_equal_paddle"]
    assert len(result["device_instructions"]) == 2
    assert all(n > 0 for n in result["device_instructions"])
