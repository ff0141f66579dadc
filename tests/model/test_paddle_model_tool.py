"""The paddle_model SCons tool in a throw-away tree: smoke data -> train ->
export -> pretrained import, a no-op rebuild, and an option change that
re-runs exactly what depends on it."""
import os
import shutil
import subprocess
import sys

from model_helpers import ROOT

SCONSTRUCT = """
import os
env = Environment(ENV=os.environ.copy(), tools=["paddle_model"], PYTHON=os.sys.executable,
                  RENDERCOMSTR="  RENDER $TARGET", TRAINCOMSTR="  TRAIN $TARGET",
                  EXPORTCOMSTR="  EXPORT $TARGET", IMPORTCOMSTR="  IMPORT $TARGET")
cfg = "model/configs/en_PP-OCRv3_rec.yml"
splits = env.RenderSplits("build/data", cfg, SPLIT_COUNT=6)
labels = [t for t in splits if t.name == "label.txt"]
train = env.Train("build/train/smoke", [cfg] + labels, PROFILE="smoke",
                  TRAIN_STEPS=int(ARGUMENTS.get("steps", 2)))
ckpt = [t for t in train if t.name == "model.pdparams"]
env.ExportModel("build/model/rec", [cfg] + ckpt, MODEL_NAME="rec", SHAPE="3,32,320")
env.ImportPretrained("build/model/ppocrv4", [], MODEL_NAME="ppocrv4")
"""


def scons(tree, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q"] + list(args), cwd=tree,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [l.split()[0] for l in proc.stdout.splitlines() if l.startswith("  ")]


def test_graph_builds_then_rebuilds_only_what_changed(tmp_path):
    tree = str(tmp_path / "repo")
    for d in ("model", "site_scons", "host"):
        shutil.copytree(os.path.join(ROOT, d), os.path.join(tree, d),
                        ignore=shutil.ignore_patterns("__pycache__", "checkpoints"))
    with open(os.path.join(tree, "SConstruct"), "w") as f:
        f.write(SCONSTRUCT)
    assert sorted(scons(tree, ".")) == ["EXPORT", "IMPORT", "RENDER", "TRAIN"]
    for rel in ("build/data/val/label.txt", "build/data/test/images/test_00005.png",
                "build/train/smoke/metrics.json", "build/train/smoke/curves.png",
                "build/model/rec/inference.json", "build/model/rec/meta.json",
                "build/model/ppocrv4/inference.pdmodel"):
        assert os.path.isfile(os.path.join(tree, rel)), rel
    assert scons(tree, ".") == []
    # More steps: training resumes; the export follows only if the best
    # checkpoint's bytes changed (content decider), data and ppocrv4 never.
    acts = scons(tree, ".", "steps=3")
    assert "TRAIN" in acts and "RENDER" not in acts and "IMPORT" not in acts
    # The C kernels model.train compiles at run time are part of its signature.
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", "-n", "--tree=prune", "steps=3",
                           "build/train/smoke/metrics.json"], cwd=tree, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for dep in ("model/train.py", "model/fastops.py", "model/csrc/depthwise.c",
                "model/csrc/hardswish.c"):
        assert dep in proc.stdout, proc.stdout
