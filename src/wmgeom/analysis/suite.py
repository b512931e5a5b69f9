"""The seed-000 analysis suite: every analysis a set of recordings allows (SPEC A2–A8).

:func:`run_analyses` takes :class:`Recording` objects — an Activations Dataset (the schema
of docs/design.md) with the architecture and regime that produced it and, for the causal
test, a rollout callable handed in by the caller — runs each registered analysis on each
recording, and returns tidy tables with ``model``/``architecture``/``regime``/``run``
columns (so figures compare regimes and architectures when several recordings are given).
Nothing is read from or written to disk, no model is loaded and no figure is drawn here:
the studies do the I/O and :mod:`wmgeom.report` draws the figures from these tables.

An analysis a recording cannot support (one task only, no cell state, no perceptual
features, no rollout for the causal test) is listed in the ``skipped`` table with its
reason; nothing is filled in. The ``timing`` table records how long each analysis took.

A new analysis is one function in :mod:`wmgeom.analysis`, one :func:`register` entry here
and one figure spec in :mod:`wmgeom.report.nback`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wmgeom.analysis.bank import DecoderBank, decoder_bank
from wmgeom.analysis.generalization import (
    cross_task_generalization,
    cross_time_decoding,
    encoding_space_sharing,
    relevant_irrelevant_decoding,
    within_time_decoding,
)
from wmgeom.analysis.orthogonality import orthogonalization_comparison
from wmgeom.analysis.procrustes import reconstructed_decoder_accuracy
from wmgeom.errors import WmgeomError
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.tasks.vocabulary import FEATURES, MATCH

log = logging.getLogger(__name__)

__all__ = ["ANALYSES", "Analysis", "AnalysisProtocol", "Context", "Recording", "SkipAnalysis",
           "merge_tables", "orthogonalization_stats", "register", "run_analyses"]


# --------------------------------------------------------------------------- recordings


Rollout = Callable[[Any, Any], Any]
"""``rollout(state0, encodings) -> action probabilities``: the recurrent layer and readout run
on from a given state (e.g. :meth:`~wmgeom.models.SensoryCognitiveModel.rollout`)."""


@dataclass(frozen=True)
class Recording:
    """One model's recorded activations and what produced them.

    Attributes:
        activations: The Activations Dataset (docs/design.md).
        name: A unique name of the recording (e.g. its run directory).
        architecture: Recurrent architecture (``rnn``, ``gru``, ``lstm``, ...).
        regime: Training regime (``STSF``, ``STMF``, ``MTMF``), empty if unknown.
        rollout: Runs the network on from perturbed states (the causal test, A8); None
            when no trained model is available.
    """

    activations: xr.Dataset
    name: str
    architecture: str = "model"
    regime: str = ""
    rollout: Rollout | None = field(default=None, repr=False, compare=False)

    @property
    def model(self) -> str:
        """A short label such as ``"GRU MTMF"`` used to facet figures."""
        return f"{self.architecture.upper()} {self.regime.upper()}".strip()

    @property
    def has_cell_state(self) -> bool:
        """Whether the network's state is ``(h, c)`` (from the architecture registry)."""
        info = ARCHITECTURES.get(self.architecture)
        return info.has_cell_state if info is not None else "cell" in self.activations


# --------------------------------------------------------------------------- protocol


@dataclass(frozen=True)
class AnalysisProtocol:
    """How decoders are fitted and scored (seed 000 appendix; SPEC A1).

    Attributes:
        n_splits: Cross-validation folds (the seed's 10).
        Cs: Regularisation grid searched in the inner loop (the seed's {0.001, 0.01, 1, 10}).
        n_bootstraps: Bootstrap samples of the orthogonalisation index (the seed's 10).
        inner_splits: Folds of the inner grid search over ``Cs`` (scikit-learn's default 5;
            the seed does not say).
        standardize: Standardise each unit inside each training fold before fitting (not
            the seed's: it fits ``SVC`` on raw activations; every normal is returned in the
            model's own coordinates either way).
        space: Activations used for the RNN latent space (``hidden``; ``cell`` also
            analysed for LSTMs when recorded).
        splits: Stimulus splits whose trials are analysed together (the seed does not say;
            default the training images and the novel view angles of the same objects,
            fresh trials in both; a split that is not recorded is left out).
        equalised_components: Dimensionality both spaces are reduced to by PCA in the
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
    equalised_components: int | None = None
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
        if self.equalised_components is not None and self.equalised_components < 1:
            raise WmgeomError(f"equalised_components={self.equalised_components} must be at "
                              "least 1")

    @classmethod
    def for_profile(cls, profile: str | None) -> AnalysisProtocol:
        """The seed's protocol for ``paper`` runs; a lighter one for ``quick`` runs.

        The quick protocol (5 folds, ``C`` fixed at 0.1 instead of the inner search over
        the seed's grid) keeps a 2-core CPU run within minutes; every other setting is the
        seed's. docs/results.md compares its findings with the seed's protocol and with a
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


def _decode_kw(protocol: AnalysisProtocol) -> dict[str, Any]:
    """Keywords of :func:`~wmgeom.analysis.decoders.cross_validated_decoding` (SPEC A1)."""
    return {"cv": protocol.n_splits, "Cs": protocol.Cs, "inner_cv": protocol.inner_splits,
            "seed": protocol.seed, "device": protocol.device,
            "standardize": protocol.standardize}


def _features(ds: xr.Dataset, min_values: int = 2, frames: Iterable[int] | None = None,
              ) -> list[str]:
    """Label features with at least ``min_values`` values in every task at every frame used.

    Raises:
        SkipAnalysis: If no feature qualifies.
    """
    frames = list(range(ds.sizes["frame"])) if frames is None else list(frames)
    tasks = ds["task"].values.astype(str) if "task" in ds else np.zeros(ds.sizes["trial"])
    out = []
    for f in FEATURES:
        if f not in ds:
            continue
        values = ds[f].values[:, frames]
        if all(len(np.unique(values[tasks == t, k])) >= min_values
               for t in np.unique(tasks) for k in range(len(frames))):
            out.append(f)
    if not out:
        raise SkipAnalysis(f"no feature takes {min_values} or more values in every task at the "
                           "frames analysed; record more trials")
    return out


def _tasks(ds: xr.Dataset) -> list[str]:
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
        return decoder_bank(ds, space=space, features=_features(ds), steps=steps,
                            **_decode_kw(ctx.protocol))

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


@dataclass(frozen=True)
class Analysis:
    """One analysis of the suite: a table name, what it reproduces, how to compute it.

    Attributes:
        name: Table name (``analysis/<name>.csv``).
        requirement: The SPEC requirement it implements (A2–A8).
        figure: The seed-000 figure(s) it reproduces.
        compute: ``compute(recording, context) -> DataFrame``; raises
            :class:`SkipAnalysis` with the reason when the recording cannot support it.
        description: One sentence for the report.
    """

    name: str
    requirement: str
    figure: str
    compute: Callable[[Recording, Context], pd.DataFrame]
    description: str = ""


ANALYSES: list[Analysis] = []
"""The registry, in running order."""


def register(name: str, requirement: str, figure: str, description: str):
    """Decorator adding ``compute(recording, context)`` to :data:`ANALYSES` as ``name``.

    Raises:
        WmgeomError: If the name is taken.
    """
    if any(a.name == name for a in ANALYSES):
        raise WmgeomError(f"an analysis named {name!r} is already registered")

    def wrap(fn):
        ANALYSES.append(Analysis(name, requirement, figure, fn, description))
        return fn

    return wrap


@register("relevant_irrelevant", "A2", "2b",
          "decode location, identity and category from the RNN state at the first frame, "
          "per task; relevant = the task's own feature")
def relevant_irrelevant(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Task-relevant vs -irrelevant decoding at the first frame (seed 000 Fig. 2b, A2a).

    Returns:
        :func:`~wmgeom.analysis.generalization.relevant_irrelevant_decoding` at frame 0.
    """
    ds = analysis_dataset(rec, ctx.protocol)
    return relevant_irrelevant_decoding(ds, frames=(0,), space=ctx.protocol.space,
                                        features=_features(ds), bank=bank_of(rec, ctx))


@register("cross_task", "A3", "2a, 2c, A2b",
          "decoders fitted on one task's first-frame states (each CV fold), tested on "
          "every other task's; diagonal = cross-validated accuracy; LSTM cell state too")
def cross_task(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Cross-task generalisation matrices per feature (seed 000 Fig. 2a, 2c; LSTM cell A2b).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_task_generalization` for the hidden
        state and, when recorded, the LSTM cell state (column ``space``).
    """
    ds = analysis_dataset(rec, ctx.protocol)
    tasks = _tasks(ds)
    if len(tasks) < 2:
        raise SkipAnalysis(f"only one task recorded ({tasks[0] if tasks else 'none'}); "
                           "cross-task generalisation needs at least two")
    space = ctx.protocol.space
    spaces = [space] + (["cell"] if "cell" in ds and space != "cell" else [])
    features = _features(ds)
    return pd.concat([cross_task_generalization(
        ds, frame=0, space=sp, features=features,
        bank=bank_of(rec, ctx, sp, "all" if sp == space else "encoding"))
        for sp in spaces], ignore_index=True)


@register("within_time", "A5", "A5",
          "every stimulus i decoded at every later step j >= i, decoders fitted and "
          "cross-validated at step j, per task; relevant vs irrelevant features")
def within_time(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Within-step decoding, stimulus × step, of relevant and irrelevant features (Fig. A5).

    Returns:
        :func:`~wmgeom.analysis.generalization.within_time_decoding`.
    """
    ds = analysis_dataset(rec, ctx.protocol)
    return within_time_decoding(ds, space=ctx.protocol.space, features=_features(ds),
                                bank=bank_of(rec, ctx))


@register("cross_time", "A5", "4b, 4c",
          "decoders fitted on the encoding space E(S=i,T=i), tested on held-out trials at "
          "every later step T=k (memory spaces M(S=i,T=k)); recall = the executive step "
          "k=i+N where stimulus i is compared")
def cross_time(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Cross-time generalisation of encoding decoders (seed 000 Fig. 4b, 4c; H1 test).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_time_decoding`.
    """
    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; memory steps need two or more")
    return cross_time_decoding(ds, space=ctx.protocol.space, features=_features(ds),
                               bank=bank_of(rec, ctx))


@register("encoding_sharing", "A6", "4d",
          "decoders fitted on E(S=i,T=i), tested on held-out trials' E(S=j,T=j) with the "
          "labels of stimulus j; validation when j = i")
def encoding_sharing(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Is the encoding space shared across stimuli? (seed 000 Fig. 4d; H2 vs H3).

    Returns:
        :func:`~wmgeom.analysis.generalization.encoding_space_sharing`.
    """
    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; sharing needs two or more")
    return encoding_space_sharing(ds, space=ctx.protocol.space, features=_features(ds),
                                  bank=bank_of(rec, ctx))


def _orthogonalization(rec: Recording, ctx: Context, equalise: bool) -> pd.DataFrame:
    ds = analysis_dataset(rec, ctx.protocol)
    if "perceptual" not in ds:
        raise SkipAnalysis("the recording has no perceptual (CNN) features to compare with")
    labels = {f: ds[f].values[:, 0] for f in FEATURES
              if f in ds and len(np.unique(ds[f].values[:, 0])) >= 3}
    if not labels:
        raise SkipAnalysis("no feature has three or more values; the orthogonalisation "
                           "index needs at least three one-vs-rest decoders")
    protocol = ctx.protocol
    if protocol.n_bootstraps < 2:
        raise SkipAnalysis("the t-test needs at least 2 bootstraps (protocol.n_bootstraps)")
    P, E = ds["perceptual"].values[:, 0], ds[protocol.space].values[:, 0]
    k = None
    if equalise:
        smaller = min(P.shape[1], E.shape[1])
        k = protocol.equalised_components or max(1, smaller // 2)
        if k >= smaller:
            raise SkipAnalysis(f"equalised_components={k} is not below both spaces' "
                               f"dimensionality ({P.shape[1]} and {E.shape[1]})")
    table = orthogonalization_comparison(
        P, E, labels, n_bootstrap=protocol.n_bootstraps, n_components=k, Cs=protocol.Cs,
        inner_cv=protocol.inner_splits, seed=protocol.seed, device=protocol.device,
        standardize=protocol.standardize)
    return table.assign(value=table["normalized_index"])


def orthogonalization_stats(table: pd.DataFrame) -> pd.DataFrame:
    """Two-sample t-test of normalised indices pooled over features, per model (Fig. 3b).

    The per-feature tests are in the orthogonalisation table itself (``t_statistic``,
    ``p_value``); this pools the bootstraps of every feature of a model for the figure.

    Args:
        table: An orthogonalisation table with ``space``, ``value`` and optional ``model``.

    Returns:
        Rows ``model``, ``mean_perceptual``, ``mean_encoding``, ``t`` (perceptual minus
        encoding), ``p``, ``n``.
    """
    from scipy.stats import ttest_ind

    rows = []
    groups = table.groupby("model", sort=False) if "model" in table else [("", table)]
    for model, g in groups:
        a = g.loc[g["space"] == "perceptual", "value"].to_numpy()
        b = g.loc[g["space"] == "encoding", "value"].to_numpy()
        test = ttest_ind(a, b)
        rows.append({"model": model, "mean_perceptual": a.mean(), "mean_encoding": b.mean(),
                     "t": float(test.statistic), "p": float(test.pvalue), "n": len(a)})
    return pd.DataFrame(rows)


@register("orthogonalization", "A4", "3b",
          "one-vs-rest normals at the first frame in the perceptual (CNN) and encoding "
          "(RNN) spaces, bootstrapped; O normalised by the perceptual mean per feature")
def orthogonalization(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Orthogonalisation index, perceptual vs encoding space (seed 000 Fig. 3b, SPEC A4).

    Returns:
        :func:`~wmgeom.analysis.orthogonality.orthogonalization_comparison` plus ``value``
        (the normalised index, as the figure reads it).
    """
    return _orthogonalization(rec, ctx, equalise=False)


@register("orthogonalization_pca", "A4", "A3",
          "as orthogonalization, after PCA reduces both spaces to the same dimensionality, "
          "below both (half the smaller space's unless the protocol says otherwise)")
def orthogonalization_pca(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)."""
    return _orthogonalization(rec, ctx, equalise=True)


def _procrustes_table(rec: Recording, ctx: Context) -> pd.DataFrame:
    """One Procrustes run per recording, shared by the 4f and 4g tables."""
    def make():
        ds = analysis_dataset(rec, ctx.protocol)
        if ds.sizes["frame"] < 3:
            raise SkipAnalysis("fewer than three steps recorded; swap tests need j, j+1, j+2")
        features = _features(ds, min_values=3)  # a Procrustes shape needs 3+ decoders
        return reconstructed_decoder_accuracy(ds, space=ctx.protocol.space, features=features,
                                              bank=bank_of(rec, ctx))

    return ctx.once(rec, "procrustes", make)


@register("procrustes", "A7", "4f",
          "decoders of stimulus i at step j+1 reconstructed from those at step j by an "
          "orthogonal Procrustes rotation and a global scale (biases of the fitted "
          "decoders), scored on held-out trials; summaries use the task's relevant feature "
          "inside the memory window i < j+1 <= i+N")
def procrustes(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Fitted vs Procrustes-reconstructed decoder accuracy (seed 000 Fig. 4f, A4).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``relevant``, ``stimulus`` (i), ``frame`` (the
        reconstructed step j+1), ``in_window``, ``accuracy_fitted``,
        ``accuracy_reconstructed`` (rotation ``R(i,j)``; multi-class), the same as
        ``decoder_accuracy_*`` (mean one-vs-rest), ``chance``; from
        :func:`~wmgeom.analysis.procrustes.reconstructed_decoder_accuracy`.
    """
    t = _procrustes_table(rec, ctx)
    keys = ["task", "n", "feature", "relevant", "stimulus", "target_frame", "in_window",
            "chance"]
    wide = t[t["rotation"].isin(["fitted", "original"])].pivot_table(
        index=keys, columns="rotation", values=["accuracy", "decoder_accuracy"])
    wide.columns = [f"{metric}_{'fitted' if rot == 'fitted' else 'reconstructed'}"
                    for metric, rot in wide.columns]
    return wide.reset_index().rename(columns={"target_frame": "frame"})


SWAP_LABELS = {"original": "R(i,j)", "time_swap": "R(i,j+1)", "stimulus_swap": "R(i+k,j+k)"}


@register("swap_tests", "A7", "4g",
          "W(i,j+1) reconstructed from W(i,j) with its own rotation R(i,j), with R(i,j+1) "
          "(same stimulus, next step) or with R(i+k,j+k) (other stimuli, same age)")
def swap_tests(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Swap tests of the Procrustes rotations (seed 000 eq. 2-3, Fig. 4g).

    Returns:
        The rows of :func:`~wmgeom.analysis.procrustes.reconstructed_decoder_accuracy`
        whose rotation is ``original``, ``time_swap`` or ``stimulus_swap``, restricted to
        steps where both swaps exist (so the bars compare the same decoders), with
        ``swap`` labelled as in the seed (``R(i,j)``, ``R(i,j+1)``, ``R(i+k,j+k)``).
    """
    t = _procrustes_table(rec, ctx)
    t = t[t["rotation"].isin(list(SWAP_LABELS))].copy()
    keys = ["task", "feature", "stimulus", "frame"]
    kinds = t.groupby(keys)["rotation"].transform("nunique")
    t = t[kinds == len(SWAP_LABELS)]
    if t.empty:
        raise SkipAnalysis("no step has both swap partners; record longer sequences")
    return t.assign(swap=t["rotation"].map(SWAP_LABELS))


@register("causal", "A8", "A7",
          "match trials: the state after the first stimulus is moved along the normal of "
          "the decoder of its own task-feature value (distance in units of the mean "
          "distance of those states to the hyperplane; positive = towards and across it), "
          "and, as a control, along a random direction by the same distances; the network "
          "runs on over the recorded encodings to the step that compares it")
def causal(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Causal perturbation along decoder normals (seed 000 Fig. A7, SPEC A8).

    Decoders of the task's feature at the first frame come from the decoder bank
    (cross-validated, in the model's own coordinates) and are averaged over folds. For
    each value ``v``, the match trials whose first stimulus has value ``v`` are moved by
    ``-distance * margin * u`` with :func:`~wmgeom.analysis.causal.causal_perturbation`,
    where ``u`` is the unit normal ``w_v / |w_v|`` (``direction = "decoder"``) or a random
    unit vector drawn with the protocol's seed (``direction = "random"``, the control),
    and ``margin`` is the mean distance of those states from the hyperplane
    (``distance = 1`` reaches it on average). The network runs on over frames ``1..N``
    and its action probabilities at step ``N`` are kept.

    Returns:
        Rows ``task``, ``feature``, ``direction``, ``distance``, ``action``,
        ``probability``, ``std``, ``n_trials``, ``margin``.
    """
    import torch

    from wmgeom.analysis.causal import causal_perturbation

    ds = analysis_dataset(rec, ctx.protocol)
    if "target" not in ds or "encoding" not in ds:
        raise SkipAnalysis("the recording lacks targets or the RNN input encodings")
    if rec.rollout is None:
        raise SkipAnalysis("no trained model was handed in to run on from perturbed states "
                           "(the run has no checkpoint, or its model could not be loaded)")
    lstm = rec.has_cell_state
    if lstm and "cell" not in ds:
        raise SkipAnalysis("the model has a cell state but the recording holds none")
    H = ds[ctx.protocol.space].values
    bank = bank_of(rec, ctx)
    rng = np.random.default_rng(ctx.protocol.seed)
    distances = ctx.protocol.distances
    n_d = len(distances)
    frames = []
    for task in _tasks(ds):
        idx = np.flatnonzero(ds["task"].values.astype(str) == task)
        n = int(ds["n"].values[idx[0]])
        feature = str(ds["feature"].values[idx[0]])
        if n >= ds.sizes["frame"] or task not in bank or feature not in bank[task].result.classes:
            continue
        res = bank[task].select([(0, 0)])
        ks = res.feature_slice(feature)
        coef, intercept = res.coef[0, :, ks].mean(0), res.intercept[0, :, ks].mean(0)
        classes = res.classes[feature]
        if coef.shape[0] == 1:  # one binary decoder for classes[1]; its mirror for classes[0]
            coef, intercept = np.concatenate([-coef, coef]), np.concatenate([-intercept,
                                                                             intercept])
        labels = ds[feature].values[idx, 0]
        match = ds["target"].values[idx, n] == MATCH
        for k, value in enumerate(classes):
            sel = idx[match & (labels == value)]
            if len(sel) < 2:
                continue
            w, b = coef[k], intercept[k]
            margin = float(np.mean((H[sel, 0] @ w + b) / np.linalg.norm(w)))
            enc = torch.as_tensor(ds["encoding"].values[sel, 1:n + 1], dtype=torch.float32)
            state = torch.as_tensor(H[sel, 0], dtype=torch.float32)
            if lstm:
                state = (state, torch.as_tensor(ds["cell"].values[sel, 0], dtype=torch.float32))
            control = rng.normal(size=w.shape)
            for direction, normal in (("decoder", w), ("random", control)):
                table = causal_perturbation(
                    state, normal, [-d * abs(margin) for d in distances],
                    lambda s, enc=enc: rec.rollout(s, enc.repeat(n_d, 1, 1)))
                table = table[table["step"] == n - 1].copy()
                table["distance"] = np.repeat(distances, len(table) // n_d)
                frames.append(table.drop(columns="step").assign(
                    task=task, feature=feature, direction=direction, value=value,
                    margin=margin))
    if not frames:
        raise SkipAnalysis("no task has match trials with a decodable first stimulus")
    out = pd.concat(frames, ignore_index=True)
    # average the values of a task, weighting each by its number of trials
    out["weighted"] = out["probability"] * out["n_trials"]
    keys = ["task", "feature", "direction", "distance", "action"]
    agg = out.groupby(keys, sort=False).agg(weighted=("weighted", "sum"),
                                            n_trials=("n_trials", "sum"),
                                            std=("std", "mean"), margin=("margin", "mean"))
    agg["probability"] = agg.pop("weighted") / agg["n_trials"]
    return agg.reset_index()


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
        try:
            return AnalysisProtocol(**protocol)
        except TypeError as exc:
            raise WmgeomError(f"invalid analysis protocol ({exc}); fields are "
                              f"{list(AnalysisProtocol.__dataclass_fields__)}") from None
    return AnalysisProtocol.for_profile(profile)


def select_analyses(names: Iterable[str] | None) -> list[Analysis]:
    """The registered analyses named (all, in registry order, for None).

    Raises:
        WmgeomError: For an unknown name.
    """
    if names is None:
        return list(ANALYSES)
    known = {a.name: a for a in ANALYSES}
    names = list(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise WmgeomError(f"unknown analyses {unknown}; choose from {sorted(known)}")
    return [known[n] for n in names]


TIMING_COLUMNS = ["analysis", "requirement", "model", "run", "status", "rows", "seconds"]
SKIPPED_COLUMNS = ["analysis", "requirement", "run", "model", "reason"]


def run_analyses(
    recordings: list[Recording],
    protocol: AnalysisProtocol | dict | None = None,
    analyses: Iterable[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every selected analysis on every recording (pure: no disk, no figures).

    Args:
        recordings: One or more recordings; several (e.g. the 3 architectures × 3 regimes
            grid) are concatenated in every table with ``model``, ``architecture``,
            ``regime`` and ``run`` columns.
        protocol: Decoding protocol, its fields as a dict, or None for the quick profile's.
        analyses: Names of analyses to run (default all; see :data:`ANALYSES`).
        on_step: Called with ``"<analysis> · <model>"`` before each step (progress).

    Returns:
        Tables by name: one per analysis that ran, ``<name>_stats`` for the
        orthogonalisation tables, plus ``timing`` (seconds per analysis and recording) and
        ``skipped`` (analysis, recording, reason).

    Raises:
        WmgeomError: If no recording is given, or an analysis name is unknown.
    """
    if not recordings:
        raise WmgeomError("no recording given; pass at least one")
    protocol = resolve_protocol(protocol, "quick")
    selected = select_analyses(analyses)
    ctx = Context(protocol)
    tables: dict[str, list[pd.DataFrame]] = {}
    timing, skipped = [], []
    for analysis in selected:
        for rec in recordings:
            if on_step is not None:
                on_step(f"{analysis.name} · {rec.model}")
            start, fitted = time.perf_counter(), ctx.fit_seconds
            status = "ok"
            try:
                df = analysis.compute(rec, ctx)
            except (SkipAnalysis, WmgeomError) as why:
                status = "skipped"
                skipped.append({"analysis": analysis.name, "requirement": analysis.requirement,
                                "run": rec.name, "model": rec.model, "reason": str(why)})
                log.info("skipped %s for %s: %s", analysis.name, rec.name, why)
                df = None
            seconds = time.perf_counter() - start - (ctx.fit_seconds - fitted)
            if df is not None:
                df = df.assign(model=rec.model, architecture=rec.architecture,
                               regime=rec.regime, run=rec.name)
                tables.setdefault(analysis.name, []).append(df)
            timing.append({"analysis": analysis.name, "requirement": analysis.requirement,
                           "model": rec.model, "run": rec.name, "status": status,
                           "rows": 0 if df is None else len(df), "seconds": seconds})
    result = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    _add_stats(result)
    for fit in ctx.fits:  # shared intermediates, e.g. each decoder bank, fitted once
        rec = fit["recording"]
        timing.append({"analysis": f"fit {fit['key']}", "requirement": "A1", "model": rec.model,
                       "run": rec.name, "status": "ok", "rows": 0, "seconds": fit["seconds"]})
    result["timing"] = pd.DataFrame(timing, columns=TIMING_COLUMNS)
    result["skipped"] = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)
    return result


def _add_stats(result: dict[str, pd.DataFrame]) -> None:
    for name in ("orthogonalization", "orthogonalization_pca"):
        if name in result:
            result[f"{name}_stats"] = orthogonalization_stats(result[name])


def merge_tables(parts: Sequence[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The tables of several :func:`run_analyses` calls (e.g. one per recording, run in
    parallel) as one call over all their recordings would return them, in this order."""
    names = list(dict.fromkeys(n for p in parts for n in p if not n.endswith("_stats")))
    result = {n: pd.concat([p[n] for p in parts if n in p], ignore_index=True) for n in names}
    _add_stats(result)
    return result
