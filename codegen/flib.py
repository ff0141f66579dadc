"""Float library kernels: the float convolutions TVM's schedules leave slow.

The DB text detector spends two thirds of its MACs in 3x3 convolutions of 96
channels on large maps, and its head up-samples with 2x2 transposed
convolutions of stride 2. TVM's legalized TIR for these runs at 6.7
instructions per MAC on the M55 (the schedule's register blocking only takes
1x1 reductions), and the transposed convolution's dilate-pad-convolve form
does 4x the work. With the LLVM-MVE backend, ``fold`` replaces them in the
Relax graph, before legalization, with calls of the project's Helium kernels
(ukernels/f32_kernels.c over conv_mve.S and pointwise_mve.S), the same route
as the int8 library (qnn.py):

* ``relax.nn.conv2d`` of float32 with constant weights, groups 1, stride 1,
  dilation 1, an odd square kernel of 3..7 with "same" zero padding (k // 2 on
  every side), a multiple of 4 output channels and an output of more than one
  row (SVTR's 3x3 convolutions on the recognizer's 1-row map keep TVM's
  schedule, which drops their dead taps) -> ``codegen_f32_conv``;
* a 1x1 convolution (same conditions) whose result has two or more users: FuseOps
  gives it no epilogue, so schedule rule 3e, which computes a 1x1 convolution under
  its consumer, cannot take it (the DB detector's FPN inputs feed an attention and a
  resize: 2.3 instructions/MAC in TVM's loops) -> ``codegen_f32_conv`` with k = 1;
* a convolution of float32 with constant weights, groups 1, dilation 1, a short
  reduction (input channels x kernel <= 64: a stem) and a stride other than 1,
  a multiple of 4 output channels and more than one output row ->
  ``codegen_f32_conv_im2col`` (the detector's stem, 3x3 stride 2 on 3 channels:
  5.3 instructions/MAC in TVM's loops);
* ``relax.nn.conv2d_transpose`` of float32 with constant weights, kernel 2x2,
  stride 2, no padding, groups 1 -> ``codegen_f32_deconv2x2``;
* a depthwise ``relax.nn.conv2d`` (groups = channels, one input channel per
  group) of float32 with constant weights, an odd square kernel up to 7,
  strides of 1 or 2 (vertical up to the kernel), dilation 1, followed by a
  batch norm of constants or a constant bias, then hard-swish
  (x * clip(x / 6 + 0.5, 0, 1)), relu or nothing -> ``codegen_f32_depthwise``
  (ukernels/f32_depthwise.c over depthwise_mve.S) with the norm folded into its
  weights and the activation fused: one pass over the map instead of three
  (``fold_depthwise``; k padded rows must fit DEPTHWISE_RING_FLOATS, else TVM
  keeps the layer).

Bias, batch norm and activation after the other kernels stay TVM kernels
(elementwise). The weights are packed here in groups of 4 output channels.
"""
import numpy as np

CONV = "codegen_f32_conv"
DECONV = "codegen_f32_deconv2x2"
IM2COL = "codegen_f32_conv_im2col"
DEPTHWISE = "codegen_f32_depthwise"
SOURCES = ("f32_kernels.c", "conv_mve.S", "pointwise.c", "pointwise_mve.S")
LIBRARY = {CONV: SOURCES, DECONV: SOURCES, IM2COL: SOURCES, DEPTHWISE: ("f32_depthwise.c", "depthwise_mve.S")}
# f32_kernels.c's and f32_depthwise.c's #defines (a test checks them)
MAX_KERNEL, DECONV_CHUNK, IM2COL_TILE = 7, 256, 1024
IM2COL_MAX_REDUCTION = 64
DEPTHWISE_MAX_KERNEL, DEPTHWISE_RING_FLOATS, ROW_SLACK = 7, 1008, 8
STACK_BYTES = {CONV: 2 * MAX_KERNEL * MAX_KERNEL * 4 + 16, DECONV: 4 * DECONV_CHUNK * 4, IM2COL: IM2COL_TILE * 4,
               DEPTHWISE: DEPTHWISE_RING_FLOATS * 4 + DEPTHWISE_MAX_KERNEL * 4 + 16}
# codegen_f32_depthwise's last parameter
ACTIVATIONS = {"none": 0, "relu": 1, "hardswish": 2}


def pack_conv(weight):
    """[cout, cin, k, k] -> [cout / 4, k, k, cin, 4]."""
    cout, cin, kh, kw = weight.shape
    return np.ascontiguousarray(weight.reshape(cout // 4, 4, cin, kh, kw).transpose(0, 3, 4, 2, 1),
                                np.float32)


def pack_im2col(weight):
    """[cout, cin, kh, kw] -> [cout / 4, cin kh kw, 4] (the pointwise micro-kernel's layout)."""
    cout = weight.shape[0]
    return np.ascontiguousarray(weight.reshape(cout // 4, 4, -1).transpose(0, 2, 1), np.float32)


def pack_deconv(weight):
    """ONNX/Relax IOHW [cin, cout, 2, 2] -> [ceil(cout / 4), dy, dx, cin, 4], zero-padded channels."""
    cin, cout = weight.shape[:2]
    groups = -(-cout // 4)
    padded = np.zeros((cin, groups * 4, 2, 2), np.float32)
    padded[:, :cout] = weight
    return np.ascontiguousarray(padded.reshape(cin, groups, 4, 2, 2).transpose(1, 3, 4, 0, 2))


def depthwise_row_floats(ow, k, sx):
    """Floats of one padded row in f32_depthwise.c's ring (its row_floats)."""
    n = (ow - 1) * sx + k
    half = ((n + 1) // 2 + 3) & ~3
    return ((half + n // 2 if sx == 2 else n) + ROW_SLACK + 3) & ~3


def pack_depthwise(weight, bias):
    """Depthwise OIHW [C, 1, k, k] and a bias [C] -> packed [C, k k + 1]
    (each channel's taps, then its bias), float32."""
    taps = weight.reshape(weight.shape[0], -1)
    return np.ascontiguousarray(np.concatenate([taps, np.reshape(bias, (-1, 1))], axis=1), np.float32)


def fold_batch_norm(weight, gamma, beta, mean, var, eps):
    """Depthwise OIHW [C, 1, k, k] + inference batch norm -> packed [C, k k + 1]
    (the taps times the norm's scale, then its bias; computed in float64)."""
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    return pack_depthwise(weight.astype(np.float64) * scale[:, None, None, None],
                          beta.astype(np.float64) - mean.astype(np.float64) * scale)


def depthwise_reference(x, packed, k, strides, pads, act):
    """numpy: codegen_f32_depthwise (pads = top, left, bottom, right)."""
    c = packed.shape[0]
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[1] - k) // strides[0] + 1
    ow = (xp.shape[2] - k) // strides[1] + 1
    out = np.repeat(packed[:, -1].astype(np.float64)[:, None, None], oh, 1).repeat(ow, 2)
    for ky in range(k):
        for kx in range(k):
            win = xp[:, ky:ky + strides[0] * (oh - 1) + 1:strides[0], kx:kx + strides[1] * (ow - 1) + 1:strides[1]]
            out += packed[:, ky * k + kx, None, None] * win
    if act == "relu":
        out = np.maximum(out, 0)
    elif act == "hardswish":
        out = out * np.clip(out / 6 + 0.5, 0, 1)
    return out[None].astype(np.float32)


def conv_reference(x, weight):
    """numpy: what codegen_f32_conv computes (x [1, cin, h, w], weight OIHW)."""
    cout, cin, k, _ = weight.shape
    p = k // 2
    _, _, h, w = x.shape
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (p, p), (p, p)))
    out = np.zeros((cout, h, w))
    for ky in range(k):
        for kx in range(k):
            out += np.einsum("oc,chw->ohw", weight[:, :, ky, kx], xp[:, ky:ky + h, kx:kx + w])
    return out[None].astype(np.float32)


def conv_reference_strided(x, weight, strides, pads):
    """numpy: codegen_f32_conv_im2col (pads = top, left, bottom, right)."""
    cout, cin, kh, kw = weight.shape
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[1] - kh) // strides[0] + 1
    ow = (xp.shape[2] - kw) // strides[1] + 1
    out = np.zeros((cout, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            win = xp[:, ky:ky + strides[0] * (oh - 1) + 1:strides[0], kx:kx + strides[1] * (ow - 1) + 1:strides[1]]
            out += np.einsum("oc,chw->ohw", weight[:, :, ky, kx], win)
    return out[None].astype(np.float32)


def deconv_reference(x, weight):
    """numpy: codegen_f32_deconv2x2 (weight IOHW [cin, cout, 2, 2])."""
    _, cin, h, w = x.shape
    cout = weight.shape[1]
    out = np.zeros((cout, 2 * h, 2 * w))
    for dy in range(2):
        for dx in range(2):
            out[:, dy::2, dx::2] = np.einsum("co,chw->ohw", weight[:, :, dy, dx], x[0].astype(np.float64))
    return out[None].astype(np.float32)


def library_info(symbol, params):
    """(MACs, ops) of a call from its int32 parameters."""
    if symbol == CONV:
        cin, h, w, cout, k = params
        return cin * h * w * cout * k * k, "f32_conv"
    if symbol == DEPTHWISE:
        c, _, _, k = params[:4]
        oh, ow = params[8:10]
        return c * oh * ow * k * k, "f32_depthwise"
    if symbol == IM2COL:
        cin, _, _, cout, kh, kw = params[:6]
        oh, ow = params[-2:]
        return cin * kh * kw * cout * oh * ow, "f32_conv_im2col"
    cin, h, w, cout = params
    return cin * h * w * cout * 4, "f32_deconv2x2"


def _ints(attr):
    return [int(v) for v in attr]


def _bindings(func):
    """(binding value -> its variable, variable -> the binding values that read it)."""
    from tvm import relax
    var_of, readers = {}, {}
    for block in func.body.blocks:
        for binding in block.bindings:
            if isinstance(binding, relax.VarBinding):
                var_of[binding.value] = binding.var
                for v in relax.analysis.free_vars(binding.value):
                    readers.setdefault(v, []).append(binding.value)
    return var_of, readers


def _users(func):
    """{call expression: how many bindings (and the result) use its variable}."""
    from tvm import relax
    var_of, readers = _bindings(func)
    uses = {v: len(r) for v, r in readers.items()}
    for v in relax.analysis.free_vars(func.body.body):
        uses[v] = uses.get(v, 0) + 1
    return {call: uses.get(var, 0) for call, var in var_of.items()}


def _float_batch1(data, weight_const, attrs, kernel_layout):
    """(weight array, data shape) of a float32 NCHW batch-1 convolution of groups 1
    and dilation 1 with the given kernel layout, else (None, None)."""
    from .qnn import _value
    weight = _value(weight_const)
    shape = [int(d) for d in data.ty.shape.values] if hasattr(data.ty, "shape") else []
    if (weight.dtype != np.float32 or str(data.ty.dtype) != "float32" or len(shape) != 4 or shape[0] != 1
            or int(attrs.groups) != 1 or _ints(attrs.dilation) != [1, 1] or str(attrs.data_layout) != "NCHW"
            or str(attrs.kernel_layout) != kernel_layout):
        return None, None
    return weight, shape


def _call(symbol, data, packed, params, out_shape):
    """A library call: the input, the packed constant weights, int32 parameters."""
    from tvm import relax
    from .qnn import _params
    args = [data, relax.const(packed, "float32")] + _params(params)
    return relax.call_dps_packed(relax.ExternFunc(symbol), relax.Tuple(args),
                                 relax.TensorType(out_shape, "float32"))


def _is_scalar(const, value):
    from .qnn import _value
    v = _value(const)
    return v.size == 1 and v.dtype == np.float32 and float(v.reshape(-1)[0]) == np.float32(value)


# ops TVM fuses after a convolution (its epilogue), up to a quantize
_EPILOGUE = {"relax.add", "relax.subtract", "relax.multiply", "relax.divide", "relax.clip",
             "relax.maximum", "relax.minimum", "relax.nn.relu", "relax.where", "relax.call_tir"}


def _quantized(func):
    """The binding values whose result reaches a ``relax.quantize`` through
    epilogue ops only (TVM would fuse all of them into one kernel)."""
    from .qnn import _op_name
    var_of, readers = _bindings(func)

    def reaches(var, depth):
        for user in readers.get(var, ()):
            name = _op_name(user)
            if name == "relax.quantize" or (depth and name in _EPILOGUE and reaches(var_of[user], depth - 1)):
                return True
        return False
    return {value for value, var in var_of.items() if reaches(var, 6)}


def fold_depthwise(func):
    """The depthwise convolution + (batch norm | bias) + activation chains above
    as ``codegen_f32_depthwise`` calls; the longest chain first (hard-swish,
    relu, then the norm or bias alone), each intermediate used by the chain only.
    A bias (an ``add`` of a [1, C, 1, 1] constant) is what a graph has whose
    batch norm was folded before (onnxruntime's quantization pre-processing).
    A chain whose result is quantized (the last fp32 layer before int8 ones)
    stays TVM's: its kernel writes the int8 tensor, a library call would put
    the fp32 one in the arena (the int8 recognizer's peak: 1.47 -> 1.97 MB)."""
    from tvm.relax.dpl import is_const, is_op, is_tuple_get_item, rewrite_call, wildcard
    from .qnn import _value
    x, w = wildcard(), is_const()
    conv = is_op("relax.nn.conv2d")(x, w)
    g, b, mu, var, shift = is_const(), is_const(), is_const(), is_const(), is_const()
    norm = is_op("relax.nn.batch_norm")(conv, g, b, mu, var)
    bias = shift | is_op("relax.reshape")(shift, wildcard())  # the importer's Conv bias: reshaped
    bases = {"batch_norm": is_tuple_get_item(norm, 0),
             "bias": is_op("relax.add")(conv, bias) | is_op("relax.add")(bias, conv)}
    sixth, half = is_const(), is_const()

    def chains(y):
        scaled = is_op("relax.multiply")(sixth, y) | is_op("relax.multiply")(y, sixth)
        shifted = is_op("relax.add")(scaled, half) | is_op("relax.add")(half, scaled)
        clipped = is_op("relax.clip")(shifted, wildcard(), wildcard())
        return {"hardswish": (is_op("relax.multiply")(clipped, y) | is_op("relax.multiply")(y, clipped),
                              (scaled, shifted, clipped)),
                "relu": (is_op("relax.nn.relu")(y), ()), "none": (y, ())}

    def packed_weights(m, base, weight):
        if base == "batch_norm":
            if str(m[norm].attrs.axis) != "1":
                return None
            return fold_batch_norm(weight, *(_value(m[p]) for p in (g, b, mu, var)),
                                   eps=float(m[norm].attrs.epsilon))
        beta = _value(m[shift])
        out_shape = [int(d) for d in m[bias].ty.shape.values]
        if beta.dtype != np.float32 or beta.size != weight.shape[0] or out_shape != [1, weight.shape[0], 1, 1]:
            return None
        return pack_depthwise(weight, beta.ravel())

    def folded(expr, m, base, y, act, root, inner, users, quantized):
        attrs, data = m[conv].attrs, m[x]
        weight = _value(m[w])
        shape = [int(d) for d in data.ty.shape.values] if hasattr(data.ty, "shape") else []
        if (weight.dtype != np.float32 or str(data.ty.dtype) != "float32" or len(shape) != 4 or shape[0] != 1
                or weight.ndim != 4 or weight.shape[1] != 1 or int(attrs.groups) != shape[1]
                or weight.shape[0] != shape[1] or _ints(attrs.dilation) != [1, 1]
                or str(attrs.data_layout) != "NCHW" or str(attrs.kernel_layout) != "OIHW"):
            return expr
        c, _, kh, kw = weight.shape
        sy, sx = _ints(attrs.strides)
        pads = _ints(attrs.padding)
        k = kh
        if kh != kw or k % 2 == 0 or k > DEPTHWISE_MAX_KERNEL or sx not in (1, 2) or not 1 <= sy <= k:
            return expr
        # every intermediate is the chain's own (y: twice in hard-swish)
        wanted = [(m[conv], 1)] + ([(m[y], 2 if act == "hardswish" else 1)] if act != "none" else [])
        if act == "hardswish":
            scaled, shifted, clipped = inner
            if not (_is_scalar(m[sixth], 1.0 / 6) and _is_scalar(m[half], 0.5)):
                return expr
            lo, hi = m[clipped].args[1:]
            if float(lo.value) != 0 or float(hi.value) != 1:
                return expr
            wanted += [(m[p], 1) for p in inner]
        if any(users.get(e, 0) != n for e, n in wanted) or m[root] in quantized:
            return expr
        _, _, h, wd = shape
        oh = (h + pads[0] + pads[2] - k) // sy + 1
        ow = (wd + pads[1] + pads[3] - k) // sx + 1
        if k * depthwise_row_floats(ow, k, sx) > DEPTHWISE_RING_FLOATS or min(pads) < 0 \
                or max(pads[1], pads[3]) >= k or max(pads[0], pads[2]) >= k:
            return expr
        packed = packed_weights(m, base, weight)
        if packed is None:
            return expr
        return _call(DEPTHWISE, data, packed, [c, h, wd, k, sy, sx, pads[0], pads[1], oh, ow, ACTIVATIONS[act]],
                     [1, c, oh, ow])

    for base, y in bases.items():
        for act, (pattern, inner) in chains(y).items():
            users, quantized = _users(func), _quantized(func)
            func = rewrite_call(pattern, lambda expr, m, base=base, y=y, act=act, root=pattern, inner=inner,
                                users=users, quantized=quantized:
                                folded(expr, m, base, y, act, root, inner, users, quantized), func)
    return func


def fold(func):
    """The Relax function with the convolutions above as library calls."""
    from tvm.relax.dpl import is_const, is_op, rewrite_call, wildcard
    func = fold_depthwise(func)
    users = _users(func)

    x, w = wildcard(), is_const()
    conv = is_op("relax.nn.conv2d")(x, w)

    def on_conv(expr, m):
        attrs, data = m[conv].attrs, m[x]
        weight, shape = _float_batch1(data, m[w], attrs, "OIHW")
        if weight is None:
            return expr
        cout, cin, kh, kw = weight.shape
        k = kh
        pads = _ints(attrs.padding)
        strides = _ints(attrs.strides)
        if strides != [1, 1] and cin * kh * kw <= IM2COL_MAX_REDUCTION and cout % 4 == 0:
            _, _, h, wd = shape
            oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
            ow = (wd + pads[1] + pads[3] - kw) // strides[1] + 1
            if oh >= 2:
                return _call(IM2COL, data, pack_im2col(weight),
                             [cin, h, wd, cout, kh, kw, strides[0], strides[1], pads[0], pads[1], oh, ow],
                             [1, cout, oh, ow])
        if k == 1 and users.get(expr, 0) < 2:
            return expr  # fused with its epilogue: schedule rule 3e's micro-kernel
        if (kh != kw or k % 2 == 0 or not 1 <= k <= MAX_KERNEL or strides != [1, 1]
                or pads != [k // 2] * 4 or cout % 4 or shape[2] < 2):
            return expr
        _, _, h, wd = shape
        return _call(CONV, data, pack_conv(weight), [cin, h, wd, cout, k], [1, cout, h, wd])
    func = rewrite_call(conv, on_conv, func)

    x2, w2 = wildcard(), is_const()
    deconv = is_op("relax.nn.conv2d_transpose")(x2, w2)

    def on_deconv(expr, m):
        attrs, data = m[deconv].attrs, m[x2]
        weight, shape = _float_batch1(data, m[w2], attrs, "IOHW")
        if weight is None:
            return expr
        cin, cout, kh, kw = weight.shape
        if ((kh, kw) != (2, 2) or _ints(attrs.strides) != [2, 2] or _ints(attrs.padding) != [0] * 4
                or _ints(attrs.output_padding) != [0, 0] or cin != shape[1]):
            return expr
        _, _, h, wd = shape
        return _call(DECONV, data, pack_deconv(weight), [cin, h, wd, cout], [1, cout, 2 * h, 2 * wd])
    return rewrite_call(deconv, on_deconv, func)
