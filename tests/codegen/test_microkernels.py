"""The hand-written MVE micro-kernel (codegen/ukernels) on QEMU's Cortex-M55:
every block size and reduction depth against a scalar reference
(microkernel_check.c), and the relocatable object the compiler links into
kernels.o (built the same way twice: byte-identical). Also the MVE target's
polynomial exp (lower._exp_polynomial) against exp over float's range."""
import os
import re
import subprocess

from codegen_helpers import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))


def run_harness(harness, obj, tmp_path):
    """Link a test main (harness .c in this folder) with obj and the firmware
    platform, run it on QEMU's Cortex-M55; -> the finished process."""
    from codegen import device
    plat = device.platform_dir(ROOT)
    sources = [os.path.join(plat, n) for n in sorted(os.listdir(plat)) if n.endswith(".c")]
    sources.append(os.path.join(HERE, harness))
    elf = str(tmp_path / (harness + ".elf"))
    subprocess.run(["arm-none-eabi-gcc"] + device.CFLAGS + ["-I", plat] + sources + [obj] +
                   device.CPU + ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                                 "-Wl,--no-warn-rwx-segments", "-L", plat, "-T",
                                 os.path.join(plat, "corstone300.ld"), "-lm", "-o", elf],
                   check=True)
    return subprocess.run(device.QEMU + ["-kernel", elf], capture_output=True, text=True,
                          timeout=300)


def test_pointwise_microkernel_matches_reference_on_qemu(tmp_path):
    from codegen import microkernels
    micro = str(tmp_path / "ukernels.o")
    microkernels.build_object(micro)
    proc = run_harness("microkernel_check.c", micro, tmp_path)
    assert "mismatch" not in proc.stdout, proc.stdout
    assert re.search(r"^cases 176 failures 0$", proc.stdout, re.M), proc.stdout
    assert proc.returncode == 0


def test_microkernel_object_is_deterministic(tmp_path):
    from codegen import microkernels
    a, b = str(tmp_path / "a.o"), str(tmp_path / "b.o")
    microkernels.build_object(a)
    microkernels.build_object(b)
    with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read()
    symbols = subprocess.run(["arm-none-eabi-nm", a], capture_output=True, text=True,
                             check=True).stdout
    assert re.search(r" T codegen_pointwise_f32x4$", symbols, re.M), symbols


def test_mve_exp_is_accurate_over_the_float_range_on_qemu(tmp_path):
    """T.exp on the LLVM-MVE target is lowered to a polynomial (not newlib's
    expf per element); over [-87, 88] it stays within 3 ulp of exp."""
    import tvm
    from tvm.script import tirx as T
    from codegen import lower

    @T.prim_func
    def exp_kernel(a: T.Buffer((4096,), "float32"), b: T.Buffer((4096,), "float32")):
        for i in range(4096):
            b[i] = T.exp(a[i])

    obj = str(tmp_path / "exp.o")
    lower.build_llvm_object({"exp_kernel": exp_kernel}, obj)
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-dr", obj], capture_output=True,
                                 text=True, check=True).stdout
    assert "expf" not in disassembly  # no libm call per element
    proc = run_harness("exp_check.c", obj, tmp_path)
    found = re.search(r"^exp points 4096 max_rel_error_e9 (-?\d+)$", proc.stdout, re.M)
    assert found and proc.returncode == 0, proc.stdout
    assert 0 <= int(found.group(1)) <= 360, proc.stdout  # 3 ulp of float: 3 x 1.19e-7
