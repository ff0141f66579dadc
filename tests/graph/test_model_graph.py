"""The model half of the graph: what re-runs after which change, byte-identical rebuilds.

These run the real recognizer pipeline (export, TVM codegen, firmware,
simulator) once per module in a temporary copy of the repository, then make
one change at a time and check exactly which steps run again.
"""
import hashlib
import json
import os
import shutil

from graph_helpers import V3, actions


def kinds(output):
    """{'TVM', 'CC', ...}: which kinds of step ran."""
    return {step.split()[0] for step in actions(output)}


def test_noop_deploy_runs_nothing_and_prints_the_text(built_tree):
    rc, out = built_tree.scons("deploy", *V3)
    assert actions(out) == [], out
    assert "text: " in out and "instructions: " in out


def test_editing_the_app_rebuilds_only_its_object_link_and_run(built_tree):
    built_tree.edit("firmware/app/ocr/main.c", 'printf("ocr: PaddleOCR', 'printf("ocr: PaddleOCR  ')
    rc, out = built_tree.scons("deploy", *V3)
    assert sorted(actions(out)) == sorted([
        "CC build/firmware/ocr/en_PP-OCRv3_rec-llvm-mve-best/main.o",
        "LINK build/firmware/ocr.elf", "SIZE build/firmware/ocr.elf.size.json",
        "RUN build/firmware/ocr.elf"]), out


def test_a_new_image_reruns_only_conversion_link_and_simulator(built_tree):
    shutil.copy(built_tree.file("host/samples/qbhouse.png"), built_tree.file("mine.png"))
    rc, out = built_tree.scons("deploy", "image=mine.png", *V3)
    # The same bytes under another name: at most the conversion runs (its blob is
    # identical), never the link or the simulator.
    assert kinds(out) <= {"IMAGES"}, out
    from PIL import Image
    Image.open(built_tree.file("mine.png")).rotate(180).save(built_tree.file("mine.png"))
    rc, out = built_tree.scons("deploy", "image=mine.png", *V3)
    assert sorted(kinds(out)) == ["AS", "IMAGES", "LINK", "RUN", "SIZE"], out


def test_editing_codegen_reruns_tvm_but_not_the_model(built_tree):
    built_tree.edit("codegen/__main__.py", '"""', '"""Edited by a graph test.\n', )
    rc, out = built_tree.scons("deploy", *V3)
    assert "TVM" in kinds(out) and not kinds(out) & {"EXPORT", "TRAIN", "RENDER"}, out


def test_editing_the_training_config_reexports_but_does_not_train(built_tree):
    built_tree.edit("model/configs/en_PP-OCRv3_rec.yml", "Loss:", "# edited by a graph test\nLoss:")
    rc, out = built_tree.scons("deploy", *V3)
    assert "EXPORT" in kinds(out) and "TRAIN" not in kinds(out), out


def _digest(paths):
    return {os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}


def test_clean_rebuilds_are_byte_identical(built_tree):
    """Same inputs, same bytes: what makes a shared CacheDir safe."""
    gen = "build/codegen/en_PP-OCRv3_rec-llvm-mve-best"
    files = [built_tree.file(p) for p in (gen + "/model.c", gen + "/model.h", gen + "/kernels.o",
                                         gen + "/weights.bin", "build/firmware/ocr.elf")]
    before = _digest(files)
    built_tree.scons("-c", "deploy", *V3)
    assert not os.path.exists(files[-1])
    built_tree.scons("deploy", *V3)
    assert _digest(files) == before


def test_bench_profiles_every_variant_deterministically(built_tree):
    """`scons bench`: stock and best schedules on the device, each ELF run twice
    (the bench itself fails when the two runs disagree or the variants read
    different text); a second bench re-runs only the time measurement and the report."""
    rc, out = built_tree.scons("bench", *V3)
    with open(built_tree.file("build/bench/report.json")) as handle:
        report = json.load(handle)
    variants = report["variants"]
    assert sorted(variants) == ["best-c", "best-llvm-mve", "stock-c"]
    texts = {v["text"] for v in variants.values()}
    assert len(texts) == 1
    for v in variants.values():
        assert v["runs"] == 2 and v["runs_agree"]
        assert len(v["kernels"]) == v["kernel_calls"] > 0
        assert v["instructions"] == v["instructions_in_kernels"] + v["instructions_outside_kernels"]
        assert v["arena_bytes"] == v["arena_lower_bound"]
    # the project's schedules beat TVM's stock ones by a wide margin on the same model
    assert report["targets"]["stock_over_best"] > 2
    assert report["host_costs"]["cold_build_s"] > report["host_costs"]["noop_build_s"] > 0
    for name in ("report.md", "kernels.png"):
        assert os.path.getsize(built_tree.file("build/bench/" + name)) > 0
    rc, out = built_tree.scons("bench", *V3)
    assert "TIME" in kinds(out) and kinds(out) <= {"TIME", "BENCH"}, out
