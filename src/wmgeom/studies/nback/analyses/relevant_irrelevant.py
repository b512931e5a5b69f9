"""Task-relevant vs -irrelevant features at the first frame (Lei et al. 2024, Fig. 2b, A2a)."""

from __future__ import annotations

import pandas as pd

from wmgeom.analysis import relevant_irrelevant_decoding
from wmgeom.report import figures as F
from wmgeom.studies.nback.analysis import (
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
                    lambda T, p: F.plot_relevant_irrelevant(
                        T["relevant_irrelevant"], p, null=T.get("relevant_irrelevant_null")),
                    _read,
                    "relevant features fully decodable in all models; irrelevant ones poorly "
                    "in STSF but >85% in STMF and MTMF models"),),
    untrained_null=True,
    null="the untrained network on the same trials (the findings of Fig. 2b are judged "
         "in memory, on the within-step table)")
