"""toolchain.cfg parsing: the shipped file loads, overrides apply, mistakes are one clear error."""
import os

import pytest

import buildcfg
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CFG = os.path.join(ROOT, "toolchain.cfg")


def test_shipped_file_loads_with_defaults():
    cfg = buildcfg.load(CFG, {})
    assert cfg["simulator"] == "qemu"
    assert cfg["cpu"] == "cortex-m55"
    assert cfg["float_abi"] == "hard"
    assert cfg["qemu_machine"] == "mps3-an547"
    assert isinstance(cfg["timeout"], int) and cfg["timeout"] > 0
    assert cfg["qemu_flags"] == [] and cfg["cache_dir"] == ""


def test_command_line_overrides_any_key():
    cfg = buildcfg.load(CFG, {"simulator": "fvp", "timeout": "900",
                              "fvp_flags": "-C cpu0.CFGITCMSZ=15 --stat"})
    assert cfg["simulator"] == "fvp"
    assert cfg["timeout"] == 900
    assert cfg["fvp_flags"] == ["-C", "cpu0.CFGITCMSZ=15", "--stat"]


def test_extra_keys_pass_through_but_unknown_keys_fail():
    buildcfg.load(CFG, {"image": "x.png"}, extra_keys=("image",))
    with pytest.raises(buildcfg.ConfigError, match="unknown option 'simulater=fvp'"):
        buildcfg.load(CFG, {"simulater": "fvp"}, extra_keys=("image",))


@pytest.mark.parametrize("key,value,message", [
    ("simulator", "renode", "must be one of qemu, fvp"),
    ("timeout", "soon", "whole number"),
    ("timeout", "0", "greater than zero"),
    ("cpu", "cortex-m4", "only cortex-m55"),
    ("opt_level", "fast", "optimisation flag"),
    ("float_abi", "soft", "must be one of hard, softfp"),
    ("gcc_prefix", "", "non-empty"),
])
def test_bad_values_name_the_key(key, value, message):
    with pytest.raises(buildcfg.ConfigError) as err:
        buildcfg.load(CFG, {key: value})
    assert key in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_key_in_file(tmp_path):
    text = open(CFG).read().replace("[simulator]", "[simulator]\nspeed = 3")
    path = tmp_path / "toolchain.cfg"
    path.write_text(text)
    with pytest.raises(buildcfg.ConfigError, match="unknown key 'speed' in \\[simulator\\]"):
        buildcfg.load(str(path), {})


def test_key_in_wrong_section_and_missing_key(tmp_path):
    text = open(CFG).read()
    moved = tmp_path / "moved.cfg"
    moved.write_text(text.replace("timeout = 120\n", "").replace("[qemu]\n", "[qemu]\ntimeout = 5\n"))
    with pytest.raises(buildcfg.ConfigError, match="belongs in \\[simulator\\]"):
        buildcfg.load(str(moved), {})
    missing = tmp_path / "missing.cfg"
    missing.write_text(text.replace("timeout = 120\n", ""))
    with pytest.raises(buildcfg.ConfigError, match="missing keys: timeout"):
        buildcfg.load(str(missing), {})


def test_missing_and_malformed_file(tmp_path):
    with pytest.raises(buildcfg.ConfigError, match="file not found"):
        buildcfg.load(str(tmp_path / "nope.cfg"), {})
    bad = tmp_path / "bad.cfg"
    bad.write_text("simulator = qemu\n")
    with pytest.raises(buildcfg.ConfigError):
        buildcfg.load(str(bad), {})
