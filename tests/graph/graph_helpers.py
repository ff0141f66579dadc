"""A throw-away copy of the repository in which SCons can be run and poked.

Graph tests check what the build does, not what a function returns: a no-op
run runs nothing, touching one file rebuilds exactly what depends on it, a
broken firmware fails the build with one clear line. Each test gets its own
copy (sources only, sharing the main checkout's .venv) so they never race the
developer's build/ folder.
"""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SKIP_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache"}


def _copy_sources(dest):
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        rel = os.path.relpath(folder, ROOT)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in files:
            if name.startswith(".sconsign") or name.endswith(".pyc"):
                continue
            shutil.copy2(os.path.join(folder, name), os.path.join(dest, rel, name))


class Tree:
    def __init__(self, path):
        self.path = path

    def scons(self, *args, check=True):
        """Run SCons with the main checkout's interpreter; returns (rc, output)."""
        cmd = [sys.executable, "-m", "SCons", "-Q"] + list(args)
        # Relative options (image=...) resolve against the caller's folder, which
        # ./scons passes down; here the caller is this tree, not an outer build.
        env = dict(os.environ, SCONS_CALLER_CWD=self.path)
        proc = subprocess.run(cmd, cwd=self.path, capture_output=True, text=True, env=env)
        out = proc.stdout + proc.stderr
        if check and proc.returncode != 0:
            raise AssertionError("scons %s failed (%d):\n%s" % (" ".join(args), proc.returncode, out))
        return proc.returncode, out

    def file(self, rel):
        return os.path.join(self.path, rel)

    def edit(self, rel, old, new):
        """Replace ``old`` by ``new`` in a file: a real content change, not a new timestamp."""
        with open(self.file(rel)) as handle:
            text = handle.read()
        assert old in text, "%s no longer contains %r: update the test" % (rel, old)
        with open(self.file(rel), "w") as handle:
            handle.write(text.replace(old, new, 1))


@pytest.fixture
def tree(tmp_path):
    dest = tmp_path / "repo"
    _copy_sources(str(dest))
    return Tree(str(dest))


V3 = ("model=ppocrv3_en",)  # the project's own recognizer, from the committed checkpoint


def built_copy(tmp_path_factory, name, *deploy_args):
    """A copy in which `deploy <deploy_args>` has run once (the expensive part)."""
    dest = tmp_path_factory.mktemp(name) / "repo"
    _copy_sources(str(dest))
    built = Tree(str(dest))
    built.scons("deploy", *deploy_args)
    return built


@pytest.fixture(scope="module")
def built_tree(tmp_path_factory):
    """One copy per test module in which `deploy` of the project's recognizer has run once
    (export, codegen, firmware, simulator): the expensive part, shared."""
    return built_copy(tmp_path_factory, "built", *V3)


def actions(output):
    """The progress lines of a quiet build: 'CC x.o', 'LINK app.elf', 'RUN ...'."""
    return [line.split()[0] + " " + line.split()[1]
            for line in output.splitlines()
            if line.startswith("  ") and len(line.split()) >= 2 and line.split()[0].isupper()]
