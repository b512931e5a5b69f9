"""Causal perturbation of the states along decoder normals (Lei et al. 2024, Fig. A7)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import causal_perturbation
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
    multi_task_focus,
    per_model,
    task_names,
)
from wmgeom.tasks.vocabulary import ACTIONS, MATCH


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Causal perturbation along decoder normals (Fig. A7).

    Decoders of the task's feature at the first frame come from the decoder bank
    (cross-validated, in the model's own coordinates) and are averaged over folds. For
    each value ``v``, the match trials whose first stimulus has value ``v`` are moved by
    ``-distance * margin * u`` with :func:`~wmgeom.analysis.causal.causal_perturbation`,
    where ``u`` is the unit normal ``w_v / |w_v|`` (``direction = "decoder"``) or a random
    unit vector drawn with the protocol's seed (``direction = "random"``, the control),
    and ``margin`` is the mean distance of those states from the hyperplane
    (``distance = 1`` reaches it on average). The network runs on over frames ``1..N``
    and its action probabilities at step ``N`` are kept.

    Returns:
        Rows ``task``, ``feature``, ``direction``, ``distance``, ``action``,
        ``probability``, ``std``, ``n_trials``, ``margin``.
    """
    import torch

    rec.require_recurrent_state()
    ds = analysis_dataset(rec, ctx.protocol)
    if rec.rollout is None:
        raise SkipAnalysis("no trained model was handed in to run on from perturbed states "
                           "(the run has no checkpoint, or its model could not be loaded)")
    if "target" not in ds or "encoding" not in ds:
        raise SkipAnalysis("the recording lacks targets or the RNN input encodings")
    lstm = rec.has_cell_state
    if lstm and "cell" not in ds:
        raise SkipAnalysis("the model has a cell state but the recording holds none")
    H = ds[ctx.protocol.space].values
    bank = bank_of(rec, ctx)
    rng = np.random.default_rng(ctx.protocol.seed)
    distances = ctx.protocol.distances
    n_d = len(distances)
    frames = []
    for task in task_names(ds):
        idx = np.flatnonzero(ds["task"].values.astype(str) == task)
        n = int(ds["n"].values[idx[0]])
        feature = str(ds["feature"].values[idx[0]])
        if n >= ds.sizes["frame"] or task not in bank or feature not in bank[task].result.classes:
            continue
        res = bank[task].select([(0, 0)])
        ks = res.feature_slice(feature)
        coef, intercept = res.coef[0, :, ks].mean(0), res.intercept[0, :, ks].mean(0)
        classes = res.classes[feature]
        if coef.shape[0] == 1:  # one binary decoder for classes[1]; its mirror for classes[0]
            coef, intercept = np.concatenate([-coef, coef]), np.concatenate([-intercept,
                                                                             intercept])
        labels = ds[feature].values[idx, 0]
        match = ds["target"].values[idx, n] == MATCH
        for k, value in enumerate(classes):
            sel = idx[match & (labels == value)]
            if len(sel) < 2:
                continue
            w, b = coef[k], intercept[k]
            margin = float(np.mean((H[sel, 0] @ w + b) / np.linalg.norm(w)))
            enc = torch.as_tensor(ds["encoding"].values[sel, 1:n + 1], dtype=torch.float32)
            state = torch.as_tensor(H[sel, 0], dtype=torch.float32)
            if lstm:
                state = (state, torch.as_tensor(ds["cell"].values[sel, 0], dtype=torch.float32))
            control = rng.normal(size=w.shape)
            for direction, normal in (("decoder", w), ("random", control)):
                table = causal_perturbation(
                    state, normal, [-d * abs(margin) for d in distances],
                    lambda s, enc=enc: rec.rollout(s, enc.repeat(n_d, 1, 1)))
                table = table[table["step"] == n - 1].copy()
                table["distance"] = np.repeat(distances, len(table) // n_d)
                frames.append(table.drop(columns="step").assign(
                    task=task, feature=feature, direction=direction, value=value,
                    margin=margin))
    if not frames:
        raise SkipAnalysis("no task has match trials with a decodable first stimulus")
    out = pd.concat(frames, ignore_index=True)
    # average the values of a task, weighting each by its number of trials
    out["weighted"] = out["probability"] * out["n_trials"]
    keys = ["task", "feature", "direction", "distance", "action"]
    agg = out.groupby(keys, sort=False).agg(weighted=("weighted", "sum"),
                                            n_trials=("n_trials", "sum"),
                                            std=("std", "mean"), margin=("margin", "mean"))
    agg["probability"] = agg.pop("weighted") / agg["n_trials"]
    return agg.reset_index()


def _change(g: pd.DataFrame, action: str, direction: str) -> tuple[np.ndarray, float]:
    """Per run, P(action) at the largest distance minus at distance 0, and that distance."""
    rows = g[(g["action"] == action) & (g["direction"] == direction)]
    top = rows["distance"].max()

    def one(r):
        at = r.groupby("distance")["probability"].mean()
        return float(at.get(top, np.nan) - at.get(0.0, np.nan))

    return per_run(rows, one), top


def _causal(g: pd.DataFrame) -> dict[str, float]:
    dec = -_change(g, "match", "decoder")[0]
    rnd = -_change(g, "match", "random")[0]
    return {"decoder drop": dec.mean(),
            "null decoder drop": max(rnd.mean(), 0.0),
            "rise of P(no action)": _change(g, "no_action", "decoder")[0].mean(),
            "|change of P(non-match)|": abs(_change(g, "non_match", "decoder")[0].mean()),
            "decoder drop − random drop": dec.mean() - rnd.mean()}


def _describe(model: str, g: pd.DataFrame, m) -> str:
    dec, top = _change(g, "match", "decoder")
    rnd, _ = _change(g, "match", "random")
    return (f"{model}: P(match) falls by {format_spread(-dec, 'runs')} along decoder normals "
            f"(distance 0 → {top:g}) vs {format_spread(-rnd, 'runs')} along random "
            f"directions; P(no action) {100 * m['rise of P(no action)']:+.1f} points, "
            f"P(non-match) changes by {100 * m['|change of P(non-match)|']:.1f} points")


CAUSAL = Finding(
    "causal", "The decoded subspaces drive behaviour",
    "P(match) drops significantly as states cross the hyperplane, P(no action) rises, "
    "P(non-match) largely unaffected", "A7", "causal", _causal, _describe,
    reproduced=(Threshold("decoder drop", ">=", 0.3),
                Threshold("rise of P(no action)", ">=", 0.1),
                Threshold("|change of P(non-match)|", "<=", 0.2)),
    partly=(Threshold("decoder drop − random drop", ">", 0.05),),
    definitions="changes of the action probabilities from distance 0 to the largest "
                "distance along decoder normals, match trials",
    missing="causal table missing (needs the trained model)",
    check=lambda t: None if "direction" in t else
    "the causal table has no random-direction control",
    null="random directions of the same lengths (a negative random drop counts as 0)",
    compare="decoder drop", margin=0.2)


def _read(tables) -> str:
    def one(g):
        control = g[g["direction"] == "random"] if "direction" in g else g.iloc[:0]
        g = g[g["direction"] == "decoder"] if "direction" in g else g
        means = g.groupby(["action", "distance"])["probability"].mean()
        lo, hi = g["distance"].min(), g["distance"].max()
        parts = []
        for action in ACTIONS:
            if action in means.index.get_level_values(0):
                parts.append(f"P({action}) {means[action].get(lo, float('nan')):.2f} → "
                             f"{means[action].get(hi, float('nan')):.2f}")
        text = f"moving from {lo:g} to {hi:g} along decoder normals: " + ", ".join(parts)
        if not control.empty:
            m = control[control["action"] == "match"].groupby("distance")["probability"].mean()
            text += (f"; along random directions P(match) {m.get(lo, float('nan')):.2f} → "
                     f"{m.get(hi, float('nan')):.2f}")
        return text

    return per_model(tables["causal"], one)


ANALYSIS = Analysis(
    "causal", "Lei et al. 2024, Fig. A7",
    "match trials: the state after the first stimulus is moved along the normal of the "
    "decoder of its own task-feature value (distance in units of the mean distance of those "
    "states to the hyperplane; positive = towards and across it), and, as a control, along "
    "a random direction by the same distances; the network runs on over the recorded "
    "encodings to the step that compares it",
    requires="the trained model (to run on from perturbed states), targets and encodings",
    compute=compute,
    figures=(Figure("figA7_causal", "Causal perturbation (Fig. A7)",
                    lambda T, p: F.plot_causal_perturbation(multi_task_focus(T["causal"]), p),
                    _read,
                    "P(match) drops and P(no action) rises as states cross the hyperplane; "
                    "P(non-match) largely unaffected"),),
    findings=(CAUSAL,),
    null="random directions of the same lengths")
