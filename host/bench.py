"""The benchmark report: ``python -m host.bench``.

Joins, per firmware variant (a backend + schedule of the same model), the codegen
report (kernels, MACs, arena, weights), the ELF's size report (bytes per section)
and the logs of two profiling runs on the simulator (per-kernel instruction counts)
into build/bench/report.json, report.md and kernels.png::

    python -m host.bench --variant stock-c CODEGEN_REPORT SIZE_JSON LOG LOG \\
                         --variant best-llvm-mve ... --baseline stock-c --best best-llvm-mve \\
                         [--host-costs host_costs.json] --out-dir build/bench

It fails (exit 1, one line per problem) when the bench's own checks fail: a run
that did not pass, two runs of one ELF that disagree on any count (QEMU runs with
``-icount shift=0``, so they must not), or variants that read different text.
Performance targets are reported, never enforced: they are numbers to watch, not
tests. ``--int8 NAME --quant-report report.json`` adds the int8 section: that
variant (the quantized model) beside ``--best`` (fp32), with the accuracy of
both models from codegen.quantize's evaluation.
"""
import argparse
import json
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from host import logparse  # noqa: E402

# Issue 7's targets and the peer it names (onnx2c, arm-none-eabi-gcc -O3, same QEMU).
PEER_ONNX2C_INSTRUCTIONS = 2_245_000_000
PEER_ONNX2C_MACS = 640_135_680  # PP-OCRv3 rec at 1x3x48x320: compared per MAC
TARGET_STOCK_RATIO = 4.0
TARGET_INSTR_PER_MAC = 0.5
SCORE_TOLERANCE = 1e-4
# Issue 17's int8 targets.
INT8_TARGETS = {"instructions": 100_000_000, "instr_per_mac": 0.16, "weights_bytes": 1_700_000,
                "arena_bytes": 500_000, "drop_test_points": 0.5, "drop_real_val_points": 1.0}


class BenchError(Exception):
    pass


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_run(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        log = logparse.parse(handle.read())
    if log.fault:
        raise BenchError("%s: firmware fault: %s" % (path, log.fault))
    if not log.finished or log.run_status != 0:
        raise BenchError("%s: the run did not finish with status 0" % path)
    if not log.results:
        raise BenchError("%s: no recognized text in the log" % path)
    if not log.kernels:
        raise BenchError("%s: no per-kernel lines (was the firmware built with MODEL_PROFILE?)" % path)
    return log


def variant_summary(name, codegen_report, size_report, logs):
    """One variant's numbers; raises BenchError when its runs disagree."""
    first = logs[0]
    for other_path, other in logs[1:]:
        if (other.kernels, other.instructions, other.results) != \
                (first[1].kernels, first[1].instructions, first[1].results):
            raise BenchError("%s: runs %s and %s disagree: instruction counts are not deterministic"
                             % (name, first[0], other_path))
    log = first[1]
    kernels_info = codegen_report["kernels"]
    if len(log.kernels) != len(kernels_info):
        raise BenchError("%s: %d kernel lines in the log, %d kernels in the codegen report"
                         % (name, len(log.kernels), len(kernels_info)))
    if len(log.instructions) != 1:
        raise BenchError("%s: expected one inference, the log has %d instruction counts"
                         % (name, len(log.instructions)))
    total = log.instructions[0]
    kernels = []
    for (index, kname, count), info in zip(log.kernels, kernels_info):
        if kname != info["kernel"]:
            raise BenchError("%s: kernel %d is %s in the log but %s in the codegen report"
                             % (name, index, kname, info["kernel"]))
        kernels.append({"index": index, "kernel": kname, "ops": info["ops"], "macs": info["macs"],
                        "instructions": count,
                        "instr_per_mac": round(count / info["macs"], 4) if info["macs"] else None,
                        "share": round(count / total, 5) if total else None})
    totals = codegen_report["totals"]
    in_kernels = sum(k["instructions"] for k in kernels)
    return {
        "name": name,
        "backend": codegen_report["backend"],
        "schedule": codegen_report["schedule"],
        "input_shape": codegen_report["input_shape"],
        "text": log.results[0].text,
        "score": log.results[0].score,
        "runs": len(logs),
        "runs_agree": True,
        "instructions": total,
        "instructions_in_kernels": in_kernels,
        "instructions_outside_kernels": total - in_kernels,
        "macs": totals["macs"],
        "instr_per_mac": round(total / totals["macs"], 4),
        "kernel_calls": totals["kernel_calls"],
        "arena_bytes": totals["arena_bytes"],
        "arena_lower_bound": totals["peak_live_lower_bound"],
        "relax_static_plan_bytes": totals.get("relax_static_plan_bytes"),
        "weights_bytes": totals["weights_bytes"],
        "params": totals["params"],
        "params_x4": totals["params"] * 4,
        "flash_bytes": size_report["flash_bytes"],
        "ram_bytes": size_report["ram_bytes"],
        "regions": size_report["regions"],
        "sections": {k: v["bytes"] for k, v in sorted(size_report["sections"].items())},
        "kernels": kernels,
    }


def _beats_onnx2c(ref):
    return ref["instructions"] / ref["macs"] < PEER_ONNX2C_INSTRUCTIONS / PEER_ONNX2C_MACS


def compare(variants, baseline, best, int8=()):
    """Cross-variant checks (same text, scores within tolerance) and the ratios.
    int8 variants are another model (the quantized one): int8_summary reports
    their text beside fp32's instead."""
    ref = variants[best]
    problems = []
    for v in variants.values():
        if v["name"] in int8:
            continue
        if v["text"] != ref["text"]:
            problems.append("%s reads %r but %s reads %r" % (v["name"], v["text"], best, ref["text"]))
        elif abs(v["score"] - ref["score"]) > SCORE_TOLERANCE:
            problems.append("%s scores %.6f but %s %.6f" % (v["name"], v["score"], best, ref["score"]))
    base = variants[baseline]
    targets = {
        "stock_over_best": round(base["instructions"] / ref["instructions"], 3),
        "stock_over_best_target": TARGET_STOCK_RATIO,
        "instr_per_mac": ref["instr_per_mac"],
        "instr_per_mac_target": TARGET_INSTR_PER_MAC,
        "onnx2c_peer_instructions": PEER_ONNX2C_INSTRUCTIONS,
        "onnx2c_peer_instr_per_mac": round(PEER_ONNX2C_INSTRUCTIONS / PEER_ONNX2C_MACS, 4),
        # The peer ran the 48x320 recognizer; models of another size compare per MAC.
        "onnx2c_over_best": round(PEER_ONNX2C_INSTRUCTIONS / PEER_ONNX2C_MACS
                                  / (ref["instructions"] / ref["macs"]), 3),
        "arena_equals_lower_bound": ref["arena_bytes"] == ref["arena_lower_bound"],
        # The blob is params x 4 plus 16-byte alignment padding between tensors.
        "weights_padding_bytes": ref["weights_bytes"] - ref["params_x4"],
    }
    targets["met"] = {
        "stock_over_best": targets["stock_over_best"] >= TARGET_STOCK_RATIO,
        "instr_per_mac": ref["instr_per_mac"] <= TARGET_INSTR_PER_MAC,
        "beats_onnx2c": _beats_onnx2c(ref),
        "arena_equals_lower_bound": targets["arena_equals_lower_bound"],
    }
    return targets, problems


def int8_summary(variant, fp32, quant_report):
    """int8 beside the fp32 build of the same checkpoint: speed, memory, where it
    lives, and the accuracy of both on the same images (codegen.quantize's
    onnxruntime evaluation of the fp32 and the QDQ model)."""
    accuracy = {}
    for split, ev in sorted((quant_report or {}).get("evaluations", {}).items()):
        accuracy[split] = {"images": ev["count"], "fp32_word_acc": ev["fp32"]["word_acc"],
                           "int8_word_acc": ev["int8"]["word_acc"],
                           "drop_points": round(100 * (ev["fp32"]["word_acc"] - ev["int8"]["word_acc"]), 2),
                           "same_text": ev["same_text"]}
    layers = (quant_report or {}).get("layers", [])
    summary = {
        "variant": variant["name"], "fp32_variant": fp32["name"],
        "text": variant["text"], "score": variant["score"],
        "fp32_text": fp32["text"], "fp32_score": fp32["score"],
        "instructions": variant["instructions"], "fp32_instructions": fp32["instructions"],
        "speedup": round(fp32["instructions"] / variant["instructions"], 3),
        # per MAC of the model (fp32's count): int8 kernels skip taps that only
        # read padding, so its own MAC count is smaller
        "instr_per_mac": round(variant["instructions"] / fp32["macs"], 4), "macs": fp32["macs"],
        "macs_computed": variant["macs"],
        "weights_bytes": variant["weights_bytes"], "fp32_weights_bytes": fp32["weights_bytes"],
        "arena_bytes": variant["arena_bytes"], "fp32_arena_bytes": fp32["arena_bytes"],
        "regions": variant["regions"],
        "int8_layers": sum(1 for layer in layers if layer.get("precision") == "int8"),
        "fp32_layers": sum(1 for layer in layers if layer.get("precision") == "fp32"),
        "accuracy": accuracy,
    }
    t = INT8_TARGETS
    drop = {s: a["drop_points"] for s, a in accuracy.items()}
    summary["targets"] = dict(t)
    summary["met"] = {
        "instructions": variant["instructions"] <= t["instructions"],
        "instr_per_mac": variant["instr_per_mac"] <= t["instr_per_mac"],
        "weights_bytes": variant["weights_bytes"] <= t["weights_bytes"],
        "arena_bytes": variant["arena_bytes"] <= t["arena_bytes"],
        "nothing_in_ddr": not variant["regions"].get("DDR"),
        "drop_test": drop["test"] <= t["drop_test_points"] if "test" in drop else None,
        "drop_real_val": drop["real_val"] <= t["drop_real_val_points"] if "real_val" in drop else None,
    }
    return summary


def _fmt(n):
    return "{:,}".format(n)


def write_markdown(path, report, chart_name):
    variants, best = report["variants"], report["best"]
    t = report["targets"]
    lines = ["# Benchmark: %s on the simulated Cortex-M55" % report["model"], "",
             "Instruction counts from QEMU mps3-an547 with `-icount shift=0` (deterministic: "
             "every ELF ran twice and the counts agree). One inference of the bench image.", "",
             "| variant | instructions | instr/MAC | in kernels | outside kernels | text | "
             "flash | RAM | arena (lower bound) |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for v in variants.values():
        lines.append("| %s | %s | %.3f | %s | %s | %s (%.4f) | %s | %s | %s (%s) |" % (
            v["name"], _fmt(v["instructions"]), v["instr_per_mac"], _fmt(v["instructions_in_kernels"]),
            _fmt(v["instructions_outside_kernels"]), v["text"], v["score"], _fmt(v["flash_bytes"]),
            _fmt(v["ram_bytes"]), _fmt(v["arena_bytes"]), _fmt(v["arena_lower_bound"])))
    met = t["met"]
    mark = {True: "met", False: "NOT met"}
    lines += ["", "## Targets (issue 7)", "",
              "| target | value | |", "|---|---:|---|",
              "| stock TVM C / best, instructions | %.2fx (>= %.0fx) | %s |"
              % (t["stock_over_best"], t["stock_over_best_target"], mark[met["stock_over_best"]]),
              "| instructions per MAC, best | %.3f (<= %.2f) | %s |"
              % (t["instr_per_mac"], t["instr_per_mac_target"], mark[met["instr_per_mac"]]),
              "| onnx2c peer (%s instructions on the 48x320 recognizer, %.2f/MAC) / best, per MAC | %.2fx | %s |"
              % (_fmt(t["onnx2c_peer_instructions"]), t["onnx2c_peer_instr_per_mac"], t["onnx2c_over_best"],
                 mark[met["beats_onnx2c"]]),
              "| arena = peak-live lower bound | %s | %s |"
              % (_fmt(variants[best]["arena_bytes"]), mark[met["arena_equals_lower_bound"]]),
              "| weights bytes - params x 4 (alignment padding) | %s | |" % _fmt(t["weights_padding_bytes"])]
    host = report.get("host_costs")
    if host:
        lines += ["", "## Host-side costs (measured in a fresh copy of the tree, this run)", "",
                  "| step | seconds | / `scons -n` |", "|---|---:|---:|"]
        for key, label in (("cold_build_s", "cold build of the deploy ELF (no training)"),
                           ("codegen_s", "codegen (TVM) inside it"),
                           ("noop_build_s", "no-op rebuild"),
                           ("dry_run_s", "`scons -n` of the same tree")):
            if host.get(key) is not None:
                lines.append("| %s | %.2f | %.1f |" % (label, host[key], host[key] / host["dry_run_s"]))
        noop_ok = host.get("noop_build_s") is not None and host["noop_build_s"] <= 2.0
        lines.append("")
        lines.append("No-op rebuild target <= 2 s: %s." % mark[noop_ok])
        for r in host.get("noop_rebuilt") or []:
            lines.append("- the no-op build rebuilt `%s` because %s" % (r["target"], r["because"]))
    lines += ["", "## Per kernel: %s" % best, "", "![instructions per kernel](%s)" % chart_name, "",
              "| # | kernel | ops | MACs | instructions | instr/MAC | share |",
              "|---:|---|---|---:|---:|---:|---:|"]
    for k in sorted(variants[best]["kernels"], key=lambda k: -k["instructions"]):
        lines.append("| %d | %s | %s | %s | %s | %s | %.1f%% |" % (
            k["index"], k["kernel"], k["ops"], _fmt(k["macs"]), _fmt(k["instructions"]),
            "%.3f" % k["instr_per_mac"] if k["instr_per_mac"] is not None else "-",
            100 * k["share"]))
    lines += ["", "## Memory by section: %s" % best, "", "| section | bytes |", "|---|---:|"]
    for name, size in variants[best]["sections"].items():
        lines.append("| %s | %s |" % (name, _fmt(size)))
    if report.get("int8"):
        lines += _int8_markdown(report["int8"], variants[report["int8"]["variant"]], mark)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _int8_markdown(s, variant, mark):
    t, met = s["targets"], s["met"]

    def flag(key):
        return "-" if met[key] is None else mark[met[key]]
    lines = ["", "## int8 (issue 17): %s beside %s" % (s["variant"], s["fp32_variant"]), "",
             "The quantized model (%d int8 + %d fp32 layers, `./scons quantize`) through the int8 "
             "library kernels; accuracy of both models on the same images from the quantize step "
             "(onnxruntime on the host)." % (s["int8_layers"], s["fp32_layers"]), "",
             "| | fp32 | int8 | target | |", "|---|---:|---:|---:|---|",
             "| text (score) | %s (%.4f) | %s (%.4f) | | |" % (s["fp32_text"], s["fp32_score"], s["text"],
                                                             s["score"]),
             "| instructions | %s | %s (%.2fx fewer) | <= %s | %s |" % (
                 _fmt(s["fp32_instructions"]), _fmt(s["instructions"]), s["speedup"],
                 _fmt(t["instructions"]), flag("instructions")),
             "| instructions per MAC | | %.3f | <= %.2f | %s |" % (s["instr_per_mac"], t["instr_per_mac"],
                                                                  flag("instr_per_mac")),
             "| weights bytes | %s | %s | <= %s | %s |" % (_fmt(s["fp32_weights_bytes"]), _fmt(s["weights_bytes"]),
                                                          _fmt(t["weights_bytes"]), flag("weights_bytes")),
             "| arena bytes | %s | %s | <= %s | %s |" % (_fmt(s["fp32_arena_bytes"]), _fmt(s["arena_bytes"]),
                                                        _fmt(t["arena_bytes"]), flag("arena_bytes")),
             "| nothing in DDR (memory=onchip) | | %s | | %s |" % (
                 ", ".join("%s %s" % (k, _fmt(v)) for k, v in sorted(s["regions"].items())),
                 flag("nothing_in_ddr"))]
    for split, a in s["accuracy"].items():
        key = "drop_test" if split == "test" else "drop_real_val" if split == "real_val" else None
        limit = t["drop_test_points"] if split == "test" else t["drop_real_val_points"]
        lines.append("| word accuracy, %s (%d images) | %.4f | %.4f (%+.2f points, same text %.1f%%) | "
                     "<= -%.1f points | %s |" % (split, a["images"], a["fp32_word_acc"], a["int8_word_acc"],
                                                 -a["drop_points"], 100 * a["same_text"], limit,
                                                 flag(key) if key else "-"))
    lines += ["", "### Per kernel: %s" % s["variant"], "",
              "| # | kernel | ops | MACs | instructions | instr/MAC | share |",
              "|---:|---|---|---:|---:|---:|---:|"]
    for k in sorted(variant["kernels"], key=lambda k: -k["instructions"]):
        lines.append("| %d | %s | %s | %s | %s | %s | %.1f%% |" % (
            k["index"], k["kernel"], k["ops"], _fmt(k["macs"]), _fmt(k["instructions"]),
            "%.3f" % k["instr_per_mac"] if k["instr_per_mac"] is not None else "-", 100 * k["share"]))
    return lines


def write_chart(path, report):
    """Instructions per kernel call, one bar series per variant (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(report["variants"].values())
    count = len(variants[0]["kernels"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 8), sharex=True)
    width = 0.8 / len(variants)
    for i, v in enumerate(variants):
        xs = [k["index"] + (i - (len(variants) - 1) / 2) * width for k in v["kernels"]]
        top.bar(xs, [k["instructions"] for k in v["kernels"]], width, label=v["name"])
        bottom.bar(xs, [k["instr_per_mac"] or 0 for k in v["kernels"]], width, label=v["name"])
    top.set_yscale("log")
    top.set_ylabel("instructions")
    top.set_title("%s: instructions per kernel call (QEMU, -icount shift=0)" % report["model"])
    top.legend()
    bottom.axhline(TARGET_INSTR_PER_MAC, color="black", linewidth=0.8, linestyle="--")
    bottom.set_yscale("log")
    bottom.set_ylabel("instructions / MAC")
    bottom.set_xlabel("kernel call")
    bottom.set_xlim(-1, count)
    fig.tight_layout()
    # No timestamp or version in the file: the same numbers give the same bytes.
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def build_report(args):
    variants = {}
    for name, codegen_path, size_path, *logs in args.variant:
        runs = [(p, read_run(p)) for p in logs]
        variants[name] = variant_summary(name, read_json(codegen_path), read_json(size_path), runs)
    for role, name in (("--baseline", args.baseline), ("--best", args.best)):
        if name not in variants:
            raise BenchError("%s %s: no such variant (have %s)" % (role, name, ", ".join(variants)))
    int8 = [args.int8] if args.int8 else []
    if args.int8 and args.int8 not in variants:
        raise BenchError("--int8 %s: no such variant (have %s)" % (args.int8, ", ".join(variants)))
    targets, problems = compare(variants, args.baseline, args.best, int8)
    report = {"model": args.model, "baseline": args.baseline, "best": args.best,
              "variants": variants, "targets": targets}
    if args.int8:
        quant = read_json(args.quant_report) if args.quant_report else None
        report["int8"] = int8_summary(variants[args.int8], variants[args.best], quant)
    if args.host_costs:
        report["host_costs"] = read_json(args.host_costs)
    return report, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", nargs="+", action="append", required=True,
                    metavar="ARG", help="NAME CODEGEN_REPORT SIZE_JSON LOG [LOG...]")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--best", required=True)
    ap.add_argument("--model", default="model")
    ap.add_argument("--host-costs")
    ap.add_argument("--int8", help="the variant that runs the quantized model")
    ap.add_argument("--quant-report", help="codegen.quantize's report.json (fp32 vs int8 accuracy)")
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args(argv)
    for spec in args.variant:
        if len(spec) < 4:
            ap.error("--variant needs NAME CODEGEN_REPORT SIZE_JSON LOG [LOG...]")
    try:
        report, problems = build_report(args)
    except (BenchError, OSError, KeyError, ValueError) as err:
        print("error: bench: %s" % err, file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
        handle.write("\n")
    write_markdown(os.path.join(args.out_dir, "report.md"), report, "kernels.png")
    write_chart(os.path.join(args.out_dir, "kernels.png"), report)
    best = report["variants"][report["best"]]
    t = report["targets"]
    print("bench: %s %s instructions (%.3f/MAC), stock C %.2fx more, onnx2c peer %.2fx more per MAC; "
          "report in %s/report.md" % (report["best"], _fmt(best["instructions"]), best["instr_per_mac"],
                                      t["stock_over_best"], t["onnx2c_over_best"], args.out_dir))
    if report.get("int8"):
        s = report["int8"]
        print("bench: %s %s instructions (%.3f/MAC, %.2fx fewer than fp32), weights %s B, arena %s B"
              % (s["variant"], _fmt(s["instructions"]), s["instr_per_mac"], s["speedup"],
                 _fmt(s["weights_bytes"]), _fmt(s["arena_bytes"])))
    for problem in problems:
        print("error: bench: %s" % problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    from model.errors import run_main
    sys.exit(run_main(main, paddle=False))
