"""Cross-task generalization of decoders (Lei et al. 2024, Fig. 2a, 2c; LSTM cell state, A2b)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import cross_task_generalization
from wmgeom.models.cores import GATED_RNN, VANILLA_RNN
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.report import figures as F
from wmgeom.studies.findings import (
    Finding,
    Threshold,
    format_spread,
    normalized,
    one_unit,
    per_run,
)
from wmgeom.studies.nback.analysis import (
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
    task_names,
)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.cross_task_generalization` at the first frame for the hidden
    state and, when recorded, the LSTM cell state (column ``space``)."""
    ds = analysis_dataset(rec, ctx.protocol)
    tasks = task_names(ds)
    if len(tasks) < 2:
        raise SkipAnalysis(f"only one task recorded ({tasks[0] if tasks else 'none'}); "
                           "cross-task generalisation needs at least two")
    space = ctx.protocol.space
    spaces = [space] + (["cell"] if "cell" in ds and space != "cell" else [])
    features = feature_names(ds)
    return pd.concat([cross_task_generalization(
        ds, frame=0, space=sp, features=features,
        bank=bank_of(rec, ctx, sp, "all" if sp == space else "encoding"))
        for sp in spaces], ignore_index=True)


def _space(t: pd.DataFrame, space: str) -> pd.DataFrame:
    return t[t["space"] == space] if "space" in t else t


def _fig2c_pairs(t: pd.DataFrame) -> pd.DataFrame:
    """Validation cells and generalization between tasks of different relevant features."""
    if "same_relevant" in t:
        return t[(t["kind"] == "validation") | ~t["same_relevant"].astype(bool)]
    return t


def _generalization_gap(g: pd.DataFrame) -> float:
    sel = _fig2c_pairs(g)
    z = normalized(sel["accuracy"], sel["chance"])
    val = z[(sel["kind"] == "validation").to_numpy()].mean()
    gen = z[(sel["kind"] == "generalization").to_numpy()].mean()
    return float(val - gen)


def _gaps(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per architecture, the gap of each of its runs (all regimes)."""
    gaps: dict[str, np.ndarray] = {}
    for _model, g in t.groupby("model", sort=False):
        arch = str(g["architecture"].iloc[0]).lower()
        gaps[arch] = np.concatenate([gaps.get(arch, np.array([])),
                                     per_run(g, _generalization_gap)])
    return gaps


def _same_n_mtmf_gaps(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per architecture, the gap of each MTMF run over pairs of tasks of the same N (the
    paper's 3×3 layout per N, on the models it quantifies; reported beside the pooled
    gap, which the verdict reads)."""
    if not {"train_n", "test_n", "regime"} <= set(t.columns):
        return {}
    sel = t[(t["regime"].astype(str).str.upper() == "MTMF") & (t["train_n"] == t["test_n"])]
    return _gaps(sel) if not sel.empty else {}


def _describe(t: pd.DataFrame) -> str:
    text = "; ".join(f"{a.upper()}: validation − generalisation (normalised) "
                     f"{format_spread(v, 'runs', False)}" for a, v in _gaps(t).items())
    per_n = _same_n_mtmf_gaps(t)
    if per_n:
        text += "; MTMF models, tasks of the same N (3×3 per N): " + ", ".join(
            f"{a.upper()} {format_spread(v, 'runs', False)}" for a, v in per_n.items())
    return text


def _gated(arch: str) -> bool | None:
    """True for a gated RNN, False for a vanilla one, None for any other core (the finding
    compares the paper's recurrent families only)."""
    info = ARCHITECTURES.get(arch)
    return {GATED_RNN: True, VANILLA_RNN: False}.get(info.family) if info is not None else None


def _vanilla_vs_gated(t: pd.DataFrame) -> dict[str, float] | None:
    gaps = _gaps(t)
    vanilla = [v for a, v in gaps.items() if _gated(a) is False]
    gated = [v.mean() for a, v in gaps.items() if _gated(a)]
    if not vanilla or not gated:
        return None
    rnn = np.concatenate(vanilla).mean()
    return {"lowest gated gap − vanilla gap": min(gated) - rnn,
            "mean gated gap − vanilla gap": float(np.mean(gated)) - rnn,
            "vanilla gap": rnn}


VANILLA_VS_GATED = Finding(
    "cross_task_vanilla_vs_gated",
    "Vanilla RNNs share feature subspaces across tasks, gated RNNs do not",
    "GRU and LSTM use task-specific subspaces, the vanilla RNN a subspace shared across tasks",
    "2a, 2c, A2b", "cross_task", rows=lambda t: _space(t, "hidden"),
    measure=_vanilla_vs_gated,
    describe=lambda _label, t, _m: _describe(t),
    reproduced=(Threshold("lowest gated gap − vanilla gap", ">", 0.05),
                Threshold("vanilla gap", "<=", 0.2)),
    partly=(Threshold("mean gated gap − vanilla gap", ">", 0.0),),
    units=one_unit, unit_name="",
    definitions="gap = normalised validation − generalisation accuracy over pairs of tasks "
                "with different relevant features, per run, averaged per architecture",
    missing="cross_task table missing (needs models trained on several tasks)",
    unmeasured="needs a vanilla RNN and a gated (GRU or LSTM) model",
    null="the same comparison between the untrained networks",
    compare="lowest gated gap − vanilla gap", margin=0.05, null_table="cross_task_null")


def _hidden(t: pd.DataFrame) -> pd.DataFrame:
    return _fig2c_pairs(_space(t, "hidden"))


def _read(t: pd.DataFrame) -> str:
    def one(g):
        val = g.loc[g["kind"] == "validation", "accuracy"].mean()
        gen = g.loc[g["kind"] == "generalization", "accuracy"].mean()
        return f"validation {percent(val)} vs generalisation {percent(gen)}"

    return per_model(t, one)


def _has_cell(tables) -> bool:
    return "cell" in set(tables["cross_task"].get("space", pd.Series(dtype=str)))


ANALYSIS = Analysis(
    "cross_task", "Lei et al. 2024, Fig. 2a, 2c, A2b",
    "decoders fitted on one task's first-frame states (each CV fold), tested on every other "
    "task's; diagonal = cross-validated accuracy; LSTM cell state too",
    requires="two or more tasks in one recording",
    compute=compute, untrained_null=True, null="the untrained network on the same trials",
    figures=(
        Figure("fig2a_cross_task", "Cross-task generalisation (Fig. 2a, A2b)",
               lambda T, p: F.plot_cross_task_generalization(
                   multi_task_focus(_space(T["cross_task"], "hidden")), p),
               lambda T: _read(_hidden(T["cross_task"])),
               "vanilla RNN decoders generalise across tasks (shared subspace); GRU and LSTM "
               "subspaces are task-specific"),
        Figure("figA2b_cross_task_cell", "Cross-task generalisation, LSTM cell state (Fig. A2b)",
               lambda T, p: F.plot_cross_task_generalization(
                   multi_task_focus(_space(T["cross_task"], "cell")), p),
               lambda T: _read(_fig2c_pairs(T["cross_task"][T["cross_task"]["space"] == "cell"])),
               "LSTM hidden and cell states both task-specific (like GRU)", applies=_has_cell),
        Figure("fig2c_validation_generalization",
               "Validation vs generalisation per architecture (Fig. 2c)",
               lambda T, p: F.plot_validation_vs_generalization(_hidden(T["cross_task"]), p),
               lambda T: _read(_hidden(T["cross_task"])),
               "generalisation close to validation for vanilla RNNs, far below it for gated "
               "RNNs"),
    ),
    findings=(VANILLA_VS_GATED,))
