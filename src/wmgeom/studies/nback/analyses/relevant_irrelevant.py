"""Task-relevant vs -irrelevant features at the first frame (Lei et al. 2024, Fig. 2b, A2a)."""

from __future__ import annotations

import pandas as pd

from wmgeom.analysis import relevant_irrelevant_decoding
from wmgeom.report import figures as F
from wmgeom.studies.findings import (
    Finding,
    Threshold,
    format_spread,
    normalized,
    per_run,
    units_by_architecture,
)
from wmgeom.studies.nback.analysis import (
    MULTI_FEATURE,
    Analysis,
    Context,
    Figure,
    Recording,
    analysis_dataset,
    bank_of,
    feature_names,
    per_model,
    percent,
)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.relevant_irrelevant_decoding` at frame 0, from the decoder bank."""
    ds = analysis_dataset(rec, ctx.protocol)
    return relevant_irrelevant_decoding(ds, frames=(0,), space=ctx.protocol.space,
                                        features=feature_names(ds), bank=bank_of(rec, ctx))


def _relevant(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["relevant"].astype(bool)]


def _irrelevant(t: pd.DataFrame) -> pd.DataFrame:
    return t[~t["relevant"].astype(bool)]


def _multi_feature(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["regime"].astype(str).str.upper().isin(MULTI_FEATURE)]


def _mean_normalized(r: pd.DataFrame) -> float:
    return float(normalized(r["accuracy"], r["chance"]).mean())


RELEVANT = Finding(
    "relevant_decodable", "Task-relevant features are decodable at the first frame",
    "task-relevant properties fully retrievable in all models", "2b", "relevant_irrelevant",
    rows=_relevant,
    measure=lambda g: {
        "mean relevant accuracy": per_run(g, lambda r: r["accuracy"].mean()).mean(),
        "normalized relevant accuracy": per_run(g, _mean_normalized).mean()},
    describe=lambda model, g, _m: (
        f"{model}: {format_spread(g['accuracy'], 'tasks')} "
        f"(decoder accuracy {format_spread(g['decoder_accuracy'], 'tasks')})"),
    reproduced=(Threshold("mean relevant accuracy", ">=", 0.90),),
    partly=(Threshold("normalized relevant accuracy", ">=", 0.5),),
    missing="relevant_irrelevant table missing")

IRRELEVANT = Finding(
    "irrelevant_decodable", "Multi-feature models keep task-irrelevant features",
    "irrelevant features much better preserved in STMF and MTMF models (decoding accuracy "
    ">85%)", "2b, A2a", "relevant_irrelevant",
    rows=lambda t: _irrelevant(_multi_feature(t)),
    measure=lambda g: {
        "irrelevant decoder accuracy": per_run(g, lambda r: r["decoder_accuracy"].mean()).mean(),
        "normalized irrelevant accuracy": per_run(g, _mean_normalized).mean()},
    describe=lambda model, g, m: (
        f"{model}: accuracy {format_spread(g['accuracy'], 'task × feature cells')}, "
        f"decoder accuracy {format_spread(g['decoder_accuracy'], 'cells')}, "
        f"normalised {m['normalized irrelevant accuracy']:.2f}"),
    reproduced=(Threshold("irrelevant decoder accuracy", ">", 0.85),
                Threshold("normalized irrelevant accuracy", ">=", 0.5)),
    partly=(Threshold("normalized irrelevant accuracy", ">=", 0.25),),
    unit_name="STMF/MTMF model",
    missing="relevant_irrelevant table missing",
    no_units="needs a multi-feature (STMF or MTMF) model")


def _stsf_gap(g: pd.DataFrame) -> dict[str, float] | None:
    single = g[g["regime"].str.upper() == "STSF"]
    multi = _multi_feature(g)
    if single.empty or multi.empty:
        return None
    a, b = per_run(single, _mean_normalized), per_run(multi, _mean_normalized)
    return {"STSF": a.mean(), "multi-feature": b.mean(),
            "multi-feature − STSF normalized irrelevant accuracy": b.mean() - a.mean()}


def _describe_stsf(arch: str, g: pd.DataFrame, m) -> str:
    if m is None:
        return ""
    single = g[g["regime"].str.upper() == "STSF"]
    multi = _multi_feature(g)
    return (f"{arch}: STSF normalised "
            f"{format_spread(per_run(single, _mean_normalized), 'runs', False)} "
            f"(accuracy {format_spread(single['accuracy'], 'cells')}) vs STMF/MTMF "
            f"{format_spread(per_run(multi, _mean_normalized), 'runs', False)} "
            f"(accuracy {format_spread(multi['accuracy'], 'cells')})")


IRRELEVANT_WEAKER_STSF = Finding(
    "irrelevant_weaker_stsf", "Single-task models keep irrelevant features less",
    "task-irrelevant features not generally well preserved in STSF models", "2b",
    "relevant_irrelevant", rows=_irrelevant, measure=_stsf_gap, describe=_describe_stsf,
    reproduced=(Threshold("multi-feature − STSF normalized irrelevant accuracy", ">=", 0.1),),
    partly=(Threshold("multi-feature − STSF normalized irrelevant accuracy", ">", 0.0),),
    units=units_by_architecture, unit_name="architecture",
    missing="relevant_irrelevant table missing",
    unmeasured="needs an STSF and a multi-feature model of the same architecture")


def _read(tables) -> str:
    def one(g):
        rel = g.loc[g["relevant"].astype(bool), "accuracy"].mean()
        irr = g.loc[~g["relevant"].astype(bool), "accuracy"].mean()
        return f"relevant features decoded at {percent(rel)} vs irrelevant at {percent(irr)}"

    return per_model(tables["relevant_irrelevant"], one)


ANALYSIS = Analysis(
    "relevant_irrelevant", "Lei et al. 2024, Fig. 2b, A2a",
    "decode location, identity and category from the RNN state at the first frame, per task; "
    "relevant = the task's own feature",
    requires="labels of every feature at the first frame",
    compute=compute,
    figures=(Figure("fig2b_relevant_irrelevant",
                    "Task-relevant vs -irrelevant features (Fig. 2b, A2a)",
                    lambda T, p: F.plot_relevant_irrelevant(T["relevant_irrelevant"], p), _read,
                    "relevant features fully decodable in all models; irrelevant ones poorly "
                    "in STSF but >85% in STMF and MTMF models"),),
    findings=(RELEVANT, IRRELEVANT, IRRELEVANT_WEAKER_STSF))
