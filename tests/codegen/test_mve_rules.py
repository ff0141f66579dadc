"""The LLVM-MVE schedule rules on one small model, run on QEMU's Cortex-M55
against Paddle (1e-4, same argmax): the pointwise micro-kernel for 1x1
convolutions with a multiple of 4 output channels (rule 3e, rows of 20 = two
blocks of 7 and one of 6), output-channel blocking of the other 1x1
convolutions and matmuls with packed weights (rules 3c/3d, including rows
that are not a multiple of 4 and a remainder block), dead window taps over a
1-row map (4b) and a 5x5 depthwise convolution (with its bias and hard-swish:
flib's library kernel since there is one; rule 4c keeps the depthwise layers
it does not take). Also checks that the rules fired: weights repacked, the
micro-kernel linked and called, no stack array over 4 KB."""
import json
import os
import re
import subprocess

import numpy as np
import pytest

from codegen_helpers import export


def rules_model(paddle):
    nn = paddle.nn

    class Net(nn.Layer):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2D(3, 16, 3, padding=1, stride=(2, 1))
            self.dw5 = nn.Conv2D(16, 16, 5, padding=2, groups=16)        # flib depthwise
            self.pw = nn.Conv2D(16, 24, 1)                                 # rule 3e
            self.pw3 = nn.Conv2D(24, 18, 1)                                # rules 3c/3d
            self.pool = nn.AvgPool2D((4, 1))
            self.row = nn.Conv2D(18, 12, 3, padding=1)                     # rule 4b
            self.fc = nn.Linear(12, 37)                                    # 3c, 37 columns

        def forward(self, x):
            x = nn.functional.hardswish(self.stem(x))
            x = nn.functional.hardswish(self.dw5(x))
            x = nn.functional.hardswish(self.pw(x))
            x = nn.functional.hardswish(self.pw3(x))
            x = self.pool(x)                      # 1 x 18 x 1 x 20
            x = nn.functional.silu(self.row(x))
            x = x.squeeze(2).transpose([0, 2, 1])  # 1 x 20 x 12
            return nn.functional.softmax(self.fc(x), axis=-1)
    return Net(), [1, 3, 8, 20]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import paddle
    from codegen import compiler
    paddle.seed(11)
    model, shape = rules_model(paddle)
    root = tmp_path_factory.mktemp("mve_rules")
    model_dir = export(model, shape, root / "model")
    files, report = compiler.build(model_dir, None, backend="llvm-mve")
    compiler.write_outputs(str(root / "gen"), files)
    return model_dir, str(root / "gen"), report, files


def test_rules_fired(built):
    _, gen, report, files = built
    # rule 3d: repacked weights are constants of their own (same bytes in total)
    assert report == json.loads(files["report.json"]) | {"timing_seconds":
                                                         report["timing_seconds"]}
    assert report["totals"]["max_kernel_stack_array_bytes"] <= 4096
    assert report["totals"]["arena_equals_lower_bound"]
    assert report["totals"]["weights_bytes"] % 16 == 0
    shapes = [i["shape"] for k in report["kernels"] for i in k["inputs"] if "weights_offset" in i]
    assert [6, 16, 1, 1, 4] in shapes, shapes  # 24 output channels packed by 4 (rule 3e)
    assert any(len(s) == 5 and s[-1] in (2, 3) for s in shapes), shapes  # packed 1x1 weights
    # rule 3e: kernels.o carries the micro-kernel and a generated kernel calls it
    obj = os.path.join(gen, "kernels.o")
    symbols = subprocess.run(["arm-none-eabi-nm", obj], capture_output=True, text=True,
                             check=True).stdout
    assert re.search(r" T codegen_pointwise_f32x4$", symbols, re.M), symbols
    relocs = subprocess.run(["arm-none-eabi-objdump", "-r", obj], capture_output=True,
                            text=True, check=True).stdout
    assert "codegen_pointwise_f32x4" in relocs


def test_rules_run_on_qemu_and_match_paddle(built):
    from codegen import check
    model_dir, gen, _, _ = built
    result = check.check(model_dir, gen, n=2, device="qemu")
    assert result["ok"], result
    assert result["device_max_abs_diff_paddle"] <= 1e-4 and result["device_argmax_equal_paddle"]
    assert np.all(np.array(result["device_instructions"]) > 0)


def test_padded_pointwise_convolution_keeps_its_loops_and_matches_paddle(tmp_path):
    """A 1x1 convolution with zero padding has a bounds test in its reduction:
    rule 3e shapes it, the micro-kernel cannot take it, the loops stay."""
    import paddle
    from codegen import check, compiler
    paddle.seed(5)
    net = paddle.nn.Sequential(paddle.nn.Conv2D(8, 8, 1, padding=1), paddle.nn.ReLU())
    model_dir = export(net, [1, 8, 4, 12], tmp_path / "model")
    files, _ = compiler.build(model_dir, None, backend="llvm-mve")
    compiler.write_outputs(str(tmp_path / "gen"), files)
    symbols = subprocess.run(["arm-none-eabi-nm", str(tmp_path / "gen" / "kernels.o")],
                             capture_output=True, text=True, check=True).stdout
    assert "codegen_pointwise_f32x4" not in symbols
    result = check.check(model_dir, str(tmp_path / "gen"), n=2, device="qemu")
    assert result["ok"] and result["device_max_abs_diff_paddle"] <= 1e-4, result
