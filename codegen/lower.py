"""Scheduled PrimFuncs -> plain-C-ABI kernels (C source or an LLVM object).

TVM's stock TIR pipeline ends in MakePackedAPI: every kernel becomes a TVM-FFI
packed function taking DLTensor handles, which needs the TVM runtime. We run
the same lowering passes ourselves and replace MakePackedAPI with
``unpacked_abi``: the parameters become the buffers' data pointers and the
function returns int32 0, i.e. ``int32_t k(float* a, ..., float* out)``
(emit.clean_kernels_c then adds ``const`` to inputs and ``restrict`` to all).

Buffers the schedule could not remove are turned into extra pointer
parameters ("scratch") that the memory planner places in the arena, so no
kernel ever allocates at run time.
"""
import tvm
from tvm import s_tir, tirx
from tvm.ir import IRModule
from tvm.target import Target

from . import microkernels


C_TARGET = {"kind": "c"}
MVE_TARGET = {"kind": "llvm", "mtriple": "thumbv8.1m.main-none-eabi", "mcpu": "cortex-m55",
              "mattr": ["+mve.fp"], "mfloat-abi": "hard",
              "vector-width": 128,  # MVE q registers; LLVM warns when it has to guess
              # No MVE gather/scatter: LLVM's lowering of gathers in a loop
              # (incrementing vldrw/vstrw [q]) dropped the loop's exit branch
              # and left an endless loop on the device (a 1x1 convolution
              # whose epilogue LLVM vectorized across output channels).
              "cl-opt": ["-enable-arm-maskedgatscat=false"]}


def _exp_polynomial(op):
    """tirx.exp(x) on the LLVM (MVE) target as plain float arithmetic, Cephes'
    expf (range reduction by ln 2, degree-6 polynomial, 2^n built in the
    exponent bits; about 1 ulp). LLVM's own lowering calls newlib's expf once
    per element, even in a vectorized loop (ch_PP-OCRv4's softmax over 6,625
    classes: ~70 instructions per element); this form vectorizes to MVE."""
    if str(op.ty) != "float32":
        return op

    def f(v):
        return tirx.const(v, "float32")

    x = tirx.Var("exp_x", "float32")
    n = tirx.Var("exp_n", "float32")
    r = tirx.Var("exp_r", "float32")
    p = f(1.9875691500e-4)
    for c in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
              5.0000001201e-1):
        p = p * r + f(c)
    two_n = tirx.reinterpret("float32", (n.astype("int32") + 127) << 23)
    body = (p * r * r + r + f(1.0)) * two_n
    body = tirx.Let(r, x - n * f(0.693359375) + n * f(2.12194440e-4), body)
    body = tirx.Let(n, tirx.floor(x * f(1.44269504088896341) + f(0.5)), body)
    return tirx.Let(x, tirx.max(tirx.min(op.args[0], f(88.3762626647949)),
                                f(-87.3365447504)), body)


tirx.register_intrin_lowering("tirx.exp", target="llvm", f=_exp_polynomial, level=99)


def lift_scratch(func, stack_limit):
    """Root-level intermediate buffers larger than stack_limit bytes become
    extra parameters (appended after the outputs). Returns (func, [(shape, dtype)])."""
    body = func.body
    root = body.block if isinstance(body, s_tir.SBlockRealize) else None
    if root is None:
        return func, []
    lifted, kept = [], []
    for buf in root.alloc_buffers:
        nbytes = 1
        for d in buf.shape:
            nbytes *= int(d)
        nbytes *= tvm.runtime.DataType(buf.dtype).bits // 8
        (lifted if nbytes > stack_limit else kept).append(buf)
    if not lifted:
        return func, []
    new_root = s_tir.SBlock(root.iter_vars, root.reads, root.writes, root.name_hint, root.body,
                           root.init, kept, root.match_buffers, root.annotations)
    new_body = s_tir.SBlockRealize(body.iter_values, body.predicate, new_root)
    new = tirx.PrimFunc(list(func.params) + lifted, new_body, func.ret_type, func.attrs)
    return new, [([int(d) for d in b.shape], str(b.dtype)) for b in lifted]


PASS_CONFIG = {"tirx.disable_assert": True}


def _lowering_passes():
    return [
        s_tir.transform.CanonicalizeLoop(),
        s_tir.transform.LowerInitBlock(),
        s_tir.transform.PlanAndUpdateBufferAllocationLocation(),
        s_tir.transform.ConvertBlocksToOpaque(),
        s_tir.transform.CompactBufferAllocation(),
        s_tir.transform.LowerMatchBuffer(),
        s_tir.transform.StmtSimplify(),
        s_tir.transform.LowerOpaqueBlock(),
        tirx.transform.FlattenBuffer(),
        tirx.transform.NarrowDataType(32),
        microkernels.lower_calls,
        s_tir.transform.LoopPartition(),
        tirx.transform.VectorizeLoop(False),
        tirx.transform.StorageRewrite(),
        s_tir.transform.HoistIfThenElse(),
        tirx.transform.UnrollLoop(),
        s_tir.transform.RenormalizeSplitPattern(),
        tirx.transform.StmtSimplify(),
        tirx.transform.RemoveNoOp(),
        s_tir.transform.RewriteUnsafeSelect(),
        tirx.transform.CommonSubexprElim(),
        tirx.transform.VerifyMemory(),
    ]


@tirx.transform.prim_func_pass(opt_level=0, name="codegen.UnpackedABI")
def unpacked_abi(func, mod, ctx):
    """Replace MakePackedAPI: data pointers as parameters, return 0."""
    params, decls = [], []
    for buf in func.params:
        ptr = tirx.Var(buf.name, tvm.ir.PointerType(buf.ty.dtype))
        params.append(ptr)
        decls.append(tirx.DeclBuffer(buf, data=ptr))
    body = tirx.SeqStmt(decls + [func.body, tirx.Return(tirx.IntImm("int32", 0))])
    new = tirx.PrimFunc(params, body, tvm.ir.PrimType("int32"), func.attrs)
    new = new.with_attr("calling_conv", 0)
    return new


def lower(funcs, target):
    """funcs: {symbol: scheduled PrimFunc} -> lowered IRModule for target."""
    tgt = Target(target)
    mod = IRModule({name: f.with_attr("global_symbol", name).with_attr("tirx.noalias", True)
                    for name, f in funcs.items()})
    mod = tirx.transform.BindTarget(tgt.with_host(tgt))(mod)
    passes = _lowering_passes() + [unpacked_abi, tirx.transform.LowerIntrin()]
    with tvm.transform.PassContext(opt_level=3, config=PASS_CONFIG):
        mod = tvm.transform.Sequential(passes)(mod)
    return mod, tgt


def build_c(funcs):
    """Return C source text for all kernels with the plain ABI."""
    mod, tgt = lower(funcs, C_TARGET)
    with tvm.transform.PassContext(opt_level=3, config=PASS_CONFIG):
        rt = tvm.get_global_func("target.build.c")(mod, tgt)
    return rt.inspect_source()


def build_llvm_object(funcs, path):
    mod, tgt = lower(funcs, MVE_TARGET)
    with tvm.transform.PassContext(opt_level=3, config=PASS_CONFIG):
        rt = tvm.get_global_func("target.build.llvm")(mod, tgt)
    rt.write_to_file(path)
