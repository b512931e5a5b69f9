"""The four limitations Lei et al. 2024 end with (§5), each the question a finding beyond the
paper answers, and the report section that states the computed answers.

A finding answers a limitation by naming its key in :attr:`Finding.answers
<wmgeom.studies.findings.Finding.answers>`; this module only quotes the paper and says how
to run what a folder lacks. The answers are read from the folder's findings table and from
those of its task-family folders (``DIR/<family>/analysis/findings.csv``, written by a grid
over several task families), so a grid report answers every question its runs can.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from wmgeom.report.page import Section, badge
from wmgeom.studies.findings import Finding, Outcome


@dataclass(frozen=True)
class Limitation:
    """One limitation of Lei et al. 2024 (§5) as an open question.

    Attributes:
        key: What findings name in ``answers``.
        title: A few words for the heading.
        quote: The paper's sentence.
        command: What to run when no model of the folder can answer it.
    """

    key: str
    title: str
    quote: str
    command: str


LIMITATIONS = (
    Limitation("tasks", "Other working-memory tasks",
               "Our results are specific to the N-back task structure, and it remains "
               "uncertain whether similar computational strategies would emerge in other "
               "working memory tasks.",
               "wmgeom run --grid --tasks nback,dms,recognition"),
    Limitation("novel_objects", "The geometry of novel objects",
               "While we observed reduced performance with novel objects, we did not analyze "
               "the representational geometry associated with these stimuli or investigate "
               "the reasons for diminished performance.",
               "wmgeom run (records the novel identities of the val_identity split)"),
    Limitation("architectures", "Other architectures",
               "Our findings are restricted to commonly used RNN architectures … we cannot "
               "make definitive claims about how different neural network architectures "
               "might affect representational geometry.",
               "wmgeom run --grid --architectures gru,transformer,ssm"),
    Limitation("scale", "Network size",
               "We did not explore how scaling the network size might influence the "
               "results.",
               "wmgeom run --grid --sizes 64,128,256,512"),
)
"""Lei et al. 2024's four limitations, in the paper's order."""


def answers_table(run_dir: Path, found: pd.DataFrame | None) -> pd.DataFrame:
    """The findings rows that can answer a question: the folder's own, then those of its
    task-family folders, a tested row taking the place of an untested one; ``where`` says
    which folder's report holds it (``""`` for this one)."""
    frames = []
    if found is not None and not found.empty:
        frames.append(found.assign(where=""))
    for path in sorted(Path(run_dir).glob("*/analysis/findings.csv")):
        frames.append(pd.read_csv(path).assign(where=path.parent.parent.name))
    if not frames:
        return pd.DataFrame(columns=["id", "verdict", "measured", "reason", "where"])
    rows = pd.concat(frames, ignore_index=True)
    rows["tested"] = rows["verdict"].astype(str) != "not tested"
    rows = rows.sort_values("tested", ascending=False, kind="stable")
    return rows.drop_duplicates("id").drop(columns="tested")


def limitations_section(run_dir: Path, found: pd.DataFrame | None,
                        findings: Iterable[Finding]) -> Section | None:
    """"Beyond the paper": each limitation, the findings that answer it with their verdicts
    and measurements, or why this folder cannot and the command that can."""
    by_key: dict[str, list[Finding]] = {}
    for f in findings:
        if f.answers:
            by_key.setdefault(f.answers, []).append(f)
    if not by_key:
        return None
    rows = answers_table(run_dir, found).set_index("id")
    parts = []
    for lim in LIMITATIONS:
        items = [_item(f, rows) for f in by_key.get(lim.key, [])]
        tested = any(rows.get("verdict", pd.Series(dtype=str)).get(f.id, "not tested")
                     != "not tested" for f in by_key.get(lim.key, []))
        run = "" if tested else (f'<p class="note">Not answered by the models of this folder: '
                                 f'<code>{html.escape(lim.command)}</code> answers it.</p>')
        listed = "".join(items) or '<li class="note">no finding declares an answer yet</li>'
        parts.append(f"<h3>{html.escape(lim.title)}</h3><blockquote>{html.escape(lim.quote)}"
                     f"</blockquote><ul class=\"supports\">{listed}</ul>{run}")
    return Section(
        "Beyond the paper: its four limitations", anchor="limitations",
        text="Lei et al. 2024 end with four limitations (§5). Each is asked here as a question "
             "with a rule written before any number was seen (docs/findings.md); the verdict "
             "says whether the rule holds on this folder's models, against the same kind of "
             "null as the paper's findings.",
        html="".join(parts))


def _item(f: Finding, rows: pd.DataFrame) -> str:
    row: Mapping = rows.loc[f.id] if f.id in rows.index else {}
    verdict = str(row.get("verdict", "not tested"))
    said = row.get("measured") if verdict != "not tested" else row.get("reason")
    said = "" if said is None or (isinstance(said, float) and pd.isna(said)) else str(said)
    where = str(row.get("where", "") or "")
    link = (f' (<a href="{html.escape(where)}/report.html">{html.escape(where)} report</a>)'
            if where else "")
    return (f"<li>{badge(verdict)} <b>{html.escape(f.claim)}</b>{link}: "
            f"{html.escape(said)}</li>")


def size_series(judged: Iterable[tuple[Finding, Outcome]], models: pd.DataFrame | None
                ) -> pd.DataFrame:
    """Each finding's headline measure per model against the model's parameters, for the
    findings measured per model on an architecture at two or more sizes (limitation 4).

    Returns:
        Columns ``finding``, ``id``, ``quantity``, ``model``, ``architecture``,
        ``parameters``, ``value``, ``null``; empty when no architecture comes in several
        sizes.
    """
    cols = ["finding", "id", "quantity", "model", "architecture", "parameters", "value", "null"]
    if models is None or models.empty or not {"model", "parameters"} <= set(models):
        return pd.DataFrame(columns=cols)
    per_model = models.groupby("model", sort=False).agg(
        parameters=("parameters", "mean"), architecture=("architecture", "first"))
    rows = []
    for f, outcome in judged:
        for u in outcome.units:
            if u.label in per_model.index and pd.notna(u.value):
                m = per_model.loc[u.label]
                rows.append({"finding": f.claim, "id": f.id, "quantity": f.headline,
                             "model": u.label, "architecture": m["architecture"],
                             "parameters": float(m["parameters"]), "value": float(u.value),
                             "null": float(u.null)})
    series = pd.DataFrame(rows, columns=cols)
    sized = series.groupby(["id", "architecture"])["parameters"].transform("nunique") >= 2
    return series[sized].reset_index(drop=True)


def size_effects(series: pd.DataFrame) -> pd.DataFrame:
    """Per finding and architecture: the measure at the smallest and the largest size and
    Spearman's ρ between parameters and the measure (the reading of the size figure)."""
    rows = []
    for (fid, arch), g in series.groupby(["id", "architecture"], sort=False):
        g = g.sort_values("parameters")
        if g["value"].nunique() < 2:  # a measure that does not move has no rank order
            rho = np.nan
        elif len(g) > 2:
            rho = stats.spearmanr(g["parameters"], g["value"]).statistic
        else:
            rho = float(np.sign(g["value"].iloc[-1] - g["value"].iloc[0]))
        rows.append({"finding": fid, "architecture": arch, "models": len(g),
                     "smallest": g["value"].iloc[0], "largest": g["value"].iloc[-1],
                     "change": g["value"].iloc[-1] - g["value"].iloc[0], "spearman_rho": rho})
    return pd.DataFrame(rows)
