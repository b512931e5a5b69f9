"""Procrustes-reconstructed decoders and the swap tests of their rotations (Lei et al. 2024,
Fig. 4f, A4, and eq. 2-3, Fig. 4g)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import reconstructed_decoder_accuracy
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, format_spread, per_run
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
        ``accuracy_reconstructed`` (rotation ``R(i,j)``, the target decoders' biases;
        multi-class), ``accuracy_reconstructed_source_bias`` (the original decoders'
        biases, the paper's reading), ``accuracy_random_source`` and
        ``accuracy_random_source_source_bias`` (a random shape rotated onto the target: the
        null), ``accuracy_unrelated_source`` and ``accuracy_unrelated_source_source_bias``
        (another feature's decoders with as many values rotated onto the target; NaN where
        no feature has as many values), the same as ``decoder_accuracy_*`` (mean
        one-vs-rest), ``chance``; from
        :func:`~wmgeom.analysis.reconstructed_decoder_accuracy`.
    """
    t = _procrustes_table(rec, ctx)
    keys = ["task", "n", "feature", "relevant", "stimulus", "target_frame", "in_window",
            "chance"]
    t = t[t["rotation"].isin(["fitted", "original", "random_source", "unrelated_source"])]
    wide = t.pivot_table(index=keys, columns=["rotation", "bias"],
                         values=["accuracy", "decoder_accuracy"])
    names = {("fitted", "fitted"): "fitted", ("original", "target"): "reconstructed",
             ("original", "source"): "reconstructed_source_bias",
             ("random_source", "target"): "random_source",
             ("random_source", "source"): "random_source_source_bias",
             ("unrelated_source", "target"): "unrelated_source",
             ("unrelated_source", "source"): "unrelated_source_source_bias"}
    wide.columns = [f"{metric}_{names[(rot, bias)]}" for metric, rot, bias in wide.columns]
    return wide.reset_index().rename(columns={"target_frame": "frame"})


def compute_swaps(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Swap tests of the Procrustes rotations (eq. 2-3, Fig. 4g).

    Returns:
        The rows of :func:`~wmgeom.analysis.reconstructed_decoder_accuracy` whose rotation
        is ``original``, ``time_swap`` or ``stimulus_swap``, restricted to steps where both
        swaps exist (so the bars compare the same decoders), with ``swap`` labelled as in the
        paper (``R(i,j)``, ``R(i,j+1)``, ``R(i+k,j+k)``), for both readings of the biases
        (column ``bias``: ``source``, the paper's; ``target``).
    """
    t = _procrustes_table(rec, ctx)
    own = t[t["rotation"] == "original"]
    swaps = t[t["rotation"].isin(list(SWAP_LABELS)) & (t["rotation"] != "original")]
    t = pd.concat([own.assign(completion=c) for c in swaps["completion"].unique()]
                  + [swaps], ignore_index=True)  # the own rotation beside each reading
    keys = ["task", "feature", "stimulus", "frame", "bias", "completion"]
    kinds = t.groupby(keys)["rotation"].transform("nunique")
    t = t[kinds == len(SWAP_LABELS)]
    if t.empty:
        raise SkipAnalysis("no step has both swap partners; record longer sequences")
    return t.assign(swap=t["rotation"].map(SWAP_LABELS))


def _reconstruction(g: pd.DataFrame) -> dict[str, float]:
    def mean(column: str) -> float:
        if column not in g:
            return np.nan
        return float(per_run(g, lambda r: r[column].mean()).mean())

    def mean_where(column: str, present: str) -> float:
        if column not in g or present not in g or g[present].isna().all():
            return np.nan
        return float(per_run(g, lambda r: r.loc[r[present].notna(), column].mean()).mean())

    fitted, own = mean("accuracy_fitted"), mean("accuracy_reconstructed_source_bias")
    return {"fitted − reconstructed accuracy": fitted - own,
            "reconstructed accuracy": own,
            "null reconstructed accuracy": mean("accuracy_random_source_source_bias"),
            "reconstructed accuracy, target biases": mean("accuracy_reconstructed"),
            "random source, target biases": mean("accuracy_random_source"),
            "random source, source biases": mean("accuracy_random_source_source_bias"),
            "unrelated source, source biases":
                mean("accuracy_unrelated_source_source_bias"),
            "reconstructed accuracy where another feature has as many values":
                mean_where("accuracy_reconstructed_source_bias",
                           "accuracy_unrelated_source_source_bias")}


def _describe_reconstruction(model: str, g: pd.DataFrame, m) -> str:
    by_feature = ", ".join(
        f"{f} {100 * gf['accuracy_fitted'].mean():.1f}% → "
        f"{100 * gf['accuracy_reconstructed_source_bias'].mean():.1f}%"
        for f, gf in g.groupby("feature", sort=False)) \
        if "accuracy_reconstructed_source_bias" in g else ""
    return (f"{model}: fitted {format_spread(g['accuracy_fitted'], 'cells')} vs reconstructed "
            f"with the source biases "
            f"{format_spread(g.get('accuracy_reconstructed_source_bias', []), 'cells')} "
            f"({by_feature}); a random source shape "
            f"{100 * m['random source, source biases']:.1f}%"
            + ("" if not np.isfinite(m["unrelated source, source biases"]) else
               f", another feature's decoders "
               f"{100 * m['unrelated source, source biases']:.1f}% (own rotation "
               f"{100 * m['reconstructed accuracy where another feature has as many values']:.1f}"
               f"% on the same steps)")
            + "; with the "
            f"target biases: own rotation "
            f"{100 * m['reconstructed accuracy, target biases']:.1f}%, random source "
            f"{100 * m['random source, target biases']:.1f}%")


RECONSTRUCTION = Finding(
    "procrustes_reconstruction", "A rotation and a scale carry decoders across time",
    "reconstructed decision hyperplanes highly accurate, small gap to fitted decoders",
    "4f, A4", "procrustes", _reconstruction, _describe_reconstruction,
    rows=relevant_in_window,
    reproduced=(Threshold("fitted − reconstructed accuracy", "<=", 0.05),),
    partly=(Threshold("reconstructed accuracy", ">", 0.0),),
    definitions="relevant feature, target steps S < T ≤ S + N; the reconstructed decoders "
                "keep the original decoders' biases (the paper: 'the bias term is obtained "
                "from the original decoder'; the target decoders' biases reported beside); "
                "when a rotated random shape reconstructs the decoders about as well, the "
                "measure cannot tell a rotation from no relation and the finding is not "
                "tested (the swap tests, whose rotations are fitted on other data, carry it)",
    missing="procrustes table missing (needs 3+ steps and 3+ feature values)",
    no_units="no relevant-feature step inside a memory window",
    null="a random Gaussian source shape of as many vertices, rotated onto the target",
    compare="reconstructed accuracy", margin=0.05, undiagnostic=True)


VERDICT_COMPLETION = "svd"
"""The reading of a swapped rotation outside its shapes' span that the verdict uses
(:func:`~wmgeom.analysis.procrustes.procrustes_align`): the full SVD of the orthogonal
Procrustes problem, the computation the paper names; the rotation closest to the identity
(``minimal``) is reported beside it. On planted age-shared rotations (tests) the full SVD
keeps the stimulus swap within 5 points of the own rotation, the minimal reading within
11: the directions a swapped rotation leaves in place carry the source step's noise."""
OTHER_COMPLETION = "minimal"


def _swap_means(g: pd.DataFrame) -> dict[str, pd.Series]:
    return {s: g[g["swap"] == s]["accuracy"] for s in g["swap"].unique()}


def _paper_bias(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["bias"] == "source"] if "bias" in t else t


def _reading(t: pd.DataFrame, completion: str = VERDICT_COMPLETION) -> pd.DataFrame:
    """The rows of one reading of the swapped rotations (tables from before the readings
    hold one, kept whole)."""
    if "completion" not in t or completion not in set(t["completion"].dropna()):
        return t if completion == VERDICT_COMPLETION else t.iloc[:0]
    return t[t["completion"] == completion]


def _swap_numbers(g: pd.DataFrame) -> tuple[float, float, float]:
    m = _swap_means(g)
    return tuple(m[k].to_numpy(float).mean() if k in m else float("nan")
                 for k in ("R(i,j)", "R(i,j+1)", "R(i+k,j+k)"))


def _swaps(g: pd.DataFrame) -> dict[str, float]:
    orig, time, stim = _swap_numbers(_reading(g))
    o_orig, o_time, o_stim = _swap_numbers(_reading(g, OTHER_COMPLETION))
    return {"stimulus swap − time swap": stim - time,
            "stimulus swap − own rotation": stim - orig,
            "stimulus swap accuracy": stim, "null stimulus swap accuracy": time,
            "stimulus swap − time swap, minimal rotations": o_stim - o_time,
            "stimulus swap − own rotation, minimal rotations": o_stim - o_orig}


def _describe_swaps(model: str, g: pd.DataFrame, m) -> str:
    means = _swap_means(_reading(g))
    text = (f"{model}: own rotation {format_spread(means.get('R(i,j)', []), 'cells')}, "
            f"stimulus swap {format_spread(means.get('R(i+k,j+k)', []), 'cells')}, time swap "
            f"{format_spread(means.get('R(i,j+1)', []), 'cells')} (chance "
            f"{100 * g['chance'].mean():.1f}%)")
    other = np.nan if m is None else m["stimulus swap − own rotation, minimal rotations"]
    if np.isfinite(other):
        text += (f"; rotations closest to the identity outside the shapes' span: stimulus "
                 f"swap − own rotation {100 * other:+.1f} points, − time swap "
                 f"{100 * m['stimulus swap − time swap, minimal rotations']:+.1f}")
    return text


SWAPS = Finding(
    "swap_stimulus_vs_time", "Transformations are shared across stimuli, not across time",
    "swapping in R(S=i+k,T=j+k) consistently yields good accuracy, R(S=i,T=j+1) does not",
    "4g", "swap_tests", _swaps, _describe_swaps,
    rows=lambda t: _paper_bias(relevant_in_window(t)),
    reproduced=(Threshold("stimulus swap − own rotation", ">=", -0.1),),
    partly=(Threshold("stimulus swap − time swap", ">", 0.0),),
    definitions="relevant feature, memory window, the original decoders' biases; the "
                "stimulus swap must stay within 10 points of the own rotation; a swapped "
                "rotation acts on the directions outside the span of the shapes it was "
                "fitted on as the full SVD of the Procrustes problem sets it (an arbitrary "
                "basis; the rotation closest to the identity there reported beside)",
    missing="swap_tests table missing (needs 3+ steps)",
    no_units="no relevant-feature step inside a memory window has both swaps",
    null="the time swap R(i,j+1) (a rotation of the same stimulus from another step)",
    compare="stimulus swap accuracy", margin=0.1)


def _read_reconstruction(tables) -> str:
    def one(g):
        text = f"fitted decoders {percent(g['accuracy_fitted'].mean())} vs Procrustes-" \
               f"reconstructed {percent(g['accuracy_reconstructed'].mean())}"
        if "accuracy_random_source" in g:
            text += f" (a random source shape: {percent(g['accuracy_random_source'].mean())})"
        return text

    return per_model(relevant_in_window(tables["procrustes"]), one)


def _read_swaps(tables) -> str:
    def one(g):
        means = g.groupby("swap", sort=False)["accuracy"].mean()
        return ", ".join(f"{k} {percent(v)}" for k, v in means.items())

    return per_model(_reading(_paper_bias(relevant_in_window(tables["swap_tests"]))), one)


ANALYSIS = Analysis(
    "procrustes", "Lei et al. 2024, Fig. 4f, A4",
    "decoders of stimulus i at step j+1 reconstructed from those at step j by an orthogonal "
    "Procrustes rotation and a global scale, scored on held-out trials with the original "
    "decoders' biases (the paper's reading) and with the target decoders' biases; a random "
    "source shape rotated the same way is the null; summaries use the task's relevant "
    "feature inside the memory window i < j+1 <= i+N",
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
                        multi_task_focus(_reading(_paper_bias(
                            relevant_in_window(T["swap_tests"])))), p),
                    _read_swaps,
                    "swapping in R(S=i+k,T=j+k) keeps accuracy high, R(S=i,T=j+1) does not: "
                    "transformations shared across stimuli, not across time",
                    applies=lambda T: not relevant_in_window(T["swap_tests"]).empty),),
    findings=(SWAPS,))
