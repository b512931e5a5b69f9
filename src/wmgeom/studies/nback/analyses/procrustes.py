"""Procrustes-reconstructed decoders and the swap tests of their rotations (Lei et al. 2024,
Fig. 4f, A4, and eq. 2-3, Fig. 4g)."""

from __future__ import annotations

import pandas as pd

from wmgeom.analysis import reconstructed_decoder_accuracy
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, format_spread, normalized, per_run
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
    relevant_in_window,
)

SWAP_LABELS = {"original": "R(i,j)", "time_swap": "R(i,j+1)", "stimulus_swap": "R(i+k,j+k)"}


def _procrustes_table(rec: Recording, ctx: Context) -> pd.DataFrame:
    """One Procrustes run per recording, shared by the Fig. 4f and 4g tables."""
    def make():
        ds = analysis_dataset(rec, ctx.protocol)
        if ds.sizes["frame"] < 3:
            raise SkipAnalysis("fewer than three steps recorded; swap tests need j, j+1, j+2")
        features = feature_names(ds, min_values=3)  # a Procrustes shape needs 3+ decoders
        return reconstructed_decoder_accuracy(ds, space=ctx.protocol.space, features=features,
                                              bank=bank_of(rec, ctx))

    return ctx.once(rec, "procrustes", make)


def compute_reconstruction(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Fitted vs Procrustes-reconstructed decoder accuracy (Fig. 4f, A4).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``relevant``, ``stimulus`` (i), ``frame`` (the
        reconstructed step j+1), ``in_window``, ``accuracy_fitted``,
        ``accuracy_reconstructed`` (rotation ``R(i,j)``; multi-class), the same as
        ``decoder_accuracy_*`` (mean one-vs-rest), ``chance``; from
        :func:`~wmgeom.analysis.reconstructed_decoder_accuracy`.
    """
    t = _procrustes_table(rec, ctx)
    keys = ["task", "n", "feature", "relevant", "stimulus", "target_frame", "in_window",
            "chance"]
    wide = t[t["rotation"].isin(["fitted", "original"])].pivot_table(
        index=keys, columns="rotation", values=["accuracy", "decoder_accuracy"])
    wide.columns = [f"{metric}_{'fitted' if rot == 'fitted' else 'reconstructed'}"
                    for metric, rot in wide.columns]
    return wide.reset_index().rename(columns={"target_frame": "frame"})


def compute_swaps(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Swap tests of the Procrustes rotations (eq. 2-3, Fig. 4g).

    Returns:
        The rows of :func:`~wmgeom.analysis.reconstructed_decoder_accuracy` whose rotation
        is ``original``, ``time_swap`` or ``stimulus_swap``, restricted to steps where both
        swaps exist (so the bars compare the same decoders), with ``swap`` labelled as in the
        paper (``R(i,j)``, ``R(i,j+1)``, ``R(i+k,j+k)``).
    """
    t = _procrustes_table(rec, ctx)
    t = t[t["rotation"].isin(list(SWAP_LABELS))].copy()
    keys = ["task", "feature", "stimulus", "frame"]
    kinds = t.groupby(keys)["rotation"].transform("nunique")
    t = t[kinds == len(SWAP_LABELS)]
    if t.empty:
        raise SkipAnalysis("no step has both swap partners; record longer sequences")
    return t.assign(swap=t["rotation"].map(SWAP_LABELS))


def _reconstruction(g: pd.DataFrame) -> dict[str, float]:
    gap = per_run(g, lambda r: (r["accuracy_fitted"] - r["accuracy_reconstructed"]).mean())
    zf = normalized(g["accuracy_fitted"], g["chance"]).mean()
    zr = normalized(g["accuracy_reconstructed"], g["chance"]).mean()
    return {"fitted − reconstructed accuracy": gap.mean(),
            "normalized reconstructed − half the normalized fitted": zr - 0.5 * zf}


def _describe_reconstruction(model: str, g: pd.DataFrame, _m) -> str:
    by_feature = ", ".join(
        f"{f} {100 * gf['accuracy_fitted'].mean():.1f}% → "
        f"{100 * gf['accuracy_reconstructed'].mean():.1f}%"
        for f, gf in g.groupby("feature", sort=False))
    return (f"{model}: fitted {format_spread(g['accuracy_fitted'], 'cells')} vs reconstructed "
            f"{format_spread(g['accuracy_reconstructed'], 'cells')} ({by_feature})")


RECONSTRUCTION = Finding(
    "procrustes_reconstruction", "A rotation and a scale carry decoders across time",
    "reconstructed decision hyperplanes highly accurate, small gap to fitted decoders",
    "4f, A4", "procrustes", _reconstruction, _describe_reconstruction,
    rows=relevant_in_window,
    reproduced=(Threshold("fitted − reconstructed accuracy", "<=", 0.05),),
    partly=(Threshold("normalized reconstructed − half the normalized fitted", ">=", 0.0),),
    definitions="relevant feature, target steps S < T ≤ S + N",
    missing="procrustes table missing (needs 3+ steps and 3+ feature values)",
    no_units="no relevant-feature step inside a memory window")


def _swap_means(g: pd.DataFrame) -> dict[str, pd.Series]:
    return {s: g[g["swap"] == s]["accuracy"] for s in g["swap"].unique()}


def _swaps(g: pd.DataFrame) -> dict[str, float]:
    m = _swap_means(g)
    orig, time, stim = (m[k].to_numpy(float).mean() if k in m else float("nan")
                        for k in ("R(i,j)", "R(i,j+1)", "R(i+k,j+k)"))
    return {"stimulus swap − time swap": stim - time,
            "stimulus-swap loss − half the time-swap loss": (orig - stim) - 0.5 * (orig - time)}


def _describe_swaps(model: str, g: pd.DataFrame, _m) -> str:
    m = _swap_means(g)
    return (f"{model}: own rotation {format_spread(m.get('R(i,j)', []), 'cells')}, stimulus "
            f"swap {format_spread(m.get('R(i+k,j+k)', []), 'cells')}, time swap "
            f"{format_spread(m.get('R(i,j+1)', []), 'cells')} (chance "
            f"{100 * g['chance'].mean():.1f}%)")


SWAPS = Finding(
    "swap_stimulus_vs_time", "Transformations are shared across stimuli, not across time",
    "swapping in R(S=i+k,T=j+k) keeps good accuracy, R(S=i,T=j+1) does not", "4g",
    "swap_tests", _swaps, _describe_swaps, rows=relevant_in_window,
    reproduced=(Threshold("stimulus swap − time swap", ">=", 0.1),
                Threshold("stimulus-swap loss − half the time-swap loss", "<=", 0.0)),
    partly=(Threshold("stimulus swap − time swap", ">", 0.0),),
    definitions="relevant feature, memory window; a loss is the drop in accuracy from the "
                "own rotation R(i,j)",
    missing="swap_tests table missing (needs 3+ steps)",
    no_units="no relevant-feature step inside a memory window has both swaps")


def _read_reconstruction(tables) -> str:
    def one(g):
        return f"fitted decoders {percent(g['accuracy_fitted'].mean())} vs Procrustes-" \
               f"reconstructed {percent(g['accuracy_reconstructed'].mean())}"

    return per_model(relevant_in_window(tables["procrustes"]), one)


def _read_swaps(tables) -> str:
    def one(g):
        means = g.groupby("swap", sort=False)["accuracy"].mean()
        return ", ".join(f"{k} {percent(v)}" for k, v in means.items())

    return per_model(relevant_in_window(tables["swap_tests"]), one)


ANALYSIS = Analysis(
    "procrustes", "Lei et al. 2024, Fig. 4f, A4",
    "decoders of stimulus i at step j+1 reconstructed from those at step j by an orthogonal "
    "Procrustes rotation and a global scale (biases of the fitted decoders), scored on "
    "held-out trials; summaries use the task's relevant feature inside the memory window "
    "i < j+1 <= i+N",
    requires="three or more frames and a feature with three or more values",
    compute=compute_reconstruction,
    figures=(Figure("fig4f_procrustes", "Procrustes-reconstructed decoders (Fig. 4f, A4)",
                    lambda T, p: F.plot_procrustes(relevant_in_window(T["procrustes"]), p),
                    _read_reconstruction,
                    "reconstructed decoders nearly as accurate as fitted ones: a rotation and "
                    "a scale capture the transformation",
                    applies=lambda T: not relevant_in_window(T["procrustes"]).empty),),
    findings=(RECONSTRUCTION,))

SWAP_ANALYSIS = Analysis(
    "swap_tests", "Lei et al. 2024, Fig. 4g",
    "W(i,j+1) reconstructed from W(i,j) with its own rotation R(i,j), with R(i,j+1) (same "
    "stimulus, next step) or with R(i+k,j+k) (other stimuli, same age)",
    requires="three or more frames and a feature with three or more values",
    compute=compute_swaps,
    figures=(Figure("fig4g_swap_tests", "Swapping rotations (Fig. 4g)",
                    lambda T, p: F.plot_swap_tests(
                        multi_task_focus(relevant_in_window(T["swap_tests"])), p),
                    _read_swaps,
                    "swapping in R(S=i+k,T=j+k) keeps accuracy high, R(S=i,T=j+1) does not: "
                    "transformations shared across stimuli, not across time",
                    applies=lambda T: not relevant_in_window(T["swap_tests"]).empty),),
    findings=(SWAPS,))
