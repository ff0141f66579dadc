"""Read a PaddleOCR recognition yml and build its pieces with PaddleOCR's code.

The yml is a standard PaddleOCR config (Global/Architecture/Loss/Optimizer/
PostProcess), so a user's own PaddleOCR config can be dropped in
(bring-your-own).  Everything that can be wrong with one is checked here and
reported as a single ModelError: unknown architecture names, a dictionary whose
size does not match the head, a malformed image shape.
"""
import copy
import hashlib
import json
import os

import yaml

from . import ppocr_path
from .charset import Charset
from .errors import ModelError


# PaddleOCR's text-recognition algorithms (tools/program.py's list, recognition
# entries): ``Architecture.algorithm`` must name one, as PaddleOCR's own tools require.
REC_ALGORITHMS = ("Rosetta", "CRNN", "STARNet", "RARE", "SRN", "NRTR", "SAR", "SEED", "SVTR",
                  "SVTR_LCNet", "ViTSTR", "ABINet", "SPIN", "VisionLAN", "RobustScanner", "RFL",
                  "CAN", "SATRN", "SVTR_HGNet", "ParseQ", "CPPD")


def config_hash(cfg):
    """Stable hash of the parsed config (key order and comments do not matter)."""
    blob = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def resolve_dict_path(path, yml_dir):
    """PaddleOCR configs name dictionaries relative to the PaddleOCR checkout
    (``ppocr/utils/en_dict.txt``); try that, then the yml's folder, then cwd."""
    if os.path.isabs(path):
        return path
    for base in (ppocr_path.package_dir(), yml_dir, os.getcwd()):
        cand = os.path.join(base, path)
        if os.path.isfile(cand):
            return cand
    raise ModelError("dictionary %s not found (looked under the ppocr package, "
                     "%s and the current directory)" % (path, yml_dir))


class RecConfig:
    """A parsed, validated recognition config."""

    def __init__(self, path, overrides=None):
        self.path = path
        try:
            with open(path, encoding="utf-8") as f:
                cfg = yaml.safe_load(f)
        except OSError as exc:
            raise ModelError("cannot read config %s: %s" % (path, exc))
        except yaml.YAMLError as exc:
            raise ModelError("config %s is not valid YAML: %s" % (path, exc))
        if not isinstance(cfg, dict) or "Architecture" not in cfg or "Global" not in cfg:
            raise ModelError("config %s needs Global and Architecture sections" % path)
        for key, value in (overrides or {}).items():  # "Global.image_shape" -> value
            node = cfg
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        self.raw = cfg
        g = cfg["Global"]
        arch = cfg["Architecture"]
        if arch.get("model_type", "rec") != "rec":
            raise ModelError("config %s: only recognition models (model_type: rec) are "
                             "supported, not %r" % (path, arch.get("model_type")))
        if arch.get("algorithm") not in REC_ALGORITHMS:
            raise ModelError("config %s: Architecture.algorithm %r is not a PaddleOCR recognition "
                             "algorithm (one of %s)" % (path, arch.get("algorithm"), ", ".join(REC_ALGORITHMS)))
        shape = g.get("image_shape", [3, 48, 320])
        if (not isinstance(shape, list) or len(shape) != 3 or shape[0] != 3
                or not all(isinstance(v, int) and v > 0 for v in shape)):
            raise ModelError("config %s: Global.image_shape must be [3, H, W], got %r"
                             % (path, shape))
        if shape[1] % 16 or shape[2] % 8:
            raise ModelError("config %s: image height must be a multiple of 16 and "
                             "width of 8, got %r" % (path, shape))
        self.image_shape = list(shape)
        # Not a PaddleOCR key: PaddleOCR decodes with cv2 and trains on BGR, which is
        # the default; a config of a model trained on RGB planes says so here.
        self.channel_order = g.get("channel_order", "BGR")
        if self.channel_order not in ("BGR", "RGB"):
            raise ModelError("config %s: Global.channel_order must be BGR or RGB, got %r"
                             % (path, self.channel_order))
        self.use_space_char = bool(g.get("use_space_char", True))
        self.max_text_length = int(g.get("max_text_length", 25))
        self.dict_path = resolve_dict_path(g.get("character_dict_path", "ppocr/utils/en_dict.txt"),
                                           os.path.dirname(os.path.abspath(path)))
        self.charset = Charset.from_file(self.dict_path, self.use_space_char)
        head = arch.get("Head") or {}
        if head.get("name") != "CTCHead":
            raise ModelError("config %s: only a CTCHead recognizer is supported, got Head %r"
                             % (path, head.get("name")))
        out = head.get("out_channels")
        if out is not None:
            self.charset.check_head(int(out), "config %s: Head" % path)
        self.hash = config_hash(cfg)

    def arch_dict(self):
        arch = copy.deepcopy(self.raw["Architecture"])
        arch["Head"]["out_channels"] = self.charset.num_classes
        return arch

    def build_model(self):
        """The dynamic-graph network, via ppocr's build_model."""
        ppocr_path.ensure()
        from ppocr.modeling.architectures import build_model
        arch = self.arch_dict()
        try:
            return build_model(arch)
        except (AssertionError, KeyError, TypeError, AttributeError) as exc:
            names = {k: (arch.get(k) or {}).get("name") for k in ("Transform", "Backbone", "Neck", "Head")}
            raise ModelError("config %s: cannot build architecture %s: %s"
                             % (self.path, {k: v for k, v in names.items() if v}, exc))

    def build_loss(self):
        ppocr_path.ensure()
        from ppocr.losses import build_loss
        loss_cfg = copy.deepcopy(self.raw.get("Loss") or {"name": "CTCLoss"})
        if loss_cfg.get("name") != "CTCLoss":
            raise ModelError("config %s: only CTCLoss is supported, got %r"
                             % (self.path, loss_cfg.get("name")))
        return build_loss(loss_cfg)

    def build_decoder(self):
        """PaddleOCR's CTCLabelDecode for this dictionary."""
        CTCLabelDecode = ppocr_path.rec_postprocess().CTCLabelDecode
        return CTCLabelDecode(self.dict_path, self.use_space_char)

    def build_optimizer(self, model, total_steps, warmup_steps=None, lr_scale=1.0):
        """Adam + cosine LR with linear warmup, through ppocr's build_optimizer.
        PaddleOCR counts in epochs; with on-the-fly data we set one 'epoch' to
        one step so the schedule is exact in steps.  ``lr_scale`` multiplies
        the config's peak learning rate (a training-phase setting, like the
        step count; the config and its hash stay as they are)."""
        ppocr_path.ensure()
        from ppocr.optimizer import build_optimizer
        opt_cfg = copy.deepcopy(self.raw["Optimizer"])
        if warmup_steps is not None:
            opt_cfg["lr"]["warmup_epoch"] = warmup_steps
        opt_cfg["lr"]["learning_rate"] = float(opt_cfg["lr"]["learning_rate"]) * lr_scale
        return build_optimizer(opt_cfg, epochs=total_steps, step_each_epoch=1, model=model)
