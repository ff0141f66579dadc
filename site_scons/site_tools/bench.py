"""The benchmark: per-kernel profiles of several schedules, and host build costs.

Builders
  env.BenchReport(report_json, variants, BASELINE=name, BEST=name, MODEL=name
                  (, host_costs=node) (, INT8=name, quant_report=node))
      variants: [(name, codegen report.json, ELF size.json, [run logs...]), ...]
      -> report.json, report.md, kernels.png in the target's folder (host/bench.py).
  env.BuildCost(host_costs_json, TARGET_PATH="build/firmware/ocr.elf", OPTIONS=[...])
      -> cold / no-op / dry-run build times of a fresh copy of the tree
         (host/buildcost.py). Always rebuilt: a time is a measurement of now.
"""
import os

import pyaction

BENCH_FILES = ("report.json", "report.md", "kernels.png")


def _report_argv(target, source, env):
    argv = []
    for name, report, size, logs in env["BENCH_VARIANTS"]:
        argv += ["--variant", name, report.path, size.path] + [log.path for log in logs]
    argv += ["--baseline", env["BASELINE"], "--best", env["BEST"], "--model", env["MODEL"],
             "--out-dir", os.path.dirname(target[0].path)]
    if env.get("INT8"):
        argv += ["--int8", env["INT8"]]
        if env.get("BENCH_QUANT_REPORT") is not None:
            argv += ["--quant-report", env["BENCH_QUANT_REPORT"].path]
    if env.get("BENCH_HOST_COSTS"):
        argv += ["--host-costs", env["BENCH_HOST_COSTS"].path]
    return argv


def _report_emitter(target, source, env):
    folder = os.path.dirname(target[0].abspath)
    targets = [env.File(os.path.join(folder, name)) for name in BENCH_FILES]
    code = pyaction.python_sources(env, "host/bench.py")
    versions = {"matplotlib": pyaction.dist_version("matplotlib")}
    return targets, source + code + [env.Value(sorted(versions.items()))]


def bench_report(env, target, variants, BASELINE, BEST, MODEL, host_costs=None, INT8=None,
                 quant_report=None):
    sources = [quant_report] if INT8 and quant_report is not None else []
    for _name, report, size, logs in variants:
        sources += [report, size] + list(logs)
    if host_costs is not None:
        sources.append(host_costs)
    # Which log belongs to which variant, and the roles, are part of the signature.
    layout = [(name, str(report), str(size), [str(log) for log in logs])
              for name, report, size, logs in variants]
    sources.append(env.Value({"variants": layout, "baseline": BASELINE, "best": BEST,
                              "model": MODEL, "int8": INT8}))
    return env._BenchReport(target, sources, BENCH_VARIANTS=variants, BENCH_HOST_COSTS=host_costs,
                            BASELINE=BASELINE, BEST=BEST, MODEL=MODEL, INT8=INT8,
                            BENCH_QUANT_REPORT=quant_report)


def _cost_argv(target, source, env):
    return ["--root", ".", "--target", env["TARGET_PATH"], "--out", target[0].path] + \
        list(env.get("OPTIONS", []))


def build_cost(env, target, TARGET_PATH, OPTIONS=()):
    node = env._BuildCost(target, [env.File("#host/buildcost.py"),
                                   env.Value([TARGET_PATH] + list(OPTIONS))],
                          TARGET_PATH=TARGET_PATH, OPTIONS=list(OPTIONS))
    env.AlwaysBuild(node)
    return node


def generate(env):
    env.SetDefault(BENCHCOMSTR="", BUILDCOSTCOMSTR="")
    env["BUILDERS"]["_BenchReport"] = env.Builder(
        action=pyaction.module_action("host.bench", _report_argv, "$BENCHCOMSTR"),
        emitter=_report_emitter)
    env["BUILDERS"]["_BuildCost"] = env.Builder(
        action=pyaction.module_action("host.buildcost", _cost_argv, "$BUILDCOSTCOMSTR"))
    env.AddMethod(bench_report, "BenchReport")
    env.AddMethod(build_cost, "BuildCost")


def exists(env):
    return True
