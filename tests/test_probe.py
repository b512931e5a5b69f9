"""The reliability probe, replayed: every bad input gives one line, and no folder it was
refused is touched (docs/guarantees.md).

Each case runs the command line in this process (``wmgeom.cli.main``; a subprocess for
signals) or calls a public function, asserts the one line it prints (exit status 2) or the
exception it raises, and that the folder it was given is exactly as before: the same
files, sizes and modification times.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.studies import nback, orientation
from wmgeom.studies.base import init_run_dir, run_lock

NBACK = {
    "stimuli": {"categories": ["chair", "car"], "azimuths": 6, "elevations": [15.0],
                "heldout_azimuth_every": 3, "image_size": 32},
    "model": {"hidden_size": 16, "channel_components": 16},
    "train": {"iterations": 20, "batch_size": 32, "eval_every": 10, "checkpoint_every": 10,
              "milestones": []},
    "eval": {"trials_per_task": 8},
    "record": {"trials_per_task": 12, "perceptual_components": 16},
}
ORIENTATION = {
    "study": "two-orientation",
    "model": {"n_units": 12},
    "task": {"delay1_min": 60, "delay1_max": 100, "delay2_min": 60, "delay2_max": 100},
    "train": {"iterations": 3, "milestones": [], "eval_every": 3, "checkpoint_every": 3,
              "batch_size": 8},
    "conditions": [{"name": "tiny", "rate_noise": 0.1, "ordinal": True}],
    "default_condition": "tiny",
    "analysis": {"n_eval_trials": 40, "n_grid": 5, "topology_points": 20,
                 "decoding_folds": 2, "tuning_bins": 4},
}


def merged(base: dict, changes: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def write_yaml(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def snapshot(folder: Path) -> dict | None:
    """Every file and folder beneath ``folder`` with its size and modification time."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size if p.is_file() else 0,
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def wmgeom(monkeypatch, capsys, *args) -> tuple[int, str]:
    """``wmgeom ARGS`` in this process: (exit status, stderr)."""
    from wmgeom import cli

    monkeypatch.setattr(sys, "argv", ["wmgeom", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code, capsys.readouterr().err


def refused(monkeypatch, capsys, folder: Path, *args) -> str:
    """Run ``wmgeom ARGS``; assert status 2, one line and ``folder`` untouched; the line."""
    before = snapshot(folder)
    code, err = wmgeom(monkeypatch, capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert snapshot(folder) == before
    return lines[0].removeprefix("error: ")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("WMGEOM_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(autouse=True)
def _in_tmp(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def ori_run(cache, tmp_path_factory):
    """A finished two-orientation run folder."""
    out = tmp_path_factory.mktemp("probe") / "ori"
    orientation.run(orientation.make_config("quick", ORIENTATION), out, progress=False)
    return out


@pytest.fixture(scope="module")
def nback_run(cache, tmp_path_factory):
    """A trained, recorded N-back run folder."""
    out = tmp_path_factory.mktemp("probe") / "nback"
    nback.train(nback.make_config("quick", NBACK), out, progress=False)
    nback.record(out, progress=False)
    return out


def copy_run(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


# --------------------------------------------------------------------------- owned folders


def test_another_study_cannot_take_over_a_run_folder(monkeypatch, capsys, tmp_path, ori_run,
                                                     nback_run):
    base = write_yaml(tmp_path / "base.yaml", NBACK)
    ori = write_yaml(tmp_path / "ori.yaml", ORIENTATION)
    assert refused(monkeypatch, capsys, ori_run, "train", "--config", base, "--out", ori_run,
                   "--resume", "--no-progress") == (
        f"{ori_run} holds a run of study 'two-orientation'; a run of study 'nback' cannot be "
        "written into it: choose another --out")
    assert refused(monkeypatch, capsys, nback_run, "run", "--config", ori, "--out", nback_run,
                   "--no-progress") == (
        f"{nback_run} holds a run of study 'nback'; a run of study 'two-orientation' cannot "
        "be written into it: choose another --out")


def test_another_configuration_of_the_same_study_is_refused(monkeypatch, capsys, tmp_path,
                                                            ori_run):
    other = write_yaml(tmp_path / "other.yaml", merged(ORIENTATION, {"model": {"n_units": 13}}))
    assert "holds a run with a different configuration" in refused(
        monkeypatch, capsys, ori_run, "run", "--config", other, "--out", ori_run)


def test_a_second_writer_is_refused(monkeypatch, capsys, tmp_path, nback_run):
    """The first writer holds the lock (here, this process): a second run of another config
    on a fresh folder, `record` of a run still training and `analyze --out` are refused."""
    fresh = tmp_path / "fresh"
    other = write_yaml(tmp_path / "o2.yaml", merged(ORIENTATION, {"model": {"n_units": 13}}))
    with run_lock(fresh):
        message = refused(monkeypatch, capsys, fresh, "run", "--config", other, "--out", fresh)
    assert message == (f"another wmgeom process is writing {fresh}; wait for it to finish or "
                       "choose another --out")
    with run_lock(nback_run):
        assert refused(monkeypatch, capsys, nback_run, "record", nback_run).startswith(
            f"another wmgeom process is writing {nback_run}")
        assert refused(monkeypatch, capsys, nback_run, "analyze", nback_run, "--out",
                       tmp_path / "out").startswith(f"another wmgeom process is writing "
                                                    f"{nback_run}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["cache", "cwd", "parent"])
def test_output_folders_that_would_lose_data(monkeypatch, capsys, tmp_path, cache, where):
    ori = write_yaml(tmp_path / "ori.yaml", ORIENTATION)
    out = {"cache": cache / "stimuli" / "somekey" / "myrun", "cwd": Path("."),
           "parent": Path("..")}[where]
    message = refused(monkeypatch, capsys, tmp_path, "run", "--config", ori, "--out", out)
    expected = {"cache": f"--out {out} lies inside the wmgeom cache ({cache.resolve()})",
                "cwd": "--out . is the working directory; choose a new folder",
                "parent": "--out .. holds the working directory; choose a new folder"}[where]
    assert message.startswith(expected)
    assert not (cache / "stimuli" / "somekey").exists()


@pytest.mark.parametrize("command", ["run", "analyze"])
def test_names_the_file_system_cannot_hold_are_refused_at_once(monkeypatch, capsys, tmp_path,
                                                               nback_run, command):
    name = "n" * 250  # its temporary sibling .<name>.xxxxxxxx.tmp would not fit either
    args = {"run": ["run", "--config", write_yaml(tmp_path / "o.yaml", ORIENTATION)],
            "analyze": ["analyze", nback_run]}[command]
    message = refused(monkeypatch, capsys, tmp_path, *args, "--out", tmp_path / name)
    assert message.startswith(f"--out: the name {'n' * 40}... has 250 bytes; this file "
                              "system holds names of up to")


def test_record_and_analyze_refuse_other_studies_and_missing_folders(monkeypatch, capsys,
                                                                      tmp_path, ori_run):
    for command in ("record", "analyze"):
        assert refused(monkeypatch, capsys, ori_run, command, ori_run).startswith(
            f"{ori_run} holds a run of study 'two-orientation'; `wmgeom {command}` works on "
            "runs of study 'nback'")
        assert refused(monkeypatch, capsys, tmp_path, command, tmp_path / "none") == (
            f"{tmp_path / 'none'} does not exist; pass the folder of a run (`wmgeom train "
            "--out DIR` or `wmgeom run --out DIR` makes one)")


def test_the_same_run_twice_in_analyze(monkeypatch, capsys, nback_run):
    again = nback_run / ".." / nback_run.name
    assert refused(monkeypatch, capsys, nback_run, "analyze", nback_run, again) == (
        f"{again} is given twice (as {nback_run} and {again}); give each run once")


def test_analyze_never_writes_over_another_runs_analysis(monkeypatch, capsys, tmp_path,
                                                        nback_run):
    other = copy_run(nback_run, tmp_path)
    assert refused(monkeypatch, capsys, nback_run, "analyze", other, "--out", nback_run) == (
        f"--out {nback_run} holds another run, whose analysis would be replaced by that of "
        "these runs; choose a new folder or one of the runs analysed")


def test_a_failed_step_never_changes_what_a_folder_accepts(tmp_path):
    """A folder holding only the config.yaml of a run that wrote nothing takes any run."""
    run = tmp_path / "run"
    init_run_dir(run, nback.make_config("quick", NBACK), resume=False)
    config = orientation.make_config("quick", ORIENTATION)
    init_run_dir(run, config, resume=False)
    assert yaml.safe_load((run / "config.yaml").read_text())["study"] == "two-orientation"


def test_a_checkpoint_edited_by_hand(monkeypatch, capsys, tmp_path, nback_run):
    run = copy_run(nback_run, tmp_path)
    path = run / "checkpoints" / "last.pt"
    payload = torch.load(path, weights_only=False)
    torch.save({k: v for k, v in payload.items() if k != "optimizer"}, path)
    assert refused(monkeypatch, capsys, run, "train", "--config", run / "config.yaml",
                   "--out", run, "--resume", "--no-progress") == (
        f"checkpoint {path} lacks optimizer; delete it and train again without --resume.")
    torch.save({**payload, "model": {}}, path)
    assert refused(monkeypatch, capsys, run, "record", run, "--no-progress") == (
        f"checkpoint {path} does not hold this run's model (its 'model' entry is empty); "
        "delete it and train again without --resume.")


# --------------------------------------------------------------------------- recordings


def _edit_recording(run: Path, edit) -> None:
    path = run / "activations.nc"
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    ds = edit(ds)
    path.unlink()
    ds.to_netcdf(path, engine="h5netcdf")


@pytest.mark.parametrize("edit, problem", [
    (lambda ds: ds.assign(hidden=ds["hidden"].where(ds["trial"] != 0)),
     "'hidden' holds NaN or infinite values"),
    (lambda ds: ds.isel(unit=slice(0, 8)),
     "its 'unit' dimension has 8 entries but the run's config has 16"),
    (lambda ds: ds.rename({"frame": "step"}),
     "'hidden' has dimensions ('trial', 'step', 'unit'), not ('trial', 'frame', 'unit')"),
    (lambda ds: ds.drop_vars("task"), "has no 'task' variable"),
])
def test_recordings_are_checked_against_their_run_before_analysis(monkeypatch, capsys,
                                                                  tmp_path, nback_run, edit,
                                                                  problem):
    run = copy_run(nback_run, tmp_path)
    _edit_recording(run, edit)
    assert refused(monkeypatch, capsys, run, "analyze", run, "--no-progress") == (
        f"{run / 'activations.nc'}: {problem}; record it again (`wmgeom record {run}`)")


def test_analysis_tables_edited_by_hand(monkeypatch, capsys, tmp_path, nback_run):
    import pandas as pd

    run = copy_run(nback_run, tmp_path)
    nback.analyze([run], progress=False, analyses=["relevant_irrelevant"], figures=False)
    findings = run / "analysis" / "findings.csv"
    pd.read_csv(findings).drop(columns="verdict").to_csv(findings, index=False)
    assert refused(monkeypatch, capsys, run, "report", run) == (
        f"analysis table {findings} lacks column(s) verdict; run `wmgeom analyze` again")
    nback.analyze([run], progress=False, analyses=["relevant_irrelevant"], figures=False)
    table = run / "analysis" / "relevant_irrelevant.csv"
    df = pd.read_csv(table).astype({"accuracy": object})
    df.loc[0, "accuracy"] = "high"
    df.to_csv(table, index=False)
    assert refused(monkeypatch, capsys, run, "report", run) == (
        f"analysis table {table}: column accuracy holds text ('high') where numbers belong; "
        "run `wmgeom analyze` again")


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("changes, message", [
    ({"stimuli": {"elevations": [float("nan")]}},
     "config: stimuli.elevations.0 = nan: Input should be a finite number"),
    ({"stimuli": {"azimuths": [0.0, float("inf")]}},
     "config: stimuli.azimuths.1 = inf: Input should be a finite number"),
    ({"train": {"lr": float("inf")}}, "config: train.lr = inf: Input should be a finite number"),
    ({"train": {"milestones": [-5]}}, "config: train: milestones [-5] lie outside 1..19"),
    ({"train": {"milestones": [5, 20]}}, "config: train: milestones [20] lie outside 1..19"),
    ({"train": {"iterations": True}},
     "config: train.iterations = True: give a number, not true/false"),
    ({"train": {"seed": -1}},
     "config: train.seed = -1: a seed is a non-negative integer (0, 1, 2, ...)"),
    ({"stimuli": {"seed": -1}},
     "config: stimuli.seed = -1: a seed is a non-negative integer (0, 1, 2, ...)"),
    ({"record": {"seed": -1}},
     "config: record.seed = -1: a seed is a non-negative integer (0, 1, 2, ...)"),
    ({"stimuli": {"source": ""}},
     "config: stimuli.source = '': give 'procedural', a folder of meshes or an iWISDM folder"),
    ({"profile": ["quick"]}, "unknown profile ['quick']; choose one of quick, paper."),
    ({"study": ["nback"]}, "study = ['nback']: choose one of nback, two-orientation, "
                           "nback-grid"),
    ({"model": {"hidden_size": "big"}}, "config: model.hidden_size = 'big': Input should be "
                                        "a valid integer"),
    ({"modle": {}}, "config: unknown key 'modle'"),
])
def test_nback_values_are_refused_before_any_work(monkeypatch, capsys, tmp_path, changes,
                                                   message):
    cfg = write_yaml(tmp_path / "bad.yaml", merged(NBACK, changes))
    out = tmp_path / "run"
    assert message in refused(monkeypatch, capsys, out, "run", "--config", cfg, "--out", out)
    assert not out.exists()


@pytest.mark.parametrize("changes, message", [
    ({"seed": -1}, "config: seed = -1: a seed is a non-negative integer"),
    ({"conditions": [{"name": "tiny", "rate_noise": float("inf")}]},
     "config: conditions.0.rate_noise = inf: Input should be a finite number"),
    ({"model": {"n_units": 1}}, "model.n_units = 1: the analyses (coding planes, torus, "
                                "topology) need at least 2 units"),
    ({"analysis": {"decoding_folds": 1000}},
     "decoding_folds = 1000 needs at least 2000 evaluation trials (two per fold); "
     "n_eval_trials is 40"),
])
def test_orientation_values_are_refused_before_any_work(monkeypatch, capsys, tmp_path,
                                                        changes, message):
    cfg = write_yaml(tmp_path / "bad.yaml", merged(ORIENTATION, changes))
    out = tmp_path / "run"
    assert message in refused(monkeypatch, capsys, out, "run", "--config", cfg, "--out", out)
    assert not out.exists()


@pytest.mark.parametrize("seeds, message", [
    ("-1", "grid: seeds.0 = -1: a seed is a non-negative integer"),
    ("1,1", "grid: seeds: lists 1 more than once; give each value once"),
])
def test_grid_seeds(monkeypatch, capsys, tmp_path, seeds, message):
    out = tmp_path / "grid"
    assert message in refused(monkeypatch, capsys, out, "sweep", "--seeds", seeds, "--out", out)
    assert not out.exists()


# --------------------------------------------------------------------------- messages


def test_paths_are_printed_as_written(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "rün ✓ [gru]"
    folder.mkdir()
    cfg = write_yaml(folder / "c.yaml", merged(NBACK, {"train": {"seed": -1}}))
    out = folder / "out"
    assert refused(monkeypatch, capsys, folder, "run", "--config", cfg, "--out", out) == (
        "config: train.seed = -1: a seed is a non-negative integer (0, 1, 2, ...)")
    assert refused(monkeypatch, capsys, folder, "record", out) == (
        f"{out} does not exist; pass the folder of a run (`wmgeom train --out DIR` or "
        "`wmgeom run --out DIR` makes one)")


def test_messages_name_the_real_problem(monkeypatch, capsys, tmp_path):
    ori = write_yaml(tmp_path / "ori.yaml", ORIENTATION)
    out = tmp_path / "run"
    assert refused(monkeypatch, capsys, out, "train", "--config", ori, "--out", out) == (
        f"config file {ori} is for study 'two-orientation'; `wmgeom train` is a stage of the "
        f"nback study: run the whole study with `wmgeom run --config {ori}`")
    assert refused(monkeypatch, capsys, out, "run", "--study", "two-orientation", "--grid",
                   "--out", out) == ("--grid runs the N-back grid, not --study "
                                     "two-orientation; drop one of them")
    assert refused(monkeypatch, capsys, out, "run", "--grid", "--config", ori, "--out",
                   out) == (f"config file {ori} is for study 'two-orientation'; --grid takes "
                            "a grid config or an N-back config")
    assert refused(monkeypatch, capsys, out, "train", "--config", tmp_path, "--out", out) == (
        f"config file {tmp_path} is a folder; pass a YAML file")
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (("analyze", "somewhere", "--jobs", "0"), "Invalid value for '--jobs': Input should be "
                                              "greater than or equal to 1 (see `"),
    (("run", "--grid", "--jobs", "-2"), "Invalid value for '--jobs'"),
    (("run", "--bogus"), "No such option: --bogus"),
    (("run", "--study", "nope"), "Invalid value for '--study': 'nope' is not one of 'nback', "
                                 "'two-orientation', 'nback-grid'."),
    (("record",), "Missing argument"),
    (("tasks", "--n-values", "1,1"), "--n-values '1,1': give each N once, e.g. 1,2,3"),
])
def test_bad_options_are_one_line_too(monkeypatch, capsys, tmp_path, args, message):
    assert refused(monkeypatch, capsys, tmp_path, *args).startswith(message)


@pytest.mark.parametrize("where", ["cache", "cwd"])
def test_render_refuses_the_cache_and_the_working_directory(monkeypatch, capsys, tmp_path,
                                                            cache, where):
    cfg = write_yaml(tmp_path / "base.yaml", NBACK)
    out = cache / "renders" if where == "cache" else Path(".")
    message = refused(monkeypatch, capsys, tmp_path, "render", "--config", cfg, "--out", out)
    assert message.startswith({"cache": f"--out {out} lies inside the wmgeom cache",
                               "cwd": "--out . is the working directory"}[where])
    assert not (cache / "renders").exists()


# --------------------------------------------------------------------------- stimuli


def _mesh_folder(root: Path, vertices_of) -> Path:
    import trimesh

    for c in ("chair", "car"):
        for i in ("a", "b"):
            box = trimesh.creation.box(extents=(1, 2, 3))
            v = vertices_of(box.vertices) if (c, i) == ("car", "b") else box.vertices
            lines = [f"v {float(a)!r} {float(b)!r} {float(z)!r}" for a, b, z in v]
            lines += [f"f {a + 1} {b + 1} {z + 1}" for a, b, z in box.faces]
            (root / c / i).mkdir(parents=True)
            (root / c / i / "m.obj").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("vertices_of, message", [
    (lambda v: np.zeros_like(v), "has all its vertices at one point; it cannot be rendered"),
    (lambda v: v * 1e308, "has coordinates too large to scale"),
    (lambda v: v * np.array([1.0, 1.0, 0.0]), "renders as a blank image"),
    (lambda v: np.where(np.arange(len(v))[:, None] == 0, np.nan, v), "car/b"),
])
def test_meshes_that_cannot_be_rendered(tmp_path, cache, vertices_of, message):
    from wmgeom.stimuli import StimulusConfig, load_or_render

    root = _mesh_folder(tmp_path / "meshes", vertices_of)
    config = StimulusConfig(source=str(root), n_train_identities=1, n_heldout_identities=1,
                            azimuths=4, elevations=[0.0, 15.0], image_size=32)
    before = snapshot(cache / "stimuli")
    with pytest.raises(WmgeomError, match="^mesh .*car/b") as exc:
        load_or_render(config, progress=False)
    assert message in str(exc.value)
    assert snapshot(cache / "stimuli") == before  # nothing cached


def test_a_mesh_file_of_binary_garbage(tmp_path):
    from wmgeom.stimuli.meshes import read_mesh

    path = tmp_path / "g.obj"
    path.write_bytes(bytes(range(256)) * 2)
    with pytest.raises(WmgeomError) as exc:
        read_mesh(path)
    assert str(exc.value) == (f"cannot read mesh {path}: it is not a .obj mesh file (binary "
                              "data where text was expected); replace or remove it")


@pytest.fixture(scope="module")
def iwisdm_folder(cache, tmp_path_factory):
    from wmgeom.stimuli import StimulusConfig, export_iwisdm, load_or_render

    stimset = load_or_render(StimulusConfig(**NBACK["stimuli"]), progress=False)
    return export_iwisdm(stimset, tmp_path_factory.mktemp("iw") / "iwisdm")


def test_iwisdm_duplicates_and_empty_csvs(tmp_path, iwisdm_folder):
    import pandas as pd

    from wmgeom.stimuli.iwisdm import read_iwisdm

    def case(edit) -> str:
        folder = Path(shutil.copytree(iwisdm_folder, tmp_path / f"case{len(list(tmp_path.iterdir()))}"))
        edit(folder)
        before = snapshot(folder)
        with pytest.raises(WmgeomError) as exc:
            read_iwisdm(folder)
        assert snapshot(folder) == before
        return str(exc.value).replace(str(folder), "F")

    def header_only(f):
        csv = f / "val" / "val_metadata.csv"
        csv.write_text(csv.read_text().splitlines()[0] + "\n")

    def repeated_row(f):
        csv = f / "train" / "train_metadata.csv"
        df = pd.read_csv(csv)
        pd.concat([df, df.iloc[:1]]).to_csv(csv, index=False)

    def in_two_splits(f):
        train = pd.read_csv(f / "train" / "train_metadata.csv")
        ref = train["ref"].iloc[0]
        shutil.copytree(f / "train" / str(ref), f / "val" / str(ref))
        val = f / "val" / "val_metadata.csv"
        pd.concat([pd.read_csv(val), train.iloc[:1]]).to_csv(val, index=False)

    assert case(header_only) == ("stimulus CSV F/val/val_metadata.csv lists no images (a "
                                 "header only); add its rows or remove the split folder")
    assert case(repeated_row) == ("stimulus CSV F/train/train_metadata.csv lists ref 0 more "
                                  "than once; keep one row per image")
    assert case(in_two_splits) == (
        "F: the view ctg_mod=0, obj_mod=0, ang_mod=0 is in two splits (train ref 0, val ref "
        "0); each image belongs to one split: remove one of the rows")


def test_a_cache_folder_that_is_a_file(monkeypatch, capsys, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "stimuli").write_text("x")
    monkeypatch.setenv("WMGEOM_CACHE", str(cache))
    cfg = write_yaml(tmp_path / "base.yaml", NBACK)
    assert refused(monkeypatch, capsys, cache, "features", "--config", cfg,
                   "--no-progress") == (
        f"the wmgeom cache folder {cache / 'stimuli'} cannot be made: {cache / 'stimuli'} is "
        "a file; move it away, or set WMGEOM_CACHE to a folder")


# --------------------------------------------------------------------------- public functions


@pytest.mark.parametrize("call, message", [
    (lambda: __import__("wmgeom.analysis.manifold", fromlist=["x"]).torus_geometry(
        np.ones((16, 1)), np.arange(16.0), np.arange(16.0)),
     "states: needs at least 2 columns"),
    (lambda: __import__("wmgeom.analysis.manifold", fromlist=["x"]).torus_geometry(
        np.where(np.eye(16, 4) > 0, np.nan, 1.0), np.arange(16.0), np.arange(16.0)),
     "states: holds 4 NaN or infinite values; give finite values"),
    (lambda: __import__("wmgeom.analysis.procrustes", fromlist=["x"]).procrustes_align(
        np.array([[np.nan, 1.0], [0.0, 1.0]]), np.eye(2)),
     "source: holds 1 NaN or infinite value; give finite values"),
    (lambda: __import__("wmgeom.analysis.procrustes", fromlist=["x"]).procrustes_reconstruct(
        np.eye(3), __import__("wmgeom.analysis.procrustes", fromlist=["x"]).procrustes_align(
            np.eye(2), np.eye(2)[::-1])),
     "source has 3 columns but the fit rotates 2-dimensional normals"),
])
def test_bad_arguments_are_argument_errors(call, message):
    with pytest.raises(ArgumentError) as exc:
        call()
    assert str(exc.value).startswith(message)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, WmgeomError)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_components": "max"}, "n_components = 'max': give an integer >= 1"),
    ({"n_bootstrap": 2.5}, "n_bootstrap = 2.5: give an integer"),
    ({"seed": -3}, "seed = -3: a seed is a non-negative integer"),
    ({"perceptual": np.full((30, 4), np.nan)},
     "perceptual: holds 120 NaN or infinite values; give finite values"),
])
def test_orthogonalization_comparison_arguments(kwargs, message):
    from wmgeom.analysis.orthogonality import orthogonalization_comparison

    rng = np.random.default_rng(0)
    args = {"perceptual": rng.normal(size=(30, 4)), "encoding": rng.normal(size=(30, 5)),
            "labels": np.arange(30) % 3, **kwargs}
    with pytest.raises(ArgumentError) as exc:
        orthogonalization_comparison(args.pop("perceptual"), args.pop("encoding"),
                                     args.pop("labels"), **args)
    assert str(exc.value).startswith(message)


def test_the_same_rules_check_configs_and_arguments():
    from wmgeom.validation import check_seed

    with pytest.raises(ArgumentError, match="^seed = -1: a seed is a non-negative integer"):
        check_seed(-1, "seed")
    with pytest.raises(WmgeomError, match="train.seed = -1: a seed is a non-negative integer"):
        nback.make_config("quick", {"train": {"seed": -1}})
    with pytest.raises(ArgumentError, match="^seed = True: a seed is"):
        check_seed(True, "seed")


# --------------------------------------------------------------------------- files written


def test_summaries_are_strict_json(ori_run):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    summary = json.loads((ori_run / "summary.json").read_text(), parse_constant=refuse)
    assert summary["study"] == "two-orientation"


# --------------------------------------------------------------------------- signals


def test_sigterm_stops_like_ctrl_c_and_resumes(tmp_path, cache):
    """SIGTERM: exit 143, the resume hint, no temporary left, metrics.csv not ahead of the
    checkpoint; ``--resume`` then finishes the run."""
    cfg = write_yaml(tmp_path / "long.yaml", merged(ORIENTATION, {
        "train": {"iterations": 3000, "milestones": [], "eval_every": 10,
                  "checkpoint_every": 70, "batch_size": 8}}))
    out = tmp_path / "run"
    env = {**os.environ, "WMGEOM_CACHE": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "wmgeom.cli", "run", "--config", str(cfg), "--out",
               str(out), "--no-progress"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    checkpoint = out / "conditions" / "tiny" / "train" / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while not checkpoint.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == ("interrupted: every file written so far is "
                                            "complete; run the same command with --resume to "
                                            "continue.")
    assert "Traceback" not in err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    import pandas as pd

    stopped_at = torch.load(checkpoint, weights_only=False)["iteration"]
    assert 0 < stopped_at < 3000
    assert pd.read_csv(checkpoint.parent.parent / "metrics.csv")["iteration"].max() == stopped_at
    # the folder takes no other configuration; the same command with --resume finishes it
    other = write_yaml(tmp_path / "other.yaml", ORIENTATION)
    res = subprocess.run([*command[:5], str(other), *command[6:]], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and "holds a run with a different configuration" in res.stderr
    res = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert torch.load(checkpoint, weights_only=False)["iteration"] == 3000
    assert json.loads((out / "summary.json").read_text())["study"] == "two-orientation"
