"""-DMODEL_PROFILE: model_run brackets every kernel call k with
model_profile_begin(k)/model_profile_end(k), in order, and model.h's kernel
table matches the report."""
import json
import subprocess

from codegen_helpers import export, paddle_seeded  # noqa: F401 (fixture)
from codegen import check, compiler

MAIN = r"""
#include <stdio.h>
#include "model.h"
static int depth, next, bad;
void model_profile_begin(int k) { if (depth++ != 0 || k != next) bad = 1; }
void model_profile_end(int k) { if (--depth != 0 || k != next++) bad = 1; }
static float in[MODEL_INPUT_SIZE], out[MODEL_OUTPUT_SIZE];
int main(void) {
    int rc = model_run(in, out);
    unsigned long long macs = 0;
    for (int k = 0; k < MODEL_NUM_KERNELS; k++) macs += model_kernel_info[k].macs;
    printf("%d %d %d %llu %s\n", rc, bad, next, macs, model_kernel_info[0].name);
    return 0;
}
"""


def test_profile_hooks_and_kernel_table(paddle_seeded, tmp_path):
    nn = paddle_seeded.nn
    net = nn.Sequential(nn.Conv2D(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2D(4, 2, 1),
                        nn.Softmax(axis=1))
    model_dir = export(net, [1, 3, 5, 5], tmp_path / "m")
    files, report = compiler.build(model_dir, None)
    gen = tmp_path / "gen"
    compiler.write_outputs(str(gen), files)
    (tmp_path / "main.c").write_text(MAIN)
    (tmp_path / "w.S").write_text(check.WEIGHTS_S % str(gen / "weights.bin"))
    exe = str(tmp_path / "prof")
    proc = subprocess.run(["gcc"] + check.CFLAGS + ["-DMODEL_PROFILE", "-I", str(gen),
                           str(gen / "kernels.c"), str(gen / "model.c"), str(tmp_path / "main.c"),
                           str(tmp_path / "w.S"), "-o", exe, "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    rc, bad, calls, macs, first = subprocess.run([exe], capture_output=True, text=True,
                                                 check=True).stdout.split()
    assert (rc, bad) == ("0", "0")
    assert int(calls) == len(report["kernels"]) == report["totals"]["kernel_calls"]
    assert int(macs) == report["totals"]["macs"] == 4 * 25 * 27 + 2 * 25 * 4
    assert first == json.loads(files["report.json"])["kernels"][0]["kernel"]
