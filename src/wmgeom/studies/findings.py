"""Findings of a paper, each judged from analysis tables by a rule written once.

A :class:`Finding` is declared beside the analysis whose tables test it (for Lei et al.
2024 in :mod:`wmgeom.studies.nback.analyses`). It says which rows it reads, how they split into
*units* (each model, each architecture, or the whole set of models), what it measures in
each unit (named quantities) and the thresholds those quantities must meet:

* ``reproduced`` — every unit meets every threshold of :attr:`Finding.reproduced` and
  beats the finding's null control by :attr:`Finding.margin` in the quantity
  :attr:`Finding.compare` (a finding that names no null is at most ``partly``: nothing
  shows that a network without the property would not meet the rule);
* ``partly`` — otherwise, some unit meets every threshold of :attr:`Finding.partly` (and is
  above its null, where there is one);
* ``not reproduced`` — otherwise;
* ``not tested`` — no unit could be measured (the reason says which models or tables are
  missing).

The rule printed in the findings table and in ``docs/findings.md`` is generated from the same
thresholds (:attr:`Finding.rule`), so the code and its description cannot drift apart.

Conventions. Accuracies are compared with chance through the normalized score
``(accuracy - chance) / (1 - chance)`` (0 at chance, 1 perfect). ``accuracy`` is the
multi-class decoding accuracy (argmax over the one-vs-rest decision values, chance 1/k);
``decoder accuracy`` is the mean accuracy of the one-vs-rest decoders, the measure of the
paper's SVC scores (its Fig. A5 averages them over feature values; a decoder that always
answers "rest" scores 1 - 1/k on it). Per model (``architecture`` × ``regime``) a number
is first computed per run and then averaged over runs (random seeds); ``±`` is the standard
deviation over the unit named beside it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wmgeom.models.cores import CORES, architecture_label
from wmgeom.tasks.registry import FAMILIES, family_of

__all__ = ["VERDICTS", "Finding", "Threshold", "UnitMeasure", "format_spread",
           "judge_findings", "normalized", "per_run", "units_by_model"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not tested")
FINDING_COLUMNS = ["id", "finding", "paper", "measured", "null", "margin", "verdict", "seeds",
                   "rule",
                   "reason", "figure", "beyond_paper"]


def normalized(accuracy: pd.Series | np.ndarray | float,
               chance: pd.Series | np.ndarray | float):
    """``(accuracy - chance) / (1 - chance)``: 0 at chance, 1 for perfect decoding."""
    return (np.asarray(accuracy, float) - np.asarray(chance, float)) / (
        1.0 - np.asarray(chance, float))


def format_spread(values: Sequence[float] | np.ndarray, unit: str, pct: bool = True) -> str:
    """``"91.2% ± 3.1 (9 tasks)"``: the mean and standard deviation over ``unit``."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "n/a"
    scale, suffix = (100.0, "%") if pct else (1.0, "")
    mean = f"{scale * v.mean():.1f}{suffix}" if pct else f"{v.mean():.3g}"
    if len(v) == 1:
        return mean
    sd = f"{scale * v.std(ddof=1):.1f}" if pct else f"{v.std(ddof=1):.2g}"
    return f"{mean} ± {sd} ({len(v)} {unit})"


def per_run(g: pd.DataFrame, fn: Callable[[pd.DataFrame], float]) -> np.ndarray:
    """``fn`` of each run's rows (``run`` column; one value per random seed)."""
    if "run" not in g:
        return np.array([fn(g)])
    return np.array([fn(r) for _, r in g.groupby("run", sort=False)])


Unit = tuple[str, pd.DataFrame]
"""A label (``"GRU MTMF"``, ``"GRU"``, ``"all models"``) and its rows."""


def units_by_model(table: pd.DataFrame) -> list[Unit]:
    """One unit per model label (``architecture`` × ``regime``), in table order."""
    return [(str(m), g) for m, g in table.groupby("model", sort=False)]


def units_by_architecture(table: pd.DataFrame) -> list[Unit]:
    """One unit per architecture, labelled as reports name it, in table order."""
    return [(architecture_label(a), g) for a, g in table.groupby("architecture", sort=False)]


def one_unit(table: pd.DataFrame) -> list[Unit]:
    """The whole table as one unit (a claim about how models compare)."""
    return [("all models", table)]


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


@dataclass(frozen=True)
class Threshold:
    """A quantity of a unit compared with a value, e.g. ``Threshold("mean relevant
    accuracy", ">=", 0.9)``.

    Attributes:
        quantity: The key of the measured quantity (printed in the rule as it is).
        op: ``">="``, ``">"``, ``"<="`` or ``"<"``.
        value: The value it is compared with.
        when_measured: Whether a quantity that could not be measured (NaN) passes (for a
            condition the tables can only sometimes check); by default it fails.
    """

    quantity: str
    op: str
    value: float
    when_measured: bool = False

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {list(_OPS)}, not {self.op!r}")

    def holds(self, measures: Mapping[str, float]) -> bool:
        """Whether the unit's ``measures`` meet it."""
        x = float(measures[self.quantity])
        if math.isnan(x):
            return self.when_measured
        return bool(_OPS[self.op](x, self.value))

    def __str__(self) -> str:
        text = f"{self.quantity} {_SYMBOLS[self.op]} {self.value:.3g}"
        return f"{text} (where measurable)" if self.when_measured else text


@dataclass(frozen=True)
class UnitMeasure:
    """What one unit of a finding measured, as numbers (the report draws them).

    Attributes:
        label: The unit (``"GRU MTMF"``, ``"GRU"``, ``"all models"``).
        group: The unit's architecture where its rows hold one, else ``label``.
        member: The unit's regime where its rows hold one, else ``""``.
        value: The finding's headline quantity (:attr:`Finding.headline`) in the unit.
        null: The null's value of it (NaN where the finding has no null or it was not
            computed).
        meets: Whether the unit meets the rule for ``reproduced`` (the margin included).
        measures: Every quantity the unit measured (its null's too).
        seeds: ``(seed, value, null, meets)`` for each seed of a unit measured over several
            seeds, each seed judged on its own rows; empty otherwise.
    """

    label: str
    group: str
    member: str
    value: float
    null: float
    meets: bool
    measures: Mapping[str, float]
    seeds: tuple[tuple[object, float, float, bool], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The verdict of one finding on a set of tables (``units``: each unit's numbers)."""

    measured: str
    verdict: str
    reason: str = ""
    null: str = ""
    seeds: str = ""
    units: tuple[UnitMeasure, ...] = ()


SCOPES = ("paper", "beyond", "any")
"""What :attr:`Finding.cores` and :attr:`Finding.tasks` may say."""


def _beyond_cores(table: pd.DataFrame) -> pd.Series:
    """Rows of a registered core the paper does not train (``in_paper`` false)."""
    names = table["architecture"].astype(str).str.lower()
    return names.map(lambda a: a in CORES and not CORES[a].in_paper).astype(bool)


def _beyond_tasks(table: pd.DataFrame) -> pd.Series:
    """Rows of a task whose registered family has no rolling comparison (e.g. DMS): read
    from the ``task`` column, or, in model-level tables without one, from the model's
    ``task_family``."""
    column, lookup = ("task", family_of) if "task" in table else ("task_family", FAMILIES.get)
    values = table[column].astype(str)
    families = {k: lookup(k) for k in values.unique()}
    return values.map(lambda k: families[k] is not None and not families[k].rolling).astype(bool)


def in_scope(table: pd.DataFrame, cores: str = "any", tasks: str = "any") -> pd.DataFrame:
    """The rows of ``table`` whose model's core and task are in scope (:attr:`Finding.cores`,
    :attr:`Finding.tasks`); a table without the columns is not filtered by them."""
    keep = pd.Series(True, index=table.index)
    for scope, columns, beyond in ((cores, ("architecture",), _beyond_cores),
                                   (tasks, ("task", "task_family"), _beyond_tasks)):
        if scope != "any" and any(c in table for c in columns) and len(table):
            out = beyond(table)
            keep &= ~out if scope == "paper" else out
    return table[keep]


@dataclass(frozen=True)
class Finding:
    """One claim of the paper and the rule that judges it from the tables.

    Attributes:
        id: Short name (the findings table's ``id``).
        claim: The claim in one short sentence.
        paper: What the paper reports, quoted once (its numbers where it gives them).
        figure: The paper's figure(s) (``"4f, A4"``).
        table: The table it reads.
        rows: ``rows(table) -> table``: the rows the claim is about (e.g. relevant features
            inside the memory window); default all.
        units: ``units(rows) -> [(label, rows)]``: what the thresholds are applied to
            (:func:`units_by_model`, :func:`units_by_architecture`, :func:`one_unit`).
        measure: ``measure(unit_rows) -> {quantity: value}``, or None when the unit cannot
            be measured (it is then left out of the verdict).
        describe: ``describe(label, unit_rows, measures_or_None) -> str``: the measured
            values for the ``measured`` column ("" to say nothing).
        reproduced: Thresholds every unit must meet.
        partly: Thresholds some unit must meet.
        unit_name: How the rule names a unit (``model``, ``architecture``, or ``""`` for the
            whole set).
        definitions: How the quantities are computed, in words (printed before the rule).
        missing: Why the claim is not tested when its table is missing.
        no_units: Why it is not tested when the table holds no rows or units it is about
            (default ``missing``).
        unmeasured: Why it is not tested when no unit could be measured (default
            ``no_units``).
        check: ``check(table) -> reason | None``: a reason the table cannot test the claim
            (e.g. a column missing), checked before anything else.
        null: The control that lacks the property, in words (e.g. "the untrained network
            on the same trials"); empty when the finding has none.
        compare: The measured quantity that must beat its null.
        margin: By how much ``compare`` must exceed its null for ``reproduced``.
        null_table: The table holding the null rows, paired with the measured ones by
            ``run`` and measured by the same ``rows``/``units``/``measure``; empty when
            ``measure`` returns the null itself as ``"null <compare>"``.
        join: ``join(table, tables) -> table``: adds columns from other tables before
            anything else (applied to the null table too).
        undiagnostic: The null has nothing of the property by construction (e.g. a random
            shape), so when no unit beats it by the margin the measure cannot tell and the
            finding is ``not tested`` (with the reason) rather than ``not reproduced``.
        null_parts: Names of the controls whose largest value is the null (e.g. "untrained
            network", "shuffled orientations"); ``measure`` returns each as ``"null
            <compare> (<name>)"`` beside ``"null <compare>"``, and the ``null`` column lists
            them. Empty: one control.
        beyond_paper: A question the paper leaves open rather than a claim it makes (``paper``
            quotes where it says so); the verdict says whether the rule holds, and the
            findings tables mark the finding ``beyond the paper``.
        cores: Which models' rows it judges, by their core's ``in_paper`` property
            (:mod:`wmgeom.models.cores`): ``"paper"`` (default) the cores the paper trains
            (rows of an architecture that is no registered core are kept: anyone's model),
            ``"beyond"`` the registered cores it does not train (Transformer, SSM),
            ``"any"`` all; a claim of the paper is never judged on a core it did not train.
        tasks: Which tasks' rows it judges, by their family's ``rolling`` property
            (:mod:`wmgeom.tasks.family`): ``"paper"`` (default) N-back-like tasks (and tasks
            of no registered family), ``"beyond"`` the families without a rolling
            comparison (delayed match-to-sample), ``"any"`` all.
        answers: The key of the open question it answers (one of Lei et al. 2024's
            limitations, :data:`wmgeom.studies.nback.limitations.LIMITATIONS`); empty for a
            claim of the paper.
    """

    id: str
    claim: str
    paper: str
    figure: str
    table: str
    measure: Callable[[pd.DataFrame], Mapping[str, float] | None]
    describe: Callable[[str, pd.DataFrame, Mapping[str, float] | None], str]
    reproduced: tuple[Threshold, ...]
    partly: tuple[Threshold, ...] = ()
    units: Callable[[pd.DataFrame], list[Unit]] = units_by_model
    rows: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    unit_name: str = "model"
    definitions: str = ""
    missing: str = ""
    no_units: str = ""
    unmeasured: str = ""
    check: Callable[[pd.DataFrame], str | None] | None = None
    null: str = ""
    compare: str = ""
    margin: float | None = None
    null_table: str = ""
    join: Callable[[pd.DataFrame, Mapping[str, pd.DataFrame]], pd.DataFrame] | None = None
    undiagnostic: bool = False
    null_parts: tuple[str, ...] = ()
    beyond_paper: bool = False
    cores: str = "paper"
    tasks: str = "paper"
    answers: str = ""

    def __post_init__(self) -> None:
        for name in ("cores", "tasks"):
            if getattr(self, name) not in SCOPES:
                raise ValueError(f"finding {self.id}: {name}={getattr(self, name)!r}, not one "
                                 f"of {', '.join(SCOPES)}")

    @property
    def scope_text(self) -> str:
        """The models and tasks it is judged on, in words (the reason when a table holds
        none of them)."""
        cores = {"paper": "the cores the paper trains", "beyond": "cores the paper does not "
                 "train", "any": "any core"}[self.cores]
        tasks = {"paper": "N-back tasks", "beyond": "tasks without a rolling comparison "
                 "(e.g. delayed match-to-sample)", "any": "any task"}[self.tasks]
        return f"judged on {cores} and {tasks}"

    def _table(self, tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
        t = tables.get(name)
        if t is None or t.empty:
            return None
        t = in_scope(t, self.cores, self.tasks)  # may leave no rows (judge says why)
        return self.join(t, tables) if self.join is not None and not t.empty else t

    @property
    def headline(self) -> str:
        """The quantity a reader looks at first: the one compared with the null, else the
        first of the rule's thresholds."""
        return self.compare or self.reproduced[0].quantity

    @property
    def target(self) -> float:
        """The threshold the rule sets on :attr:`headline` for ``reproduced`` (NaN if none)."""
        return next((t.value for t in self.reproduced if t.quantity == self.headline),
                    math.nan)

    @property
    def margin_text(self) -> str:
        """The margin in words, e.g. ``"≥ 0.1 above the untrained network"``."""
        if not self.null or self.margin is None:
            return ""
        return f"{self.compare} ≥ {self.margin:.3g} above {self.null}"

    @property
    def rule(self) -> str:
        """The rule in words, generated from the thresholds."""
        def clause(thresholds: Sequence[Threshold], every: bool) -> str:
            scope = (f"in every {self.unit_name}, " if every else f"in some {self.unit_name}, "
                     ) if self.unit_name else ""
            return scope + " and ".join(str(t) for t in thresholds)

        parts = [f"reproduced: {clause(self.reproduced, True)}"]
        if self.partly:
            parts.append(f"partly: {clause(self.partly, False)}")
        rule = "; ".join(parts)
        if self.margin_text:
            rule += f"; reproduced also needs {self.margin_text} (partly: above it)"
        elif not self.null:
            rule += "; no null control: at most partly"
        if (self.cores, self.tasks) != ("paper", "paper"):
            rule = f"{self.scope_text}; {rule}"
        return f"{self.definitions}; {rule}" if self.definitions else rule

    def _null_values(self, tables: Mapping[str, pd.DataFrame]) -> dict[object, float]:
        """The null value of ``compare`` per unit label, from :attr:`null_table`, and per
        ``(label, seed)`` where the null rows carry seeds (each seed's own untrained
        network)."""
        t = self._table(tables, self.null_table) if self.null_table else None
        if t is None:
            return {}
        rows = self.rows(t) if self.rows is not None else t
        out: dict[object, float] = {}
        for label, g in (self.units(rows) if not rows.empty else []):
            m = self.measure(g)
            if m is not None:
                out[label] = float(m[self.compare])
            if "seed" in g and g["seed"].nunique() > 1:
                for seed, gs in g.groupby("seed", sort=True):
                    ms = self.measure(gs)
                    if ms is not None:
                        out[(label, seed)] = float(ms[self.compare])
        return out

    def _parts_text(self, measures: Mapping[str, float]) -> str:
        """``"; untrained network 0.1, shuffled orientations 0.02"``: each control's value."""
        if not self.null_parts:
            return ""
        return "; " + ", ".join(
            f"{p} {float(measures.get(f'null {self.compare} ({p})', math.nan)):.3g}"
            for p in self.null_parts)

    def judge(self, tables: Mapping[str, pd.DataFrame]) -> Outcome:
        """The finding's measurement and verdict on ``tables``."""
        table = self._table(tables, self.table)
        if table is None:
            return Outcome("", "not tested", self.missing or f"{self.table} table missing")
        if self.check is not None and (why := self.check(table)):
            return Outcome("", "not tested", why)
        if table.empty:  # the question names what it needs; a claim, whom it is about
            return Outcome("", "not tested", self.no_units if self.beyond_paper and
                           self.no_units else f"{self.scope_text}: none among the models of "
                           f"{self.table}")
        rows = self.rows(table) if self.rows is not None else table
        units = self.units(rows) if not rows.empty else []
        if not units:
            return Outcome("", "not tested", self.no_units or self.missing or
                           f"no rows in {self.table}")
        texts, passes, partials, nulls, beaten, seeds = [], [], [], [], [], []
        measured_units = []
        table_nulls = self._null_values(tables)
        for label, g in units:
            per_seed = self._per_seed(g, label, table_nulls)
            if per_seed:
                seeds.append(f"{label}: {sum(s[3] for s in per_seed)} of {len(per_seed)}")
            measures = self.measure(g)
            text = self.describe(label, g, measures)
            if text:
                texts.append(text)
            if measures is None:
                continue
            passes.append(all(t.holds(measures) for t in self.reproduced))
            partials.append(bool(self.partly) and all(t.holds(measures) for t in self.partly))
            null = math.nan
            if self.null:
                null = table_nulls.get(label, measures.get(f"null {self.compare}", math.nan))
                null = float(null)
                above = float(measures[self.compare]) - null
                beats = not math.isnan(above) and above >= (self.margin or 0.0)
                beaten.append(beats)
                passes[-1] = passes[-1] and beats
                partials[-1] = partials[-1] and (math.isnan(above) or above > 0)
                nulls.append(f"{label}: {null:.3g} (measured {float(measures[self.compare]):.3g}"
                             f"{self._parts_text(measures)})"
                             if not math.isnan(null) else f"{label}: not computed")
            measured_units.append(UnitMeasure(
                label, *_group_member(label, g), float(measures[self.headline]), null,
                passes[-1], dict(measures), tuple(per_seed)))
        measured = "; ".join(texts)
        units_out = tuple(measured_units)
        if not passes:
            return Outcome(measured, "not tested",
                           self.unmeasured or self.no_units or self.missing or
                           "nothing could be measured")
        verdict = ("reproduced" if all(passes) else "partly" if any(partials)
                   else "not reproduced")
        reason = ""
        if verdict == "reproduced" and not self.null:
            verdict, reason = "partly", ("no null control declared: the rule holds, but "
                                         "nothing shows that a network without the property "
                                         "would not meet it")
        null_text = f"{self.null}: " + "; ".join(nulls) if nulls else ""
        seeds_text = "; ".join(seeds)
        if self.undiagnostic and beaten and not any(beaten):
            return Outcome(measured, "not tested",
                           f"not diagnostic: {self.null} scores within {self.margin:.3g} of "
                           "the measurement, so this measure cannot tell", null=null_text,
                           seeds=seeds_text, units=units_out)
        return Outcome(measured, verdict, reason, null=null_text, seeds=seeds_text,
                       units=units_out)

    def _per_seed(self, g: pd.DataFrame, label: str, table_nulls: Mapping[str, float]
                  ) -> list[tuple[object, float, float, bool]]:
        """``(seed, headline value, null, meets the rule)`` of each of the unit's seeds
        judged on its own rows (each seed's rows: one independent training of every model of
        the unit), with the null margin; empty where the unit holds one seed or the rows
        carry none."""
        if "seed" not in g or g["seed"].nunique() < 2:
            return []
        out = []
        for seed, rows in g.groupby("seed", sort=True):
            measures = self.measure(rows)
            if measures is None:
                continue
            ok = all(t.holds(measures) for t in self.reproduced)
            null = math.nan
            if self.null:
                null = float(table_nulls.get((label, seed), table_nulls.get(
                    label, measures.get(f"null {self.compare}", math.nan))))
                above = float(measures[self.compare]) - null
                ok = ok and not math.isnan(above) and above >= (self.margin or 0.0)
            out.append((seed.item() if hasattr(seed, "item") else seed,
                        float(measures[self.headline]), null, bool(ok)))
        return out


def _group_member(label: str, g: pd.DataFrame) -> tuple[str, str]:
    """A unit's architecture and regime where its rows hold one each, else its label."""
    def one(column: str) -> str | None:
        if column not in g:
            return None
        values = g[column].dropna().astype(str).unique()
        return values[0] if len(values) == 1 else None

    arch, regime = one("architecture"), one("regime")
    if arch is None:
        return label, ""
    regime = (regime or "").upper()
    name = architecture_label(arch)
    # a sized label ("GRU-64 MTMF") keeps its size in the group: another model than GRU-128
    head = label.removesuffix(f" {regime}") if regime else label
    return (head if head.startswith(f"{name}-") else name), regime


def judge_findings(findings: Iterable[Finding], tables: Mapping[str, pd.DataFrame]
                   ) -> pd.DataFrame:
    """One row per finding: ``id``, ``finding``, ``paper``, ``measured``, ``null`` (the
    control's value per unit), ``margin``, ``verdict``, ``rule``, ``reason`` (why not
    tested), ``figure``, ``beyond_paper`` (a question the paper leaves open).

    Args:
        findings: The declared findings, in the order of the report.
        tables: Analysis tables by name; ``models`` (one row per run: ``model``,
            ``architecture``, ``regime``, ``run``, ``parameters``, ``acc_<split>`` and
            ``acc_<split>_min_task``) feeds the accuracy and size findings.
    """
    rows = []
    for f in findings:
        out = f.judge(tables)
        rows.append({"id": f.id, "finding": f.claim, "paper": f.paper,
                     "measured": out.measured, "null": out.null, "margin": f.margin_text,
                     "verdict": out.verdict, "seeds": out.seeds, "rule": f.rule,
                     "reason": out.reason, "figure": f.figure,
                     "beyond_paper": f.beyond_paper})
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def rules_markdown(findings: Iterable[Finding], paper: str = "Lei et al. 2024") -> str:
    """The rules as a Markdown table (``docs/findings.md``; ``paper`` heads the column of
    the paper's statements)."""
    lines = [f"| id | finding | {paper} | figure | rule |",
             "| --- | --- | --- | --- | --- |"]
    for f in findings:
        claim = f"{f.claim} (beyond the paper)" if f.beyond_paper else f.claim
        lines.append(f"| `{f.id}` | {claim} | {f.paper} | {f.figure} | {f.rule} |")
    return "\n".join(lines)
