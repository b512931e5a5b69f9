"""User errors at the command line: one clear line, exit status 2, no traceback (L1)."""

import subprocess
import sys

import pytest


def wmgeom(*args, cwd):
    return subprocess.run([sys.executable, "-m", "wmgeom.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("model:\n  architecture: transformer\n", "model.architecture"),
        ("modle: {}\n", "unknown key 'modle'"),
        ("model:\n  backbone: vgg\n", "model.backbone"),
        ("train:\n  lr: -1\n", "train.lr"),
    ],
)
def test_bad_config_one_line_no_traceback(tmp_path, yaml_text, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    res = wmgeom("train", "--config", str(cfg), "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_record_on_a_folder_that_is_not_a_run(tmp_path):
    res = wmgeom("record", str(tmp_path), cwd=tmp_path)
    assert res.returncode == 2
    assert "not a wmgeom run directory" in res.stderr
    assert "Traceback" not in res.stderr
