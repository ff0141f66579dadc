"""Checkpoint files: PaddleOCR's trio ``<name>.pdparams/.pdopt/.states``.

Saves are atomic at the directory level: the trio is written into
``<dir>.tmp`` and swapped in with renames, so a kill at any moment leaves
either the previous complete checkpoint or the new one, never a mix.  Loads
check that every parameter exists with the right shape and report one clear
ModelError for a corrupt file or a checkpoint of another network.
"""
import os
import pickle
import shutil

import paddle

from .errors import ModelError

NAME = "model"  # file stem inside a checkpoint directory


def files(ckpt_dir, name=NAME):
    return {ext: os.path.join(ckpt_dir, name + "." + ext) for ext in ("pdparams", "pdopt", "states")}


def save_dir(ckpt_dir, params, opt_state, states, name=NAME):
    """Write a checkpoint directory atomically (tmp dir + rename swap)."""
    ckpt_dir = os.path.abspath(ckpt_dir)
    tmp, old = ckpt_dir + ".tmp", ckpt_dir + ".old"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    f = files(tmp, name)
    paddle.save(params, f["pdparams"])
    if opt_state is not None:
        paddle.save(opt_state, f["pdopt"])
    with open(f["states"], "wb") as fh:
        pickle.dump(states, fh)
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(ckpt_dir):
        os.rename(ckpt_dir, old)
    os.rename(tmp, ckpt_dir)
    shutil.rmtree(old, ignore_errors=True)


def find_dir(ckpt_dir):
    """The complete checkpoint at ckpt_dir, or its previous version if a swap
    was interrupted between its two renames; None if there is none."""
    for d in (ckpt_dir, ckpt_dir + ".old"):
        if os.path.isfile(files(d)["states"]) and os.path.isfile(files(d)["pdparams"]):
            return d
    return None


def read_states(path):
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ModelError("corrupt checkpoint state %s: %s" % (path, exc))


def read_params(path):
    """Parameters dict from a .pdparams file (ModelError if unreadable)."""
    if not os.path.isfile(path):
        raise ModelError("checkpoint not found: %s" % path)
    try:
        params = paddle.load(path)
    except Exception as exc:  # paddle raises assorted types for a bad pickle
        raise ModelError("corrupt checkpoint %s: %s" % (path, exc))
    if not isinstance(params, dict) or not params:
        raise ModelError("corrupt checkpoint %s: no parameters inside" % path)
    return params


def load_into(model, path):
    """Load .pdparams into model, requiring an exact match of names and shapes."""
    params = read_params(path)
    own = model.state_dict()
    missing = [k for k in own if k not in params]
    extra = [k for k in params if k not in own]
    wrong = [(k, list(params[k].shape), list(v.shape)) for k, v in own.items()
             if k in params and list(params[k].shape) != list(v.shape)]
    if missing or wrong:
        detail = ("%d missing parameters (e.g. %s)" % (len(missing), missing[0]) if missing else
                  "shape mismatch at %s: checkpoint %s, model %s" % wrong[0])
        raise ModelError("checkpoint %s does not fit this network: %s%s" % (
            path, detail, "; %d unexpected parameters" % len(extra) if extra else ""))
    model.set_state_dict({k: params[k] for k in own})
    return params
