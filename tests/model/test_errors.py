"""The signal rules of every ``python -m`` step (model.errors), in a child
process each: a signal before the outputs are complete is exit 128 + signal with
one line; one after them (even during the interpreter's shutdown) is exit 0."""
import os
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def step(body):
    """Run ``run_main`` around ``body`` (Python source of main's body)."""
    source = ("import os, signal, sys, time\n"
              "from model.errors import run_main\n"
              "def main():\n" + "".join("    %s\n" % line for line in body.splitlines()) +
              "sys.exit(run_main(main, prog='step', paddle=False))\n")
    return subprocess.run([sys.executable, "-c", source], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_working_is_128_plus_signal_and_one_line(sig):
    proc = step("os.kill(os.getpid(), %d)\ntime.sleep(5)\nreturn 0" % sig)
    assert proc.returncode == 128 + sig, proc.stderr
    assert proc.stderr.splitlines() == ["error: step interrupted by %s: nothing written"
                                        % signal.Signals(sig).name]


def test_a_swallowed_signal_still_fails_the_step():
    # what TVM and Paddle do to the exception a signal raises
    proc = step("try:\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(5)\n"
                "except BaseException:\n    pass\nreturn 0")
    assert proc.returncode == 128 + signal.SIGINT, proc.stderr


def test_a_signal_after_the_step_finished_leaves_exit_0():
    # main returned; the signal comes during the shutdown (atexit runs there,
    # after Python restored the default handlers that would kill the process)
    proc = step("import atexit\n"
                "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.5)))\n"
                "return 0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_codegen_steps_follow_the_same_rule(tmp_path):
    # codegen.errors.run_step: a late signal keeps the complete output and exit 0
    source = ("import atexit, os, signal, sys, time\n"
              "from model.errors import guard_signals\n"
              "from codegen.errors import run_step\n"
              "guard_signals()\n"
              "def body():\n"
              "    open(os.path.join(%r, 'model.c'), 'w').write('int x;')\n"
              "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.5)))\n"
              "sys.exit(run_step('codegen', %r, ['model.c'], body)[0])\n") % (str(tmp_path), str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", source], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "model.c").read_text() == "int x;"
