"""Hand-written MVE micro-kernels that TVM-generated kernels call (rule 3e).

TVM's LLVM backend does well on most loops but not on the one that matters
most: the reduction of a 1x1 convolution (79% of the recognizer's
instructions). ``ukernels/pointwise_mve.S`` does 112 MACs in 41 instructions
there (per step an LDM of 7 inputs, one vldrw of 4 packed weights, 7 vfma;
4 steps per low-overhead loop iteration); LLVM's best was 24 MACs in 13.

The schedule (schedule._pointwise_apply) shapes a 1x1 convolution so that each
producer instance computes 4 output channels x a row chunk and annotates its
channel loop. After the buffers are flattened, ``lower_calls`` replaces every
annotated loop nest

    for o in 4: for x in n: for k in K:
        if k == 0: acc[..] = 0
        acc[..] = acc[..] + A[..] * W[..]

with ``codegen_pointwise_f32x4(&acc, &A, &W, K, n, A's channel stride,
acc's channel stride)`` after checking that every index is the affine
function the micro-kernel assumes. ``build_object`` assembles the
micro-kernels with arm-none-eabi-gcc; the compiler links them into
kernels.o, so the firmware side sees one object as before.
"""
import os
import subprocess
import tempfile

import tvm
import tvm_ffi
from tvm import ir, tirx

from .errors import CodegenError

ANNOTATION = "codegen_ukernel"
POINTWISE = "pointwise_f32x4"
SYMBOLS = {POINTWISE: "codegen_pointwise_f32x4"}
SOURCES = ("pointwise.c", "pointwise_mve.S")
SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ukernels")
PREFIX = "arm-none-eabi-"
CFLAGS = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O3", "-std=gnu11",
          "-ffreestanding", "-ffunction-sections", "-Wall", "-Wextra", "-Werror"]


def _linear(expr, loop_vars):
    """-> [coefficient per loop var..., base] (ints for the coefficients),
    or None when expr is not affine in them with constant coefficients."""
    coeffs = tvm.sym.detect_linear_equation(expr, loop_vars)
    if len(coeffs) != len(loop_vars) + 1:
        return None
    analyzer = tvm.sym.Analyzer()
    out = []
    for c in coeffs[:-1]:
        c = analyzer.simplify(c)
        if not isinstance(c, tirx.IntImm):
            return None
        out.append(int(c))
    return out + [analyzer.simplify(coeffs[-1])]


class NotPointwise(Exception):
    """The annotated nest is not the plain 1x1 reduction the micro-kernel does."""


def _is_first_iteration(cond, var):
    """cond is ``var == 0``"""
    return isinstance(cond, tirx.EQ) and cond.a.same_as(var) and \
        isinstance(cond.b, tirx.IntImm) and int(cond.b) == 0


def _pointwise_call(loop):
    """The annotated loop nest (channel, row, reduction) -> Evaluate(call)."""
    loops = [loop]
    body = loop.body
    while isinstance(body, tirx.For):
        loops.append(body)
        body = body.body
    where = "micro-kernel %s: " % POINTWISE
    if len(loops) == 2:  # a row of one pixel: its loop is gone
        loops.insert(1, tirx.For(tirx.Var("x", "int32"), tirx.IntImm("int32", 0),
                                 tirx.IntImm("int32", 1), tirx.ForKind.SERIAL, body))
    if len(loops) != 3 or any(int(lp.min) != 0 for lp in loops):
        raise NotPointwise(where + "expected loops (4 channels, row, reduction), got %d" % len(loops))
    channels, width, depth = (int(lp.extent) for lp in loops)
    if channels != 4:
        raise NotPointwise(where + "channel loop of %d, not 4" % channels)
    # the reduction's init, kept inside the nest: "if k == 0: acc = 0"
    if not (isinstance(body, tirx.SeqStmt) and len(body.seq) == 2):
        raise NotPointwise(where + "the loop body is not (init; update)")
    init, store = body.seq
    zero = init.then_case if isinstance(init, tirx.IfThenElse) and init.else_case is None \
        else None
    if not (isinstance(zero, tirx.BufferStore) and isinstance(store, tirx.BufferStore)
            and zero.buffer.same_as(store.buffer)
            and isinstance(zero.value, tirx.FloatImm) and float(zero.value.value) == 0.0
            and tvm_ffi.structural_equal(zero.indices, store.indices)
            and _is_first_iteration(init.condition, loops[2].loop_var)):
        raise NotPointwise(where + "the init is not 'if k == 0: acc = 0'")
    value = store.value
    if not (isinstance(value, tirx.Add) and isinstance(value.a, ir.TensorLoad)
            and value.a.source.same_as(store.buffer) and isinstance(value.b, tirx.Mul)
            and all(isinstance(t, ir.TensorLoad) for t in (value.b.a, value.b.b))):
        raise NotPointwise(where + "the loop body is not acc = acc + a * w")
    loop_vars = [lp.loop_var for lp in loops]
    acc = _linear(store.indices[-1], loop_vars)
    first = [_linear(t.indices[-1], loop_vars) for t in (value.b.a, value.b.b)]
    # the weight varies along the output channels, the activation does not
    order = (0, 1) if first[0] and first[0][0] == 0 else (1, 0)
    act, wgt = [(value.b.a, value.b.b)[i] for i in order]
    a, w = [first[i] for i in order]
    if width == 1 and None not in (acc, a):  # the row loop is a stand-in
        acc[1] = a[1] = 1
    if any(len(t.indices) != 1 for t in (store, act, wgt)) or None in (acc, a, w) or \
            acc[:3] != [acc[0], 1, 0] or a[:3] != [0, 1, a[2]] or w[:3] != [1, 0, 4]:
        raise NotPointwise(where + "unexpected indices acc %s, input %s, weights %s"
                           % (acc, a, w))

    def address(buffer, base):
        return tirx.address_of(tirx.BufferLoad(buffer, [base]))

    call = tirx.call_extern("int32", SYMBOLS[POINTWISE], address(store.buffer, acc[3]),
                            address(act.source, a[3]), address(wgt.source, w[3]),
                            tirx.IntImm("int32", depth), tirx.IntImm("int32", width),
                            tirx.IntImm("int32", a[2]), tirx.IntImm("int32", acc[0]))
    return tirx.Evaluate(call)


def _rewrite(stmt):
    """stmt with every annotated loop replaced; None when nothing changed."""
    if isinstance(stmt, tirx.For):
        if ANNOTATION in stmt.annotations:
            try:
                return _pointwise_call(stmt)
            except NotPointwise:
                # e.g. a 1x1 convolution with zero padding (a bounds test in
                # the body): the loop nest stays, correct but not fast
                rest = {k: v for k, v in stmt.annotations.items() if k != ANNOTATION}
                return tirx.For(stmt.loop_var, stmt.min, stmt.extent, stmt.kind, stmt.body,
                                stmt.thread_binding, rest, stmt.step)
        body = _rewrite(stmt.body)
        if body is None:
            return None
        return tirx.For(stmt.loop_var, stmt.min, stmt.extent, stmt.kind, body,
                        stmt.thread_binding, stmt.annotations, stmt.step)
    if isinstance(stmt, tirx.SeqStmt):
        new = [_rewrite(s) for s in stmt.seq]
        if all(n is None for n in new):
            return None
        return tirx.SeqStmt([s if n is None else n for s, n in zip(stmt.seq, new)])
    if isinstance(stmt, tirx.IfThenElse):
        then = _rewrite(stmt.then_case)
        other = _rewrite(stmt.else_case) if stmt.else_case is not None else None
        if then is None and other is None:
            return None
        return tirx.IfThenElse(stmt.condition, then or stmt.then_case, other or stmt.else_case)
    return None


@tirx.transform.prim_func_pass(opt_level=0, name="codegen.MicroKernels")
def lower_calls(func, mod, ctx):
    """Run after FlattenBuffer: annotated loop nests -> micro-kernel calls."""
    body = _rewrite(func.body)
    if body is None:
        return func
    if ANNOTATION in str(body):
        raise CodegenError("micro-kernel loop left in %s (inside a statement kind the "
                           "rewrite does not handle)" % func.attrs["global_symbol"])
    return func.with_body(body)


def used(funcs_source):
    """Micro-kernel symbols a lowered module or its C source refers to."""
    return sorted(sym for sym in SYMBOLS.values() if sym in funcs_source)


def _compile(tmp, prefix, sources=SOURCES):
    """Kernel sources of ukernels/ -> object files in tmp (a list of paths)."""
    objects = []
    for name in sources:
        obj = os.path.join(tmp, name + ".o")
        flags = CFLAGS if name.endswith(".c") else CFLAGS[:3] + ["-x", "assembler-with-cpp"]
        # relative source names: the object records them (.file), and
        # kernels.o must not depend on where the checkout lives
        _run([prefix + "gcc"] + flags + ["-c", name, "-o", obj], cwd=SOURCE_DIR)
        objects.append(obj)
    return objects


def build_object(path, prefix=PREFIX, sources=SOURCES):
    """Assemble/compile the micro-kernels (or other ukernels/ sources) into one
    relocatable object at path with the GNU Arm toolchain of that prefix
    (arm-none-eabi-gcc, -ld)."""
    with tempfile.TemporaryDirectory() as tmp:
        _run([prefix + "ld", "-r", "-o", path] + _compile(tmp, prefix, sources))


def link_into(kernels_o, prefix=PREFIX, sources=SOURCES):
    """kernels_o <- kernels_o + the micro-kernels (or other ukernels/ sources:
    the library kernels), one ld -r, in place."""
    with tempfile.TemporaryDirectory() as tmp:
        merged = os.path.join(tmp, "kernels.o")
        _run([prefix + "ld", "-r", "-o", merged, kernels_o] + _compile(tmp, prefix, sources))
        with open(merged, "rb") as src, open(kernels_o, "wb") as dst:
            dst.write(src.read())


def _run(cmd, cwd=None):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    except OSError as err:
        raise CodegenError("micro-kernels need %s (%s)" % (cmd[0], err.strerror)) from err
    if proc.returncode != 0:
        raise CodegenError("micro-kernels: %s failed: %s"
                           % (os.path.basename(cmd[0]), proc.stderr.strip()[-2000:]))
