"""Cross-time decoding: encoding-space decoders tested on later memory spaces (Lei et al. 2024,
Fig. 4b, 4c; the test of a fixed memory slot, H1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import cross_time_decoding
from wmgeom.report import figures as F
from wmgeom.studies.findings import (
    Finding,
    Threshold,
    format_spread,
    normalized,
)
from wmgeom.studies.nback.analysis import (
    MULTI_FEATURE,
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
    bank_of,
    feature_names,
    multi_task_focus,
    per_model,
    percent,
)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.cross_time_decoding` from the decoder bank."""
    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; memory steps need two or more")
    return cross_time_decoding(ds, space=ctx.protocol.space, features=feature_names(ds),
                               bank=bank_of(rec, ctx))


def _relevant(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["relevant"].astype(bool)]


_KEYS = ["run", "task", "feature", "stimulus", "frame"]


def _with_within(t: pd.DataFrame, tables) -> pd.DataFrame:
    """Cross-time rows with ``accuracy_within``: the decoders fitted at the same step."""
    w = tables.get("within_time")
    if w is None or w.empty or not set(_KEYS) <= set(w.columns):
        return t
    w = w[_KEYS + ["accuracy"]].rename(columns={"accuracy": "accuracy_within"})
    return t.merge(w, on=_KEYS, how="left")


def _slot(g: pd.DataFrame) -> dict[str, float]:
    def drops(r: pd.DataFrame) -> tuple[float, float, float]:
        z = normalized(r["accuracy"], r["chance"])
        at_encoding = (r["frame"] == r["stimulus"]).to_numpy()
        later = (r["frame"] > r["stimulus"]).to_numpy()
        enc, mem = z[at_encoding].mean(), z[later].mean()
        rel = (enc - mem) / enc if enc > 0 else np.nan
        if "accuracy_within" not in r:
            return rel, enc - mem, np.nan
        zw = normalized(r["accuracy_within"], r["chance"])
        return rel, enc - mem, enc - zw[later].mean()

    d = np.array([drops(r) for _, r in g.groupby("run", sort=False)], float)
    return {"normalized drop": float(np.nanmean(d[:, 0])),
            "drop of encoding decoders at later steps": float(np.nanmean(d[:, 1])),
            "null drop of encoding decoders at later steps": float(np.nanmean(d[:, 2]))
            if np.isfinite(d[:, 2]).any() else np.nan}


def _describe_slot(model: str, g: pd.DataFrame, m) -> str:
    enc = g[g["frame"] == g["stimulus"]]["accuracy"]
    mem = g[g["frame"] > g["stimulus"]]["accuracy"]
    text = (f"{model}: encoding step {format_spread(enc, 'cells')}, later steps "
            f"{format_spread(mem, 'cells')}; normalised drop {m['normalized drop']:.2f}")
    if "accuracy_within" in g:
        text += (f"; decoders fitted at the later steps "
                 f"{format_spread(g[g['frame'] > g['stimulus']]['accuracy_within'], 'cells')}")
    return text


_SLOT_RULE = {
    "measure": _slot, "describe": _describe_slot, "join": _with_within,
    "reproduced": (Threshold("normalized drop", ">=", 0.5),),
    "partly": (Threshold("normalized drop", ">=", 0.2),),
    "null": "decoders fitted at the later steps themselves (the drop that losing the "
            "information alone would cause)",
    "compare": "drop of encoding decoders at later steps", "margin": 0.2}
"""The fixed-slot rule of Fig. 4b (H1 rejected): the paper's claim and the two questions
beyond it, which ask it of other tasks and other cores, share it."""


NO_FIXED_SLOT = Finding(
    "no_fixed_slot", "Memories do not sit in a fixed subspace (H1 rejected)",
    "decoders fitted at encoding do not generalise well to later steps", "4b", "cross_time",
    rows=_relevant, **_SLOT_RULE,
    definitions="drop = (encoding − later steps) / encoding, normalised accuracies, relevant "
                "features",
    missing="cross_time table missing")


def _held(t: pd.DataFrame) -> pd.DataFrame:
    """Relevant rows of the stimuli a task holds: those with a recall cell (compared at a
    later frame; in delayed match-to-sample the sample only, in item recognition every
    list item)."""
    t = _relevant(t)
    if t.empty or "recall" not in t:
        return t.iloc[:0]
    held = t[t["recall"].astype(bool)][["run", "task", "stimulus"]].drop_duplicates()
    return t.merge(held, on=["run", "task", "stimulus"])


CHRONOLOGICAL_WITHOUT_DEMAND = Finding(
    "chronological_without_demand",
    "Memories leave their encoding subspace when the task does not ask for their order",
    "\"Our results are specific to the N-back task structure, and it remains uncertain "
    "whether similar computational strategies would emerge in other working memory tasks\" "
    "(§5); the N-back strategy is chronological memory subspaces (Fig. 4b: encoding "
    "decoders do not generalise to later steps). Delayed match-to-sample holds one sample "
    "through distractors, item recognition a list of objects whose order no answer needs: "
    "fixed slots would serve both", "4b, §5", "cross_time",
    rows=_held, **_SLOT_RULE,
    definitions="the held stimuli of tasks whose family has no rolling comparison (delayed "
                "match-to-sample: the sample; item recognition: every list item): drop = "
                "(encoding − later steps) / encoding, normalised accuracies of the decoders "
                "fitted at each held stimulus's encoding step, relevant features, as for the "
                "N-back rule (Fig. 4b)",
    missing="cross_time table missing",
    no_units="needs a model of a task family without a rolling comparison (e.g. "
             "`wmgeom run --grid --tasks nback,dms,recognition`)",
    beyond_paper=True, cores="any", tasks="beyond", answers="tasks")


CHRONOLOGICAL_BEYOND_RNNS = Finding(
    "chronological_beyond_rnns",
    "Cores the paper does not train form chronological memory subspaces too",
    "\"Our findings are restricted to commonly used RNN architectures … we cannot make "
    "definitive claims about how different neural network architectures might affect "
    "representational geometry\" (§5); asked here of the N-back finding of Fig. 4b for a "
    "causal Transformer (no state carried between frames: it can attend back to the "
    "encoding) and a state-space core", "4b, §5", "cross_time",
    rows=_relevant, **_SLOT_RULE,
    definitions="the N-back rule of Fig. 4b (drop = (encoding − later steps) / encoding, "
                "normalised accuracies, relevant features) on the models whose core the "
                "paper does not train",
    missing="cross_time table missing",
    no_units="needs a core the paper does not train on an N-back task (e.g. `wmgeom run "
             "--grid --architectures gru,transformer,ssm`)",
    beyond_paper=True, cores="beyond", answers="architectures")


def _lag_matched(g: pd.DataFrame) -> tuple[float, float]:
    """Recall − non-recall accuracy at equal lags (recall at lag N of an N-back task vs the
    same lag in tasks of larger N), and Fig. 4c's reading (executive vs non-executive
    memory steps), averaged over runs."""
    def one(r: pd.DataFrame) -> tuple[float, float]:
        mem = r[r["frame"] > r["stimulus"]]
        lag = mem["frame"] - mem["stimulus"]
        recall = mem["recall"].astype(bool)
        diffs = [mem[recall & (lag == L)]["accuracy"].mean()
                 - mem[~recall & (lag == L)]["accuracy"].mean()
                 for L in sorted(set(lag[recall]))
                 if (recall & (lag == L)).any() and (~recall & (lag == L)).any()]
        executive = mem["executive"].astype(bool)
        fig4c = mem[executive]["accuracy"].mean() - mem[~executive]["accuracy"].mean()
        return (float(np.mean(diffs)) if diffs else np.nan), float(fig4c)

    d = np.array([one(r) for _, r in g.groupby("run", sort=False)], float)

    def mean(x: np.ndarray) -> float:  # NaN when no run has the quantity
        return float(np.nanmean(x)) if np.isfinite(x).any() else np.nan

    return mean(d[:, 0]), mean(d[:, 1])


def _memory(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Accuracies at the recall step of a stimulus and at its other memory steps."""
    mem = g[g["frame"] > g["stimulus"]]
    recall = mem["recall"].astype(bool)
    return (mem[recall]["accuracy"].to_numpy(float), mem[~recall]["accuracy"].to_numpy(float))


def _recall(g: pd.DataFrame) -> dict[str, float] | None:
    rec, other = _memory(g)
    if not len(rec) or not len(other):
        return None
    matched, fig4c = _lag_matched(g)
    # the runs (random seeds) are the samples: cells of one run are not independent, so no
    # test over cells; say in how many runs recall is above the other memory steps
    per_run = [np.subtract(*(a.mean() if len(a) else np.nan for a in _memory(r)))
               for _, r in (g.groupby("run", sort=False) if "run" in g else [("", g)])]
    return {"recall − other memory steps at equal lags": matched,
            "recall − other memory steps": rec.mean() - other.mean(),
            "executive − non-executive memory steps": fig4c,
            "runs with recall above the other memory steps":
            float(np.sum(np.asarray(per_run) > 0)),
            "runs": float(np.isfinite(per_run).sum())}


def _describe_recall(model: str, g: pd.DataFrame, m) -> str:
    if m is None:
        return ""
    rec, other = _memory(g)
    return (f"{model}: recall steps {format_spread(rec, 'cells')} vs other memory steps "
            f"{format_spread(other, 'cells')} (recall higher in "
            f"{m['runs with recall above the other memory steps']:.0f} of {m['runs']:.0f} "
            f"runs); at equal lags "
            f"{100 * m['recall − other memory steps at equal lags']:+.1f} points; "
            f"executive vs non-executive steps (Fig. 4c) "
            f"{100 * m['executive − non-executive memory steps']:+.1f} points")


RECALL_REALIGNMENT = Finding(
    "recall_realignment", "Memories partly realign with their encoding at recall",
    "in STMF and MTMF models cross-time accuracy is consistently higher at recall "
    "(executive) steps", "4b, 4c", "cross_time",
    rows=lambda t: _relevant(t[t["regime"].astype(str).str.upper().isin(MULTI_FEATURE)]),
    measure=_recall, describe=_describe_recall,
    reproduced=(Threshold("recall − other memory steps at equal lags", ">=", 0.05),
                Threshold("executive − non-executive memory steps", ">", 0.0)),
    partly=(Threshold("recall − other memory steps", ">", 0.0),),
    unit_name="STMF/MTMF model",
    definitions="cross-time accuracy of relevant features at the recall step T = S + N vs "
                "the other memory steps; the verdict compares them at equal lags (recall at "
                "lag N vs lag N in tasks of larger N), since accuracy decays with lag; Fig. "
                "4c's reading (executive vs non-executive steps) must agree in sign",
    missing="cross_time table missing",
    no_units="needs a multi-feature (STMF or MTMF) model",
    unmeasured="no memory step with both recall and non-recall cells",
    null="the same comparison in the untrained network",
    compare="recall − other memory steps at equal lags", margin=0.05,
    null_table="cross_time_null")


def _relevant_panels(t: pd.DataFrame, max_tasks: int = 3) -> pd.DataFrame:
    """Rows decoding each task's own feature; identity tasks first, as Fig. 4b."""
    t = _relevant(t)
    tasks = list(dict.fromkeys(t.loc[t["feature"] == "identity", "task"]))
    tasks += [k for k in dict.fromkeys(t["task"]) if k not in tasks]
    return t[t["task"].isin(tasks[:max_tasks])]


def _draw_null(tables, path):
    """Fig. 4b drawn from the untrained network's table: the null beside the measurement."""
    return F.retitled(
        F.plot_cross_time_decoding(
            _relevant_panels(multi_task_focus(tables["cross_time_null"])), None),
        "Cross-time decoding in the untrained network on the same trials (the null of "
        "Fig. 4b, 4c)", path)


def _read_cross_time(tables, name: str = "cross_time") -> str:
    def one(g):
        enc = g.loc[g["frame"] == g["stimulus"], "accuracy"].mean()
        later = g.loc[g["frame"] > g["stimulus"], "accuracy"].mean()
        return f"decoders fitted at the encoding step score {percent(enc)} there and " \
               f"{percent(later)} at later steps"

    return per_model(tables[name], one)


def _read_executive(tables) -> str:
    t = tables["cross_time"]
    later = t[t["frame"] > t["stimulus"]]
    flag = "recall" if "recall" in t else "executive"

    def one(g):
        ex = g.loc[g[flag].astype(bool), "accuracy"].mean()
        non = g.loc[~g[flag].astype(bool), "accuracy"].mean()
        return f"executive steps recalling the stimulus {percent(ex)} vs other memory steps " \
               f"{percent(non)}"

    return per_model(later, one)


ANALYSIS = Analysis(
    "cross_time", "Lei et al. 2024, Fig. 4b, 4c",
    "decoders fitted on the encoding space E(S=i,T=i), tested on held-out trials at every "
    "later step T=k (memory spaces M(S=i,T=k)); recall = the executive step k=i+N where "
    "stimulus i is compared",
    requires="two or more frames",
    compute=compute, untrained_null=True, null="the untrained network on the same trials",
    figures=(
        Figure("fig4b_cross_time", "Cross-time decoding (Fig. 4b)",
               lambda T, p: F.plot_cross_time_decoding(
                   _relevant_panels(multi_task_focus(T["cross_time"])), p),
               _read_cross_time,
               "encoding-step decoders do not generalise well to later memory steps "
               "(against slot-like H1)"),
        Figure("fig4b_cross_time_untrained",
               "Cross-time decoding, untrained network (Fig. 4b, the null)", _draw_null,
               lambda T: "the untrained network: " + _read_cross_time(T, "cross_time_null"),
               "encoding-step decoders do not generalise well to later memory steps "
               "(the recall finding must beat this network)", tables=("cross_time_null",)),
        Figure("fig4c_executive", "Executive vs non-executive steps (Fig. 4c)",
               lambda T, p: F.plot_executive_generalization(_relevant(T["cross_time"]), p),
               _read_executive,
               "cross-time accuracy higher on executive (recall) steps in STMF/MTMF models"),
    ),
    findings=(NO_FIXED_SLOT, RECALL_REALIGNMENT, CHRONOLOGICAL_WITHOUT_DEMAND,
              CHRONOLOGICAL_BEYOND_RNNS))
