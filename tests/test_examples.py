"""The worked examples run as the docs say (at a small size)."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_neurogym_dms_runs_and_is_analysed(tmp_path, capsys):
    pytest.importorskip("neurogym")
    example = _load("neurogym_dms")
    out = tmp_path / "dms"
    tables = example.main(["--out", str(out), "--iterations", "20", "--trials", "100",
                           "--step", "0.5"])
    printed = capsys.readouterr().out
    assert "trained 20 iterations" in printed and "report:" in printed
    status = tables["status"].set_index("analysis")["status"]
    assert status["within_time"] == "ran" and status["cross_time"] == "ran"
    assert status["cross_task"] == "skipped" and status["orthogonalization"] == "skipped"
    within = tables["within_time"]
    # four frames (sample, two delay halves, test); the sample is on screen in the first
    assert sorted(within["frame"].unique()) == [0, 1, 2, 3]
    first = within[(within["stimulus"] == 0) & (within["frame"] == 0)]["accuracy"]
    assert first.iloc[0] > 0.9
    assert (out / "report.html").is_file()
    assert (out / "analysis" / "cross_time.csv").is_file()
