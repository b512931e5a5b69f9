"""Within-step decoding of relevant and irrelevant features at every step (Lei et al. 2024,
Fig. A5)."""

from __future__ import annotations

import pandas as pd

from wmgeom.analysis import within_time_decoding
from wmgeom.report import figures as F
from wmgeom.studies.nback.analysis import (
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


def _read(tables) -> str:
    t = tables["within_time"]
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
                    "relevant ones more robust"),))
