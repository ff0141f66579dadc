"""Run a firmware ELF on a simulated Corstone-300 and record what happened.

    python -m host.simulate --simulator qemu --elf app.elf --log run.log --status run.status

Writes the UART output to ``run.log`` (``\\r\\n`` folded to ``\\n``) and a JSON
verdict to ``run.status``. Exit code 0 only when the firmware reached its
end-of-run marker with status 0; otherwise one line on stderr says why (hang,
fault, non-zero status, simulator missing) and the status file says
``"passed": false``. QEMU runs with ``-icount shift=0`` so every run of the
same ELF executes, and counts, exactly the same instructions.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from host import logparse
from model.files import write_atomic

# Arm's Corstone-300 FVP, as Arm's own examples start it: UART0 to stdout,
# stop at the end-of-run marker, no GUI, no telnet terminals.
FVP_FLAGS = [
    "-C", "mps3_board.uart0.out_file=-",
    "-C", "mps3_board.uart0.shutdown_tag=%s" % logparse.END_MARKER,
    "-C", "mps3_board.visualisation.disable-visualisation=1",
    "-C", "mps3_board.telnetterminal0.start_telnet=0",
    "-C", "mps3_board.telnetterminal1.start_telnet=0",
    "-C", "mps3_board.telnetterminal2.start_telnet=0",
    "-C", "mps3_board.telnetterminal5.start_telnet=0",
    "-C", "cpu0.semihosting-enable=1",
]


class SimulatorError(Exception):
    """The simulator could not be started at all."""


def qemu_command(binary, machine, elf, extra=()):
    return [binary, "-machine", machine, "-display", "none", "-serial", "stdio",
            "-monitor", "none", "-semihosting-config", "enable=on,target=native",
            "-icount", "shift=0", "-kernel", elf] + list(extra)


def fvp_command(binary, elf, extra=()):
    return [binary] + FVP_FLAGS + list(extra) + ["-a", elf]


def command_for(args):
    if args.simulator == "qemu":
        binary, cmd = args.qemu_binary, qemu_command(args.qemu_binary, args.qemu_machine,
                                                     args.elf, args.extra)
        hint = "install qemu-system-arm (./scons does) or set qemu_binary in toolchain.cfg"
    else:
        binary, cmd = args.fvp_binary, fvp_command(args.fvp_binary, args.elf, args.extra)
        hint = "set fvp_binary in toolchain.cfg to the Corstone-300 FVP executable"
    if shutil.which(binary) is None:
        raise SimulatorError("%s simulator '%s' not found: %s" % (args.simulator, binary, hint))
    return cmd


def run(cmd, timeout):
    """(output text, simulator exit code or None on timeout)."""
    with tempfile.TemporaryFile() as out:
        # Its own session: a terminal's Ctrl-C reaches this process, which then
        # kills the simulator's whole group (below) instead of orphaning it.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the simulator and anything it started
            proc.wait()
            rc = None
        except BaseException:  # a signal (model.errors.Interrupted), or anything else
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n"), rc


def verdict(name, text, rc, timeout):
    """The status record and, when it failed, the one-line reason."""
    result = logparse.parse(text)
    status = {"elf": name, "simulator_exit_code": rc, "marker_seen": result.finished,
              "run_status": result.run_status, "fault": result.fault}
    if rc is None:
        reason = "no end-of-run marker after %d s: the firmware hangs (or raise timeout=)" % timeout
    elif result.fault:
        reason = "firmware fault: %s" % result.fault
    elif not result.finished:
        reason = "simulator exited (code %s) before the end-of-run marker" % rc
    elif result.run_status != 0:
        reason = "firmware exited with status %s" % result.run_status
    elif rc not in (0,):
        reason = "simulator exit code %s despite run-status 0" % rc
    else:
        reason = None
    status["passed"] = reason is None
    status["reason"] = reason
    return status, reason


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", choices=("qemu", "fvp"), default="qemu")
    parser.add_argument("--elf", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--status", required=True)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--qemu-binary", default="qemu-system-arm")
    parser.add_argument("--qemu-machine", default="mps3-an547")
    parser.add_argument("--fvp-binary", default="FVP_Corstone_SSE-300_Ethos-U55")
    parser.add_argument("--extra", action="append", default=[],
                        help="extra simulator argument (repeatable)")
    parser.add_argument("--echo", action="store_true", help="also print the UART output")
    args = parser.parse_args(argv)
    name = os.path.basename(args.elf)
    for stale in (args.log, args.status):  # never leave an old "passed" behind
        if os.path.exists(stale):
            os.remove(stale)
    try:
        cmd = command_for(args)
    except SimulatorError as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    text, rc = run(cmd, args.timeout)
    status, reason = verdict(name, text, rc, args.timeout)
    write_atomic(args.log, text)
    write_atomic(args.status, json.dumps(status, indent=1, sort_keys=True) + "\n")
    if args.echo:
        sys.stdout.write(text)
    if reason:
        print("error: %s: %s (log: %s)" % (name, reason, args.log), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
