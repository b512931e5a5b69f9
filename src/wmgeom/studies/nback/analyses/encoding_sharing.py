"""Is one encoding space shared by every stimulus? (Lei et al. 2024, Fig. 4d; H2 vs H3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import encoding_space_sharing
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, format_spread, normalized
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
    bank_of,
    feature_names,
    per_model,
    percent,
)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.encoding_space_sharing` from the decoder bank."""
    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; sharing needs two or more")
    return encoding_space_sharing(ds, space=ctx.protocol.space, features=feature_names(ds),
                                  bank=bank_of(rec, ctx))


COMPARE = "lowest ratio over features"
H3_CONTROL = ("the same decoders on an H3 network of the same states (each stimulus's "
              "encoding rotated into a random subspace of its own, its geometry kept)")


def _ratios(g: pd.DataFrame, column: str = "accuracy") -> dict[str, float]:
    """Normalized generalization (from ``column``) / validation accuracy per feature."""
    ratios = {}
    for f, gf in g.groupby("feature", sort=False):
        val = normalized(gf["accuracy"], gf["chance"])[(gf["kind"] == "validation").to_numpy()]
        gen = normalized(gf[column], gf["chance"])[(gf["kind"] == "generalization").to_numpy()]
        ratios[f] = gen.mean() / val.mean() if val.mean() > 0 else np.nan
    return ratios


def _lowest(ratios: dict[str, float]) -> float:
    return float(np.min(list(ratios.values()))) if ratios else np.nan


def _sharing(g: pd.DataFrame) -> dict[str, float]:
    out = {COMPARE: _lowest(_ratios(g))}
    if "null_accuracy" in g:
        out[f"null {COMPARE}"] = _lowest(_ratios(g, "null_accuracy"))
    return out


def _describe(model: str, g: pd.DataFrame, _m) -> str:
    return "; ".join(
        f"{model} {f}: validation "
        f"{format_spread(gf[gf['kind'] == 'validation']['accuracy'], 'cells')} vs "
        f"generalisation "
        f"{format_spread(gf[gf['kind'] == 'generalization']['accuracy'], 'cells')}"
        for f, gf in g.groupby("feature", sort=False))


ENCODING_SHARED = Finding(
    "encoding_shared", "One encoding space serves every stimulus (H2 over H3)",
    "validation and generalisation accuracies almost identical", "4d", "encoding_sharing",
    _sharing, _describe,
    reproduced=(Threshold(COMPARE, ">=", 0.9),),
    partly=(Threshold(COMPARE, ">=", 0.7),),
    definitions="ratio = normalised generalisation / validation accuracy per feature, every "
                "feature (location, identity, category)",
    missing="encoding_sharing table missing",
    null=H3_CONTROL, compare=COMPARE, margin=0.5,
    check=lambda t: None if "null_accuracy" in t else
    "the encoding_sharing table has no null_accuracy column (recompute it)")


def _read(tables) -> str:
    def one(g):
        val = g.loc[g["kind"] == "validation", "accuracy"].mean()
        gen = g.loc[g["kind"] == "generalization", "accuracy"].mean()
        return f"validation {percent(val)} vs generalisation {percent(gen)}"

    return per_model(tables["encoding_sharing"], one)


ANALYSIS = Analysis(
    "encoding_sharing", "Lei et al. 2024, Fig. 4d",
    "decoders fitted on E(S=i,T=i), tested on held-out trials' E(S=j,T=j) with the labels of "
    "stimulus j; validation when j = i",
    requires="two or more frames",
    compute=compute,
    figures=(Figure("fig4d_encoding_sharing", "Encoding space shared across stimuli (Fig. 4d)",
                    lambda T, p: F.plot_encoding_sharing(T["encoding_sharing"], p), _read,
                    "validation and generalisation almost identical: one encoding space for "
                    "all stimuli (H2)"),),
    findings=(ENCODING_SHARED,))
