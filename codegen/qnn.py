"""Integer kernels from a QDQ model: DequantizeLinear -> Conv/MatMul -> QuantizeLinear
folded into int8 operations with int32 accumulation.

TVM 0.27's Relax ONNX importer reads a QDQ model (codegen.quantize's output) as
float operations between ``R.dequantize`` and ``R.quantize``; compiled as is, it
would compute in float on dequantized weights (FoldConstant turns them back into
float constants).  ``fold_qdq`` rewrites, before legalization, the three forms
onnxruntime's quantizer produces:

- ``quantize(conv2d(dequantize(x), dequantize(W)) + reshape(dequantize(b)))``
- ``quantize(matmul(dequantize(x), dequantize(W)) + dequantize(b))``  (Gemm)
- ``quantize(matmul(dequantize(a), dequantize(c)))``  (two activations: attention)

into ``conv2d``/``matmul`` on the int8 tensors with ``out_dtype=int32``, the input
zero point handled exactly (convolutions pad with it explicitly, and
``sum((x - zx) * w) = sum(x * w) - zx * sum(w)`` moves into the int32 bias; the
activation x activation product centres both operands in int16), then a
per-channel fixed-point requantization:

    y = clamp(zy + ((acc * M + 2^(s-1)) >> s), -128, 127)

with ``M`` in [2^30, 2^31) and ``s`` from ``sx * sw / sy = M * 2^-s`` (one
rounding, half away from zero for positive and towards +inf at ties for
negative values: an arithmetic shift, as TFLM's single-rounding mode). The
int8 tensors between kernels are then what the memory planner sees (a quarter
of the fp32 arena); what stays between a ``dequantize`` and a ``quantize``
(activations, residual additions, layer norm, softmax) still computes in float
inside the fused kernels, reading and writing int8.
"""
import numpy as np


def quantized(model):
    """True when an ONNX model holds QuantizeLinear/DequantizeLinear nodes."""
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node)


def _value(const):
    """A Relax constant's array (TVM 0.27: tvm.ir.GenericConst, array in .value)."""
    return np.asarray(const.value.numpy())


def quant_multiplier(real):
    """real multipliers (array) -> (M, s) int64 arrays with real = M * 2^-s,
    M in [2^30, 2^31)."""
    real = np.asarray(real, np.float64)
    if np.any(real <= 0):
        raise ValueError("requantization scales must be positive")
    mant, exp = np.frexp(real)  # real = mant * 2^exp, mant in [0.5, 1)
    mult = np.round(mant * (1 << 31)).astype(np.int64)
    carry = mult == (1 << 31)
    mult = np.where(carry, 1 << 30, mult)
    exp = exp + carry
    shift = (31 - exp).astype(np.int64)
    if np.any(shift < 1):
        raise ValueError("requantization scale %g >= 2^30: not a scale a calibrated model has"
                         % real.max())
    # A channel whose weights are (nearly) all zero gets a tiny weight scale; its
    # output is the zero point whatever the multiplier: write it as 0 >> 1.
    tiny = shift > 62
    return np.where(tiny, 0, mult), np.where(tiny, 1, shift)


def requantize_reference(acc, real, zy=0):
    """numpy reference of the requantization above (int32 acc, per-channel real
    multipliers broadcast against acc) -> int8."""
    mult, shift = quant_multiplier(real)
    acc = np.asarray(acc, np.int64)
    return np.clip(zy + ((acc * mult + (np.int64(1) << (shift - 1))) >> shift), -128, 127).astype(np.int8)


def _requantize(acc, real, zy, shape):
    from tvm import relax
    mult, shift = quant_multiplier(real)

    def const(a):
        return relax.const(np.asarray(a, np.int64).reshape(shape), "int64")
    wide = relax.op.multiply(relax.op.astype(acc, "int64"), const(mult))
    rounded = relax.op.right_shift(relax.op.add(wide, const(np.int64(1) << (shift - 1))), const(shift))
    zy = int(np.asarray(zy).reshape(-1)[0])
    y = relax.op.clip(relax.op.add(rounded, relax.const(zy, "int64")), -128, 127)
    return relax.op.astype(y, "int8")


# ---------------------------------------------------------------------------
# Library kernels: int8 layers the project's own C/Helium code computes whole
# (ukernels/s8_*.c), called from model.c like the TVM kernels.
# ---------------------------------------------------------------------------
POINTWISE = "codegen_s8_pointwise"
DEPTHWISE = "codegen_s8_depthwise"
CONV = "codegen_s8_conv"
MATMUL = "codegen_s8_matmul"
LIBRARY = {POINTWISE: "s8_kernels.c", DEPTHWISE: "s8_kernels.c", CONV: "s8_kernels.c",
           MATMUL: "s8_kernels.c"}
# Stack arrays of each library kernel (report.json's stack_array_bytes):
# pointwise: the transposed tile and two accumulator rows; depthwise: the
# padded input rows, the taps and one block of sums.
# s8_kernels.c's buffer sizes (a test checks them against its #defines): the
# transposed / im2col tile holds the reduction, TILE_PIXELS_MAX accumulators per
# row, the depthwise row buffer and its blocks of outputs.
TILE_BYTES, TILE_PIXELS_MAX, DW_ROWS_BYTES, DW_BLOCK = 4096, 48, 4096, 16
_GEMM_STACK = TILE_BYTES + 2 * TILE_PIXELS_MAX * 4 + (TILE_PIXELS_MAX + 8) * 2
LIBRARY_STACK_BYTES = {POINTWISE: _GEMM_STACK, CONV: _GEMM_STACK, MATMUL: _GEMM_STACK,
                       DEPTHWISE: DW_ROWS_BYTES + 16 + 64 * 4 + DW_BLOCK * 4}
LUT_ARG = 5  # every library call: (x, w, bias, mult, shift, lut, int32 parameters...)
IDENTITY_LUT = np.arange(-128, 128, dtype=np.int8)


def _out_size(size, before, after, kernel, stride):
    return (size + before + after - kernel) // stride + 1


def trim_dead_taps(shape, weight, strides, pads):
    """A convolution's kernel without the rows/columns of taps that read only
    padding for every output (SVTR's 3x3 convolutions on a 1-row map: two of
    three rows): they add (zx - zx) * w = 0. -> (weight, pads (top, left,
    bottom, right)) of the same convolution."""
    kept = []
    for axis, (size, stride, before, after) in enumerate([(shape[2], strides[0], pads[0], pads[2]),
                                                         (shape[3], strides[1], pads[1], pads[3])]):
        kernel = weight.shape[2 + axis]
        out = _out_size(size, before, after, kernel, stride)
        live = [k for k in range(kernel) if any(0 <= o * stride + k - before < size for o in range(out))]
        kept.append((live[0], live[-1] + 1) if live else (0, kernel))
    (y0, y1), (x0, x1) = kept
    trimmed = np.ascontiguousarray(weight[:, :, y0:y1, x0:x1])
    top, left = pads[0] - y0, pads[1] - x0
    out_h = _out_size(shape[2], pads[0], pads[2], weight.shape[2], strides[0])
    out_w = _out_size(shape[3], pads[1], pads[3], weight.shape[3], strides[1])
    # keep the output size: bottom/right padding = what the trimmed kernel needs
    bottom = (out_h - 1) * strides[0] + (y1 - y0) - shape[2] - top
    right = (out_w - 1) * strides[1] + (x1 - x0) - shape[3] - left
    return trimmed, (top, left, max(bottom, 0), max(right, 0))


def library_geometry(data, weight, attrs):
    """(weight, pads, (out_h, out_w)) when a library kernel computes this int8
    convolution (one image, no dilation; the kernels' stack buffers hold it),
    else None. The output size is the model's; pads[2:] are informative."""
    shape = [int(d) for d in data.ty.shape.values] if hasattr(data.ty, "shape") else []
    if len(shape) != 4 or shape[0] != 1 or any(int(v) != 1 for v in attrs.dilation):
        return None
    strides = [int(v) for v in attrs.strides]
    pads = [int(p) for p in attrs.padding]
    groups = int(attrs.groups)
    out_hw = (_out_size(shape[2], pads[0], pads[2], weight.shape[2], strides[0]),
              _out_size(shape[3], pads[1], pads[3], weight.shape[3], strides[1]))
    weight, pads = trim_dead_taps(shape, weight, strides, pads)
    kh, kw = weight.shape[2:]
    if max(pads) >= max(kh, kw) or min(pads) < 0:
        return None
    if groups == 1 and weight.shape[1] == shape[1]:
        fits = -(-weight.shape[1] * kh * kw // 16) * 16 <= TILE_BYTES
    elif groups == shape[1] == weight.shape[0] and weight.shape[1] == 1:
        fits = kh * kw <= 64 and _dw_row_bytes(out_hw[1], kw, strides[1]) * kh <= DW_ROWS_BYTES
    else:
        fits = False
    return (weight, tuple(pads), out_hw) if fits else None


def pack_pointwise(weight):
    """[cout, cin(, 1, 1)] int8 -> the kernels' layout (see s8_kernels.c):
    output channels in pairs, input channels in chunks of 16, zero-padded."""
    w = np.asarray(weight, np.int8).reshape(weight.shape[0], -1)
    cout, cin = w.shape
    chunks = (cin + 15) // 16
    padded = np.zeros((cout + cout % 2, chunks * 16), np.int8)
    padded[:cout, :cin] = w
    return np.ascontiguousarray(padded.reshape(-1, 2, chunks, 16).transpose(0, 2, 1, 3)).reshape(-1)


def pack_conv(weight):
    """[cout, cin, kh, kw] int8 -> codegen_s8_conv's layout: pack_pointwise of
    the reduction in (ky, kx, channel) order (a tap's channels side by side)."""
    w = np.asarray(weight, np.int8)
    return pack_pointwise(np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(w.shape[0], -1))


def _even(a):
    """Per-channel parameters padded to an even count (the kernel's pairs)."""
    a = np.asarray(a)
    return np.concatenate([a, a[-1:]]) if a.shape[0] % 2 else a


def library_info(symbol, params):
    """(MACs, ops) of a library call from its int32 parameters."""
    if symbol == POINTWISE:
        cin, cout, pixels = params[:3]
        return cin * cout * pixels, "s8_pointwise+requantize+lut"
    if symbol == MATMUL:
        rows, k, n = params[:3]
        return rows * k * n, "s8_matmul+requantize+lut"
    if symbol == CONV:
        cin, cout, kh, kw, out_h, out_w = params[0], params[3], params[4], params[5], params[10], params[11]
        return cin * cout * kh * kw * out_h * out_w, "s8_conv+requantize+lut"
    channels, kh, kw, out_h, out_w = params[0], params[3], params[4], params[9], params[10]
    return channels * kh * kw * out_h * out_w, "s8_depthwise+requantize+lut"


def _dw_row_bytes(out_w, kernel_w, stride_w):
    blocks = -(-out_w // DW_BLOCK)
    return ((blocks * DW_BLOCK - 1) * stride_w + kernel_w + 15) // 16 * 16


def _i32(a):
    from tvm import relax
    return relax.const(np.ascontiguousarray(np.asarray(a, np.int64).astype(np.int32)), "int32")


def _i8(a):
    """Per-channel shifts (1..62) as one byte each: a quarter of int32's weight bytes."""
    from tvm import relax
    a = np.asarray(a, np.int64)
    if a.size and (a.min() < 1 or a.max() > 62):
        raise ValueError("requantization shift outside 1..62")
    return relax.const(np.ascontiguousarray(a.astype(np.int8)), "int8")


def _params(values):
    import tvm
    from tvm import relax
    return [relax.prim_value(tvm.tirx.IntImm("int32", int(v))) for v in values]


def library_conv(data, weight, bias, real, zx, zy, strides, pads, out_hw, groups, lut=IDENTITY_LUT):
    """The int8 convolution + requantization + table as one library call:
    pointwise (1x1, stride 1, unpadded), depthwise, or the general conv; padding
    reads the input zero point (the bias holds -zx * sum w)."""
    from tvm import relax
    shape = [int(d) for d in data.ty.shape.values]
    cout, _, kh, kw = weight.shape
    top, left = pads[:2]
    out_h, out_w = out_hw
    mult, shift = quant_multiplier(real)
    table = relax.const(np.asarray(lut, np.int8), "int8")
    if groups != 1:
        symbol = DEPTHWISE
        args = [relax.const(np.ascontiguousarray(weight.reshape(-1)), "int8"), _i32(bias), _i32(mult),
                _i8(shift), table]
        params = [shape[1], shape[2], shape[3], kh, kw, strides[0], strides[1], top, left, out_h,
                  out_w, zx, zy]
    else:
        args = [relax.const(pack_conv(weight), "int8"), _i32(_even(bias)), _i32(_even(mult)),
                _i8(_even(shift)), table]
        if (kh, kw) == (1, 1) and tuple(strides) == (1, 1) and not any(pads):
            symbol, params = POINTWISE, [shape[1], cout, shape[2] * shape[3], zy]
        else:
            symbol = CONV
            params = [shape[1], shape[2], shape[3], cout, kh, kw, strides[0], strides[1], top, left,
                      out_h, out_w, zx, zy]
    return relax.call_dps_packed(relax.ExternFunc(symbol), relax.Tuple([data] + args + _params(params)),
                                 relax.TensorType([1, cout, out_h, out_w], "int8"))


def library_matmul(data, weight, bias, real, zy, lut=IDENTITY_LUT):
    """x [..., k] int8 times the constant [k, n] + requantization + table as one
    library call; None when k does not fit the kernel's tile."""
    from tvm import relax
    shape = [int(d) for d in data.ty.shape.values]
    k, n = weight.shape
    if -(-k // 16) * 16 > TILE_BYTES or shape[-1] != k:
        return None
    rows = int(np.prod(shape[:-1]))
    mult, shift = quant_multiplier(real)
    args = [data, relax.const(pack_pointwise(weight.T), "int8"), _i32(_even(bias)), _i32(_even(mult)),
            _i8(_even(shift)), relax.const(np.asarray(lut, np.int8), "int8")] + _params([rows, k, n, zy])
    return relax.call_dps_packed(relax.ExternFunc(MATMUL), relax.Tuple(args),
                                 relax.TensorType(shape[:-1] + [n], "int8"))


def _requantized(acc, real, zy, lut, channel_axis):
    """The kernels' common end: requantization per channel, then the table."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    q = requantize_reference(acc, np.asarray(real).reshape(shape), zy)
    return np.asarray(lut, np.int8)[q.astype(np.int64) + 128]


def matmul_reference(x, weight, bias, real, zy, lut=IDENTITY_LUT):
    """numpy: codegen_s8_matmul's integer arithmetic."""
    acc = np.asarray(x, np.int64) @ np.asarray(weight, np.int64) + np.asarray(bias, np.int64)
    return _requantized(acc, real, zy, lut, -1)


def _window_sums(x, weight, bias, zx, strides, pads, depthwise):
    """bias + the sums of a convolution of x [1, C, H, W] padded with the zero
    point zx (pads: top, left, bottom, right), weight [O, C or 1, kh, kw]."""
    top, left, bottom, right = pads
    xp = np.pad(np.asarray(x, np.int64), [(0, 0), (0, 0), (top, bottom), (left, right)],
                constant_values=zx)[0]
    (sh, sw), (kh, kw) = strides, weight.shape[2:]
    out_h, out_w = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    acc = np.zeros((weight.shape[0], out_h, out_w), np.int64) + np.asarray(bias, np.int64).reshape(-1, 1, 1)
    w = np.asarray(weight, np.int64)
    for ky in range(kh):
        for kx in range(kw):
            window = xp[:, ky:ky + sh * (out_h - 1) + 1:sh, kx:kx + sw * (out_w - 1) + 1:sw]
            acc += window * w[:, 0, ky, kx].reshape(-1, 1, 1) if depthwise else \
                np.einsum("oc,chw->ohw", w[:, :, ky, kx], window)
    return acc[None]


def conv_reference(x, weight, bias, real, zx, zy, strides, pads, lut=IDENTITY_LUT):
    """numpy: codegen_s8_conv's integer arithmetic (groups 1, zero-point padding)."""
    return _requantized(_window_sums(x, weight, bias, zx, strides, pads, False), real, zy, lut, 1)


def depthwise_reference(x, weight, bias, real, zx, zy, strides, pads, lut=IDENTITY_LUT):
    """numpy: codegen_s8_depthwise's integer arithmetic (one filter [1, kh, kw]
    per channel, zero-point padding)."""
    return _requantized(_window_sums(x, weight, bias, zx, strides, pads, True), real, zy, lut, 1)


def pointwise_reference(x, weight, bias, real, zy, lut=IDENTITY_LUT):
    """numpy: the integer arithmetic of codegen_s8_pointwise. x [1, cin, H, W]
    int8, weight [cout, cin(, 1, 1)] int8, bias int (zero point folded in)."""
    w = np.asarray(weight, np.int64).reshape(weight.shape[0], -1)
    acc = np.einsum("oc,nchw->nohw", w, np.asarray(x, np.int64)) + \
        np.asarray(bias, np.int64).reshape(1, -1, 1, 1)
    return _requantized(acc, real, zy, lut, 1)


# ---------------------------------------------------------------------------
# Activations as tables: quantize(f(dequantize(t))) with f elementwise and
# per-tensor scales maps each of the 256 int8 values of t to one int8 value.
# ---------------------------------------------------------------------------
_UNARY = {"relax.sigmoid": lambda v: np.float32(1) / (np.float32(1) + np.exp(-v)),
          "relax.nn.relu": lambda v: np.maximum(v, np.float32(0)),
          "relax.tanh": np.tanh, "relax.exp": np.exp, "relax.sqrt": np.sqrt,
          "relax.negative": np.negative}
_BINARY = {"relax.multiply": np.multiply, "relax.add": np.add, "relax.subtract": np.subtract,
           "relax.divide": np.divide, "relax.maximum": np.maximum, "relax.minimum": np.minimum}


class _NotElementwise(Exception):
    pass


def _scalar(expr):
    """A size-1 float constant's value, else _NotElementwise."""
    if not (hasattr(expr, "value") and hasattr(expr.value, "numpy")):
        raise _NotElementwise()
    a = np.asarray(expr.value.numpy())
    if a.size != 1 or a.dtype.kind != "f":
        raise _NotElementwise()
    return np.float32(a.reshape(-1)[0])


def _op_name(expr):
    return getattr(getattr(expr, "op", None), "name", "")


def activation_table(call, values):
    """(t, table) when the relax.quantize `call` is quantize(f(dequantize(t)))
    with f a chain of elementwise float ops on scalar constants (hard-swish,
    sigmoid, relu...) and per-tensor scales: table[v + 128] is the int8 result for
    t = v, evaluated in float32 as the kernels would. values: var -> bound
    expression. None for anything else."""
    grid = np.arange(-128, 128, dtype=np.int64)
    source = []

    def ev(expr):
        if expr in values:
            expr = values[expr]
        name = _op_name(expr)
        if name == "relax.dequantize":
            t = expr.args[0]
            if (source and not source[0].same_as(t)) or str(t.ty.dtype) != "int8":
                raise _NotElementwise()
            source[:] = [t]
            scale, zero = _scalar(expr.args[1]), np.asarray(_value(expr.args[2])).reshape(-1)
            if zero.size != 1:
                raise _NotElementwise()
            return (grid - int(zero[0])).astype(np.float32) * scale
        if name in _UNARY:
            return _UNARY[name](ev(expr.args[0])).astype(np.float32)
        if name in _BINARY:
            a, b = [_scalar(x) if hasattr(x, "value") and hasattr(x.value, "numpy") else ev(x)
                    for x in expr.args[:2]]
            return np.asarray(_BINARY[name](a, b), np.float32)
        if name == "relax.clip":
            lo, hi = (float(x.value) for x in expr.args[1:3])
            return np.clip(ev(expr.args[0]), np.float32(lo), np.float32(hi)).astype(np.float32)
        raise _NotElementwise()

    try:
        if str(call.ty.dtype) != "int8":
            return None
        scale = _scalar(call.args[1])
        zero = np.asarray(_value(call.args[2])).reshape(-1)
        if zero.size != 1:
            return None
        real = ev(call.args[0])
    except (_NotElementwise, AttributeError, TypeError):
        return None
    if not source or np.ndim(real) != 1:
        return None
    q = np.clip(np.rint(real / scale) + int(zero[0]), -128, 127)
    return source[0], q.astype(np.int8)


def fold_activation_tables(func):
    """Every quantize(f(dequantize(t))) of fold_qdq's output whose t comes from a
    library call with no other user: the table is folded into that call."""
    from tvm import relax
    from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard
    values, uses = {}, {}
    for block in func.body.blocks:
        for binding in block.bindings:
            values[binding.var] = binding.value
            for arg in getattr(binding.value, "args", []):
                for a in (arg.fields if isinstance(arg, relax.Tuple) else [arg]):
                    if isinstance(a, relax.Var):
                        uses[a] = uses.get(a, 0) + 1
    q = is_op("relax.quantize")(wildcard(), is_const(), is_const())

    def on_quantize(expr, m):
        found = activation_table(m[q], values)
        if found is None:
            return expr
        t, table = found
        producer = values.get(t)
        if _op_name(producer) == "relax.call_dps_packed" and \
                str(producer.args[0].global_symbol) in LIBRARY and uses.get(t, 0) == 1:
            args = list(producer.args[1].fields)
            if not np.array_equal(_value(args[LUT_ARG]), IDENTITY_LUT):
                return expr  # (a second table would have to compose with the first)
            args[LUT_ARG] = relax.const(table, "int8")
            return relax.call_dps_packed(producer.args[0], relax.Tuple(args), producer.ty)
        # (a ``take`` on other producers is not fused into their kernels by
        # FuseOps: they would write int32 indices; their float tail stays)
        return expr
    return rewrite_call(q, on_quantize, func)


def _int8(array, what):
    if array.dtype != np.int8:
        raise ValueError("%s is %s, the integer kernels take int8" % (what, array.dtype))
    return array


def fold_qdq(func):
    """The Relax function with every matched QDQ conv/matmul as integer ops."""
    from tvm import relax
    from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard

    def dq(x=None):
        return is_op("relax.dequantize")(x if x is not None else wildcard(), is_const(), is_const())

    # conv2d(dq(x), dq(W)) + reshape(dq(b)) -> quantize
    x, w, b = wildcard(), is_const(), is_const()
    dqx, dqw, dqb = dq(x), dq(w), dq(b)
    conv = is_op("relax.nn.conv2d")(dqx, dqw)
    q_conv = is_op("relax.quantize")(is_op("relax.add")(conv, is_op("relax.reshape")(dqb, wildcard())),
                                     is_const(), is_const())

    def scales(m, node):
        """(scale, zero point) arrays of a matched dequantize or quantize call."""
        call = m[node]
        return _value(call.args[1]).astype(np.float64), _value(call.args[2]).astype(np.int64)

    def on_conv(expr, m):
        sx, zx = scales(m, dqx)
        sw, _ = scales(m, dqw)
        sy, zy = scales(m, q_conv)
        if sx.size != 1 or sy.size != 1:
            return expr  # per-channel activations: not a form the quantizer makes
        weight = _int8(_value(m[w]), "a convolution weight")
        bias = _value(m[b]).astype(np.int64).reshape(-1)
        attrs = m[conv].attrs
        channels = weight.shape[0]
        zx = int(zx.reshape(-1)[0])
        zy_int = int(np.asarray(zy).reshape(-1)[0])
        real = float(sx.reshape(-1)[0]) * np.broadcast_to(sw.reshape(-1), (channels,)) / float(sy)
        geometry = library_geometry(m[x], weight, attrs)
        if geometry is not None:
            weight, pads, out_hw = geometry  # taps that only ever read padding dropped
            bias = bias - zx * weight.reshape(channels, -1).astype(np.int64).sum(1)
            strides = [int(v) for v in attrs.strides]
            return library_conv(m[x], weight, bias, real, zx, zy_int, strides, pads, out_hw,
                                int(attrs.groups))
        data = m[x]
        top, left, bottom, right = [int(p) for p in attrs.padding]
        if top or left or bottom or right:
            # padded taps read the zero point: real 0, as in the float convolution
            data = relax.op.nn.pad(data, [0, 0, 0, 0, top, bottom, left, right], "constant", float(zx))
        acc = relax.op.nn.conv2d(data, relax.const(weight, "int8"), strides=attrs.strides,
                                 padding=[0, 0, 0, 0], dilation=attrs.dilation, groups=attrs.groups,
                                 out_dtype="int32")
        bias = bias - zx * weight.reshape(channels, -1).astype(np.int64).sum(1)
        acc = relax.op.add(acc, relax.const(bias.astype(np.int32).reshape(1, channels, 1, 1), "int32"))
        return _requantize(acc, real, zy, (1, channels, 1, 1))
    func = rewrite_call(q_conv, on_conv, func)

    # matmul(dq(x), dq(W)) + dq(b) -> quantize  (Gemm: W is [K, N])
    x2, w2, b2 = wildcard(), is_const(), is_const()
    dqx2, dqw2 = dq(x2), dq(w2)
    q_gemm = is_op("relax.quantize")(is_op("relax.add")(is_op("relax.matmul")(dqx2, dqw2), dq(b2)),
                                     is_const(), is_const())

    def on_gemm(expr, m):
        sx, zx = scales(m, dqx2)
        sw, _ = scales(m, dqw2)
        sy, zy = scales(m, q_gemm)
        weight = _int8(_value(m[w2]), "a matmul weight")
        if sx.size != 1 or sy.size != 1 or weight.ndim != 2:
            return expr
        n = weight.shape[1]
        zx = int(zx.reshape(-1)[0])
        bias = _value(m[b2]).astype(np.int64).reshape(-1) - zx * weight.astype(np.int64).sum(0)
        real = float(sx.reshape(-1)[0]) * np.broadcast_to(sw.reshape(-1), (n,)) / float(sy)
        call = library_matmul(m[x2], weight, bias, real, int(np.asarray(zy).reshape(-1)[0]))
        if call is not None:
            return call
        acc = relax.op.matmul(m[x2], relax.const(weight, "int8"), out_dtype="int32")
        acc = relax.op.add(acc, relax.const(bias.astype(np.int32), "int32"))
        return _requantize(acc, real, zy, (n,))
    func = rewrite_call(q_gemm, on_gemm, func)

    # matmul(dq(a), dq(c)) -> quantize: both activations, per-tensor scales
    a, c = wildcard(), wildcard()
    dqa, dqc = dq(a), dq(c)
    q_mm = is_op("relax.quantize")(is_op("relax.matmul")(dqa, dqc), is_const(), is_const())

    def on_matmul(expr, m):
        sa, za = scales(m, dqa)
        sc, zc = scales(m, dqc)
        sy, zy = scales(m, q_mm)
        if sa.size != 1 or sc.size != 1 or sy.size != 1:
            return expr

        def centred(t, z):
            return relax.op.subtract(relax.op.astype(t, "int16"), relax.const(int(z.reshape(-1)[0]), "int16"))
        acc = relax.op.matmul(centred(m[a], za), centred(m[c], zc), out_dtype="int32")
        real = np.array([float(sa.reshape(-1)[0]) * float(sc.reshape(-1)[0]) / float(sy)])
        return _requantize(acc, real, zy, (1,))
    func = rewrite_call(q_mm, on_matmul, func)
    return fold_activation_tables(func)
