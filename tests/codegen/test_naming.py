"""codegen/naming.py: two models under different prefixes link into one program.

The whole-image app links the detector (``--prefix det``) beside the
recognizer (default names). Checked here on two small ONNX networks: the
renamed files, a host program that links both C outputs and runs both against
onnxruntime, both sharing one arena, and an LLVM-MVE kernels.o whose globals
all carry the prefix."""
import os
import shutil
import subprocess

import numpy as np
import pytest

from codegen import compiler, naming
from codegen.errors import CodegenError

HOST_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "model.h"
#include DET_MODEL_HEADER
#define MAX(a, b) ((a) > (b) ? (a) : (b))
uint8_t shared_arena[MAX(MODEL_ARENA_BYTES, DET_ARENA_BYTES)] __attribute__((aligned(16)));
static float in_a[MODEL_INPUT_SIZE], out_a[MODEL_OUTPUT_SIZE];
static float in_b[DET_INPUT_SIZE], out_b[DET_OUTPUT_SIZE];
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb");
    if (fread(in_a, sizeof in_a, 1, f) != 1 || fread(in_b, sizeof in_b, 1, f) != 1) return 3;
    fclose(f);
    /* the detector first, then the other model over the same arena, then the detector again */
    if (det_run(in_b, out_b) || model_run(in_a, out_a) || det_run(in_b, out_b)) return 4;
    f = fopen(argv[2], "wb");
    fwrite(out_a, sizeof out_a, 1, f);
    fwrite(out_b, sizeof out_b, 1, f);
    fclose(f);
    return 0;
}
"""
WEIGHTS_S = """    .section .rodata.model_weights,"a"
    .balign 16
    .global %(sym)s
%(sym)s:
    .incbin "%(path)s"
"""


def _onnx(path, detector):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1 if detector else 0)

    def const(name, shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)
    if detector:
        nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
                 helper.make_node("Relu", ["c1"], ["r1"]),
                 helper.make_node("ConvTranspose", ["r1", "w2"], ["t"], strides=[2, 2], kernel_shape=[2, 2]),
                 helper.make_node("Sigmoid", ["t"], ["y"])]
        inits = [const("w1", [6, 3, 3, 3]), const("b1", [6]), const("w2", [6, 1, 2, 2])]
        out_shape = [1, 1, 32, 32]
    else:
        nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
                 helper.make_node("Relu", ["c1"], ["r1"]),
                 helper.make_node("Conv", ["r1", "w2"], ["y"], kernel_shape=[1, 1])]
        inits = [const("w1", [8, 3, 3, 3]), const("b1", [8]), const("w2", [4, 8, 1, 1])]
        out_shape = [1, 4, 16, 16]
    graph = helper.make_graph(nodes, "det" if detector else "net",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_rename_c_keeps_section_names_and_longer_identifiers():
    text = ('#include "model.h"\nstatic uint8_t model_arena[MODEL_ARENA_BYTES] '
            '__attribute__((section(".bss.model_arena")));\nint model_run(void) { return tvmk_conv(0) + '
            'codegen_s8_conv(); } /* my_model_x */\n')
    out = naming.rename_c(text, "det")
    assert '#include "model.h"' in out and 'section(".bss.model_arena")' in out
    assert "det_arena[DET_ARENA_BYTES]" in out and "int det_run(void)" in out
    assert "det_tvmk_conv(0)" in out and "det_codegen_s8_conv()" in out and "my_model_x" in out
    assert naming.rename_c(text, naming.DEFAULT) == text


@pytest.mark.parametrize("bad", ["", "Det", "1det", "det-x", "a" * 17])
def test_bad_prefix_is_one_error(bad):
    with pytest.raises(CodegenError, match="prefix"):
        naming.check(bad)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a host C compiler")
def test_two_models_link_and_run_in_one_program(tmp_path):
    import onnxruntime as ort
    dirs = {}
    for prefix, detector in (("model", False), ("det", True)):
        onnx_path = _onnx(str(tmp_path / ("%s.onnx" % prefix)), detector)
        files, report = compiler.build(None, [1, 3, 16, 16], backend="c", onnx_file=onnx_path, prefix=prefix)
        out = tmp_path / prefix
        compiler.write_outputs(str(out), files)
        dirs[prefix] = (out, onnx_path)
        assert (report.get("symbol_prefix") == "det") == detector
    det_h = (dirs["det"][0] / "model.h").read_text()
    assert "int det_run(const float *input, float *output);" in det_h and "model_" not in det_h
    objects = []
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.c").write_text(HOST_MAIN)
    for prefix, (out, _) in dirs.items():
        sym = "%s_weights" % prefix
        (work / (sym + ".S")).write_text(WEIGHTS_S % {"sym": sym, "path": out / "weights.bin"})
        objects.append(str(work / (sym + ".S")))
        for name in ("model.c", "kernels.c"):
            obj = work / ("%s_%s.o" % (prefix, name[:-2]))
            subprocess.run(["gcc", "-O2", "-std=gnu11", "-c", str(out / name), "-I", str(out), "-o", str(obj),
                            "-D%s_ARENA=shared_arena" % prefix.upper()], check=True)
            objects.append(str(obj))
    exe = work / "both"
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-I", str(dirs["model"][0]),
                    '-DDET_MODEL_HEADER="%s"' % (dirs["det"][0] / "model.h"), str(work / "main.c")]
                   + objects + ["-lm", "-o", str(exe)], check=True)
    rng = np.random.default_rng(7)
    xa = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
    xb = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
    (work / "in.bin").write_bytes(xa.tobytes() + xb.tobytes())
    subprocess.run([str(exe), str(work / "in.bin"), str(work / "out.bin")], check=True)
    got = np.fromfile(str(work / "out.bin"), np.float32)
    refs = [ort.InferenceSession(path).run(None, {"x": x})[0].reshape(-1)
            for (_, path), x in ((dirs["model"], xa), (dirs["det"], xb))]
    np.testing.assert_allclose(got[:refs[0].size], refs[0], atol=1e-5)
    np.testing.assert_allclose(got[refs[0].size:], refs[1], atol=1e-5)


@pytest.mark.skipif(shutil.which("arm-none-eabi-nm") is None, reason="needs the GNU Arm toolchain")
def test_llvm_object_defines_only_prefixed_globals(tmp_path):
    onnx_path = _onnx(str(tmp_path / "det.onnx"), True)
    files, _ = compiler.build(None, [1, 3, 16, 16], backend="llvm-mve", onnx_file=onnx_path, prefix="det")
    obj = tmp_path / "kernels.o"
    obj.write_bytes(files["kernels.o"])
    names = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", "-P", str(obj)], check=True,
                           capture_output=True, text=True).stdout.split("\n")
    defined = [line.split()[0] for line in names if line.strip()]
    assert defined and all(n.startswith("det_") for n in defined), defined
    assert "det_run" in files["model.c"].decode()
