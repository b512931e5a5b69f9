"""One object for anyone's activations or recordings: trials × time × units with descriptors.

:class:`TrialData` holds what the analyses of Lei et al. 2024 need from a model someone else
trained or from recorded neurons, in the style of rsatoolbox's ``Dataset``
(``obs_descriptors``, ``channel_descriptors``):

* ``activity`` ``[trial, time, unit]`` (firing rates, binned spike counts, hidden states);
* ``time`` ``[time]``, the time axis (seconds, milliseconds or frame indices: any unit,
  used consistently);
* ``trials``, the trial descriptors (one row per trial): ``task``, and where known
  ``response``, ``n`` (the lag, in frames, at which an item is compared) and ``relevant``
  (the task's feature);
* ``items``, the names of the stimuli shown in each trial in order (``sample``, ``test``),
  with ``onsets`` ``[trial, item]`` on the time axis and ``features``
  ``{feature: [trial, item]}``, the stimulus properties of each item (its direction,
  category, location...);
* ``units``, the unit descriptors (one row per unit), and optionally ``perceptual``
  ``[trial, item, dim]``, a perceptual (e.g. CNN) code of each item, for the
  orthogonalisation analysis (Lei et al. 2024, Fig. 3b).

:meth:`TrialData.to_activations` turns it into the Activations Dataset of docs/design.md
(``[trial, frame, unit]`` with per-frame labels) that every N-back analysis reads: one
frame per item (``frames="items"``, activity averaged over a window after each onset, the
N-back layout) or consecutive time bins (``frames="time"``, each labelled with the item
shown most recently, so decoders follow a sample through a delay).

Every constructor validates what it is given and raises one
:class:`~wmgeom.errors.ArgumentError` line naming the problem: a missing trial field,
lengths that disagree, NaNs, a feature with a single value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wmgeom.analysis.data import FEATURE_ROLE, SPACES, label_features
from wmgeom.errors import ArgumentError

__all__ = ["FRAME_MODES", "RESERVED", "TrialData"]

FRAME_MODES: tuple[str, ...] = ("items", "time")
"""How :meth:`TrialData.to_activations` cuts trials into frames."""

RESERVED: frozenset[str] = frozenset({
    *SPACES, "task", "n", "span", "feature", "split", "response", "item", "frame_start",
    "frame_stop",
    "target", "executive", "image", "angle", "logits", "probs", "onset", "time", "trial",
    "unit", "frame", "relevant"})
"""Names a stimulus feature cannot take: variables and dimensions of the Activations
Dataset."""


def _names(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_single_values(name: str, values: np.ndarray, what: str) -> None:
    """Raise if ``values`` (any shape) hold a single class."""
    uniq = pd.unique(values.ravel())
    if len(uniq) < 2:
        value = uniq[0].item() if isinstance(uniq[0], np.generic) else uniq[0]
        raise ArgumentError(f"{what} {name!r} takes a single value ({value!r}) in all "
                            f"{values.shape[0]} trials; decoding needs two or more values")


def _missing(values: np.ndarray) -> np.ndarray:
    """Where an array of numbers or labels is NaN or None."""
    return np.asarray(pd.isna(values), dtype=bool)


@dataclass(frozen=True)
class TrialData:
    """Trials × time × units of a model's activations or a recording, with descriptors.

    Build one with :meth:`from_arrays` (numpy arrays plus a pandas trial table),
    :meth:`from_xarray` or :meth:`from_nwb`; :meth:`to_activations` gives the Activations
    Dataset the N-back analyses of Lei et al. 2024 read.

    Attributes:
        activity: float64 ``[n_trials, n_time, n_units]``.
        trials: Trial descriptors, one row per trial; always has ``task`` (str), and ``n``
            (int) or ``relevant`` (the task-relevant feature; default the first of
            ``features``) when given.
        features: ``{feature: [n_trials, n_items]}``, the stimulus properties of each item.
        onsets: float64 ``[n_trials, n_items]``, item onsets on the time axis, increasing
            within each trial.
        time: float64 ``[n_time]``, increasing.
        items: Names of the items, in presentation order.
        units: Unit descriptors, one row per unit.
        perceptual: float64 ``[n_trials, n_items, dim]`` or None.
        name: A short name (report labels, run column of the tables).
        attrs: Free metadata (source file, species, model...), kept in the Dataset.

    Raises:
        ArgumentError: If shapes disagree, a value is NaN, a feature takes one value, an
            onset lies outside the time axis, or a name is reserved.
    """

    activity: np.ndarray
    trials: pd.DataFrame
    features: Mapping[str, np.ndarray]
    onsets: np.ndarray
    time: np.ndarray | None = None
    items: tuple[str, ...] | None = None
    units: pd.DataFrame | None = None
    perceptual: np.ndarray | None = None
    name: str = "recording"
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        X = np.asarray(self.activity)
        if X.ndim != 3:
            raise ArgumentError(f"activity must be trials × time × units (3 dimensions); got "
                                f"shape {X.shape}")
        if not np.issubdtype(X.dtype, np.number):
            raise ArgumentError(f"activity must hold numbers; got dtype {X.dtype}")
        X = X.astype(np.float64, copy=False)
        n_tr, n_t, n_u = X.shape
        if min(X.shape) == 0:
            raise ArgumentError(f"activity of shape {X.shape} is empty")
        bad = ~np.isfinite(X)
        if bad.any():
            t, k, u = _first_bad(bad)
            raise ArgumentError(f"activity holds {int(bad.sum())} NaN or infinite values (first "
                                f"at trial {t}, time index {k}, unit {u}); drop or fill them")
        time = np.arange(n_t, dtype=np.float64) if self.time is None else \
            np.asarray(self.time, dtype=np.float64).ravel()
        if time.shape != (n_t,):
            raise ArgumentError(f"time has {time.size} values but activity has {n_t} time "
                                "points; give one time per point")
        if not np.isfinite(time).all() or (np.diff(time) <= 0).any():
            raise ArgumentError("time must be finite and strictly increasing")
        trials = pd.DataFrame(self.trials).reset_index(drop=True)
        if len(trials) != n_tr:
            raise ArgumentError(f"the trial table has {len(trials)} rows but activity has "
                                f"{n_tr} trials; give one row per trial")
        if "task" not in trials:
            trials["task"] = "task"
        if _missing(trials["task"].to_numpy()).any():
            raise ArgumentError("the trial table's task column is missing (NaN) in "
                                f"{int(_missing(trials['task'].to_numpy()).sum())} trials")
        trials["task"] = trials["task"].astype(str)
        if not self.features:
            raise ArgumentError("no stimulus feature given; name at least one (e.g. "
                                "features=['direction'])")
        onsets = np.asarray(self.onsets, dtype=np.float64)
        if onsets.ndim == 1:
            onsets = onsets[:, None]
        n_items = onsets.shape[1] if onsets.ndim == 2 else 0
        items = tuple(f"item{k}" for k in range(n_items)) if self.items is None else \
            tuple(str(i) for i in self.items)
        if onsets.shape != (n_tr, len(items)):
            raise ArgumentError(f"onsets have shape {onsets.shape}; expected ({n_tr}, "
                                f"{len(items)}): one onset per trial and item ({_names(items)})")
        if len(set(items)) != len(items):
            raise ArgumentError(f"item names repeat: {_names(items)}")
        features = {}
        for name, values in self.features.items():
            name = str(name)
            if name in RESERVED:
                raise ArgumentError(f"a stimulus feature cannot be called {name!r} (a name of "
                                    "the Activations Dataset); rename it")
            v = np.asarray(values)
            if v.ndim == 1:
                v = v[:, None]
            if v.shape != (n_tr, len(items)):
                raise ArgumentError(f"feature {name!r} has shape {v.shape}; expected ({n_tr}, "
                                    f"{len(items)}): one value per trial and item "
                                    f"({_names(items)})")
            miss = _missing(v)
            if miss.any():
                t, k = _first_bad(miss)
                raise ArgumentError(f"feature {name!r} is missing (NaN) in "
                                    f"{int(miss.any(1).sum())} trials (first: trial {t}, item "
                                    f"{items[k]!r}); drop those trials")
            if v.dtype.kind == "f" and np.all(v == np.round(v)):
                v = v.astype(np.int64)
            elif v.dtype.kind in "OU":
                v = v.astype(str)
            _check_single_values(name, v, "feature")
            features[name] = v
        miss = ~np.isfinite(onsets)
        if miss.any():
            t, k = _first_bad(miss)
            raise ArgumentError(f"the onset of item {items[k]!r} is missing (NaN) in "
                                f"{int(miss.any(1).sum())} trials (first: trial {t})")
        if (np.diff(onsets, axis=1) <= 0).any():
            t = int(np.argwhere(np.diff(onsets, axis=1) <= 0)[0, 0])
            raise ArgumentError(f"item onsets must increase within a trial ({_names(items)}); "
                                f"trial {t} has {onsets[t].tolist()}")
        outside = (onsets < time[0]) | (onsets > time[-1])
        if outside.any():
            t, k = _first_bad(outside)
            raise ArgumentError(f"item {items[k]!r} of trial {t} starts at {onsets[t, k]:g}, "
                                f"outside the time axis [{time[0]:g}, {time[-1]:g}]")
        if "n" in trials:
            n = trials["n"].to_numpy()
            if _missing(n).any() or not np.all(np.asarray(n, float) >= 0) or \
                    not np.all(np.asarray(n, float) == np.round(np.asarray(n, float))):
                raise ArgumentError("the trial table's n column must hold non-negative "
                                    "integers (the lag, in frames, at which an item is "
                                    "compared)")
            trials["n"] = np.asarray(n, float).astype(np.int64)
        if "span" in trials:
            span = np.asarray(trials["span"].to_numpy(), float)
            if _missing(span).any() or not np.all(span >= 1) or not np.all(span == np.round(span)):
                raise ArgumentError("the trial table's span column must hold positive integers "
                                    "(how many consecutive items, from the one n frames back, "
                                    "a response compares with: the list length of an item-"
                                    "recognition trial)")
            trials["span"] = span.astype(np.int64)
        if "relevant" in trials:
            if _missing(trials["relevant"].to_numpy()).any():
                raise ArgumentError("the trial table's relevant column is missing (NaN) in "
                                    f"{int(_missing(trials['relevant'].to_numpy()).sum())} "
                                    "trials; name each trial's task-relevant feature")
            rel = trials["relevant"].astype(str)
            unknown = sorted(set(rel) - set(features))
            if unknown:
                raise ArgumentError(f"the relevant feature {unknown[0]!r} is not among the "
                                    f"features ({_names(features)})")
            trials["relevant"] = rel
        units = pd.DataFrame(index=pd.RangeIndex(n_u, name="unit")) if self.units is None \
            else pd.DataFrame(self.units)
        if len(units) != n_u:
            raise ArgumentError(f"the unit table has {len(units)} rows but activity has {n_u} "
                                "units; give one row per unit")
        perceptual = None
        if self.perceptual is not None:
            perceptual = np.asarray(self.perceptual, dtype=np.float64)
            if perceptual.ndim == 2 and len(items) == 1:
                perceptual = perceptual[:, None]
            if perceptual.ndim != 3 or perceptual.shape[:2] != (n_tr, len(items)):
                raise ArgumentError(f"perceptual features have shape {perceptual.shape}; "
                                    f"expected ({n_tr}, {len(items)}, dim): one vector per "
                                    "trial and item")
            if not np.isfinite(perceptual).all():
                raise ArgumentError("perceptual features hold NaN or infinite values")
        for key, value in (("activity", X), ("time", time), ("trials", trials),
                           ("features", features), ("onsets", onsets), ("items", items),
                           ("units", units), ("perceptual", perceptual),
                           ("attrs", dict(self.attrs)), ("name", str(self.name))):
            object.__setattr__(self, key, value)

    # ------------------------------------------------------------------ shape

    @property
    def n_trials(self) -> int:
        return self.activity.shape[0]

    @property
    def n_units(self) -> int:
        return self.activity.shape[2]

    @property
    def tasks(self) -> list[str]:
        """Task names in order of first appearance."""
        return list(dict.fromkeys(self.trials["task"]))

    def __repr__(self) -> str:
        return (f"TrialData({self.name!r}: {self.n_trials} trials × {self.time.size} times × "
                f"{self.n_units} units; items {list(self.items)}; features "
                f"{list(self.features)}; tasks {self.tasks})")

    def describe(self) -> pd.DataFrame:
        """What the data hold, one row each (the ``recording`` table of the report)."""
        rows = [("trials", str(self.n_trials)), ("units", str(self.n_units)),
                ("time points", f"{self.time.size} ({self.time[0]:g} to {self.time[-1]:g})"),
                ("items per trial", _names(self.items)),
                ("tasks", _names(self.tasks))]
        for f, v in self.features.items():
            rows.append((f"feature {f}", f"{len(np.unique(v))} values"))
        rows.append(("perceptual features", "none" if self.perceptual is None
                     else f"{self.perceptual.shape[2]} dimensions"))
        rows.append(("responses", "recorded" if "response" in self.trials else "none"))
        return pd.DataFrame(rows, columns=["property", "value"])

    # ------------------------------------------------------------------ transforms

    def take(self, trials: Any) -> TrialData:
        """The trials at ``trials`` (an index array or a boolean mask)."""
        idx = np.arange(self.n_trials)[np.asarray(trials)]
        return replace(self, activity=self.activity[idx],
                       trials=self.trials.iloc[idx].reset_index(drop=True),
                       features={f: v[idx] for f, v in self.features.items()},
                       onsets=self.onsets[idx],
                       perceptual=None if self.perceptual is None else self.perceptual[idx])

    def shuffled(self, seed: int = 0) -> TrialData:
        """The same activity with the stimuli of the trials permuted within each task.

        The null control of every decoding analysis: whatever the analyses find in it is
        what chance and the folds give, since no stimulus is tied to its activity any more.
        Features and perceptual codes move together (they describe the same stimulus);
        onsets, tasks and responses stay with their trials.
        """
        rng = np.random.default_rng(seed)
        perm = np.arange(self.n_trials)
        for task in self.tasks:
            rows = np.flatnonzero(self.trials["task"].to_numpy() == task)
            perm[rows] = rng.permutation(rows)
        return replace(self, features={f: v[perm] for f, v in self.features.items()},
                       perceptual=None if self.perceptual is None else self.perceptual[perm],
                       name=f"{self.name} (shuffled labels)",
                       attrs={**self.attrs, "shuffled_labels_seed": int(seed)})

    # ------------------------------------------------------------------ frames

    def frame_windows(self, frames: str = "items", window: Sequence[float] | None = None,
                      step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Start and stop of every frame of every trial on the time axis, ``[trial, frame]``.

        Args:
            frames: ``"items"``: one frame per item, ``[onset + window[0], onset +
                window[1])`` (default window: from the onset to the shortest gap between
                consecutive onsets, or to the end of the time axis for a single item).
                ``"time"``: consecutive frames of width ``step`` (default: the time axis's
                spacing) over ``window`` (default: from the latest first onset to the end
                of the time axis), the same for every trial.
            window: See ``frames``.
            step: Frame width for ``frames="time"``.

        Raises:
            ArgumentError: On an unknown mode, an empty or reversed window, or a frame that
                holds no time point.
        """
        if frames not in FRAME_MODES:
            raise ArgumentError(f"frames={frames!r}; choose one of {_names(FRAME_MODES)}")
        t = self.time
        dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        end = float(t[-1]) + dt
        if frames == "items":
            if step is not None:
                raise ArgumentError("step applies to frames='time' only; frames='items' "
                                    "takes one frame per item")
            if window is None:
                gaps = np.diff(self.onsets, axis=1)
                width = float(gaps.min()) if gaps.size else float((end - self.onsets).min())
                window = (0.0, width)
            a, b = self._window(window)
            start, stop = self.onsets + a, self.onsets + b
        else:
            if window is None:
                window = (float(self.onsets[:, 0].max()), end)
            a, b = self._window(window)
            step = dt if step is None else float(step)
            if not step > 0:
                raise ArgumentError(f"step={step} must be positive")
            count = int(np.floor((b - a) / step + 1e-9))
            if count < 1:
                raise ArgumentError(f"the window {a:g} to {b:g} is shorter than one step "
                                    f"({step:g})")
            edges = a + step * np.arange(count + 1)
            start = np.broadcast_to(edges[:-1], (self.n_trials, count)).copy()
            stop = np.broadcast_to(edges[1:], (self.n_trials, count)).copy()
        held = (t[None, None, :] >= start[..., None] - 1e-9 * dt) & \
            (t[None, None, :] < stop[..., None] - 1e-9 * dt)
        empty = ~held.any(-1)
        if empty.any():
            i, k = _first_bad(empty)
            raise ArgumentError(f"frame {k} of trial {i} ({start[i, k]:g} to {stop[i, k]:g}) "
                                "holds no time point; widen the window or the step")
        return start, stop

    @staticmethod
    def _window(window: Sequence[float]) -> tuple[float, float]:
        w = tuple(float(x) for x in window)
        if len(w) != 2 or not w[0] < w[1]:
            raise ArgumentError(f"window={list(window)} must be [start, stop] with start < stop")
        return w

    def to_activations(self, frames: str = "items", window: Sequence[float] | None = None,
                       step: float | None = None) -> xr.Dataset:
        """The Activations Dataset (docs/design.md) the N-back analyses read.

        Each frame's activity is the mean over the time points in its window
        (:meth:`frame_windows`); its labels are the features of the item shown most
        recently at the frame's start, so ``frames="items"`` labels frame ``k`` with item
        ``k`` (the N-back layout of Lei et al. 2024) and ``frames="time"`` carries a sample's
        labels through the delay that follows it. With time frames a frame need not show a
        new item, so only the analyses that read time (within- and cross-time decoding)
        keep their meaning; those that take every frame for a new stimulus (encoding
        sharing, Procrustes and swaps) need item frames.

        Per trial: ``task``; ``n`` (the trial table's, else the frame at which the last
        item appears: the first item is compared with the last, as in delayed
        match-to-sample); ``feature``, the task-relevant feature (the trial table's
        ``relevant``, else the first of :attr:`features`); ``response`` when recorded.

        Returns:
            Dataset with ``hidden`` (trial, frame, unit), ``perceptual`` (trial, frame,
            perc_unit) when given, one label variable per feature (trial, frame; attribute
            ``role="feature"``), ``item`` (index of the item shown), ``frame_start`` and
            ``frame_stop`` (trial, frame), and the per-trial variables above.

        Raises:
            ArgumentError: If a frame precedes every item of its trial, or see
                :meth:`frame_windows`.
        """
        start, stop = self.frame_windows(frames, window, step)
        t = self.time
        tol = 1e-9 * (float(np.median(np.diff(t))) if t.size > 1 else 1.0)
        held = (t[None, None, :] >= start[..., None] - tol) & \
            (t[None, None, :] < stop[..., None] - tol)
        weights = held / held.sum(-1, keepdims=True)
        hidden = np.einsum("ift,itu->ifu", weights, self.activity)
        shown = (self.onsets[:, None, :] <= start[..., None] + tol).sum(-1) - 1  # [trial, frame]
        if (shown < 0).any():
            i, k = _first_bad(shown < 0)
            raise ArgumentError(f"frame {k} of trial {i} starts at {start[i, k]:g}, before the "
                                f"trial's first item ({self.onsets[i, 0]:g}); start the window "
                                f"at or after every trial's first onset "
                                f"({self.onsets[:, 0].max():g})")
        n_frames = shown.shape[1]
        rows = np.arange(self.n_trials)[:, None]
        if "n" in self.trials:
            n = self.trials["n"].to_numpy(np.int64)
        else:
            last = shown == len(self.items) - 1
            n = np.where(last.any(1), last.argmax(1), n_frames - 1).astype(np.int64)
        relevant = self.trials["relevant"].to_numpy(str) if "relevant" in self.trials else \
            np.full(self.n_trials, next(iter(self.features)))
        data = {"hidden": (("trial", "frame", "unit"), hidden)}
        for f, v in self.features.items():
            data[f] = xr.Variable(("trial", "frame"), v[rows, shown], {"role": FEATURE_ROLE})
        if self.perceptual is not None:
            data["perceptual"] = (("trial", "frame", "perc_unit"), self.perceptual[rows, shown])
        data.update({
            "item": (("trial", "frame"), shown.astype(np.int64)),
            "frame_start": (("trial", "frame"), start),
            "frame_stop": (("trial", "frame"), stop),
            "task": (("trial",), self.trials["task"].to_numpy(str)),
            "n": (("trial",), n),
            "feature": (("trial",), relevant.astype(str)),
        })
        if "span" in self.trials:
            data["span"] = (("trial",), self.trials["span"].to_numpy(np.int64))
        if "response" in self.trials:
            response = self.trials["response"]
            data["response"] = (("trial",), response.to_numpy(str)
                                if response.dtype == object else response.to_numpy())
        attrs = {k: v for k, v in self.attrs.items() if isinstance(v, str | int | float)}
        attrs.update({"name": self.name, "source": str(self.attrs.get("source", "recording")),
                      "frames": frames, "items": ",".join(self.items),
                      "features": ",".join(self.features), "network": "recorded"})
        coords = {"unit": np.arange(self.n_units), "frame": np.arange(n_frames)}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_xarray(self) -> xr.Dataset:
        """The data as a Dataset that :meth:`from_xarray` reads back (e.g. to save it).

        Dims ``trial``, ``time``, ``unit``, ``item`` (and ``perc_unit``): ``activity``
        (trial, time, unit), one variable per feature and ``onset`` (trial, item), the
        trial table's columns (trial) and the unit table's columns as coordinates.
        """
        data: dict[str, Any] = {"activity": (("trial", "time", "unit"), self.activity),
                                "onset": (("trial", "item"), self.onsets)}
        for f, v in self.features.items():
            data[f] = xr.Variable(("trial", "item"), v, {"role": FEATURE_ROLE})
        for column in self.trials.columns:
            values = self.trials[column]
            data[str(column)] = (("trial",), values.to_numpy(str) if values.dtype == object
                                 else values.to_numpy())
        if self.perceptual is not None:
            data["perceptual"] = (("trial", "item", "perc_unit"), self.perceptual)
        coords: dict[str, Any] = {"time": self.time, "item": list(self.items)}
        for column in self.units.columns:
            values = self.units[column]
            coords[f"unit_{column}"] = ("unit", values.to_numpy(str) if values.dtype == object
                                        else values.to_numpy())
        attrs = {k: v for k, v in self.attrs.items() if isinstance(v, str | int | float)}
        return xr.Dataset(data, coords=coords, attrs={**attrs, "name": self.name})

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_arrays(
        cls,
        activity: Any,
        trials: pd.DataFrame,
        *,
        features: Sequence[str],
        items: Sequence[str] | None = None,
        time: Any = None,
        onset: str = "onset",
        task: str = "task",
        response: str = "response",
        relevant: str | None = None,
        units: pd.DataFrame | None = None,
        perceptual: Any = None,
        name: str = "recording",
        attrs: Mapping[str, Any] | None = None,
    ) -> TrialData:
        """From activity ``[trial, time, unit]`` and a trial table (one row per trial).

        The table names each item's fields ``<item>_<field>``: with ``items=["sample",
        "test"]`` and ``features=["direction"]`` it needs the columns
        ``sample_direction``, ``test_direction``, ``sample_onset`` and ``test_onset``. With
        a single item (``items`` None) the columns are the feature names themselves and
        ``onset`` (which may be left out: the item then appears at the first time point).
        The columns ``task`` (default one task ``"task"``), ``response``, ``n`` and
        ``relevant`` are read when present.

        Args:
            activity: ``[n_trials, n_time, n_units]``.
            trials: The trial table.
            features: Stimulus features of the items (column stems).
            items: Item names in presentation order (column prefixes).
            time: The time axis (default ``0, 1, ...``); onsets are on it.
            onset: Field of the onset columns (``<item>_<onset>``).
            task: Column of task names.
            response: Column of responses.
            relevant: Column naming each trial's task-relevant feature, or a feature name
                for every trial (default: the ``relevant`` column if any, else the first of
                ``features``).
            units: Unit descriptors, one row per unit.
            perceptual: ``[n_trials, n_items, dim]`` perceptual code of each item.
            name: Name of the data.
            attrs: Free metadata.

        Raises:
            ArgumentError: If a column is missing or any check of :class:`TrialData` fails.
        """
        if isinstance(features, str):
            features = [features]
        if not features:
            raise ArgumentError("no stimulus feature given; name at least one (e.g. "
                                "features=['direction'])")
        table = pd.DataFrame(trials).reset_index(drop=True)
        names = tuple(items) if items is not None else ("",)
        columns = list(map(str, table.columns))

        def column(item: str, fld: str, what: str) -> np.ndarray:
            col = f"{item}_{fld}" if item else fld
            if col not in table:
                raise ArgumentError(f"the trial table has no column {col!r} ({what}); its "
                                    f"columns are {_names(columns)}")
            return table[col].to_numpy()

        feats = {f: np.stack([column(i, f, f"feature {f!r} of item {i!r}" if i else
                                     f"feature {f!r}") for i in names], 1)
                 for f in features}
        X = np.asarray(activity)
        t_axis = np.arange(X.shape[1] if X.ndim == 3 else 0, dtype=float) if time is None \
            else np.asarray(time, dtype=float)
        if items is None and onset not in table:
            onsets = np.full((len(table), 1), t_axis[0] if t_axis.size else 0.0)
        else:
            onsets = np.stack([np.asarray(column(i, onset, f"onset of item {i!r}" if i else
                                                 "onset of the item"), dtype=float)
                               for i in names], 1)
        out = pd.DataFrame(index=table.index)
        if task in table:
            out["task"] = table[task]
        elif task != "task":
            column("", task, "task of each trial")
        if response in table:
            out["response"] = table[response]
        elif response != "response":
            column("", response, "response of each trial")
        for col in ("n", "span"):
            if col in table:
                out[col] = table[col]
        if relevant is not None and relevant in features:
            out["relevant"] = relevant
        elif relevant is not None:
            out["relevant"] = column("", relevant, "relevant feature of each trial")
        elif "relevant" in table:
            out["relevant"] = table["relevant"]
        return cls(X, out, feats, onsets, time=t_axis if X.ndim == 3 else time,
                   items=tuple(items) if items is not None else ("item",), units=units,
                   perceptual=perceptual, name=name, attrs=dict(attrs or {}))

    @classmethod
    def from_xarray(
        cls,
        ds: xr.Dataset,
        *,
        activity: str | None = None,
        features: Sequence[str] | None = None,
        name: str | None = None,
        **table_options: Any,
    ) -> TrialData:
        """From an xarray Dataset, in either of two layouts.

        * Time layout (what :meth:`to_xarray` writes): ``activity`` (trial, time, unit),
          features and ``onset`` on (trial, item) — or per-trial columns
          ``<item>_<field>`` read as :meth:`from_arrays` reads a table — and per-trial
          descriptors on (trial).
        * The Activations Dataset of a wmgeom recording (docs/design.md): ``hidden``
          (trial, frame, unit) with per-frame labels; every frame is an item with its
          onset at the frame's index.

        Args:
            ds: The Dataset.
            activity: Its activity variable (default ``activity``, else ``hidden``).
            features: Features to keep (default: the Activations Dataset's labels, or every
                (trial, item) variable besides ``onset``).
            name: Name of the data (default the Dataset's ``name`` attribute).
            **table_options: Keywords of :meth:`from_arrays` (``items``, ``onset``,
                ``task``, ...) for the per-trial column layout.

        Raises:
            ArgumentError: If the activity variable or a feature is missing, or see
                :class:`TrialData`.
        """
        var = activity or ("activity" if "activity" in ds else "hidden")
        if var not in ds.data_vars:
            three = [str(v) for v in ds.data_vars if ds[v].ndim == 3]
            raise ArgumentError(f"the Dataset has no activity variable {var!r}; its 3-D "
                                f"variables are {_names(three) or 'none'} (pass activity=...)")
        dims = tuple(ds[var].dims)
        name = name or str(ds.attrs.get("name", ds.attrs.get("run", "recording")))
        attrs = {k: v for k, v in ds.attrs.items() if isinstance(v, str | int | float)}
        if len(dims) != 3 or dims[0] != "trial" or dims[1] not in ("time", "frame"):
            raise ArgumentError(f"variable {var!r} has dims {dims}; expected (trial, time, "
                                "unit) or (trial, frame, unit)")
        per_trial = [str(v) for v in ds.data_vars if ds[v].dims == ("trial",)]
        table = pd.DataFrame({v: ds[v].values for v in per_trial})
        if dims[1] == "frame":  # an Activations Dataset: frames are items
            names = list(features) if features is not None else label_features(ds)
            missing = [f for f in names if f not in ds or ds[f].dims != ("trial", "frame")]
            if missing or not names:
                raise ArgumentError(f"the Activations Dataset has no per-frame labels "
                                    f"{_names(missing) or '(none found)'}")
            n_frames = ds.sizes["frame"]
            out = pd.DataFrame({"task": table["task"]} if "task" in table else {})
            for col in ("n", "span"):
                if col in table:
                    out[col] = table[col]
            if "feature" in table:
                out["relevant"] = table["feature"].astype(str)
            if "response" in table:
                out["response"] = table["response"]
            if out.empty:
                out = pd.DataFrame(index=pd.RangeIndex(ds.sizes["trial"]))
            perceptual = ds["perceptual"].values if "perceptual" in ds else None
            return cls(ds[var].values, out, {f: ds[f].values for f in names},
                       np.broadcast_to(np.arange(n_frames, dtype=float),
                                       (ds.sizes["trial"], n_frames)),
                       time=np.arange(n_frames, dtype=float),
                       items=tuple(f"frame{k}" for k in range(n_frames)),
                       perceptual=perceptual, name=name, attrs=attrs)
        X = ds[var].transpose("trial", "time", ...).values
        time = ds["time"].values if "time" in ds.coords else None
        unit_cols = [str(c) for c in ds.coords if str(c).startswith("unit_")
                     and ds[c].dims == (dims[2],)]
        units = pd.DataFrame({c.removeprefix("unit_"): ds[c].values for c in unit_cols}) \
            if unit_cols else None
        if "item" in ds.dims:
            item_vars = [str(v) for v in ds.data_vars if ds[v].dims == ("trial", "item")]
            names = list(features) if features is not None else \
                [v for v in item_vars if v != "onset"]
            missing = [f for f in [*names, "onset"] if f not in item_vars]
            if missing:
                raise ArgumentError(f"the Dataset has no (trial, item) variable "
                                    f"{_names(missing)}; its (trial, item) variables are "
                                    f"{_names(item_vars) or 'none'}")
            items = [str(i) for i in ds["item"].values] if "item" in ds.coords else None
            perceptual = ds["perceptual"].values if "perceptual" in ds else None
            out = table.copy()
            return cls(X, out, {f: ds[f].values for f in names}, ds["onset"].values,
                       time=time, items=items, units=units, perceptual=perceptual, name=name,
                       attrs=attrs)
        if features is None:
            raise ArgumentError("name the stimulus features (features=[...]): the Dataset "
                                "has no item dimension to find them on")
        return cls.from_arrays(X, table, features=features, time=time, units=units,
                               name=name, attrs=attrs, **table_options)

    @classmethod
    def from_nwb(
        cls,
        path: Any,
        *,
        features: Sequence[str],
        items: Sequence[str] | None = None,
        activity: str = "units",
        bin_size: float = 0.05,
        window: Sequence[float] | None = None,
        align: str = "start_time",
        onset: str = "onset",
        task: str = "task",
        response: str = "response",
        relevant: str | None = None,
        name: str | None = None,
    ) -> TrialData:
        """From an NWB session (needs ``pynwb``: ``pip install "wmgeom[neuro]"``).

        The trials table is read as :meth:`from_arrays` reads a table (item fields
        ``<item>_<feature>`` and ``<item>_<onset>``, onsets in the file's seconds); the
        activity is the units' spike times counted in bins (spikes per second) or a
        ``TimeSeries`` averaged over them, every trial aligned to the column ``align``.

        Args:
            path: The ``.nwb`` file.
            features: Stimulus features of the items.
            items: Item names in presentation order.
            activity: ``"units"`` (bin the units table's spike times) or the name of a
                ``TimeSeries`` in acquisition or a processing module.
            bin_size: Bin width in seconds.
            window: ``[start, stop]`` in seconds around the alignment event (default: from
                the event to the shortest trial's ``stop_time``).
            align: Trials-table column each trial is aligned to (``start_time``, or an
                event such as ``sample_onset``); the time axis is relative to it.
            onset: Field of the onset columns.
            task: Column of task names (one task ``"task"`` if absent).
            response: Column of responses (optional).
            relevant: Column naming each trial's relevant feature, or a feature name.
            name: Name of the data (default the session id, else the file's stem).

        Raises:
            ArgumentError: If the file has no trials table, lacks a column, the activity
                source or a sample in a bin, or see :meth:`from_arrays`.
            WmgeomError: If the file is missing or unreadable, or pynwb is not installed.
        """
        from wmgeom.data.nwb import read_nwb

        read = read_nwb(path, items=items, activity=activity, bin_size=bin_size,
                        window=window, align=align, onset=onset)
        return cls.from_arrays(read["activity"], read["trials"], features=features,
                               items=items, time=read["time"], onset=onset, task=task,
                               response=response, relevant=relevant, units=read["units"],
                               name=name or read["name"], attrs=read["attrs"])
