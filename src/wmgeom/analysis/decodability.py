"""Decodability of object properties within a time step (Lei et al. 2024, §4.1, Fig. 2b, A2a, A5).

Cross-validated one-vs-rest linear SVMs from a decoder bank
(:mod:`~wmgeom.analysis.bank`) are fitted and validated on the activations of one frame:
which properties of a stimulus are decodable where, task-relevant or not. Pass ``bank=`` to
reuse fitted decoders, or let each function fit the decoders it needs.

Notation follows Lei et al. 2024: ``E(S=i, T=i)`` is the encoding space of stimulus ``i``
(the activations at frame ``i`` decoding the stimulus shown at frame ``i``) and
``M(S=i, T=k)`` its memory space at a later frame ``k`` (activations at frame ``k``, labels
of stimulus ``i``).

The private helpers here (task and frame checks, array input, fetching a task's decoders)
are shared with :mod:`~wmgeom.analysis.generalization`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from wmgeom.analysis.bank import DecoderBank, StepDecoders, fit_step_decoders
from wmgeom.analysis.data import ActivationArrays, activation_arrays
from wmgeom.errors import WmgeomError

__all__ = ["relevant_irrelevant_decoding", "within_time_decoding"]


# --------------------------------------------------------------------------- shared helpers


def _step_decoders(arrays: ActivationArrays, task: str, bank: DecoderBank | None,
                   decode_kw: dict, steps: str) -> StepDecoders:
    """The task's decoders from ``bank``, or fitted now."""
    if bank is not None:
        if task not in bank:
            raise WmgeomError(f"the decoder bank has no task {task!r}; it has {sorted(bank)}")
        return bank[task]
    return fit_step_decoders(arrays.subset(arrays.task == task), dict(decode_kw), steps)


def _feature_rows(step: StepDecoders, pair: tuple[int, int]) -> list[dict[str, Any]]:
    """Cross-validated scores of every feature of the decoders of ``pair``."""
    c = step.condition(*pair)
    res = step.result
    rows = []
    for _, r in res.features[res.features["condition"] == res.conditions[c]].iterrows():
        dec = res.decoders[(res.decoders["condition"] == res.conditions[c])
                           & (res.decoders["feature"] == r["feature"])]
        rows.append({"feature": r["feature"], "relevant": r["feature"] == step.relevant,
                     "accuracy": r["accuracy"], "balanced_accuracy": r["balanced_accuracy"],
                     "decoder_accuracy": dec["accuracy"].mean(),
                     "decoder_balanced_accuracy": dec["balanced_accuracy"].mean(),
                     "chance": r["chance"], "n_classes": r["n_classes"], "n_trials": r["n"]})
    return rows


def _check_frames(frames: Sequence[int] | None, n_frames: int) -> list[int]:
    frames = list(range(n_frames)) if frames is None else [int(f) for f in frames]
    bad = [f for f in frames if not 0 <= f < n_frames]
    if bad:
        raise WmgeomError(f"frames {bad} out of range; the sequences have {n_frames} frames")
    return frames


def _tasks(arrays: ActivationArrays, tasks: Sequence[str] | None) -> list[str]:
    have = list(dict.fromkeys(arrays.task.tolist()))
    if tasks is None:
        return have
    missing = [t for t in tasks if t not in have]
    if missing:
        raise WmgeomError(f"no trials of tasks {missing}; recorded tasks are {have}")
    return list(tasks)


def _arrays(data: Any, space: str, features: Sequence[str] | None,
            decode_kw: dict) -> ActivationArrays:
    """Pull array-input keywords (labels, task, n, relevant) out of ``decode_kw``."""
    extra = {k: decode_kw.pop(k) for k in ("labels", "task", "n", "relevant") if k in decode_kw}
    return activation_arrays(data, space=space, features=features, **extra)


# --------------------------------------------------------------------------- within a step


def relevant_irrelevant_decoding(
    data: Any,
    *,
    frames: Sequence[int] | None = (0,),
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bank: DecoderBank | None = None,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Decoding of every object property per task, marked task-relevant or -irrelevant.

    Lei et al. 2024, Fig. 2b / A2a (first frame, ``frames=(0,)``): at frame ``t`` the property
    of the stimulus shown at ``t`` is decoded from the activations at ``t`` (the encoding space
    ``E(S=t, T=t)``), for every task separately, cross-validated.

    Args:
        data: Activations Dataset, :class:`ActivationArrays`, or an array
            ``[trial, frame, unit]`` together with the keywords ``labels=``, ``task=``,
            ``n=`` and ``relevant=`` of :func:`~wmgeom.analysis.data.activation_arrays`.
        frames: Frames to decode at (None: all).
        space: Activation variable of a Dataset.
        tasks: Tasks to analyse (default all recorded).
        features: Features to decode (default all labelled).
        bank: Decoders already fitted on these activations (:func:`decoder_bank`).
        **decode_kw: Passed to :func:`cross_validated_decoding` (``cv``, ``Cs``, ``seed``,
            ``device``, ...).

    Returns:
        One row per task × frame × feature. Columns: ``task``, ``n``, ``relevant_feature``,
        ``frame``, ``feature``, ``relevant`` (bool), ``accuracy``, ``balanced_accuracy``
        (multi-class, argmax over one-vs-rest decoders), ``decoder_accuracy``,
        ``decoder_balanced_accuracy`` (mean over the feature's one-vs-rest decoders),
        ``chance``, ``n_classes``, ``n_trials``.
    """
    arrays = _arrays(data, space, features, decode_kw)
    frames = _check_frames(frames, arrays.n_frames)
    rows = []
    for task in _tasks(arrays, tasks):
        step = _step_decoders(arrays, task, bank, decode_kw, "encoding")
        for fr in frames:
            for r in _feature_rows(step, (fr, fr)):
                rows.append({"task": task, "n": step.n, "relevant_feature": step.relevant,
                             "frame": fr, **r})
    return pd.DataFrame(rows)


def within_time_decoding(
    data: Any,
    *,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bank: DecoderBank | None = None,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Stimulus ``i`` decoded at every step ``j >= i``, fitted and validated at ``j`` (Fig. A5).

    Lei et al. 2024, Fig. A5, trains SVMs at each time step on the relevant and the
    irrelevant features; here every stimulus of the sequence is decoded at every later step, so the
    table is a stimulus × step matrix per task and feature (``j == i`` is the encoding
    space, ``j > i`` the memory spaces ``M(S=i, T=j)``), cross-validated within each step.

    Args:
        data: Activations Dataset, :class:`ActivationArrays` or array input.
        space: Activation variable of a Dataset.
        tasks: Tasks to analyse (default all recorded).
        features: Features to decode (default all labelled).
        bank: Decoders already fitted on these activations (:func:`decoder_bank`).
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per task × stimulus ``i`` × step ``j >= i`` × feature. Columns: ``task``,
        ``n``, ``relevant_feature``, ``stimulus``, ``frame`` (``j``), ``lag`` (``j - i``),
        ``in_memory`` (``j <= i + N``: the stimulus is still needed), ``feature``,
        ``relevant`` and the scores of :func:`relevant_irrelevant_decoding`.
    """
    arrays = _arrays(data, space, features, decode_kw)
    rows = []
    for task in _tasks(arrays, tasks):
        step = _step_decoders(arrays, task, bank, decode_kw, "all")
        for i, j in step.pairs:
            for r in _feature_rows(step, (i, j)):
                rows.append({"task": task, "n": step.n, "relevant_feature": step.relevant,
                             "stimulus": i, "frame": j, "lag": j - i,
                             "in_memory": j <= i + step.n, **r})
    return pd.DataFrame(rows)
