"""One model's C names under a prefix, so two models link into one firmware.

codegen emits every model under the default names: ``model_run``,
``model_weights``, ``model_kernel_info(_t)``, ``model_arena``,
``model_profile_begin/end``, the ``MODEL_*`` macros, kernels ``tvmk_*``,
library kernels ``codegen_*`` and the micro-kernels. The whole-image app runs
a detector and a recognizer in one ELF, so the detector is compiled with
``--prefix det``: ``det_run``, ``DET_INPUT_H``, ``det_tvmk_*`` ... in model.h,
model.c and kernels.c (a rename of identifiers; section names such as
``.bss.model_arena`` keep theirs: the linker scripts place them), and every
global symbol kernels.o defines gets the prefix too (objcopy, so references
inside the object follow). The default prefix changes nothing.
"""
import os
import re
import subprocess
import tempfile

from .errors import CodegenError

DEFAULT = "model"
# An identifier that starts a default name; not one inside a section name
# (".bss.model_arena") or a longer identifier.
_NAMES = re.compile(r"(?<![.\w])(model_|MODEL_|tvmk_|codegen_|pointwise_f32x4_block)")
_VALID = re.compile(r"[a-z][a-z0-9]{0,15}")


def check(prefix):
    if not _VALID.fullmatch(prefix or ""):
        raise CodegenError("prefix %r: must be a short lower-case C identifier "
                           "(letters and digits, e.g. det)" % prefix)
    return prefix


def rename_c(text, prefix):
    """C source/header text with the default names under ``prefix``."""
    if prefix == DEFAULT:
        return text

    def sub(m):
        name = m.group(1)
        if name == "model_":
            return prefix + "_"
        if name == "MODEL_":
            return prefix.upper() + "_"
        return prefix + "_" + name
    return _NAMES.sub(sub, text)


def rename_object(data, prefix, toolchain_prefix):
    """kernels.o's bytes with every defined global symbol under ``prefix``."""
    if prefix == DEFAULT:
        return data
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "kernels.o")
        with open(obj, "wb") as f:
            f.write(data)
        names = _run([toolchain_prefix + "nm", "-g", "--defined-only", "-P", obj]).split("\n")
        pairs = sorted({line.split()[0] for line in names if line.strip()})
        mapping = os.path.join(tmp, "names.txt")
        with open(mapping, "w") as f:
            f.writelines("%s %s_%s\n" % (n, prefix, n) for n in pairs)
        _run([toolchain_prefix + "objcopy", "--redefine-syms=" + mapping, obj])
        with open(obj, "rb") as f:
            return f.read()


def apply(files, prefix, toolchain_prefix):
    """The output files ({name: bytes}) with their names under ``prefix``."""
    if prefix == DEFAULT:
        return files
    out = dict(files)
    for name in ("model.h", "model.c", "kernels.c"):
        if name in out:
            out[name] = rename_c(out[name].decode(), prefix).encode()
    if "kernels.o" in out:
        out["kernels.o"] = rename_object(out["kernels.o"], prefix, toolchain_prefix)
    return out


def _run(cmd):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as err:
        raise CodegenError("renaming symbols needs %s (%s)" % (cmd[0], err.strerror)) from err
    if proc.returncode != 0:
        raise CodegenError("%s failed: %s" % (os.path.basename(cmd[0]), proc.stderr.strip()[-500:]))
    return proc.stdout
