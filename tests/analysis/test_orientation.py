"""wmgeom.analysis.orientation: every analysis of one condition, recordings in, tables out."""

import numpy as np
import pandas as pd
import pytest
import torch

from wmgeom.analysis.orientation import (
    NETWORKS,
    OrientationAnalysisConfig,
    analyze_condition,
    analyze_networks,
    epoch_step,
    measures_table,
    shuffle_orientations,
)
from wmgeom.models.ctrnn import CTRNN
from wmgeom.pca import pca
from wmgeom.record import record_orientation
from wmgeom.tasks.orientation import EPOCHS, TwoOrientationTask

N_UNITS, N_TRIALS, N_GRID, DT = 12, 24, 5, 20.0
SETTINGS = OrientationAnalysisConfig(n_eval_trials=N_TRIALS, n_grid=N_GRID, topology_points=20,
                                     tuning_bins=4, connectivity_bins=4, decoding_folds=2)
# epochs of 2, 2, 3, 2, 3 and 2 steps of 20 ms
STARTS_MS = [0.0, 40.0, 80.0, 140.0, 180.0, 240.0]
LAST_MS = [20.0, 60.0, 120.0, 160.0, 220.0, 260.0]


@pytest.fixture(scope="module")
def recordings():
    task = TwoOrientationTask(dt=DT, fixation=40, stimulus=40, delay1_min=60, delay1_max=60,
                              delay2_min=60, delay2_max=60, report=40, n_tuned=8, ordinal=True)
    torch.manual_seed(0)
    model = CTRNN(task.n_inputs, task.n_outputs, n_units=N_UNITS, dt=DT)
    rng = np.random.default_rng(0)
    acts = record_orientation(model, task, task.sample(N_TRIALS, rng, fixed_delays=True),
                              noise=True, seed=1)
    t1, t2 = task.grid(N_GRID)
    grid_batch = task.sample(len(t1), rng, t1, t2, fixed_delays=True, input_noise=False)
    grid = record_orientation(model, task, grid_batch, noise=False)
    return acts, grid


@pytest.fixture(scope="module")
def result(recordings):
    return analyze_condition(*recordings, SETTINGS, ordinal=True)


NUMBERS = [
    "median_error_deg", "mean_abs_error1_deg", "mean_abs_error2_deg", "sd_error1_deg",
    "sd_error2_deg", "error_correlation", "repulsion1_deg", "repulsion2_deg",
    "ordinal_accuracy_reports", "ordinal_accuracy_output",
    "principal_angle1_deg", "principal_angle2_deg", "radius1", "radius2", "radius_ratio",
    "circularity1", "circularity2", "linear_r2", "var3", "var4", "clifford_index", "clifford",
    "betti0", "betti1", "betti2",
    "h1_lifetime1_rel", "h1_lifetime2_rel", "h1_lifetime3_rel",
    "h2_lifetime1_rel", "h2_lifetime2_rel", "h2_lifetime3_rel", "torus_margin",
    "conditional_angle1_deg", "orthogonal_coding1", "conditional_angle2_deg",
    "orthogonal_coding2", "conditional_angle_deg", "orthogonal_coding",
    "n_theta1_units", "n_theta2_units", "ring_contrast_theta1", "ring_contrast_theta2",
    "ring_like_theta1", "ring_like_theta2", "ring_contrast_norm_theta1",
    "ring_contrast_norm_theta2",
    "fraction_tuning_changed", "median_tuning_corr", "median_abs_shift_deg",
    "ctd_within_delay1_deg", "ctd_delay1_to_delay2_deg", "ctd_within_delay2_deg",
    "code_change_across_stimulus2_deg", "code_drift_within_delay2_deg",
    "stimulus2_locked_code_change_deg",
]

TABLES = {
    "report_errors": ["theta1", "theta2", "error1_deg", "error2_deg"],
    "bias_curve": ["delta_deg", "n", "bias1_deg", "sem1_deg", "bias2_deg", "sem2_deg"],
    "manifold_scores": ["theta1", "theta2", "pc1", "pc2", "pc3", "pc4", "pc5", "pc6"],
    "manifold_spectrum": ["component", "explained_variance_ratio"],
    "persistence": ["dimension", "birth", "death"],
    "unit_groups": ["unit", "group", "preferred_deg", "r2_theta1", "r2_theta2",
                    "preferred_theta1_deg", "preferred_theta2_deg"],
    "recurrent_weights": ["post", "pre", "weight"],
    "connectivity_profile": ["post_group", "pre_group", "delta_deg", "mean_weight", "sem",
                             "n_pairs"],
    "ring_summary": ["post_group", "pre_group", "near_weight", "far_weight", "contrast",
                     "ring_like", "weight_sd", "normalized_contrast"],
    "tuning_change": ["unit", "corr", "preferred_early_deg", "preferred_late_deg", "shift_deg",
                      "r2_early", "r2_late", "tuned", "changed"],
    "cross_temporal_decoding": ["train_time_ms", "test_time_ms", "error_deg"],
    "epochs": ["epoch", "start_ms", "end_ms"],
}


def test_returns_numbers_and_tables(result):
    assert set(result) == {"numbers", "tables"}
    assert list(result["numbers"]) == NUMBERS
    assert {k: list(v.columns) for k, v in result["tables"].items()} == TABLES
    assert all(isinstance(v, pd.DataFrame) for v in result["tables"].values())


def test_without_the_ordinal_output(recordings, result):
    numbers = analyze_condition(*recordings, SETTINGS, ordinal=False)["numbers"]
    assert list(numbers) == [k for k in NUMBERS if k != "ordinal_accuracy_output"]
    assert numbers["median_error_deg"] == result["numbers"]["median_error_deg"]


def test_behaviour(recordings, result):
    acts, _ = recordings
    nums, errors = result["numbers"], result["tables"]["report_errors"]
    assert len(errors) == N_TRIALS
    np.testing.assert_array_equal(errors["theta1"], acts["theta1"].values)
    np.testing.assert_array_equal(errors["theta2"], acts["theta2"].values)
    e = errors[["error1_deg", "error2_deg"]].to_numpy()
    assert np.all((e >= -90) & (e < 90))
    assert nums["median_error_deg"] == pytest.approx(np.median(np.abs(e)))
    assert nums["mean_abs_error1_deg"] == pytest.approx(np.abs(e[:, 0]).mean())
    assert nums["sd_error2_deg"] == pytest.approx(e[:, 1].std())
    assert 0 <= nums["ordinal_accuracy_output"] <= 1
    bias = result["tables"]["bias_curve"]
    assert len(bias) == 12 and bias["n"].sum() == N_TRIALS


def test_manifold(recordings, result):
    _, grid = recordings
    states = grid["rates"].values[:, epoch_step(grid, "delay2")]
    fit = pca(states, 6)
    spectrum = result["tables"]["manifold_spectrum"]
    assert spectrum["component"].tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(spectrum["explained_variance_ratio"], fit.explained_variance_ratio)
    scores = result["tables"]["manifold_scores"]
    assert len(scores) == N_GRID**2
    np.testing.assert_array_equal(scores["theta1"], grid["theta1"].values)
    np.testing.assert_allclose(np.abs(scores[[f"pc{k}" for k in range(1, 7)]].to_numpy()),
                               np.abs(fit.transform(states)), atol=1e-8)
    nums = result["numbers"]
    cum = np.cumsum(fit.explained_variance_ratio)
    assert nums["var3"] == pytest.approx(cum[2]) and nums["var4"] == pytest.approx(cum[3])
    assert 0 <= nums["principal_angle1_deg"] <= nums["principal_angle2_deg"] <= 90
    assert nums["radius_ratio"] == pytest.approx(min(nums["radius1"], nums["radius2"])
                                                 / max(nums["radius1"], nums["radius2"]))
    assert isinstance(nums["clifford"], bool)


def test_topology(result):
    nums, pers = result["numbers"], result["tables"]["persistence"]
    assert set(pers["dimension"]) <= {0, 1, 2} and 0 in set(pers["dimension"])
    h0 = pers[pers["dimension"] == 0]
    assert len(h0) == 20 and np.isinf(h0["death"]).sum() == 1  # 20 landmarks, one component
    assert (pers["death"] >= pers["birth"]).all()
    assert nums["betti0"] == 1
    assert all(isinstance(nums[f"betti{k}"], int) for k in range(3))
    lifetimes = [nums[f"h{k}_lifetime{i}_rel"] for k in (1, 2) for i in (1, 2, 3)]
    assert all(0 <= x <= 1 for x in lifetimes)
    assert nums["h1_lifetime1_rel"] >= nums["h1_lifetime2_rel"] >= nums["h1_lifetime3_rel"]


def test_connectivity(recordings, result):
    acts, _ = recordings
    nums, tables = result["numbers"], result["tables"]
    W = acts["recurrent_weight"].values
    weights = tables["recurrent_weights"]
    assert len(weights) == N_UNITS**2
    row = weights[(weights["post"] == 3) & (weights["pre"] == 8)]
    assert row["weight"].item() == pytest.approx(W[3, 8])
    groups = tables["unit_groups"]
    assert groups["unit"].tolist() == list(range(N_UNITS))
    assert set(groups["group"]) <= {"theta1", "theta2", "untuned"}
    assert nums["n_theta1_units"] == (groups["group"] == "theta1").sum()
    assert nums["n_theta2_units"] == (groups["group"] == "theta2").sum()
    assert set(tables["connectivity_profile"]["delta_deg"]) <= {-67.5, -22.5, 22.5, 67.5}


def test_dynamics(result):
    nums, tables = result["numbers"], result["tables"]
    tuning = tables["tuning_change"]
    assert tuning["unit"].tolist() == list(range(N_UNITS))
    tuned = tuning[tuning["tuned"]]
    assert nums["fraction_tuning_changed"] == pytest.approx(tuned["changed"].mean())
    assert nums["median_tuning_corr"] == pytest.approx(tuned["corr"].median())
    ctd = tables["cross_temporal_decoding"]
    assert len(ctd) == 14 * 14
    early, late = LAST_MS[2], LAST_MS[4]  # last steps of delay 1 and delay 2

    def at(train, test):
        return ctd[(ctd["train_time_ms"] == train) & (ctd["test_time_ms"] == test)]["error_deg"]

    assert nums["ctd_within_delay1_deg"] == pytest.approx(at(early, early).item())
    assert nums["ctd_delay1_to_delay2_deg"] == pytest.approx(at(early, late).item())
    assert nums["ctd_within_delay2_deg"] == pytest.approx(at(late, late).item())
    assert ctd["error_deg"].between(0, 90).all()
    start = STARTS_MS[4]  # first step of delay 2
    assert nums["code_change_across_stimulus2_deg"] == pytest.approx(
        at(early, start).item() - at(start, start).item())
    drift_from = max(late - (start - early), start)
    assert nums["code_drift_within_delay2_deg"] == pytest.approx(
        at(drift_from, late).item() - at(late, late).item())
    assert nums["stimulus2_locked_code_change_deg"] == pytest.approx(
        nums["code_change_across_stimulus2_deg"] - nums["code_drift_within_delay2_deg"])


def test_epochs_table(result):
    epochs = result["tables"]["epochs"]
    assert epochs["epoch"].tolist() == list(EPOCHS)
    assert epochs["start_ms"].tolist() == STARTS_MS
    assert epochs["end_ms"].tolist() == LAST_MS


def test_epoch_step(recordings):
    acts, _ = recordings
    assert [epoch_step(acts, e, "first") for e in EPOCHS] == [0, 2, 4, 7, 9, 12]
    assert [epoch_step(acts, e) for e in EPOCHS] == [1, 3, 6, 8, 11, 13]
    assert epoch_step(acts, "report", "last") == acts.sizes["time"] - 1


def test_shuffle_orientations_permutes_label_pairs_only(recordings):
    acts, grid = recordings
    shuffled = shuffle_orientations(grid, seed=3)
    pairs = set(zip(grid["theta1"].values, grid["theta2"].values, strict=True))
    moved = list(zip(shuffled["theta1"].values, shuffled["theta2"].values, strict=True))
    assert set(moved) == pairs and len(moved) == len(pairs)  # a grid stays a grid
    assert not np.array_equal(shuffled["theta1"].values, grid["theta1"].values)
    np.testing.assert_array_equal(shuffled["rates"].values, grid["rates"].values)
    assert shuffled.attrs["orientations"] == "shuffled" and "orientations" not in grid.attrs
    again = shuffle_orientations(acts, seed=3)
    np.testing.assert_array_equal(again["theta2"], shuffle_orientations(acts, seed=3)["theta2"])


def test_analyze_networks_runs_the_same_analyses_on_the_nulls(recordings, result):
    acts, grid = recordings
    out = analyze_networks(acts, grid, SETTINGS, ordinal=True, untrained=recordings, seed=2)
    assert set(out) == set(NETWORKS)
    assert out["trained"]["numbers"] == pytest.approx(result["numbers"], nan_ok=True)
    # the same recordings here
    assert out["untrained"]["numbers"] == pytest.approx(result["numbers"], nan_ok=True)
    shuffled = analyze_condition(shuffle_orientations(acts, 2), shuffle_orientations(grid, 3),
                                 SETTINGS, ordinal=True)["numbers"]
    assert out["shuffled"]["numbers"] == pytest.approx(shuffled, nan_ok=True)
    # the topology reads the states only: labels do not change it
    assert out["shuffled"]["numbers"]["betti1"] == result["numbers"]["betti1"]
    assert "untrained" not in analyze_networks(acts, grid, SETTINGS, ordinal=True)


def test_measures_table_puts_the_nulls_beside_the_measurement(recordings, result):
    acts, grid = recordings
    out = analyze_networks(acts, grid, SETTINGS, ordinal=True)
    table = measures_table(out)
    assert list(table.columns) == ["measure", *NETWORKS]
    assert table["measure"].tolist() == NUMBERS
    t = table.set_index("measure")
    assert t.loc["median_error_deg", "trained"] == result["numbers"]["median_error_deg"]
    assert t.loc["clifford", "trained"] in (0.0, 1.0)
    assert t["untrained"].isna().all()  # not computed
    assert t.loc["median_error_deg", "shuffled"] == out["shuffled"]["numbers"]["median_error_deg"]
