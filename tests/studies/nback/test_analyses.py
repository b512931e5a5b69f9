"""Every declared analysis is complete; a new one is one declaration (computation, figure,
reading and a judged finding) that the driver, the report and the findings table pick up."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure as MplFigure

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.references import REFERENCES
from wmgeom.studies.findings import VERDICTS, Finding, Threshold
from wmgeom.studies.nback.analyses import ANALYSES, all_findings, findings, register, run_analyses
from wmgeom.studies.nback.analysis import Analysis, AnalysisProtocol, Figure, Recording
from wmgeom.studies.nback.report import declared_figures, draw_figures

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
TASKS = ("nback-1-location", "nback-1-identity", "nback-1-category")


@pytest.mark.parametrize("analysis", ANALYSES, ids=lambda a: a.name)
def test_every_declared_analysis_has_a_figure_a_reading_and_rules(analysis):
    papers = tuple(r.short for r in REFERENCES.values())
    assert analysis.reference.startswith(papers)
    if analysis.reference.startswith("Lei et al. 2024"):  # the paper reproduced, by figure
        assert analysis.reference.startswith("Lei et al. 2024, Fig. ")
    assert len(analysis.description) > 20
    assert analysis.figures, f"{analysis.name} declares no figure"
    for figure in analysis.figures:
        assert callable(figure.draw) and callable(figure.reading)
        assert len(figure.paper) > 20
        assert "(Fig. " in figure.title or any(f"({p}" in figure.title for p in papers)
        assert figure.source in papers
        assert figure.tables, "a figure reads at least its analysis's table"
    for finding in analysis.findings:
        assert finding.reproduced, f"{finding.id} has no rule"
        assert all(isinstance(t, Threshold) for t in finding.reproduced + finding.partly)
        assert finding.rule.startswith(finding.definitions) and "reproduced:" in finding.rule
        assert len(finding.paper) > 10 and finding.figure
    if analysis.null:
        assert len(analysis.null) > 10


def test_names_are_unique_across_declarations():
    names = [a.name for a in ANALYSES]
    assert len(set(names)) == len(names)
    ids = [f.id for f in all_findings()]
    assert len(set(ids)) == len(ids)
    stems = [f.name for f in declared_figures()]
    assert len(set(stems)) == len(stems)


def _mean_activity(rec, ctx) -> pd.DataFrame:
    ds = rec.activations
    return (pd.DataFrame({"task": ds["task"].values, "mean": ds["hidden"].values.mean((1, 2))})
            .groupby("task", as_index=False).mean())


def _draw(tables, path) -> MplFigure:
    fig = MplFigure()
    t = tables["mean_activity"]
    fig.subplots().bar(t["task"], t["mean"])
    if path is not None:
        from wmgeom.report.figures import save_figure

        save_figure(fig, path)
    return fig


MEAN_ACTIVITY = Analysis(
    "mean_activity", "Lei et al. 2024, Fig. 1",
    "the mean hidden activity of every task, averaged over trials, frames and units",
    compute=_mean_activity,
    figures=(Figure("mean_activity", "Mean activity per task (Fig. 1)", _draw,
                    lambda T: f"{len(T['mean_activity'])} tasks",
                    "a figure the paper does not have, drawn for this test"),),
    findings=(Finding("activity_spread", "Tasks differ in their mean activity",
                      "not a claim of the paper", "1", "mean_activity",
                      measure=lambda g: {"spread": float(g["mean"].max() - g["mean"].min())},
                      describe=lambda label, g, m: f"{label}: spread {m['spread']:.3f}",
                      reproduced=(Threshold("spread", ">=", 0.0),),
                      partly=(Threshold("spread", ">", -1.0),)),),
    null="the same tasks with shuffled trial labels")


def test_a_new_analysis_is_one_declaration(tmp_path):
    ds = synthetic_memory_activations(36, 4, 16, features={"location": 2, "identity": 4,
                                                           "category": 2}, tasks=TASKS, seed=1)
    rec = Recording(ds, "gru-stmf", "gru", "stmf")
    # the driver runs it ...
    tables = run_analyses([rec], protocol=FAST, analyses=[MEAN_ACTIVITY])
    assert set(tables["mean_activity"]["task"]) == set(TASKS)
    assert tables["mean_activity"]["model"].iloc[0] == "GRU STMF"
    # ... the findings table judges its claim by its rule ...
    row = findings(tables, analyses=[MEAN_ACTIVITY]).set_index("id").loc["activity_spread"]
    # (it declares no null control, so its rule holding makes it partly, not reproduced)
    assert row["verdict"] == "partly" and row["verdict"] in VERDICTS
    assert row["reason"].startswith("no null control declared")
    assert row["rule"] == "reproduced: in every model, spread ≥ 0; partly: in some model, " \
                          "spread > -1; no null control: at most partly"
    assert row["measured"].startswith("GRU STMF: spread ")
    # ... and the report draws its figure
    drawn = draw_figures(tables, tmp_path, analyses=[MEAN_ACTIVITY])
    assert drawn["analysis"].tolist() == ["figure mean_activity"]
    assert (tmp_path / "mean_activity.png").is_file()
    # registering it once makes it part of every run; twice is refused
    register(MEAN_ACTIVITY)
    try:
        assert ANALYSES[-1] is MEAN_ACTIVITY
        assert "activity_spread" in findings(tables)["id"].tolist()
        with pytest.raises(Exception, match="already registered"):
            register(MEAN_ACTIVITY)
    finally:
        ANALYSES.remove(MEAN_ACTIVITY)


def test_a_finding_without_its_models_is_not_tested_with_the_reason():
    out = findings({}).set_index("id")
    assert (out["verdict"] == "not tested").all()
    assert (out["reason"].str.len() > 10).all()
