"""The int8 library kernels (codegen/ukernels/s8_*.c) against the numpy integer
reference of codegen.qnn, bit for bit: the Helium path on QEMU's Cortex-M55 and
the portable C path on the host, on the same generated cases (channel counts
that are no multiple of 16, odd output channels, pixel counts that are no
multiple of the tile, multipliers that need the left shift, saturation, a
non-identity table)."""
import os
import subprocess

import numpy as np
import pytest

from codegen_helpers import ROOT
from test_microkernels import run_harness

HERE = os.path.dirname(os.path.abspath(__file__))

# (cin, cout, pixels): the recognizer's shapes and the awkward ones
POINTWISE_CASES = [(16, 2, 3), (8, 16, 24), (17, 3, 5), (32, 64, 100), (120, 7, 41), (64, 128, 160),
                   (256, 10, 97), (512, 6, 40), (1, 1, 1), (45, 5, 49), (513, 4, 13), (1500, 3, 7)]


def _c_array(name, ctype, values):
    body = ",".join(str(int(v)) for v in np.asarray(values).reshape(-1))
    return "static const %s %s[] __attribute__((aligned(16))) = {%s};\n" % (ctype, name, body)


# (channels, height, width, kernel, stride, padding (top, left, bottom, right))
DEPTHWISE_CASES = [(16, 24, 160, 3, 1, (1, 1, 1, 1)), (8, 24, 160, 3, 2, (1, 1, 1, 1)),
                   (4, 6, 160, 5, 1, (2, 2, 2, 2)), (3, 6, 80, 5, 2, (2, 2, 2, 2)),
                   (5, 7, 41, 3, 1, (1, 1, 1, 1)), (2, 3, 9, 3, (2, 1), (1, 1, 1, 1)),
                   (3, 5, 17, 3, 1, (0, 0, 0, 0)), (2, 4, 33, (3, 5), 1, (1, 2, 1, 2)),
                   (1, 1, 1, 3, 1, (1, 1, 1, 1)), (2, 12, 20, 7, 1, (3, 3, 3, 3))]


# (cin, height, width, cout, kernel, stride, padding): the stem, SVTR's convs
# on the 1-row map (after trim_dead_taps: 1x3), odd shapes
CONV_CASES = [(3, 12, 40, 16, 3, 2, (1, 1, 1, 1)), (64, 1, 40, 8, (1, 3), 1, (0, 1, 0, 1)),
              (5, 7, 9, 3, 3, 1, (1, 1, 1, 1)), (2, 6, 6, 5, (2, 3), (2, 1), (0, 1, 0, 1)),
              (200, 1, 10, 4, (1, 3), 1, (0, 1, 0, 1)), (1, 4, 4, 2, 3, 1, (0, 0, 0, 0)),
              # reductions of 1536 and 3072: tiles of 2 and 1 pixels (groups of 2 and 1)
              (512, 1, 7, 3, (1, 3), 1, (0, 1, 0, 1)), (1024, 1, 5, 2, (1, 3), 1, (0, 1, 0, 1))]


# (rows, k, n): SVTR's linear layers and the head, odd sizes
MATMUL_CASES = [(40, 120, 360), (40, 64, 97), (40, 240, 120), (7, 33, 5), (1, 16, 2), (50, 17, 3)]


def _requant_draws(rng, k, cout, fan_in):
    """Real multipliers spreading outputs over int8 (some saturating); every
    4th case >= 0.5 (shift < 32: the kernels' left-shift path)."""
    if k % 4 == 3:
        return rng.uniform(0.5, 1.5, size=cout)
    return 127.0 / (np.sqrt(fan_in) * 128 * 73) * rng.uniform(0.3, 3.0, size=cout)


def pointwise_cases(seed=0):
    """-> [(kind 0, params, x, packed w, bias, mult, shift, lut, expected)]."""
    from codegen import qnn
    rng = np.random.default_rng(seed)
    cases = []
    for k, (cin, cout, pixels) in enumerate(POINTWISE_CASES):
        x = rng.integers(-128, 128, size=(1, cin, 1, pixels)).astype(np.int8)
        w = rng.integers(-127, 128, size=(cout, cin, 1, 1)).astype(np.int8)
        bias = rng.integers(-20000, 20000, size=cout)
        real = _requant_draws(rng, k, cout, cin)
        zy = int(rng.integers(-20, 20))
        lut = qnn.IDENTITY_LUT if k % 2 == 0 else rng.integers(-128, 128, size=256).astype(np.int8)
        expected = qnn.pointwise_reference(x, w, bias, real, zy, lut)
        mult, shift = qnn.quant_multiplier(real)
        cases.append((0, [cin, cout, pixels, zy], x, qnn.pack_pointwise(w), qnn._even(bias),
                      qnn._even(mult), qnn._even(shift), lut, expected))
    return cases


def depthwise_cases(seed=1):
    from codegen import qnn
    rng = np.random.default_rng(seed)
    cases = []
    for k, (c, h, w_, kernel, stride, pads) in enumerate(DEPTHWISE_CASES):
        kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
        x = rng.integers(-128, 128, size=(1, c, h, w_)).astype(np.int8)
        w = rng.integers(-127, 128, size=(c, 1, kh, kw)).astype(np.int8)
        bias = rng.integers(-5000, 5000, size=c)
        real = _requant_draws(rng, k, c, kh * kw)
        zx, zy = int(rng.integers(-30, 30)), int(rng.integers(-20, 20))
        lut = qnn.IDENTITY_LUT if k % 2 else rng.integers(-128, 128, size=256).astype(np.int8)
        expected = qnn.depthwise_reference(x, w, bias, real, zx, zy, (sh, sw), pads, lut)
        mult, shift = qnn.quant_multiplier(real)
        params = [c, h, w_, kh, kw, sh, sw, pads[0], pads[1], expected.shape[2], expected.shape[3],
                  zx, zy]
        cases.append((1, params, x, w.reshape(-1), bias, mult, shift, lut, expected))
    return cases


def conv_cases(seed=2):
    from codegen import qnn
    rng = np.random.default_rng(seed)
    cases = []
    for k, (cin, h, w_, cout, kernel, stride, pads) in enumerate(CONV_CASES):
        kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
        sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
        x = rng.integers(-128, 128, size=(1, cin, h, w_)).astype(np.int8)
        w = rng.integers(-127, 128, size=(cout, cin, kh, kw)).astype(np.int8)
        bias = rng.integers(-20000, 20000, size=cout)
        real = _requant_draws(rng, k, cout, cin * kh * kw)
        zx, zy = int(rng.integers(-30, 30)), int(rng.integers(-20, 20))
        lut = qnn.IDENTITY_LUT if k % 2 else rng.integers(-128, 128, size=256).astype(np.int8)
        expected = qnn.conv_reference(x, w, bias, real, zx, zy, (sh, sw), pads, lut)
        mult, shift = qnn.quant_multiplier(real)
        params = [cin, h, w_, cout, kh, kw, sh, sw, pads[0], pads[1], expected.shape[2],
                  expected.shape[3], zx, zy]
        cases.append((2, params, x, qnn.pack_conv(w), qnn._even(bias),
                      qnn._even(mult), qnn._even(shift), lut, expected))
    return cases


def matmul_cases(seed=3):
    from codegen import qnn
    rng = np.random.default_rng(seed)
    cases = []
    for k_, (rows, k, n) in enumerate(MATMUL_CASES):
        x = rng.integers(-128, 128, size=(rows, k)).astype(np.int8)
        w = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
        bias = rng.integers(-20000, 20000, size=n)
        real = _requant_draws(rng, k_, n, k)
        zy = int(rng.integers(-20, 20))
        lut = qnn.IDENTITY_LUT if k_ % 2 else rng.integers(-128, 128, size=256).astype(np.int8)
        expected = qnn.matmul_reference(x, w, bias, real, zy, lut)
        mult, shift = qnn.quant_multiplier(real)
        cases.append((3, [rows, k, n, zy], x, qnn.pack_pointwise(w.T), qnn._even(bias),
                      qnn._even(mult), qnn._even(shift), lut, expected))
    return cases


def all_cases():
    return pointwise_cases() + depthwise_cases() + conv_cases() + matmul_cases()


def write_cases(path, cases):
    with open(path, "w") as f:
        f.write("#include <stdint.h>\n")
        rows = []
        for i, (kind, params, x, w, bias, mult, shift, lut, expected) in enumerate(cases):
            for name, ctype, values in (("x", "int8_t", x), ("w", "int8_t", w), ("b", "int32_t", bias),
                                        ("m", "int32_t", mult), ("s", "int8_t", shift),
                                        ("l", "int8_t", lut), ("e", "int8_t", expected)):
                f.write(_c_array("%s%d" % (name, i), ctype, values))
            rows.append("{%d, x%d, w%d, l%d, e%d, b%d, m%d, s%d, %d, {%s}}"
                        % (kind, i, i, i, i, i, i, i, expected.size, ", ".join(str(int(p)) for p in params)))
        f.write("typedef struct { int kind; const int8_t *x, *w, *lut, *expected; const int32_t *bias, "
                "*mult; const int8_t *shift; int32_t n_out; int32_t p[14]; } s8_case_t;\n")
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


def test_python_and_c_agree_on_the_kernels_buffer_sizes():
    """qnn decides what the kernels can take from the sizes of their stack
    buffers: the same numbers as the #defines of s8_kernels.c."""
    import re
    from codegen import microkernels, qnn
    with open(os.path.join(microkernels.SOURCE_DIR, "s8_kernels.c")) as f:
        defines = dict(re.findall(r"^#define (\w+) (\d+)", f.read(), re.M))
    assert int(defines["TILE_BYTES"]) == qnn.TILE_BYTES
    assert int(defines["DW_ROWS_BYTES"]) == qnn.DW_ROWS_BYTES
    assert int(defines["DW_BLOCK"]) == qnn.DW_BLOCK
    assert int(defines["TILE_PIXELS_MAX"]) == qnn.TILE_PIXELS_MAX


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


def test_depthwise_reference_matches_a_float_convolution():
    """depthwise_reference's sums are the convolution of the zero-point-padded
    input (a direct loop over taps, computed independently here)."""
    from codegen import qnn
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(1, 2, 5, 7)).astype(np.int8)
    w = rng.integers(-127, 128, size=(2, 1, 3, 3)).astype(np.int8)
    real = np.array([1e-3, 2e-3])
    got = qnn.depthwise_reference(x, w, np.zeros(2), real, 4, 0, (2, 1), (1, 1, 1, 1)).astype(np.int64)
    xp = np.pad(x[0].astype(np.int64), [(0, 0), (1, 1), (1, 1)], constant_values=4)
    for c in range(2):
        for oy in range(got.shape[2]):
            for ox in range(got.shape[3]):
                acc = (xp[c, 2 * oy:2 * oy + 3, ox:ox + 3] * w[c, 0]).sum()
                assert got[0, c, oy, ox] == np.clip(np.floor(acc * real[c] + 0.5), -128, 127)


def test_conv_reference_is_a_direct_convolution():
    from codegen import qnn
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, size=(1, 3, 4, 5)).astype(np.int8)
    w = rng.integers(-127, 128, size=(2, 3, 3, 3)).astype(np.int8)
    real = np.array([1e-4, 3e-4])
    got = qnn.conv_reference(x, w, np.array([7, -7]), real, -3, 1, (1, 2), (1, 1, 1, 1)).astype(np.int64)
    xp = np.pad(x[0].astype(np.int64), [(0, 0), (1, 1), (1, 1)], constant_values=-3)
    for o in range(2):
        for oy in range(got.shape[2]):
            for ox in range(got.shape[3]):
                acc = (xp[:, oy:oy + 3, 2 * ox:2 * ox + 3] * w[o]).sum() + (7 if o == 0 else -7)
                assert got[0, o, oy, ox] == np.clip(1 + np.floor(acc * real[o] + 0.5), -128, 127)


def test_dead_taps_are_trimmed_and_the_convolution_is_unchanged():
    """SVTR's 3x3 convolutions on the 1-row map read padding with two of their
    three kernel rows: trim_dead_taps drops them; the result is the same."""
    from codegen import qnn
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, size=(1, 16, 1, 12)).astype(np.int8)
    w = rng.integers(-127, 128, size=(4, 16, 3, 3)).astype(np.int8)
    trimmed, pads = qnn.trim_dead_taps(x.shape, w, (1, 1), (1, 1, 1, 1))
    assert trimmed.shape == (4, 16, 1, 3) and pads == (0, 1, 0, 1)
    assert np.array_equal(trimmed, w[:, :, 1:2, :])
    real = np.full(4, 2e-4)
    zx = 9
    bias = -zx * w.reshape(4, -1).astype(np.int64).sum(1)
    bias_trimmed = -zx * trimmed.reshape(4, -1).astype(np.int64).sum(1)
    assert np.array_equal(qnn.conv_reference(x, w, bias, real, zx, 0, (1, 1), (1, 1, 1, 1)),
                          qnn.conv_reference(x, trimmed, bias_trimmed, real, zx, 0, (1, 1), pads))
    same, pads = qnn.trim_dead_taps((1, 16, 5, 12), w, (1, 1), (1, 1, 1, 1))  # all taps live
    assert same.shape == w.shape and pads == (1, 1, 1, 1)


@pytest.mark.parametrize("opt", ["-O3", "-Os", "-O0"])
def test_library_kernels_are_bit_exact_on_qemu(tmp_path, opt):
    """-O3 is how codegen builds kernels.o; with the C backend the firmware's
    opt_level compiles them (toolchain.cfg): the inline asm must hold at any."""
    from codegen import microkernels
    cases = all_cases()
    write_cases(str(tmp_path / "s8_cases.c"), cases)
    obj = str(tmp_path / "s8.o")
    flags = [f for f in microkernels.CFLAGS if not f.startswith("-O")] + [opt]
    subprocess.run(["arm-none-eabi-gcc"] + flags + ["-c", os.path.join(microkernels.SOURCE_DIR, "s8_kernels.c"),
                                                    "-o", obj], check=True)
    # (binutils 2.40's objdump does not decode MVE: look at gcc's assembly)
    assembly = subprocess.run(["arm-none-eabi-gcc"] + microkernels.CFLAGS + ["-S", "-o", "-", os.path.join(
        microkernels.SOURCE_DIR, "s8_kernels.c")], capture_output=True, text=True, check=True).stdout
    cases_obj = str(tmp_path / "s8_cases.o")
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O1",
                    "-c", str(tmp_path / "s8_cases.c"), "-o", cases_obj], check=True)
    merged = str(tmp_path / "s8_all.o")
    subprocess.run(["arm-none-eabi-ld", "-r", "-o", merged, obj, cases_obj], check=True)
    proc = run_harness("s8_check.c", merged, tmp_path)
    assert proc.returncode == 0 and "cases %d failures 0" % len(cases) in proc.stdout, proc.stdout
    assert assembly.count("vmladava.s8") >= 12  # the Helium path, not the portable one
    assert assembly.count("vmla.s32") >= 16


def test_library_kernels_portable_path_is_bit_exact_on_the_host(tmp_path):
    cases = all_cases()
    write_cases(str(tmp_path / "s8_cases.c"), cases)
    main = str(tmp_path / "main.c")
    with open(os.path.join(HERE, "s8_check.c")) as f:
        text = f.read().replace('#include "platform.h"', "#include <stdint.h>\n#include <stdlib.h>\n"
                                "#define platform_exit(code) exit(code)")
    with open(main, "w") as f:
        f.write(text)
    exe = str(tmp_path / "check")
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", exe, main,
                    str(tmp_path / "s8_cases.c"),
                    os.path.join(ROOT, "codegen", "ukernels", "s8_kernels.c")], check=True)
    proc = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "cases %d failures 0" % len(cases) in proc.stdout, proc.stdout
