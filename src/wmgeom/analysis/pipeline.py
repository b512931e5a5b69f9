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
        device: Where decoders are solved (``cpu``, ``cuda`` or ``auto``).
        distances: Distances (in units of the normalised decoder normal) for the causal test.
        seed: Seed for bootstraps and subsampling.
    """

    n_splits: int = 10
    Cs: tuple[float, ...] = (0.001, 0.01, 1.0, 10.0)
    n_bootstraps: int = 10
    inner_splits: int = 5
    space: str = "hidden"
    split: str | None = "val_angle"
    device: str = "cpu"
    distances: tuple[float, ...] = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_splits < 2:
            raise WmgeomError(f"n_splits={self.n_splits} is too small; use at least 2 folds")
        if not self.Cs or any(c <= 0 for c in self.Cs):
            raise WmgeomError(f"Cs={self.Cs} must be a non-empty list of positive numbers")
        if self.inner_splits < 2:
            raise WmgeomError(f"inner_splits={self.inner_splits} is too small; use at least 2")
        if self.n_bootstraps < 1:
            raise WmgeomError(f"n_bootstraps={self.n_bootstraps} must be at least 1")


class SkipAnalysis(Exception):
    """Raised by an analysis step when a recording cannot support it (with the reason)."""


# --------------------------------------------------------------------------- data


@dataclass
class RunData:
    """The arrays of one run's analysis split, ready for decoding.

    Attributes:
        spaces: Activations by name (``hidden``, ``cell``, ``perceptual``, ``encoding``),
            each ``[trial, frame, unit]``.
        labels: Per-frame labels by feature, ``[trial, frame]``.
        task: Task name per trial; ``n``: its N; ``feature``: its task-relevant feature.
        tasks: Task names in recording order.
        split: The stimulus split analysed.
        target: Correct action per trial and frame (``[trial, frame]``) when recorded.
    """

    spaces: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    task: np.ndarray
    n: np.ndarray
    feature: np.ndarray
    tasks: list[str]
    split: str
    target: np.ndarray | None = None

    def task_feature(self, task: str) -> str:
        return str(self.feature[np.flatnonzero(self.task == task)[0]])

    def task_n(self, task: str) -> int:
        return int(self.n[np.flatnonzero(self.task == task)[0]])

    def blocks(self) -> np.ndarray:
        """Trial indices ``[n_tasks, m]``: the first ``m`` trials of each task (equal ``m``)."""
        idx = [np.flatnonzero(self.task == t) for t in self.tasks]
        m = min(len(i) for i in idx)
        return np.stack([i[:m] for i in idx])


def run_data(run: Run, protocol: AnalysisProtocol) -> RunData:
    """Select the analysis split of a run and pull its arrays out of the Dataset.

    Raises:
        SkipAnalysis: If the requested split holds too few trials.
    """
    ds = run.activations
    split = protocol.split
    if "split" in ds and split is not None:
        splits = [str(s) for s in np.unique(ds["split"].values)]
        if split not in splits:
            fallback = "train" if "train" in splits else splits[0]
            log.info("split %s not recorded in %s; analysing %s", split, run.path, fallback)
            split = fallback
        keep = ds["split"].values.astype(str) == split
        ds = ds.isel(trial=np.flatnonzero(keep))
    else:
        split = split or "all"
    spaces = {name: ds[name].values.astype(np.float64)
              for name in ("hidden", "cell", "perceptual", "encoding") if name in ds}
    labels = {f: ds[f].values for f in FEATURES if f in ds}
    if "task" not in ds or "feature" not in ds:
        raise WmgeomError("the recording lacks per-trial 'task' or 'feature'; re-record it")
    feature = ds["feature"].values
    if feature.dtype.kind in "iu":
        feature = np.asarray(FEATURES)[feature]
    task = ds["task"].values.astype(str)
    n = ds["n"].values if "n" in ds else np.zeros(len(task), dtype=int)
    data = RunData(spaces, labels, task, n, feature.astype(str),
                   list(dict.fromkeys(task.tolist())), split,
                   ds["target"].values if "target" in ds else None)
    if len(task) < 2 * protocol.n_splits:
        raise SkipAnalysis(f"only {len(task)} trials in split {split!r}; need at least "
                           f"{2 * protocol.n_splits} for {protocol.n_splits}-fold decoding")
    return data


def _decode(protocol: AnalysisProtocol, X: np.ndarray, y, conditions=None):
    """The seed's cross-validated one-vs-rest decoding with this protocol (SPEC A1)."""
    from wmgeom.analysis.decoders import cross_validated_decoding

    return cross_validated_decoding(X, y, cv=protocol.n_splits, Cs=protocol.Cs,
                                    inner_cv=protocol.inner_splits, conditions=conditions,
                                    seed=protocol.seed, device=protocol.device)


def _decodable(labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Features whose labels take at least two values in every condition."""
    out = {}
    for f, y in labels.items():
        y2 = y.reshape(-1, y.shape[-1])
        if all(len(np.unique(row)) >= 2 for row in y2):
            out[f] = y
    return out


def _feature_hits(decision: np.ndarray, truth: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Correct multi-class predictions (argmax over one-vs-rest decision values, SPEC A1).

    Args:
        decision: ``[..., n, K_f]`` decision values of one feature's decoders.
        truth: ``[..., n]`` true labels (values, not indices).
        classes: The ``K`` class values the decoders were fitted on.

    Returns:
        Boolean ``[..., n]``; a label the decoders never saw counts as wrong.
    """
    if decision.shape[-1] == 1:
        pred = classes[(decision[..., 0] > 0).astype(int)]
    else:
        pred = classes[decision.argmax(-1)]
    return pred == truth


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
    """Share an expensive intermediate (e.g. one batched decoding) between analyses."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def _first_frame_decoding(run: Run, protocol: AnalysisProtocol, space: str):
    """Decode every feature at the first frame, per task, batched over tasks (A2, A3)."""
    def make():
        data = run_data(run, protocol)
        if space not in data.spaces:
            raise SkipAnalysis(f"the recording has no {space!r} activations")
        blocks = data.blocks()
        X = data.spaces[space][blocks, 0]  # [n_tasks, m, D]
        y = _decodable({f: lab[blocks, 0] for f, lab in data.labels.items()})
        if not y:
            raise SkipAnalysis("no feature takes two values at the first frame")
        return data, blocks, X, y, _decode(protocol, X, y, conditions=data.tasks)

    return _cached((id(run), protocol, "first_frame", space), make)


@_register("relevant_irrelevant", "A2", "2b",
           "decode location, identity and category from the RNN state at the first frame, "
           "per task; relevant = the task's own feature")
def relevant_irrelevant(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Task-relevant vs -irrelevant decoding at the first frame (seed 000 Fig. 2b, A2a).

    Returns:
        Rows ``task``, ``task_feature``, ``n``, ``feature`` (decoded), ``relevant``,
        ``accuracy``, ``balanced_accuracy``, ``chance``, ``space``, ``frame`` (0).
    """
    data, _, _, _, res = _first_frame_decoding(run, protocol, protocol.space)
    t = res.features.rename(columns={"condition": "task"})
    t["task_feature"] = [data.task_feature(k) for k in t["task"]]
    t["n"] = [data.task_n(k) for k in t["task"]]
    t["relevant"] = t["feature"] == t["task_feature"]
    return t.assign(space=protocol.space, frame=0)[
        ["task", "task_feature", "n", "feature", "relevant", "accuracy", "balanced_accuracy",
         "chance", "space", "frame"]]


@_register("cross_task", "A3", "2a, 2c, A2b",
           "decoders fitted on one task's first-frame states (each CV fold), tested on "
           "every other task's; diagonal = cross-validated accuracy")
def cross_task(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Cross-task generalisation matrices per feature (seed 000 Fig. 2a, 2c; LSTM cell A2b).

    Returns:
        Rows ``space`` (``hidden``; ``cell`` for LSTMs), ``feature``, ``train_task``,
        ``test_task``, ``kind`` (``validation`` on the diagonal, ``generalization`` between
        tasks with different relevant features, ``same_feature`` between N's of one
        feature), ``accuracy``, ``chance``.
    """
    data = run_data(run, protocol)
    if len(data.tasks) < 2:
        raise SkipAnalysis(f"only one task recorded ({data.tasks[0]}); cross-task "
                           "generalisation needs at least two")
    spaces = [protocol.space] + (["cell"] if "cell" in data.spaces else [])
    frames = []
    for space in spaces:
        _, blocks, X, y, res = _first_frame_decoding(run, protocol, space)
        # decision of every (train task, fold) decoder on every test task's trials
        d = np.einsum("bnd,aokd->abonk", X, res.coef) + res.intercept[:, None, :, None, :]
        n_tasks = len(data.tasks)
        for f, truth in y.items():
            ks = res.feature_slice(f)
            hits = _feature_hits(d[..., ks], truth[None, :, None, :], res.classes[f])
            acc = hits.mean(-1).mean(-1)  # [train, test]
            cv = res.features[res.features["feature"] == f].set_index("condition")["accuracy"]
            acc[np.arange(n_tasks), np.arange(n_tasks)] = cv.loc[data.tasks].to_numpy()
            a, b = np.meshgrid(np.arange(n_tasks), np.arange(n_tasks), indexing="ij")
            fa = np.array([data.task_feature(t) for t in data.tasks])
            kind = np.where(a == b, "validation",
                            np.where(fa[a] != fa[b], "generalization", "same_feature"))
            frames.append(pd.DataFrame({
                "space": space, "feature": f,
                "train_task": np.asarray(data.tasks)[a.ravel()],
                "test_task": np.asarray(data.tasks)[b.ravel()],
                "kind": kind.ravel(), "accuracy": acc.ravel(),
                "chance": 1.0 / len(res.classes[f])}))
    return pd.concat(frames, ignore_index=True)


@dataclass
class TemporalDecoding:
    """Decoders of stimulus ``s`` fitted on the state at step ``t >= s``, per task.

    Attributes:
        task: The task.
        pairs: ``[n_cond, 2]`` the (stimulus ``s``, step ``t``) of each condition.
        X: States of the task's trials ``[m, T, D]``.
        labels: Labels of the task's trials by feature, ``[m, T]``.
        result: The batched :class:`~wmgeom.analysis.decoders.DecodingResult`.
    """

    task: str
    pairs: np.ndarray
    X: np.ndarray
    labels: dict[str, np.ndarray]
    result: Any

    def condition(self, s: int, t: int) -> int:
        return int(np.flatnonzero((self.pairs[:, 0] == s) & (self.pairs[:, 1] == t))[0])


def temporal_decoding(run: Run, protocol: AnalysisProtocol) -> tuple[RunData,
                                                                      list[TemporalDecoding]]:
    """Fit decoders of every stimulus S=s from every later state T=t (seed 000 §4.3, A5).

    One batched solve per task over all (s, t) pairs, shared by the within-step,
    cross-time, encoding-sharing and Procrustes analyses.
    """
    def make():
        data = run_data(run, protocol)
        X_all = data.spaces[protocol.space]
        n_frames = X_all.shape[1]
        if n_frames < 2:
            raise SkipAnalysis("the recording has a single frame; memory steps need two or more")
        s_idx, t_idx = np.triu_indices(n_frames)
        pairs = np.stack([s_idx, t_idx], 1)
        out = []
        for task, block in zip(data.tasks, data.blocks(), strict=True):
            X = X_all[block]  # [m, T, D]
            labels = {f: lab[block] for f, lab in data.labels.items()}
            y = _decodable({f: lab[:, s_idx].T for f, lab in labels.items()})
            if not y:
                continue
            res = _decode(protocol, X[:, t_idx].transpose(1, 0, 2), y,
                          conditions=[f"S{s}T{t}" for s, t in pairs])
            out.append(TemporalDecoding(task, pairs, X, {f: labels[f] for f in y}, res))
        if not out:
            raise SkipAnalysis("no feature takes two values at every step")
        return data, out

    return _cached((id(run), protocol, "temporal"), make)


@_register("within_time", "A5", "A5",
           "decode the features of stimulus S=s from the state at every step T=t >= s "
           "(cross-validated), per task; relevant vs irrelevant features")
def within_time(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Within-step decoding of relevant and irrelevant features (seed 000 Fig. A5).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``relevant``, ``stimulus`` (s), ``frame`` (t),
        ``accuracy``, ``balanced_accuracy``, ``chance``.
    """
    data, fits = temporal_decoding(run, protocol)
    frames = []
    for fit in fits:
        t = fit.result.features.copy()
        pair = t["condition"].map(dict(zip(fit.result.conditions, map(tuple, fit.pairs),
                                           strict=True)))
        t["stimulus"] = [p[0] for p in pair]
        t["frame"] = [p[1] for p in pair]
        t["task"] = fit.task
        t["n"] = data.task_n(fit.task)
        t["relevant"] = t["feature"] == data.task_feature(fit.task)
        frames.append(t[["task", "n", "feature", "relevant", "stimulus", "frame", "accuracy",
                         "balanced_accuracy", "chance"]])
    return pd.concat(frames, ignore_index=True)


def _encoding_decisions(fit: TemporalDecoding):
    """Out-of-fold decisions of every encoding decoder E(S=i,T=i) on every step's states.

    Yields ``(test_index, decision)`` per fold, ``decision`` of shape ``[T_i, T_k, n, K]``.
    """
    res = fit.result
    n_frames = fit.X.shape[1]
    diag = np.array([fit.condition(i, i) for i in range(n_frames)])
    for o, (_, te) in enumerate(res.folds):
        coef = res.coef[diag, o]  # [T_i, K, D]
        d = np.einsum("ntd,ikd->itnk", fit.X[te], coef)
        yield te, d + res.intercept[diag, o][:, None, None, :]


@_register("cross_time", "A5", "4b, 4c",
           "decoders fitted on the encoding space E(S=i,T=i), tested on held-out trials at "
           "every later step T=k (memory spaces M(S=i,T=k)); executive = the step k=i+N "
           "where stimulus i is compared")
def cross_time(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Cross-time generalisation of encoding decoders (seed 000 Fig. 4b, 4c; H1 test).

    Returns:
        Rows ``task``, ``n``, ``feature``, ``relevant``, ``stimulus`` (i), ``frame`` (k >= i),
        ``executive`` (k == i + N), ``accuracy``, ``chance``.
    """
    data, fits = temporal_decoding(run, protocol)
    frames = []
    for fit in fits:
        n_frames = fit.X.shape[1]
        n = data.task_n(fit.task)
        i_idx, k_idx = np.triu_indices(n_frames)
        for f, lab in fit.labels.items():
            ks = fit.result.feature_slice(f)
            hits = np.zeros((n_frames, n_frames))
            count = 0
            for te, d in _encoding_decisions(fit):
                truth = lab[te].T[:, None, :]  # [T_i, 1, n]: labels of stimulus i
                hits += _feature_hits(d[..., ks], truth, fit.result.classes[f]).sum(-1)
                count += len(te)
            frames.append(pd.DataFrame({
                "task": fit.task, "n": n, "feature": f,
                "relevant": f == data.task_feature(fit.task),
                "stimulus": i_idx, "frame": k_idx, "executive": k_idx == i_idx + n,
                "accuracy": hits[i_idx, k_idx] / count,
                "chance": 1.0 / len(fit.result.classes[f])}))
    return pd.concat(frames, ignore_index=True)


@_register("encoding_sharing", "A6", "4d",
           "decoders fitted on E(S=i,T=i), tested on held-out trials' E(S=j,T=j) with the "
           "labels of stimulus j; validation when j = i")
def encoding_sharing(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Is the encoding space shared across stimuli? (seed 000 Fig. 4d; H2 vs H3).

    Returns:
        Rows ``task``, ``feature``, ``relevant``, ``train_stimulus`` (i),
        ``test_stimulus`` (j), ``kind`` (``validation`` if i == j else
        ``generalization``), ``accuracy``, ``chance``.
    """
    data, fits = temporal_decoding(run, protocol)
    frames = []
    for fit in fits:
        n_frames = fit.X.shape[1]
        i_idx, j_idx = np.meshgrid(np.arange(n_frames), np.arange(n_frames), indexing="ij")
        for f, lab in fit.labels.items():
            ks = fit.result.feature_slice(f)
            hits = np.zeros((n_frames, n_frames))
            count = 0
            for te, d in _encoding_decisions(fit):
                truth = lab[te].T[None, :, :]  # [1, T_j, n]: labels of stimulus j
                hits += _feature_hits(d[..., ks], truth, fit.result.classes[f]).sum(-1)
                count += len(te)
            frames.append(pd.DataFrame({
                "task": fit.task, "feature": f, "relevant": f == data.task_feature(fit.task),
                "train_stimulus": i_idx.ravel(), "test_stimulus": j_idx.ravel(),
                "kind": np.where(i_idx == j_idx, "validation", "generalization").ravel(),
                "accuracy": (hits / count).ravel(),
                "chance": 1.0 / len(fit.result.classes[f])}))
    return pd.concat(frames, ignore_index=True)


def _orthogonalization_index(normals: np.ndarray) -> np.ndarray:
    """O = mean over i<j of 1 - |cos(w_i, w_j)| (seed 000 eq. 1), over the last two axes."""
    unit = normals / np.linalg.norm(normals, axis=-1, keepdims=True)
    cos = np.abs(unit @ np.swapaxes(unit, -1, -2))
    i, j = np.triu_indices(normals.shape[-2], k=1)
    return (1.0 - cos[..., i, j]).mean(-1)


def _bootstrap_normals(X: np.ndarray, labels: dict[str, np.ndarray],
                       protocol: AnalysisProtocol) -> tuple[dict[str, np.ndarray], Any]:
    """One-vs-rest normals fitted on ``n_bootstraps`` resamples of the trials, in one solve.

    Returns:
        Normals per feature ``[n_bootstraps, K_f, D]`` and the decoding result.
    """
    import warnings

    from wmgeom.analysis.decoders import cross_validated_decoding

    rng = np.random.default_rng(protocol.seed)
    n = X.shape[0]
    boots = rng.integers(0, n, size=(protocol.n_bootstraps, n))
    y = _decodable({f: lab[boots] for f, lab in labels.items()})
    y = {f: lab for f, lab in y.items() if len(np.unique(labels[f])) >= 3}
    if not y:
        raise SkipAnalysis("no feature has three or more values; the orthogonalisation "
                           "index needs at least two one-vs-rest normals")
    refit_only = [(np.arange(n), np.zeros(0, dtype=np.int64))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no held-out rows to score
        res = cross_validated_decoding(X[boots], y, cv=refit_only, Cs=protocol.Cs,
                                       inner_cv=protocol.inner_splits, seed=protocol.seed,
                                       device=protocol.device)
    return {f: res.coef[:, 0, res.feature_slice(f)] for f in y}, res


def _pca(X: np.ndarray, k: int) -> np.ndarray:
    """Scores of ``X [n, D]`` on its first ``k`` principal components."""
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ vt[:k].T


def _orthogonalization(run: Run, protocol: AnalysisProtocol, equalise: bool):
    data = run_data(run, protocol)
    if "perceptual" not in data.spaces:
        raise SkipAnalysis("the recording has no perceptual (CNN) features to compare with")
    spaces = {"perceptual": data.spaces["perceptual"][:, 0],
              "encoding": data.spaces[protocol.space][:, 0]}
    labels = {f: lab[:, 0] for f, lab in data.labels.items()}
    dims = {}
    if equalise:
        k = min(min(x.shape[1] for x in spaces.values()), len(data.task) - 1)
        dims = {name: x.shape[1] for name, x in spaces.items()}
        spaces = {name: _pca(x, k) for name, x in spaces.items()}
    rows = []
    for name, X in spaces.items():
        normals, _ = _bootstrap_normals(X, labels, protocol)
        for f, w in normals.items():
            for b, o in enumerate(_orthogonalization_index(w)):
                rows.append({"space": name, "feature": f, "bootstrap": b, "index": o,
                             "n_dims": X.shape[1], "original_dims": dims.get(name, X.shape[1])})
    t = pd.DataFrame(rows)
    reference = t[t["space"] == "perceptual"].groupby("feature")["index"].mean()
    t["value"] = t["index"] / t["feature"].map(reference)
    return t


def orthogonalization_stats(table: pd.DataFrame) -> pd.DataFrame:
    """Two-sample t-test of normalised indices, perceptual vs encoding, per model (Fig. 3b).

    Args:
        table: An orthogonalisation table with ``space``, ``value`` and optional ``model``.

    Returns:
        Rows ``model``, ``mean_perceptual``, ``mean_encoding``, ``t``, ``p``, ``n``.
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
        Rows ``space``, ``feature``, ``bootstrap``, ``index`` (O), ``value`` (O divided by
        the perceptual mean of the feature), ``n_dims``, ``original_dims``.
    """
    return _orthogonalization(run, protocol, equalise=False)


@_register("orthogonalization_pca", "A4", "A3",
           "as orthogonalization, after PCA reduces both spaces to the same dimensionality")
def orthogonalization_pca(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)."""
    return _orthogonalization(run, protocol, equalise=True)


def _standardise_shape(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre a decoder set ``[..., K, D]`` on its mean and scale it to unit norm (eq. 5-6)."""
    B = W.mean(-2, keepdims=True)
    S = np.linalg.norm(W - B, axis=(-2, -1), keepdims=True)
    return (W - B) / S, S, B


def _procrustes_rotation(source: np.ndarray, target: np.ndarray):
    """Orthogonal Procrustes of standardised decoder sets: ``R`` ``[..., D, D]`` and scale.

    As :func:`scipy.linalg.orthogonal_procrustes`, batched: ``R = U V^T`` from the SVD of
    ``source^T target``; the scale is the sum of its singular values.
    """
    M = np.swapaxes(source, -1, -2) @ target
    U, sv, Vt = np.linalg.svd(M)
    return U @ Vt, sv.sum(-1)


def _reconstruct(source: np.ndarray, target_shape: tuple, R: np.ndarray,
                 scale: np.ndarray) -> np.ndarray:
    """Reconstructed decoders ``(W'_source R) s S_target + B_target`` (seed eq. 7-8)."""
    src, _, _ = _standardise_shape(source)
    _, S, B = target_shape
    return (src @ R) * scale[..., None, None] * S + B


def _procrustes_sets(run: Run, protocol: AnalysisProtocol):
    """Per task and feature (3+ values): fold-wise decoder sets W(S=s,T=t) and test data."""
    data, fits = temporal_decoding(run, protocol)
    out = []
    for fit in fits:
        for f, lab in fit.labels.items():
            classes = fit.result.classes[f]
            if len(classes) < 3:
                continue
            ks = fit.result.feature_slice(f)
            out.append((fit, f, lab, classes, fit.result.coef[:, :, ks],
                        fit.result.intercept[:, :, ks]))
    if not out:
        raise SkipAnalysis("no decoded feature has three or more values; a Procrustes "
                           "shape needs at least three one-vs-rest decoders")
    return data, out


def _score(fit, W: np.ndarray, b: np.ndarray, lab: np.ndarray, classes: np.ndarray,
           s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Held-out accuracy of fold-wise decoders ``W [P, O, K, D]`` on (stimulus s, step t)."""
    hits = np.zeros(len(s))
    count = 0
    for o, (_, te) in enumerate(fit.result.folds):
        X = fit.X[te][:, t].transpose(1, 0, 2)  # [P, n, D]
        d = np.einsum("pnd,pkd->pnk", X, W[:, o]) + b[:, o][:, None, :]
        hits += _feature_hits(d, lab[te][:, s].T, classes).sum(-1)
        count += len(te)
    return hits / count


@_register("procrustes", "A7", "4f",
           "decoders of stimulus i at step k reconstructed from the encoding decoders "
           "E(i,i) by an orthogonal Procrustes rotation and a global scale (intercepts of "
           "the fitted decoders), scored on held-out trials")
def procrustes(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Fitted vs Procrustes-reconstructed decoder accuracy (seed 000 Fig. 4f, A4).

    Returns:
        Rows ``task``, ``feature``, ``relevant``, ``stimulus`` (i), ``frame`` (k >= i),
        ``accuracy_fitted``, ``accuracy_reconstructed``, ``chance``.
    """
    data, sets = _procrustes_sets(run, protocol)
    frames = []
    for fit, f, lab, classes, W, b in sets:
        s, t = fit.pairs[:, 0], fit.pairs[:, 1]
        src = W[np.array([fit.condition(i, i) for i in s])]  # encoding decoders E(i,i)
        src_std, _, _ = _standardise_shape(src)
        tgt_shape = _standardise_shape(W)
        R, scale = _procrustes_rotation(src_std, tgt_shape[0])
        W_rec = _reconstruct(src, tgt_shape, R, scale)
        frames.append(pd.DataFrame({
            "task": fit.task, "feature": f, "relevant": f == data.task_feature(fit.task),
            "stimulus": s, "frame": t,
            "accuracy_fitted": _score(fit, W, b, lab, classes, s, t),
            "accuracy_reconstructed": _score(fit, W_rec, b, lab, classes, s, t),
            "chance": 1.0 / len(classes)}))
    return pd.concat(frames, ignore_index=True)


@_register("swap_tests", "A7", "4g",
           "W(i,j+1) reconstructed from W(i,j) with its own rotation R(i,j), with R(i,j+1) "
           "(same stimulus, next step) or with R(i+k,j+k) (other stimuli, same age)")
def swap_tests(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Swap tests of the Procrustes rotations (seed 000 eq. 2-3, Fig. 4g).

    ``R(i,j)`` aligns the decoders of stimulus ``i`` at step ``j`` with those at ``j+1``.

    Returns:
        Rows ``task``, ``feature``, ``relevant``, ``stimulus`` (i), ``frame`` (j+1, the
        step reconstructed), ``swap`` (``"R(i,j)"``, ``"R(i,j+1)"``, ``"R(i+k,j+k)"``),
        ``accuracy``, ``chance``.
    """
    data, sets = _procrustes_sets(run, protocol)
    frames = []
    for fit, f, lab, classes, W, b in sets:
        n_frames = fit.X.shape[1]
        rotations = [(int(i), int(j)) for i, j in fit.pairs if j + 1 < n_frames]
        cond = {(int(i), int(j)): fit.condition(i, j) for i, j in fit.pairs}
        std, S, B = _standardise_shape(W)
        index = {step: p for p, step in enumerate(rotations)}
        src_all = np.array([cond[i, j] for i, j in rotations], dtype=int)
        dst_all = np.array([cond[i, j + 1] for i, j in rotations], dtype=int)
        if not rotations:
            continue
        R, scale = _procrustes_rotation(std[src_all], std[dst_all])  # [P, O, D, D]
        # steps where both swaps exist, so the three bars compare the same decoders
        steps = [(i, j) for i, j in rotations if (i, j + 1) in index and (i + 1, j + 1) in index]
        choices = {
            "R(i,j)": [[index[i, j]] for i, j in steps],
            "R(i,j+1)": [[index[i, j + 1]] for i, j in steps],
            "R(i+k,j+k)": [[index[i + k, j + k] for k in range(1, n_frames)
                            if (i + k, j + k) in index] for i, j in steps],
        }
        src = np.array([cond[i, j] for i, j in steps], dtype=int)
        dst = np.array([cond[i, j + 1] for i, j in steps], dtype=int)
        s = np.array([i for i, _ in steps])
        t = np.array([j + 1 for _, j in steps])
        for swap, options in choices.items():
            for p_i, opts in enumerate(options):
                opts = np.array(opts)
                W_rec = (std[src[p_i]][None] @ R[opts]) * scale[opts][..., None, None] \
                    * S[dst[p_i]][None] + B[dst[p_i]][None]  # [n_opts, O, K, D]
                b_rep = np.broadcast_to(b[dst[p_i]], (len(opts),) + b.shape[1:])
                acc = _score(fit, W_rec, b_rep, lab, classes, np.full(len(opts), s[p_i]),
                             np.full(len(opts), t[p_i]))
                frames.append(pd.DataFrame({
                    "task": fit.task, "feature": f,
                    "relevant": f == data.task_feature(fit.task), "stimulus": s[p_i],
                    "frame": t[p_i], "swap": swap, "accuracy": [acc.mean()],
                    "chance": 1.0 / len(classes)}))
    if not frames:
        raise SkipAnalysis("fewer than three steps recorded; swap tests need j, j+1, j+2")
    return pd.concat(frames, ignore_index=True)


MATCH = 2  # index of "match" in ACTIONS = ("no_action", "non_match", "match")
ACTIONS = ("no_action", "non_match", "match")


@_register("causal", "A8", "A7",
           "match trials: the state after the first stimulus is moved along the normal of "
           "the decoder of its own task-feature value (away from that value; distance in "
           "units of the mean distance of those states to the hyperplane), then the "
           "network runs on over the recorded encodings up to the step that compares it")
def causal(run: Run, protocol: AnalysisProtocol) -> pd.DataFrame:
    """Causal perturbation along decoder normals (seed 000 Fig. A7, SPEC A8).

    Decoders are fitted on the RNN state at the first frame (cross-validated, in the
    model's own coordinates: the decoders' standardisation is undone), one per value of
    the task's feature; each match trial's state is moved by ``-distance * margin *
    w / |w|`` for the decoder ``w`` of its first stimulus' value, where ``margin`` is the
    mean distance of those states from the hyperplane, so ``distance = 1`` reaches it
    on average. The network then runs from the perturbed state over frames ``1..N``.

    Returns:
        Rows ``task``, ``feature``, ``distance``, ``action``, ``probability`` (mean over
        trials at step N), ``sd``, ``n_trials``, ``margin``.
    """
    import torch

    data = run_data(run, protocol)
    if data.target is None or "encoding" not in data.spaces:
        raise SkipAnalysis("the recording lacks targets or the RNN input encodings")
    try:
        model = run.load_model()
    except Exception as exc:  # no checkpoint, weights unavailable, ...
        raise SkipAnalysis(f"the trained model could not be loaded ({exc})") from None
    if not hasattr(model, "rollout"):
        raise SkipAnalysis("the model has no rollout(state0, encodings) method")
    if getattr(model, "architecture", None) == "lstm" and "cell" not in data.spaces:
        raise SkipAnalysis("the model is an LSTM but the recording holds no cell state")
    H = data.spaces["hidden"]
    frames = []
    for task in data.tasks:
        idx = np.flatnonzero(data.task == task)
        n, feature = data.task_n(task), data.task_feature(task)
        if n >= H.shape[1] or feature not in data.labels:
            continue
        labels = data.labels[feature][idx, 0]
        if len(np.unique(labels)) < 2:
            continue
        res = _decode(protocol, H[idx, 0], labels)
        keep = data.target[idx, n] == MATCH
        if keep.sum() < 2:
            continue
        coef = res.coef[0].mean(0)  # [K, D], fold-averaged normal in model coordinates
        intercept = res.intercept[0].mean(0)
        classes = res.classes["label"]
        if coef.shape[0] == 1:  # binary: one decoder for classes[1]; flip for classes[0]
            coef = np.concatenate([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        k = np.searchsorted(classes, labels[keep])
        w = coef[k]  # [n_match, D]
        norm = np.linalg.norm(w, axis=1, keepdims=True)
        h0 = H[idx[keep], 0]
        margin = float(np.mean(((h0 * w).sum(1) + intercept[k]) / norm[:, 0]))
        distances = np.asarray(protocol.distances, dtype=float)
        shift = -distances[:, None, None] * abs(margin) * (w / norm)[None]  # [n_d, n, D]
        state = torch.as_tensor(h0[None] + shift, dtype=torch.float32).flatten(0, 1)
        enc = torch.as_tensor(data.spaces["encoding"][idx[keep], 1:n + 1], dtype=torch.float32)
        enc = enc.repeat(len(distances), 1, 1)
        if "cell" in data.spaces:
            cell = torch.as_tensor(data.spaces["cell"][idx[keep], 0], dtype=torch.float32)
            state = (state, cell.repeat(len(distances), 1))
        with torch.no_grad():
            probs = model.rollout(state, enc)[:, -1].cpu().numpy()
        probs = probs.reshape(len(distances), keep.sum(), -1)
        mean, sd = probs.mean(1), probs.std(1)
        frames.append(pd.DataFrame({
            "task": task, "feature": feature, "distance": np.repeat(distances, probs.shape[-1]),
            "action": np.tile(ACTIONS[:probs.shape[-1]], len(distances)),
            "probability": mean.ravel(), "sd": sd.ravel(), "n_trials": int(keep.sum()),
            "margin": margin}))
    if not frames:
        raise SkipAnalysis("no task has match trials with a decodable first stimulus")
    return pd.concat(frames, ignore_index=True)


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
            the seed's protocol by default.
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
    if isinstance(protocol, dict):
        protocol = AnalysisProtocol(**protocol)
    protocol = protocol or AnalysisProtocol()
    runs = [load_run(d) for d in run_dirs]
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
                except SkipAnalysis as why:
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
                _space(T["cross_task"], "hidden").query("kind != 'same_feature'"), p)),
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
