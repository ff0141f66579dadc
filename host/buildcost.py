"""Host-side build costs for the benchmark: ``python -m host.buildcost``.

Copies the source tree (git's tracked and unignored files, no build/) into a
fresh temporary folder, then times SCons (run by this interpreter, as ./scons
runs it) in that copy:

  cold_build_s   ``./scons TARGET`` from nothing (no cache: a cold build without
                 training; the model comes from the committed checkpoint or a wheel)
  codegen_s      the TVM step's share of it (SCons ``--debug=time``)
  noop_build_s   the same command again (nothing to do; run with --debug=explain,
                 so when it did rebuild something, noop_rebuilt says what and why,
                 e.g. an input outside the tree that changed during the measurement)
  dry_run_s      ``./scons -n TARGET`` of the same, up-to-date tree

and writes them, with their ratios to the dry run, as JSON::

    python -m host.buildcost --root . --target build/firmware/ocr.elf \\
                             --out build/bench/host_costs.json -- model=ppocrv4 ...

Wall-clock times depend on the machine and its load (the load average is
recorded); they are reported, never compared against a limit here.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache", "cache"}
_EXEC_TIME = re.compile(r"^Command execution time: (?P<target>.*?): (?P<s>[0-9.]+) seconds")
_REBUILDING = re.compile(r"^scons: (?:re)?building `(?P<target>[^']*)' because(?::$| (?P<why>.*)$)")


def source_files(root):
    """Paths (relative to root) that make up the source tree."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        names = [n for n in out.decode("utf-8").split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            names += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return sorted(n for n in names if os.path.isfile(os.path.join(root, n))
                  and n.split("/")[0] not in SKIP_DIRS)


def copy_tree(root, dest):
    for name in source_files(root):
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(root, name), target)


def timed(cmd, cwd):
    # Relative options resolve against the caller's folder, which ./scons passes
    # down; the caller is the copy here, not an outer build.
    env = dict(os.environ, SCONS_CALLER_CWD=cwd)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(cmd), proc.returncode, tail))
    return elapsed, proc.stdout


CODEGEN_OUTPUTS = {"model.h", "model.c", "kernels.c", "kernels.o", "weights.bin", "report.json"}


def codegen_seconds(debug_time_output):
    """Execution time of the codegen steps: SCons names each step by one of its
    targets (which one varies), all of which lie in one build/codegen/<variant>/."""
    steps = {}
    for line in debug_time_output.splitlines():
        match = _EXEC_TIME.match(line.strip())
        if not match:
            continue
        folder, name = os.path.split(match.group("target"))
        if "build/codegen/" in folder + "/" and name in CODEGEN_OUTPUTS:
            steps[folder] = steps.get(folder, 0.0) + float(match.group("s"))
    return round(sum(steps.values()), 2) if steps else None


def rebuilt(explain_output, most=10):
    """[{"target", "because"}] of what a build with --debug=explain rebuilt
    (several reasons, which SCons lists on indented lines, joined by "; ")."""
    found, listing = [], False
    for line in explain_output.splitlines():
        match = _REBUILDING.match(line)
        if match:
            found.append({"target": match.group("target"), "because": match.group("why") or ""})
            listing = match.group("why") is None
        elif listing and line[:1].isspace() and line.strip():
            found[-1]["because"] += ("; " if found[-1]["because"] else "") + line.strip()
        else:
            listing = False
    return found[:most]


def measure(root, target, options, scons_command=None):
    work = tempfile.mkdtemp(prefix="ocr-buildcost-")
    try:
        copy_tree(root, work)
        scons = (scons_command or [sys.executable, "-m", "SCons"]) + ["cache_dir="] + list(options)
        cold, out = timed(scons + ["--debug=time", target], work)
        noop, noop_out = timed(scons + ["--debug=explain", target], work)
        dry, _ = timed(scons + ["-n", target], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"target": target, "options": list(options),
              "cold_build_s": round(cold, 2), "codegen_s": codegen_seconds(out),
              "noop_build_s": round(noop, 2), "noop_rebuilt": rebuilt(noop_out),
              "dry_run_s": round(dry, 2),
              "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    for key in ("cold_build_s", "codegen_s", "noop_build_s"):
        if result[key] is not None:
            result[key.replace("_s", "_over_dry_run")] = round(result[key] / dry, 2)
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--target", required=True, help="what to build, e.g. build/firmware/ocr.elf")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scons", help="SCons command (default: this Python's -m SCons)")
    ap.add_argument("options", nargs="*", help="key=value options for ./scons")
    args = ap.parse_args(argv)
    try:
        result = measure(args.root, args.target, args.options,
                         args.scons.split() if args.scons else None)
    except (OSError, RuntimeError) as err:
        print("error: buildcost: %s" % err, file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("buildcost: cold %.1f s (codegen %s s), no-op %.2f s, scons -n %.2f s" % (
        result["cold_build_s"], result["codegen_s"], result["noop_build_s"], result["dry_run_s"]))
    for r in result["noop_rebuilt"][:3]:
        print("buildcost: the no-op build rebuilt %s because %s" % (r["target"], r["because"]))
    return 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
