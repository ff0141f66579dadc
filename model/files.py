"""Writing outputs so that nothing half-written ever looks finished.

Every step assembles its output folder under a temporary name unique to the
process (``<out>.tmp<pid>``, so two builds cannot trip over each other's
leftovers) and swaps it into place with renames at the very end: a failure,
Ctrl-C or kill leaves either the previous complete folder or none.
"""
import contextlib
import hashlib
import os
import shutil


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def staging_dir(out_dir):
    """A fresh, empty temporary sibling of out_dir for this process."""
    tmp = "%s.tmp%d" % (os.path.abspath(out_dir), os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    return tmp


@contextlib.contextmanager
def staged(out_dir):
    """``with staged(out) as tmp:`` write the folder's files into tmp; at the end
    of the block it replaces ``out`` in one swap, or (on any exception, or a
    signal at any time) vanishes and leaves ``out`` as it was."""
    tmp = staging_dir(out_dir)
    try:
        yield tmp
        install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def install(tmp, out_dir):
    """Swap a finished tmp directory into place (not after a signal: model.errors)."""
    from .errors import check_not_interrupted
    check_not_interrupted()
    out_dir = os.path.abspath(out_dir)
    old = "%s.old%d" % (out_dir, os.getpid())
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(out_dir):
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_atomic(path, data):
    """Write text or bytes under a temporary name unique to this process, then
    rename it into place (not after a signal: model.errors)."""
    from .errors import check_not_interrupted
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        if isinstance(data, bytes):
            with open(tmp, "wb") as f:
                f.write(data)
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(data)
        check_not_interrupted()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(path, obj, sort_keys=True):
    """Write JSON atomically (write_atomic)."""
    import json
    write_atomic(path, json.dumps(obj, indent=1, sort_keys=sort_keys, ensure_ascii=False) + "\n")
