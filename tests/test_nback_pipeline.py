"""The N-back pipeline end to end on a tiny stimulus set: train, resume rules, record."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from wmgeom import pipeline
from wmgeom.config import make_config
from wmgeom.errors import WmgeomError
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


def tiny(**changes):
    cfg = {k: dict(v) for k, v in TINY.items()}
    for section, values in changes.items():
        cfg[section] = {**cfg.get(section, {}), **values}
    return make_config("quick", cfg)


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("WMGEOM_CACHE", str(cache))
    run_dir = tmp_path_factory.mktemp("run")
    config = tiny(model={"architecture": "lstm"})
    summary = pipeline.train(config, run_dir, progress=False)
    pipeline.record(run_dir, progress=False)
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


def test_perceptual_features_keep_location(lstm_run):
    """The perceptual space is a flattened map, so location is decodable (seed 000: 100%)."""
    run_dir, _, _ = lstm_run
    with xr.open_dataset(run_dir / "activations.nc", engine="h5netcdf") as ds:
        x = ds.perceptual.isel(frame=0).values
        y = ds.location.isel(frame=0).values
    acc = cross_val_score(LogisticRegression(max_iter=2000), x, y, cv=3).mean()
    assert acc > 0.9


def test_existing_run_needs_resume(lstm_run):
    run_dir, config, _ = lstm_run
    with pytest.raises(WmgeomError, match="pass --resume"):
        pipeline.train(config, run_dir, progress=False)


def test_other_config_in_run_dir_is_refused(lstm_run):
    run_dir, _, _ = lstm_run
    with pytest.raises(WmgeomError, match="different configuration"):
        pipeline.train(tiny(model={"architecture": "gru"}), run_dir, resume=True,
                       progress=False)


def test_resume_of_finished_run_keeps_weights(lstm_run, monkeypatch):
    run_dir, config, summary = lstm_run
    again = pipeline.train(config, run_dir, resume=True, progress=False)
    assert again["accuracy"] == summary["accuracy"]
