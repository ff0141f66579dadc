"""The hand-written MVE micro-kernel (codegen/ukernels) on QEMU's Cortex-M55:
every block size and reduction depth against a scalar reference
(microkernel_check.c), and the relocatable object the compiler links into
kernels.o (built the same way twice: byte-identical)."""
import os
import re
import subprocess

from codegen_helpers import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))


def test_pointwise_microkernel_matches_reference_on_qemu(tmp_path):
    from codegen import device, microkernels
    plat = device.platform_dir(ROOT)
    micro = str(tmp_path / "ukernels.o")
    microkernels.build_object(micro)
    sources = [os.path.join(plat, n) for n in sorted(os.listdir(plat)) if n.endswith(".c")]
    sources.append(os.path.join(HERE, "microkernel_check.c"))
    elf = str(tmp_path / "check.elf")
    subprocess.run(["arm-none-eabi-gcc"] + device.CFLAGS + ["-I", plat] + sources + [micro] +
                   device.CPU + ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
                                 "-Wl,--no-warn-rwx-segments", "-T",
                                 os.path.join(plat, "corstone300.ld"), "-lm", "-o", elf],
                   check=True)
    proc = subprocess.run(device.QEMU + ["-kernel", elf], capture_output=True, text=True,
                          timeout=300)
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
