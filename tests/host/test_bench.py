"""host.bench (the benchmark report) and host.buildcost (host build times), on
synthetic inputs: the real thing runs in `./scons bench` (tests/graph checks it)."""
import json
import os
import stat

import pytest

from host import bench, buildcost

KERNELS = [("tvmk_conv", "pad_temp+conv2d_nchw", 1000), ("tvmk_matmul", "matmul", 3000),
           ("tvmk_softmax", "softmax", 0)]


def codegen_report(path, backend, schedule):
    report = {"backend": backend, "schedule": schedule, "input_shape": [1, 3, 48, 320],
              "kernels": [{"index": i, "kernel": k, "ops": ops, "macs": macs}
                          for i, (k, ops, macs) in enumerate(KERNELS)],
              "totals": {"macs": 4000, "kernel_calls": 3, "arena_bytes": 640,
                         "peak_live_lower_bound": 640, "relax_static_plan_bytes": 800,
                         "weights_bytes": 16032, "params": 4000}}
    path.write_text(json.dumps(report))
    return str(path)


def size_report(path):
    path.write_text(json.dumps({"flash_bytes": 20000, "ram_bytes": 5000,
                                "regions": {"DDR": 24000, "ITCM": 1000},
                                "sections": {".text": {"bytes": 1000, "address": 0, "loaded": True},
                                             ".model_arena": {"bytes": 640, "address": 1,
                                                              "loaded": False}}}))
    return str(path)


def run_log(path, counts, text="QBHOUSE", score=0.998358, total=None):
    lines = ["ocr: PaddleOCR recognizer", "text: %s, score: %.6f" % (text, score),
             "instructions: %d" % (total if total is not None else sum(counts) + 500)]
    lines += ["kernel: %d %s instructions: %d" % (i, KERNELS[i][0], c) for i, c in enumerate(counts)]
    lines += ["run-status: 0", "EXITTHESIM"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def variant(tmp_path, name, backend, schedule, counts, **log_kw):
    folder = tmp_path / name
    folder.mkdir()
    return ["--variant", name, codegen_report(folder / "report.json", backend, schedule),
            size_report(folder / "size.json"),
            run_log(folder / "run_1.log", counts, **log_kw), run_log(folder / "run_2.log", counts, **log_kw)]


def test_report_has_ratios_per_kernel_numbers_and_chart(tmp_path):
    out = tmp_path / "bench"
    argv = variant(tmp_path, "stock-c", "c", "stock", [8000, 30000, 2000]) + \
        variant(tmp_path, "best-llvm-mve", "llvm-mve", "best", [400, 1200, 100]) + \
        ["--baseline", "stock-c", "--best", "best-llvm-mve", "--model", "m", "--out-dir", str(out)]
    assert bench.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    best = report["variants"]["best-llvm-mve"]
    assert best["instructions"] == 2200 and best["instructions_in_kernels"] == 1700
    assert best["instructions_outside_kernels"] == 500
    assert best["instr_per_mac"] == round(2200 / 4000, 4)
    assert [k["instructions"] for k in best["kernels"]] == [400, 1200, 100]
    assert best["kernels"][1]["instr_per_mac"] == 0.4 and best["kernels"][2]["instr_per_mac"] is None
    assert report["targets"]["stock_over_best"] == round(40500 / 2200, 3)
    assert report["targets"]["met"]["stock_over_best"] is True
    assert report["targets"]["met"]["instr_per_mac"] is False
    assert report["targets"]["weights_padding_bytes"] == 32
    markdown = (out / "report.md").read_text()
    assert "| best-llvm-mve | 2,200 |" in markdown and "tvmk_matmul" in markdown
    assert (out / "kernels.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_is_deterministic(tmp_path):
    argv = variant(tmp_path, "stock-c", "c", "stock", [8000, 30000, 2000]) + \
        ["--baseline", "stock-c", "--best", "stock-c"]
    outputs = []
    for n in (1, 2):
        out = tmp_path / ("out%d" % n)
        assert bench.main(argv + ["--out-dir", str(out)]) == 0
        outputs.append([(out / f).read_bytes() for f in bench_files()])
    assert outputs[0] == outputs[1]


def bench_files():
    return ("report.json", "report.md", "kernels.png")


def test_runs_that_disagree_fail(tmp_path, capsys):
    argv = variant(tmp_path, "stock-c", "c", "stock", [8000, 30000, 2000])
    run_log(tmp_path / "stock-c" / "run_2.log", [8000, 30001, 2000])
    rc = bench.main(argv + ["--baseline", "stock-c", "--best", "stock-c", "--out-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "not deterministic" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "report.json").exists()


def test_variants_reading_different_text_fail(tmp_path, capsys):
    argv = variant(tmp_path, "stock-c", "c", "stock", [8000, 30000, 2000], text="QBH0USE") + \
        variant(tmp_path, "best-c", "c", "best", [800, 3000, 200]) + \
        ["--baseline", "stock-c", "--best", "best-c", "--out-dir", str(tmp_path / "o")]
    assert bench.main(argv) == 1
    assert "stock-c reads 'QBH0USE' but best-c reads 'QBHOUSE'" in capsys.readouterr().err


def test_int8_section_sets_the_quantized_build_beside_fp32(tmp_path):
    """--int8: that variant reads another model (other score, maybe other text:
    not a failure), and the report gives its speed-up, memory, regions and the
    accuracy of both models from the quantize report, against issue 17's targets."""
    quant = tmp_path / "quant.json"
    quant.write_text(json.dumps({
        "layers": [{"name": "Conv.0", "precision": "fp32"}] + [{"name": "Conv.%d" % i, "precision": "int8"}
                                                               for i in range(1, 4)],
        "evaluations": {
            "test": {"count": 600, "fp32": {"word_acc": 0.935}, "int8": {"word_acc": 0.9383},
                     "same_text": 0.965},
            "real_val": {"count": 557, "fp32": {"word_acc": 0.9336}, "int8": {"word_acc": 0.9102},
                         "same_text": 0.948}}}))
    out = tmp_path / "bench"
    argv = variant(tmp_path, "best-llvm-mve", "llvm-mve", "best", [400, 1200, 100]) + \
        variant(tmp_path, "best-llvm-mve-int8", "llvm-mve", "best", [100, 300, 50], score=0.98) + \
        ["--baseline", "best-llvm-mve", "--best", "best-llvm-mve", "--int8", "best-llvm-mve-int8",
         "--quant-report", str(quant), "--out-dir", str(out)]
    assert bench.main(argv) == 0
    s = json.loads((out / "report.json").read_text())["int8"]
    assert s["instructions"] == 950 and s["fp32_instructions"] == 2200
    assert s["speedup"] == round(2200 / 950, 3)
    assert (s["int8_layers"], s["fp32_layers"]) == (3, 1)
    assert s["accuracy"]["real_val"]["drop_points"] == 2.34
    assert s["met"]["drop_real_val"] is False and s["met"]["drop_test"] is True
    assert s["met"]["nothing_in_ddr"] is False  # the synthetic size report has DDR
    markdown = (out / "report.md").read_text()
    assert "## int8 (issue 17): best-llvm-mve-int8 beside best-llvm-mve" in markdown
    assert "-2.34 points" in markdown
    assert "+0.33 points" in markdown and "--" not in markdown.replace("|---", "")  # a gain reads as one


def test_int8_variant_must_exist(tmp_path, capsys):
    argv = variant(tmp_path, "stock-c", "c", "stock", [8000, 30000, 2000]) + \
        ["--baseline", "stock-c", "--best", "stock-c", "--int8", "nope", "--out-dir", str(tmp_path / "o")]
    assert bench.main(argv) == 1
    assert "--int8 nope: no such variant" in capsys.readouterr().err


@pytest.mark.parametrize("broken, message", [
    ("no-kernels", "no per-kernel lines"),
    ("fault", "firmware fault"),
    ("unfinished", "did not finish"),
])
def test_unusable_logs_fail_with_one_line(tmp_path, capsys, broken, message):
    argv = variant(tmp_path, "v", "c", "best", [1, 2, 3])
    log = tmp_path / "v" / "run_1.log"
    text = log.read_text()
    if broken == "no-kernels":
        text = "\n".join(l for l in text.splitlines() if not l.startswith("kernel:"))
    elif broken == "fault":
        text = text.replace("run-status: 0", "BusFault (exception 5) at PC 0x1000")
    else:
        text = text.replace("EXITTHESIM", "")
    log.write_text(text)
    assert bench.main(argv + ["--baseline", "v", "--best", "v", "--out-dir", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_kernel_list_must_match_the_codegen_report(tmp_path, capsys):
    argv = variant(tmp_path, "v", "c", "best", [1, 2, 3])
    for n in (1, 2):
        path = tmp_path / "v" / ("run_%d.log" % n)
        path.write_text(path.read_text().replace("tvmk_matmul", "tvmk_other"))
    assert bench.main(argv + ["--baseline", "v", "--best", "v", "--out-dir", str(tmp_path / "o")]) == 1
    assert "kernel 1 is tvmk_other in the log but tvmk_matmul" in capsys.readouterr().err


def test_buildcost_parses_the_codegen_time():
    out = "\n".join(["Command execution time: build/model/ppocrv4/meta.json: 2.5 seconds",
                     "Command execution time: build/codegen/ppocrv4-llvm-mve-best/model.c: 17.25 seconds",
                     "Command execution time: build/codegen/ppocrv4-labels.c: 0.5 seconds",
                     "Command execution time: build/firmware/ocr.elf: 0.4 seconds"])
    assert buildcost.codegen_seconds(out) == 17.25
    assert buildcost.codegen_seconds("") is None


def test_buildcost_says_what_a_noop_build_rebuilt():
    out = "\n".join([
        "scons: rebuilding `build/model/user-checkpoint/meta.json' because "
        "`/tmp/state/latest/model.pdparams' changed",
        "  EXPORT  build/model/user-checkpoint/meta.json",
        "scons: building `build/x.o' because it doesn't exist",
        "cc -o build/x.o -c x.c",
        "scons: rebuilding `out.txt' because:",
        "           `a.txt' changed",
        "           `b.txt' changed",
        "cat a.txt b.txt > out.txt"])
    assert buildcost.rebuilt(out) == [
        {"target": "build/model/user-checkpoint/meta.json",
         "because": "`/tmp/state/latest/model.pdparams' changed"},
        {"target": "build/x.o", "because": "it doesn't exist"},
        {"target": "out.txt", "because": "`a.txt' changed; `b.txt' changed"}]
    assert buildcost.rebuilt("scons: done building targets.") == []


def test_buildcost_times_a_fresh_copy_of_the_tree(tmp_path):
    """A fake SCons that records where and how it was called: the copy has the
    sources, skips build/, and gets cold, no-op and dry runs."""
    root = tmp_path / "root"
    (root / "model").mkdir(parents=True)
    (root / "model" / "a.py").write_text("x = 1\n")
    (root / "build").mkdir()
    (root / "build" / "stale.o").write_text("old")
    calls = tmp_path / "calls.txt"
    script = tmp_path / "fake-scons"
    script.write_text("#!/bin/sh\n"
                      "echo \"$PWD $*\" >> %s\n"
                      "test -f model/a.py && test ! -e build/stale.o || exit 3\n"
                      "echo 'Command execution time: build/codegen/m-c-best/model.h: 3.0 seconds'\n" % calls)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "costs.json"
    assert buildcost.main(["--root", str(root), "--target", "build/firmware/ocr.elf", "--out", str(out),
                           "--scons", str(script), "model=ppocrv4"]) == 0
    result = json.loads(out.read_text())
    assert result["codegen_s"] == 3.0 and result["dry_run_s"] >= 0
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    assert all(l.split()[0] != str(root) for l in lines)  # ran in a copy ...
    assert not os.path.exists(lines[0].split()[0])        # ... which is gone afterwards
    assert "--debug=time" in lines[0] and "--debug=explain" in lines[1] and "-n" in lines[2].split()
    assert result["noop_rebuilt"] == []
    assert all("cache_dir= model=ppocrv4" in l for l in lines)


def test_buildcost_failure_is_one_line(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    script = tmp_path / "fake-scons"
    script.write_text("#!/bin/sh\necho 'error: something broke'\nexit 2\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert buildcost.main(["--root", str(root), "--target", "t", "--out", str(tmp_path / "c.json"),
                           "--scons", str(script)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: buildcost:") and "something broke" in err
    assert not (tmp_path / "c.json").exists()
