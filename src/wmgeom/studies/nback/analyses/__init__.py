"""The declared N-back analyses: one module each, one registration line each.

Each module declares an :class:`~wmgeom.studies.nback.analysis.Analysis` (what it needs,
computes, draws and claims). :data:`ANALYSES` holds them in the order of the report;
:func:`run_analyses` runs them on recordings and :func:`findings` judges their claims. A new
analysis is a module beside these and one :func:`register` line below (or a call to
:func:`register` from your own code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.studies.findings import Finding, judge_findings, rules_markdown
from wmgeom.studies.nback.analyses import (
    causal,
    cross_task,
    cross_time,
    encoding_sharing,
    fixed_points,
    model_comparison,
    models,
    novel_objects,
    orthogonalization,
    perceptual,
    procrustes,
    relevant_irrelevant,
    within_time,
)
from wmgeom.studies.nback.analysis import (
    Analysis,
    AnalysisProtocol,
    Recording,
    analyze_recordings,
)
from wmgeom.studies.nback.analysis import merge_tables as _merge_tables

__all__ = ["ANALYSES", "all_findings", "findings", "merge_tables", "register", "rules_markdown",
           "run_analyses", "select_analyses"]

ANALYSES: list[Analysis] = []
"""The registry, in the order of the report."""


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to :data:`ANALYSES` (after the ones registered before it).

    Raises:
        WmgeomError: If an analysis of that name, or a finding of one of its ids, is already
            registered.
    """
    if any(a.name == analysis.name for a in ANALYSES):
        raise WmgeomError(f"an analysis named {analysis.name!r} is already registered")
    taken = {f.id for a in ANALYSES for f in a.findings} & {f.id for f in analysis.findings}
    if taken:
        raise WmgeomError(f"findings {sorted(taken)} are already declared by another analysis")
    ANALYSES.append(analysis)
    return analysis


register(models.ANALYSIS)
register(perceptual.ANALYSIS)
register(relevant_irrelevant.ANALYSIS)
register(cross_task.ANALYSIS)
register(orthogonalization.ANALYSIS)
register(orthogonalization.ANALYSIS_PCA)
register(cross_time.ANALYSIS)
register(encoding_sharing.ANALYSIS)
register(procrustes.ANALYSIS)
register(procrustes.SWAP_ANALYSIS)
register(within_time.ANALYSIS)
register(novel_objects.ANALYSIS)
register(causal.ANALYSIS)
register(fixed_points.ANALYSIS)
register(model_comparison.ANALYSIS)


def select_analyses(names: Iterable[str | Analysis] | None) -> list[Analysis]:
    """The analyses named (all registered ones, in order, for None); an
    :class:`~wmgeom.studies.nback.analysis.Analysis` passes through as it is.

    Raises:
        WmgeomError: For an unknown name.
    """
    if names is None:
        return list(ANALYSES)
    known = {a.name: a for a in ANALYSES}
    names = list(names)
    unknown = [n for n in names if not isinstance(n, Analysis) and n not in known]
    if unknown:
        raise WmgeomError(f"unknown analyses {unknown}; choose from {sorted(known)}")
    return [n if isinstance(n, Analysis) else known[n] for n in names]


def run_analyses(
    recordings: Sequence[Recording],
    protocol: AnalysisProtocol | dict | None = None,
    analyses: Iterable[str | Analysis] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the selected analyses (all registered ones by default) on every recording.

    See :func:`~wmgeom.studies.nback.analysis.analyze_recordings` for the tables returned.

    Raises:
        WmgeomError: If no recording is given, or an analysis name is unknown.
    """
    if not recordings:
        raise WmgeomError("no recording given; pass at least one")
    return analyze_recordings(recordings, select_analyses(analyses), protocol, on_step)


def merge_tables(parts: Sequence[Mapping[str, pd.DataFrame]],
                 analyses: Iterable[str | Analysis] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of several :func:`run_analyses` calls as one call would return them."""
    return _merge_tables(parts, select_analyses(analyses))


def all_findings(analyses: Iterable[Analysis] | None = None) -> list[Finding]:
    """Every finding the analyses declare (the registered ones by default), in order."""
    return [f for a in (ANALYSES if analyses is None else analyses) for f in a.findings]


def findings(tables: Mapping[str, pd.DataFrame],
             analyses: Iterable[str | Analysis] | None = None) -> pd.DataFrame:
    """The findings table: every declared finding judged on ``tables`` by its rule
    (:func:`~wmgeom.studies.findings.judge_findings`)."""
    return judge_findings(all_findings(select_analyses(analyses)), tables)
