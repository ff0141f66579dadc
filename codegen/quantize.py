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
   output from fp32's on the first ``--sensitivity-count`` images of the first
   selection source (reported per layer; the candidate order with
   ``--order sensitivity``);
3. selection: the fewest candidates kept fp32 such that every selection source
   (``--select NAME=LABELS[:N]``, its calibration images left out; without
   one, the calibration files' next ``--select-count`` images) reads at most
   its ``--max-drop [NAME=]F`` below fp32.  Candidates (``--order graph``, the
   default): the first layers in graph order, so the model has one fp32 ->
   int8 boundary and the early feature maps, which per-tensor int8 loses, stay
   float.  A linear scan from none upward: accuracy is not monotonic in the
   count (real val with the first 6, 7, 8, 9 layers fp32: 0.9102, 0.9156,
   0.9246, 0.9174), so a binary search can skip the first count that passes.
   The SConstruct selects on the project's validation splits (rendered val
   within 0.5 points, real val within 1 point: issue 17's targets), the way
   checkpoints are selected on them; the rendered test split stays held out;
4. bias correction of the chosen model's int8 convolutions, layer by layer
   (``correct_biases``: each channel's mean error against fp32 on the first
   ``--bias-correction-count`` calibration images taken out), kept only when
   the selection sources read better with it (``--bias-correction auto``;
   measured: a gain for some fp32 sets, a loss for others), and
   (``--eval NAME=LABELS[:N]``) fp32 and int8 word/char accuracy and text
   agreement on the evaluation splits, in ``report.json``.

Outputs: ``model.qdq.onnx``, ``report.json`` (deterministic: no times).  User
errors are one ``quantize: error:`` line, exit 2, nothing left in OUTDIR.
"""
import json
import os

import numpy as np

from .errors import CodegenError, clear_outputs, run_step

OUTPUTS = ("model.qdq.onnx", "report.json")
QUANTIZED_OPS = ("Conv", "MatMul", "Gemm")
DEFAULT_MAX_DROP = 0.005  # word accuracy a selection source may lose, unless told otherwise


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


def drop_margin(acc, fp32_acc, max_drop):
    """The smallest slack over the selection sources: acc[s] - (fp32_acc[s] -
    max_drop[s]); >= 0 when every source is within its allowed drop."""
    return min(acc[s] - fp32_acc[s] + max_drop[s] for s in fp32_acc)


def select_fp32_layers(order, evaluate, fp32_acc, max_drop, log):
    """The fewest of ``order``'s first layers to keep fp32 so that every
    selection source reads within its allowed drop: evaluate(fp32_layers) ->
    {source: word accuracy}, fp32_acc and max_drop {source: fraction}.  A
    linear scan from 0 up, because accuracy is not monotonic in the count
    (measured on the released recognizer: with the first 8 layers fp32 real
    val reads 0.9246, with 9 0.9174).  Returns (count or None when even all
    but one layer fp32 fails, {count: {source: accuracy}} of the counts tried)."""
    tried = {}
    for k in range(len(order)):
        tried[k] = evaluate(order[:k])
        margin = drop_margin(tried[k], fp32_acc, max_drop)
        log("selection: %d layer(s) fp32 -> %s (margin %+.4f)" % (
            k, ", ".join("%s %.4f (fp32 %.4f)" % (n, tried[k][n], fp32_acc[n]) for n in sorted(fp32_acc)),
            margin))
        if margin >= -1e-12:
            return k, tried
    return None, tried


def _named_label_files(specs, flag):
    """['NAME=LABELS[:N]', ...] -> {NAME: 'LABELS[:N]'}, in the order given."""
    out = {}
    for spec in specs:
        name, _, files = spec.partition("=")
        if not name or not files or name in out:
            raise CodegenError("%s %r: expected NAME=LABELS[:N], each NAME once" % (flag, spec))
        out[name] = files
    return out


def drops_for(sources, max_drop):
    """{source: allowed drop}: max_drop a fraction for all, or a {NAME: fraction}
    whose key "" (or missing names) falls back to DEFAULT_MAX_DROP."""
    if not isinstance(max_drop, dict):
        return {s: float(max_drop) for s in sources}
    unknown = sorted(set(max_drop) - set(sources) - {""})
    if unknown:
        raise CodegenError("--max-drop for %s: no such selection source (have %s)"
                           % (", ".join(unknown), ", ".join(sources)))
    return {s: float(max_drop.get(s, max_drop.get("", DEFAULT_MAX_DROP))) for s in sources}


ORDERS = ("graph", "sensitivity")


def run(model_dir, out_dir, calib, calib_count=200, select_count=300, sensitivity_count=64,
        max_drop=DEFAULT_MAX_DROP, percentile=99.99, evals=(), shape=None, log=print, bias_correction_count=100,
        select=(), order="graph", bias_correction="auto"):
    import shutil
    import tempfile
    from model.files import write_atomic
    if order not in ORDERS:
        raise CodegenError("selection order %r: expected one of %s" % (order, ", ".join(ORDERS)))
    prep = Preprocessor(model_dir, shape)
    held_out = {name: interleaved_images([files])  # checked before the half hour of work below
                for name, files in _named_label_files(evals, "--eval").items()}
    items = interleaved_images(calib)
    if calib_count < 1:
        raise CodegenError("calibration count must be at least 1")
    if len(items) < calib_count + (0 if select else 1):
        raise CodegenError("the calibration label files hold %d images: %d for calibration%s are needed"
                           % (len(items), calib_count, "" if select else " and at least one for selection"))
    calib_items = items[:calib_count]
    # Selection sources: the named label files (their images that calibration did not
    # take), or else the calibration files' next select_count images, as one source.
    taken = {p for p, _ in calib_items}
    sources = {name: [it for it in interleaved_images([files]) if it[0] not in taken]
               for name, files in _named_label_files(select, "--select").items()}
    if not sources:
        sources = {"calibration files": items[calib_count:calib_count + select_count]}
    empty = [name for name, its in sources.items() if not its]
    if empty:
        raise CodegenError("no selection images left in %s once the %d calibration images are taken "
                           "out" % (", ".join(empty), calib_count))
    drops = drops_for(list(sources), max_drop)
    with tempfile.TemporaryDirectory(prefix="quantize-") as work:
        fp32_path = os.path.join(work, "fp32.onnx")
        input_name, _ = prepare_fp32(model_dir, prep.shape, fp32_path)
        calib_x = [prep(p) for p, _ in calib_items]
        select_x = {name: [prep(p) for p, _ in its] for name, its in sources.items()}
        select_labels = {name: [l for _, l in its] for name, its in sources.items()}
        q = Quantizer(fp32_path, input_name, calib_x, work, percentile)
        nodes = quantizable(fp32_path)
        log("quantize: %d layers (%s), %d calibration images, selection images: %s"
            % (len(nodes), "/".join(QUANTIZED_OPS), len(calib_x),
               ", ".join("%s %d" % (n, len(x)) for n, x in select_x.items())))
        ref = {name: run_all(fp32_path, input_name, x) for name, x in select_x.items()}

        def accuracy(path):
            return {name: word_accuracy(run_all(path, input_name, x), select_labels[name], prep)
                    for name, x in select_x.items()}
        fp32_acc = {name: word_accuracy(ref[name], select_labels[name], prep) for name in select_x}
        probe = os.path.join(work, "probe.onnx")

        # Sensitivity: each layer int8 alone, the KL of the output from fp32's (first
        # source's first images).  Reported for every layer; it orders the candidates
        # with order="sensitivity".  Ranking by the gain of putting one layer back to
        # fp32 with all the others int8 was tried too and chose worse layers (real val
        # 0.8725 against 0.9102, see codegen/README.md).
        first = next(iter(select_x))
        sens_x, sens_ref = select_x[first][:sensitivity_count], ref[first][:sensitivity_count]
        sensitivity = {}
        for i, node in enumerate(nodes):
            q.quantize([node], probe)
            sensitivity[node] = mean_kl(sens_ref, run_all(probe, input_name, sens_x))
            log("sensitivity %2d/%d %-40s KL %.5f" % (i + 1, len(nodes), node, sensitivity[node]))
        # graph: the first layers in graph order stay fp32 (one fp32 -> int8 boundary;
        # the early feature maps are what per-tensor int8 loses, see the module doc)
        candidates = list(nodes) if order == "graph" else \
            sorted(nodes, key=lambda n: (-sensitivity[n], nodes.index(n)))

        def evaluate(fp32_layers):
            keep = set(fp32_layers)
            q.quantize([n for n in nodes if n not in keep], probe)
            return accuracy(probe)
        count, tried = select_fp32_layers(candidates, evaluate, fp32_acc, drops, log)
        met = count is not None
        if not met:
            count = len(candidates) - 1  # the scan's last count: in tried already
            log("quantize: warning: even with %d of %d layers fp32 a selection source reads more "
                "than its allowed drop below fp32; keeping that model" % (count, len(candidates)))
        fp32_layers = candidates[:count]
        int8_layers = [n for n in nodes if n not in set(fp32_layers)]
        qdq_path = os.path.join(work, "model.qdq.onnx")
        q.quantize(int8_layers, qdq_path)
        # Bias correction, kept only where it leaves the selection sources better off
        # (measured: a gain for some fp32 sets, a loss for others; codegen/README.md).
        bias = {"images": 0, "layers": [], "kept": False, "selection": tried[count]}
        if bias_correction_count > 0:
            corrected_path = os.path.join(work, "corrected.onnx")
            shutil.copyfile(qdq_path, corrected_path)
            layers = correct_biases(corrected_path, fp32_path, input_name, calib_x[:bias_correction_count], log)
            if layers:
                corrected_acc = accuracy(corrected_path)
                keep = bias_correction == "always" or \
                    drop_margin(corrected_acc, fp32_acc, drops) > drop_margin(tried[count], fp32_acc, drops)
                bias = {"images": min(bias_correction_count, len(calib_x)), "layers": layers, "kept": keep,
                        "selection": corrected_acc if keep else tried[count],
                        "selection_corrected": corrected_acc, "selection_uncorrected": tried[count]}
                log("bias correction: %d int8 convolutions on %d calibration images: selection %s -> %s"
                    % (len(layers), bias["images"],
                       ", ".join("%s %.4f" % kv for kv in sorted(tried[count].items())),
                       ", ".join("%s %.4f" % kv for kv in sorted(corrected_acc.items())))
                    + ("; kept" if keep else "; not kept (the uncorrected model reads better)"))
                if keep:
                    shutil.copyfile(corrected_path, qdq_path)

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
            "selection": {"order": order, "sources": {n: len(x) for n, x in select_x.items()},
                          "sensitivity_count": len(sens_x), "max_drop": drops, "fp32_word_acc": fp32_acc,
                          "tried": {str(k): v for k, v in sorted(tried.items())}, "met": met},
            "layers": [{"name": n, "kl_int8_alone": sensitivity[n],
                        "precision": "fp32" if n in set(fp32_layers) else "int8"} for n in nodes],
            "int8_layers": len(int8_layers), "fp32_layers": fp32_layers,
            "bias_correction": bias,
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


def parse_max_drop(values):
    """['0.005', 'real_val=0.01'] -> {"": 0.005, "real_val": 0.01}."""
    out = {"": DEFAULT_MAX_DROP}
    for value in values:
        name, sep, number = value.rpartition("=")
        try:
            drop = float(number)
        except ValueError:
            drop = -1.0
        if not 0.0 <= drop <= 1.0:
            raise CodegenError("--max-drop %r: expected [NAME=]FRACTION in [0, 1]" % value)
        out[name if sep else ""] = drop
    return out


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
    ap.add_argument("--select", action="append", default=[], metavar="NAME=LABELS[:N]",
                    help="a selection source (repeatable; its calibration images left out); default: "
                         "the calibration files' next --select-count images")
    ap.add_argument("--max-drop", action="append", default=[], metavar="[NAME=]FRACTION",
                    help="word accuracy a selection source may lose against fp32 (default %s; "
                         "NAME= for one source)" % DEFAULT_MAX_DROP)
    ap.add_argument("--order", choices=ORDERS, default="graph",
                    help="candidates kept fp32: the first layers in graph order, or the most "
                         "sensitive ones (KL of each layer int8 alone)")
    ap.add_argument("--percentile", type=float, default=99.99)
    ap.add_argument("--bias-correction-count", type=int, default=100,
                    help="calibration images for the bias correction of the int8 convolutions (0: none)")
    ap.add_argument("--bias-correction", choices=("auto", "always"), default="auto",
                    help="keep the corrected model only when the selection sources read better "
                         "(auto), or always")
    ap.add_argument("--eval", action="append", default=[], metavar="NAME=LABELS[:N]")
    ap.add_argument("--input-shape", default=None)
    args = ap.parse_args(argv)
    clear_outputs(args.out, OUTPUTS)
    try:
        max_drop = parse_max_drop(args.max_drop)
    except CodegenError as exc:
        print("quantize: error: %s" % exc, file=sys.stderr)
        return 2

    def quantize_model():
        guard_signals(paddle=True)  # paddle2onnx reads the model with Paddle: its handlers, then ours
        from . import frontend
        from .errors import stdout_to_stderr
        with stdout_to_stderr():
            shape = frontend.parse_shape(args.input_shape) if args.input_shape else None
            return run(args.model_dir, args.out, args.calib, args.calib_count, args.select_count,
                       args.sensitivity_count, max_drop, args.percentile, args.eval, shape,
                       log=lambda m: print(m, file=sys.stderr, flush=True),
                       bias_correction_count=args.bias_correction_count, select=args.select,
                       order=args.order, bias_correction=args.bias_correction)
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
