"""Run every seed-000 analysis a set of recordings allows, and draw its figures (SPEC A2–A8, U3).

:func:`analyze_runs` opens ``RUN_DIR/activations.nc`` of each run (the Activations schema
of docs/design.md), runs each analysis on each run, concatenates the per-run tables with
``model``/``architecture``/``regime`` columns (so figures compare regimes and
architectures when several runs are given), writes every table as CSV to
``<out>/analysis/`` and every figure as PNG and SVG to ``<out>/figures/``, where ``<out>``
is ``out_dir`` or the first run directory.

An analysis a recording cannot support (one task only, no cell state, no perceptual
features, no loadable model for the causal test) is listed in the ``skipped`` table with
its reason; nothing is filled in. The ``timing`` table records how long each analysis
took, and ``analysis/protocol.json`` the decoding protocol used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from wmgeom.errors import WmgeomError
from wmgeom.io import atomic_path, write_json_atomic

log = logging.getLogger(__name__)

FEATURES = ("location", "identity", "category")
ACTIVATIONS_FILE = "activations.nc"


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Run:
    """One recorded run: its folder, its activations and what produced them.

    Attributes:
        path: The run directory.
        activations: The Activations Dataset (docs/design.md).
        architecture: Recurrent architecture (``rnn``, ``gru``, ``lstm``, ...).
        regime: Training regime (``stsf``, ``stmf``, ``mtmf``).
        config: The resolved config (``RUN_DIR/config.yaml``), empty if absent.
        model_loader: Optional ``run_dir -> model`` for the causal test (A8).
    """

    path: Path
    activations: xr.Dataset
    architecture: str
    regime: str
    config: dict = field(default_factory=dict)
    model_loader: Callable[[Path], Any] | None = field(default=None, repr=False)

    def load_model(self) -> Any:
        """The trained model (``wmgeom.models.load_run_model`` unless a loader was given)."""
        if self.model_loader is not None:
            return self.model_loader(self.path)
        from wmgeom.models import load_run_model

        return load_run_model(self.path)

    @property
    def model(self) -> str:
        """A short label such as ``"GRU MTMF"`` used to facet figures."""
        return f"{self.architecture.upper()} {self.regime.upper()}".strip()


def _find_key(node: Any, names: Iterable[str]) -> Any:
    """First value stored under any of ``names`` in a nested mapping (breadth first)."""
    names = tuple(names)
    queue = [node]
    while queue:
        current = queue.pop(0)
        if isinstance(current, dict):
            for name in names:
                if current.get(name) not in (None, ""):
                    return current[name]
            queue.extend(v for v in current.values() if isinstance(v, dict))
    return None


def load_run(run_dir: str | Path) -> Run:
    """Open ``RUN_DIR/activations.nc`` and read the run's architecture and regime.

    Raises:
        WmgeomError: If the folder or its recording is missing or unreadable.
    """
    run_dir = Path(run_dir)
    path = run_dir / ACTIVATIONS_FILE
    if not path.is_file():
        raise WmgeomError(
            f"{path} not found; record activations first (`wmgeom record {run_dir}`)"
        )
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception as exc:  # corrupt or foreign file
        raise WmgeomError(f"cannot read {path} ({exc}); re-run `wmgeom record`") from exc
    if "hidden" not in ds:
        raise WmgeomError(f"{path} has no 'hidden' variable; it is not a wmgeom recording")
    config: dict = {}
    config_path = run_dir / "config.yaml"
    if config_path.is_file():
        try:
            config = yaml.safe_load(config_path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise WmgeomError(f"{config_path} is not valid YAML ({exc}); fix or delete it") from exc
    meta = {**config, "_attrs": dict(ds.attrs)}
    architecture = _find_key(dict(ds.attrs), ("architecture", "rnn", "rnn_type", "cell_type"))
    architecture = architecture or _find_key(meta, ("architecture", "rnn", "rnn_type"))
    regime = _find_key(dict(ds.attrs), ("regime",)) or _find_key(meta, ("regime",))
    return Run(run_dir, ds, str(architecture or "model"), str(regime or ""), config)


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


def analysis_dataset(run: Run, protocol: AnalysisProtocol) -> xr.Dataset:
    """The trials of the protocol's split (all trials when the recording has no splits).

    Raises:
        SkipAnalysis: If the split holds too few trials for the folds.
    """
    ds = run.activations
    if "split" in ds and protocol.split is not None:
        splits = [str(s) for s in np.unique(ds["split"].values)]
        split = protocol.split
        if split not in splits:
            split = "train" if "train" in splits else splits[0]
            log.info("split %s not recorded in %s; analysing %s", protocol.split, run.path,
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


@dataclass(frozen=True)
class Analysis:
    """One analysis of the suite: a table name, what it reproduces, how to compute it."""

    name: str
    requirement: str
    figure: str
    compute: Callable[[Run, AnalysisProtocol], pd.DataFrame]
    description: str = ""


ANALYSES: list[Analysis] = []


def _register(name: str, requirement: str, figure: str, description: str):
    def wrap(fn):
        ANALYSES.append(Analysis(name, requirement, figure, fn, description))
        return fn

    return wrap


_CACHE: dict[tuple, Any] = {}


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    """Share an intermediate (e.g. one batched decoding) between analyses of one call."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


@_register("relevant_irrelevant", "A2", "2b",
           "decode location, identity and category from the RNN state at the first frame, "
           "per task; relevant = the task's own feature")
def relevant_irrelevant(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Task-relevant vs -irrelevant decoding at the first frame (seed 000 Fig. 2b, A2a).

    Returns:
        :func:`~wmgeom.analysis.generalization.relevant_irrelevant_decoding` at frame 0.
    """
    from wmgeom.analysis.generalization import relevant_irrelevant_decoding

    ds = analysis_dataset(run, protocol)
    return relevant_irrelevant_decoding(ds, frames=(0,), space=protocol.space,
                                        features=_features(ds, frames=[0]),
                                        **_decode_kw(protocol))


@_register("cross_task", "A3", "2a, 2c, A2b",
           "decoders fitted on one task's first-frame states (each CV fold), tested on "
           "every other task's; diagonal = cross-validated accuracy; LSTM cell state too")
def cross_task(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Cross-task generalisation matrices per feature (seed 000 Fig. 2a, 2c; LSTM cell A2b).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_task_generalization` for the hidden
        state and, when recorded, the LSTM cell state (column ``space``).
    """
    from wmgeom.analysis.generalization import cross_task_generalization

    ds = analysis_dataset(run, protocol)
    tasks = _tasks(ds)
    if len(tasks) < 2:
        raise SkipAnalysis(f"only one task recorded ({tasks[0] if tasks else 'none'}); "
                           "cross-task generalisation needs at least two")
    spaces = [protocol.space] + (["cell"] if "cell" in ds and protocol.space != "cell" else [])
    features = _features(ds, frames=[0])
    return pd.concat([cross_task_generalization(ds, frame=0, space=space, features=features,
                                                **_decode_kw(protocol))
                      for space in spaces], ignore_index=True)


@_register("within_time", "A5", "A5",
           "at every step, decode the features of the stimulus shown at that step "
           "(cross-validated), per task; relevant vs irrelevant features")
def within_time(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Within-step decoding of relevant and irrelevant features (seed 000 Fig. A5).

    Returns:
        :func:`~wmgeom.analysis.generalization.relevant_irrelevant_decoding` at every frame.
    """
    from wmgeom.analysis.generalization import relevant_irrelevant_decoding

    ds = analysis_dataset(run, protocol)
    return relevant_irrelevant_decoding(ds, frames=None, space=protocol.space,
                                        features=_features(ds), **_decode_kw(protocol))


@_register("cross_time", "A5", "4b, 4c",
           "decoders fitted on the encoding space E(S=i,T=i), tested on held-out trials at "
           "every later step T=k (memory spaces M(S=i,T=k)); recall = the executive step "
           "k=i+N where stimulus i is compared")
def cross_time(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Cross-time generalisation of encoding decoders (seed 000 Fig. 4b, 4c; H1 test).

    Returns:
        :func:`~wmgeom.analysis.generalization.cross_time_decoding`.
    """
    from wmgeom.analysis.generalization import cross_time_decoding

    ds = analysis_dataset(run, protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; memory steps need two or more")
    return cross_time_decoding(ds, space=protocol.space, features=_features(ds),
                               **_decode_kw(protocol))


@_register("encoding_sharing", "A6", "4d",
           "decoders fitted on E(S=i,T=i), tested on held-out trials' E(S=j,T=j) with the "
           "labels of stimulus j; validation when j = i")
def encoding_sharing(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Is the encoding space shared across stimuli? (seed 000 Fig. 4d; H2 vs H3).

    Returns:
        :func:`~wmgeom.analysis.generalization.encoding_space_sharing`.
    """
    from wmgeom.analysis.generalization import encoding_space_sharing

    ds = analysis_dataset(run, protocol)
    if ds.sizes["frame"] < 2:
        raise SkipAnalysis("the recording has a single frame; sharing needs two or more")
    return encoding_space_sharing(ds, space=protocol.space, features=_features(ds),
                                  **_decode_kw(protocol))


def _orthogonalization(run: Run, protocol: AnalysisProtocol, equalise: bool) -> pd.DataFrame:
    from wmgeom.analysis.orthogonality import orthogonalization_comparison

    ds = analysis_dataset(run, protocol)
    if "perceptual" not in ds:
        raise SkipAnalysis("the recording has no perceptual (CNN) features to compare with")
    labels = {f: ds[f].values[:, 0] for f in FEATURES
              if f in ds and len(np.unique(ds[f].values[:, 0])) >= 3}
    if not labels:
        raise SkipAnalysis("no feature has three or more values; the orthogonalisation "
                           "index needs at least three one-vs-rest decoders")
    if protocol.n_bootstraps < 2:
        raise SkipAnalysis("the t-test needs at least 2 bootstraps (protocol.n_bootstraps)")
    table = orthogonalization_comparison(
        ds["perceptual"].values[:, 0], ds[protocol.space].values[:, 0], labels,
        n_bootstrap=protocol.n_bootstraps, n_components="min" if equalise else None,
        Cs=protocol.Cs, inner_cv=protocol.inner_splits, seed=protocol.seed,
        device=protocol.device)
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


@_register("orthogonalization", "A4", "3b",
           "one-vs-rest normals at the first frame in the perceptual (CNN) and encoding "
           "(RNN) spaces, bootstrapped; O normalised by the perceptual mean per feature")
def orthogonalization(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Orthogonalisation index, perceptual vs encoding space (seed 000 Fig. 3b, SPEC A4).

    Returns:
        :func:`~wmgeom.analysis.orthogonality.orthogonalization_comparison` plus ``value``
        (the normalised index, as the figure reads it).
    """
    return _orthogonalization(run, protocol, equalise=False)


@_register("orthogonalization_pca", "A4", "A3",
           "as orthogonalization, after PCA reduces both spaces to the same dimensionality")
def orthogonalization_pca(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)."""
    return _orthogonalization(run, protocol, equalise=True)


def _procrustes_table(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """One Procrustes run per recording, shared by the 4f and 4g tables."""
    def make():
        from wmgeom.analysis.procrustes import reconstructed_decoder_accuracy

        ds = analysis_dataset(run, protocol)
        if ds.sizes["frame"] < 3:
            raise SkipAnalysis("fewer than three steps recorded; swap tests need j, j+1, j+2")
        features = _features(ds, min_values=3)  # a Procrustes shape needs 3+ decoders
        return reconstructed_decoder_accuracy(ds, space=protocol.space, features=features,
                                              **_decode_kw(protocol))

    return _cached((id(run), protocol, "procrustes"), make)


@_register("procrustes", "A7", "4f",
           "decoders of stimulus i at step j+1 reconstructed from those at step j by an "
           "orthogonal Procrustes rotation and a global scale (biases of the fitted "
           "decoders), scored on held-out trials")
def procrustes(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Fitted vs Procrustes-reconstructed decoder accuracy (seed 000 Fig. 4f, A4).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``stimulus`` (i), ``frame`` (the reconstructed
        step j+1), ``accuracy_fitted``, ``accuracy_reconstructed`` (rotation ``R(i,j)``),
        ``chance``; from :func:`~wmgeom.analysis.procrustes.reconstructed_decoder_accuracy`.
    """
    t = _procrustes_table(run, protocol)
    keys = ["task", "n", "feature", "stimulus", "target_frame", "chance"]
    wide = t[t["rotation"].isin(["fitted", "original"])].pivot_table(
        index=keys, columns="rotation", values="accuracy").reset_index()
    return wide.rename(columns={"target_frame": "frame", "fitted": "accuracy_fitted",
                                "original": "accuracy_reconstructed"}).rename_axis(
        columns=None)


SWAP_LABELS = {"original": "R(i,j)", "time_swap": "R(i,j+1)", "stimulus_swap": "R(i+k,j+k)"}


@_register("swap_tests", "A7", "4g",
           "W(i,j+1) reconstructed from W(i,j) with its own rotation R(i,j), with R(i,j+1) "
           "(same stimulus, next step) or with R(i+k,j+k) (other stimuli, same age)")
def swap_tests(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Swap tests of the Procrustes rotations (seed 000 eq. 2-3, Fig. 4g).

    Returns:
        The rows of :func:`~wmgeom.analysis.procrustes.reconstructed_decoder_accuracy`
        whose rotation is ``original``, ``time_swap`` or ``stimulus_swap``, restricted to
        steps where both swaps exist (so the bars compare the same decoders), with
        ``swap`` labelled as in the seed (``R(i,j)``, ``R(i,j+1)``, ``R(i+k,j+k)``).
    """
    t = _procrustes_table(run, protocol)
    t = t[t["rotation"].isin(list(SWAP_LABELS))].copy()
    keys = ["task", "feature", "stimulus", "frame"]
    kinds = t.groupby(keys)["rotation"].transform("nunique")
    t = t[kinds == len(SWAP_LABELS)]
    if t.empty:
        raise SkipAnalysis("no step has both swap partners; record longer sequences")
    return t.assign(swap=t["rotation"].map(SWAP_LABELS))


MATCH = 2  # index of "match" in the actions ("no_action", "non_match", "match")


@_register("causal", "A8", "A7",
           "match trials: the state after the first stimulus is moved along the normal of "
           "the decoder of its own task-feature value (distance in units of the mean "
           "distance of those states to the hyperplane; positive = towards and across it), "
           "then the network runs on over the recorded encodings to the step that compares it")
def causal(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
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

    ds = analysis_dataset(run, protocol)
    if "target" not in ds or "encoding" not in ds:
        raise SkipAnalysis("the recording lacks targets or the RNN input encodings")
    try:
        model = run.load_model()
    except Exception as exc:  # no checkpoint, weights unavailable, ...
        raise SkipAnalysis(f"the trained model could not be loaded ({exc})") from None
    if not hasattr(model, "rollout"):
        raise SkipAnalysis("the model has no rollout(state0, encodings) method")
    lstm = getattr(model, "architecture", None) == "lstm"
    if lstm and "cell" not in ds:
        raise SkipAnalysis("the model is an LSTM but the recording holds no cell state")
    H = ds[protocol.space].values
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
        res = cross_validated_decoding(H[idx, 0], labels, **_decode_kw(protocol))
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
            n_d = len(protocol.distances)
            state = torch.as_tensor(H[sel, 0], dtype=torch.float32)
            if lstm:
                state = (state, torch.as_tensor(ds["cell"].values[sel, 0], dtype=torch.float32))
            table = causal_perturbation(
                state, w, [-d * abs(margin) for d in protocol.distances],
                lambda s, enc=enc, n_d=n_d: model.rollout(s, enc.repeat(n_d, 1, 1)))
            table = table[table["step"] == n - 1].copy()
            table["distance"] = np.repeat(protocol.distances, len(table) // n_d)
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


def _progress(enabled: bool, total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]analysis[/] {task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), disable=not enabled,
                        transient=False)
    return progress


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def analyze_runs(
    run_dirs: list[Path] | list[str],
    out_dir: Path | None = None,
    progress: bool = True,
    protocol: AnalysisProtocol | dict | None = None,
    analyses: Iterable[str] | None = None,
    figures: bool = True,
    model_loader: Callable[[Path], Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every seed-000 analysis the recordings allow; write tables and figures.

    Args:
        run_dirs: Run directories, each holding ``activations.nc`` (and ``config.yaml``).
            Several runs (e.g. the 3 architectures × 3 regimes grid) are compared in the
            figures per regime and per architecture.
        out_dir: Where ``analysis/`` (CSV tables) and ``figures/`` (PNG, SVG) go; the first
            run directory by default.
        progress: Show a progress bar over analyses.
        protocol: Decoding protocol (an :class:`AnalysisProtocol` or its fields as a dict);
            by default :meth:`AnalysisProtocol.for_profile` of the first run's profile
            (``config.yaml``): the seed's protocol, lighter for ``quick`` runs.
        analyses: Names of analyses to run (default all; see :data:`ANALYSES`).
        figures: Draw the figures (set False for tables only).
        model_loader: ``run_dir -> model`` for the causal test (default
            :func:`wmgeom.models.load_run_model`); the test is skipped, with the reason,
            when the model cannot be loaded.

    Returns:
        Tables by name: one per analysis that ran, plus ``timing`` (seconds per analysis
        and run) and ``skipped`` (analysis, run, reason).

    Raises:
        WmgeomError: If no run is given, a run cannot be read, or an analysis name is unknown.
    """
    if not run_dirs:
        raise WmgeomError("no run directory given; pass at least one RUN_DIR")
    runs = [load_run(d) for d in run_dirs]
    if isinstance(protocol, dict):
        try:
            protocol = AnalysisProtocol(**protocol)
        except TypeError as exc:
            raise WmgeomError(f"invalid analysis protocol ({exc}); fields are "
                              f"{[f for f in AnalysisProtocol.__dataclass_fields__]}") from None
    protocol = protocol or AnalysisProtocol.for_profile(runs[0].config.get("profile"))
    if model_loader is not None:
        runs = [replace(r, model_loader=model_loader) for r in runs]
    selected = _select(analyses)
    base = Path(out_dir) if out_dir is not None else Path(run_dirs[0])

    _CACHE.clear()
    try:
        tables, timing, skipped = _run_all(selected, runs, protocol, progress)
    finally:
        _CACHE.clear()

    result = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    for name in ("orthogonalization", "orthogonalization_pca"):
        if name in result:
            result[f"{name}_stats"] = orthogonalization_stats(result[name])
    result["timing"] = pd.DataFrame(timing, columns=["analysis", "requirement", "model", "run",
                                                     "status", "rows", "seconds"])
    result["skipped"] = pd.DataFrame(skipped, columns=["analysis", "requirement", "run",
                                                       "model", "reason"])
    if figures:
        result["timing"] = pd.concat([result["timing"], _draw_figures(result, base / "figures")],
                                     ignore_index=True)
    for name, df in result.items():
        _write_csv(df, base / "analysis" / f"{name}.csv")
    write_json_atomic(base / "analysis" / "protocol.json",
                      {**asdict(protocol), "runs": [str(r.path) for r in runs],
                       "analyses": [a.name for a in selected]})
    return result


def _run_all(selected: list[Analysis], runs: list[Run], protocol: AnalysisProtocol,
             progress: bool) -> tuple[dict[str, list[pd.DataFrame]], list[dict], list[dict]]:
    """Run each analysis on each run under a progress bar; collect tables, timing, skips."""
    tables: dict[str, list[pd.DataFrame]] = {}
    timing, skipped = [], []
    with _progress(progress, len(selected) * len(runs)) as bar:
        task = bar.add_task("", total=len(selected) * len(runs))
        for analysis in selected:
            for run in runs:
                bar.update(task, description=f"{analysis.name} · {run.model}")
                start = time.perf_counter()
                status = "ok"
                try:
                    df = analysis.compute(run, protocol)
                except (SkipAnalysis, WmgeomError) as why:
                    status = "skipped"
                    skipped.append({"analysis": analysis.name, "requirement":
                                    analysis.requirement, "run": str(run.path),
                                    "model": run.model, "reason": str(why)})
                    log.info("skipped %s for %s: %s", analysis.name, run.path, why)
                    df = None
                seconds = time.perf_counter() - start
                if df is not None:
                    df = df.assign(model=run.model, architecture=run.architecture,
                                   regime=run.regime, run=str(run.path))
                    tables.setdefault(analysis.name, []).append(df)
                timing.append({"analysis": analysis.name, "requirement": analysis.requirement,
                               "model": run.model, "run": str(run.path), "status": status,
                               "rows": 0 if df is None else len(df), "seconds": seconds})
                bar.advance(task)

    return tables, timing, skipped


def _select(names: Iterable[str] | None) -> list[Analysis]:
    if names is None:
        return list(ANALYSES)
    known = {a.name: a for a in ANALYSES}
    names = list(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise WmgeomError(f"unknown analyses {unknown}; choose from {sorted(known)}")
    return [known[n] for n in names]


# --------------------------------------------------------------------------- figures


def _draw_figures(tables: dict[str, pd.DataFrame], figure_dir: Path) -> pd.DataFrame:
    """Draw every figure whose tables exist; return a timing table for the drawing."""
    rows = []
    for name, (needs, draw) in _figures().items():
        if not all(n in tables and not tables[n].empty for n in needs):
            continue
        if name == "figA2b_cross_task_cell" and "cell" not in set(tables["cross_task"]["space"]):
            continue
        start = time.perf_counter()
        draw(tables, figure_dir / name)
        rows.append({"analysis": f"figure {name}", "requirement": "U3", "model": "all",
                     "run": "", "status": "ok", "rows": 0,
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def _relevant_panels(t: pd.DataFrame, max_tasks: int = 3) -> pd.DataFrame:
    """Rows decoding each task's own feature; identity tasks first, as seed Fig. 4b."""
    t = t[t["relevant"].astype(bool)]
    tasks = list(dict.fromkeys(t.loc[t["feature"] == "identity", "task"]))
    tasks += [k for k in dict.fromkeys(t["task"]) if k not in tasks]
    return t[t["task"].isin(tasks[:max_tasks])]


def _different_relevant(t: pd.DataFrame) -> pd.DataFrame:
    """Validation pairs and pairs of tasks with different relevant features (Fig. 2c)."""
    return t[(t["kind"] == "validation") | ~t["same_relevant"].astype(bool)]


def _space(t: pd.DataFrame, space: str) -> pd.DataFrame:
    return t[t["space"] == space] if "space" in t else t


def _figures():
    from wmgeom.report import figures as F

    def cross_task(T, path, space="hidden"):
        return F.plot_cross_task_generalization(_space(T["cross_task"], space), path)

    def cross_task_cell(T, path):
        return cross_task(T, path, space="cell")

    def orth(name):
        return lambda T, path: F.plot_orthogonalization(
            T[name], path, stats=T.get(f"{name}_stats"),
            title=None if name == "orthogonalization" else
            "Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)")

    return {
        "fig2a_cross_task": (("cross_task",), cross_task),
        "figA2b_cross_task_cell": (("cross_task",), cross_task_cell),
        "fig2b_relevant_irrelevant": (("relevant_irrelevant",),
                                      lambda T, p: F.plot_relevant_irrelevant(
                                          T["relevant_irrelevant"], p)),
        "fig2c_validation_generalization": (
            ("cross_task",), lambda T, p: F.plot_validation_vs_generalization(
                _different_relevant(_space(T["cross_task"], "hidden")), p)),
        "fig3b_orthogonalization": (("orthogonalization",), orth("orthogonalization")),
        "figA3_orthogonalization_pca": (("orthogonalization_pca",),
                                        orth("orthogonalization_pca")),
        "fig4b_cross_time": (("cross_time",), lambda T, p: F.plot_cross_time_decoding(
            _relevant_panels(T["cross_time"]), p)),
        "fig4c_executive": (("cross_time",), lambda T, p: F.plot_executive_generalization(
            T["cross_time"][T["cross_time"]["relevant"].astype(bool)], p)),
        "fig4d_encoding_sharing": (("encoding_sharing",), lambda T, p: F.plot_encoding_sharing(
            T["encoding_sharing"], p)),
        "fig4f_procrustes": (("procrustes",), lambda T, p: F.plot_procrustes(
            T["procrustes"], p)),
        "fig4g_swap_tests": (("swap_tests",), lambda T, p: F.plot_swap_tests(
            T["swap_tests"], p)),
        "figA5_within_time": (("within_time",), lambda T, p: F.plot_within_time_decoding(
            T["within_time"], p)),
        "figA7_causal": (("causal",), lambda T, p: F.plot_causal_perturbation(T["causal"], p)),
    }
