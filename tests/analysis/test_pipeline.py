"""analyze_runs on synthetic recordings with planted geometry (SPEC A2–A8 wiring, U3)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from wmgeom.analysis.pipeline import AnalysisProtocol, analyze_runs, load_run
from wmgeom.errors import WmgeomError
from wmgeom.models import SensoryCognitiveModel

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from synthetic_runs import make_activations, with_model, write_run  # noqa: E402

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    gru = write_run(root / "gru-stmf", make_activations(
        trials_per_task=36, n_frames=4, n_units=16, relevant_gain=1.6, irrelevant_gain=0.35,
        noise=0.35, seed=1))
    # a real (untrained) LSTM produces the states of the second run, so the causal test
    # can run it on from perturbed states
    torch.manual_seed(0)
    lstm_model = SensoryCognitiveModel(2, (1, 1), 6, 16, "lstm").eval()
    lstm_ds = with_model(make_activations(
        tasks=("nback-2-identity",), trials_per_task=72, n_frames=4, n_units=16,
        architecture="lstm", regime="stsf", seed=2), lstm_model)
    lstm = write_run(root / "lstm-stsf", lstm_ds)
    models = {"lstm-stsf": lstm_model}

    def loader(path):
        if path.name not in models:
            raise FileNotFoundError(f"{path}/checkpoints/last.pt")
        return models[path.name]

    out = root / "out"
    tables = analyze_runs([gru, lstm], out_dir=out, progress=False, protocol=FAST,
                          model_loader=loader)
    return tables, out, gru, lstm, lstm_ds


def test_planted_relevant_coding_is_found(analysed):
    tables, *_ = analysed
    t = tables["relevant_irrelevant"]
    gru = t[t["model"] == "GRU STMF"]
    relevant = gru.loc[gru["relevant"], "accuracy"].mean()
    irrelevant = gru.loc[~gru["relevant"], "accuracy"].mean()
    assert relevant > 0.9
    assert relevant > irrelevant + 0.05
    assert (gru["accuracy"] > gru["chance"]).all()
    assert set(gru["relevant_feature"]) == {"location", "identity", "category"}


def test_chronological_subspaces_decoders_do_not_generalise_across_time(analysed):
    tables, *_ = analysed
    t = tables["cross_time"]
    t = t[(t["model"] == "GRU STMF") & t["relevant"]]
    at_encoding = t.loc[t["frame"] == t["stimulus"], "accuracy"].mean()
    later = t.loc[t["frame"] > t["stimulus"], "accuracy"].mean()
    assert at_encoding > later + 0.15  # memory subspaces rotate with age (planted)
    assert t.loc[t["frame"] == t["stimulus"] + 1, "recall"].all()  # 1-back tasks


def test_cross_task_and_encoding_sharing_tables(analysed):
    tables, *_ = analysed
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
    tables, *_ = analysed
    skipped = tables["skipped"]
    row = skipped[(skipped["analysis"] == "cross_task") & (skipped["model"] == "LSTM STSF")]
    assert len(row) == 1
    assert "only one task recorded" in row["reason"].iloc[0]
    assert "LSTM STSF" not in set(tables["cross_task"]["model"])
    causal = skipped[skipped["analysis"] == "causal"]
    assert causal["model"].tolist() == ["GRU STMF"]
    assert "could not be loaded" in causal["reason"].iloc[0]
    assert (skipped["reason"].str.len() > 10).all()


def test_tables_figures_and_timing_are_written(analysed):
    tables, out, gru, lstm, _ = analysed
    for name in ("relevant_irrelevant", "cross_task", "within_time", "cross_time",
                 "encoding_sharing", "timing", "skipped"):
        on_disk = pd.read_csv(out / "analysis" / f"{name}.csv")
        assert len(on_disk) == len(tables[name])
    assert (out / "analysis" / "protocol.json").is_file()
    for fig in ("fig2a_cross_task", "fig2b_relevant_irrelevant", "fig4b_cross_time",
                "fig4c_executive", "fig4d_encoding_sharing", "figA5_within_time"):
        assert (out / "figures" / f"{fig}.png").is_file()
        assert (out / "figures" / f"{fig}.svg").is_file()
    timing = tables["timing"]
    per_run = timing[~timing["analysis"].str.startswith("figure")]
    assert len(per_run) == len(set(per_run["analysis"])) * 2
    assert set(per_run["status"]) <= {"ok", "skipped"}
    assert (timing["seconds"] >= 0).all()
    assert not (gru / "analysis").exists()  # out_dir given: nothing written beside the run
    # both runs appear, compared in the same figures
    assert set(tables["relevant_irrelevant"]["model"]) == {"GRU STMF", "LSTM STSF"}


def test_load_run_reads_metadata_and_rejects_bad_folders(tmp_path, analysed):
    _, _, _, lstm, _ = analysed
    run = load_run(lstm)
    assert (run.architecture, run.regime, run.model) == ("lstm", "stsf", "LSTM STSF")
    with pytest.raises(WmgeomError, match="activations.nc not found; record activations"):
        load_run(tmp_path)
    (tmp_path / "activations.nc").write_text("not netcdf")
    with pytest.raises(WmgeomError, match="cannot read"):
        load_run(tmp_path)


def test_user_errors(analysed):
    _, _, gru, _, _ = analysed
    with pytest.raises(WmgeomError, match="no run directory given"):
        analyze_runs([])
    with pytest.raises(WmgeomError, match="unknown analyses"):
        analyze_runs([gru], analyses=["nope"], progress=False)
    with pytest.raises(WmgeomError, match="n_splits=1 is too small"):
        AnalysisProtocol(n_splits=1)
    with pytest.raises(WmgeomError, match="positive numbers"):
        AnalysisProtocol(Cs=(0.0,))
    with pytest.raises(WmgeomError, match="invalid analysis protocol"):
        analyze_runs([gru], protocol={"n_fold": 3}, progress=False)


def test_protocol_follows_the_profile():
    seed = AnalysisProtocol.for_profile("paper")
    assert (seed.n_splits, seed.Cs, seed.n_bootstraps) == (10, (0.001, 0.01, 1.0, 10.0), 10)
    quick = AnalysisProtocol.for_profile("quick")
    assert quick.n_splits < seed.n_splits and len(quick.Cs) < len(seed.Cs)
    assert AnalysisProtocol(Cs=[1, 2]).Cs == (1.0, 2.0)  # lists from configs become tuples


def test_causal_rollout_from_unperturbed_states_reproduces_the_recording(analysed):
    tables, *_, lstm_ds = analysed
    c = tables["causal"]
    assert set(c["model"]) == {"LSTM STSF"}
    probs = c.pivot_table(index="distance", columns="action", values="probability")
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # at distance 0 the network runs on exactly as recorded: same probabilities at step N
    match = lstm_ds["target"].values[:, 2] == 2
    recorded = lstm_ds["probs"].values[match, 2].mean(0)
    assert np.allclose(probs.loc[0.0, ["no_action", "non_match", "match"]], recorded,
                       atol=1e-4)
    # moving the state changes what the network does
    assert not np.allclose(probs.loc[-3.0], probs.loc[3.0], atol=1e-4)
    assert (tables["cross_task"].query("model == 'LSTM STSF'").empty)


def test_planted_deorthogonalisation_is_detected(tmp_path):
    run = write_run(tmp_path / "run", make_activations(
        trials_per_task=40, n_frames=2, n_units=16, identities_per_category=3,
        embedding_rank=2, seed=3))
    tables = analyze_runs([run], progress=False, figures=False, protocol=AnalysisProtocol(
        n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=5),
        analyses=["orthogonalization", "orthogonalization_pca"])
    stats = tables["orthogonalization_stats"].iloc[0]
    assert stats["mean_encoding"] < stats["mean_perceptual"] == pytest.approx(1.0)
    assert stats["p"] < 0.05
    pca = tables["orthogonalization_pca"]
    assert pca["n_components"].nunique() == 1  # both spaces reduced to one dimensionality
    assert set(pca["feature"]) == {"identity"}  # the only feature with 3+ values


def test_planted_age_dependent_transformations_in_swap_tests(tmp_path):
    # memory codes depend on the stimulus' age only: the rotation from age a to a+1 is the
    # same for every stimulus (R(i+k,j+k) transfers) but differs between ages (R(i,j+1))
    run = write_run(tmp_path / "run", make_activations(
        trials_per_task=150, n_frames=4, n_units=16, identities_per_category=3, noise=0.1))
    tables = analyze_runs([run], progress=False, figures=False, protocol=FAST,
                          analyses=["procrustes", "swap_tests"])
    swaps = tables["swap_tests"].groupby("swap")["accuracy"].mean()
    assert swaps["R(i,j)"] > swaps["R(i+k,j+k)"] > swaps["R(i,j+1)"] + 0.1
    pr = tables["procrustes"]
    assert (pr["frame"] > pr["stimulus"]).all()  # step j+1 reconstructed from step j
    assert pr["accuracy_reconstructed"].mean() > pr["chance"].mean() + 0.1
