"""Within-step decoding of relevant and irrelevant features at every step (Lei et al. 2024,
Fig. A5), and the claims of Fig. 2b judged where they matter: while a stimulus is held in
memory (lags 1..N), against the untrained network on the same trials."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import within_time_decoding
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
    multi_task_focus,
    per_model,
    percent,
)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.within_time_decoding` from the decoder bank."""
    ds = analysis_dataset(rec, ctx.protocol)
    return within_time_decoding(ds, space=ctx.protocol.space, features=feature_names(ds),
                                bank=bank_of(rec, ctx))


UNTRAINED = "the untrained network on the same trials"


def _held(t: pd.DataFrame) -> pd.DataFrame:
    """Steps at which a stimulus is held for its comparison: lags 1..N."""
    return t[(t["lag"] >= 1) & (t["lag"] <= t["n"])]


def _relevant(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["relevant"].astype(bool)]


def _irrelevant(t: pd.DataFrame) -> pd.DataFrame:
    return t[~t["relevant"].astype(bool)]


def _multi_feature(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["regime"].astype(str).str.upper().isin(MULTI_FEATURE)]


def _mean_normalized(r: pd.DataFrame) -> float:
    return float(normalized(r["accuracy"], r["chance"]).mean())


RELEVANT = Finding(
    "relevant_decodable", "Task-relevant features are decodable while they are held",
    "task-relevant properties fully retrievable in all models", "2b, A5", "within_time",
    rows=lambda t: _relevant(t[(t["lag"] >= 0) & (t["lag"] <= t["n"])]),
    measure=lambda g: {
        "mean relevant accuracy": per_run(g, lambda r: r["accuracy"].mean()).mean(),
        "normalized relevant accuracy": per_run(g, _mean_normalized).mean()},
    describe=lambda model, g, _m: (
        f"{model}: {format_spread(g['accuracy'], 'stimulus × step cells')} "
        f"(decoder accuracy {format_spread(g['decoder_accuracy'], 'cells')})"),
    reproduced=(Threshold("mean relevant accuracy", ">=", 0.90),),
    partly=(Threshold("normalized relevant accuracy", ">=", 0.5),),
    definitions="the task's own feature of each stimulus, decoded at every step from its "
                "encoding (lag 0) to its comparison (lag N)",
    missing="within_time table missing",
    null=UNTRAINED, compare="normalized relevant accuracy", margin=0.1,
    null_table="within_time_null")

IRRELEVANT = Finding(
    "irrelevant_decodable", "Multi-feature models keep task-irrelevant features in memory",
    "irrelevant features much better preserved in STMF and MTMF models (decoding accuracy "
    ">85%), consistent across time points", "2b, A2a, A5", "within_time",
    rows=lambda t: _held(_irrelevant(_multi_feature(t))),
    measure=lambda g: {
        "irrelevant decoder accuracy": per_run(g, lambda r: r["decoder_accuracy"].mean()).mean(),
        "normalized irrelevant accuracy": per_run(g, _mean_normalized).mean()},
    describe=lambda model, g, m: (
        f"{model}: accuracy {format_spread(g['accuracy'], 'task × feature × step cells')}, "
        f"decoder accuracy {format_spread(g['decoder_accuracy'], 'cells')}, "
        f"normalised {m['normalized irrelevant accuracy']:.2f}"),
    reproduced=(Threshold("irrelevant decoder accuracy", ">", 0.85),
                Threshold("normalized irrelevant accuracy", ">=", 0.5)),
    partly=(Threshold("normalized irrelevant accuracy", ">=", 0.25),),
    unit_name="STMF/MTMF model",
    definitions="the features a task does not ask about, decoded at the memory steps "
                "(lags 1..N) of each stimulus",
    missing="within_time table missing",
    no_units="needs a multi-feature (STMF or MTMF) model",
    null=UNTRAINED, compare="normalized irrelevant accuracy", margin=0.1,
    null_table="within_time_null")


def _robustness(g: pd.DataFrame) -> dict[str, float] | None:
    """Relevant − irrelevant normalized accuracy from encoding to comparison (lags 0..N),
    per run, averaged over runs."""
    def one(r: pd.DataFrame) -> float:
        rel, irr = _relevant(r), _irrelevant(r)
        if rel.empty or irr.empty:
            return np.nan
        return _mean_normalized(rel) - _mean_normalized(irr)

    v = per_run(g, one)
    if not np.isfinite(v).any():
        return None
    return {"relevant − irrelevant normalized accuracy": float(np.nanmean(v))}


def _describe_robustness(model: str, g: pd.DataFrame, m) -> str:
    if m is None:
        return ""
    return (f"{model}: relevant {per_run(_relevant(g), _mean_normalized).mean():.2f} vs "
            f"irrelevant {per_run(_irrelevant(g), _mean_normalized).mean():.2f} normalised "
            f"(difference {m['relevant − irrelevant normalized accuracy']:+.2f})")


RELEVANT_MORE_ROBUST = Finding(
    "relevant_more_robust", "Task-relevant features are held more robustly than irrelevant ones",
    "task-relevant features were more robustly encoded and distinctly separated compared to "
    "task-irrelevant ones", "A5", "within_time",
    rows=lambda t: _multi_feature(t[(t["lag"] >= 0) & (t["lag"] <= t["n"])]),
    measure=_robustness, describe=_describe_robustness,
    reproduced=(Threshold("relevant − irrelevant normalized accuracy", ">=", 0.05),),
    partly=(Threshold("relevant − irrelevant normalized accuracy", ">", 0.0),),
    unit_name="STMF/MTMF model",
    definitions="normalized accuracy of the task's own feature minus that of the other "
                "features, from each stimulus' encoding (lag 0) to its comparison (lag N), "
                "in models that learned several features (each feature is relevant in some "
                "of their tasks, so feature difficulty averages out)",
    missing="within_time table missing",
    no_units="needs a multi-feature (STMF or MTMF) model",
    null="the same difference in the untrained network on the same trials",
    compare="relevant − irrelevant normalized accuracy", margin=0.05,
    null_table="within_time_null")


def _stsf_gap(g: pd.DataFrame) -> dict[str, float] | None:
    single = g[g["regime"].str.upper() == "STSF"]
    multi = _multi_feature(g)
    if single.empty or multi.empty:
        return None
    a, b = per_run(single, _mean_normalized), per_run(multi, _mean_normalized)
    return {"multi-feature − STSF normalized irrelevant accuracy": b.mean() - a.mean()}


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
    "within_time", rows=lambda t: _held(_irrelevant(t)), measure=_stsf_gap,
    describe=_describe_stsf,
    reproduced=(Threshold("multi-feature − STSF normalized irrelevant accuracy", ">=", 0.1),),
    partly=(Threshold("multi-feature − STSF normalized irrelevant accuracy", ">", 0.0),),
    units=units_by_architecture, unit_name="architecture",
    definitions="irrelevant features at the memory steps (lags 1..N) of each model's own "
                "tasks",
    missing="within_time table missing",
    unmeasured="needs an STSF and a multi-feature model of the same architecture",
    null="the same comparison between the untrained networks",
    compare="multi-feature − STSF normalized irrelevant accuracy", margin=0.1,
    null_table="within_time_null")


def _draw_null(tables, path):
    """Fig. A5 drawn from the untrained network's table: the null beside the measurement."""
    return F.retitled(
        F.plot_within_time_decoding(multi_task_focus(tables["within_time_null"], 1), None),
        "Within-step decoding in the untrained network on the same trials (the null of "
        "Fig. A5 and the findings of Fig. 2b)", path)


def _read(tables, name: str = "within_time") -> str:
    t = tables[name]
    same = t[t["frame"] == t["stimulus"]] if "stimulus" in t else t

    def one(g):
        rel = g.loc[g["relevant"].astype(bool), "accuracy"].mean()
        irr = g.loc[~g["relevant"].astype(bool), "accuracy"].mean()
        return f"averaged over steps, relevant features {percent(rel)} vs irrelevant " \
               f"{percent(irr)}"

    return per_model(same, one)


ANALYSIS = Analysis(
    "within_time", "Lei et al. 2024, Fig. A5",
    "every stimulus i decoded at every later step j >= i, decoders fitted and cross-validated "
    "at step j, per task; relevant vs irrelevant features",
    compute=compute,
    figures=(Figure("figA5_within_time", "Within-step decoding (Fig. A5)",
                    lambda T, p: F.plot_within_time_decoding(
                        multi_task_focus(T["within_time"], 1), p), _read,
                    "relevant and irrelevant features both well represented at encoding; "
                    "relevant ones more robust"),
             Figure("figA5_within_time_untrained",
                    "Within-step decoding, untrained network (Fig. A5, the null)", _draw_null,
                    lambda T: "the untrained network: " + _read(T, "within_time_null"),
                    "relevant and irrelevant features both well represented at encoding; "
                    "relevant ones more robust (the findings must beat this network)",
                    tables=("within_time_null",)),),
    findings=(RELEVANT, IRRELEVANT, IRRELEVANT_WEAKER_STSF, RELEVANT_MORE_ROBUST),
    untrained_null=True, null=UNTRAINED)
