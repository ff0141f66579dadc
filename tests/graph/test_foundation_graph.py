"""The firmware half of the graph: incremental rebuilds and clear failures."""
import json
import os

from graph_helpers import actions


def test_deploy_runs_then_noop_runs_nothing(tree):
    rc, out = tree.scons("deploy", "app=platform_check")
    assert "RUN" in " ".join(actions(out))
    assert "instructions:" in out and "EXITTHESIM" in out
    status = json.load(open(tree.file("build/run/platform_check/run.status")))
    assert status["passed"] is True and status["run_status"] == 0

    rc, out = tree.scons("deploy", "app=platform_check")
    assert actions(out) == [], out


def test_editing_one_app_source_rebuilds_only_its_chain(tree):
    tree.scons("deploy", "app=platform_check")
    tree.edit("firmware/app/platform_check/main.c", 'printf("check: ', 'printf("checked: ')
    rc, out = tree.scons("deploy", "app=platform_check")
    assert sorted(actions(out)) == sorted(["CC build/firmware/app/platform_check/main.o",
                    "LINK build/firmware/platform_check.elf",
                    "SIZE build/firmware/platform_check.elf.size.json",
                    "RUN build/firmware/platform_check.elf"]), out


def test_changing_the_simulator_timeout_reruns_only_the_simulator(tree):
    tree.scons("deploy", "app=platform_check")
    rc, out = tree.scons("deploy", "app=platform_check", "timeout=321")
    assert actions(out) == ["RUN build/firmware/platform_check.elf"], out


def test_fault_fails_deploy_with_one_clear_line(tree):
    rc, out = tree.scons("deploy", "app=fault_demo", check=False)
    assert rc != 0
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "firmware fault" in errors[0], out
    status = json.load(open(tree.file("build/run/fault_demo/run.status")))
    assert status["passed"] is False


def test_hang_is_stopped_by_the_timeout(tree):
    rc, out = tree.scons("deploy", "app=hang_demo", "timeout=3", check=False)
    assert rc != 0
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "hangs" in errors[0], out
    assert json.load(open(tree.file("build/run/hang_demo/run.status")))["passed"] is False


def test_bad_settings_are_one_line_and_nonzero(tree):
    for args, words in [(["simulator=renode"], "must be one of qemu, fvp"),
                        (["timeout=never"], "whole number"),
                        (["bogus=1"], "unknown option 'bogus=1'"),
                        (["app=nope"], "no such firmware app"),
                        (["image=missing.png"], "image=missing.png: no such file"),
                        (["model=ppocrv9"], "must be one of ppocrv3_en, ppocrv3_en_released, ppocrv4"),
                        (["test_images=0"], "between 1 and 2000"),
                        (["image="], "image= is empty"),
                        (["cache_dir=/proc/nope"], "not a folder this user can write to"),
                        (["test_images=3", "test_shards=4"], "every shard needs an image"),
                        (["labels=missing.txt"], "labels=missing.txt: no such file"),
                        (["real_val=svt"], "expected SOURCE=all|COUNT|FRACTION"),
                        (["precision=int4"], "must be one of fp32, int8"),
                        (["config=model/configs/en_PP-OCRv3_rec.yml"], "go together")]:
        rc, out = tree.scons("deploy", *args, check=False)
        assert rc == 2, out
        assert out.strip().startswith("error:") and words in out and out.strip().count("\n") == 0, out


def test_help_lists_the_options_and_targets_from_the_table_that_checks_them(tree):
    import buildcfg
    rc, out = tree.scons("--help")
    for key in buildcfg.GRAPH_OPTIONS:
        assert "\n  %s " % key in out, key
    for target in ("deploy", "test", "eval", "bench"):
        assert "\n  %s " % target in out, target
    assert not os.path.exists(tree.file("build/.lock"))  # --help builds nothing, locks nothing


def test_missing_toolchain_and_simulator(tree):
    rc, out = tree.scons("deploy", "gcc_prefix=/nonexistent/arm-none-eabi-", check=False)
    assert rc == 2 and "toolchain" in out and out.strip().count("\n") == 0, out
    rc, out = tree.scons("deploy", "app=platform_check", "qemu_binary=/nonexistent/qemu", check=False)
    assert rc != 0
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not found" in errors[0], out
    assert not os.path.exists(tree.file("build/run/platform_check/run.status"))
