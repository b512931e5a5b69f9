"""The one vocabulary of wmgeom (features, actions, splits) and the :class:`TrialBatch` passed from tasks to models.

A trial is a short sequence of *frames*; each frame shows one stimulus, an object image
(a row of the stimulus table) at one of the canvas locations. Trials are index arrays
into the stimulus table, never rendered canvases: models look images or cached
features up by ``image * n_locations + location``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wmgeom.errors import WmgeomError

#: Actions a model can take at every frame; ``target`` indexes into this tuple.
ACTIONS: tuple[str, ...] = ("no_action", "non_match", "match")
NO_ACTION, NON_MATCH, MATCH = 0, 1, 2

#: Object properties an N-back task can be about; ``feature`` indexes into this tuple.
FEATURES: tuple[str, ...] = ("location", "identity", "category")

#: Stimulus splits: training images, novel view angles of the training objects,
#: and held-out objects of the same categories (novel identities).
SPLITS: tuple[str, ...] = ("train", "val_angle", "val_identity")

DEFAULT_N_VALUES: tuple[int, ...] = (1, 2, 3)

_FRAME_FIELDS = ("image", "location", "category", "identity", "angle", "target", "executive")
_TRIAL_FIELDS = ("task_vector", "task_index", "n", "feature", "span")


def task_vector(feature: int | np.ndarray, n: int | np.ndarray,
                n_values: Sequence[int] = DEFAULT_N_VALUES) -> np.ndarray:
    """The task input: one-hot feature ⊕ one-hot N (Lei et al. 2024, appendix).

    With the paper's N set ``(1, 2, 3)`` this is the 6-digit code of Lei et al. 2024: three digits
    for the feature and three for N. Any N set works (e.g. ``(1, 2, 3, 4)`` for Fig. A6).

    Args:
        feature: Index into :data:`FEATURES`, a scalar or an array of shape ``[B]``.
        n: The N of each trial, a scalar or an array of shape ``[B]``; every value must be
            in ``n_values``.
        n_values: The configured N set, which fixes the width and order of the N one-hot.

    Returns:
        float32 array ``[len(FEATURES) + len(n_values)]`` (scalars) or ``[B, ...]``.
    """
    n_values = np.asarray(tuple(n_values), dtype=np.int64)
    feature = np.asarray(feature, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    if np.any((feature < 0) | (feature >= len(FEATURES))):
        raise WmgeomError(f"feature index out of range; use 0..{len(FEATURES) - 1} for {FEATURES}")
    position = np.searchsorted(n_values, n)
    position = np.minimum(position, len(n_values) - 1)
    if np.any(n_values[position] != n):
        raise WmgeomError(
            f"N={np.setdiff1d(n, n_values).tolist()} is not in the configured N set "
            f"{tuple(n_values.tolist())}; add it to n_values"
        )
    eye_f = np.eye(len(FEATURES), dtype=np.float32)
    eye_n = np.eye(len(n_values), dtype=np.float32)
    return np.concatenate([eye_f[feature], eye_n[position]], axis=-1)


@dataclass(frozen=True)
class TrialBatch:
    """A batch of ``B`` trials × ``T`` frames, as index arrays (docs/design.md).

    Attributes:
        image: int64 ``[B, T]``, row of the stimulus table shown at each frame.
        location: int64 ``[B, T]``, canvas location (0..n_locations-1).
        category: int64 ``[B, T]``, category code of the image.
        identity: int64 ``[B, T]``, identity code of the image (unique over the set).
        angle: int64 ``[B, T]``, view-angle index of the image.
        target: int64 ``[B, T]``, index into :data:`ACTIONS`.
        executive: bool ``[B, T]``, frames where a match decision is due: ``t >= N`` in
            N-back trials, the last frame (the test) in delayed match-to-sample trials.
        task_vector: float32 ``[B, D]``, the task input: N-back ``D = len(FEATURES) +
            len(n_values)`` (:func:`task_vector`), DMS ``D = len(FEATURES) + 1``
            (:func:`wmgeom.tasks.dms.dms_task_vector`).
        task_index: int64 ``[B]``, index into ``task_names``.
        n: int64 ``[B]``, the N of each trial (DMS: the sample-to-test distance; item
            recognition: the distance from the list's first item to the probe).
        feature: int64 ``[B]``, index into :data:`FEATURES`.
        task_names: names of the tasks ``task_index`` refers to.
        span: int64 ``[B]``, how many consecutive frames, from frame ``t - N``, an executive
            frame ``t`` is compared with: 1 in N-back and DMS trials (the default), the
            list length in item-recognition trials (the probe against every list item).
    """

    image: np.ndarray
    location: np.ndarray
    category: np.ndarray
    identity: np.ndarray
    angle: np.ndarray
    target: np.ndarray
    executive: np.ndarray
    task_vector: np.ndarray
    task_index: np.ndarray
    n: np.ndarray
    feature: np.ndarray
    task_names: tuple[str, ...]
    span: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.span is None:
            object.__setattr__(self, "span", np.ones(len(self.n), dtype=np.int64))
        shape = np.shape(self.image)
        if len(shape) != 2:
            raise ValueError(f"image must be [B, T], got shape {shape}")
        for name in _FRAME_FIELDS:
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        for name in _TRIAL_FIELDS:
            if len(getattr(self, name)) != shape[0]:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, expected {shape[0]}")

    def __len__(self) -> int:
        return int(self.image.shape[0])

    @property
    def n_frames(self) -> int:
        """Sequence length ``T``."""
        return int(self.image.shape[1])

    @property
    def task(self) -> np.ndarray:
        """Task name of every trial, ``[B]`` (object array of str)."""
        return np.asarray(self.task_names, dtype=object)[self.task_index]

    @property
    def feature_name(self) -> np.ndarray:
        """Task feature of every trial as a string, ``[B]``."""
        return np.asarray(FEATURES, dtype=object)[self.feature]

    def stimulus_index(self, n_locations: int = 4) -> np.ndarray:
        """Flat index of each frame's (image, location) pair into a feature cache, ``[B, T]``."""
        return self.image * n_locations + self.location

    def take(self, indices: np.ndarray | slice) -> TrialBatch:
        """The trials at ``indices`` (an index array, boolean mask or slice), same task names."""
        fields = {name: getattr(self, name)[indices] for name in _FRAME_FIELDS + _TRIAL_FIELDS}
        return TrialBatch(**fields, task_names=self.task_names)

    def __getitem__(self, indices: np.ndarray | slice) -> TrialBatch:
        return self.take(indices)

    @classmethod
    def concatenate(cls, batches: Sequence[TrialBatch]) -> TrialBatch:
        """Stack batches along trials; task names are merged and task indices remapped.

        Raises:
            WmgeomError: if the batches differ in sequence length or task-vector width.
        """
        batches = list(batches)
        if not batches:
            raise WmgeomError("cannot concatenate an empty list of trial batches; pass at least one")
        frames = {b.n_frames for b in batches}
        widths = {b.task_vector.shape[1] for b in batches}
        if len(frames) > 1:
            raise WmgeomError(f"cannot concatenate batches with different lengths {sorted(frames)}; "
                              "sample them with the same length")
        if len(widths) > 1:
            raise WmgeomError(f"cannot concatenate batches with task vectors of widths {sorted(widths)}; "
                              "use the same n_values for every task")
        names: list[str] = []
        for b in batches:
            names.extend(name for name in b.task_names if name not in names)
        lookup = {name: i for i, name in enumerate(names)}
        remapped = [np.asarray([lookup[x] for x in b.task_names], dtype=np.int64)[b.task_index]
                    for b in batches]
        fields = {name: np.concatenate([getattr(b, name) for b in batches])
                  for name in _FRAME_FIELDS + _TRIAL_FIELDS if name != "task_index"}
        return cls(**fields, task_index=np.concatenate(remapped), task_names=tuple(names))

    def replace(self, **changes) -> TrialBatch:
        """A copy with some fields replaced (as :func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)
