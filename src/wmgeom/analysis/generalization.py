"""Decoders generalizing across tasks, frames and stimuli (Lei et al. 2024, §4.1, §4.3).

Decoders fitted where a stimulus is encoded are tested elsewhere: on another task's
activations, on later memory spaces, on the encoding of other stimuli. Decodability within
one time step is :mod:`~wmgeom.analysis.decodability`.

All analyses read cross-validated one-vs-rest linear SVMs from a decoder bank
(:mod:`~wmgeom.analysis.bank`: every fold, ``C``, class, stimulus and step of a task in one
batched solve); pass ``bank=`` to reuse one, or let each function fit the decoders it
needs. Fold decoders are scored on other data:

* on the **same trials** (other frames, other labels of the same sequences) a trial is
  scored by the decoder of the fold that held it out, so no decoder sees its test trials;
* on **other trials** (another task) every fold decoder scores every trial, and the scores
  are averaged over folds.

Notation follows Lei et al. 2024: ``E(S=i, T=i)`` is the encoding space of stimulus ``i``
(the activations at frame ``i`` decoding the stimulus shown at frame ``i``) and
``M(S=i, T=k)`` its memory space at a later frame ``k`` (activations at frame ``k``, labels
of stimulus ``i``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from wmgeom.analysis.bank import DecoderBank, StepDecoders
from wmgeom.analysis.data import ActivationArrays
from wmgeom.analysis.decodability import (
    _arrays,
    _check_frames,
    _step_decoders,
    _tasks,
)
from wmgeom.analysis.decoders import DecodingResult, score_decisions

__all__ = [
    "cross_task_generalization",
    "cross_time_decoding",
    "encoding_space_sharing",
    "generalization_summary",
    "own_subspace_control",
    "transfer_scores",
    "transfer_out_of_fold",
    "transfer_to_other_trials",
]


# --------------------------------------------------------------------------- transfer


def transfer_out_of_fold(result: DecodingResult, X_target: np.ndarray) -> np.ndarray:
    """Decision values of every source condition's decoders on target conditions, out of fold.

    The target data must hold the same trials as the data the decoders were fitted on
    (e.g. other frames of the same sequences); trial ``t`` is scored by the decoders of the
    fold that held ``t`` out.

    Args:
        result: Cross-validated decoders with ``n_src`` conditions.
        X_target: ``[n_tgt, n, D]`` (or ``[n, D]``) target activations.

    Returns:
        ``[n_src, n_tgt, n, K]`` decision values (NaN for trials never held out).
    """
    X_target = X_target[None] if X_target.ndim == 2 else X_target
    n_src, K = result.coef.shape[0], result.coef.shape[2]
    n_tgt, n, _ = X_target.shape
    out = np.full((n_src, n_tgt, n, K), np.nan)
    for o, (_, te) in enumerate(result.folds):  # one batched product per fold
        d = np.einsum("tnd,skd->stnk", X_target[:, te], result.coef[:, o])
        out[:, :, te] = d + result.intercept[:, o][:, None, None, :]
    return out


def transfer_to_other_trials(result: DecodingResult, X_target: np.ndarray) -> np.ndarray:
    """Decision values of every fold decoder on every trial of other data.

    Args:
        result: Cross-validated decoders with ``n_src`` conditions.
        X_target: ``[n_tgt, n, D]`` (or ``[n, D]``) activations of other trials.

    Returns:
        ``[n_src, n_tgt, n_folds, n, K]`` decision values.
    """
    X_target = X_target[None] if X_target.ndim == 2 else X_target
    d = np.einsum("tnd,sokd->stonk", X_target, result.coef)
    return d + result.intercept[:, None, :, None, :]


def _targets(result: DecodingResult, labels: dict[str, np.ndarray]) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Class codes ``[..., n, F]`` and one-vs-rest labels ``[..., n, K]`` of target labels.

    Values never seen in training get code -1 (always counted wrong).
    """
    codes = []
    for name, cls in result.classes.items():
        lab = np.asarray(labels[name])
        pos = np.searchsorted(cls, lab)
        pos = np.clip(pos, 0, len(cls) - 1)
        codes.append(np.where(cls[pos] == lab, pos, -1))
    codes = np.stack(codes, -1)
    idx = result.decoder_index
    fi, ci = idx["feature_index"].to_numpy(), idx["class_index"].to_numpy()
    Y = np.where(codes[..., fi] == ci, 1.0, -1.0)
    return codes, Y


def transfer_scores(result: DecodingResult, decision: np.ndarray,
            labels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-feature accuracies ``[..., F]`` (multi-class and mean one-vs-rest)."""
    codes, Y = _targets(result, labels)
    codes = np.broadcast_to(codes, decision.shape[:-1] + codes.shape[-1:])
    Y = np.broadcast_to(Y, decision.shape)
    per_k, per_f = score_decisions(decision, codes, Y, result.decoder_index,
                                   list(result.classes.values()))
    fi = result.decoder_index["feature_index"].to_numpy()
    dec_acc = np.stack([per_k["accuracy"][..., fi == f].mean(-1)
                        for f in range(len(result.classes))], -1)
    dec_bal = np.stack([per_k["balanced_accuracy"][..., fi == f].mean(-1)
                        for f in range(len(result.classes))], -1)
    return {"accuracy": per_f["accuracy"], "balanced_accuracy": per_f["balanced_accuracy"],
            "decoder_accuracy": dec_acc, "decoder_balanced_accuracy": dec_bal}


_SCORE_COLUMNS = ("accuracy", "balanced_accuracy", "decoder_accuracy",
                  "decoder_balanced_accuracy")


# --------------------------------------------------------------------------- across tasks


def cross_task_generalization(
    data: Any,
    *,
    frame: int = 0,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bank: DecoderBank | None = None,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Decoders fit on one task's activations, tested on another's (Lei et al. 2024, Fig. 2a, 2c, A2b).

    For every task ``a`` the properties of the stimulus at ``frame`` are decoded with
    cross-validation (the *validation* accuracy); each fold's decoders are then applied to
    every trial of every other task ``b`` (the *generalisation* accuracy, averaged over
    folds). Run it on ``space="hidden"`` and ``space="cell"`` for LSTMs.

    Args:
        data: Activations Dataset, :class:`ActivationArrays` or array input (see
            :func:`~wmgeom.analysis.decodability.relevant_irrelevant_decoding`).
        frame: Frame whose activations and stimulus are decoded (Lei et al. 2024 decode the first).
        space: Activation variable of a Dataset.
        tasks: Tasks to include (default all recorded).
        features: Features to decode (default all labelled).
        bank: Decoders already fitted on these activations (:func:`decoder_bank`).
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per feature × train task × test task. Columns: ``space``, ``feature``,
        ``train_task``, ``test_task``, ``train_n``, ``test_n``, ``train_relevant``,
        ``test_relevant`` (task-relevant features), ``kind`` (``validation`` when the tasks
        are equal, else ``generalization``), ``same_relevant`` (both tasks share their
        relevant feature), ``accuracy``, ``balanced_accuracy``, ``decoder_accuracy``,
        ``decoder_balanced_accuracy``, ``chance``.
    """
    arrays = _arrays(data, space, features, decode_kw)
    frame = _check_frames([frame], arrays.n_frames)[0]
    names = _tasks(arrays, tasks)
    subs = {t: arrays.subset(arrays.task == t) for t in names}
    rows = []
    for a in names:
        sa = subs[a]
        step = _step_decoders(arrays, a, bank, decode_kw, "encoding")
        res = step.select([(frame, frame)])
        feats = list(res.classes)
        for b in names:
            sb = subs[b]
            if a == b:
                s = transfer_scores(res, res.decision[0], {f: v[:, frame] for f, v in sa.labels.items()})
                vals = {k: v for k, v in s.items()}
            else:
                d = transfer_to_other_trials(res, sb.X[:, frame])[0, 0]  # [folds, n, K]
                s = transfer_scores(res, d, {f: v[:, frame] for f, v in sb.labels.items()})
                vals = {k: v.mean(0) for k, v in s.items()}  # mean over folds
            for fi, f in enumerate(feats):
                rows.append({"space": space, "feature": f, "train_task": a, "test_task": b,
                             "train_n": int(sa.n[0]), "test_n": int(sb.n[0]),
                             "train_relevant": sa.relevant[0], "test_relevant": sb.relevant[0],
                             "kind": "validation" if a == b else "generalization",
                             "same_relevant": sa.relevant[0] == sb.relevant[0],
                             **{c: float(vals[c][fi]) for c in _SCORE_COLUMNS},
                             "chance": 1.0 / len(res.classes[f])})
    return pd.DataFrame(rows)


def generalization_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Validation vs generalisation accuracy per feature (Lei et al. 2024, Fig. 2c).

    Generalisation is averaged over pairs of tasks with *different* relevant features, as
    in Lei et al. 2024; validation over the diagonal.

    Args:
        table: Output of :func:`cross_task_generalization` (any extra grouping columns such
            as ``model`` or ``architecture`` are kept).

    Returns:
        Columns: the grouping columns present among ``model``, ``architecture``,
        ``regime``, ``space``, then ``feature``, ``kind``, ``accuracy``, ``decoder_accuracy``,
        ``n_pairs``.
    """
    sel = table[(table["kind"] == "validation") | ~table["same_relevant"]]
    keys = [c for c in ("model", "architecture", "regime", "space") if c in sel] + [
        "feature", "kind"]
    return (sel.groupby(keys, sort=False)
            .agg(accuracy=("accuracy", "mean"), decoder_accuracy=("decoder_accuracy", "mean"),
                 n_pairs=("accuracy", "size")).reset_index())


# --------------------------------------------------------------------------- across time and stimuli


def _encoding_decoders(arrays: ActivationArrays, task: str, bank: DecoderBank | None,
                       decode_kw: dict) -> tuple[StepDecoders, DecodingResult, np.ndarray]:
    """Decoders of E(S=i, T=i) for every frame i (condition i), and X [T, n, D]."""
    step = _step_decoders(arrays, task, bank, decode_kw, "encoding")
    return step, step.select([(i, i) for i in range(step.n_frames)]), step.X


def cross_time_decoding(
    data: Any,
    *,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bank: DecoderBank | None = None,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Encoding-space decoders tested on later memory spaces (Lei et al. 2024, Fig. 4b, 4c).

    Decoders fit on ``E(S=i, T=i)`` (frame ``i``, labels of stimulus ``i``) are tested on
    ``M(S=i, T=k)`` (frame ``k >= i``, still the labels of stimulus ``i``) of the held-out
    trials of each fold. ``k == i`` is the cross-validated encoding accuracy. A stable
    (slot-like) memory subspace keeps the accuracy high at ``k > i``; a rotating one does not.

    Args:
        data: Activations Dataset, :class:`ActivationArrays` or array input.
        space: Activation variable of a Dataset.
        tasks: Tasks to analyse separately (default all recorded).
        features: Features to decode (default all labelled).
        bank: Decoders already fitted on these activations (:func:`decoder_bank`).
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per task × feature × stimulus ``i`` × frame ``k >= i``. Columns: ``task``,
        ``n``, ``relevant_feature``, ``feature``, ``relevant``, ``stimulus``, ``frame``,
        ``lag`` (``k - i``), ``kind`` (``encoding`` or ``memory``), ``executive`` (frame
        ``k >= N``: a response is due), ``recall`` (stimulus ``i`` is compared at frame
        ``k``: ``k == i + N`` in N-back trials; ``k - N <= i < k - N + span`` in general,
        :class:`~wmgeom.analysis.data.ActivationArrays`), ``accuracy``,
        ``balanced_accuracy``, ``decoder_accuracy``, ``decoder_balanced_accuracy``,
        ``chance``.
    """
    arrays = _arrays(data, space, features, decode_kw)
    rows = []
    for task in _tasks(arrays, tasks):
        sub = arrays.subset(arrays.task == task)
        _, res, X = _encoding_decoders(arrays, task, bank, decode_kw)
        T = X.shape[0]
        d = transfer_out_of_fold(res, X)  # [T_src, T_tgt, n, K]
        labels = {f: np.broadcast_to(v.T[:, None], (T, T, v.shape[0]))
                  for f, v in sub.labels.items()}  # labels of the source stimulus i
        s = transfer_scores(res, d, labels)
        n_back, span = int(sub.n[0]), int(sub.span[0])
        rel = sub.relevant[0]
        for i in range(T):
            for k in range(i, T):
                for fi, f in enumerate(res.classes):
                    rows.append({"task": task, "n": n_back, "relevant_feature": rel,
                                 "feature": f, "relevant": f == rel, "stimulus": i, "frame": k,
                                 "lag": k - i, "kind": "encoding" if k == i else "memory",
                                 "executive": k >= n_back,
                                 "recall": k >= n_back and k - n_back <= i < k - n_back + span,
                                 **{c: float(s[c][i, k, fi]) for c in _SCORE_COLUMNS},
                                 "chance": 1.0 / len(res.classes[f])})
    return pd.DataFrame(rows)


def encoding_space_sharing(
    data: Any,
    *,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    bank: DecoderBank | None = None,
    control_seed: int = 0,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Encoding-space decoders of stimulus ``i`` tested on the encoding of stimulus ``j``.

    Lei et al. 2024, Fig. 4d (H2 vs H3): decoders fit on ``E(S=i, T=i)`` are tested on
    ``E(S=j, T=j)`` (frame ``j``, labels of stimulus ``j``) of the held-out trials. Equal
    validation (``i == j``) and generalisation (``i != j``) accuracies mean one encoding
    subspace shared by all incoming stimuli.

    The null (``null_accuracy``) is the same test on an H3 network built from these
    activations: each frame's states rotated about their mean by a random orthogonal matrix
    of its own (:func:`own_subspace_control`), so every stimulus is encoded with the same
    geometry, as decodable as here (the fitted decoders rotate with the data), but in a
    subspace of its own. Validation rows hold the accuracy itself there.

    Args:
        data: Activations Dataset, :class:`ActivationArrays` or array input.
        space: Activation variable of a Dataset.
        tasks: Tasks to analyse separately (default all recorded).
        features: Features to decode (default all labelled).
        bank: Decoders already fitted on these activations (:func:`decoder_bank`).
        control_seed: Seed of the null's random rotations.
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per task × feature × train frame ``i`` × test frame ``j``. Columns:
        ``task``, ``n``, ``relevant_feature``, ``feature``, ``relevant``, ``train_frame``,
        ``test_frame``, ``kind`` (``validation`` or ``generalization``), ``accuracy``,
        ``balanced_accuracy``, ``decoder_accuracy``, ``decoder_balanced_accuracy``, ``chance``,
        ``null_accuracy``.
    """
    arrays = _arrays(data, space, features, decode_kw)
    rows = []
    rng = np.random.default_rng(control_seed)
    for task in _tasks(arrays, tasks):
        sub = arrays.subset(arrays.task == task)
        _, res, X = _encoding_decoders(arrays, task, bank, decode_kw)
        T = X.shape[0]
        d = transfer_out_of_fold(res, X)  # [T_src, T_tgt, n, K]
        labels = {f: np.broadcast_to(v.T[None], (T, T, v.shape[0]))
                  for f, v in sub.labels.items()}  # labels of the target stimulus j
        s = transfer_scores(res, d, labels)
        null = transfer_scores(res, transfer_out_of_fold(res, own_subspace_control(X, rng)),
                       labels)["accuracy"]
        rel = sub.relevant[0]
        for i in range(T):
            for j in range(T):
                for fi, f in enumerate(res.classes):
                    rows.append({"task": task, "n": int(sub.n[0]), "relevant_feature": rel,
                                 "feature": f, "relevant": f == rel, "train_frame": i,
                                 "test_frame": j,
                                 "kind": "validation" if i == j else "generalization",
                                 **{c: float(s[c][i, j, fi]) for c in _SCORE_COLUMNS},
                                 "chance": 1.0 / len(res.classes[f]),
                                 "null_accuracy": float((s["accuracy"] if i == j
                                                         else null)[i, j, fi])})
    return pd.DataFrame(rows)


def own_subspace_control(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each condition's states rotated about their mean by a Haar-random rotation of its own.

    The H3 control of :func:`encoding_space_sharing`: ``X[t]`` keeps its geometry (every
    distance between its trials) but no longer shares a subspace with ``X[s]``.

    Args:
        X: ``[T, n, D]`` activations of ``T`` conditions.
        rng: Random generator.
    """
    T, _, D = X.shape
    Q, R = np.linalg.qr(rng.standard_normal((T, D, D)))
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]  # Haar, not QR-biased
    mu = X.mean(axis=1, keepdims=True)
    return np.einsum("tnd,tde->tne", X - mu, Q) + mu
