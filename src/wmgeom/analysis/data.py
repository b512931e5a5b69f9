"""Arrays and labels for the decoder analyses, from an Activations Dataset or plain arrays.

Every analysis of Lei et al. 2024 takes activations ``X [trial, frame, unit]`` with per-frame labels
``{feature: [trial, frame]}`` and per-trial task metadata. :func:`activation_arrays`
extracts them from the Activations Dataset of docs/design.md (variables ``hidden``,
``cell``, ``encoding``, ``perceptual``; labels ``location``, ``category``, ``identity``;
per trial ``task``, ``n``, ``feature``), so the analyses run on wmgeom recordings, on
other models' activations and on recorded neurons alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wmgeom.errors import WmgeomError
from wmgeom.tasks.vocabulary import FEATURES

SPACES: tuple[str, ...] = ("hidden", "cell", "encoding", "perceptual")
"""Activation variables of an Activations Dataset that analyses can read."""

FEATURE_ROLE = "feature"
"""``role`` attribute of a label variable that is a stimulus feature outside :data:`FEATURES`
(e.g. a recording's ``direction``), so the analyses decode it as they decode the three of
Lei et al. 2024."""


def label_features(ds: Any) -> list[str]:
    """The stimulus features labelled in an Activations Dataset.

    Those of :data:`~wmgeom.tasks.vocabulary.FEATURES` it holds, then every other
    variable whose ``role`` attribute is :data:`FEATURE_ROLE` (as written by
    :meth:`wmgeom.data.TrialData.to_activations`).
    """
    named = [f for f in FEATURES if f in ds.data_vars]
    return named + [str(v) for v in ds.data_vars if str(v) not in named
                    and ds[v].attrs.get("role") == FEATURE_ROLE]


@dataclass(frozen=True)
class ActivationArrays:
    """Activations and labels as arrays (the input of every decoder analysis).

    Attributes:
        X: Activations ``[n_trials, n_frames, n_units]``.
        labels: Per-frame labels ``{feature: [n_trials, n_frames]}``.
        task: Task name per trial ``[n_trials]`` (one name if all trials share a task).
        n: N of the N-back task per trial ``[n_trials]`` (of a delayed match-to-sample
            trial: the sample-to-test distance, ``length - 1``).
        relevant: Task-relevant feature per trial ``[n_trials]``.
        span: How many consecutive frames, from frame ``t - n``, an executive frame ``t``
            is compared with, per trial ``[n_trials]`` (1, the default, in N-back and
            delayed match-to-sample; the list length in item recognition).
    """

    X: np.ndarray
    labels: dict[str, np.ndarray]
    task: np.ndarray
    n: np.ndarray
    relevant: np.ndarray
    span: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.span is None:
            object.__setattr__(self, "span", np.ones(len(self.n), dtype=int))

    @property
    def n_frames(self) -> int:
        return self.X.shape[1]

    def subset(self, mask: np.ndarray) -> ActivationArrays:
        """The trials where ``mask`` is true."""
        return ActivationArrays(self.X[mask], {k: v[mask] for k, v in self.labels.items()},
                                self.task[mask], self.n[mask], self.relevant[mask],
                                self.span[mask])


def activation_arrays(
    data: Any,
    *,
    space: str = "hidden",
    labels: Mapping[str, Any] | None = None,
    task: Sequence[Any] | np.ndarray | None = None,
    n: Sequence[int] | np.ndarray | None = None,
    relevant: Sequence[str] | np.ndarray | None = None,
    features: Sequence[str] | None = None,
    span: Sequence[int] | np.ndarray | None = None,
) -> ActivationArrays:
    """Normalise an Activations Dataset or arrays into :class:`ActivationArrays`.

    Args:
        data: An Activations ``xarray.Dataset``, an :class:`ActivationArrays`, or an array
            ``[n_trials, n_frames, n_units]`` (``[n_trials, n_units]`` counts as one frame).
        space: Dataset variable to read (``hidden``, ``cell``, ``encoding``, ``perceptual``).
        labels: For arrays: ``{feature: [n_trials, n_frames] or [n_trials]}``.
        task: For arrays: task name per trial (default: one task ``"task"``).
        n: For arrays: N per trial (default 0 if unknown).
        relevant: For arrays: task-relevant feature per trial (default: unknown, ``""``).
        features: Keep only these label features (default: all given / the three of
            Lei et al. 2024).
        span: For arrays: frames an executive frame ``t`` is compared with, from frame
            ``t - n``, per trial (default 1: one comparison, as in N-back).

    Raises:
        WmgeomError: If the variable is missing, labels are absent or shapes disagree.
    """
    if isinstance(data, ActivationArrays):
        out = data
    elif hasattr(data, "data_vars"):  # an xarray Dataset
        if space not in data.data_vars:
            have = [s for s in SPACES if s in data.data_vars]
            raise WmgeomError(f"the activations have no variable {space!r}; available: {have}")
        var = data[space]
        dims = tuple(var.dims)
        if len(dims) != 3 or dims[:2] != ("trial", "frame"):
            raise WmgeomError(f"variable {space!r} has dims {dims}; expected (trial, frame, unit)")
        X = np.asarray(var.values, dtype=np.float64)
        names = features or label_features(data)
        missing = [f for f in names if f not in data.data_vars]
        if missing or not names:
            raise WmgeomError(f"the activations lack label variables {missing or list(FEATURES)}; "
                              "record them with wmgeom record")
        labs = {f: np.asarray(data[f].values) for f in names}
        n_tr = X.shape[0]
        tsk = (np.asarray(data["task"].values).astype(str) if "task" in data.data_vars
               else np.full(n_tr, "task"))
        nn = (np.asarray(data["n"].values).astype(int) if "n" in data.data_vars
              else np.zeros(n_tr, dtype=int))
        rel = (np.asarray(data["feature"].values).astype(str) if "feature" in data.data_vars
               else np.full(n_tr, ""))
        span = (np.asarray(data["span"].values).astype(int) if "span" in data.data_vars
                else None)
        out = ActivationArrays(X, labs, tsk, nn, rel, span)
    else:
        X = np.asarray(data, dtype=np.float64)
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3:
            raise WmgeomError(f"activations must be [n_trials, n_frames, n_units]; got shape "
                              f"{X.shape}")
        if not labels:
            raise WmgeomError("labels are required with array activations: pass "
                              "labels={feature: [n_trials, n_frames]}")
        n_tr, n_fr = X.shape[:2]
        labs = {}
        for name, lab in labels.items():
            lab = np.asarray(lab)
            if lab.ndim == 1 and lab.shape[0] == n_tr:
                lab = np.repeat(lab[:, None], n_fr, axis=1)
            if lab.shape != (n_tr, n_fr):
                raise WmgeomError(f"labels {name!r} have shape {lab.shape}; expected "
                                  f"({n_tr},) or ({n_tr}, {n_fr}) to match the activations")
            labs[str(name)] = lab
        tsk = np.full(n_tr, "task") if task is None else np.asarray(task).astype(str)
        nn = np.zeros(n_tr, dtype=int) if n is None else np.asarray(n).astype(int)
        rel = np.full(n_tr, "") if relevant is None else np.asarray(relevant).astype(str)
        spans = None if span is None else np.asarray(span).astype(int)  # None: the default
        for name, arr in (("task", tsk), ("n", nn), ("relevant", rel), ("span", spans)):
            if arr is not None and arr.shape != (n_tr,):
                raise WmgeomError(f"{name} has shape {arr.shape}; expected ({n_tr},)")
        out = ActivationArrays(X, labs, tsk, nn, rel, spans)
    if features is not None:
        missing = [f for f in features if f not in out.labels]
        if missing:
            raise WmgeomError(f"no labels for features {missing}; have {sorted(out.labels)}")
        out = ActivationArrays(out.X, {f: out.labels[f] for f in features}, out.task, out.n,
                               out.relevant, out.span)
    if not np.isfinite(out.X).all():
        raise WmgeomError("activations contain NaN or infinite values; drop those trials")
    return out
