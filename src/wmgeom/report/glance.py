"""Findings at a glance: one compact row per finding, its measurement drawn against its null.

Each row holds the claim (short), the paper's figure it reproduces, the verdict as a coloured
badge, one headline number — the effect against the null (or the value against the rule's
threshold where a finding has no null) with its 95% interval over the independent models ×
seeds, and how many models and seeds meet the rule — and a small forest plot of every
unit's measurement beside its null (a grey diamond). The per-unit numbers stay on the page
folded (a ``<details>`` toggle under the claim opens a row of the table's full width) as a
small table. Everything is drawn from
:class:`~wmgeom.studies.findings.Outcome` objects (the findings judged on the tables), read
by their attributes: this module imports no study.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wmgeom.report.figures import NULL_COLOR
from wmgeom.report.numbers import format_value, kind_of
from wmgeom.report.page import badge

Finding = Any
"""A declared finding (:class:`wmgeom.studies.findings.Finding`: ``id``, ``claim``, ``paper``,
``figure``, ``headline``, ``target``, ``reproduced``, ``partly``, ``unit_name``, ``null``,
``margin``, ``rule``); the report reads it and imports no study."""
Outcome = Any
"""A judged finding (:class:`wmgeom.studies.findings.Outcome`: ``verdict``, ``reason``,
``units``)."""
UnitMeasure = Any
"""One unit's numbers (:class:`wmgeom.studies.findings.UnitMeasure`)."""

__all__ = ["MEMBER_COLORS", "Effect", "effect", "figure_label", "glance_html", "headline_html",
           "legend_html", "plot_units", "quantity_text", "unit_table"]

MEMBER_COLORS = {"STSF": "#d9822b", "STMF": "#2f6db3", "MTMF": "#1a7f37", "": "#1f2328"}
"""The colour of each regime in every finding's plot (one legend for the page)."""
_EXTRA_COLORS = ("#8250df", "#bf3989", "#0a7ea4", "#6e7781")
_DPI = 200
_WIDTH_IN = 3.1


def _is_percent(quantity: str) -> bool:
    q = quantity.lower()
    return kind_of(q) == "percent" or any(w in q for w in ("worst task", "all tasks", "novel "))


def quantity_text(quantity: str, value: float, signed: bool = False) -> str:
    """A value of a finding's quantity as a person reads it: a percentage with one decimal
    for accuracies (``signed``: a difference in points, ``"+12.3 pts"``), else three
    significant digits (:mod:`wmgeom.report.numbers`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if _is_percent(quantity):
        if signed:
            return f"{100 * value:+.1f} pts".replace("-", "−")
        return format_value("accuracy", float(value)).replace("-", "−")
    text = format_value("value", float(value)).replace("-", "−")
    return f"+{text}" if signed and value > 0 else text


@dataclass(frozen=True)
class Effect:
    """The headline of a finding over its independent models × seeds.

    Attributes:
        quantity: The headline quantity (:attr:`Finding.headline`).
        against_null: Whether ``mean`` is the measurement minus its null (else the value).
        mean: Mean over the observations.
        low: Lower end of the 95% interval (t distribution; NaN for one observation).
        high: Upper end.
        n: Observations (each unit's seeds, or the units where they hold one seed).
        over: What an observation is, e.g. ``"model × seed"``.
        units_meeting: Units meeting the rule for ``reproduced``.
        units: Units measured.
        seeds_meeting: Seeds meeting the rule on their own (0 of 0 where single-seed).
        seeds: Seeds judged on their own.
    """

    quantity: str
    against_null: bool
    mean: float
    low: float
    high: float
    n: int
    over: str
    units_meeting: int
    units: int
    seeds_meeting: int
    seeds: int


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) /
                 math.sqrt(len(values)))
    return mean, mean - half, mean + half


def effect(finding: Finding, outcome: Outcome) -> Effect | None:
    """The headline of ``outcome``: the effect against the null (or the value) with its 95%
    interval over every unit's seeds (each seed an independent training) — over the units
    where a unit holds one seed — and the counts of units and seeds meeting the rule. None
    where nothing was measured."""
    units = outcome.units
    if not units:
        return None
    with_null = bool(finding.null) and any(np.isfinite(u.null) for u in units)
    seeded = all(u.seeds for u in units)
    if seeded:
        obs = np.array([v - (n if with_null else 0.0) for u in units for _, v, n, _ in u.seeds],
                       float)
        over = f"{finding.unit_name or 'set of models'} × seed"
    else:
        obs = np.array([u.value - (u.null if with_null else 0.0) for u in units], float)
        over = finding.unit_name or "set of models"
    mean, low, high = _interval(obs)
    return Effect(finding.headline, with_null, mean, low, high, int(np.isfinite(obs).sum()),
                  over, sum(u.meets for u in units), len(units),
                  sum(s[3] for u in units for s in u.seeds),
                  sum(len(u.seeds) for u in units))


def _per(unit_name: str) -> str:
    return f"per {unit_name}" if unit_name and len(unit_name) <= 18 else "details"


def _plural(name: str, n: int) -> str:
    name = name if name and len(name) <= 18 else "unit"
    return name if n == 1 else (name[:-1] + "ies" if name.endswith("y") else name + "s")


def headline_html(finding: Finding, outcome: Outcome) -> str:
    """The headline number of a finding as a few short lines of HTML."""
    e = effect(finding, outcome)
    if e is None:
        reason = outcome.reason or "nothing measured"
        return (f'<span class="why" title="{html.escape(reason)}">'
                f"{html.escape(short_reason(reason, 90))}</span>")
    q = e.quantity
    if e.against_null:
        big = f"{quantity_text(q, e.mean, signed=True)} vs null"
    else:
        big = quantity_text(q, e.mean)
    rule = next((t for t in finding.reproduced if t.quantity == q), None)
    if rule is not None and not e.against_null:
        symbol = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[rule.op]
        big += f" (rule {symbol} {quantity_text(q, rule.value)})"
    elif e.against_null and finding.margin is not None:
        big += f" (needs {quantity_text(q, finding.margin, signed=True)})"
    lines = [f"<b>{html.escape(big)}</b>"]
    if math.isfinite(e.low):
        lines.append(f"95% CI {quantity_text(q, e.low, signed=e.against_null)} to "
                     f"{quantity_text(q, e.high, signed=e.against_null)} (n = {e.n})")
    counts = []
    if e.units > 1:
        counts.append(f"{e.units_meeting} of {e.units} "
                      f"{_plural(finding.unit_name or 'set of models', e.units)}")
    if e.seeds:
        counts.append(f"{e.seeds_meeting} of {e.seeds} seeds")
    if counts:
        lines.append(", ".join(counts) + " pass")
    else:
        lines.append("meets the rule" if e.units_meeting else "misses the rule")
    if outcome.verdict == "not tested" and outcome.reason:
        lines.append(f'<span class="why" title="{html.escape(outcome.reason)}">'
                     f"{html.escape(short_reason(outcome.reason))}</span>")
    return "<br>".join(lines)


def short_reason(reason: str, limit: int = 48) -> str:
    """The start of a reason, cut at a word or a colon (the full reason is folded)."""
    head = reason.split(":")[0] if ":" in reason[:limit] else reason
    if len(head) <= limit:
        return head
    return head[:limit].rsplit(" ", 1)[0] + " …"


# --------------------------------------------------------------------------- the plot


def _rows(units: Sequence[UnitMeasure]) -> tuple[list[str], list[tuple[float, UnitMeasure]]]:
    """Group labels (top to bottom) and each unit's y position: units of one group (an
    architecture) share a band, its members (regimes) offset inside it."""
    groups = list(dict.fromkeys(u.group for u in units))
    placed = []
    for gi, group in enumerate(groups):
        members = [u for u in units if u.group == group]
        k = len(members)
        for mi, u in enumerate(members):
            offset = 0.0 if k == 1 else (mi - (k - 1) / 2) * (0.6 / (k - 1))
            placed.append((-gi + -offset, u))
    return groups, placed


def _color(member: str, members: list[str]) -> str:
    if member in MEMBER_COLORS:
        return MEMBER_COLORS[member]
    return _EXTRA_COLORS[members.index(member) % len(_EXTRA_COLORS)]


def plot_units(finding: Finding, outcome: Outcome) -> Figure | None:
    """A small forest plot of a finding: each unit's measurement (coloured by its regime,
    its seeds as small dots) beside its null (grey diamond, joined by a grey line), the
    margin to beat as a light band after the null, and the rule's threshold as a dashed
    line. None where nothing was measured."""
    units = outcome.units
    if not units:
        return None
    groups, placed = _rows(units)
    members = list(dict.fromkeys(u.member for u in units))
    band = 0.14 if len(placed) > len(groups) else 0.11
    height = 0.28 + band * len(groups)
    fig = Figure(figsize=(_WIDTH_IN, height), dpi=_DPI)
    bottom = 0.245 / height
    ax = fig.add_axes((0.2, bottom, 0.76, 1 - bottom - 0.04 / height))
    q = finding.headline
    values = []
    for y, u in placed:
        color = _color(u.member, members)
        if math.isfinite(u.null):
            if finding.margin:
                ax.add_patch(_band(u.null, finding.margin, y))
            ax.plot([u.null, u.value], [y, y], color=NULL_COLOR, lw=0.8, zorder=1)
            ax.plot(u.null, y, "D", ms=3.2, mfc="white", mec=NULL_COLOR, mew=1.0, zorder=2,
                    clip_on=False)
            values.append(u.null)
        seeds = [v for _, v, _, _ in u.seeds if math.isfinite(v)]
        if seeds:
            ax.plot(seeds, [y] * len(seeds), "o", ms=1.8, color=color, alpha=0.45, zorder=2,
                    clip_on=False)
            values += seeds
        ax.plot(u.value, y, "o", ms=4.2, color=color, mfc=color if u.meets else "white",
                mew=1.1, zorder=3, clip_on=False)
        values.append(u.value)
    if math.isfinite(finding.target) and not (finding.null and finding.margin is not None):
        ax.axvline(finding.target, color="#1f2328", ls="--", lw=0.8, zorder=0)
        values.append(finding.target)
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = 0.08 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-(len(groups) - 1) - 0.5, 0.5)
    ax.set_yticks([-i for i in range(len(groups))])
    ax.set_yticklabels([g if len(g) <= 12 else g[:11] + "…" for g in groups], fontsize=6.5)
    ax.tick_params(axis="x", labelsize=5.5, length=2, pad=1)
    ax.set_xlabel(q if len(q) <= 60 else q[:59] + "…", fontsize=5.5, labelpad=1,
                  color="#57606a")
    ax.tick_params(axis="y", length=0, pad=2)
    ax.xaxis.set_major_locator(_locator())
    ax.xaxis.set_major_formatter(_formatter(q, ax.get_xlim()))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#eaeef2", lw=0.6)
    ax.set_axisbelow(True)
    return fig


def _band(null: float, margin: float, y: float):
    from matplotlib.patches import Rectangle

    return Rectangle((null, y - 0.12), margin, 0.24, color=NULL_COLOR, alpha=0.22, lw=0,
                     zorder=0)


def _locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=4)


def _formatter(quantity: str, limits: tuple[float, float]):
    """Tick labels with as many decimals as the axis's range needs to tell ticks apart."""
    from matplotlib.ticker import FuncFormatter

    scale, suffix = (100.0, "%") if _is_percent(quantity) else (1.0, "")
    span = abs(limits[1] - limits[0]) * scale
    decimals = max(0, math.ceil(-math.log10(span / 4))) if span > 0 else 0
    return FuncFormatter(lambda v, _p: f"{scale * v:.{decimals}f}{suffix}".replace("-", "−"))


def figure_label(figure: str) -> str:
    """``"2b, A5"`` → ``"Fig. 2b, A5"``; a reference that is not a figure stays as it is."""
    return f"Fig. {figure}" if figure[:1].isdigit() or figure[:1] == "A" and \
        figure[1:2].isdigit() else figure


def _png(fig: Figure) -> tuple[str, int, int]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    w, h = fig.get_size_inches()
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return uri, round(w * 100), round(h * 100)


# --------------------------------------------------------------------------- tables, page


def unit_table(finding: Finding, outcome: Outcome) -> pd.DataFrame:
    """One row per unit: the headline quantity, its null, the effect, the rule's other
    quantities, the seeds meeting the rule and whether the unit meets it."""
    q = finding.headline
    others = list(dict.fromkeys(t.quantity for t in (*finding.reproduced, *finding.partly)
                                if t.quantity != q))
    rows = []
    for u in outcome.units:
        row = {finding.unit_name or "unit": u.label, q: quantity_text(q, u.value)}
        if finding.null:
            row["null"] = quantity_text(q, u.null)
            row["minus null"] = quantity_text(q, u.value - u.null, signed=True)
        for o in others:
            row[o] = quantity_text(o, float(u.measures.get(o, math.nan)))
        if u.seeds:
            row["seeds meeting"] = f"{sum(s[3] for s in u.seeds)} of {len(u.seeds)}"
        row["meets"] = "yes" if u.meets else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def _table_html(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return (f'<div class="scroll"><table class="units"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def legend_html(outcomes: Sequence[Outcome]) -> str:
    """One legend for every plot of the page: the regimes' colours, seeds, null, margin,
    rule."""
    members = list(dict.fromkeys(u.member for o in outcomes for u in o.units))
    keys = [f'<span class="dot" style="background:{_color(m, members)}"></span>'
            f"{html.escape(m)}" for m in members if m]
    keys.append('<span class="dot" style="background:#1f2328"></span>unit '
                '(hollow: misses the rule)')
    if any(u.seeds for o in outcomes for u in o.units):
        keys.append('<span class="dot small" style="background:#1f2328;opacity:.5"></span>'
                    "each seed")
    keys += [f'<span class="diamond" style="border-color:{NULL_COLOR}"></span>null',
             '<span class="band"></span>margin to beat',
             '<span class="dash"></span>rule threshold']
    return '<p class="legend">' + " ".join(f"<span>{k}</span>" for k in keys) + "</p>"


def glance_html(findings: Sequence[Finding], outcomes: Mapping[str, Outcome],
                saved: pd.DataFrame | None = None,
                figure_links: Mapping[str, str] | None = None,
                source: str = "Lei et al. 2024") -> str:
    """The findings at a glance: a legend, then one row per finding (claim, figure, badge,
    headline, plot, the per-unit table folded).

    Args:
        findings: The declared findings, in page order.
        outcomes: Each finding's outcome on the tables, by id.
        saved: The findings table as written by the analysis (its verdicts are shown; a
            verdict judged differently now is flagged).
        figure_links: The page anchor of the figure section of each finding, by id.
        source: The paper whose statements the folded details quote.
    """
    saved_rows = ({str(r["id"]): r for r in saved.fillna("").to_dict("records")}
                  if saved is not None and not saved.empty else {})
    links = figure_links or {}
    rows = []
    for f in findings:
        out = outcomes.get(f.id)
        if out is None:
            continue
        verdict = str(saved_rows.get(f.id, {}).get("verdict") or out.verdict)
        flag = ("" if verdict == out.verdict else
                f'<br><span class="why">judged {html.escape(out.verdict)} by this code</span>')
        figure = html.escape(figure_label(f.figure))
        if f.id in links:
            figure = f'<a href="#{links[f.id]}">{figure}</a>'
        if getattr(f, "beyond_paper", False):
            figure += " · beyond the paper"
        fig = plot_units(f, out)
        plot = ""
        if fig is not None:
            uri, w, h = _png(fig)
            plot = (f'<img class="forest" alt="{html.escape(f.headline)} per '
                    f'{html.escape(f.unit_name or "unit")} against its null" src="{uri}" '
                    f'width="{w}" height="{h}">')
        toggle = more = ""
        reason = (f'<p class="small"><b>Not tested:</b> {html.escape(out.reason)}</p>'
                  if out.reason else "")
        if out.units:
            # the summary sits in the claim; what it opens takes the table's whole width
            toggle = (f' · <details class="more"><summary>{html.escape(_per(f.unit_name))}'
                      "</summary></details>")
            more = (f'<tr class="more"><td colspan="4">'
                    f'<p class="small"><b>{html.escape(source)}:</b> {html.escape(f.paper)}'
                    f"</p>{reason}{_table_html(unit_table(f, out))}"
                    f'<p class="small"><b>Rule:</b> {html.escape(f.rule)}'
                    + (f"; null: {html.escape(f.null)}" if f.null else "") + "</p></td></tr>")
        rows.append(
            f'<tr id="finding-{html.escape(f.id)}"><td class="claim">{html.escape(f.claim)}'
            f'<br><span class="fig">{figure}</span>{toggle}</td>'
            f'<td class="verdict">{badge(verdict)}{flag}</td>'
            f'<td class="headline">{headline_html(f, out)}</td><td class="plot">{plot}</td></tr>'
            + more)
    return (legend_html(list(outcomes.values())) +
            '<table class="glance"><thead><tr><th>finding</th><th>verdict</th>'
            "<th>headline: effect against the null (95% CI)</th>"
            "<th>each unit against its null</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
