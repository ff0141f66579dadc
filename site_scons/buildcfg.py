"""toolchain.cfg and command-line options, validated before the graph is built.

SCons-free so it can be unit-tested alone. ``load()`` merges the INI file with
``key=value`` command-line arguments (keys are unique across sections, so the
bare key names a setting) and returns a flat, typed ``dict``. Anything wrong is
a ``ConfigError`` whose message is one line a user can act on.
"""
import configparser
import os
import re
import shlex


class ConfigError(Exception):
    """A setting is unknown or has a value that cannot work."""


def _choice(*allowed):
    def check(key, raw):
        if raw not in allowed:
            raise ConfigError("%s=%s: must be one of %s" % (key, raw, ", ".join(allowed)))
        return raw
    return check


def _positive_int(key, raw):
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError("%s=%s: must be a whole number of seconds" % (key, raw)) from None
    if value <= 0:
        raise ConfigError("%s=%s: must be greater than zero" % (key, raw))
    return value


def _opt_level(key, raw):
    if not re.fullmatch(r"-O[0123sgz]|-Ofast", raw):
        raise ConfigError("%s=%s: must be a gcc optimisation flag such as -O2 or -O3" % (key, raw))
    return raw


def _cpu(key, raw):
    if not re.fullmatch(r"cortex-m55", raw):
        raise ConfigError("%s=%s: only cortex-m55 (the Corstone-300's CPU) is supported" % (key, raw))
    return raw


def _word(key, raw):
    if not raw or any(c.isspace() for c in raw):
        raise ConfigError("%s=%r: must be a single non-empty word or path" % (key, raw))
    return raw


def _flags(key, raw):
    try:
        return shlex.split(raw)
    except ValueError as err:
        raise ConfigError("%s=%s: cannot split into arguments (%s)" % (key, raw, err)) from None


def _cache_dir(key, raw):
    """Empty (no cache), or a folder SCons can write to: made here if missing
    (SCons would make it too, with a traceback when it cannot)."""
    if not raw:
        return ""
    path = os.path.abspath(os.path.expanduser(raw))
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test-%d" % os.getpid())
        open(probe, "w").close()
        os.remove(probe)
    except OSError as err:
        raise ConfigError("%s=%s: not a folder this user can write to (%s)"
                          % (key, raw, err.strerror or err)) from None
    return path


# key -> (section, validator). The section only says where the key lives in the file.
SCHEMA = {
    "gcc_prefix": ("toolchain", _word),
    "cpu": ("toolchain", _cpu),
    "float_abi": ("toolchain", _choice("hard", "softfp")),
    "opt_level": ("toolchain", _opt_level),
    "simulator": ("simulator", _choice("qemu", "fvp")),
    "timeout": ("simulator", _positive_int),
    "qemu_binary": ("qemu", _word),
    "qemu_machine": ("qemu", _choice("mps3-an547")),
    "qemu_flags": ("qemu", _flags),
    "fvp_binary": ("fvp", _word),
    "fvp_flags": ("fvp", _flags),
    "cache_dir": ("build", _cache_dir),
}


def read_file(path):
    """The file's settings as {key: raw string}; unknown sections or keys are errors."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise ConfigError("%s: file not found" % path) from None
    except configparser.Error as err:
        raise ConfigError("%s: %s" % (path, str(err).splitlines()[0])) from None
    raw = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            if key not in SCHEMA:
                raise ConfigError("%s: unknown key '%s' in [%s] (known: %s)"
                                  % (path, key, section, ", ".join(sorted(SCHEMA))))
            if SCHEMA[key][0] != section:
                raise ConfigError("%s: key '%s' belongs in [%s], not [%s]"
                                  % (path, key, SCHEMA[key][0], section))
            raw[key] = value.strip()
    missing = sorted(set(SCHEMA) - set(raw))
    if missing:
        raise ConfigError("%s: missing keys: %s" % (path, ", ".join(missing)))
    return raw


def load(path, overrides, extra_keys=()):
    """Settings from ``path`` with command-line ``overrides`` applied.

    ``extra_keys`` are command-line options that are not toolchain settings
    (``image``, ``model`` ...); they pass through untouched, anything else that
    is not in the schema is an error.
    """
    raw = read_file(path)
    for key, value in overrides.items():
        if key in SCHEMA:
            raw[key] = value
        elif key not in extra_keys:
            known = sorted(set(SCHEMA) | set(extra_keys))
            raise ConfigError("unknown option '%s=%s' (known: %s)" % (key, value, ", ".join(known)))
    return {key: SCHEMA[key][1](key, raw[key]) for key in SCHEMA}


# Checks of the graph options (not toolchain settings): key -> validator(key, raw, cwd).
def _int_range(low, high):
    def check(key, raw, cwd):
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError("%s=%s: must be a whole number" % (key, raw)) from None
        if not low <= value <= high:
            raise ConfigError("%s=%s: must be between %d and %d" % (key, raw, low, high))
        return value
    return check


def _flag(key, raw, cwd):
    if raw not in ("0", "1"):
        raise ConfigError("%s=%s: must be 0 or 1" % (key, raw))
    return raw == "1"


def _one_of(*allowed):
    def check(key, raw, cwd):
        return _choice(*allowed)(key, raw)
    return check


def _existing(kind):
    """A file or folder the user names, relative to where they ran ./scons."""
    def check(key, raw, cwd):
        if not raw:
            return ""
        path = os.path.normpath(os.path.join(cwd, os.path.expanduser(raw)))
        ok = os.path.isdir(path) if kind == "folder" else os.path.isfile(path)
        if not ok:
            raise ConfigError("%s=%s: no such %s" % (key, raw, kind))
        return path
    return check


def _fraction_or_empty(key, raw, cwd):
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError("%s=%s: must be a number between 0 and 1" % (key, raw)) from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError("%s=%s: must be a number between 0 and 1" % (key, raw))
    return value


def _existing_path(key, raw, cwd):
    """A file or a folder (real_data=: a folder with labels.tsv, or a label file)."""
    if not raw:
        return ""
    path = os.path.normpath(os.path.join(cwd, os.path.expanduser(raw)))
    if not os.path.exists(path):
        raise ConfigError("%s=%s: no such file or folder" % (key, raw))
    return path


def _val_rule(key, raw, cwd):
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, value = part.partition("=")
        if not (sep and name and re.fullmatch(r"all|\d+|\d*\.\d+", value)):
            raise ConfigError("%s=%s: expected SOURCE=all|COUNT|FRACTION,... (e.g. svt=all,iiit5k=300,*=0.1)"
                              % (key, raw))
    return raw


DETECTORS = ("ppocrv3_en", "ppocrv3_ch")  # model/detector.py RELEASED


def _detector(key, raw, cwd):
    """A released detector's name, or the path of your own ONNX file."""
    if raw in DETECTORS:
        return raw
    if raw.endswith(".onnx"):
        return _existing("file")(key, raw, cwd)
    raise ConfigError("%s=%s: must be one of %s or a .onnx file" % (key, raw, ", ".join(DETECTORS)))


def _det_input(key, raw, cwd):
    m = re.fullmatch(r"(\d+)x(\d+)", raw)
    if not m or any(int(v) % 32 or not 32 <= int(v) <= 2048 for v in m.groups()):
        raise ConfigError("%s=%s: must be HxW, both multiples of 32 between 32 and 2048 (e.g. 480x640)"
                          % (key, raw))
    return int(m.group(1)), int(m.group(2))


# The graph options, in the order `./scons --help` lists them:
# key -> (default, validator(key, raw, cwd), help). Defaults are relative to the repository.
GRAPH_OPTIONS = {
    "image": ("host/samples/word_116.png", _existing("file"),
              "the image `deploy` reads (PNG/JPEG, any size; default: the learning path's ICDAR 2015 crop)"),
    "model": ("ppocrv3_en", _one_of("ppocrv3_en", "ppocrv3_en_released", "ppocrv4"),
              "ppocrv3_en: the committed checkpoint; ppocrv3_en_released: PaddleOCR's released "
              "en_PP-OCRv3 (the learning path's model); ppocrv4: PaddleOCR's ch_PP-OCRv4"),
    "app": ("ocr", lambda key, raw, cwd: _word(key, raw),
            "firmware app `deploy` runs (ocr, platform_check, fault_demo, hang_demo)"),
    "backend": ("llvm-mve", _one_of("llvm-mve", "c"), "TVM's LLVM with Helium kernels, or portable C"),
    "schedule": ("best", _one_of("best", "stock"), "the project's schedules, or TVM's legalized TIR as is"),
    "train": ("0", _flag, "1: train the project's config here (profile=) instead of the committed checkpoint"),
    "profile": ("smoke", _one_of("smoke", "full", "finetune", "adapt"),
                "training profile with train=1 (adapt: from the released weights, needs real_data=)"),
    "train_nproc": ("1", _int_range(1, 64), "data-parallel training processes"),
    "real_data": ("", _existing_path,
                  "real photographed crops: a folder with labels.tsv/label.txt or a PaddleOCR label "
                  "file (default: ../shared/data/real_train when it is there)"),
    "real_val": ("svt=all,iiit5k=300,*=0.1", _val_rule,
                 "which real crops are validation, per source (file-name prefix)"),
    "config": ("", _existing("file"), "your PaddleOCR recognition yml (with checkpoint=)"),
    "checkpoint": ("", _existing("file"), "your .pdparams checkpoint (with config=)"),
    "model_dir": ("", _existing("folder"), "your exported inference model folder (with dict=)"),
    "dict": ("", _existing("file"), "the dictionary of model_dir="),
    "channel_order": ("BGR", _one_of("RGB", "BGR"), "the channel order model_dir= was trained on"),
    "test_images": ("100", _int_range(1, 2000), "rendered test images `test` runs on the device"),
    "real_test_images": ("100", _int_range(1, 2000), "real validation crops `test` runs on the device"),
    "test_shards": ("2", _int_range(1, 64), "simulator runs in parallel for a device test or eval"),
    "min_accuracy": ("", _fraction_or_empty,
                     "device word-accuracy threshold (default: from the model's metrics.json)"),
    "labels": ("", lambda key, raw, cwd: _label_file(key, _existing("file")(key, raw, cwd)),
               "`eval`: the PaddleOCR label file whose images to read"),
    "eval_images": ("0", _int_range(0, 65535), "`eval`: at most this many images (0: all)"),
    "precision": ("fp32", _one_of("fp32", "int8"),
                  "fp32, or int8: the quantized model of `quantize` (integer kernels for its int8 layers)"),
    "memory": ("ddr", _one_of("ddr", "onchip"),
               "ddr, or onchip: weights and images in the QSPI flash, arena in the SSE-300 SRAM, "
               "nothing in DDR (int8 models; the link says what does not fit)"),
    "pipeline": ("word", _one_of("word", "ocr"),
                 "word: the recognizer on a cropped word (the learning path); ocr: whole images, "
                 "text detection + recognition on the device (app scene)"),
    "det_model": ("ppocrv3_en", _detector, "pipeline=ocr: the DB text detector (ppocrv3_en, ppocrv3_ch: "
                  "PaddleOCR's released PP-OCRv3 detectors; or your own .onnx file)"),
    "det_input": ("480x640", _det_input, "pipeline=ocr: the detector's input HxW (multiples of 32); "
                  "the image is resized into it keeping its aspect ratio, and padded"),
    "box_limit": ("32", _int_range(1, 64), "pipeline=ocr: text boxes read per image (the rest are counted)"),
    "scene_test_images": ("4", _int_range(0, 500),
                          "rendered scenes `test` reads whole on the device (detector + recognizer) "
                          "against the host reference and the ground truth (0: none)"),
    "quant_images": ("200", _int_range(1, 5000),
                     "`quantize`: calibration images (rendered val and real train crops, in turn)"),
}
TARGETS = {
    "deploy": "build what changed and read image= on the simulated Cortex-M55",
    "test": "unit and graph tests, then the device tests (rendered test split, real crops)",
    "test-device": "the device tests alone",
    "eval": "read the images of labels= on the device and on the host: build/eval/<name>/",
    "bench": "per-kernel instruction counts of the stock and the project's schedules: build/bench/",
    "train": "with train=1: stop after training",
    "quantize": "int8 QDQ model (onnxruntime PTQ, layers kept fp32 by measurement) and its accuracy: build/quant/<model>/",
}


def count_labels(path):
    """How many entries a label file has (non-empty lines)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if line.strip())


def _label_file(key, path):
    if path:
        try:
            count = count_labels(path)
        except OSError as err:
            raise ConfigError("%s=%s: %s" % (key, path, err.strerror or err)) from None
        if not count:
            raise ConfigError("%s=%s: the label file has no entries" % (key, path))
    return path


def eval_name(labels_path):
    """build/eval/<name>: the label file's folder, and its stem unless it is a generic one."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(labels_path))) or "labels"
    stem = os.path.splitext(os.path.basename(labels_path))[0]
    return folder if stem in ("label", "labels", "rec_gt") else "%s-%s" % (folder, stem)


def help_text(settings_path):
    """`./scons --help`: targets, graph options and toolchain settings, from the
    tables that validate them."""
    lines = ["Targets:"] + ["  %-13s %s" % (k, v) for k, v in TARGETS.items()]
    lines += ["", "Options (key=value; defaults in brackets):"]
    for key, (default, _check, text) in GRAPH_OPTIONS.items():
        lines.append("  %-17s %s%s" % (key, text, " [%s]" % default if default else ""))
    lines += ["", "Toolchain and simulator settings (%s; key=value overrides):" % settings_path,
              "  " + ", ".join(sorted(SCHEMA)), "",
              "  --verbose          full command lines instead of progress lines"]
    return "\n".join(lines) + "\n"


def options(arguments, cwd):
    """The graph options with ``arguments`` applied, each checked.  Relative paths
    given on the command line are relative to ``cwd`` (where the user ran
    ./scons); the defaults are relative to the repository."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = {}
    for key, (default, check, _help) in GRAPH_OPTIONS.items():
        given = key in arguments
        if given and arguments[key] == "" and default:
            raise ConfigError("%s= is empty (default: %s)" % (key, default))
        result[key] = check(key, arguments[key] if given else default, cwd if given else root)
    if bool(result["config"]) != bool(result["checkpoint"]):
        raise ConfigError("config= and checkpoint= go together (your PaddleOCR yml and its .pdparams)")
    if result["model_dir"] and not result["dict"]:
        raise ConfigError("model_dir= needs dict= (the dictionary the model was trained with)")
    if result["test_shards"] > result["test_images"]:
        raise ConfigError("test_shards=%d is more than test_images=%d: every shard needs an image"
                          % (result["test_shards"], result["test_images"]))
    return result
