"""The N-back study end to end: train, resume rules, record, analyse, report."""

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from _browser import probe
from _runs import with_model, write_run
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError
from wmgeom.models import SensoryCognitiveModel
from wmgeom.studies import nback
from wmgeom.studies.nback.analyses import ANALYSES
from wmgeom.studies.nback.analysis import AnalysisProtocol
from wmgeom.studies.nback.report import declared_figures
from wmgeom.tasks.nback import nback_targets

TINY = {
    "stimuli": {"categories": ["chair", "car"], "azimuths": 6, "elevations": [15.0],
                "heldout_azimuth_every": 3, "image_size": 32},
    "model": {"hidden_size": 16, "channel_components": 16},
    "train": {"iterations": 20, "batch_size": 32, "eval_every": 10, "checkpoint_every": 10,
              "milestones": []},
    "eval": {"trials_per_task": 8},
    "record": {"trials_per_task": 12, "perceptual_components": 16},
}
FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
OBJECTS = {"location": 2, "identity": 6, "category": 2}
STMF = ("nback-1-location", "nback-1-identity", "nback-1-category")


def tiny(**changes):
    cfg = {k: dict(v) for k, v in TINY.items()}
    for section, values in changes.items():
        cfg[section] = {**cfg.get(section, {}), **values}
    return nback.make_config("quick", cfg)


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("WMGEOM_CACHE", str(cache))
    run_dir = tmp_path_factory.mktemp("run")
    config = tiny(model={"architecture": "lstm"})
    summary = nback.train(config, run_dir, progress=False)
    nback.record(run_dir, progress=False)
    yield run_dir, config, summary
    mp.undo()


def test_train_writes_run_directory(lstm_run):
    run_dir, _, summary = lstm_run
    for name in ("config.yaml", "metrics.csv", "summary.json", "checkpoints/last.pt"):
        assert (run_dir / name).exists(), name
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert set(on_disk["accuracy"]) == {"train", "val_angle", "val_identity"}
    assert on_disk["iterations"] == 20 and on_disk["device"] == "cpu"
    assert summary["model"]["architecture"] == "lstm"
    metrics = pd.read_csv(run_dir / "metrics.csv")
    evals = metrics[metrics.split.isin(["train", "val_angle", "val_identity"])]
    assert set(evals.iteration) == {0, 10, 20}
    assert {"nback-1-location", "nback-3-category", "all"} <= set(evals.task)


def test_the_untrained_network_is_scored_on_the_same_fresh_trials(lstm_run):
    run_dir, _, summary = lstm_run
    trained, untrained = summary["accuracy_per_task"], summary["accuracy_per_task_untrained"]
    assert set(untrained) == set(trained)
    for split in trained:
        assert set(untrained[split]) == set(trained[split])
    row = nback.driver.model_table([run_dir]).iloc[0]
    assert row["acc_untrained_val_angle_min_task"] == min(untrained["val_angle"].values())


def test_recording_schema_and_labels(lstm_run):
    run_dir, config, _ = lstm_run
    with xr.open_dataset(run_dir / "activations.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    n_trials = 9 * 12 * 3
    assert ds.sizes["trial"] == n_trials and ds.sizes["frame"] == 6
    assert ds.hidden.shape == (n_trials, 6, 16) and ds.cell.shape == ds.hidden.shape
    assert set(np.unique(ds.split.values)) == {"train", "val_angle", "val_identity"}
    assert len(np.unique(ds.task.values)) == 9
    np.testing.assert_allclose(ds.probs.sum("action"), 1, rtol=1e-5)
    # targets agree with the recorded labels of every frame
    for feature in ("location", "identity", "category"):
        sel = ds.feature.values == feature
        for n in (1, 2, 3):
            rows = sel & (ds.n.values == n)
            expected = nback_targets(ds[feature].values[rows], n)
            np.testing.assert_array_equal(ds.target.values[rows], expected)


def test_the_untrained_network_is_recorded_on_the_same_trials(lstm_run):
    run_dir, config, _ = lstm_run
    rec = nback.load_recording(run_dir)
    assert rec.null is not None and rec.null.name.endswith("#untrained")
    trained, untrained = rec.activations, rec.null.activations
    assert untrained.attrs["network"] == "untrained" and trained.attrs["network"] == "trained"
    for name in ("task", "location", "identity", "category", "target", "perceptual"):
        np.testing.assert_array_equal(trained[name].values, untrained[name].values)
    assert not np.allclose(trained["hidden"].values, untrained["hidden"].values)
    # the untrained network is drawn as training draws its start: the same every time, and
    # not the trained weights
    a, b = (nback.driver.untrained_model(config).state_dict() for _ in range(2))
    trained_state = nback.load_model(run_dir).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], trained_state[k]) for k in a)


def test_perceptual_features_keep_location(lstm_run):
    """The perceptual space is a flattened map, so location is decodable (Lei et al. 2024: 100%)."""
    run_dir, _, _ = lstm_run
    with xr.open_dataset(run_dir / "activations.nc", engine="h5netcdf") as ds:
        x = ds.perceptual.isel(frame=0).values
        y = ds.location.isel(frame=0).values
    acc = cross_val_score(LogisticRegression(max_iter=2000), x, y, cv=3).mean()
    assert acc > 0.9


def test_existing_run_needs_resume(lstm_run):
    run_dir, config, _ = lstm_run
    with pytest.raises(WmgeomError, match="pass --resume"):
        nback.train(config, run_dir, progress=False)


def test_other_config_in_run_dir_is_refused(lstm_run):
    run_dir, _, _ = lstm_run
    with pytest.raises(WmgeomError, match="different configuration"):
        nback.train(tiny(model={"architecture": "gru"}), run_dir, resume=True,
                    progress=False)


def test_resume_of_finished_run_keeps_weights(lstm_run):
    run_dir, config, summary = lstm_run
    again = nback.train(config, run_dir, resume=True, progress=False)
    assert again["accuracy"] == summary["accuracy"]


def test_model_loads_without_stimuli_and_matches_the_recording(lstm_run):
    run_dir, _, _ = lstm_run
    model = nback.load_model(run_dir)
    rec = nback.load_recording(run_dir)
    assert (rec.architecture, rec.regime) == ("lstm", "MTMF") and rec.rollout is not None
    ds = rec.activations
    with torch.no_grad():
        out = model.run(torch.as_tensor(ds["encoding"].values[:5]))
    np.testing.assert_allclose(out["hidden"].numpy(), ds["hidden"].values[:5], atol=1e-5)
    # the step the fixed points need loads the same model on first use
    state = torch.as_tensor(np.concatenate([ds["hidden"].values[:5, 0],
                                            ds["cell"].values[:5, 0]], -1))
    encoding = torch.as_tensor(ds["encoding"].values[:5, 1])
    with torch.no_grad():
        np.testing.assert_allclose(rec.step(state, encoding).numpy(),
                                   model.step(state, encoding).numpy(), atol=1e-6)


# --------------------------------------------------------------------------- analyse, report


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    torch.manual_seed(0)
    model = SensoryCognitiveModel(2, (1, 1), 6, 16, "lstm").eval()
    lstm = write_run(root / "lstm-stmf", with_model(synthetic_memory_activations(
        30, 4, 16, features=OBJECTS, tasks=STMF, relevant_gain=3.0, irrelevant_gain=1.2,
        noise=0.5, architecture="lstm", regime="stmf"), model))
    gru = write_run(root / "gru-stmf", synthetic_memory_activations(
        30, 4, 16, features=OBJECTS, tasks=STMF, relevant_gain=3.0, irrelevant_gain=1.2,
        noise=0.5, architecture="gru", regime="stmf", seed=1))
    recordings = [nback.load_recording(lstm, model), nback.load_recording(gru)]
    tables = nback.analyze(recordings, out_dir=lstm, progress=False, protocol=FAST)
    return tables, lstm, gru


def test_tables_figures_and_protocol_are_written(analysed):
    tables, out, gru = analysed
    for name in ("relevant_irrelevant", "cross_task", "within_time", "cross_time",
                 "encoding_sharing", "timing", "skipped"):
        on_disk = pd.read_csv(out / "analysis" / f"{name}.csv")
        assert len(on_disk) == len(tables[name])
    protocol = json.loads((out / "analysis" / "protocol.json").read_text())
    assert protocol["n_splits"] == 3 and len(protocol["runs"]) == 2
    for fig in ("fig2a_cross_task", "fig2b_relevant_irrelevant", "fig4b_cross_time",
                "fig4c_executive", "fig4d_encoding_sharing", "figA5_within_time"):
        assert (out / "figures" / f"{fig}.png").is_file()
        assert (out / "figures" / f"{fig}.svg").is_file()
    assert not (gru / "analysis").exists()  # out_dir given: nothing written beside the run
    assert set(tables["relevant_irrelevant"]["model"]) == {"GRU STMF", "LSTM STMF"}


def test_fixed_points_and_the_model_comparison_run_from_the_driver(analysed):
    tables, out, _ = analysed
    assert set(tables["fixed_points"]["model"]) == {"LSTM STMF"}  # the GRU run has no model
    skipped = tables["skipped"]
    assert skipped.loc[skipped["analysis"] == "fixed_points", "model"].tolist() == ["GRU STMF"]
    pairs = pd.read_csv(out / "analysis" / "model_comparison_stats.csv")
    assert pairs[["model_a", "model_b"]].values.tolist() == [["LSTM STMF", "GRU STMF"]]


def test_parallel_analysis_gives_the_same_tables(analysed, tmp_path):
    _, lstm, gru = analysed
    kw = {"progress": False, "protocol": FAST, "figures": False,
          "analyses": ["relevant_irrelevant", "cross_task", "orthogonalization"]}
    one = nback.analyze([lstm, gru], out_dir=tmp_path / "one", **kw)
    two = nback.analyze([lstm, gru], out_dir=tmp_path / "two", jobs=2, **kw)
    assert set(one) == set(two)
    for name in set(one) - {"timing"}:
        pd.testing.assert_frame_equal(one[name], two[name], check_like=True)
    assert sorted(two["timing"]["run"].unique()) == sorted([str(lstm), str(gru)])


def test_load_recording_reads_metadata_and_rejects_bad_folders(tmp_path, analysed):
    _, lstm, gru = analysed
    rec = nback.load_recording(gru)
    assert (rec.architecture, rec.regime, rec.model) == ("gru", "stmf", "GRU STMF")
    assert rec.rollout is None  # no checkpoint: the causal test is skipped, with the reason
    assert rec.step is None  # ... and so are the fixed points
    with pytest.raises(WmgeomError, match="activations.nc not found; record activations"):
        nback.load_recording(tmp_path)
    (tmp_path / "activations.nc").write_text("not netcdf")
    with pytest.raises(WmgeomError, match="is unreadable"):
        nback.load_recording(tmp_path)
    with pytest.raises(WmgeomError, match="no run directory given"):
        nback.analyze([])


def test_write_report_builds_a_self_contained_page(analysed):
    _, run, _ = analysed
    page = nback.report(run).read_text()
    figures = sorted((run / "figures").glob("*.png"))
    assert figures and all(p.with_suffix(".svg").is_file() for p in figures)
    plots = page.count('<img class="forest"')  # a finding's units against its null
    assert plots >= 1
    assert page.count("data:image/png;base64,") == len(figures) + plots  # every figure embedded
    names = {p.stem for p in figures}
    tables = {p.stem: pd.read_csv(p) for p in (run / "analysis").glob("*.csv")
              if p.stat().st_size > 1}
    # every declared figure whose tables exist is drawn (Fig. A1c needs several sizes)
    figures_declared = list(declared_figures())
    assert {spec.name for spec in figures_declared if spec.available(tables)} <= names
    # ... and the others belong to an analysis the recordings cannot support (listed as
    # skipped, e.g. novel objects on a recording of one split) or need several sizes
    skipped = set(tables["skipped"]["analysis"]) if "skipped" in tables else set()
    unsupported = [spec for a in ANALYSES if a.name in skipped for spec in a.figures]
    assert len(names) >= len(figures_declared) - len(unsupported) - 1
    for heading in ["Accuracy", "Training curves", "How these results were produced",
                    "Resolved configuration",
                    *(spec.title for spec in figures_declared if spec.available(tables))]:
        assert f">{html.escape(heading)}</h2>" in page
    assert "LSTM STMF" in page and "GRU STMF" in page  # the second run is compared
    assert "Lei et al. 2024: relevant features fully decodable" in page
    assert "timing (seconds per analysis)" in page
    # what a person reads holds no scientific notation and no raw float
    shown = re.sub(r'src="data:[^"]+"|<pre>.*?</pre>|<style>.*?</style>', "", page, flags=re.S)
    shown = re.sub(r"<[^>]+>", " ", shown)
    assert not re.findall(r"\b\d+(?:\.\d+)?[eE][-+]?\d+\b", shown)
    assert not re.findall(r"\b\d+\.0*[1-9]\d{4,}\b", shown)  # five significant decimals


def test_readings_are_phrased_from_the_computed_numbers(analysed):
    _, run, _ = analysed
    page = (run / "report.html").read_text() if (run / "report.html").is_file() else \
        nback.report(run).read_text()
    tables = pd.read_csv(run / "analysis" / "relevant_irrelevant.csv")
    lstm = tables[tables["model"] == "LSTM STMF"]
    relevant = lstm.loc[lstm["relevant"], "accuracy"].mean()
    assert f"LSTM STMF: relevant features decoded at {100 * relevant:.1f}%" in page


def test_report_never_analyses(tmp_path):
    run = write_run(tmp_path / "run", synthetic_memory_activations(10, 2, 16))
    with pytest.raises(WmgeomError, match="holds no analysis tables.*wmgeom analyze"):
        nback.report(run)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(analysed, tmp_path):
    report_page = nback.report(analysed[1])
    from PIL import Image

    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1280,2000", report_page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 128).mean() > 0.01  # text and plots drawn in dark ink
    # what a reader checks at 1280 × 900
    seen = probe(report_page, tmp_path / "probe")
    assert 0 < seen["findings_height"] <= 1.5 * 900
    assert seen["scroll_width"] <= seen["viewport_width"]  # no horizontal overflow
    assert seen["images"] > 10 and seen["images_broken"] == 0
    found = pd.read_csv(analysed[1] / "analysis" / "findings.csv")
    # every claim of the paper, a badge; the questions beyond it are in their own section
    claims = found[~found["beyond_paper"].astype(bool)]
    assert 0 < len(claims) < len(found)
    assert seen["rows"] == seen["rows_with_badge"] == len(claims)
    page = report_page.read_text()
    assert 'id="limitations"' in page
    assert page.index('id="findings"') < page.index('id="limitations"')
    judged = int((found["verdict"] != "not tested").sum())
    assert seen["judged_rows"] == seen["judged_rows_with_plot"] == judged > 0
    assert seen["tallest_text_cell_lines"] <= 5


def test_an_iwisdm_folder_with_two_splits_trains_and_records(tmp_path, monkeypatch):
    """A folder in iWISDM layout is a stimulus source, splits missing or not."""
    import shutil

    from wmgeom.stimuli import StimulusConfig, export_iwisdm, load_or_render

    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))
    rendered = load_or_render(StimulusConfig(**TINY["stimuli"]), progress=False)
    folder = export_iwisdm(rendered, tmp_path / "iwisdm")
    shutil.rmtree(folder / "test")  # only train and val: no novel identities
    config = tiny(stimuli={"source": str(folder), "categories": None})
    run_dir = tmp_path / "run"
    summary = nback.train(config, run_dir, progress=False)
    assert set(summary["accuracy"]) == {"train", "val_angle"}
    assert summary["missing_splits"] == ["val_identity"]
    nback.record(run_dir, progress=False)
    with xr.open_dataset(run_dir / "activations.nc", engine="h5netcdf") as ds:
        assert set(np.unique(ds["split"].values)) == {"train", "val_angle"}


def test_an_unfinished_run_says_so_when_recorded_and_reported(lstm_run, tmp_path, caplog):
    """A run killed before its end: record warns, the report says so first (issue 11)."""
    import logging
    import shutil

    run_dir, config, _ = lstm_run
    cut = tmp_path / "cut"
    shutil.copytree(run_dir, cut)
    payload = torch.load(cut / "checkpoints" / "last.pt", weights_only=False)
    payload.update(finished=False, iteration=10)
    torch.save(payload, cut / "checkpoints" / "last.pt")
    (cut / "summary.json").unlink()  # a killed run writes no summary
    metrics = pd.read_csv(cut / "metrics.csv")
    metrics[metrics["iteration"] <= 10].to_csv(cut / "metrics.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="wmgeom"):
        nback.record(cut, progress=False)
    assert "stopped at iteration 10 of 20" in caplog.text
    with xr.open_dataset(cut / "activations.nc", engine="h5netcdf") as ds:
        assert ds.attrs["training_finished"] == 0
    nback.analyze([cut], progress=False, analyses=["relevant_irrelevant"])
    page = nback.report(cut).read_text()
    assert page.index("This run did not finish training") < page.index("Accuracy")
    assert "Training stopped at iteration 10 of 20" in page


def test_report_helpers_write_numbers_and_readings_for_people():
    import importlib

    from wmgeom.studies.nback.analysis import Figure

    R = importlib.import_module("wmgeom.studies.nback.report")  # the module, not the command

    assert R._plain(3e-05) == "0.00003" and R._plain(256) == "256" and R._plain(None) == "None"
    per_model = pd.DataFrame({"model": ["GRU MTMF"], "runs": [3], "parameters": [919939],
                              "iterations": [1900.0], "iterations_to_criterion": [1900.0],
                              "acc_val_angle": [0.98437]})
    shown = R._readable_models(per_model)
    assert shown.columns.tolist() == ["model", "seeds", "parameters", "iterations to criterion",
                                      "novel angles"]
    assert shown.iloc[0].tolist() == ["GRU MTMF", "3", "920 k", "1,900", "98.4%"]
    empty = R._labels_as_text(pd.DataFrame({"regime": [np.nan, np.nan], "x": [1.0, 2.0]}))
    assert empty["regime"].dtype == object and empty["x"].dtype == float
    reading = ("; ".join(f"M{i}: fine" for i in range(5)))
    spec = Figure("f", "F (Fig. 1)", lambda t, p: None, lambda t: reading, "paper")
    short, full = R._reading(spec, {})
    assert short == "M0: fine; M1: fine; … (3 more in the tables below)" and full == reading
    spec = Figure("f", "F (Fig. 1)", lambda t, p: None, lambda t: "M0: fine", "paper")
    assert R._reading(spec, {}) == ("M0: fine", "")
