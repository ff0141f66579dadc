"""The int8 library kernels (codegen/ukernels/s8_*.c) against the numpy integer
reference of codegen.qnn, bit for bit: the Helium path on QEMU's Cortex-M55 and
the portable C path on the host, on the same generated cases (channel counts
that are no multiple of 16, odd output channels, pixel counts that are no
multiple of the tile, multipliers that need the left shift, saturation, a
non-identity table)."""
import os
import subprocess

import numpy as np

from codegen_helpers import ROOT
from test_microkernels import run_harness

HERE = os.path.dirname(os.path.abspath(__file__))

# (cin, cout, pixels): the recognizer's shapes and the awkward ones
POINTWISE_CASES = [(16, 2, 3), (8, 16, 24), (17, 3, 5), (32, 64, 100), (120, 7, 41), (64, 128, 160),
                   (256, 10, 97), (512, 6, 40), (1, 1, 1), (45, 5, 49), (513, 4, 13)]


def _c_array(name, ctype, values):
    body = ",".join(str(int(v)) for v in np.asarray(values).reshape(-1))
    return "static const %s %s[] __attribute__((aligned(16))) = {%s};\n" % (ctype, name, body)


def pointwise_cases(seed=0):
    """-> [(cin, cout, pixels, zy, x, packed w, bias, mult, shift, lut, expected)]."""
    from codegen import qnn
    rng = np.random.default_rng(seed)
    cases = []
    for k, (cin, cout, pixels) in enumerate(POINTWISE_CASES):
        x = rng.integers(-128, 128, size=(1, cin, 1, pixels)).astype(np.int8)
        w = rng.integers(-127, 128, size=(cout, cin, 1, 1)).astype(np.int8)
        bias = rng.integers(-20000, 20000, size=cout)
        # outputs spread over the int8 range, some saturating; every 4th case
        # has multipliers >= 0.5 (shift < 32: the kernel's left-shift path)
        typical = 127.0 / (np.sqrt(cin) * 128 * 73)
        real = typical * rng.uniform(0.3, 3.0, size=cout)
        if k % 4 == 3:
            real = rng.uniform(0.5, 1.5, size=cout)
        zy = int(rng.integers(-20, 20))
        lut = qnn.IDENTITY_LUT if k % 2 == 0 else rng.integers(-128, 128, size=256).astype(np.int8)
        expected = qnn.pointwise_reference(x, w, bias, real, zy, lut)
        mult, shift = qnn.quant_multiplier(real)
        cases.append((cin, cout, pixels, zy, x, qnn.pack_pointwise(w), qnn._even(bias),
                      qnn._even(mult), qnn._even(shift), lut, expected))
    return cases


def write_cases(path, cases):
    with open(path, "w") as f:
        f.write("#include <stdint.h>\n")
        rows = []
        for i, (cin, cout, pixels, zy, x, w, bias, mult, shift, lut, expected) in enumerate(cases):
            for name, ctype, values in (("x", "int8_t", x), ("w", "int8_t", w), ("b", "int32_t", bias),
                                        ("m", "int32_t", mult), ("s", "int32_t", shift),
                                        ("l", "int8_t", lut), ("e", "int8_t", expected)):
                f.write(_c_array("%s%d" % (name, i), ctype, values))
            rows.append("{x%d, w%d, l%d, e%d, b%d, m%d, s%d, %d, %d, %d, %d}"
                        % (i, i, i, i, i, i, i, cin, cout, pixels, zy))
        f.write("typedef struct { const int8_t *x, *w, *lut, *expected; const int32_t *bias, *mult, "
                "*shift; int32_t cin, cout, pixels, zy; } s8_case_t;\n")
        f.write("const s8_case_t s8_cases[] = {\n    %s\n};\n" % ",\n    ".join(rows))
        f.write("const int s8_num_cases = %d;\n" % len(cases))


def test_reference_is_the_float_convolution_rounded():
    """The numpy reference is what it claims: the requantized integer
    convolution, within one step of the exactly rounded real value."""
    from codegen import qnn
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(4, 32, 1, 1)).astype(np.int8)
    x = rng.integers(-128, 128, size=(1, 32, 2, 3)).astype(np.int8)
    bias = rng.integers(-500, 500, size=4)
    real = rng.uniform(1e-3, 1e-2, size=4)
    got = qnn.pointwise_reference(x, w, bias, real, 5).astype(np.int64)
    acc = np.einsum("oc,nchw->nohw", w[:, :, 0, 0].astype(np.int64), x.astype(np.int64)) + \
        bias.reshape(1, -1, 1, 1)
    exact = np.clip(5 + np.floor(acc * real.reshape(1, -1, 1, 1) + 0.5), -128, 127)
    assert np.abs(got - exact).max() <= 1 and (got == exact).mean() > 0.95
    lut = np.roll(qnn.IDENTITY_LUT, 3)  # the table is applied to the clamped value
    assert np.array_equal(qnn.pointwise_reference(x, w, bias, real, 5, lut), lut[got + 128])


def test_packed_weights_layout():
    from codegen import qnn
    w = np.arange(3 * 20, dtype=np.int64).reshape(3, 20).astype(np.int8)
    packed = qnn.pack_pointwise(w)
    assert packed.shape == (2 * 2 * 32,)  # 2 channel pairs x 2 chunks x 32 bytes
    # w[((o / 2) * chunks + k) * 32 + (o % 2) * 16 + j] = W[o][16 k + j]
    for o in range(3):
        for c in range(20):
            assert packed[((o // 2) * 2 + c // 16) * 32 + (o % 2) * 16 + c % 16] == w[o, c]
    assert not packed[((1 * 2) + 0) * 32 + 16:][:16].any()  # the padding channel is zero


def test_pointwise_helium_kernel_is_bit_exact_on_qemu(tmp_path):
    from codegen import microkernels
    cases = pointwise_cases()
    write_cases(str(tmp_path / "s8_cases.c"), cases)
    obj = str(tmp_path / "s8.o")
    microkernels.build_object(obj, sources=["s8_pointwise.c"])
    # (binutils 2.40's objdump does not decode MVE: look at gcc's assembly)
    assembly = subprocess.run(["arm-none-eabi-gcc"] + microkernels.CFLAGS + ["-S", "-o", "-", os.path.join(
        microkernels.SOURCE_DIR, "s8_pointwise.c")], capture_output=True, text=True, check=True).stdout
    cases_obj = str(tmp_path / "s8_cases.o")
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O1",
                    "-c", str(tmp_path / "s8_cases.c"), "-o", cases_obj], check=True)
    merged = str(tmp_path / "s8_all.o")
    subprocess.run(["arm-none-eabi-ld", "-r", "-o", merged, obj, cases_obj], check=True)
    proc = run_harness("s8_pointwise_check.c", merged, tmp_path)
    assert proc.returncode == 0 and "cases %d failures 0" % len(cases) in proc.stdout, proc.stdout
    assert assembly.count("vmladava.s8") >= 12  # the Helium path, not the portable one


def test_pointwise_portable_kernel_is_bit_exact_on_the_host(tmp_path):
    cases = pointwise_cases()
    write_cases(str(tmp_path / "s8_cases.c"), cases)
    main = str(tmp_path / "main.c")
    with open(os.path.join(HERE, "s8_pointwise_check.c")) as f:
        text = f.read().replace('#include "platform.h"', "#include <stdint.h>\n#include <stdlib.h>\n"
                                "#define platform_exit(code) exit(code)")
    with open(main, "w") as f:
        f.write(text)
    exe = str(tmp_path / "check")
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", exe, main,
                    str(tmp_path / "s8_cases.c"),
                    os.path.join(ROOT, "codegen", "ukernels", "s8_pointwise.c")], check=True)
    proc = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "cases %d failures 0" % len(cases) in proc.stdout, proc.stdout
