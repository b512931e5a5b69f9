"""Procrustes alignment of decoder shapes across time (Lei et al. 2024, §4.3 and appendix).

A *shape* is the set of one-vs-rest decoder normals of one feature (one vertex per
feature value). Following the appendix of Lei et al. 2024, source and target shapes are centred and
scaled (eqs. 5–6), the source is rotated onto the target by orthogonal Procrustes with a
global scale (eq. 7) and the target's standardisation is inverted (eq. 8). The
reconstructed decoders keep the target decoders' biases and are scored on held-out data:
high accuracy means the change of subspace between the two conditions is a rotation (Fig.
4f). Swapping the rotation for the one of another pair tests whether transformations are
shared across time (``R(S=i, T=j+1)``) or across stimuli of the same age
(``R(S=i+k, T=j+k)``) (Fig. 4g, A4, A6c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes
from threadpoolctl import threadpool_limits

from wmgeom.analysis.bank import DecoderBank, fit_step_decoders
from wmgeom.analysis.data import activation_arrays
from wmgeom.analysis.decodability import _tasks
from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.validation import check_array, check_number

__all__ = [
    "ProcrustesFit",
    "procrustes_align",
    "procrustes_reconstruct",
    "reconstructed_decoder_accuracy",
]


@dataclass(frozen=True)
class ProcrustesFit:
    """A fitted source → target alignment of decoder shapes (Lei et al. 2024, eqs. 5–8).

    Attributes:
        rotation: Orthogonal ``[D, D]`` matrix ``R_{source→target}``.
        scale: Global scale ``s``.
        source_mean: Centroid of the source normals ``[D]``.
        source_norm: Frobenius norm of the centred source normals.
        target_mean: Centroid of the target normals ``[D]`` (``B`` in Lei et al. 2024).
        target_norm: Frobenius norm of the centred target normals (``S``).
    """

    rotation: np.ndarray
    scale: float
    source_mean: np.ndarray
    source_norm: float
    target_mean: np.ndarray
    target_norm: float


def _standardize_shape(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    mean = W.mean(0)
    centered = W - mean
    norm = float(np.linalg.norm(centered))
    if norm == 0:
        raise WmgeomError("all decoder normals of the shape are identical; a shape needs at "
                          "least two distinct decoders")
    return centered / norm, mean, norm


def procrustes_align(source: np.ndarray, target: np.ndarray) -> ProcrustesFit:
    """Align a source decoder shape to a target shape (Lei et al. 2024, appendix, eqs. 5–7).

    Args:
        source: Source normals ``[K, D]`` (one row per feature value).
        target: Target normals ``[K, D]`` of the same feature values, same order.

    Returns:
        The :class:`ProcrustesFit`; :func:`procrustes_reconstruct` applies it.

    Raises:
        WmgeomError: If the shapes differ or are degenerate.
    """
    A = check_array(source, "source", ndim=2, min_rows=2)
    B = check_array(target, "target", ndim=2, min_rows=2)
    if A.shape != B.shape:
        raise ArgumentError(f"source {A.shape} and target {B.shape} must both be [K, D] with "
                            "K >= 2 matching decoders")
    A_std, a_mean, a_norm = _standardize_shape(A)
    B_std, b_mean, b_norm = _standardize_shape(B)
    R, scale = orthogonal_procrustes(A_std, B_std)
    return ProcrustesFit(R, float(scale), a_mean, a_norm, b_mean, b_norm)


def procrustes_reconstruct(source: np.ndarray, fit: ProcrustesFit,
                           target_mean: np.ndarray | None = None,
                           target_norm: float | None = None) -> np.ndarray:
    """Reconstruct target normals from source normals (seed eqs. 7–8).

    ``w_rec = ((w'_source R) s) S + B`` with ``w'_source`` the standardised source.

    Args:
        source: Source normals ``[K, D]`` (standardised with their own centroid and norm).
        fit: Rotation and scale to apply (possibly fitted on another pair: a swap test).
        target_mean: ``B`` (default: the fit's target centroid).
        target_norm: ``S`` (default: the fit's target norm).

    Returns:
        Reconstructed normals ``[K, D]``.

    Raises:
        ArgumentError: If ``source`` is not a finite ``[K, D]`` array with the fit's ``D``,
            or ``target_mean`` / ``target_norm`` do not fit.
    """
    A = check_array(source, "source", ndim=2, min_rows=2)
    D = fit.rotation.shape[0]
    if A.shape[1] != D:
        raise ArgumentError(f"source has {A.shape[1]} columns but the fit rotates {D}-"
                            "dimensional normals; give the normals of the fitted space")
    A_std, _, _ = _standardize_shape(A)
    B = fit.target_mean if target_mean is None else check_array(target_mean, "target_mean",
                                                                ndim=1)
    if B.shape != (D,):
        raise ArgumentError(f"target_mean has shape {B.shape}; expected ({D},)")
    S = fit.target_norm if target_norm is None else check_number(target_norm, "target_norm",
                                                                  positive=True)
    return (A_std @ fit.rotation) * fit.scale * S + B


def _feature_scores(decision: np.ndarray, code: np.ndarray) -> dict[str, float]:
    """Multi-class and mean one-vs-rest accuracies of one feature's decoders ``[n, K]``."""
    K = decision.shape[1]
    onehot = code[:, None] == np.arange(K)
    pred = decision.argmax(1)
    recall = [(pred[code == c] == c).mean() for c in range(K) if (code == c).any()]
    correct = (decision > 0) == onehot
    tpr = (correct & onehot).sum(0) / np.maximum(onehot.sum(0), 1)
    tnr = (correct & ~onehot).sum(0) / np.maximum((~onehot).sum(0), 1)
    return {"accuracy": float((pred == code).mean()), "balanced_accuracy": float(np.mean(recall)),
            "decoder_accuracy": float(correct.mean()),
            "decoder_balanced_accuracy": float(((tpr + tnr) / 2).mean())}


def reconstructed_decoder_accuracy(
    data: Any,
    *,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    max_shift: int | None = None,
    bank: DecoderBank | None = None,
    **decode_kw: Any,
) -> pd.DataFrame:
    """Accuracy of Procrustes-reconstructed decoders and the swap tests (Fig. 4f, 4g, A4).

    Decoders ``D(i, j)`` are fit (10-fold, batched over every pair) on frame ``j`` to
    decode the stimulus of frame ``i <= j``. For every step ``j → j+1`` of stimulus ``i``,
    the fold-wise rotation ``R(S=i, T=j)`` aligns ``D(i, j)`` to ``D(i, j+1)``; the
    reconstructed ``D(i, j+1)`` (target centroid, norm and biases) is scored on the
    held-out trials at frame ``j+1``. Swap tests reconstruct the same decoder with
    ``R(S=i, T=j+1)`` (``time_swap``) or ``R(S=i+k, T=j+k)`` (``stimulus_swap``, ``k != 0``).

    Args:
        data: Activations Dataset, :class:`~wmgeom.analysis.data.ActivationArrays` or
            array input (``labels=``, ``task=``, ``n=``, ``relevant=`` as keywords).
        space: Activation variable of a Dataset.
        tasks: Tasks to analyse separately (default all recorded).
        features: Features (at least 3 values each; default all labelled).
        max_shift: Largest ``|k|`` of the stimulus swaps (default all).
        bank: Decoders already fitted on these activations
            (:func:`~wmgeom.analysis.bank.decoder_bank`, ``steps="all"``).
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per task × feature × stimulus ``i`` × source frame ``j`` × rotation.
        Columns: ``task``, ``n``, ``feature``, ``relevant`` (the task's feature),
        ``stimulus``, ``frame`` (``j``), ``target_frame`` (``j + 1``), ``age`` (``j - i``),
        ``in_window`` (``i < j + 1 <= i + N``: the stimulus is still held for its
        comparison), ``rotation`` (``fitted``: the
        decoders fit at ``j + 1``; ``original``: ``R(i, j)``; ``time_swap``;
        ``stimulus_swap``; ``random_source``: a random Gaussian shape of as many vertices
        rotated onto the target by its own fitted Procrustes rotation — the null control),
        ``bias`` (whose biases the reconstructed decoders take: ``target``, the decoders
        fit at ``j + 1``; ``source``, the original decoders at ``j``, the reading of the
        paper's text; ``fitted`` for the fitted decoders), ``rotation_stimulus``,
        ``rotation_frame`` (the pair whose rotation was used), ``shift`` (``k``),
        ``accuracy``, ``balanced_accuracy``, ``decoder_accuracy``,
        ``decoder_balanced_accuracy``, ``chance``.
    """
    extra = {k: decode_kw.pop(k) for k in ("labels", "task", "n", "relevant") if k in decode_kw}
    arrays = activation_arrays(data, space=space, features=features, **extra)
    T = arrays.n_frames
    if T < 2:
        raise WmgeomError("the Procrustes analysis needs sequences of at least 2 frames")
    rng = np.random.default_rng(decode_kw.get("seed", 0))
    rows = []
    for task in _tasks(arrays, tasks):
        sub = arrays.subset(arrays.task == task)
        if bank is not None and task in bank:
            step = bank[task]
        else:
            step = fit_step_decoders(sub, dict(decode_kw), "all")
        pairs = list(step.pairs)
        pos = {p: c for c, p in enumerate(pairs)}
        res = step.result
        idx = res.decoder_index
        fi_all = idx["feature_index"].to_numpy()
        for f, name in enumerate(res.classes):
            if name not in sub.labels:  # a bank decodes more features than asked for
                continue
            ks = np.flatnonzero(fi_all == f)
            if len(ks) < 3:
                raise WmgeomError(f"feature {name!r} has {len(res.classes[name])} values; "
                                  "Procrustes shapes need at least 3 (drop it via features=)")
            W = res.coef[:, :, ks]  # [n_pairs, folds, Kf, D]
            cls = res.classes[name]
            codes = np.stack([np.searchsorted(cls, sub.labels[name][:, i]) for i in range(T)],
                             -1)  # [n, T] class index of the stimulus of each frame
            fits = {}
            with threadpool_limits(1):  # many tiny SVDs: threading only adds overhead
                for (i, j) in pairs:
                    if (i, j + 1) in pos:
                        fits[(i, j)] = [procrustes_align(W[pos[(i, j)], o],
                                                         W[pos[(i, j + 1)], o])
                                        for o in range(len(res.folds))]
            for (i, j) in pairs:
                if (i, j + 1) not in pos:
                    continue
                tgt = pos[(i, j + 1)]
                options = [("fitted", i, j + 1, 0), ("original", i, j, 0)]
                if (i, j + 1) in fits:
                    options.append(("time_swap", i, j + 1, 0))
                for k in range(-T, T):
                    if k == 0 or (max_shift is not None and abs(k) > max_shift):
                        continue
                    if (i + k, j + k) in fits:
                        options.append(("stimulus_swap", i + k, j + k, k))
                options.append(("random_source", i, j, 0))
                # a random shape of as many vertices: the null of the reconstruction
                random = [rng.standard_normal(W.shape[-2:]) for _ in res.folds]
                for kind, ri, rj, k in options:
                    for bias in (("fitted",) if kind == "fitted" else ("target", "source")):
                        decision = np.full((len(sub.task), len(ks)), np.nan)
                        for o, (_, te) in enumerate(res.folds):
                            if kind == "fitted":
                                w = W[tgt, o]
                            elif kind == "random_source":
                                w = procrustes_reconstruct(
                                    random[o], procrustes_align(random[o], W[tgt, o]))
                            else:
                                fit = fits[(ri, rj)][o]
                                tfit = fits[(i, j)][o]
                                w = procrustes_reconstruct(W[pos[(i, j)], o], fit,
                                                           tfit.target_mean, tfit.target_norm)
                            b = res.intercept[pos[(i, j)] if bias == "source" else tgt, o, ks]
                            decision[te] = sub.X[te, j + 1] @ w.T + b
                        s = _feature_scores(decision, codes[:, i])
                        rows.append({"task": task, "n": int(sub.n[0]), "feature": name,
                                     "relevant": name == step.relevant,
                                     "stimulus": i, "frame": j, "target_frame": j + 1,
                                     "age": j - i, "in_window": i < j + 1 <= i + step.n,
                                     "rotation": kind, "bias": bias,
                                     "rotation_stimulus": ri, "rotation_frame": rj, "shift": k,
                                     **{c: float(v) for c, v in s.items()},
                                     "chance": 1.0 / len(ks)})
    return pd.DataFrame(rows)
