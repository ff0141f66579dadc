"""Shared plumbing for builders that run a project package as a subprocess.

Heavy steps (Paddle, TVM, image decoding) never run inside the SCons process:
each builder calls ``python -m <package> ...`` so that reading the SConstruct
stays instant and a crash in a native library cannot take SCons down with it.

``module_action(module, argv_fn, comstr)`` returns an ``Action`` whose progress
line is ``comstr`` (a construction variable such as ``$TVMCOMSTR``); when it
expands to nothing (``--verbose`` blanks every ``*COMSTR``) the full command
line is shown instead.
"""
import ast
import functools
import os
import shlex
import subprocess
import sys
from importlib import metadata

import SCons.Action
import SCons.Errors


def python_exe(env):
    return env.get("PYTHON", sys.executable)


def module_command(env, module, argv):
    return [python_exe(env), "-m", module] + [str(a) for a in argv]


OK_SUFFIX = ".ok"


def ok_marker(path):
    """The verdict marker of a step that keeps its outputs when it fails."""
    return path + OK_SUFFIX


def run_checked(env, cmd, target, keep_on_failure=False):
    """Run cmd from the repository root; on failure remove the targets so
    nothing half-written can look up to date, and raise one clear error.

    A step that writes a record of its failure on purpose (a simulator log, a
    failed test report) keeps its outputs for reading (``keep_on_failure``), but
    declares a marker target ``<first target>.ok`` that exists only after a
    success: SCons stores no signature for a failed step, yet it keeps the one
    of an earlier success, and the failure's outputs would then pass for up to
    date with unchanged sources; a missing target is never up to date."""
    root = env.Dir("#").abspath
    proc_env = dict(os.environ)
    proc_env.update({k: str(v) for k, v in env.get("SUBPROCESS_ENV", {}).items()})
    proc_env["PYTHONPATH"] = root + os.pathsep + proc_env.get("PYTHONPATH", "")
    # Paddle warns on every import that ccache (for C++ extensions we never build) is missing.
    proc_env.setdefault("PYTHONWARNINGS", "ignore:No ccache found:UserWarning")
    markers = [t.abspath for t in target if t.abspath.endswith(OK_SUFFIX)]
    for path in markers:
        if os.path.isfile(path):
            os.remove(path)
    rc = subprocess.call(cmd, cwd=root, env=proc_env)
    if rc == 0:
        for path in markers:
            with open(path, "w") as handle:
                handle.write("ok\n")
    else:
        for t in ([] if keep_on_failure else target):
            path = t.abspath
            if os.path.isfile(path):
                os.remove(path)
        raise SCons.Errors.BuildError(
            errstr="%s failed (exit %d)" % (os.path.basename(str(target[0])), rc),
            status=rc, exitstatus=rc)
    return 0


def module_action(module, argv_fn, comstr, keep_on_failure=False):
    """argv_fn(target, source, env) -> list of arguments after ``-m module``."""

    def execute(target, source, env):
        return run_checked(env, module_command(env, module, argv_fn(target, source, env)),
                           target, keep_on_failure)

    def show(target, source, env):
        quiet = env.subst(comstr, raw=1, target=target, source=source) if comstr else ""
        if quiet:
            return quiet
        cmd = module_command(env, module, argv_fn(target, source, env))
        return " ".join(shlex.quote(c) for c in cmd)

    return SCons.Action.Action(execute, strfunction=show, varlist=["PYTHON"])


SOURCE_PATTERNS = ("*.py", "*.lock", "*/*.py", "*/*.c", "*/*.h", "*/*.S")


def package_sources(env, package):
    """The package's own source files (its .py files, pinned inputs such as
    model/render.lock, and the C/assembly it compiles at run time: model/csrc,
    codegen/ukernels), as dependencies of every target it makes."""
    found = {}
    for pattern in SOURCE_PATTERNS:
        for node in env.Glob("#%s/%s" % (package, pattern)):
            found[str(node)] = node
    return [found[k] for k in sorted(found)]


def dist_version(name):
    """Installed version of a distribution, without importing it (cheap at parse time)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not-installed"


PACKAGES = ("model", "host", "codegen")


@functools.lru_cache(maxsize=None)
def _imports(path, root):
    """Repository modules a Python file imports (anywhere in it), as paths."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    here = os.path.relpath(os.path.dirname(path), root).split(os.sep)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (here[:len(here) - node.level + 1] if node.level else []) + \
                (node.module.split(".") if node.module else [])
            names = [".".join(base)] + [".".join(base + [alias.name]) for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] not in PACKAGES:
                continue
            # the module itself and every package __init__ on the way to it
            candidates = [os.path.join(root, *parts) + ".py"]
            candidates += [os.path.join(root, *parts[:k], "__init__.py") for k in range(1, len(parts) + 1)]
            found += [c for c in candidates if os.path.isfile(c)]
    return tuple(found)


def python_sources(env, *files):
    """``files`` (repository paths such as "host/convert.py") and every project
    module they import, directly or not: what a ``python -m`` step runs, as
    dependencies (a change to any of them reruns the step, nothing else does)."""
    root = env.Dir("#").abspath
    seen, todo = set(), [os.path.join(root, f) for f in files]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [p for p in _imports(path, root) if p not in seen]
    return [env.File(p) for p in sorted(seen)]
