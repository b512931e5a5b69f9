"""The fixed-point and model-comparison analyses wired into the N-back study."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _runs import with_model
from scipy.stats import ortho_group

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.models import SensoryCognitiveModel
from wmgeom.studies.nback.analyses import fixed_points, model_comparison, run_analyses
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording
from wmgeom.studies.nback.report import draw_figures

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
OBJECTS = {"location": 2, "identity": 4, "category": 2}
STMF = ("nback-1-location", "nback-1-identity", "nback-1-category")


def _lstm() -> tuple[Recording, SensoryCognitiveModel]:
    torch.manual_seed(0)
    model = SensoryCognitiveModel(2, (1, 1), 6, 16, "lstm").eval()
    ds = with_model(synthetic_memory_activations(
        36, 4, 16, features=OBJECTS, tasks=STMF, relevant_gain=3.0, irrelevant_gain=1.2,
        noise=0.5, architecture="lstm", regime="stmf", seed=2), model)
    return Recording(ds, "lstm-stmf", "lstm", "stmf", rollout=model.rollout,
                     step=model.step), model


def test_fixed_points_of_each_task_context(tmp_path):
    rec, model = _lstm()
    tables = run_analyses([rec, Recording(rec.activations, "no-model", "lstm", "stmf")],
                          protocol=FAST, analyses=["fixed_points"])
    t = tables["fixed_points"]
    assert set(t["task"]) == set(STMF) and set(t["run"]) == {"lstm-stmf"}
    found = t[t["found"]]
    assert not found.empty
    assert set(found["stability"]) <= {"stable", "marginal", "unstable"}
    assert ((found["max_abs_eigenvalue"] < 1) == (found["stability"] == "stable")).all()
    assert found["memory_fraction"].between(0, 1).all()
    assert found["pc_fraction"].between(0, 1).all()
    np.testing.assert_allclose(found["chance_fraction"], found["subspace_dim"] / 16)
    skipped = tables["skipped"]
    assert skipped["run"].tolist() == ["no-model"]
    assert "no trained model was handed in" in skipped["reason"].iloc[0]
    drawn = draw_figures(tables, tmp_path, analyses=[fixed_points.ANALYSIS])
    assert drawn["analysis"].tolist() == ["figure fixed_points"]


def test_the_untrained_network_and_other_models_are_compared_in_geometry_and_dynamics():
    pytest.importorskip("rsatoolbox")
    pytest.importorskip("DSA")
    ds = synthetic_memory_activations(48, 4, 16, features=OBJECTS, tasks=STMF,
                                      relevant_gain=3.0, irrelevant_gain=1.2, noise=0.5,
                                      decay=0.85, seed=1)
    rotated = ds.copy()
    rotated["hidden"] = (("trial", "frame", "unit"),
                         ds["hidden"].values @ ortho_group.rvs(16, random_state=0))
    other = synthetic_memory_activations(48, 4, 16, features=OBJECTS, tasks=STMF,
                                         relevant_gain=3.0, irrelevant_gain=1.2, noise=0.5,
                                         mode="slot", seed=5)
    untrained = Recording(other, "gru#untrained", "gru", "stmf")
    recs = [Recording(ds, "gru", "gru", "stmf", null=untrained),
            Recording(rotated, "rnn", "rnn", "stmf"),
            Recording(ds, "gru-2", "gru", "stmf")]
    tables = run_analyses(recs, protocol=FAST, analyses=["model_comparison"])
    summary = tables["model_comparison"]
    assert set(summary["network"]) == {"trained", "untrained"}
    pairs = tables["model_comparison_stats"].set_index(["run_a", "run_b"])
    assert len(pairs) == 3 + 1  # three trained pairs, one trained network with its null
    same = pairs.loc[("gru", "rnn")]  # the same states, rotated: no distance at all
    assert same["kind"] == "different architectures"
    assert same["procrustes"] == pytest.approx(0, abs=1e-6)
    # as similar as the states are to themselves: within the noise ceiling
    assert same["noise_ceiling_lower"] <= same["rsa"] <= same["noise_ceiling_upper"]
    assert same["rsa_p"] < 0.05
    assert same["dsa"] == pytest.approx(0, abs=0.05)
    assert pairs.loc[("gru", "gru-2"), "kind"] == "same architecture"
    null = pairs.loc[("gru", "gru")]
    assert null["kind"] == "trained vs untrained" and null["model_b"] == "GRU STMF untrained"
    # a different geometry is farther than the same one and than its shuffled conditions
    assert null["procrustes"] > same["procrustes"] + 0.1
    assert same["procrustes"] < same["procrustes_null"]
    assert null["rsa"] < same["rsa"]
    reading = model_comparison._read(tables)
    assert "trained vs untrained (1 pairs)" in reading and "DSA" in reading


def test_the_comparison_is_recomputed_when_tables_of_several_calls_merge():
    from wmgeom.studies.nback.analyses import merge_tables

    ds = synthetic_memory_activations(24, 3, 8, features=OBJECTS, tasks=STMF, seed=3)
    one = run_analyses([Recording(ds, "a", "gru", "stmf")], protocol=FAST,
                       analyses=["model_comparison"])
    two = run_analyses([Recording(ds, "b", "lstm", "stmf")], protocol=FAST,
                       analyses=["model_comparison"])
    assert one["model_comparison_stats"].empty  # one recording: nothing to compare
    merged = merge_tables([one, two], ["model_comparison"])
    pairs = merged["model_comparison_stats"]
    assert len(pairs) == 1 and pairs["procrustes"].iloc[0] == pytest.approx(0, abs=1e-6)


def test_too_few_trials_per_condition_is_a_skip_with_the_reason():
    ds = synthetic_memory_activations(6, 3, 8, features={"location": 4, "category": 2},
                                      tasks=("nback-1-location",), seed=3)
    tables = run_analyses([Recording(ds, "a", "gru", "stsf")],
                          protocol=AnalysisProtocol(n_splits=2, inner_splits=2, Cs=(1.0,)),
                          analyses=["model_comparison"])
    reason = tables["skipped"]["reason"].iloc[0]
    assert "fewer than 3 conditions" in reason and "record more trials" in reason


def test_without_the_optional_packages_the_shapes_are_still_compared(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "rsatoolbox", None)
    monkeypatch.setitem(sys.modules, "DSA", None)
    ds = synthetic_memory_activations(24, 3, 8, features=OBJECTS, tasks=STMF, seed=3)
    tables = run_analyses([Recording(ds, "a", "gru", "stmf"), Recording(ds, "b", "rnn", "stmf")],
                          protocol=FAST, analyses=["model_comparison"])
    pair = tables["model_comparison_stats"].iloc[0]
    assert pair["procrustes"] == pytest.approx(0, abs=1e-6)
    assert np.isnan(pair["rsa"]) and np.isnan(pair["dsa"])
    assert 'pip install "wmgeom[neuro]"' in model_comparison._read(tables)


def test_models_of_different_regimes_are_not_paired():
    """Networks that learned different tasks are not compared: the distance would mix the
    regime with the architecture."""
    ds = synthetic_memory_activations(24, 3, 8, features=OBJECTS, tasks=STMF, seed=4)
    recs = [Recording(ds, "a", "gru", "STMF"), Recording(ds, "b", "lstm", "STMF"),
            Recording(ds, "c", "rnn", "MTMF")]
    pairs = run_analyses(recs, protocol=FAST, analyses=["model_comparison"])[
        "model_comparison_stats"]
    assert list(zip(pairs["run_a"], pairs["run_b"], strict=True)) == [("a", "b")]
