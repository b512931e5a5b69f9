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

With ``K`` vertices in ``D > K - 1`` dimensions the shapes determine the rotation only on
their own span; how it acts elsewhere (which a swap test uses, as it rotates a shape the
rotation was not fitted on) is a choice the paper leaves open. Both readings are
computed (``completion``): ``minimal``, the rotation closest to the identity, and ``svd``,
the full SVD of ``scipy.linalg.orthogonal_procrustes``, whose null-space basis LAPACK
picks (two builds of LAPACK give swap accuracies that differ by up to 12 points per cell).
All rotations of one shape pair, fold and reading are fitted in one batched SVD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
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


COMPLETIONS = ("svd", "minimal")
"""How a rotation acts outside the span of the shapes it was fitted on (see
:func:`procrustes_align`)."""


def _check_completion(completion: str) -> str:
    if completion not in COMPLETIONS:
        raise ArgumentError(f"completion must be one of {list(COMPLETIONS)}, "
                            f"got {completion!r}")
    return completion


def _standardize_shapes(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred, unit-norm shapes ``[..., K, D]`` with their centroids and norms."""
    mean = W.mean(-2)
    centered = W - mean[..., None, :]
    norm = np.linalg.norm(centered, axis=(-2, -1))
    if (norm == 0).any():
        raise WmgeomError("all decoder normals of the shape are identical; a shape needs at "
                          "least two distinct decoders")
    return centered / norm[..., None, None], mean, norm


def _rotations(A: np.ndarray, B: np.ndarray, completion: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal Procrustes rotations and scales of standardised shapes ``[..., K, D]``.

    ``scale`` is the nuclear norm of ``A^T B`` and the rotation maps the span of ``A``
    onto that of ``B`` as every orthogonal Procrustes solution does. Where ``K - 1 < D``
    the rest of the rotation is not determined by the shapes: ``"svd"`` takes the full
    SVD's (``scipy.linalg.orthogonal_procrustes``; its null-space basis is whatever LAPACK
    returns), ``"minimal"`` the rotation closest to the identity (it turns only the
    ``<= 2K`` dimensions the two shapes span, fitted in that subspace).
    """
    lead, D = A.shape[:-2], A.shape[-1]
    if completion == "svd":
        u, s, vt = np.linalg.svd(np.swapaxes(A, -1, -2) @ B)
        return u @ vt, s.sum(-1)
    Q, _ = np.linalg.qr(np.concatenate([np.swapaxes(A, -1, -2),
                                        np.swapaxes(B, -1, -2)], -1))  # [..., D, m]
    m = Q.shape[-1]
    a, b = A @ Q, B @ Q  # the shapes in the subspace: [..., K, m]
    u, s, vt = np.linalg.svd(np.swapaxes(a, -1, -2) @ b)  # [..., m, m]
    scale = s.sum(-1)
    R_m = np.empty(lead + (m, m), dtype=np.result_type(A, B))
    u2, s2, vt2 = u.reshape(-1, m, m), s.reshape(-1, m), vt.reshape(-1, m, m)
    for n, out in enumerate(R_m.reshape(-1, m, m)):
        r = int((s2[n] > 1e-10 * max(s2[n, 0], 1e-300)).sum())  # determined directions
        U, V = u2[n][:, :r], vt2[n][:r].T
        Uc, Vc = u2[n][:, r:], vt2[n][r:].T  # their complements in the subspace
        p, _, qt = np.linalg.svd(Vc.T @ Uc)  # the complement map closest to the identity
        out[:] = U @ V.T + Uc @ (qt.T @ p.T) @ Vc.T
    eye = np.eye(D, dtype=R_m.dtype)
    return eye + Q @ (R_m - np.eye(m, dtype=R_m.dtype)) @ np.swapaxes(Q, -1, -2), scale


def procrustes_align(source: np.ndarray, target: np.ndarray,
                     completion: str = "svd") -> ProcrustesFit:
    """Align a source decoder shape to a target shape (Lei et al. 2024, appendix, eqs. 5–7).

    Args:
        source: Source normals ``[K, D]`` (one row per feature value).
        target: Target normals ``[K, D]`` of the same feature values, same order.
        completion: How the rotation acts on directions outside the two shapes' span,
            which the shapes do not determine when ``K - 1 < D`` (Lei et al. 2024 do not
            say): ``"minimal"`` leaves them in place (the rotation closest to the
            identity; reproducible), ``"svd"`` takes the full SVD of
            ``scipy.linalg.orthogonal_procrustes`` (an arbitrary basis from LAPACK). The
            reconstruction of the source itself is the same under both; a swap test
            (a rotation applied to another shape) is not.

    Returns:
        The :class:`ProcrustesFit`; :func:`procrustes_reconstruct` applies it.

    Raises:
        WmgeomError: If the shapes differ or are degenerate, or ``completion`` is unknown.
    """
    A = check_array(source, "source", ndim=2, min_rows=2)
    B = check_array(target, "target", ndim=2, min_rows=2)
    if A.shape != B.shape:
        raise ArgumentError(f"source {A.shape} and target {B.shape} must both be [K, D] with "
                            "K >= 2 matching decoders")
    _check_completion(completion)
    A_std, a_mean, a_norm = _standardize_shapes(A)
    B_std, b_mean, b_norm = _standardize_shapes(B)
    R, scale = _rotations(A_std, B_std, completion)
    return ProcrustesFit(R, float(scale), a_mean, float(a_norm), b_mean, float(b_norm))


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
    A_std, _, _ = _standardize_shapes(A)
    B = fit.target_mean if target_mean is None else check_array(target_mean, "target_mean",
                                                                ndim=1)
    if B.shape != (D,):
        raise ArgumentError(f"target_mean has shape {B.shape}; expected ({D},)")
    S = fit.target_norm if target_norm is None else check_number(target_norm, "target_norm",
                                                                  positive=True)
    return (A_std @ fit.rotation) * fit.scale * S + B


def _feature_scores(decision: np.ndarray, code: np.ndarray) -> dict[str, np.ndarray]:
    """Multi-class and mean one-vs-rest accuracies of decoder sets ``[..., n, K]`` of one
    feature on trials whose class is ``code`` ``[n]``; each score ``[...]``."""
    K = decision.shape[-1]
    onehot = code[:, None] == np.arange(K)  # [n, K]
    pred = decision.argmax(-1)  # [..., n]
    hit = pred == code
    present = onehot.any(0)
    recall = (hit[..., None] & onehot).sum(-2)[..., present] / onehot.sum(0)[present]
    correct = (decision > 0) == onehot  # [..., n, K]
    tpr = (correct & onehot).sum(-2) / np.maximum(onehot.sum(0), 1)
    tnr = (correct & ~onehot).sum(-2) / np.maximum((~onehot).sum(0), 1)
    return {"accuracy": hit.mean(-1), "balanced_accuracy": recall.mean(-1),
            "decoder_accuracy": correct.mean((-2, -1)),
            "decoder_balanced_accuracy": ((tpr + tnr) / 2).mean(-1)}


def reconstructed_decoder_accuracy(
    data: Any,
    *,
    space: str = "hidden",
    tasks: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    max_shift: int | None = None,
    bank: DecoderBank | None = None,
    completion: str | Sequence[str] = COMPLETIONS,
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
        completion: How the swap tests' rotations act outside the span of the shapes they
            were fitted on (:func:`procrustes_align`), one or several readings (default
            both); the own rotation and the random source do not depend on it.
        **decode_kw: Passed to :func:`cross_validated_decoding`.

    Returns:
        One row per task × feature × stimulus ``i`` × source frame ``j`` × rotation.
        Columns: ``task``, ``n``, ``feature``, ``relevant`` (the task's feature),
        ``stimulus``, ``frame`` (``j``), ``target_frame`` (``j + 1``), ``age`` (``j - i``),
        ``in_window`` (``i < j + 1 <= i + N``: the stimulus is still held for its
        comparison), ``rotation`` (``fitted``: the
        decoders fit at ``j + 1``; ``original``: ``R(i, j)``; ``time_swap``;
        ``stimulus_swap``; ``random_source``: a random Gaussian shape of as many vertices
        rotated onto the target by its own fitted Procrustes rotation — the null control;
        ``unrelated_source``: the decoders of another feature with as many values at the
        same step, rotated onto the target the same way — a real decoder shape that does
        not encode the target's feature; only where such a feature exists),
        ``bias`` (whose biases the reconstructed decoders take: ``target``, the decoders
        fit at ``j + 1``; ``source``, the original decoders at ``j``, the reading of the
        paper's text; ``fitted`` for the fitted decoders), ``rotation_stimulus``,
        ``rotation_frame`` (the pair whose rotation was used), ``shift`` (``k``),
        ``accuracy``, ``balanced_accuracy``, ``decoder_accuracy``,
        ``decoder_balanced_accuracy``, ``chance``, ``completion`` (the reading of a swap
        row's rotation, one row per reading asked for; empty on the other rows).
    """
    completions = [completion] if isinstance(completion, str) else list(completion)
    if not completions:
        raise ArgumentError(f"give at least one completion of {list(COMPLETIONS)}")
    for c in completions:
        _check_completion(c)
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
        pos = {p: c for c, p in enumerate(step.pairs)}
        steps = [(i, j) for (i, j) in step.pairs if (i, j + 1) in pos]  # (i, j) → (i, j+1)
        res = step.result
        fi_all = res.decoder_index["feature_index"].to_numpy()
        for f, name in enumerate(res.classes):
            if name not in sub.labels:  # a bank decodes more features than asked for
                continue
            ks = np.flatnonzero(fi_all == f)
            if len(ks) < 3:
                raise WmgeomError(f"feature {name!r} has {len(res.classes[name])} values; "
                                  "Procrustes shapes need at least 3 (drop it via features=)")
            codes = np.stack([np.searchsorted(res.classes[name], sub.labels[name][:, i])
                              for i in range(T)], -1)  # [n, T] class of each frame's stimulus
            same_k = [g for g, other in enumerate(res.classes) if g != f
                      and other in sub.labels and (fi_all == g).sum() == len(ks)]
            unrelated = res.coef[:, :, fi_all == same_k[0]] if same_k else None
            # small matrices: BLAS threads only wait on each other (16 s vs 0.7 s for 150
            # SVDs of 128 x 128 on a busy 2-core machine)
            with threadpool_limits(1):
                rows += _step_rows(sub, step, pos, steps, res.coef[:, :, ks], unrelated,
                                   res.intercept[:, :, ks], codes, rng, completions,
                                   max_shift, {"task": task, "n": int(sub.n[0]),
                                               "feature": name,
                                               "relevant": name == step.relevant})
    return pd.DataFrame(rows)


def _step_rows(sub, step, pos, steps, W, unrelated, intercept, codes, rng, completions,
               max_shift, labels) -> list[dict]:
    """The rows of one task and feature: every step ``(i, j) → (i, j+1)`` with every
    rotation and bias, all of a step's reconstructions scored in one product per fold.

    ``W`` holds the normals ``[pairs, folds, K, D]``, ``unrelated`` those of another
    feature with as many values (or None), ``intercept`` the biases ``[pairs, folds, K]``; each step's random shapes are drawn in step order (one
    ``[K, D]`` shape per fold), so a seed gives the same null.
    """
    folds = step.result.folds
    T = codes.shape[1]
    W_std, W_mean, W_norm = _standardize_shapes(W)
    fit_of = {p: n for n, p in enumerate(steps)}
    src = [pos[p] for p in steps]
    tgt = [pos[(i, j + 1)] for i, j in steps]
    fitted = {c: _rotations(W_std[src], W_std[tgt], c) for c in completions}
    rows = []
    for (i, j) in steps:
        s_pair, t_pair = pos[(i, j)], pos[(i, j + 1)]
        swaps = [("time_swap", i, j + 1, 0)] if (i, j + 1) in fit_of else []
        swaps += [("stimulus_swap", i + k, j + k, k) for k in range(-T, T)
                  if k != 0 and (max_shift is None or abs(k) <= max_shift)
                  and (i + k, j + k) in fit_of]
        options = [("fitted", i, j + 1, 0, ""), ("original", i, j, 0, completions[0]),
                   *[(*swap, c) for c in completions for swap in swaps],
                   ("random_source", i, j, 0, "")]
        random = np.stack([rng.standard_normal(W.shape[-2:]) for _ in folds])
        # a shape's own rotation onto the target: only the span matters, so "minimal" is
        # exact
        sources = {"random_source": _standardize_shapes(random)[0]}
        if unrelated is not None:
            options.append(("unrelated_source", i, j, 0, ""))
            sources["unrelated_source"] = _standardize_shapes(unrelated[s_pair])[0]
        onto = {kind: (shape, *_rotations(shape, W_std[t_pair], "minimal"))
                for kind, shape in sources.items()}
        weights, biases, meta = [], [], []
        for kind, ri, rj, k, c in options:
            if kind == "fitted":
                w = W[t_pair]
            elif kind in onto:
                shape, R_own, s_own = onto[kind]
                w = (shape @ R_own) * s_own[:, None, None]
            else:  # the own rotation is the same under every completion
                R, scale = fitted[c]
                n = fit_of[(ri, rj)]
                w = (W_std[s_pair] @ R[n]) * scale[n][:, None, None]
            if kind != "fitted":
                w = w * W_norm[t_pair][:, None, None] + W_mean[t_pair][:, None, :]
            for bias in (("fitted",) if kind == "fitted" else ("target", "source")):
                weights.append(w)
                biases.append(intercept[s_pair if bias == "source" else t_pair])
                meta.append((kind, bias, ri, rj, k, c))
        Wb, bb = np.stack(weights, 1), np.stack(biases, 1)  # [folds, E, K, D], [folds, E, K]
        E, K = Wb.shape[1:3]
        decision = np.full((E, len(codes), K), np.nan)
        for o, (_, te) in enumerate(folds):
            d = sub.X[te, j + 1] @ Wb[o].reshape(E * K, -1).T  # [n_te, E*K]
            decision[:, te] = (d.reshape(len(te), E, K) + bb[o]).transpose(1, 0, 2)
        scores = _feature_scores(decision, codes[:, i])
        for e, (kind, bias, ri, rj, k, c) in enumerate(meta):
            rows.append({**labels, "stimulus": i, "frame": j, "target_frame": j + 1,
                         "age": j - i, "in_window": i < j + 1 <= i + step.n,
                         "rotation": kind, "bias": bias, "rotation_stimulus": ri,
                         "rotation_frame": rj, "shift": k,
                         **{c: float(v[e]) for c, v in scores.items()},
                         "chance": 1.0 / K,
                         "completion": c if kind.endswith("swap") else ""})
    return rows
