"""Decodability of the stimulus features from the frozen backbone's map (Lei et al. 2024, §4.1:
"category 100.00%, identity 99.57%, location 100.00%", 2-fold cross-validation).

Every object image of the recording at every location, decoded from the perceptual space at
the first frame with the paper's 2-fold protocol; the null is the same decoding with the
labels permuted across trials (the same code path, the same folds), averaged over
:data:`PERMUTATIONS` permutations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

from wmgeom.analysis import cross_validated_decoding
from wmgeom.analysis.data import label_features
from wmgeom.report.figures import retitled
from wmgeom.studies.findings import Finding, Threshold, normalized, units_by_model
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
    per_model,
    percent,
)

FOLDS = 2
"""The paper's cross-validation of the perceptual decoders."""
PERMUTATIONS = 20
"""Label permutations of the null: one permutation's highest feature is a noisy null (on
the grid's 169 stimuli it strays up to 5 points from the mean over permutations)."""


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Accuracy of each feature decoded from the perceptual space at frame 0 (one row per
    distinct stimulus), with labels as recorded and permuted.

    Returns:
        Rows ``feature``, ``labels`` (``recorded`` or ``permuted``), ``permutation``
        (0.. for each of :data:`PERMUTATIONS` label permutations, -1 for the recorded
        labels), ``accuracy``, ``balanced_accuracy``, ``chance``, ``n``.
    """
    ds = analysis_dataset(rec, ctx.protocol)
    if "perceptual" not in ds:
        raise SkipAnalysis("the recording has no perceptual (CNN) features")
    X = ds["perceptual"].values[:, 0]
    labels = {f: ds[f].values[:, 0] for f in label_features(ds)}
    # one sample per distinct stimulus: repeated images would leak across the folds
    keys = np.stack([labels[f] for f in labels] + [ds["image"].values[:, 0]], 1) \
        if "image" in ds else np.stack(list(labels.values()), 1)
    _, first = np.unique(keys, axis=0, return_index=True)
    X = X[np.sort(first)]
    labels = {f: v[np.sort(first)] for f, v in labels.items()}
    labels = {f: v for f, v in labels.items() if len(np.unique(v)) >= 2}
    counts = [np.unique(v, return_counts=True)[1].min() for v in labels.values()]
    if not labels or min(counts) < FOLDS:
        raise SkipAnalysis("too few distinct stimuli per feature value for 2-fold decoding")
    rng = np.random.default_rng(ctx.protocol.seed)
    permuted = [{f: rng.permutation(v) for f, v in labels.items()}
                for _ in range(PERMUTATIONS)]
    kw = {"cv": FOLDS, "Cs": ctx.protocol.Cs, "inner_cv": ctx.protocol.inner_splits,
          "seed": ctx.protocol.seed, "device": ctx.protocol.device,
          "standardize": ctx.protocol.standardize}
    rows = []
    recorded = cross_validated_decoding(X, labels, **kw)
    # every permutation one condition of a single batched solve
    shuffled = cross_validated_decoding(
        np.broadcast_to(X, (PERMUTATIONS, *X.shape)),
        {f: np.stack([p[f] for p in permuted]) for f in labels}, **kw)
    for kind, res in (("recorded", recorded), ("permuted", shuffled)):
        for _, r in res.features.iterrows():
            rows.append({"feature": r["feature"], "labels": kind,
                         "permutation": int(r["condition"]) if kind == "permuted" else -1,
                         "accuracy": r["accuracy"],
                         "balanced_accuracy": r["balanced_accuracy"], "chance": r["chance"],
                         "n": int(r["n"])})
    return pd.DataFrame(rows)


def _permuted_null(perm: pd.DataFrame) -> float:
    """The highest normalised accuracy over features of each permutation, averaged over
    permutations (tables without a ``permutation`` column hold one)."""
    if perm.empty:
        return float("nan")
    z = perm.assign(z=normalized(perm["accuracy"], perm["chance"]))
    keys = [k for k in ("run", "permutation") if k in z]
    return float(z.groupby(keys)["z"].max().mean()) if keys else float(z["z"].max())


def _measure(g: pd.DataFrame) -> dict[str, float]:
    rec = g[g["labels"] == "recorded"]
    perm = g[g["labels"] == "permuted"]
    return {"lowest accuracy over features": float(rec["accuracy"].min()),
            "lowest normalized accuracy over features":
            float(normalized(rec["accuracy"], rec["chance"]).min()),
            "null lowest normalized accuracy over features": _permuted_null(perm)}


def _describe(model: str, g: pd.DataFrame, _m) -> str:
    rec = g[g["labels"] == "recorded"].groupby("feature", sort=False)["accuracy"].mean()
    perm = g[g["labels"] == "permuted"].groupby("feature", sort=False)["accuracy"].mean()
    return f"{model}: " + ", ".join(f"{f} {percent(a)} (permuted {percent(perm.get(f))})"
                                   for f, a in rec.items())


PERCEPTUAL = Finding(
    "perceptual_decodable", "The backbone's map holds every feature",
    "category 100.00%, identity 99.57%, location 100.00% (2-fold cross-validation)", "§4.1",
    "perceptual", _measure, _describe,
    reproduced=(Threshold("lowest accuracy over features", ">=", 0.95),),
    partly=(Threshold("lowest normalized accuracy over features", ">=", 0.5),),
    units=units_by_model,
    definitions="each feature decoded from the perceptual space at the first frame, one "
                "sample per distinct stimulus, 2-fold cross-validation",
    missing="perceptual table missing (needs perceptual features)",
    null=f"the same decoders on permuted labels (normalised accuracy, the highest feature, "
         f"mean over {PERMUTATIONS} permutations)",
    compare="lowest normalized accuracy over features", margin=0.5)


def _draw(tables, path) -> MplFigure:
    t = tables["perceptual"]
    fig = MplFigure(figsize=(5.2, 3.2), layout="constrained")
    ax = fig.subplots()
    models = list(dict.fromkeys(t["model"])) if "model" in t else [""]
    features = list(dict.fromkeys(t["feature"]))
    width = 0.8 / max(len(models), 1)
    for k, model in enumerate(models):
        g = t[t["model"] == model] if model else t
        for labels, color in (("recorded", "#2f6db3"), ("permuted", "#b0b0b0")):
            means = g[g["labels"] == labels].groupby("feature")["accuracy"].mean()
            x = np.arange(len(features)) + (k - (len(models) - 1) / 2) * width
            ax.bar(x, [means.get(f, np.nan) for f in features], width * 0.9, color=color,
                   label=labels if k == 0 else None, alpha=1.0 if labels == "recorded" else 0.8)
    chance = t.groupby("feature")["chance"].mean()
    for i, f in enumerate(features):
        ax.hlines(chance.get(f), i - 0.45, i + 0.45, colors="k", linestyles="--", lw=1)
    ax.set_xticks(np.arange(len(features)), features)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("decoding accuracy (2-fold)")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, title="labels",
               title_fontsize=8)
    return retitled(fig, "Features in the backbone's map (Lei et al. 2024, §4.1; dashed: "
                         "chance)", path)


def _read(tables) -> str:
    def one(g):
        rec = g[g["labels"] == "recorded"].groupby("feature", sort=False)["accuracy"].mean()
        return ", ".join(f"{f} {percent(a)}" for f, a in rec.items()) + \
            f" (permuted labels at most {percent(g[g['labels'] == 'permuted']['accuracy'].max())})"

    return per_model(tables["perceptual"], one)


ANALYSIS = Analysis(
    "perceptual", "Lei et al. 2024, Fig. 1 and §4.1",
    "location, identity and category decoded from the frozen backbone's spatial map of each "
    "distinct stimulus (2-fold cross-validation, as the paper), beside the same decoders on "
    "permuted labels",
    requires="perceptual features",
    compute=compute,
    figures=(Figure("perceptual_decodability", "Features in the backbone's map (Fig. 1, §4.1)",
                    _draw, _read,
                    "the backbone's features decode category (100.00%), identity (99.57%) and "
                    "location (100.00%)"),),
    findings=(PERCEPTUAL,),
    null="the same decoders on permuted labels")
