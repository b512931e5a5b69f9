"""``wmgeom analyze --recording``: an NWB file, an xarray Dataset and arrays + a table, each
analysed end to end from the command line; errors are one line."""

import sys

import numpy as np
import pytest
from data._arrays import ITEMS, planted_arrays

from wmgeom.data import TrialData
from wmgeom.io import write_dataset

CONFIG = """\
read:
  features: [orientation, color]
  items: [{items}]
protocol: {{device: cpu}}
analyses: [within_time, cross_time, cross_task]
"""


def run_main(monkeypatch, capsys, *args):
    """``wmgeom ARGS`` in this process: (exit status, stderr)."""
    from wmgeom import cli

    monkeypatch.setattr(sys, "argv", ["wmgeom", *map(str, args)])
    try:
        cli.main()
    except SystemExit as exc:  # errors exit with their status; success may exit with 0
        return exc.code or 0, capsys.readouterr().err
    return 0, capsys.readouterr().err


def _check_output(code, err, out):
    text = " ".join(err.split())
    assert code == 0, err
    assert "ran within_time, cross_time" in text
    assert "skipped cross_task" in text and "only one task recorded" in text
    assert (out / "analysis" / "within_time.csv").is_file()
    assert (out / "analysis" / "findings.csv").is_file()
    assert "Data analysed" in (out / "report.html").read_text()


@pytest.fixture(scope="module")
def planted():
    return planted_arrays(n_trials=60)


def test_arrays_and_table(monkeypatch, capsys, tmp_path, planted):
    activity, table, time, _ = planted
    np.savez(tmp_path / "session.npz", activity=activity, time=time)
    table.to_csv(tmp_path / "session.csv", index=False)
    (tmp_path / "cfg.yaml").write_text(CONFIG.format(items=", ".join(ITEMS)))
    out = tmp_path / "out"
    code, err = run_main(monkeypatch, capsys, "analyze", "--recording", tmp_path / "session.npz",
                         "--config", tmp_path / "cfg.yaml", "--out", out, "--no-progress")
    _check_output(code, err, out)


def test_xarray_dataset(monkeypatch, capsys, tmp_path, planted):
    activity, table, time, _ = planted
    data = TrialData.from_arrays(activity, table, features=["orientation", "color"],
                                 items=ITEMS, time=time)
    write_dataset(data.to_xarray(), tmp_path / "session.nc")
    (tmp_path / "cfg.yaml").write_text("protocol: {device: cpu}\n"
                                       "analyses: [within_time, cross_time, cross_task]\n")
    monkeypatch.chdir(tmp_path)
    code, err = run_main(monkeypatch, capsys, "analyze", "-r", "session.nc", "-c", "cfg.yaml",
                         "--no-progress")
    _check_output(code, err, tmp_path / "session-analysis")  # the default --out


def test_nwb_file(monkeypatch, capsys, tmp_path):
    pytest.importorskip("pynwb")
    from data._nwb import FEATURES, write_planted_nwb
    from data._nwb import ITEMS as NWB_ITEMS

    path = write_planted_nwb(tmp_path / "session.nwb", n_trials=80, n_units=30)
    cfg = CONFIG.format(items=", ".join(NWB_ITEMS)).replace(
        "read:\n", "read:\n  bin_size: 0.1\n  window: [0.0, 1.7]\n")
    (tmp_path / "cfg.yaml").write_text(cfg)
    assert list(FEATURES) == ["orientation", "color"]  # the features CONFIG names
    out = tmp_path / "out"
    code, err = run_main(monkeypatch, capsys, "analyze", "--recording", path, "--config",
                         tmp_path / "cfg.yaml", "--out", out, "--no-progress")
    _check_output(code, err, out)


@pytest.mark.parametrize("args, yaml_text, message", [
    (("analyze",), None, "give one or more run directories, or --recording FILE"),
    (("analyze", "RUN", "--recording", "x.npz"), None,
     "give run directories or --recording files, not both"),
    (("analyze", "RUN", "--config", "cfg.yaml"), "{}\n",
     "--config applies to --recording files"),
    (("analyze", "--recording", "x.mat"), None, "unknown kind of file '.mat'"),
    (("analyze", "--recording", "x.npz", "--config", "cfg.yaml"), "frames: {mode: bins}\n",
     "recording config: frames.mode = 'bins'"),
    (("analyze", "--recording", "x.npz", "--config", "cfg.yaml"),
     "read: {features: [color], items: [a, b, c, d]}\n",
     "the trial table has no column 'd_color' (feature 'color' of item 'd')"),
])
def test_errors_are_one_line(monkeypatch, capsys, tmp_path, planted, args, yaml_text, message):
    activity, table, time, _ = planted
    np.savez(tmp_path / "x.npz", activity=activity, time=time)
    table.to_csv(tmp_path / "x.csv", index=False)
    if yaml_text is not None:
        (tmp_path / "cfg.yaml").write_text(yaml_text)
    monkeypatch.chdir(tmp_path)
    code, err = run_main(monkeypatch, capsys, *args)
    assert code == 2 and message in " ".join(err.split())
    assert "Traceback" not in err
