"""The N-back analyses on synthetic recordings with planted geometry (the driver's wiring)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _runs import with_model

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError
from wmgeom.models import SensoryCognitiveModel
from wmgeom.studies.nback.analyses import ANALYSES, causal, register, run_analyses
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording, resolve_protocol

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
OBJECTS = {"location": 2, "identity": 4, "category": 2}
STMF = ("nback-1-location", "nback-1-identity", "nback-1-category")


def gru_stmf() -> Recording:
    ds = synthetic_memory_activations(36, 4, 16, features=OBJECTS, tasks=STMF,
                                      relevant_gain=3.0, irrelevant_gain=1.2, noise=0.5,
                                      decay=0.85, architecture="gru", regime="stmf", seed=1)
    return Recording(ds, "gru-stmf", "gru", "stmf")


def lstm_stsf() -> tuple[Recording, SensoryCognitiveModel]:
    # a real (untrained) LSTM produces the states, so the causal test can run it on
    torch.manual_seed(0)
    model = SensoryCognitiveModel(2, (1, 1), 6, 16, "lstm").eval()
    ds = with_model(synthetic_memory_activations(
        72, 4, 16, features=OBJECTS, tasks=("nback-2-identity",), relevant_gain=3.0,
        irrelevant_gain=1.2, noise=0.5, architecture="lstm", regime="stsf", seed=2), model)
    return Recording(ds, "lstm-stsf", "lstm", "stsf", rollout=model.rollout), model


@pytest.fixture(scope="module")
def analysed():
    gru = gru_stmf()
    lstm, _ = lstm_stsf()
    return run_analyses([gru, lstm], protocol=FAST), lstm


def test_planted_relevant_coding_is_found(analysed):
    tables, _ = analysed
    t = tables["relevant_irrelevant"]
    gru = t[t["model"] == "GRU STMF"]
    relevant = gru.loc[gru["relevant"], "accuracy"].mean()
    irrelevant = gru.loc[~gru["relevant"], "accuracy"].mean()
    assert relevant > 0.9
    assert relevant > irrelevant + 0.05
    assert (gru["accuracy"] > gru["chance"]).all()
    assert set(gru["relevant_feature"]) == {"location", "identity", "category"}


def test_chronological_subspaces_decoders_do_not_generalise_across_time(analysed):
    tables, _ = analysed
    t = tables["cross_time"]
    t = t[(t["model"] == "GRU STMF") & t["relevant"]]
    at_encoding = t.loc[t["frame"] == t["stimulus"], "accuracy"].mean()
    later = t.loc[t["frame"] > t["stimulus"], "accuracy"].mean()
    assert at_encoding > later + 0.15  # memory subspaces rotate with age (planted)
    assert t.loc[t["frame"] == t["stimulus"] + 1, "recall"].all()  # 1-back tasks


def test_cross_task_and_encoding_sharing_tables(analysed):
    tables, _ = analysed
    ct = tables["cross_task"]
    gru = ct[ct["model"] == "GRU STMF"]
    assert set(gru["kind"]) == {"validation", "generalization"}
    assert len(gru) == 3 * 3 * 3  # features × train tasks × test tasks
    # the planted codes share directions across tasks: decoders generalise above chance,
    # and best on the task they were fitted on
    gen = gru[gru["kind"] == "generalization"]
    assert gen["accuracy"].mean() > gen["chance"].mean() + 0.15
    assert gru.loc[gru["kind"] == "validation", "accuracy"].mean() > gen["accuracy"].mean()
    es = tables["encoding_sharing"]
    assert set(es["kind"]) == {"validation", "generalization"}


def test_unsupported_analyses_are_skipped_with_reasons(analysed):
    tables, _ = analysed
    skipped = tables["skipped"]
    row = skipped[(skipped["analysis"] == "cross_task") & (skipped["model"] == "LSTM STSF")]
    assert len(row) == 1
    assert "only one task recorded" in row["reason"].iloc[0]
    assert "LSTM STSF" not in set(tables["cross_task"]["model"])
    causal = skipped[skipped["analysis"] == "causal"]
    assert causal["model"].tolist() == ["GRU STMF"]
    assert "no trained model was handed in" in causal["reason"].iloc[0]
    assert (skipped["reason"].str.len() > 10).all()


def test_timing_has_one_row_per_analysis_and_recording(analysed):
    tables, _ = analysed
    timing = tables["timing"]
    steps = timing[~timing["analysis"].str.startswith("fit ")]
    assert len(steps) == sum(a.compute is not None for a in ANALYSES) * 2
    # every decoder of a recording is fitted once, in its bank, and reused by every analysis
    fits = timing[timing["analysis"].str.startswith("fit bank:")]
    assert sorted(fits["analysis"]) == ["fit bank:hidden:all"] * 2  # one per recording
    assert fits.groupby(["run", "analysis"]).size().max() == 1
    assert set(timing["status"]) <= {"ok", "skipped"}
    assert (timing["seconds"] >= 0).all()
    # both recordings appear, compared in the same tables
    assert set(tables["relevant_irrelevant"]["model"]) == {"GRU STMF", "LSTM STSF"}
    assert set(tables["relevant_irrelevant"]["run"]) == {"gru-stmf", "lstm-stsf"}


def test_causal_rollout_from_unperturbed_states_reproduces_the_recording(analysed):
    tables, lstm = analysed
    c = tables["causal"]
    assert set(c["model"]) == {"LSTM STSF"}
    assert set(c["direction"]) == {"decoder", "random"}  # the random-direction control
    control = c[c["direction"] == "random"].pivot_table(index="distance", columns="action",
                                                         values="probability")
    c = c[c["direction"] == "decoder"]
    probs = c.pivot_table(index="distance", columns="action", values="probability")
    np.testing.assert_allclose(control.loc[0.0], probs.loc[0.0])  # no move, no difference
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # at distance 0 the network runs on exactly as recorded: same probabilities at step N
    ds = lstm.activations
    match = ds["target"].values[:, 2] == 2
    recorded = ds["probs"].values[match, 2].mean(0)
    assert np.allclose(probs.loc[0.0, ["no_action", "non_match", "match"]], recorded,
                       atol=1e-4)
    # moving the state changes what the network does
    assert not np.allclose(probs.loc[-3.0], probs.loc[3.0], atol=1e-4)


def test_planted_deorthogonalisation_is_detected():
    ds = synthetic_memory_activations(40, 2, 16, features={"location": 2, "identity": 6,
                                                           "category": 2},
                                      tasks=STMF, embedding_rank=2, noise=0.5, seed=3)
    tables = run_analyses([Recording(ds, "run")], protocol=AnalysisProtocol(
        n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=5),
        analyses=["orthogonalization", "orthogonalization_pca"])
    stats = tables["orthogonalization_stats"].iloc[0]
    assert stats["mean_encoding"] < stats["mean_perceptual"] == pytest.approx(1.0)
    # one run is one sample: no test over its bootstraps
    assert stats["n"] == 1 and stats["unit"] == "runs" and np.isnan(stats["p"])
    assert stats["difference"] > 0
    pca = tables["orthogonalization_pca"]
    assert pca["n_components"].nunique() == 1  # both spaces reduced to one dimensionality
    assert set(pca["feature"]) == {"identity"}  # the only feature with 3+ values


def test_orthogonalisation_is_tested_over_runs_not_bootstraps():
    def recordings(seeds):
        return [Recording(synthetic_memory_activations(
            40, 2, 16, features={"location": 2, "identity": 6, "category": 2}, tasks=STMF,
            embedding_rank=2, noise=0.5, seed=s), f"run{s}", "gru", "STMF") for s in seeds]

    def stats(seeds, bootstraps):
        return run_analyses(recordings(seeds), protocol=AnalysisProtocol(
            n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=bootstraps),
            analyses=["orthogonalization"])["orthogonalization_stats"].iloc[0]

    three = stats((3, 4, 5), 3)
    assert three["n"] == 3  # the runs, not runs x features x bootstraps
    assert three["ci_low"] <= three["difference"] <= three["ci_high"]
    assert three["difference"] > 0 and three["p"] < 0.05
    # more bootstraps describe each run better; they add no samples to the test
    assert stats((3, 4, 5), 6)["n"] == 3


def test_planted_age_dependent_transformations_in_swap_tests():
    # memory codes depend on the stimulus' age only: the rotation from age a to a+1 is the
    # same for every stimulus (R(i+k,j+k) transfers) but differs between ages (R(i,j+1))
    ds = synthetic_memory_activations(150, 4, 16, features={"location": 2, "identity": 6,
                                                            "category": 2},
                                      tasks=STMF, mode="age", noise=0.5, seed=4)
    tables = run_analyses([Recording(ds, "run")], protocol=FAST,
                          analyses=["procrustes", "swap_tests"])
    swaps = tables["swap_tests"].groupby("swap")["accuracy"].mean()
    assert swaps["R(i,j)"] > swaps["R(i+k,j+k)"] > swaps["R(i,j+1)"] + 0.1
    pr = tables["procrustes"]
    assert (pr["frame"] > pr["stimulus"]).all()  # step j+1 reconstructed from step j
    assert pr["accuracy_reconstructed"].mean() > pr["chance"].mean() + 0.1


def test_user_errors():
    rec = gru_stmf()
    with pytest.raises(WmgeomError, match="no recording given"):
        run_analyses([])
    with pytest.raises(WmgeomError, match="unknown analyses"):
        run_analyses([rec], analyses=["nope"])
    with pytest.raises(WmgeomError, match="n_splits=1 is too small"):
        AnalysisProtocol(n_splits=1)
    with pytest.raises(WmgeomError, match="positive numbers"):
        AnalysisProtocol(Cs=(0.0,))
    with pytest.raises(WmgeomError, match="invalid analysis protocol"):
        resolve_protocol({"n_fold": 3})
    with pytest.raises(WmgeomError, match="already registered"):
        register(causal.ANALYSIS)


def test_protocol_follows_the_profile():
    seed = AnalysisProtocol.for_profile("paper")
    assert (seed.n_splits, seed.Cs, seed.n_bootstraps) == (10, (0.001, 0.01, 1.0, 10.0), 10)
    quick = AnalysisProtocol.for_profile("quick")
    assert quick.n_splits < seed.n_splits and len(quick.Cs) < len(seed.Cs)
    assert AnalysisProtocol(Cs=[1, 2]).Cs == (1.0, 2.0)  # lists from configs become tuples


def test_near_constant_units_break_moved_decoders_only_when_standardised():
    """The nuisance of trained GRUs (units of std ~1e-4 whose mean moves between frames)
    with unequal classes: raw decoders (the paper's) keep their geometry when moved to other
    frames; per-unit standardisation puts huge weights on the quiet units and breaks it."""
    from dataclasses import replace

    ds = synthetic_memory_activations(
        150, 4, 40, features={"location": 4, "identity": 6, "category": 3},
        tasks=("nback-1-location", "nback-2-identity", "nback-1-category"), mode="age",
        constant_units=4, constant_std=1e-4, class_skew=0.3, noise=0.5, relevant_gain=4.0,
        irrelevant_gain=3.0, seed=7)
    out = {}
    for standardize in (False, True):
        t = run_analyses([Recording(ds, "run")], protocol=replace(FAST, standardize=standardize),
                         analyses=["procrustes", "encoding_sharing"])
        p = t["procrustes"][t["procrustes"]["relevant"] & t["procrustes"]["in_window"]]
        es = t["encoding_sharing"]
        out[standardize] = (p["accuracy_fitted"].mean(), p["accuracy_reconstructed"].mean(),
                            es.loc[es["kind"] == "generalization", "accuracy"].mean())
    fitted, reconstructed, shared = out[False]
    assert fitted > 0.9 and reconstructed > fitted - 0.05 and shared > 0.85
    fitted_s, reconstructed_s, shared_s = out[True]
    assert fitted_s > 0.9  # each decoder works where it was fitted ...
    assert reconstructed_s < 0.5 and shared_s < 0.5  # ... and fails once moved
