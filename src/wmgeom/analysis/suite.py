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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wmgeom.errors import WmgeomError
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.tasks.base import FEATURES, MATCH

log = logging.getLogger(__name__)

__all__ = ["ANALYSES", "Analysis", "AnalysisProtocol", "Context", "Recording", "SkipAnalysis",
           "orthogonalization_stats", "register", "run_analyses"]


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
        inner_splits: Folds of the inner grid search over ``Cs`` (scikit-learn's default 5).
        space: Activations used for the RNN latent space (``hidden``; ``cell`` also
            analysed for LSTMs when recorded).
        split: Stimulus split analysed (novel angles by default: same objects as training,
            unseen trials); the training split is used when it is not recorded.
        device: Where decoders are solved (``auto``: a GPU when there is one, else ``cpu``).
        distances: Distances of the causal test, in units of the mean distance of the
            perturbed states from the decoder's hyperplane (1 reaches it on average).
        seed: Seed for bootstraps and subsampling.
    """

    n_splits: int = 10
    Cs: tuple[float, ...] = (0.001, 0.01, 1.0, 10.0)
    n_bootstraps: int = 10
    inner_splits: int = 5
    space: str = "hidden"
    split: str | None = "val_angle"
    device: str = "auto"
    distances: tuple[float, ...] = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "Cs", tuple(float(c) for c in self.Cs))
        object.__setattr__(self, "distances", tuple(float(d) for d in self.distances))
        if self.n_splits < 2:
            raise WmgeomError(f"n_splits={self.n_splits} is too small; use at least 2 folds")
        if not self.Cs or any(c <= 0 for c in self.Cs):
            raise WmgeomError(f"Cs={self.Cs} must be a non-empty list of positive numbers")
        if self.inner_splits < 2:
            raise WmgeomError(f"inner_splits={self.inner_splits} is too small; use at least 2")
        if self.n_bootstraps < 1:
            raise WmgeomError(f"n_bootstraps={self.n_bootstraps} must be at least 1")


    @classmethod
    def for_profile(cls, profile: str | None) -> AnalysisProtocol:
        """The seed's protocol for ``paper`` runs; a lighter one for ``quick`` runs.

        The quick protocol (5 folds, 3 inner folds, C in {0.01, 1}) keeps a 2-core CPU
        run within minutes; every other setting is the seed's.
        """
        if profile == "quick":
            return cls(n_splits=5, inner_splits=3, Cs=(0.01, 1.0))
        return cls()


class SkipAnalysis(Exception):
    """Raised by an analysis step when a recording cannot support it (with the reason)."""


# --------------------------------------------------------------------------- data


def analysis_dataset(rec: Recording, protocol: AnalysisProtocol) -> xr.Dataset:
    """The trials of the protocol's split (all trials when the recording has no splits).

    Raises:
        SkipAnalysis: If the split holds too few trials for the folds.
    """
    ds = rec.activations
    if "split" in ds and protocol.split is not None:
        splits = [str(s) for s in np.unique(ds["split"].values)]
        split = protocol.split
        if split not in splits:
            split = "train" if "train" in splits else splits[0]
            log.info("split %s not recorded in %s; analysing %s", protocol.split, rec.name,
                     split)
        ds = ds.isel(trial=np.flatnonzero(ds["split"].values.astype(str) == split))
    if "task" in ds:
        counts = np.unique(ds["task"].values, return_counts=True)[1]
        if counts.min() < 2 * protocol.n_splits:
            raise SkipAnalysis(f"a task has only {counts.min()} trials in the analysed split; "
                               f"{protocol.n_splits}-fold decoding needs "
                               f"{2 * protocol.n_splits}")
    return ds


def _decode_kw(protocol: AnalysisProtocol) -> dict[str, Any]:
    """Keywords of :func:`~wmgeom.analysis.decoders.cross_validated_decoding` (SPEC A1)."""
    return {"cv": protocol.n_splits, "Cs": protocol.Cs, "inner_cv": protocol.inner_splits,
            "seed": protocol.seed, "device": protocol.device}


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


# --------------------------------------------------------------------------- analyses


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

    def once(self, rec: Recording, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``key`` is asked for ``rec``, the stored value after."""
        k = (rec.name, key)
        if k not in self.store:
            self.store[k] = make()
        return self.store[k]


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
    from wmgeom.analysis.generalization import relevant_irrelevant_decoding

    ds = analysis_dataset(rec, ctx.protocol)
    return relevant_irrelevant_decoding(ds, frames=(0,), space=ctx.protocol.space,
                                        features=_features(ds, frames=[0]),
                                        **_decode_kw(ctx.protocol))


@register("cross_task", "A3", "2a, 2c, A2b",
           "decoders fitted on one task's first-frame states (each CV fold), tested on "
           "every other task's; diagonal = cross-validated accuracy; LSTM cell state too")
def cross_task(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Cross-task generalisation matrices per feature (seed 000 Fig. 2a, 2c; LSTM cell A2b).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_task_generalization` for the hidden
        state and, when recorded, the LSTM cell state (column ``space``).
    """
    from wmgeom.analysis.generalization import cross_task_generalization

    ds = analysis_dataset(rec, ctx.protocol)
    tasks = _tasks(ds)
    if len(tasks) < 2:
        raise SkipAnalysis(f"only one task recorded ({tasks[0] if tasks else 'none'}); "
                           "cross-task generalisation needs at least two")
    spaces = [ctx.protocol.space] + (["cell"] if "cell" in ds and ctx.protocol.space != "cell" else [])
    features = _features(ds, frames=[0])
    return pd.concat([cross_task_generalization(ds, frame=0, space=space, features=features,
                                                **_decode_kw(ctx.protocol))
                      for space in spaces], ignore_index=True)


@register("within_time", "A5", "A5",
           "at every step, decode the features of the stimulus shown at that step "
           "(cross-validated), per task; relevant vs irrelevant features")
def within_time(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Within-step decoding of relevant and irrelevant features (seed 000 Fig. A5).

    Returns:
        :func:`~wmgeom.analysis.generalization.relevant_irrelevant_decoding` at every frame.
    """
    from wmgeom.analysis.generalization import relevant_irrelevant_decoding

    ds = analysis_dataset(rec, ctx.protocol)
    return relevant_irrelevant_decoding(ds, frames=None, space=ctx.protocol.space,
                                        features=_features(ds), **_decode_kw(ctx.protocol))


@register("cross_time", "A5", "4b, 4c",
           "decoders fitted on the encoding space E(S=i,T=i), tested on held-out trials at "
           "every later step T=k (memory spaces M(S=i,T=k)); recall = the executive step "
           "k=i+N where stimulus i is compared")
def cross_time(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Cross-time generalisation of encoding decoders (seed 000 Fig. 4b, 4c; H1 test).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_time_decoding`.
    """
    from wmgeom.analysis.generalization import cross_time_decoding

    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; memory steps need two or more")
    return cross_time_decoding(ds, space=ctx.protocol.space, features=_features(ds),
                               **_decode_kw(ctx.protocol))


@register("encoding_sharing", "A6", "4d",
           "decoders fitted on E(S=i,T=i), tested on held-out trials' E(S=j,T=j) with the "
           "labels of stimulus j; validation when j = i")
def encoding_sharing(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Is the encoding space shared across stimuli? (seed 000 Fig. 4d; H2 vs H3).

    Returns:
        :func:`~wmgeom.analysis.generalization.encoding_space_sharing`.
    """
    from wmgeom.analysis.generalization import encoding_space_sharing

    ds = analysis_dataset(rec, ctx.protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; sharing needs two or more")
    return encoding_space_sharing(ds, space=ctx.protocol.space, features=_features(ds),
                                  **_decode_kw(ctx.protocol))


def _orthogonalization(rec: Recording, ctx: Context, equalise: bool) -> pd.DataFrame:
    from wmgeom.analysis.orthogonality import orthogonalization_comparison

    ds = analysis_dataset(rec, ctx.protocol)
    if "perceptual" not in ds:
        raise SkipAnalysis("the recording has no perceptual (CNN) features to compare with")
    labels = {f: ds[f].values[:, 0] for f in FEATURES
              if f in ds and len(np.unique(ds[f].values[:, 0])) >= 3}
    if not labels:
        raise SkipAnalysis("no feature has three or more values; the orthogonalisation "
                           "index needs at least three one-vs-rest decoders")
    if ctx.protocol.n_bootstraps < 2:
        raise SkipAnalysis("the t-test needs at least 2 bootstraps (protocol.n_bootstraps)")
    table = orthogonalization_comparison(
        ds["perceptual"].values[:, 0], ds[ctx.protocol.space].values[:, 0], labels,
        n_bootstrap=ctx.protocol.n_bootstraps, n_components="min" if equalise else None,
        Cs=ctx.protocol.Cs, inner_cv=ctx.protocol.inner_splits, seed=ctx.protocol.seed,
        device=ctx.protocol.device)
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
           "as orthogonalization, after PCA reduces both spaces to the same dimensionality")
def orthogonalization_pca(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)."""
    return _orthogonalization(rec, ctx, equalise=True)


def _procrustes_table(rec: Recording, ctx: Context) -> pd.DataFrame:
    """One Procrustes run per recording, shared by the 4f and 4g tables."""
    def make():
        from wmgeom.analysis.procrustes import reconstructed_decoder_accuracy

        ds = analysis_dataset(rec, ctx.protocol)
        if ds.sizes["frame"] < 3:
            raise SkipAnalysis("fewer than three steps recorded; swap tests need j, j+1, j+2")
        features = _features(ds, min_values=3)  # a Procrustes shape needs 3+ decoders
        return reconstructed_decoder_accuracy(ds, space=ctx.protocol.space, features=features,
                                              **_decode_kw(ctx.protocol))

    return ctx.once(rec, "procrustes", make)


@register("procrustes", "A7", "4f",
           "decoders of stimulus i at step j+1 reconstructed from those at step j by an "
           "orthogonal Procrustes rotation and a global scale (biases of the fitted "
           "decoders), scored on held-out trials")
def procrustes(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Fitted vs Procrustes-reconstructed decoder accuracy (seed 000 Fig. 4f, A4).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``stimulus`` (i), ``frame`` (the reconstructed
        step j+1), ``accuracy_fitted``, ``accuracy_reconstructed`` (rotation ``R(i,j)``),
        ``chance``; from :func:`~wmgeom.analysis.procrustes.reconstructed_decoder_accuracy`.
    """
    t = _procrustes_table(rec, ctx)
    keys = ["task", "n", "feature", "stimulus", "target_frame", "chance"]
    wide = t[t["rotation"].isin(["fitted", "original"])].pivot_table(
        index=keys, columns="rotation", values="accuracy").reset_index()
    return wide.rename(columns={"target_frame": "frame", "fitted": "accuracy_fitted",
                                "original": "accuracy_reconstructed"}).rename_axis(
        columns=None)


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
           "then the network runs on over the recorded encodings to the step that compares it")
def causal(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Causal perturbation along decoder normals (seed 000 Fig. A7, SPEC A8).

    Decoders of the task's feature are fitted on the RNN state at the first frame
    (cross-validated; normals in the model's own coordinates, the standardisation undone)
    and averaged over folds. For each value ``v``, the match trials whose first stimulus
    has value ``v`` are moved by ``-distance * margin * w_v / |w_v|`` with
    :func:`~wmgeom.analysis.causal.causal_perturbation`, where ``margin`` is the mean
    distance of those states from the hyperplane (``distance = 1`` reaches it on
    average); the network runs on over frames ``1..N`` and its action probabilities at
    step ``N`` are kept.

    Returns:
        Rows ``task``, ``feature``, ``value``, ``distance``, ``action``, ``probability``,
        ``std``, ``n_trials``, ``margin``.
    """
    import torch

    from wmgeom.analysis.causal import causal_perturbation
    from wmgeom.analysis.decoders import cross_validated_decoding

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
    frames = []
    for task in _tasks(ds):
        idx = np.flatnonzero(ds["task"].values.astype(str) == task)
        n = int(ds["n"].values[idx[0]])
        feature = str(ds["feature"].values[idx[0]])
        if n >= ds.sizes["frame"] or feature not in ds:
            continue
        labels = ds[feature].values[idx, 0]
        if len(np.unique(labels)) < 2:
            continue
        res = cross_validated_decoding(H[idx, 0], labels, **_decode_kw(ctx.protocol))
        coef, intercept = res.coef[0].mean(0), res.intercept[0].mean(0)  # over folds
        classes = res.classes["label"]
        if coef.shape[0] == 1:  # one binary decoder for classes[1]; its mirror for classes[0]
            coef, intercept = np.concatenate([-coef, coef]), np.concatenate([-intercept,
                                                                             intercept])
        match = ds["target"].values[idx, n] == MATCH
        for k, value in enumerate(classes):
            sel = idx[match & (labels == value)]
            if len(sel) < 2:
                continue
            w, b = coef[k], intercept[k]
            margin = float(np.mean((H[sel, 0] @ w + b) / np.linalg.norm(w)))
            enc = torch.as_tensor(ds["encoding"].values[sel, 1:n + 1], dtype=torch.float32)
            n_d = len(ctx.protocol.distances)
            state = torch.as_tensor(H[sel, 0], dtype=torch.float32)
            if lstm:
                state = (state, torch.as_tensor(ds["cell"].values[sel, 0], dtype=torch.float32))
            table = causal_perturbation(
                state, w, [-d * abs(margin) for d in ctx.protocol.distances],
                lambda s, enc=enc, n_d=n_d: rec.rollout(s, enc.repeat(n_d, 1, 1)))
            table = table[table["step"] == n - 1].copy()
            table["distance"] = np.repeat(ctx.protocol.distances, len(table) // n_d)
            frames.append(table.drop(columns="step").assign(
                task=task, feature=feature, value=value, margin=margin))
    if not frames:
        raise SkipAnalysis("no task has match trials with a decodable first stimulus")
    out = pd.concat(frames, ignore_index=True)
    # average the values of a task, weighting each by its number of trials
    out["weighted"] = out["probability"] * out["n_trials"]
    keys = ["task", "feature", "distance", "action"]
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
            start = time.perf_counter()
            status = "ok"
            try:
                df = analysis.compute(rec, ctx)
            except (SkipAnalysis, WmgeomError) as why:
                status = "skipped"
                skipped.append({"analysis": analysis.name, "requirement": analysis.requirement,
                                "run": rec.name, "model": rec.model, "reason": str(why)})
                log.info("skipped %s for %s: %s", analysis.name, rec.name, why)
                df = None
            seconds = time.perf_counter() - start
            if df is not None:
                df = df.assign(model=rec.model, architecture=rec.architecture,
                               regime=rec.regime, run=rec.name)
                tables.setdefault(analysis.name, []).append(df)
            timing.append({"analysis": analysis.name, "requirement": analysis.requirement,
                           "model": rec.model, "run": rec.name, "status": status,
                           "rows": 0 if df is None else len(df), "seconds": seconds})
    result = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    for name in ("orthogonalization", "orthogonalization_pca"):
        if name in result:
            result[f"{name}_stats"] = orthogonalization_stats(result[name])
    result["timing"] = pd.DataFrame(timing, columns=TIMING_COLUMNS)
    result["skipped"] = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)
    return result
