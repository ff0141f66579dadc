"""Shared plumbing for builders that run a project package as a subprocess.

Heavy steps (Paddle, TVM, image decoding) never run inside the SCons process:
each builder calls ``python -m <package> ...`` so that reading the SConstruct
stays instant and a crash in a native library cannot take SCons down with it.

``module_action(module, argv_fn, comstr)`` returns an ``Action`` whose progress
line is ``comstr`` (a construction variable such as ``$TVMCOMSTR``); when it
expands to nothing (``--verbose`` blanks every ``*COMSTR``) the full command
line is shown instead.
"""
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


def run_checked(env, cmd, target, keep_on_failure=False):
    """Run cmd from the repository root; on failure remove the targets so
    nothing half-written can look up to date (unless the step writes a record
    of the failure on purpose, like a simulator log), and raise one clear error.
    SCons stores no signature for a failed step, so it runs again next time."""
    root = env.Dir("#").abspath
    proc_env = dict(os.environ)
    proc_env.update({k: str(v) for k, v in env.get("SUBPROCESS_ENV", {}).items()})
    proc_env["PYTHONPATH"] = root + os.pathsep + proc_env.get("PYTHONPATH", "")
    # Paddle warns on every import that ccache (for C++ extensions we never build) is missing.
    proc_env.setdefault("PYTHONWARNINGS", "ignore:No ccache found:UserWarning")
    rc = subprocess.call(cmd, cwd=root, env=proc_env)
    if rc != 0:
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
