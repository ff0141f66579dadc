"""Writing outputs so that nothing half-written ever looks finished.

Every step assembles its output folder under a temporary name unique to the
process (``<out>.tmp<pid>``, so two builds cannot trip over each other's
leftovers) and swaps it into place with renames at the very end: a failure,
Ctrl-C or kill leaves either the previous complete folder or none.
"""
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


def install(tmp, out_dir):
    """Swap a finished tmp directory into place."""
    out_dir = os.path.abspath(out_dir)
    old = "%s.old%d" % (out_dir, os.getpid())
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(out_dir):
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_json(path, obj, sort_keys=True):
    """Write JSON atomically (a temporary name, then a rename)."""
    import json
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=sort_keys, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
