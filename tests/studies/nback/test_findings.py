"""Findings and their verdicts, computed from tables by the written rules."""

from __future__ import annotations

import pandas as pd
import pytest

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.studies.findings import VERDICTS, normalized
from wmgeom.studies.nback.analyses import all_findings, findings, rules_markdown, run_analyses
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording

FINDINGS = all_findings()

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
OBJECTS = {"location": 4, "identity": 6, "category": 3}
TASKS = ("nback-1-location", "nback-2-identity", "nback-1-category")


def _tables(mode: str, seed: int = 0) -> dict[str, pd.DataFrame]:
    ds = synthetic_memory_activations(120, 4, 96, mode=mode, features=OBJECTS, tasks=TASKS,
                                      relevant_gain=4.0, irrelevant_gain=3.0, noise=0.6,
                                      regime="mtmf", seed=seed)
    return run_analyses([Recording(ds, f"{mode}-run", "gru", "MTMF")], protocol=FAST,
                        analyses=["relevant_irrelevant", "cross_time", "encoding_sharing",
                                  "procrustes", "swap_tests"])


@pytest.fixture(scope="module")
def age():
    return findings(_tables("age")).set_index("id")


def test_every_finding_gets_a_row_with_a_known_verdict(age):
    assert list(age.index) == [f.id for f in FINDINGS]
    assert set(age["verdict"]) <= set(VERDICTS)
    assert (age["rule"].str.len() > 20).all() and (age["paper"].str.len() > 10).all()
    tested = age[age["verdict"] != "not tested"]
    assert (tested["measured"].str.len() > 0).all()
    assert (age.loc[age["verdict"] == "not tested", "reason"].str.len() > 0).all()


def test_planted_chronological_subspaces_reproduce_the_paper(age):
    # mode "age" plants H2: one encoding space, memory subspaces that rotate with age and
    # the same rotation for every stimulus
    for fid in ("relevant_decodable", "no_fixed_slot", "encoding_shared",
                "procrustes_reconstruction", "swap_stimulus_vs_time"):
        assert age.loc[fid, "verdict"] == "reproduced", (fid, age.loc[fid, "measured"])
    assert "GRU MTMF" in age.loc["encoding_shared", "measured"]


def test_planted_fixed_slots_are_not_a_chronological_code():
    slot = findings(_tables("slot", seed=1)).set_index("id")
    # H1 planted: the encoding decoders stay valid at every later step
    assert slot.loc["no_fixed_slot", "verdict"] == "not reproduced"
    # each stimulus its own slot: the encoding space is not shared across stimuli
    assert slot.loc["encoding_shared", "verdict"] != "reproduced"


def test_comparative_findings_need_the_models_they_compare(age):
    for fid in ("irrelevant_weaker_stsf", "cross_task_vanilla_vs_gated", "size_scaling",
                "causal", "orthogonalization"):
        assert age.loc[fid, "verdict"] == "not tested", fid
    assert "STSF" in age.loc["irrelevant_weaker_stsf", "reason"]


def _relevant_rows(model, arch, regime, irrelevant_accuracy):
    rows = []
    for task, feature in (("t1", "location"), ("t2", "category")):
        for f in ("location", "category"):
            acc = 0.98 if f == feature else irrelevant_accuracy
            rows.append(dict(model=model, architecture=arch, regime=regime, run=model,
                             task=task, feature=f, relevant=f == feature, accuracy=acc,
                             decoder_accuracy=0.5 + acc / 2, chance=0.25))
    return rows


def test_stsf_comparison_verdicts():
    rows = (_relevant_rows("GRU STSF", "gru", "STSF", 0.35)
            + _relevant_rows("GRU MTMF", "gru", "MTMF", 0.9))
    out = findings({"relevant_irrelevant": pd.DataFrame(rows)}).set_index("id")
    assert out.loc["irrelevant_weaker_stsf", "verdict"] == "reproduced"
    rows = (_relevant_rows("GRU STSF", "gru", "STSF", 0.9)
            + _relevant_rows("GRU MTMF", "gru", "MTMF", 0.9))
    out = findings({"relevant_irrelevant": pd.DataFrame(rows)}).set_index("id")
    assert out.loc["irrelevant_weaker_stsf", "verdict"] == "not reproduced"


def _cross_task_rows(model, arch, val, gen):
    rows = []
    for a, ra in (("t1", "location"), ("t2", "category")):
        for b, rb in (("t1", "location"), ("t2", "category")):
            rows.append(dict(model=model, architecture=arch, regime="MTMF", run=model,
                             space="hidden", feature="location", train_task=a, test_task=b,
                             kind="validation" if a == b else "generalization",
                             same_relevant=ra == rb, accuracy=val if a == b else gen,
                             chance=0.25))
    return rows


def test_vanilla_vs_gated_verdicts():
    rows = (_cross_task_rows("RNN MTMF", "rnn", 0.95, 0.9)
            + _cross_task_rows("GRU MTMF", "gru", 0.95, 0.5))
    assert findings({"cross_task": pd.DataFrame(rows)}).set_index("id").loc[
        "cross_task_vanilla_vs_gated", "verdict"] == "reproduced"
    rows = (_cross_task_rows("RNN MTMF", "rnn", 0.95, 0.5)
            + _cross_task_rows("GRU MTMF", "gru", 0.95, 0.9))
    assert findings({"cross_task": pd.DataFrame(rows)}).set_index("id").loc[
        "cross_task_vanilla_vs_gated", "verdict"] == "not reproduced"


def test_causal_needs_more_than_the_random_control():
    rows = []
    for direction, drop in (("decoder", 0.8), ("random", 0.05)):
        for d in (0.0, 1.0, 3.0):
            p = 0.95 - drop * d / 3
            rows += [dict(model="GRU MTMF", architecture="gru", regime="MTMF", run="r",
                          direction=direction, distance=d, action="match", probability=p)]
    out = findings({"causal": pd.DataFrame(rows)}).set_index("id")
    assert out.loc["causal", "verdict"] == "reproduced"
    assert "random directions" in out.loc["causal", "measured"]


def test_normalized_accuracy():
    assert normalized(0.25, 0.25) == pytest.approx(0.0)
    assert normalized(1.0, 0.25) == pytest.approx(1.0)


def test_the_rules_are_written_in_the_docs():
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "findings.md").read_text()
    for f in FINDINGS:
        assert f"`{f.id}`" in doc and f.rule in doc, f.id
    assert rules_markdown(FINDINGS) in doc  # the table is the generated one, as it is
