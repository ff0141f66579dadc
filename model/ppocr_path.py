"""The one place that makes PaddleOCR's ``ppocr`` package importable.

PaddleOCR's training code (``ppocr.modeling``, ``ppocr.losses``) is not in any
``paddleocr`` wheel; the Apache-2.0 fork ``unstructured-paddleocr==2.10.0``
ships the whole tree as ``unstructured_paddleocr/ppocr`` but its modules import
``ppocr.`` as a *top-level* package.  We therefore put that package directory
on ``sys.path`` here, found with ``importlib.util.find_spec`` (the package is
installed ``--no-deps`` so importing its ``__init__`` would drag in unused
dependencies).  Every module that needs ``ppocr`` calls :func:`ensure`.
"""
import functools
import importlib.util
import os
import sys

CARRIER = "unstructured_paddleocr"


@functools.lru_cache(maxsize=1)
def package_dir():
    """Directory that contains ``ppocr/`` (without importing the carrier).

    Cached: once that directory is on ``sys.path``, ``find_spec`` would find
    the carrier's own ``unstructured_paddleocr.py`` module inside it instead."""
    spec = importlib.util.find_spec(CARRIER)
    if spec is not None and spec.submodule_search_locations:
        root = list(spec.submodule_search_locations)[0]
    elif spec is not None and spec.origin:
        root = os.path.dirname(spec.origin)
    else:
        root = ""
    if not os.path.isdir(os.path.join(root, "ppocr", "modeling")):
        raise ImportError(
            "PaddleOCR's ppocr training code is missing: install "
            "'unstructured-paddleocr==2.10.0' with --no-deps (see requirements.lock)")
    return root


def ensure():
    """Make ``import ppocr`` work; returns the directory that holds ``ppocr``."""
    root = package_dir()
    if root not in sys.path:
        sys.path.insert(0, root)
    return root


def en_dict_path():
    """PaddleOCR's English dictionary (95 characters, the last one a space)."""
    return os.path.join(package_dir(), "ppocr", "utils", "en_dict.txt")


def load_file(relpath):
    """One file of the PaddleOCR tree (e.g. ``ppocr/postprocess/db_postprocess.py``,
    ``tools/infer/utility.py``) loaded as a module on its own, once: the
    package ``__init__`` files import every algorithm PaddleOCR has, with
    dependencies (skimage...) this project does not install."""
    name = "ppocr_file_" + os.path.splitext(relpath)[0].replace("/", "_")
    if name in sys.modules:
        return sys.modules[name]
    ensure()  # the file's own imports of ppocr.* modules
    spec = importlib.util.spec_from_file_location(name, os.path.join(package_dir(), relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def rec_postprocess():
    """``ppocr/postprocess/rec_postprocess.py`` (the CTC decoder needs only numpy
    and paddle)."""
    return load_file("ppocr/postprocess/rec_postprocess.py")


def db_postprocess():
    """``ppocr/postprocess/db_postprocess.py`` (DBPostProcess: cv2, pyclipper, shapely)."""
    return load_file("ppocr/postprocess/db_postprocess.py")
