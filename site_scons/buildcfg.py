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


def _path_or_empty(key, raw):
    return os.path.expanduser(raw) if raw else ""


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
    "cache_dir": ("build", _path_or_empty),
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


OPTION_CHECKS = {
    "app": lambda key, raw, cwd: _word(key, raw),
    "image": _existing("file"),
    "model": _one_of("ppocrv3_en", "ppocrv4"),
    "train": _flag,
    "profile": _one_of("smoke", "full"),
    "train_nproc": _int_range(1, 64),
    "config": _existing("file"),
    "checkpoint": _existing("file"),
    "model_dir": _existing("folder"),
    "dict": _existing("file"),
    "channel_order": _one_of("RGB", "BGR"),
    "backend": _one_of("llvm-mve", "c"),
    "schedule": _one_of("best", "stock"),
    "test_images": _int_range(1, 2000),
    "test_shards": _int_range(1, 64),
    "min_accuracy": _fraction_or_empty,
}


def options(defaults, arguments, cwd):
    """The graph options: ``defaults`` with ``arguments`` applied, each checked.
    Relative paths given on the command line are relative to ``cwd`` (where the
    user ran ./scons); the defaults are relative to the repository."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = {}
    for key, default in defaults.items():
        given = key in arguments
        check = OPTION_CHECKS[key]
        result[key] = check(key, arguments[key] if given else default, cwd if given else root)
    if bool(result["config"]) != bool(result["checkpoint"]):
        raise ConfigError("config= and checkpoint= go together (your PaddleOCR yml and its .pdparams)")
    if result["model_dir"] and not result["dict"]:
        raise ConfigError("model_dir= needs dict= (the dictionary the model was trained with)")
    return result
