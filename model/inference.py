"""Running an inference model directory on the host: the project's Paddle reference.

An inference model directory (docs/architecture.md: ``inference.json`` or
``.pdmodel`` + ``.pdiparams``, ``dict.txt``, ``meta.json``) read with Paddle
Inference on the CPU.  ``Recognizer`` applies PaddleOCR's preprocessing
(model.preprocess, in the model's channel order) and a greedy CTC decode
(collapse repeats, drop blanks; score = mean probability of the kept steps, as
PaddleOCR's CTCLabelDecode), to images decoded exactly as the device's image
blob is made (model.preprocess.decode_image), so it is the reference the
firmware is compared with.  Used by export checks, evaluation (model.evaluate),
publishing and the host reference CLI (host.predict).
"""
import json
import os

import numpy as np

from .errors import ModelError


def create_predictor(model_file, params_file, threads=1):
    """A CPU paddle.inference predictor (legacy .pdmodel or PIR .json)."""
    import paddle.inference as pi
    cfg = pi.Config(model_file, params_file)
    cfg.disable_gpu()
    cfg.set_cpu_math_library_num_threads(threads)
    cfg.disable_glog_info()
    try:
        return pi.create_predictor(cfg)
    except Exception as exc:
        raise ModelError("cannot load inference model %s: %s" % (model_file, exc))


def run_predictor(predictor, batch):
    h = predictor.get_input_handle(predictor.get_input_names()[0])
    h.reshape(list(batch.shape))
    h.copy_from_cpu(np.ascontiguousarray(batch, np.float32))
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


def model_file(model_dir):
    for name in ("inference.json", "inference.pdmodel"):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            return path
    raise ModelError("%s has no inference.json or inference.pdmodel" % model_dir)


def describe(model_dir):
    """(meta.json's dict, the Charset of dict.txt) of an inference model
    directory, checked against each other (ModelError otherwise)."""
    from .charset import Charset
    meta_path = os.path.join(model_dir, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelError("cannot read %s: %s" % (meta_path, exc))
    shape = meta.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 4 and shape[1] == 3):
        raise ModelError("%s: input_shape must be [1, 3, H, W], got %r" % (meta_path, shape))
    charset = Charset.from_file(os.path.join(model_dir, "dict.txt"), bool(meta.get("use_space_char", True)))
    charset.check_head(int(meta["num_classes"]), meta_path)
    return meta, charset


def model_input_of(meta, rgb, image_shape=None):
    """An RGB uint8 image as the input of the model meta.json describes."""
    from .preprocess import model_input
    return model_input(rgb, image_shape or meta["input_shape"][1:], meta.get("channel_order", "RGB"),
                       meta.get("mean", (0.5,) * 3), meta.get("std", (0.5,) * 3))


class Recognizer:
    """A loaded inference model directory."""

    def __init__(self, model_dir):
        self.model_dir = model_dir
        self.meta, self.charset = describe(model_dir)
        self.image_shape = self.meta["input_shape"][1:]
        self.channel_order = self.meta.get("channel_order", "RGB")
        self.load_network()

    def load_network(self):
        """The network that maps a batch of inputs to probabilities (Paddle
        Inference here; host.predict's onnxruntime variant overrides it)."""
        graph = model_file(self.model_dir)
        self.predictor = create_predictor(graph, os.path.join(self.model_dir, "inference.pdiparams"))

    def run_network(self, batch):
        return run_predictor(self.predictor, batch)

    def preprocess(self, rgb):
        return model_input_of(self.meta, rgb, self.image_shape)

    def probabilities(self, rgb):
        """[T, classes] softmax output for one RGB uint8 image."""
        out = self.run_network(self.preprocess(rgb)[None])[0]
        if out.shape[-1] != self.charset.num_classes:
            raise ModelError("model outputs %d classes, dict.txt gives %d"
                             % (out.shape[-1], self.charset.num_classes))
        return out

    def read(self, rgb):
        """(text, score) for one RGB uint8 image."""
        probs = self.probabilities(rgb)
        return self.charset.decode(probs.argmax(-1), probs.max(-1))

    def read_file(self, path):
        from .preprocess import decode_image
        return self.read(decode_image(path))


def read_labels(path):
    """[(image path, label)] of a PaddleOCR label file (ModelError if empty)."""
    from .labelfile import read_label_file
    return read_label_file(path)
