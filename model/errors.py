"""User-facing errors and interruptions, for every ``python -m`` entry point.

One exception type for bad user input, so command-line entry points can print
a single clear line (and exit non-zero) instead of a Paddle stack trace.

And one rule for signals: a step that received SIGINT, SIGTERM or SIGHUP at
any moment never exits 0 and never installs its output.  Native libraries
(TVM, Paddle) can swallow the KeyboardInterrupt a signal raises, and a step
that then "finished" would hand a different, partial result to the build (and
to a shared cache).  ``guard_signals`` records every signal, ``check_not_interrupted``
is called right before an output is renamed into place (model.files.install,
codegen's write_outputs), and ``run_main`` turns a recorded signal into exit
code 128 + signal with one line, whatever ``main`` returned.  codegen and host
entry points use the same functions.
"""
import signal
import sys

_RECEIVED = []
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ModelError(Exception):
    """A user-facing error: bad config, checkpoint, dictionary or image."""


class Interrupted(BaseException):
    """A signal arrived: stop, write nothing (not an Exception: broad
    ``except Exception`` handlers must not swallow it)."""


def _on_signal(signum, frame):
    _RECEIVED.append(signum)
    raise Interrupted(signum)


def guard_signals(paddle=False):
    """Record (and raise on) SIGINT/SIGTERM/SIGHUP in this process's main thread.

    Importing Paddle installs its own C++ handler for SIGTERM (it prints a
    "FatalError" report and kills the process), replacing whatever was there:
    a step that uses Paddle imports it first (``paddle=True``), so these
    handlers are the ones that stay."""
    if paddle:
        import paddle as _paddle  # noqa: F401  (its handlers first, then ours over them)
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)


def received():
    """The first signal this process received, or None."""
    return _RECEIVED[0] if _RECEIVED else None


def check_not_interrupted():
    """Raise Interrupted if a signal arrived at any time (even one whose
    exception something swallowed): the commit point of every output."""
    if _RECEIVED:
        raise Interrupted(_RECEIVED[0])


def settle():
    """The step's outputs are complete: ignore SIGINT/SIGTERM/SIGHUP from here
    on and return the signal that came before, or None.

    Without this a signal during the interpreter's shutdown (TVM and Paddle
    take a second or two to tear down, and Python restores the default
    handlers first) kills the process: exit -2 with the whole output in place.
    A signal from now on leaves the complete output and exit 0; one whose
    handler was still pending is recorded here (signal.signal runs pending
    handlers before it changes one)."""
    for sig in SIGNALS:
        while True:
            try:
                signal.signal(sig, signal.SIG_IGN)
                break
            except (Interrupted, KeyboardInterrupt):
                pass  # recorded by _on_signal; set SIG_IGN again
    return received()


def interrupted_exit(prog):
    """Print the one line for an interrupted step; its exit code."""
    sig = received() or signal.SIGINT
    print("error: %s interrupted by %s: nothing written" % (prog, signal.Signals(sig).name),
          file=sys.stderr)
    return 128 + sig


def run_main(main, prog=None, paddle=True):
    """Run ``main()``: a ModelError is one line on stderr and exit 2, a signal
    exit 128 + signal with one line (also when ``main`` returned normally).
    ``paddle=False`` for a step that never imports Paddle (see guard_signals)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    prog = prog or (spec.name.replace(".__main__", "") if spec else "step")
    guard_signals(paddle)
    try:
        rc = main()
    except BaseException as exc:
        # A native library may hand a signal's exception back as another one:
        # the recorded signal decides.
        if received() or isinstance(exc, (Interrupted, KeyboardInterrupt)):
            sys.exit(interrupted_exit(prog))
        if isinstance(exc, ModelError):
            print("error: %s" % exc, file=sys.stderr)
            sys.exit(2)
        raise
    if settle():
        sys.exit(interrupted_exit(prog))
    return rc
