"""Run firmware on the simulated Corstone-300 (QEMU mps3-an547 or Arm's FVP).

Builders
  env.Simulate(log, elf)   -> ``<log>`` (UART output), ``<log base>.status``
                              (JSON verdict) and ``<log>.ok`` (only after a
                              passed run: pyaction.ok_marker), all declared.

The simulator kind, binary, flags and timeout come from ``env['CFG']`` and are
part of the signature, so switching ``simulator=fvp`` re-runs the simulation
but rebuilds no firmware. A hang, fault or non-zero exit fails the build with
one line (``host.simulate`` prints it) and leaves a status that says failed.
"""
import shutil

import pyaction


def _timeout(env):
    """toolchain.cfg's timeout is per inference; a run of N images gets N times it
    (``IMAGES=N`` on the builder call)."""
    return env["CFG"]["timeout"] * int(env.get("IMAGES", 1))


def _status_emitter(target, source, env):
    log = target[0]
    status = env.File(log.abspath.rsplit(".", 1)[0] + ".status")
    cfg = env["CFG"]
    settings = {"simulator": cfg["simulator"], "timeout": _timeout(env)}
    if cfg["simulator"] == "qemu":
        settings.update({k: cfg[k] for k in ("qemu_binary", "qemu_machine", "qemu_flags")})
    else:
        settings.update({k: cfg[k] for k in ("fvp_binary", "fvp_flags")})
    runner = pyaction.python_sources(env, "host/simulate.py")
    return [log, status, env.File(pyaction.ok_marker(log.abspath))], \
        source + runner + [env.Value(sorted(settings.items()))]


def _argv(target, source, env):
    cfg = env["CFG"]
    argv = ["--simulator", cfg["simulator"], "--elf", source[0].path,
            "--log", target[0].path, "--status", target[1].path,
            "--timeout", _timeout(env),
            "--qemu-binary", cfg["qemu_binary"], "--qemu-machine", cfg["qemu_machine"],
            "--fvp-binary", cfg["fvp_binary"]]
    extra = cfg["qemu_flags"] if cfg["simulator"] == "qemu" else cfg["fvp_flags"]
    for arg in extra:
        argv += ["--extra=" + arg]
    return argv


def generate(env):
    env.SetDefault(SIMCOMSTR="")
    env["BUILDERS"]["Simulate"] = env.Builder(
        action=pyaction.module_action("host.simulate", _argv, "$SIMCOMSTR",
                                      keep_on_failure=True),
        emitter=_status_emitter,
        suffix=".log", src_suffix=".elf")


def exists(env):
    cfg = env.get("CFG", {})
    binary = cfg.get("qemu_binary") if cfg.get("simulator", "qemu") == "qemu" else cfg.get("fvp_binary")
    return shutil.which(binary or "qemu-system-arm") is not None
