"""ONNX -> Relax -> fused TIR kernels, and the straight-line call list.

After the Relax passes, ``main`` is a sequence of ``R.call_tir`` on the input,
constants and earlier results: that list *is* the executor. This module
turns it into plain Python data (``Graph``) that the planner and emitters use,
so nothing downstream needs to know Relax.
"""
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import CodegenError

# Legalized kernels that only reinterpret a row-major buffer: emitted as views.
_VIEW_KERNEL = re.compile(r"^(reshape|squeeze|expand_dims|flatten)\d*$")


@dataclass
class Tensor:
    name: str
    shape: list
    dtype: str
    kind: str  # "input" | "output" | "const" | "temp" | "scratch"
    nbytes: int = 0
    const_index: int = -1  # index into Graph.consts for kind == "const"
    alias_of: str = ""     # for views: the tensor whose storage is used


@dataclass
class Call:
    kernel: str            # PrimFunc name (C symbol after prefixing)
    args: list             # tensor names, inputs first, then the output(s), then scratch
    num_inputs: int
    macs: int = 0
    ops: str = ""
    params: list = field(default_factory=list)  # library kernels: int32 arguments after the tensors
    library: bool = False  # a project kernel (codegen/ukernels), not a TVM PrimFunc

    @property
    def symbol(self):
        """The C function model.c calls."""
        from .emit import KERNEL_PREFIX
        return self.kernel if self.library else KERNEL_PREFIX + self.kernel


@dataclass
class Graph:
    tensors: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    consts: list = field(default_factory=list)   # numpy arrays
    input: str = ""
    output: str = ""
    funcs: dict = field(default_factory=dict)    # name -> legalized PrimFunc


def _nbytes(shape, dtype):
    n = int(np.prod(shape)) if shape else 1
    return n * np.dtype(dtype).itemsize


def check_supported(model):
    """Fail with one line naming the first ONNX node Relax cannot import."""
    from tvm.relax.frontend.onnx import onnx_frontend
    supported = onnx_frontend._get_convert_map()
    for node in model.graph.node:
        if node.op_type not in supported:
            raise CodegenError("unsupported operator %s in node %r (inputs %s)"
                               % (node.op_type, node.name or "?", list(node.input)))


RELAX_PASSES = ("FoldBatchnormToConv2D", "DecomposeOpsForInference", "LegalizeOps",
                "AnnotateTIROpPattern", "FoldConstant", "FuseOps", "FuseTIR",
                "DeadCodeElimination")


def to_relax(model, input_name, input_shape, float_library=False):
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx
    check_supported(model)
    try:
        mod = from_onnx(model, shape_dict={input_name: list(input_shape)},
                        keep_params_in_input=False)
    except Exception as err:  # the importer reports op-specific failures
        raise CodegenError("Relax ONNX importer failed: %s"
                           % str(err).strip().splitlines()[-1]) from None
    from . import qnn
    if qnn.quantized(model):  # integer kernels for the int8 layers of a QDQ model
        mod["main"] = qnn.fold_qdq(mod["main"])
    if float_library:  # the Helium float convolutions (LLVM-MVE): flib.py
        from . import flib
        mod["main"] = flib.fold(mod["main"])
    seq = tvm.transform.Sequential([getattr(relax.transform, p)() for p in RELAX_PASSES])
    return seq(mod)


def _kernel_info(func):
    """(MACs, op names) of a legalized PrimFunc: MACs count the multiply-
    accumulate reductions (conv, matmul), like the note's totals."""
    from tvm import s_tir
    from tvm.ir import IRModule
    sch = s_tir.Schedule(IRModule({"main": func}))
    macs, ops = 0, []
    for block in sch.get_child_blocks(sch.get_sblock("root")):
        blk = sch.get(block)
        name = blk.name_hint
        base = re.sub(r"_?\d+$", "", name)
        if base not in ops:
            ops.append(base)
        if any(iv.iter_type == 2 for iv in blk.iter_vars) and \
                re.search(r"conv|matmul|dense|batch_matmul", name):
            n = 1
            for iv in blk.iter_vars:
                n *= int(iv.dom.extent)
            macs += n
    return macs, ops


def _shape_of(ty):
    return [int(d) for d in ty.shape.values], str(ty.dtype)


def extract(mod):
    """Relax module after fusion -> Graph. Raises if main is not straight-line."""
    from tvm import relax, tirx
    main = mod["main"]
    g = Graph()
    if len(main.params) != 1:
        raise CodegenError("expected one model input, got %d" % len(main.params))
    param = main.params[0]
    shape, dtype = _shape_of(param.ty)
    g.input = param.name
    g.tensors[g.input] = Tensor(g.input, shape, dtype, "input", _nbytes(shape, dtype))
    names = {param: g.input}
    const_ids, by_content = {}, {}
    info_cache = {}
    for name, func in mod.functions.items():
        if isinstance(func, tirx.PrimFunc):
            g.funcs[name.name_hint] = func

    def arg_name(arg):
        if isinstance(arg, relax.Var) and arg in names:
            return names[arg]
        if hasattr(arg, "value") and hasattr(arg.value, "numpy"):
            # Key by the C object handle (Python ids of FFI wrappers get
            # reused), then by content so equal constants share storage.
            handle = arg.__chandle__()
            if handle not in const_ids:
                arr = np.ascontiguousarray(arg.value.numpy())
                key = (str(arr.dtype), arr.shape, hashlib.sha256(arr.tobytes()).hexdigest())
                if key not in by_content:
                    cname = "c%d" % len(g.consts)
                    g.consts.append(arr)
                    g.tensors[cname] = Tensor(cname, list(arr.shape), str(arr.dtype), "const",
                                              arr.nbytes, const_index=len(g.consts) - 1)
                    by_content[key] = cname
                const_ids[handle] = by_content[key]
            return const_ids[handle]
        raise CodegenError("unsupported Relax argument %s after fusion" % type(arg).__name__)

    for block in main.body.blocks:
        for binding in block.bindings:
            value = binding.value
            out = binding.var.name
            if isinstance(value, relax.Var):
                names[binding.var] = names[value]
                continue
            if hasattr(value, "op") and getattr(value.op, "name", "") == "relax.call_dps_packed":
                g.calls.append(_library_call(value, arg_name, g, out, binding.var))
                names[binding.var] = g.calls[-1].args[-1]
                continue
            if not (hasattr(value, "op") and getattr(value.op, "name", "") == "relax.call_tir"):
                raise CodegenError("Relax main still contains %s after legalization; "
                                   "this operator has no TIR lowering" % (value,))
            kernel = value.args[0].name_hint
            args = [arg_name(a) for a in value.args[1].fields]
            out = _add_temp(g, out, binding.var)
            t = g.tensors[out]
            names[binding.var] = out
            if _VIEW_KERNEL.match(kernel) and len(args) == 1 and \
                    g.tensors[args[0]].nbytes == t.nbytes and g.tensors[args[0]].kind != "const":
                t.alias_of = g.tensors[args[0]].alias_of or args[0]
                continue
            if kernel not in info_cache:
                info_cache[kernel] = _kernel_info(g.funcs[kernel])
            macs, ops = info_cache[kernel]
            g.calls.append(Call(kernel, args + [out], len(args), macs, "+".join(ops)))
    result = main.body.body
    if not isinstance(result, relax.Var) or result not in names:
        raise CodegenError("the model must have exactly one tensor output")
    out = names[result]
    root = g.tensors[out].alias_of or out
    if g.tensors[root].kind == "input":
        raise CodegenError("the model's output is its input: nothing to compile")
    g.tensors[root].kind = "output"
    g.output = out
    return g


def _add_temp(g, out, var):
    """Register a call's result tensor (renamed when the name is taken) -> its name."""
    shape, dtype = _shape_of(var.ty)
    out = "t%d" % len(g.calls) if out in g.tensors else out
    g.tensors[out] = Tensor(out, shape, dtype, "temp", _nbytes(shape, dtype))
    return out


def _library_call(value, arg_name, g, out, var):
    """A call_dps_packed of a project kernel (qnn.LIBRARY, flib.LIBRARY) -> Call:
    tensor arguments first, then the int32 parameters (prim values)."""
    import tvm
    from . import flib, qnn
    symbol = str(value.args[0].global_symbol)
    if symbol not in qnn.LIBRARY and symbol not in flib.LIBRARY:
        raise CodegenError("call of unknown external function %s" % symbol)
    tensors, params = [], []
    for a in value.args[1].fields:
        if isinstance(a, tvm.tirx.IntImm):
            params.append(int(a.value))
        else:
            tensors.append(arg_name(a))
    out = _add_temp(g, out, var)
    macs, ops = (flib if symbol in flib.LIBRARY else qnn).library_info(symbol, params)
    return Call(symbol, tensors + [out], len(tensors), macs, ops, params=params, library=True)


def relax_static_plan_bytes(mod):
    """Bytes Relax's StaticPlanBlockMemory allocates for intermediates (storage
    tokens), as a baseline for our planner. The model output is not counted."""
    import tvm
    from tvm import relax
    seq = tvm.transform.Sequential([relax.transform.ToNonDataflow(),
                                    relax.transform.RemovePurityChecking(),
                                    relax.transform.CallTIRRewrite(),
                                    relax.transform.StaticPlanBlockMemory()])
    planned = seq(mod)
    total = [0]

    def visit(e):
        if hasattr(e, "op") and getattr(e.op, "name", "") == "relax.memory.alloc_storage":
            total[0] += int(e.args[0].values[0])
    relax.analysis.post_order_visit(planned["main"], visit)
    return total[0]
