"""The N-back analysis framework: recordings, the decoding protocol, declarations, the driver.

An analysis is declared once, as an :class:`Analysis` in a module of its own under
:mod:`wmgeom.studies.nback.analyses` (what it needs, computes, draws and claims). This module
holds what every declaration shares:

* :class:`Recording` — an Activations Dataset (docs/design.md) with the architecture and
  regime that produced it and, for the causal test and the fixed points, the trained
  network's rollout and step callables;
* :class:`AnalysisProtocol` — how decoders are fitted and scored (Lei et al. 2024, appendix);
* :class:`Context` — intermediates computed once per call and shared by analyses (each
  recording's decoder bank, one Procrustes fit);
* :func:`run_analyses` — every declared analysis on every recording, as tidy tables with
  ``model``/``architecture``/``regime``/``run`` columns.

Nothing is read from or written to disk, no model is loaded and no figure is drawn here:
the driver does the I/O and the report draws the declared figures from these tables. An
analysis a recording cannot support is listed in the ``skipped`` table with its reason;
nothing is filled in. The ``timing`` table records how long each analysis took.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wmgeom.analysis.bank import DecoderBank, decoder_bank
from wmgeom.analysis.data import label_features
from wmgeom.errors import WmgeomError
from wmgeom.models.cores import architecture_label
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.tasks.registry import family_name

log = logging.getLogger(__name__)

MULTI_FEATURE = ("STMF", "MTMF")
"""The training regimes whose models learn several features."""

__all__ = ["MULTI_FEATURE", "Analysis", "AnalysisProtocol", "Context", "Figure", "Recording", "SkipAnalysis",
           "analysis_dataset", "bank_of", "decoding_keywords", "feature_names", "label_sizes",
           "model_label", "sizes_to_label", "merge_tables", "multi_task_focus",
           "per_model", "percent", "relevant_in_window", "resolve_protocol",
           "analyze_recordings", "task_names"]


# --------------------------------------------------------------------------- recordings


Rollout = Callable[[Any, Any], Any]
"""``rollout(state0, encodings) -> action probabilities``: the recurrent layer and readout run
on from a given state (e.g. :meth:`~wmgeom.models.SensoryCognitiveModel.rollout`)."""

Step = Callable[[Any, Any], Any]
"""``step(state, encoding) -> state``: one step of the recurrent layer as a pure function of
its state (``(h, c)`` concatenated for an LSTM), on CPU tensors, transformable by
:mod:`torch.func` (e.g. :meth:`~wmgeom.models.SensoryCognitiveModel.step`)."""


def model_label(architecture: str, regime: str = "", size: int | None = None) -> str:
    """``"GRU MTMF"``, or ``"GRU-64 MTMF"`` when the size must tell models apart."""
    name = architecture_label(architecture) + (f"-{int(size)}" if size is not None else "")
    return f"{name} {str(regime).upper()}".strip()


def sizes_to_label(keys: Iterable[tuple[str, str, str, int]]) -> dict[str, int]:
    """``{name: size}`` for the runs (``(name, architecture, regime, size)``) whose
    architecture and regime come in several sizes: they are different models, and their
    labels must say so (else a size series would count as seeds of one model)."""
    keys = list(keys)
    sizes: dict[tuple[str, str], set[int]] = {}
    for _, arch, regime, size in keys:
        sizes.setdefault((str(arch), str(regime).upper()), set()).add(int(size))
    return {name: int(size) for name, arch, regime, size in keys
            if len(sizes[(str(arch), str(regime).upper())]) > 1}


def label_sizes(recordings: Sequence[Recording]) -> list[Recording]:
    """The recordings, each (and its null) carrying its hidden size where its architecture
    and regime come in several sizes (:func:`sizes_to_label`)."""
    sized = sizes_to_label((r.name, r.architecture, r.regime, r.activations.sizes.get("unit", 0))
                           for r in recordings)
    return [r.with_size(sized[r.name]) if r.name in sized else r for r in recordings]


@dataclass(frozen=True)
class Recording:
    """One model's recorded activations and what produced them.

    Attributes:
        activations: The Activations Dataset (docs/design.md).
        name: A unique name of the recording (e.g. its run directory).
        architecture: The registered core (``rnn``, ``gru``, ``lstm``, ``transformer``, ...).
        regime: Training regime (``STSF``, ``STMF``, ``MTMF``), empty if unknown.
        rollout: Runs the network on from perturbed states (the causal test); None
            when no trained model is available.
        null: The same network untrained, recorded on the same trials: the null control
            of the analyses that declare ``untrained_null`` (None when not recorded).
        seed: The training seed (a replicate of its model; None if unknown): every table
            row of the recording carries it, and findings count the seeds that pass.
        size: The hidden size, named in the model's label (``"GRU-64 MTMF"``) when models
            that differ only in size are analysed together (:func:`label_sizes`); None
            otherwise.
    """

    activations: xr.Dataset
    name: str
    architecture: str = "model"
    regime: str = ""
    rollout: Rollout | None = field(default=None, repr=False, compare=False)
    null: Recording | None = field(default=None, repr=False, compare=False)
    step: Step | None = field(default=None, repr=False, compare=False)
    seed: int | None = None
    size: int | None = None

    @property
    def model(self) -> str:
        """A short label such as ``"GRU MTMF"`` (``"GRU-64 MTMF"`` with a size) used to
        facet figures and to count a model's seeds."""
        return model_label(self.architecture, self.regime, self.size)

    def with_size(self, size: int) -> Recording:
        """The recording, and its null, labelled with the hidden size ``size``."""
        return replace(self, size=size,
                       null=None if self.null is None else replace(self.null, size=size))

    @cached_property
    def task_family(self) -> str:
        """The registered task family of the recorded tasks (``""`` when none is): every
        table row of the recording carries it, so that a finding scoped to N-back tasks can
        leave out models of other families even in tables without a ``task`` column (read
        once per recording, not once per table)."""
        tasks = self.activations["task"].values if "task" in self.activations else ()
        return family_name(np.unique(np.asarray(tasks).astype(str)))

    @property
    def has_cell_state(self) -> bool:
        """Whether the network's state is ``(h, c)`` (from the architecture registry)."""
        info = ARCHITECTURES.get(self.architecture)
        return info.has_cell_state if info is not None else "cell" in self.activations

    def require_recurrent_state(self) -> None:
        """Refuse an analysis that perturbs or steps the recorded state when the network's
        core carries no such state (its registered ``no_recurrent_state``); recordings of an
        unregistered architecture are let through.

        Raises:
            SkipAnalysis: Saying which core and why.
        """
        info = ARCHITECTURES.get(self.architecture)
        if info is not None and not info.recurrent:
            raise SkipAnalysis(f"not defined for the {info.label} core: "
                               f"{info.no_recurrent_state}")


# --------------------------------------------------------------------------- protocol


@dataclass(frozen=True)
class AnalysisProtocol:
    """How decoders are fitted and scored (Lei et al. 2024, appendix).

    Attributes:
        n_splits: Cross-validation folds (the paper's 10).
        Cs: Regularisation grid searched in the inner loop (the paper's {0.001, 0.01, 1, 10}).
        n_bootstraps: Bootstrap samples of the orthogonalisation index (the paper's 10).
        inner_splits: Folds of the inner grid search over ``Cs`` (scikit-learn's default 5;
            the paper does not say).
        standardize: Standardise each unit inside each training fold before fitting (not
            the paper's: it fits ``SVC`` on raw activations; every normal is returned in the
            model's own coordinates either way).
        space: Activations used for the RNN latent space (``hidden``; ``cell`` also
            analysed for LSTMs when recorded).
        splits: Stimulus splits whose trials are analysed together (the paper does not say;
            default the training images and the novel view angles of the same objects,
            fresh trials in both; a split that is not recorded is left out).
        equalized_components: Dimensionality both spaces are reduced to by PCA in the
            equalised orthogonalisation test (Fig. A3); None: half the smaller space's.
        device: Where decoders are solved (``auto``: a GPU when there is one, else ``cpu``).
        distances: Distances of the causal test, in units of the mean distance of the
            perturbed states from the decoder's hyperplane (1 reaches it on average).
        seed: Seed for folds, bootstraps and the causal test's random directions.
    """

    n_splits: int = 10
    Cs: tuple[float, ...] = (0.001, 0.01, 1.0, 10.0)
    n_bootstraps: int = 10
    inner_splits: int = 5
    standardize: bool = False
    space: str = "hidden"
    splits: tuple[str, ...] = ("train", "val_angle")
    equalized_components: int | None = None
    device: str = "auto"
    distances: tuple[float, ...] = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "Cs", tuple(float(c) for c in self.Cs))
        object.__setattr__(self, "distances", tuple(float(d) for d in self.distances))
        splits = (self.splits,) if isinstance(self.splits, str) else tuple(self.splits)
        object.__setattr__(self, "splits", splits)
        if self.n_splits < 2:
            raise WmgeomError(f"n_splits={self.n_splits} is too small; use at least 2 folds")
        if not self.Cs or any(c <= 0 for c in self.Cs):
            raise WmgeomError(f"Cs={self.Cs} must be a non-empty list of positive numbers")
        if self.inner_splits < 2:
            raise WmgeomError(f"inner_splits={self.inner_splits} is too small; use at least 2")
        if self.n_bootstraps < 1:
            raise WmgeomError(f"n_bootstraps={self.n_bootstraps} must be at least 1")
        if not self.splits:
            raise WmgeomError("splits must name at least one stimulus split")
        if self.equalized_components is not None and self.equalized_components < 1:
            raise WmgeomError(f"equalized_components={self.equalized_components} must be at "
                              "least 1")

    @classmethod
    def for_profile(cls, profile: str | None) -> AnalysisProtocol:
        """The paper's protocol for ``paper`` runs; a lighter one for ``quick`` runs.

        The quick protocol (5 folds, ``C`` fixed at 0.1 instead of the inner search over
        the paper's grid) keeps a 2-core CPU run within minutes; every other setting is the
        paper's. docs/results.md compares its findings with the paper's protocol and with a
        5-fold search over {0.01, 1} on the same recordings.
        """
        if profile == "quick":
            return cls(n_splits=5, Cs=(0.1,))
        return cls()


class SkipAnalysis(Exception):
    """Raised by an analysis step when a recording cannot support it (with the reason)."""


# --------------------------------------------------------------------------- data


def analysis_dataset(rec: Recording, protocol: AnalysisProtocol) -> xr.Dataset:
    """The trials of the protocol's splits (all trials when the recording has no splits).

    Raises:
        SkipAnalysis: If no protocol split is recorded, or a task holds too few trials for
            the folds.
    """
    ds = rec.activations
    if "split" in ds:
        recorded = ds["split"].values.astype(str)
        keep = [s for s in protocol.splits if s in set(recorded)]
        if not keep:
            raise SkipAnalysis(f"none of the splits {list(protocol.splits)} is recorded "
                               f"(recorded: {sorted(set(recorded))})")
        ds = ds.isel(trial=np.flatnonzero(np.isin(recorded, keep)))
    if "task" in ds:
        counts = np.unique(ds["task"].values, return_counts=True)[1]
        if counts.min() < 2 * protocol.n_splits:
            raise SkipAnalysis(f"a task has only {counts.min()} trials in the analysed splits; "
                               f"{protocol.n_splits}-fold decoding needs "
                               f"{2 * protocol.n_splits}")
    return ds


def decoding_keywords(protocol: AnalysisProtocol) -> dict[str, Any]:
    """Keywords of :func:`~wmgeom.analysis.decoders.cross_validated_decoding`."""
    return {"cv": protocol.n_splits, "Cs": protocol.Cs, "inner_cv": protocol.inner_splits,
            "seed": protocol.seed, "device": protocol.device,
            "standardize": protocol.standardize}


def feature_names(ds: xr.Dataset, min_values: int = 2, frames: Iterable[int] | None = None,
              ) -> list[str]:
    """Label features with at least ``min_values`` values in every task at every frame used.

    Raises:
        SkipAnalysis: If no feature qualifies.
    """
    frames = list(range(ds.sizes["frame"])) if frames is None else list(frames)
    tasks = ds["task"].values.astype(str) if "task" in ds else np.zeros(ds.sizes["trial"])
    out = []
    for f in label_features(ds):
        values = ds[f].values[:, frames]
        if all(len(np.unique(values[tasks == t, k])) >= min_values
               for t in np.unique(tasks) for k in range(len(frames))):
            out.append(f)
    if not out:
        raise SkipAnalysis(f"no feature takes {min_values} or more values in every task at the "
                           "frames analysed; record more trials")
    return out


def task_names(ds: xr.Dataset) -> list[str]:
    return list(dict.fromkeys(ds["task"].values.astype(str).tolist())) if "task" in ds else []


def bank_of(rec: Recording, ctx: Context, space: str | None = None,
            steps: str = "all") -> DecoderBank:
    """The recording's decoder bank in ``space``, fitted once per :func:`run_analyses` call.

    Every decoder of stimulus ``i`` at step ``j >= i`` of every task and feature
    (:func:`~wmgeom.analysis.bank.decoder_bank`); the cell-state bank of an LSTM holds the
    encoding steps only (its analyses read no more).
    """
    space = space or ctx.protocol.space

    def make() -> DecoderBank:
        ds = analysis_dataset(rec, ctx.protocol)
        return decoder_bank(ds, space=space, features=feature_names(ds), steps=steps,
                            **decoding_keywords(ctx.protocol))

    return ctx.once(rec, f"bank:{space}:{steps}", make)


@dataclass
class Context:
    """What the analyses of one :func:`run_analyses` call share.

    Attributes:
        protocol: The decoding protocol.
        store: Intermediates computed once per recording and reused by several analyses
            (e.g. one Procrustes fit serves the Fig. 4f and 4g tables).
    """

    protocol: AnalysisProtocol
    store: dict[tuple, Any] = field(default_factory=dict)
    fits: list[dict[str, Any]] = field(default_factory=list)

    def once(self, rec: Recording, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``key`` is asked for ``rec``, the stored value after.

        The time each ``make()`` takes is logged in :attr:`fits` (the ``timing`` table shows
        it as its own row, and not in the analysis that first asked for it).
        """
        k = (rec.name, key)
        if k not in self.store:
            start = time.perf_counter()
            self.store[k] = make()
            self.fits.append({"key": key, "recording": rec, "seconds":
                              time.perf_counter() - start})
        return self.store[k]

    @property
    def fit_seconds(self) -> float:
        """Seconds spent in :meth:`once`'s ``make()`` calls so far."""
        return sum(f["seconds"] for f in self.fits)


# --------------------------------------------------------------------------- declarations


Tables = Mapping[str, pd.DataFrame]
"""Analysis tables by name (``analysis/<name>.csv``)."""


def _always(tables: Tables) -> bool:
    return True


@dataclass(frozen=True)
class Figure:
    """One figure of the report, drawn from an analysis's tables.

    Attributes:
        name: File stem under ``figures/`` (``.png`` and ``.svg``).
        title: Section title, with the paper's figure (``"Cross-time decoding (Fig. 4b)"``).
        draw: ``draw(tables, path_stem) -> matplotlib Figure``.
        reading: ``reading(tables) -> str``: what this run's numbers say, in one sentence.
        paper: What the paper's figure shows, quoted once (the report prints it beside the
            reading).
        source: The paper ``paper`` quotes (an analysis beyond Lei et al. 2024 quotes the
            paper it follows).
        tables: Tables the figure reads; all must be present and non-empty (default: the
            analysis's own table).
        applies: ``applies(tables) -> bool``: whether the figure exists for these tables.
    """

    name: str
    title: str
    draw: Callable[[Tables, Path], Any]
    reading: Callable[[Tables], str]
    paper: str
    tables: tuple[str, ...] = ()
    applies: Callable[[Tables], bool] = _always
    source: str = "Lei et al. 2024"

    def available(self, tables: Tables) -> bool:
        """Whether every table it reads is there and non-empty, and it applies."""
        return all(n in tables and not tables[n].empty for n in self.tables) and \
            self.applies(tables)


@dataclass(frozen=True)
class Analysis:
    """One N-back analysis, declared once: what it needs, computes, draws and claims.

    The driver (:func:`run_analyses`) runs ``compute`` on every recording; the report draws
    ``figures`` and prints their readings; the findings table judges ``findings`` by their
    rules (:mod:`wmgeom.studies.findings`). Adding an analysis is one module that
    declares one of these and one line in :mod:`wmgeom.studies.nback.analyses`.

    Attributes:
        name: Table name (``analysis/<name>.csv``).
        reference: The paper and figure it reproduces (``"Lei et al. 2024, Fig. 4b"``).
        description: What is computed, in one sentence (the report's methods).
        requires: What a recording must hold (``"two or more tasks"``, ``"the trained
            model"``); a recording without it is skipped with the reason.
        compute: ``compute(recording, context) -> DataFrame``; raises :class:`SkipAnalysis`
            with the reason when the recording cannot support it. None for a table the study
            provides (the training summaries).
        figures: The figures drawn from its tables.
        findings: The paper's claims its tables test, each with its rule.
        null: The control the measurement is compared with (the same computation on data
            that lacks the property), in words; empty where the analysis has none.
        untrained_null: Compute the analysis on the recording's untrained network too
            (:attr:`Recording.null`), into the table ``<name>_null`` (same columns, with
            the trained recording's ``run``, so findings pair each model with its null).
        stats: ``stats(table) -> DataFrame`` stored as ``<name>_stats`` (e.g. a test over
            the runs of each model); recomputed when tables of several calls are merged.
    """

    name: str
    reference: str
    description: str
    requires: str = ""
    compute: Callable[[Recording, Context], pd.DataFrame] | None = None
    figures: tuple[Figure, ...] = ()
    findings: tuple[Any, ...] = ()
    null: str = ""
    untrained_null: bool = False
    stats: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        figures = tuple(replace(f, tables=f.tables or (self.name,)) for f in self.figures)
        object.__setattr__(self, "figures", figures)

# --------------------------------------------------------------------------- driver


def resolve_protocol(protocol: AnalysisProtocol | dict | None, profile: str | None = None
                     ) -> AnalysisProtocol:
    """An :class:`AnalysisProtocol` from a protocol, its fields as a dict, or a profile name.

    Raises:
        WmgeomError: If the dict names unknown fields or holds invalid values.
    """
    if isinstance(protocol, AnalysisProtocol):
        return protocol
    if isinstance(protocol, dict):
        protocol = dict(protocol)
        if "equalised_components" in protocol:  # the earlier spelling
            protocol.setdefault("equalized_components", protocol.pop("equalised_components"))
        try:
            return AnalysisProtocol(**protocol)
        except TypeError as exc:
            raise WmgeomError(f"invalid analysis protocol ({exc}); fields are "
                              f"{list(AnalysisProtocol.__dataclass_fields__)}") from None
    return AnalysisProtocol.for_profile(profile)


TIMING_COLUMNS = ["analysis", "reference", "model", "run", "status", "rows", "seconds"]
SKIPPED_COLUMNS = ["analysis", "reference", "run", "model", "reason"]


def analyze_recordings(
    recordings: Sequence[Recording],
    declared: Sequence[Analysis],
    protocol: AnalysisProtocol | dict | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every declared analysis on every recording (pure: no disk, no figures).

    :func:`wmgeom.studies.nback.analyses.run_analyses` calls this with the registered
    declarations selected by name.

    Args:
        recordings: One or more recordings; several (e.g. the 3 architectures × 3 regimes
            grid) are concatenated in every table with ``model``, ``architecture``,
            ``regime`` and ``run`` columns.
        declared: The analyses to run, in order; those without ``compute`` (tables the
            study provides) are passed over.
        protocol: Decoding protocol, its fields as a dict, or None for the quick profile's.
        on_step: Called with ``"<analysis> · <model>"`` before each step (progress).

    Returns:
        Tables by name: one per analysis that ran, ``<name>_stats`` for analyses that
        declare statistics, plus ``timing`` (seconds per analysis and recording) and
        ``skipped`` (analysis, recording, reason).

    Raises:
        WmgeomError: If no recording is given.
    """
    if not recordings:
        raise WmgeomError("no recording given; pass at least one")
    protocol = resolve_protocol(protocol, "quick")
    ctx = Context(protocol)
    tables: dict[str, list[pd.DataFrame]] = {}
    timing, skipped = [], []
    for analysis in declared:
        if analysis.compute is None:
            continue
        for rec in recordings:
            runs = [(analysis.name, rec, rec)]
            if analysis.untrained_null and rec.null is not None:
                runs.append((f"{analysis.name}_null", rec.null, rec))
            for table, source, owner in runs:
                if on_step is not None:
                    on_step(f"{table} · {owner.model}")
                start, fitted = time.perf_counter(), ctx.fit_seconds
                status = "ok"
                try:
                    df = analysis.compute(source, ctx)
                except (SkipAnalysis, WmgeomError) as why:
                    status = "skipped"
                    skipped.append({"analysis": table, "reference": analysis.reference,
                                    "run": owner.name, "model": owner.model,
                                    "reason": str(why)})
                    log.info("skipped %s for %s: %s", table, owner.name, why)
                    df = None
                seconds = time.perf_counter() - start - (ctx.fit_seconds - fitted)
                if df is not None:
                    df = df.assign(model=owner.model, architecture=owner.architecture,
                                   regime=owner.regime, run=owner.name,
                                   task_family=owner.task_family,
                                   **({} if owner.seed is None else {"seed": owner.seed}))
                    tables.setdefault(table, []).append(df)
                timing.append({"analysis": table, "reference": analysis.reference,
                               "model": owner.model, "run": owner.name, "status": status,
                               "rows": 0 if df is None else len(df), "seconds": seconds})
    result = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    add_stats(result, declared)
    for fit in ctx.fits:  # shared intermediates, e.g. each decoder bank, fitted once
        rec = fit["recording"]
        timing.append({"analysis": f"fit {fit['key']}", "reference": "decoders",
                       "model": rec.model, "run": rec.name, "status": "ok", "rows": 0,
                       "seconds": fit["seconds"]})
    result["timing"] = pd.DataFrame(timing, columns=TIMING_COLUMNS)
    result["skipped"] = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)
    return result


def add_stats(result: dict[str, pd.DataFrame], declared: Sequence[Analysis]) -> None:
    """Add ``<name>_stats`` (and ``<name>_null_stats``) for every declared analysis with
    statistics whose table is in ``result``."""
    for analysis in declared:
        if analysis.stats is None:
            continue
        for name in (analysis.name, f"{analysis.name}_null"):
            if name in result:
                result[f"{name}_stats"] = analysis.stats(result[name])


def merge_tables(parts: Sequence[Mapping[str, pd.DataFrame]], declared: Sequence[Analysis]
                 ) -> dict[str, pd.DataFrame]:
    """The tables of several :func:`analyze_recordings` calls (e.g. one per recording, run
    in parallel) as one call over all their recordings would return them, in this order."""
    names = list(dict.fromkeys(n for p in parts for n in p if not n.endswith("_stats")))
    result = {n: pd.concat([p[n] for p in parts if n in p], ignore_index=True) for n in names}
    add_stats(result, declared)
    return result


# --------------------------------------------------------------------------- helpers of declarations


def percent(x: float) -> str:
    """``"91.2%"`` (``"n/a"`` for a missing value)."""
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def per_model(table: pd.DataFrame, fn: Callable[[pd.DataFrame], str]) -> str:
    """``fn`` of the table, or ``"<model>: fn(rows); ..."`` when it holds several models."""
    if "model" not in table or table["model"].nunique() <= 1:
        return fn(table)
    return "; ".join(f"{m}: {fn(g)}" for m, g in table.groupby("model", sort=False))


def multi_task_focus(t: pd.DataFrame, limit: int = 3) -> pd.DataFrame:
    """With more than ``limit`` models, the MTMF models only: the paper compares
    architectures on models trained on every task (Lei et al. 2024, Figs. 2a, 4b, 4g, A4, A5,
    A7)."""
    if "model" not in t or "regime" not in t or t["model"].nunique() <= limit:
        return t
    mtmf = t[t["regime"].astype(str).str.upper() == "MTMF"]
    return mtmf if not mtmf.empty else t


def relevant_in_window(t: pd.DataFrame) -> pd.DataFrame:
    """Rows of the task's relevant feature whose target step lies in its memory window."""
    keep = t["relevant"].astype(bool) if "relevant" in t else pd.Series(True, index=t.index)
    if "in_window" in t:
        keep = keep & t["in_window"].astype(bool)
    return t[keep]
