"""Where novel objects lose their identity (beyond Lei et al. 2024: Fig. A1c shows the
models' weaker accuracy on novel identities, and §5 leaves its reasons open).

Training identities (the ``val_angle`` split: trained objects at novel view angles) and
novel identities (``val_identity``: never trained, same categories) are decoded stage by
stage, perceptual → input → encoding → memory
(:func:`~wmgeom.analysis.novel_objects.novel_object_decoding`), matched on identities and
trials so that chance is equal; the finding names the first stage where novel identities
fall behind by more than :data:`LOSS_MARGIN`, against the untrained network on the same
trials (which never saw the training identities).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis.novel_objects import identity_loss, novel_object_decoding
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, units_by_model
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    decoding_keywords,
    multi_task_focus,
    per_model,
)

TRAINED_SPLIT = "val_angle"
"""The split of the training identities: the trained objects at novel view angles, so that
the comparison with :data:`NOVEL_SPLIT` differs in identity novelty only (``train`` would
add the training images themselves)."""
NOVEL_SPLIT = "val_identity"
"""The split of identities never trained on (same categories)."""
LOSS_MARGIN = 0.1
"""How far (normalised accuracy) novel identities must fall behind training identities at a
stage for it to count as where identity is lost; fixed before any recording was analysed."""
UNTRAINED = "the untrained network on the same trials (it never saw the training identities)"
LOSS = "largest novel identity loss"
FIRST = "first stage losing novel identity"


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.novel_objects.novel_object_decoding` of the recording, with
    the protocol's folds and regularisation.

    Raises:
        SkipAnalysis: When the recording holds no trials of :data:`NOVEL_SPLIT` or
            :data:`TRAINED_SPLIT`.
    """
    ds = rec.activations
    recorded = set(ds["split"].values.astype(str).tolist()) if "split" in ds else set()
    for split, what in ((NOVEL_SPLIT, "novel identities"),
                        (TRAINED_SPLIT, "training identities at novel angles")):
        if split not in recorded:
            raise SkipAnalysis(f"the recording has no {split} trials ({what}); record the "
                               f"split {split} (recorded: {sorted(recorded) or 'no splits'})")
    return novel_object_decoding(ds, trained_split=TRAINED_SPLIT, novel_split=NOVEL_SPLIT,
                                 space=ctx.protocol.space, **decoding_keywords(ctx.protocol))


def _identity(t: pd.DataFrame) -> pd.DataFrame:
    return t[(t["kind"] == "cross-validated") & (t["feature"] == "identity")]


def _gaps(g: pd.DataFrame) -> pd.DataFrame:
    """The novel − trained gap of normalised identity accuracy per stage, per run, averaged
    over runs (stages in model order)."""
    runs = [identity_loss(r) for _, r in (g.groupby("run", sort=False) if "run" in g
                                          else [("", g)])]
    return (pd.concat(runs).groupby(["order", "stage"], sort=True)[["trained", "novel", "gap"]]
            .mean().reset_index())


def first_loss(gaps: pd.DataFrame, margin: float = LOSS_MARGIN) -> str | None:
    """The first stage whose novel − trained gap is below ``-margin`` (None: no stage)."""
    lost = gaps[gaps["gap"] < -margin].sort_values("order")
    return None if lost.empty else str(lost["stage"].iloc[0])


def _measure(g: pd.DataFrame) -> dict[str, float] | None:
    gaps = _gaps(g)
    if gaps["gap"].isna().all():
        return None
    first = first_loss(gaps)
    out = {LOSS: float(np.nanmax(-gaps["gap"])),
           FIRST: float(gaps.loc[gaps["stage"] == first, "order"].iloc[0])
           if first else np.nan}
    out.update({f"novel − trained ({s})": float(v) for s, v in zip(gaps["stage"], gaps["gap"],
                                                                    strict=True)})
    return out


def _describe(model: str, g: pd.DataFrame, m) -> str:
    if m is None:
        return ""
    gaps = _gaps(g)
    first = first_loss(gaps)
    where = (f"identity lost first at {first}" if first else
             f"no stage loses more than {LOSS_MARGIN:g}")
    steps = ", ".join(f"{s} {v:+.2f}" for s, v in zip(gaps["stage"], gaps["gap"], strict=True))
    return f"{model}: {where} (novel − trained normalised identity accuracy: {steps})"


NOVEL_IDENTITY_LOSS = Finding(
    "novel_identity_loss", "Where novel objects lose their identity",
    "\"While we observed reduced performance with novel objects, we did not analyze the "
    "representational geometry associated with these stimuli or investigate the reasons for "
    "diminished performance\" (§5); generalization to novel object instances was "
    "substantially weaker (Fig. A1c)", "A1c, §5", "novel_objects",
    rows=_identity, measure=_measure, describe=_describe,
    reproduced=(Threshold(LOSS, ">=", LOSS_MARGIN),),
    partly=(Threshold(LOSS, ">", 0.0),),
    units=units_by_model,
    definitions="identity of training identities (val_angle) and novel identities "
                "(val_identity), matched on identities and trials, decoded at each stage "
                "(perceptual, input, encoding, memory lags 1..N); per stage the novel − "
                "trained gap of normalised accuracy, per run then averaged over runs; the "
                f"first stage whose gap is below −{LOSS_MARGIN:g} is where identity is lost; "
                f"{LOSS} = the largest trained − novel gap over stages",
    missing="novel_objects table missing (needs recordings of the val_identity split)",
    null=UNTRAINED, compare=LOSS, margin=LOSS_MARGIN, null_table="novel_objects_null",
    beyond_paper=True, cores="any",
    tasks="any", answers="novel_objects")


def _draw_null(tables, path):
    return F.retitled(F.plot_novel_objects(multi_task_focus(tables["novel_objects_null"]), None),
                      "Training vs novel identities in the untrained network on the same trials "
                      "(the null; beyond Lei et al. 2024, Fig. A1c)", path)


def _read(tables, name: str = "novel_objects") -> str:
    def one(g):
        gaps = _gaps(_identity(g))
        first = first_loss(gaps)
        where = f"identity lost first at {first}" if first else "no stage loses identity"
        steps = ", ".join(f"{s} {a:.2f}/{b:.2f}" for s, a, b in
                          zip(gaps["stage"], gaps["trained"], gaps["novel"], strict=True))
        gen = g[g["kind"] == "generalization"]
        tail = (f"; category decoders of the training identities on novel ones "
                f"{gen['normalized_accuracy'].mean():.2f}" if not gen.empty else "")
        return (f"{where} (normalised identity accuracy, training/novel identities: "
                f"{steps}){tail}")

    return per_model(tables[name], one)


ANALYSIS = Analysis(
    "novel_objects", "Lei et al. 2024, Fig. A1c and §5 (beyond the paper)",
    "identity, category and location of training identities (novel angles) and novel "
    "identities, matched on identities and trials, decoded at each stage (backbone features, "
    "input to the core, encoding, memory lags 1..N); category decoders of the training "
    "identities tested on the novel ones",
    requires="trials of the val_identity and val_angle splits",
    compute=compute,
    figures=(Figure("novel_objects", "Where novel objects lose their identity (Fig. A1c, "
                    "beyond the paper)",
                    lambda T, p: F.plot_novel_objects(multi_task_focus(T["novel_objects"]), p),
                    _read,
                    "accuracy on novel identities substantially weaker than on novel angles "
                    "(Fig. A1c); the paper leaves the representational reasons open (§5)"),
             Figure("novel_objects_untrained", "Where novel objects lose their identity, "
                    "untrained network (Fig. A1c, beyond the paper; the null)", _draw_null,
                    lambda T: "the untrained network: " + _read(T, "novel_objects_null"),
                    "accuracy on novel identities substantially weaker than on novel angles "
                    "(Fig. A1c; the trained networks' loss must exceed this network's)",
                    tables=("novel_objects_null",)),),
    findings=(NOVEL_IDENTITY_LOSS,),
    untrained_null=True, null=UNTRAINED)
