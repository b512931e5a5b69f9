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


def _ratios(g: pd.DataFrame) -> dict[str, float]:
    """Normalized generalization / validation accuracy per feature."""
    ratios = {}
    for f, gf in g.groupby("feature", sort=False):
        z = normalized(gf["accuracy"], gf["chance"])
        val = z[(gf["kind"] == "validation").to_numpy()].mean()
        gen = z[(gf["kind"] == "generalization").to_numpy()].mean()
        ratios[f] = gen / val if val > 0 else np.nan
    return ratios


def _sharing(g: pd.DataFrame) -> dict[str, float]:
    ratios = list(_ratios(g).values())
    return {"lowest ratio over features": float(np.min(ratios)) if ratios else np.nan}


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
    reproduced=(Threshold("lowest ratio over features", ">=", 0.9),),
    partly=(Threshold("lowest ratio over features", ">=", 0.7),),
    definitions="ratio = normalised generalisation / validation accuracy per feature, every "
                "feature (location, identity, category)",
    missing="encoding_sharing table missing")


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
