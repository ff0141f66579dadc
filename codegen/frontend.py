"""Paddle inference model -> static-shape ONNX model.

Why these steps:
* Paddle loads the model first (``paddle.inference``) so a corrupt or
  mismatched ``.pdmodel``/``.json`` + ``.pdiparams`` pair fails with a clear
  message here instead of as an obscure converter crash.
* paddle2onnx 2.1 swallows its own exceptions and, when asked to save a file,
  runs polygraphy which pip-installs packages. We call it without ``save_file``
  (no optimizer/auto-install path at all) and turn a missing result into an error.
* paddle2onnx can mistranslate silently (2.1 exports leaky_relu with slope
  0 or garbage: repaired from inference.json), so the converted graph is run once with
  onnxruntime against Paddle before anything is compiled.
* Paddle exports compute Reshape targets at run time (Shape -> Slice -> Concat
  -> Reshape, e.g. ch_PP-OCRv4). Relax's ONNX importer needs them constant, so
  we pin the input shape and fold every node whose inputs are all known, using
  ONNX's reference evaluator, until nothing changes.
"""
import contextlib
import io
import json
import logging
import os
import sys

import numpy as np

from .errors import CodegenError

# Ops that are folded when all of their inputs are known. Float compute ops on
# weights (e.g. a Transpose of a constant) are folded too: TVM would fold them
# anyway, and this keeps the graph Relax sees free of run-time shape math.
_MAX_FOLD_ELEMENTS = 1 << 22


def find_model_files(model_dir):
    """Return (model_file, params_file) following the inference-model contract."""
    if not os.path.isdir(model_dir):
        raise CodegenError("model directory %s does not exist" % model_dir)
    params = os.path.join(model_dir, "inference.pdiparams")
    for name in ("inference.json", "inference.pdmodel"):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            if not os.path.isfile(params):
                raise CodegenError("%s has %s but no inference.pdiparams" % (model_dir, name))
            return path, params
    raise CodegenError("%s has neither inference.json nor inference.pdmodel" % model_dir)


def validate_paddle(model_file, params_file):
    """Load the pair with Paddle inference; raise CodegenError if it cannot."""
    import paddle.inference as pi
    cfg = pi.Config(model_file, params_file)
    cfg.disable_glog_info()
    cfg.switch_ir_optim(False)
    # Even without IR optimization Paddle 3.3's PIR predictor runs oneDNN fusion
    # patterns, and one of them segfaults on a dilated conv + BN + leaky_relu;
    # the plain CPU kernels are the reference we want anyway.
    cfg.disable_onednn()
    try:
        pred = pi.create_predictor(cfg)
    except Exception as err:  # paddle raises RuntimeError/ValueError/...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CodegenError("cannot load %s with %s (corrupt file or params that do not "
                           "belong to this model): %s"
                           % (os.path.basename(model_file), os.path.basename(params_file),
                              first)) from None
    if len(pred.get_input_names()) != 1 or len(pred.get_output_names()) != 1:
        raise CodegenError("only single-input single-output models are supported "
                           "(inputs %s, outputs %s)"
                           % (pred.get_input_names(), pred.get_output_names()))
    return pred


@contextlib.contextmanager
def _native_stdout_silenced():
    """paddle2onnx's C++ side prints progress to fd 1; its errors come through
    Python logging (captured above), so the progress lines can go."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def paddle_to_onnx(model_file, params_file, opset=13):
    """Run paddle2onnx in-process without its optimizer/auto-install path."""
    os.environ["POLYGRAPHY_AUTOINSTALL_DEPS"] = "0"
    import onnx
    import paddle2onnx
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with _native_stdout_silenced():
            blob = paddle2onnx.export(model_file, params_file, None, opset_version=opset,
                                      auto_upgrade_opset=True, enable_onnx_checker=True,
                                      enable_optimize=True)
    except (UnboundLocalError, NameError):
        blob = None  # paddle2onnx logged the real error and fell through
    finally:
        root.removeHandler(handler)
    if not blob:
        reason = [l for l in log.getvalue().splitlines() if "Failed" in l or "rror" in l]
        raise CodegenError("paddle2onnx could not convert %s: %s"
                           % (os.path.basename(model_file),
                              reason[0] if reason else "see paddle2onnx output above"))
    return onnx.load_from_string(blob)


def parse_shape(text):
    try:
        dims = [int(s) for s in str(text).split(",")]
    except ValueError:
        dims = []
    if not dims or any(d <= 0 for d in dims):
        raise CodegenError("bad input shape %r: give positive integers like "
                           "input_shape=1,3,32,320" % (text,))
    return dims


def meta_input_shape(model_dir):
    """input_shape from the model directory's meta.json (the inference-model
    contract), or None when there is no such file or key."""
    path = os.path.join(model_dir, "meta.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            shape = json.load(f).get("input_shape")
    except (OSError, ValueError) as err:
        raise CodegenError("cannot read %s: %s" % (path, err)) from None
    return parse_shape(",".join(str(d) for d in shape)) if shape else None


def pin_input_shape(model, shape):
    """Write the fixed input shape into the graph; check it against known dims."""
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    inp = inputs[0]
    dims = inp.type.tensor_type.shape.dim
    known = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    if shape is None:
        if any(k is None for k in known):
            raise CodegenError(
                "input %r has a dynamic shape %s: give the shape to compile for, e.g. "
                "--input-shape 1,3,32,320 (SCons: input_shape=1,3,32,320)"
                % (inp.name, [k if k is not None else "?" for k in known]))
        shape = known
    if len(shape) != len(known) or any(k is not None and k != s for k, s in zip(known, shape)):
        raise CodegenError("input shape %s does not fit the model's input %r %s"
                           % (",".join(map(str, shape)), inp.name,
                              [k if k is not None else "?" for k in known]))
    for d, s in zip(dims, shape):
        d.Clear()
        d.dim_value = s
    for out in model.graph.output:  # let shape inference recompute them
        out.type.tensor_type.ClearField("shape")
    return inp.name, list(shape)


def _static_shapes(model):
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + \
            list(inferred.graph.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shapes[vi.name] = [d.dim_value for d in tt.shape.dim]
    return shapes


def fold_constants(model):
    """Replace every node computable from constants and static shapes by an
    initializer. Returns the number of nodes folded."""
    import onnx
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    total = 0
    while True:
        shapes = _static_shapes(model)
        known = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        keep, folded = [], 0
        for node in model.graph.node:
            if node.op_type == "Constant":
                tmp = onnx.helper.make_graph([node], "c", [], [onnx.helper.make_tensor_value_info(
                    node.output[0], onnx.TensorProto.UNDEFINED, None)])
                value = ReferenceEvaluator(onnx.helper.make_model(
                    tmp, opset_imports=model.opset_import)).run(None, {})[0]
                known[node.output[0]] = np.asarray(value)
                folded += 1
                continue
            if node.op_type == "Shape" and node.input[0] in shapes and len(node.attribute) == 0:
                known[node.output[0]] = np.array(shapes[node.input[0]], dtype=np.int64)
                folded += 1
                continue
            ins = [n for n in node.input if n]
            if ins and all(n in known for n in ins) and \
                    all(known[n].size <= _MAX_FOLD_ELEMENTS for n in ins):
                try:
                    sub = onnx.helper.make_graph(
                        [node], "f",
                        [onnx.helper.make_tensor_value_info(
                            n, onnx.helper.np_dtype_to_tensor_dtype(known[n].dtype), known[n].shape)
                         for n in dict.fromkeys(ins)],
                        [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
                         for o in node.output])
                    outs = ReferenceEvaluator(onnx.helper.make_model(
                        sub, opset_imports=model.opset_import)).run(
                        None, {n: known[n] for n in dict.fromkeys(ins)})
                except Exception:
                    keep.append(node)
                    continue
                for o, v in zip(node.output, outs):
                    known[o] = np.asarray(v)
                folded += 1
                continue
            keep.append(node)
        if folded == 0:
            break
        total += folded
        used = {n for node in keep for n in node.input} | {o.name for o in model.graph.output}
        del model.graph.node[:]
        model.graph.node.extend(keep)
        del model.graph.initializer[:]
        model.graph.initializer.extend(
            numpy_helper.from_array(np.ascontiguousarray(v), name)
            for name, v in sorted(known.items()) if name in used)
    model.graph.ClearField("value_info")
    return total


CONVERSION_TOLERANCE = 1e-4


def square_pows(model):
    """Pow(x, 2) (layer norm's variance) -> Mul(x, x): TVM would call powf per
    element on the device. Returns the number of nodes rewritten."""
    from onnx import numpy_helper
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    count = 0
    for node in model.graph.node:
        if node.op_type == "Pow" and node.input[1] in consts and \
                consts[node.input[1]].size == 1 and float(consts[node.input[1]].ravel()[0]) == 2.0:
            node.op_type = "Mul"
            node.input[1] = node.input[0]
            count += 1
    if count:
        used = {n for node in model.graph.node for n in node.input}
        keep = [t for t in model.graph.initializer if t.name in used]
        del model.graph.initializer[:]
        model.graph.initializer.extend(keep)
    return count


def _pir_attribute_values(program_json, op_suffix, attr):
    """Values of one attribute of every op named *op_suffix, in program order,
    read from a PIR inference.json."""
    values = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("#", "")).endswith(op_suffix):
                for a in node.get("A", []):
                    if isinstance(a, dict) and a.get("N") == attr:
                        values.append(a.get("AT", {}).get("D"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(program_json)
    return values


def repair_leaky_relu(model, model_file):
    """paddle2onnx 2.1 reads PIR's float64 ``negative_slope`` as a float32,
    exporting leaky_relu(x, a) as LeakyRelu(alpha=<0 or garbage, varying from
    run to run>). Put the slopes back from
    inference.json when the ops pair up one to one (program order); the
    conversion check afterwards confirms the result. Returns nodes repaired."""
    nodes = [n for n in model.graph.node if n.op_type == "LeakyRelu"]
    if not nodes or not model_file.endswith(".json"):
        return 0
    with open(model_file) as f:
        slopes = _pir_attribute_values(json.load(f), ".leaky_relu", "negative_slope")
    if len(slopes) != len(nodes) or any(not isinstance(v, (int, float)) for v in slopes):
        return 0
    repaired = 0
    for node, slope in zip(nodes, slopes):
        for a in node.attribute:
            if a.name == "alpha" and a.f != float(np.float32(slope)):
                a.f = float(slope)
                repaired += 1
    return repaired


def _suspects(model):
    """Known paddle2onnx 2.1 mistranslations, as hints for the error line."""
    hints = []
    for node in model.graph.node:
        if node.op_type == "LeakyRelu":
            alpha = [a.f for a in node.attribute if a.name == "alpha"]
            hints.append("LeakyRelu node %r has alpha %g (paddle2onnx 2.1 misreads "
                         "leaky_relu's negative_slope)" % (node.name, alpha[0] if alpha else 0))
    return hints


def verify_conversion(model, in_name, shape, pred, seed=0):
    """Run the ONNX graph (onnxruntime) and Paddle on one seeded input and fail
    if they disagree: a converter bug must not turn into silently wrong C."""
    import onnxruntime as ort
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(np.float32)
    handle = pred.get_input_handle(pred.get_input_names()[0])
    handle.reshape(list(shape))
    handle.copy_from_cpu(x)
    pred.run()
    ref = pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {in_name: x})[0]
    if got.shape != ref.shape:
        raise CodegenError("paddle2onnx's graph gives output shape %s, Paddle %s"
                           % (list(got.shape), list(ref.shape)))
    diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    if not diff <= CONVERSION_TOLERANCE:
        hints = _suspects(model)
        raise CodegenError("paddle2onnx's ONNX graph disagrees with Paddle inference (max abs "
                           "diff %.3g on a random input)%s" % (
                               diff, ": " + "; ".join(hints) if hints else
                               ": an operator was mistranslated by the converter"))
    return diff


def load_onnx(path, input_shape=None):
    """An ONNX file the project made (codegen.quantize's QDQ model: static
    shapes already) -> (ModelProto, input name, shape, None)."""
    import onnx
    try:
        model = onnx.load(path)
    except Exception as exc:
        raise CodegenError("cannot read ONNX model %s: %s" % (path, str(exc).splitlines()[0]))
    name, shape = pin_input_shape(model, input_shape)
    return model, name, shape, None


def load(model_dir, input_shape=None):
    """model_dir -> (onnx ModelProto with static shapes, input name, shape, paddle predictor)."""
    model_file, params_file = find_model_files(model_dir)
    pred = validate_paddle(model_file, params_file)
    model = paddle_to_onnx(model_file, params_file)
    repair_leaky_relu(model, model_file)
    name, shape = pin_input_shape(model, input_shape)
    fold_constants(model)
    square_pows(model)
    verify_conversion(model, name, shape, pred)
    return model, name, shape, pred
