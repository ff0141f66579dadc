"""Post-training int8 quantization of a recognizer, with measured mixed precision.

``python -m codegen.quantize --model-dir DIR --calib LABELS [--calib LABELS ...] --out OUTDIR``

The quantizer is onnxruntime's ``quantize_static`` in QDQ form, on the very ONNX
graph codegen compiles (``frontend.load``: paddle2onnx, shapes pinned, constants
folded, checked against Paddle).  Why that one: its QDQ graph is the standard
exchange form (TVM 0.27's Relax importer reads QuantizeLinear/DequantizeLinear,
onnxruntime runs it as the int8 reference), it does per-channel weights,
percentile calibration and node selection.  Paddle's own post-training
quantization was not tried: it works on Paddle programs, and its result would
have to cross paddle2onnx a second time.

What it makes (measured on PaddleOCR's released en_PP-OCRv3, docs in codegen/README.md):
int8 weights per output channel (symmetric), int8 activations per tensor
(asymmetric), for every Conv, MatMul and Gemm; the other ops stay fp32 between
DequantizeLinear and QuantizeLinear.  Plain min/max calibration reads 22% of the
real validation crops (fp32 93%): a few channels of the early feature maps reach
20-60x the median channel's range, so one scale per tensor leaves the rest a
handful of levels.  Percentile calibration (99.99 by default) clips those
outliers; the layers that still lose too much stay fp32, chosen by measurement:

1. calibrate once (``--calib-count`` images drawn in turn from the ``--calib``
   label files), ranges cached for the steps below;
2. sensitivity: each layer quantized alone, the KL divergence of the network's
   output from fp32's on the first ``--sensitivity-count`` selection images;
3. selection: the fewest most-sensitive layers kept fp32 such that the
   selection images' word accuracy drops at most ``--max-drop`` below fp32's
   (binary search over that count, assuming more fp32 layers never read worse);
   selection images are the next ``--select-count`` images of the same label
   files, never the calibration ones;
4. the chosen model, its int8 convolutions' biases corrected layer by layer
   (``correct_biases``: each channel's mean error against fp32 on the first
   ``--bias-correction-count`` calibration images taken out), and
   (``--eval NAME=LABELS[:N]``) fp32 and int8 word/char accuracy and text
   agreement on held-out splits, in ``report.json``.

Outputs: ``model.qdq.onnx``, ``report.json`` (deterministic: no times).  User
errors are one ``quantize: error:`` line, exit 2, nothing left in OUTDIR.
"""
import json
import os

import numpy as np

from .errors import CodegenError, clear_outputs, run_step

OUTPUTS = ("model.qdq.onnx", "report.json")
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------
def interleaved_images(label_files):
    """[(path, label)] taking one image of each label file in turn (files given
    as 'PATH' or 'PATH:N' for its first N), so a count of them mixes the sources."""
    from model.labelfile import read_label_file
    from model.errors import ModelError
    lists = []
    for spec in label_files:
        path, limit = split_limit(spec)
        try:
            items = read_label_file(path)
        except ModelError as exc:
            raise CodegenError(str(exc))
        lists.append(items[:limit] if limit else items)
    out = []
    for i in range(max(len(items) for items in lists)):
        out += [items[i] for items in lists if i < len(items)]
    return out


def split_limit(spec):
    """'PATH:N' -> (PATH, N); 'PATH' -> (PATH, None)."""
    path, sep, count = spec.rpartition(":")
    if sep and count.isdigit() and path:
        return path, int(count)
    return spec, None


class Preprocessor:
    """Images as the model's input, as model.inference.Recognizer makes them, at
    ``shape`` (default: meta.json's input_shape)."""

    def __init__(self, model_dir, shape=None):
        from model.errors import ModelError
        from model.inference import describe
        try:
            self.meta, self.charset = describe(model_dir)
        except ModelError as exc:
            raise CodegenError(str(exc))
        self.shape = list(shape or self.meta["input_shape"])

    def __call__(self, path):
        from model.errors import ModelError
        from model.inference import model_input_of
        from model.preprocess import decode_image
        try:
            rgb = decode_image(path)
        except ModelError as exc:
            raise CodegenError("calibration/selection image: %s" % exc)
        return model_input_of(self.meta, rgb, self.shape[1:])[None]

    def text(self, probs):
        return self.charset.decode(probs.argmax(-1), probs.max(-1))[0]


# ---------------------------------------------------------------------------
# onnxruntime
# ---------------------------------------------------------------------------
def session(path_or_bytes):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # the same numbers on every machine and run
    so.log_severity_level = 3
    return ort.InferenceSession(path_or_bytes, so, providers=["CPUExecutionProvider"])


def run_all(path_or_bytes, input_name, batches):
    s = session(path_or_bytes)
    return [s.run(None, {input_name: x})[0][0] for x in batches]


def mean_kl(ref, out):
    """Mean over images and time steps of KL(ref || out) of softmax outputs."""
    total = 0.0
    for r, o in zip(ref, out):
        total += float((r * (np.log(r + 1e-9) - np.log(o + 1e-9))).sum(-1).mean())
    return total / max(1, len(ref))


class Quantizer:
    """onnxruntime quantize_static over one fp32 model, calibrated once."""

    def __init__(self, fp32_path, input_name, calib_batches, workdir, percentile):
        self.fp32_path, self.input_name = fp32_path, input_name
        self.calib_batches, self.percentile = calib_batches, percentile
        self.cache = os.path.join(workdir, "calibration.json")

    def _reader(self):
        from onnxruntime.quantization import CalibrationDataReader
        batches, name = self.calib_batches, self.input_name

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.it = iter(batches)

            def get_next(self):
                x = next(self.it, None)
                return None if x is None else {name: x}
        return Reader()

    def quantize(self, nodes, out_path):
        """A QDQ model with exactly ``nodes`` in int8 (at least one)."""
        import logging
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        if not nodes:
            raise ValueError("quantize() needs at least one node (an empty list means all to onnxruntime)")
        logging.getLogger().setLevel(logging.WARNING)
        quantize_static(self.fp32_path, out_path, self._reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        nodes_to_quantize=list(nodes), op_types_to_quantize=list(QUANTIZED_OPS),
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": self.percentile, "ActivationSymmetric": False,
                                       "WeightSymmetric": True},
                        calibration_cache_path=self.cache)
        return out_path


# ---------------------------------------------------------------------------
# Bias correction
# ---------------------------------------------------------------------------
def _with_outputs(model, names):
    """A copy of ``model`` that also outputs the tensors ``names``."""
    import onnx
    out = onnx.ModelProto()
    out.CopyFrom(model)
    have = {o.name for o in out.graph.output}
    out.graph.output.extend(onnx.helper.make_empty_tensor_value_info(t) for t in names if t not in have)
    return out


def channel_means(model, input_name, names, batches):
    """{tensor: its mean per channel (axis 1) over the images and positions}."""
    s = session(_with_outputs(model, names).SerializeToString())
    outs = [o.name for o in s.get_outputs()]
    sums = {t: 0.0 for t in names}
    for x in batches:
        got = dict(zip(outs, s.run(None, {input_name: x})))
        for t in names:
            v = got[t]
            sums[t] = sums[t] + v.reshape(v.shape[0], v.shape[1], -1).mean(axis=(0, 2), dtype=np.float64)
    return {t: sums[t] / max(1, len(batches)) for t in names}


def correct_biases(qdq_path, fp32_path, input_name, batches, log):
    """Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization"),
    in place on ``qdq_path``: layer by layer in graph order, every int8 Conv's
    int32 bias moves by the mean per output channel of its output's error
    against fp32 on ``batches``, measured with the corrections of the layers
    before it in place.  Quantizing the weights shifts each channel's mean
    (rounding does not average out over a 3x3 depthwise filter); the next
    layer's per-tensor activation scale then sees a biased input.
    -> [{layer, mean_abs_shift_before, after}] (after: re-measured)."""
    import onnx
    from onnx import numpy_helper
    fp32 = onnx.load(fp32_path)
    qdq = onnx.load(qdq_path)
    inits = {i.name: i for i in qdq.graph.initializer}
    producer = {o: n for n in qdq.graph.node for o in n.output}
    layers = []  # (node name, output tensor, bias initializer, bias scale)
    for n in qdq.graph.node:
        dq = producer.get(n.input[2]) if n.op_type == "Conv" and len(n.input) > 2 else None
        if dq is not None and dq.op_type == "DequantizeLinear" and dq.input[0] in inits:
            layers.append((n.name, n.output[0], inits[dq.input[0]],
                           numpy_helper.to_array(inits[dq.input[1]]).astype(np.float64)))
    tensors = [t for _, t, _, _ in layers]
    reference = channel_means(fp32, input_name, tensors, batches)
    shift = {t: m - reference[t] for t, m in channel_means(qdq, input_name, tensors[:1], batches).items()}
    done = []
    for i, (name, tensor, bias, scale) in enumerate(layers):
        before = shift[tensor]
        value = numpy_helper.to_array(bias).astype(np.int64) - np.round(before / scale).astype(np.int64)
        bias.CopyFrom(numpy_helper.from_array(np.clip(value, -2 ** 31, 2 ** 31 - 1).astype(np.int32), bias.name))
        # one run: this layer's shift after its correction, the next one's before its own
        shift = {t: m - reference[t] for t, m in channel_means(qdq, input_name, tensors[i:i + 2], batches).items()}
        done.append({"layer": name, "mean_abs_shift_before": float(np.abs(before).mean()),
                     "mean_abs_shift_after": float(np.abs(shift[tensor]).mean())})
        log("bias correction %2d/%d %-32s mean |shift| %.5f -> %.5f"
            % (len(done), len(layers), name, done[-1]["mean_abs_shift_before"], done[-1]["mean_abs_shift_after"]))
    onnx.save(qdq, qdq_path)
    return done


# ---------------------------------------------------------------------------
# The procedure
# ---------------------------------------------------------------------------
def prepare_fp32(model_dir, shape, path):
    """The ONNX graph codegen compiles, through onnxruntime's pre-processing
    (shape inference, MatMul + Add -> Gemm), written to ``path``."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from . import frontend
    model, name, shape, _pred = frontend.load(model_dir, shape)
    raw = path + ".raw.onnx"
    onnx.save(model, raw)
    quant_pre_process(raw, path, skip_symbolic_shape=True)
    os.remove(raw)
    return name, shape


def quantizable(path):
    import onnx
    return [n.name for n in onnx.load(path).graph.node if n.op_type in QUANTIZED_OPS]


def word_accuracy(outputs, labels, prep):
    return sum(prep.text(o) == l for o, l in zip(outputs, labels)) / max(1, len(labels))


def select_fp32_layers(order, evaluate, fp32_acc, max_drop, log):
    """Binary search for the fewest of ``order``'s first layers (most sensitive
    first) to keep fp32 so that evaluate(fp32_layers) >= fp32_acc - max_drop.
    Returns (count, {count: accuracy} of the counts tried)."""
    tried = {}

    def ok(k):
        if k not in tried:
            tried[k] = evaluate(order[:k])
            log("selection: %d layer(s) fp32 -> word accuracy %.4f (fp32 %.4f)" % (k, tried[k], fp32_acc))
        return tried[k] >= fp32_acc - max_drop - 1e-12
    if ok(0):
        return 0, tried
    lo, hi = 0, len(order) - 1  # ok(lo) false; hi: all but one layer fp32
    if not ok(hi):
        return None, tried
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi, tried


def run(model_dir, out_dir, calib, calib_count=200, select_count=300, sensitivity_count=64,
        max_drop=0.005, percentile=99.99, evals=(), shape=None, log=print, bias_correction_count=100):
    import tempfile
    from model.files import write_atomic
    prep = Preprocessor(model_dir, shape)
    held_out = {}  # checked before the half hour of work below
    for spec in evals:
        name, _, files = spec.partition("=")
        if not name or not files:
            raise CodegenError("--eval %r: expected NAME=LABELS[:N]" % spec)
        held_out[name] = interleaved_images([files])
    items = interleaved_images(calib)
    if calib_count < 1:
        raise CodegenError("calibration count must be at least 1")
    if len(items) < calib_count + 1:
        raise CodegenError("the calibration label files hold %d images: %d for calibration and "
                           "at least one for selection are needed" % (len(items), calib_count))
    calib_items = items[:calib_count]
    select_items = items[calib_count:calib_count + select_count]
    with tempfile.TemporaryDirectory(prefix="quantize-") as work:
        fp32_path = os.path.join(work, "fp32.onnx")
        input_name, _ = prepare_fp32(model_dir, prep.shape, fp32_path)
        calib_x = [prep(p) for p, _ in calib_items]
        select_x = [prep(p) for p, _ in select_items]
        select_labels = [l for _, l in select_items]
        q = Quantizer(fp32_path, input_name, calib_x, work, percentile)
        nodes = quantizable(fp32_path)
        log("quantize: %d layers (%s), %d calibration images, %d selection images"
            % (len(nodes), "/".join(QUANTIZED_OPS), len(calib_x), len(select_x)))
        ref = run_all(fp32_path, input_name, select_x)
        fp32_acc = word_accuracy(ref, select_labels, prep)
        probe = os.path.join(work, "probe.onnx")

        # Sensitivity: each layer int8 alone, the KL of the output from fp32's.  Ranking
        # by the gain of putting one layer back to fp32 with all the others int8 was
        # tried too and chose worse layers (real val 0.8725 against 0.9102, see
        # codegen/README.md): with every layer int8 the gains are noise-level and often
        # negative.
        sens_x, sens_ref = select_x[:sensitivity_count], ref[:sensitivity_count]
        sensitivity = {}
        for i, node in enumerate(nodes):
            q.quantize([node], probe)
            sensitivity[node] = mean_kl(sens_ref, run_all(probe, input_name, sens_x))
            log("sensitivity %2d/%d %-40s KL %.5f" % (i + 1, len(nodes), node, sensitivity[node]))
        order = sorted(nodes, key=lambda n: (-sensitivity[n], nodes.index(n)))

        def evaluate(fp32_layers):
            keep = set(fp32_layers)
            q.quantize([n for n in nodes if n not in keep], probe)
            return word_accuracy(run_all(probe, input_name, select_x), select_labels, prep)
        count, tried = select_fp32_layers(order, evaluate, fp32_acc, max_drop, log)
        met = count is not None
        if not met:
            count = len(order) - 1
            log("quantize: warning: even with %d of %d layers fp32 the selection images read "
                "more than %.1f points below fp32; keeping that model" % (count, len(order), 100 * max_drop))
        fp32_layers = order[:count]
        int8_layers = [n for n in nodes if n not in set(fp32_layers)]
        qdq_path = os.path.join(work, "model.qdq.onnx")
        q.quantize(int8_layers, qdq_path)
        corrected = correct_biases(qdq_path, fp32_path, input_name, calib_x[:bias_correction_count], log) \
            if bias_correction_count > 0 else []
        if corrected:
            log("bias correction: %d int8 convolutions on %d calibration images: selection images read %.4f"
                % (len(corrected), min(bias_correction_count, len(calib_x)),
                   word_accuracy(run_all(qdq_path, input_name, select_x), select_labels, prep)))

        evaluations = {}
        for name, ev in held_out.items():
            ev_x = [prep(p) for p, _ in ev]
            labels = [l for _, l in ev]
            evaluations[name] = compare(run_all(fp32_path, input_name, ev_x),
                                        run_all(qdq_path, input_name, ev_x), labels, prep)
            log("eval %s: %d images, word accuracy fp32 %.4f, int8 %.4f, same text %.4f"
                % (name, len(labels), evaluations[name]["fp32"]["word_acc"],
                   evaluations[name]["int8"]["word_acc"], evaluations[name]["same_text"]))

        report = {
            "quantizer": "onnxruntime %s quantize_static, QDQ" % _ort_version(),
            "weights": "int8, symmetric, per output channel",
            "activations": "int8, asymmetric, per tensor",
            "calibration": {"method": "percentile", "percentile": percentile, "count": len(calib_x),
                            "sources": [_recorded(s) for s in calib]},
            "selection": {"count": len(select_x), "sensitivity_count": len(sens_x),
                          "max_drop": max_drop, "fp32_word_acc": fp32_acc,
                          "tried": {str(k): v for k, v in sorted(tried.items())}, "met": met},
            "layers": [{"name": n, "kl_int8_alone": sensitivity[n],
                        "precision": "fp32" if n in set(fp32_layers) else "int8"} for n in nodes],
            "int8_layers": len(int8_layers), "fp32_layers": fp32_layers,
            "bias_correction": {"images": min(bias_correction_count, len(calib_x)) if corrected else 0,
                                "layers": corrected},
            "evaluations": evaluations,
            "model_bytes": os.path.getsize(qdq_path),
        }
        with open(qdq_path, "rb") as f:
            qdq = f.read()
    from model.errors import check_not_interrupted
    check_not_interrupted()
    os.makedirs(out_dir, exist_ok=True)
    write_atomic(os.path.join(out_dir, "model.qdq.onnx"), qdq)
    write_atomic(os.path.join(out_dir, "report.json"),
                 (json.dumps(report, indent=1, sort_keys=True) + "\n").encode())
    return report


def compare(ref, out, labels, prep):
    from model.metrics import misread_kinds, score
    ref_text = [prep.text(o) for o in ref]
    out_text = [prep.text(o) for o in out]
    return {"count": len(labels),
            "fp32": dict(score(ref_text, labels), misreads=misread_kinds(ref_text, labels)),
            "int8": dict(score(out_text, labels), misreads=misread_kinds(out_text, labels)),
            "same_text": sum(a == b for a, b in zip(ref_text, out_text)) / max(1, len(labels)),
            "different": [[t, a, b] for t, a, b in zip(labels, ref_text, out_text) if a != b][:50]}


def _ort_version():
    import onnxruntime
    return onnxruntime.__version__


def _recorded(spec):
    from model.labelfile import recorded_path
    path, limit = split_limit(spec)
    return recorded_path(path) + (":%d" % limit if limit else "")


def main(argv=None):
    import argparse
    import sys
    from model.errors import guard_signals
    guard_signals()
    ap = argparse.ArgumentParser(prog="python -m codegen.quantize", description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--calib", action="append", required=True, metavar="LABELS[:N]",
                    help="label file(s) of calibration and selection images (images taken in turn)")
    ap.add_argument("--calib-count", type=int, default=200)
    ap.add_argument("--select-count", type=int, default=300)
    ap.add_argument("--sensitivity-count", type=int, default=64)
    ap.add_argument("--max-drop", type=float, default=0.005,
                    help="word accuracy the selection images may lose (fraction, default 0.005)")
    ap.add_argument("--percentile", type=float, default=99.99)
    ap.add_argument("--bias-correction-count", type=int, default=100,
                    help="calibration images for the bias correction of the int8 convolutions (0: none)")
    ap.add_argument("--eval", action="append", default=[], metavar="NAME=LABELS[:N]")
    ap.add_argument("--input-shape", default=None)
    args = ap.parse_args(argv)
    clear_outputs(args.out, OUTPUTS)

    def quantize_model():
        guard_signals(paddle=True)  # paddle2onnx reads the model with Paddle: its handlers, then ours
        from . import frontend
        from .errors import stdout_to_stderr
        with stdout_to_stderr():
            shape = frontend.parse_shape(args.input_shape) if args.input_shape else None
            return run(args.model_dir, args.out, args.calib, args.calib_count, args.select_count,
                       args.sensitivity_count, args.max_drop, args.percentile, args.eval, shape,
                       log=lambda m: print(m, file=sys.stderr, flush=True),
                       bias_correction_count=args.bias_correction_count)
    rc, report = run_step("quantize", args.out, OUTPUTS, quantize_model)
    if rc:
        return rc
    print("quantize: %d layers int8, %d fp32 (%s); %s" % (
        report["int8_layers"], len(report["fp32_layers"]), ", ".join(report["fp32_layers"]) or "none",
        "; ".join("%s int8 %.4f vs fp32 %.4f" % (k, v["int8"]["word_acc"], v["fp32"]["word_acc"])
                  for k, v in sorted(report["evaluations"].items())) or "no --eval"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
