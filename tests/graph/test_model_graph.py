"""The model half of the graph: what re-runs after which change, byte-identical rebuilds.

These run the real recognizer pipeline (export, TVM codegen, firmware,
simulator) once per module in a temporary copy of the repository, then make
one change at a time and check exactly which steps run again.
"""
import hashlib
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
