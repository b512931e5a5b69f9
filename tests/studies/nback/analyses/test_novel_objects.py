"""The declared novel-object analysis: where novel identities lose their identity, judged
against the untrained network on the same trials."""

from __future__ import annotations

import pytest
from _novel import planted_novel_recording

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.studies.findings import rules_markdown
from wmgeom.studies.nback.analyses import findings, novel_objects, run_analyses
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording
from wmgeom.studies.nback.report import draw_figures

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), device="cpu")


def _judged(novel_decay: float, null_decay: float | None, gain: float = 5.0,
            null_gain: float = 5.0):
    null = None if null_decay is None else Recording(
        planted_novel_recording(null_decay, gain=null_gain, seed=100), "run#untrained", "gru",
        "MTMF")
    rec = Recording(planted_novel_recording(novel_decay, gain=gain), "run", "gru", "MTMF",
                    null=null)
    tables = run_analyses([rec], protocol=FAST, analyses=["novel_objects"])
    return tables, findings(tables, analyses=["novel_objects"]).set_index("id").loc[
        "novel_identity_loss"]


@pytest.fixture(scope="module")
def lost_in_memory():
    """Novel identities collapse in memory; the untrained network holds both groups alike."""
    return _judged(0.05, 1.0, null_gain=2.0)


def test_a_planted_memory_loss_is_located_and_beats_the_untrained_network(lost_in_memory):
    tables, row = lost_in_memory
    assert set(tables["novel_objects"]["model"]) == {"GRU MTMF"}
    assert not tables["novel_objects_null"].empty  # the same analysis on the null
    assert row["verdict"] == "reproduced", row["measured"]
    assert row["measured"].startswith("GRU MTMF: identity lost first at memory 1 ")
    assert row["null"].startswith("the untrained network on the same trials")
    assert row["beyond_paper"]
    assert "identity lost first at memory 1" in novel_objects._read(tables)
    assert "normalised identity accuracy" in novel_objects._read(tables, "novel_objects_null")


def test_no_loss_names_no_stage():
    _, row = _judged(1.0, 1.0)
    assert row["measured"].startswith("GRU MTMF: no stage loses more than 0.1"), \
        row["measured"]
    assert row["verdict"] != "reproduced"


def test_an_untrained_network_with_the_same_loss_is_no_finding():
    _, row = _judged(0.05, 0.05)
    assert "identity lost first at memory 1" in row["measured"]
    assert row["verdict"] != "reproduced", row["null"]


def test_without_the_null_the_loss_is_not_judged_reproduced():
    tables, row = _judged(0.05, None)
    assert "novel_objects_null" not in tables
    assert row["verdict"] != "reproduced"
    assert "not computed" in row["null"]


def test_a_recording_without_novel_identities_is_skipped_with_the_reason():
    ds = synthetic_memory_activations(40, 4, 16, features={"location": 2, "identity": 4,
                                                           "category": 2},
                                      tasks=("nback-1-identity",), split="val_angle", seed=1)
    tables = run_analyses([Recording(ds, "run", "gru", "MTMF")], protocol=FAST,
                          analyses=["novel_objects"])
    assert "novel_objects" not in tables
    reason = tables["skipped"].set_index("analysis").loc["novel_objects", "reason"]
    assert reason == ("the recording has no val_identity trials (novel identities); record "
                      "the split val_identity (recorded: ['val_angle'])")
    no_split = ds.drop_vars("split")
    tables = run_analyses([Recording(no_split, "run", "gru", "MTMF")], protocol=FAST,
                          analyses=["novel_objects"])
    assert "(recorded: no splits)" in tables["skipped"]["reason"].iloc[0]
    row = findings(tables, analyses=["novel_objects"]).set_index("id").loc[
        "novel_identity_loss"]
    assert row["verdict"] == "not tested" and "val_identity" in row["reason"]


def test_the_figures_are_drawn_and_the_finding_is_marked_beyond_the_paper(lost_in_memory,
                                                                           tmp_path):
    tables, _ = lost_in_memory
    drawn = draw_figures(tables, tmp_path, analyses=[novel_objects.ANALYSIS])
    assert (tmp_path / "novel_objects.png").is_file()
    assert (tmp_path / "novel_objects_untrained.png").is_file()
    assert len(drawn) == 2
    finding = novel_objects.NOVEL_IDENTITY_LOSS
    assert finding.beyond_paper
    assert f"| `{finding.id}` | {finding.claim} (beyond the paper) |" in \
        rules_markdown([finding])
