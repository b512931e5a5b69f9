"""End-to-end smoke test of the two-orientation study and its config."""

import json

import numpy as np
import pytest
import xarray as xr
import yaml

from wmgeom.analysis.orientation import NETWORKS
from wmgeom.errors import WmgeomError
from wmgeom.studies.findings import FINDING_COLUMNS
from wmgeom.studies.orientation import (
    OrientationConfig,
    load_config,
    make_config,
    run,
    untrained_network,
)
from wmgeom.studies.orientation_findings import FINDINGS
from wmgeom.studies.registry import load_study_config
from wmgeom.tasks.orientation import TwoOrientationTask

TINY = {
    "model": {"n_units": 12},
    "task": {"delay1_min": 60, "delay1_max": 100, "delay2_min": 60, "delay2_max": 100},
    "train": {
        "iterations": 3,
        "milestones": [],
        "eval_every": 3,
        "checkpoint_every": 3,
        "batch_size": 8,
    },
    "conditions": [{"name": "tiny-ordinal", "rate_noise": 0.1, "ordinal": True}],
    "default_condition": "tiny-ordinal",
    "analysis": {
        "n_eval_trials": 40,
        "n_grid": 5,
        "topology_points": 20,
        "decoding_folds": 2,
        "tuning_bins": 4,
    },
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("orientation-run")
    summary = run(make_config("quick", TINY), out, progress=False)
    return out, summary


def test_study_writes_every_output(run_dir):
    out, summary = run_dir
    assert yaml.safe_load((out / "config.yaml").read_text())["study"] == "two-orientation"
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["median_error_deg"] == pytest.approx(summary["median_error_deg"])
    c = summary["conditions"]["tiny-ordinal"]
    assert 0 <= c["median_error_deg"] <= 90 and 0 <= c["ordinal_accuracy_output"] <= 1
    for key in ("principal_angle1_deg", "betti1", "fraction_tuning_changed", "repulsion1_deg"):
        assert key in c
    for name in (
        "conditions",
        "findings",
        "measures",
        "ring_summary_null",
        "persistence_null",
        "bias_curve",
        "connectivity_profile",
        "ring_summary",
        "tuning_change",
        "cross_temporal_decoding",
        "unit_groups",
        "report_errors",
    ):
        assert (out / "analysis" / f"{name}.csv").is_file(), name
    for name in ("manifold", "topology", "connectivity", "dynamics", "behaviour"):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"orientation_{name}.{ext}").is_file()
    assert (out / "conditions" / "tiny-ordinal" / "train" / "metrics.csv").is_file()
    html = (out / "report.html").read_text()
    assert "Clifford" in html and "Dynamic code" in html
    assert html.index("Findings of Cueva et al. 2021") < html.index("Dynamic code")
    assert not list(out.rglob("*.tmp"))


def test_activations_open_with_plain_xarray(run_dir):
    out, _ = run_dir
    ds = xr.open_dataset(out / "conditions" / "tiny-ordinal" / "activations.nc", engine="h5netcdf")
    assert ds["rates"].dims == ("trial", "time", "unit")
    assert ds.sizes["trial"] == 40 and ds.sizes["unit"] == 12
    assert list(ds["output"].values)[-1] == "ordinal"
    assert np.all((ds["theta1"] >= 0) & (ds["theta1"] < 180))
    grid = xr.open_dataset(out / "conditions" / "tiny-ordinal" / "grid.nc", engine="h5netcdf")
    assert grid.sizes["trial"] == 25 and grid.attrs["noise"] == 0
    ds.close()
    grid.close()


def test_profiles_and_yaml(tmp_path):
    assert OrientationConfig().study == "two-orientation"
    paper = make_config("paper")
    assert paper.model.n_units > make_config("quick").model.n_units
    assert len(paper.conditions) == 6
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"profile": "quick", "model": {"n_units": 7}}))
    assert load_config(path).model.n_units == 7


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(WmgeomError, match="unknown key 'modle'"):
        make_config("quick", {"modle": {}})
    with pytest.raises(WmgeomError, match="default_condition 'x'"):
        make_config("quick", {"default_condition": "x"})
    with pytest.raises(WmgeomError, match="unique"):
        make_config(
            "quick",
            {
                "conditions": [{"name": "a", "rate_noise": 0}, {"name": "a", "rate_noise": 1}],
                "default_condition": "a",
            },
        )
    with pytest.raises(WmgeomError, match="must be equal"):
        make_config("quick", {"task": {"dt": 10}})
    with pytest.raises(WmgeomError, match="unknown profile"):
        make_config("huge")
    path = tmp_path / "n.yaml"
    path.write_text("study: nback\n")
    with pytest.raises(WmgeomError, match="not 'two-orientation'"):
        load_study_config(path, name="two-orientation")


def test_resume_of_a_finished_run_reproduces_its_numbers(run_dir):
    out, summary = run_dir
    again = run(make_config("quick", TINY), out, progress=False, resume=True)
    a, b = summary["conditions"]["tiny-ordinal"], again["conditions"]["tiny-ordinal"]
    for key in ("median_error_deg", "principal_angle1_deg", "fraction_tuning_changed"):
        assert b[key] == pytest.approx(a[key])


def test_findings_and_measures_of_the_run(run_dir):
    import pandas as pd

    out, summary = run_dir
    found = pd.read_csv(out / "analysis" / "findings.csv")
    assert list(found.columns) == FINDING_COLUMNS
    assert found["id"].tolist() == [f.id for f in FINDINGS]
    one = found.set_index("id")
    # one condition: no pair of conditions to compare
    assert one.loc["noise_effect", "verdict"] == "not tested"
    assert one.loc["clifford_torus", "null"].startswith(
        "the larger of the untrained network and shuffled orientations: tiny-ordinal: ")
    measures = pd.read_csv(out / "analysis" / "measures.csv")
    assert list(measures.columns) == ["condition", "rate_noise", "ordinal", "measure",
                                      *NETWORKS]
    m = measures.set_index("measure")
    c = summary["conditions"]["tiny-ordinal"]
    assert m.loc["median_error_deg", "trained"] == pytest.approx(c["median_error_deg"])
    assert m[["untrained", "shuffled"]].notna().any().all()
    # the untrained network on the same trials: the same stimuli, other activity
    trained = xr.open_dataset(out / "conditions" / "tiny-ordinal" / "activations.nc",
                              engine="h5netcdf")
    null = xr.open_dataset(out / "conditions" / "tiny-ordinal" / "activations_untrained.nc",
                           engine="h5netcdf")
    assert null.attrs["network"] == "untrained" and trained.attrs["network"] == "trained"
    np.testing.assert_array_equal(null["inputs"].values, trained["inputs"].values)
    assert not np.allclose(null["recurrent_weight"].values,
                           trained["recurrent_weight"].values)
    trained.close()
    null.close()


def test_the_untrained_network_is_the_network_training_starts_from():
    import torch

    config = make_config("quick", TINY)
    cond = config.conditions[0]
    task = TwoOrientationTask(config.task, ordinal=cond.ordinal)
    state = torch.random.get_rng_state()
    a, b = untrained_network(config, cond, task), untrained_network(config, cond, task)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's state is kept
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert a.config.rate_noise == cond.rate_noise and not a.training
    assert a.n_units == config.model.n_units and a.n_outputs == task.n_outputs
    other = untrained_network(make_config("quick", {**TINY, "seed": 1}), cond, task)
    assert not torch.equal(other.recurrent.weight, a.recurrent.weight)
