"""host/labels.py: the class table the firmware decodes with."""
import json
import subprocess

import pytest

from host import labels


def _model_dir(tmp_path, chars, classes, space=True):
    (tmp_path / "dict.txt").write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    (tmp_path / "meta.json").write_text(json.dumps({
        "input_shape": [1, 3, 48, 320], "num_classes": classes, "use_space_char": space,
        "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "name": "t"}))
    return str(tmp_path)


def test_blank_first_space_last(tmp_path):
    table, meta = labels.read_labels(_model_dir(tmp_path, ["a", "b", "\u4e2d"], 5))
    assert table == ["", "a", "b", "\u4e2d", " "]


def test_count_mismatch_is_one_clear_error(tmp_path):
    with pytest.raises(labels.LabelError) as err:
        labels.read_labels(_model_dir(tmp_path, ["a", "b"], 97))
    assert "has 2 entries" in str(err.value) and "outputs 97" in str(err.value)


def test_c_table_compiles_and_round_trips(tmp_path):
    chars = ["a", '"', "\\", "?", "\u00e9", "\u4e2d", "7"]
    table, meta = labels.read_labels(_model_dir(tmp_path, chars, len(chars) + 2))
    source = labels.render_c(table, meta)
    (tmp_path / "labels.h").write_text(open("firmware/app/ocr/labels.h").read())
    (tmp_path / "labels.c").write_text(source)
    (tmp_path / "dump.c").write_text(
        '#include <stdio.h>\n#include "labels.h"\n'
        'int main(void){for(unsigned i=0;i<ocr_label_count;i++)printf("%s\\n",ocr_labels[i]);'
        'printf("%g %g\\n",ocr_input_mean[0],ocr_input_std[2]);return 0;}\n')
    exe = tmp_path / "dump"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(tmp_path / "dump.c"),
                    str(tmp_path / "labels.c"), "-I", str(tmp_path)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, check=True).stdout.decode("utf-8")
    assert out.split("\n")[:-2] == table
    assert out.split("\n")[-2] == "0.5 0.5"


def test_main_reports_error_and_writes_nothing(tmp_path, capsys):
    model = _model_dir(tmp_path, ["a"], 9)
    out = tmp_path / "labels.c"
    assert labels.main(["--model-dir", model, "--out", str(out)]) == 1
    assert not out.exists()
    assert capsys.readouterr().err.startswith("error: ")
