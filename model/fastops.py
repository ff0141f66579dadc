"""Faster CPU training kernels swapped into a PaddleOCR network.

Paddle 3.3's CPU depthwise convolution (forward and both gradients) runs at
about 0.5 GMAC/s: in a PP-OCRv3 training step it took 39% of the time for ~5%
of the multiply-adds, and hard_swish another 8% (measured with
paddle.profiler, batch 16, 32x320, one thread).  ``use_fast_kernels(net)``
routes every depthwise ``nn.Conv2D`` and every hard_swish (as an
``nn.Hardswish`` or fused into a ``BatchNorm(act="hard_swish")``) of ``net``
through ``PyLayer``s that call ``csrc/*.c`` (compiled with the host C compiler
into a temporary folder, loaded, deleted).  Tensors are passed to C by address.

Only the computation changes: parameters, their names and the exported model
are the stock layers' (export builds a fresh network), and the results agree
with Paddle's kernel to float rounding (tests/model/test_fastops.py).  Without
a C compiler the stock kernels stay and training is just slower.
"""
import ctypes
import os
import shutil
import subprocess
import tempfile
import types


CSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc")
SOURCES = [os.path.join(CSRC, name) for name in ("depthwise.c", "hardswish.c", "denormals.c")]
_SIGNATURES = {
    "depthwise_forward": [ctypes.c_void_p] * 3 + [ctypes.c_int] * 12,
    "depthwise_grad_input": [ctypes.c_void_p] * 3 + [ctypes.c_int] * 12,
    "depthwise_grad_weight": [ctypes.c_void_p] * 3 + [ctypes.c_int] * 12,
    "hardswish_forward": [ctypes.c_void_p] * 2 + [ctypes.c_long],
    "hardswish_grad": [ctypes.c_void_p] * 3 + [ctypes.c_long],
}
_lib = None


class CompileError(RuntimeError):
    pass


def load():
    """Compile and load csrc/*.c once per process; raises CompileError."""
    global _lib
    if _lib is not None:
        return _lib
    cc = os.environ.get("CC", "cc")
    tmp = tempfile.mkdtemp(prefix="fastops-")
    try:
        so = os.path.join(tmp, "fastops.so")
        base = [cc, "-std=c99", "-O3", "-fopenmp-simd", "-shared", "-fPIC"] + SOURCES + ["-o", so]
        errors = []
        # -march=native: this library lives only as long as this process, on this machine.
        for extra in (["-march=native"], []):
            try:
                run = subprocess.run(base[:1] + extra + base[1:], capture_output=True, text=True)
            except OSError as exc:
                raise CompileError("no C compiler (%s): %s" % (cc, exc))
            if run.returncode == 0:
                break
            errors.append(run.stderr.strip())
        else:
            raise CompileError("compiling %s failed: %s" % (" ".join(SOURCES), errors[-1]))
        lib = ctypes.CDLL(so)  # the mapping stays valid after the file is removed
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for name, argtypes in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, None
    lib.fastops_flush_denormals.argtypes, lib.fastops_flush_denormals.restype = [], ctypes.c_int
    _lib = lib
    return lib


def flush_denormals():
    """Flush denormal floats to zero in this thread (csrc/denormals.c: a training
    step from trained weights 3x faster on x86); True when set."""
    return bool(load().fastops_flush_denormals())


def _dense(t):
    """A float32 tensor whose memory is one dense block (the C code indexes it)."""
    import paddle
    if t.dtype != paddle.float32:
        t = t.astype("float32")
    return t if t.is_contiguous() else t.contiguous()


def output_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


def _geometry(x_shape, kernel, stride, pad):
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    return (n, c, h, w, kh, kw, sh, sw, ph, pw,
            output_size(h, kh, sh, ph), output_size(w, kw, sw, pw))


def _pylayers():
    from paddle.autograd import PyLayer
    import paddle

    class DepthwiseConv2D(PyLayer):
        @staticmethod
        def forward(ctx, x, weight, stride, pad):
            lib = load()
            x, weight = _dense(x), _dense(weight)
            g = _geometry(x.shape, weight.shape[2:], stride, pad)
            y = paddle.empty([g[0], g[1], g[10], g[11]], "float32")
            lib.depthwise_forward(x.data_ptr(), weight.data_ptr(), y.data_ptr(), *g)
            ctx.save_for_backward(x, weight)
            ctx.geometry = g
            # Paddle wants None for an input that does not need a gradient
            ctx.wanted = (not x.stop_gradient, not weight.stop_gradient)
            return y

        @staticmethod
        def backward(ctx, grad_y):
            lib = load()
            x, weight = ctx.saved_tensor()
            g, gy = ctx.geometry, _dense(grad_y)
            gx = gw = None
            if ctx.wanted[0]:
                gx = paddle.empty(x.shape, "float32")
                lib.depthwise_grad_input(gy.data_ptr(), weight.data_ptr(), gx.data_ptr(), *g)
            if ctx.wanted[1]:
                gw = paddle.empty(weight.shape, "float32")
                lib.depthwise_grad_weight(gy.data_ptr(), x.data_ptr(), gw.data_ptr(), *g)
            return gx, gw

    class HardSwish(PyLayer):
        @staticmethod
        def forward(ctx, x):
            x = _dense(x)
            y = paddle.empty(x.shape, "float32")
            load().hardswish_forward(x.data_ptr(), y.data_ptr(), x.size)
            ctx.save_for_backward(x)
            return y

        @staticmethod
        def backward(ctx, grad_y):
            (x,) = ctx.saved_tensor()
            gy = _dense(grad_y)
            gx = paddle.empty(x.shape, "float32")
            load().hardswish_grad(x.data_ptr(), gy.data_ptr(), gx.data_ptr(), x.size)
            return gx

    return DepthwiseConv2D, HardSwish


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def is_depthwise(layer):
    """A stock nn.Conv2D this module can replace: one filter per channel, NCHW,
    zero padding given as one number per axis, no dilation."""
    import paddle
    if not isinstance(layer, paddle.nn.Conv2D):
        return False
    pad = layer._padding
    simple_pad = isinstance(pad, int) or (isinstance(pad, (list, tuple)) and len(pad) == 2
                                          and all(isinstance(p, int) for p in pad))
    return (layer._groups > 1 and layer._groups == layer._in_channels == layer._out_channels
            and layer._data_format == "NCHW" and layer._padding_mode == "zeros" and simple_pad
            and tuple(_pair(layer._dilation)) == (1, 1))


def use_fast_kernels(net):
    """Route the depthwise convolutions and hard_swish activations of ``net``
    through csrc/*.c.  Returns {"depthwise": n, "hard_swish": m} (layers
    switched); raises CompileError if the kernels cannot be built."""
    import paddle
    load()
    depthwise, hardswish = _pylayers()

    def conv_forward(self, x):
        y = depthwise.apply(x, self.weight, _pair(self._stride), _pair(self._padding))
        if self.bias is not None:
            y = y + self.bias.reshape([1, -1, 1, 1])
        return y

    def batchnorm_then_hardswish(stock_forward):
        def forward(x):
            return hardswish.apply(stock_forward(x))
        return forward

    counts = {"depthwise": 0, "hard_swish": 0}
    for layer in net.sublayers(include_self=True):
        if is_depthwise(layer):
            layer.forward = types.MethodType(conv_forward, layer)
            counts["depthwise"] += 1
        elif isinstance(layer, paddle.nn.BatchNorm) and layer._act == "hard_swish":
            stock = layer.forward          # bound method: BatchNorm with act=None below
            layer._act = None
            layer.forward = batchnorm_then_hardswish(stock)
            counts["hard_swish"] += 1
        elif isinstance(layer, paddle.nn.Hardswish):
            layer.forward = hardswish.apply
            counts["hard_swish"] += 1
    return counts
