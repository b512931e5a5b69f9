"""Batched linear SVM decoders with the seed's cross-validation protocol (SPEC A1, P2).

Seed 000 (appendix, "Decoding analyses") decodes every feature value from the rest with a
linear support-vector classifier (scikit-learn's ``SVC``), 10-fold cross-validation and a
grid search over ``C`` in {0.001, 0.01, 1, 10}. Done with scikit-learn this means tens of
thousands of separate libsvm fits per model. Here every fold × inner fold × ``C`` ×
one-vs-rest class × condition (frame, task, ...) is solved as **one batched problem** in
torch, on the CPU or a GPU.

The objective is libsvm's C-SVM, unchanged::

    min_{w, b}  0.5 ||w||^2 + C * sum_i max(0, 1 - y_i (w . x_i + b))

on inputs standardised inside each training fold (mean and standard deviation of the
training part only). It is solved by ADMM (Boyd et al., 2011, §8.2) with the splitting
``z = diag(y) [X, s] theta``, ``theta = (w, b / s)``: the ``theta`` step is a linear
solve with ``I + rho X_a^T X_a``, which depends only on the training fold, so one
eigendecomposition of the fold's Gram (or kernel) matrix turns it into a diagonal scaling
for every ``C``, class and penalty ``rho``; the ``z`` step is the closed-form proximal map
of the hinge. Each problem keeps its own ``rho``, balanced against its residuals as the
iterations run (Boyd et al., §3.4.1). The intercept is carried by a constant column of
height ``s = 10`` (``intercept_scaling``), which makes its penalty ``0.5 (b / s)^2``
negligible, and is finally re-chosen exactly for the solved normal, at the midpoint of the
optimal interval as libsvm does. Each iteration costs two batched matrix products, on one
CPU thread by default (or a GPU).

Decoders are returned in the ORIGINAL input coordinates (the per-fold standardisation is
undone), so their normals can be used directly in the model's own space (SPEC A8).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from wmgeom.devices import resolve_device
from wmgeom.errors import WmgeomError

SEED_CS: tuple[float, ...] = (0.001, 0.01, 1.0, 10.0)
"""The seed's regularisation grid (appendix, "Decoding analyses")."""

__all__ = [
    "SEED_CS",
    "DecodingResult",
    "LinearDecoder",
    "cross_validated_decoding",
    "decision_values",
    "solve_hinge_svm",
]


# --------------------------------------------------------------------------- the solver


@contextlib.contextmanager
def _cpu_threads(n: int | None) -> Iterator[None]:
    """Run torch CPU ops on ``n`` threads inside the block (unchanged when None)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def solve_hinge_svm(
    Xa: torch.Tensor,
    Y: torch.Tensor,
    C: torch.Tensor,
    *,
    rho_scale: float = 100.0,
    max_iter: int = 1000,
    tol: float = 1e-3,
    over_relaxation: float = 1.6,
    check_every: int = 10,
    n_threads: int | None = None,
) -> torch.Tensor:
    """Solve many linear C-SVMs that share design matrices, by batched ADMM.

    Problem ``(g, c, k)`` is ``min 0.5 ||theta||^2 + C[c] * sum_i hinge(Y[g, i, k] *
    (Xa[g, i] . theta))``; rows whose label is 0 are padding and carry no loss.

    Each design matrix is diagonalised once (``Xa = U S V^T`` through the eigenvectors of
    its Gram or kernel matrix, whichever is smaller), which makes the ``theta`` step of every
    problem a diagonal scaling for any penalty ``rho``: each problem then keeps its own
    ``rho``, rebalanced against its residuals as the iterations run.

    Args:
        Xa: Design matrices ``[G, m, d]`` (padding rows all zero), already standardised and
            with the intercept column appended.
        Y: Labels ``[G, m, K]`` in {-1, 0, +1} (0 marks padding).
        C: Regularisation values ``[n_C]``; every one is solved for every ``(g, k)``.
        rho_scale: The penalty starts at ``rho = rho_scale * sqrt(C) / m_g``.
        max_iter: Iteration cap.
        tol: Stop when the relative primal and dual residuals of every problem are below
            ``tol``, or below ``10 * tol`` with the set of margin violators unchanged over
            the last two checks (the decision functions have settled).
        over_relaxation: ADMM over-relaxation factor (1.5–1.8 is usual).
        check_every: Residuals are checked (and ``rho`` rebalanced) every this many steps.
        n_threads: CPU threads for the solve. Default 1: the batched products are small and
            memory-bound, and on a shared machine several threads mostly wait on each other
            (measured: 1 thread was 7x faster than 2 on a loaded 2-core machine).

    Returns:
        ``theta`` of shape ``[G, n_C, d, K]``.
    """
    if n_threads is None and Xa.device.type == "cpu":
        n_threads = 1
    with _cpu_threads(n_threads):
        return _admm(Xa, Y, C, rho_scale, max_iter, tol, over_relaxation, check_every)


def _admm(Xa: torch.Tensor, Y: torch.Tensor, C: torch.Tensor, rho_scale: float, max_iter: int,
          tol: float, over_relaxation: float, check_every: int) -> torch.Tensor:
    G, m, d = Xa.shape
    K = Y.shape[-1]
    nC = C.shape[0]
    P = nC * K
    dtype = Xa.dtype
    primal = d <= m
    # batched small eigenproblems gain nothing from threads (and suffer from contention)
    single = 1 if Xa.device.type == "cpu" else None
    if primal:  # Xa V = U S: columns orthogonal with squared norms lam
        gram = Xa.transpose(1, 2) @ Xa
        with _cpu_threads(single):
            lam, V = torch.linalg.eigh(gram)
        B = Xa @ V  # [G, m, d]
    else:  # kernel form: U and lam = S^2 from the m x m kernel
        kernel = Xa @ Xa.transpose(1, 2)
        with _cpu_threads(single):
            lam, B = torch.linalg.eigh(kernel)
    lam = lam.clamp(min=0.0)[..., None]  # [G, r, 1]
    n_rows = (Y != 0).any(-1).sum(-1).clamp(min=1).to(dtype)  # [G]
    YY = Y.repeat(1, 1, nC)  # [G, m, P], column c*K + k
    live = (YY != 0).to(dtype)
    Cp = C.to(dtype).repeat_interleave(K)  # [P]
    rho = (rho_scale * Cp.sqrt())[None, :] / n_rows[:, None]  # [G, P]
    z = torch.zeros(G, m, P, dtype=dtype, device=Xa.device)
    t = torch.zeros_like(z)  # t = -u, the negated scaled dual variable
    Bt = B.transpose(1, 2)
    weight = lam.sqrt() if not primal else None

    def gains(rho_: torch.Tensor) -> torch.Tensor:
        r_ = rho_[:, None, :]
        return r_ / (1.0 + r_ * lam) if primal else r_ * lam / (1.0 + r_ * lam)

    def dual_norm(w: torch.Tensor) -> torch.Tensor:
        q_ = Bt @ (YY * w)
        if weight is not None:
            q_ = q_ * weight
        return q_.square().sum(1).sqrt()  # [G, P]

    gain = gains(rho)
    thr = live * (Cp / rho)[:, None, :]  # hinge threshold C / rho, 0 on padding
    q = torch.zeros(G, B.shape[-1], P, dtype=dtype, device=Xa.device)
    prev_active, stable = None, 0
    for it in range(max_iter):
        q = torch.bmm(Bt, (z + t).mul_(YY))  # [G, r, P]
        a = torch.bmm(B, q * gain).mul_(YY)
        v = torch.mul(a, over_relaxation).add_(z, alpha=1.0 - over_relaxation).sub_(t)
        t = torch.minimum(torch.rsub(v, 1.0).clamp_(min=0.0), thr)  # z_new = v + t, u = -t
        z_new = v.add_(t)
        if (it + 1) % check_every == 0 or it == max_iter - 1:
            r_pri = (a - z_new).square().sum(1).sqrt()
            s_pri = torch.maximum(a.square().sum(1), z_new.square().sum(1)).sqrt()
            rel_p = r_pri / s_pri.clamp(min=1e-12)
            rel_d = dual_norm(z_new - z) / dual_norm(t).clamp(min=1e-12)
            z = z_new
            # which samples pay hinge loss: once this set stops changing (and the residuals
            # are small) the decision functions no longer move
            active = a < 1.0
            stable = stable + 1 if prev_active is not None and torch.equal(active,
                                                                          prev_active) else 0
            prev_active = active
            done = (rel_p < tol) & (rel_d < tol)
            settled = stable >= 2 and bool(((rel_p < 10 * tol) & (rel_d < 10 * tol)).all())
            if bool(done.all()) or settled or it == max_iter - 1:
                break
            # residual balancing per problem (Boyd et al. 2011, eq. 3.13)
            up = rel_p > 10.0 * rel_d
            down = rel_d > 10.0 * rel_p
            if bool((up | down).any()):
                factor = torch.where(up, 2.0, torch.where(down, 0.5, 1.0)).to(dtype)
                rho = rho * factor
                t = t / factor[:, None, :]
                gain = gains(rho)
                thr = live * (Cp / rho)[:, None, :]
        else:
            z = z_new
    # the last theta step, mapped back from the diagonalising basis
    if primal:
        theta = V @ (q * (rho[:, None, :] / (1.0 + rho[:, None, :] * lam)))  # [G, d, P]
    else:
        coef = B @ (q * (rho[:, None, :] / (1.0 + rho[:, None, :] * lam)))  # [G, m, P]
        theta = Xa.transpose(1, 2) @ coef
    theta = _libsvm_intercept(Xa, YY, theta)
    return theta.view(G, d, nC, K).permute(0, 2, 1, 3)


def _libsvm_intercept(Xa: torch.Tensor, YY: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Re-optimise the intercept for the solved normals, choosing as libsvm does.

    For fixed ``w`` the hinge loss is piecewise linear in ``b`` with a kink at
    ``b_i = y_i - w . x_i`` per sample; it is minimal between the ``n+``-th and
    ``(n+ + 1)``-th smallest kink (``n+`` = number of positives). When that interval is
    wide (no sample on the margin: e.g. a tiny ``C``, where every decoder predicts "rest"
    and multi-class argmax hinges on the biases), libsvm takes its midpoint; so do we.
    The last column of ``Xa`` is the intercept column (constant on valid rows).
    """
    G, m, d = Xa.shape
    scale = Xa[..., -1].abs().amax(1)  # [G] the intercept column's height
    f = Xa[..., :-1] @ theta[:, :-1]  # [G, m, P] margins without intercept
    valid = YY != 0
    kinks = torch.where(valid, YY - f, torch.full_like(f, float("inf")))
    kinks, _ = kinks.sort(dim=1)
    n_pos = (YY > 0).sum(1)  # [G, P]
    n_valid = valid.sum(1)
    lo = kinks.gather(1, (n_pos - 1).clamp(min=0)[:, None]).squeeze(1)
    hi = kinks.gather(1, n_pos.clamp(max=m - 1)[:, None]).squeeze(1)
    lo = torch.where(n_pos > 0, lo, hi)  # no positive: the boundary of "all negative"
    hi = torch.where(n_pos < n_valid, hi, lo)  # no negative: "all positive"
    b = 0.5 * (lo + hi)
    theta = theta.clone()
    theta[:, -1] = b / scale[:, None].clamp(min=1e-12)
    return theta


# --------------------------------------------------------------------------- folds


def _standardise_groups(
    Xc: np.ndarray, conds: np.ndarray, rows: Sequence[np.ndarray], intercept_scaling: float,
    dtype: torch.dtype, dev: torch.device, standardize: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gather each group's training rows, standardise them, pad, add the intercept column.

    Returns ``Xa [G, m, D+1]``, ``valid [G, m]`` (bool), ``mean [G, D]``, ``std [G, D]``.
    """
    G = len(rows)
    m = max(len(r) for r in rows)
    index = np.zeros((G, m), dtype=np.int64)
    valid = np.zeros((G, m), dtype=bool)
    for g, r in enumerate(rows):  # index bookkeeping only, no arithmetic per group
        index[g, : len(r)] = r
        valid[g, : len(r)] = True
    X = torch.as_tensor(Xc, dtype=dtype, device=dev)
    idx = torch.as_tensor(index, device=dev)
    cond = torch.as_tensor(conds, device=dev)
    valid_t = torch.as_tensor(valid, device=dev)
    Xg = X[cond[:, None], idx]  # [G, m, D]
    w = valid_t.to(dtype)[..., None]
    count = w.sum(1)
    mean = (Xg * w).sum(1) / count
    var = ((Xg - mean[:, None]) ** 2 * w).sum(1) / count
    std = var.sqrt()
    std = torch.where(std > 1e-12 * (1 + mean.abs()), std, torch.ones_like(std))
    if not standardize:
        mean, std = torch.zeros_like(mean), torch.ones_like(std)
    Xs = (Xg - mean[:, None]) / std[:, None] * w
    ones = torch.full((G, m, 1), intercept_scaling, dtype=dtype, device=dev) * w
    return torch.cat([Xs, ones], dim=-1), valid_t, mean, std


def _to_original(theta: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                 intercept_scaling: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Undo the standardisation: ``theta [..., D+1, K]`` → ``coef [..., K, D]``, ``b [..., K]``."""
    w_std = theta[..., :-1, :]  # [..., D, K]
    coef = w_std / std[..., :, None]
    intercept = intercept_scaling * theta[..., -1, :] - (coef * mean[..., :, None]).sum(-2)
    return coef.transpose(-1, -2), intercept


def decision_values(X: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Signed decision values ``d = X . w + b`` of linear decoders (seed eq. 4).

    Args:
        X: Activations ``[..., n, D]``.
        coef: Normals ``[..., K, D]`` (leading dims broadcast against ``X``'s).
        intercept: Biases ``[..., K]``.

    Returns:
        ``[..., n, K]`` decision values.
    """
    return np.einsum("...nd,...kd->...nk", X, coef) + intercept[..., None, :]


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class _Problems:
    """The binary one-vs-rest problems of one or several features."""

    features: tuple[str, ...]
    classes: tuple[np.ndarray, ...]  # per feature, sorted unique values
    Y: np.ndarray  # [n_cond, n, K] in {-1, +1}
    codes: np.ndarray  # [n_cond, n, n_features] class index per feature
    table: pd.DataFrame  # one row per decoder k: feature, class, feature_index

    @property
    def K(self) -> int:
        return self.Y.shape[-1]


def _as_label_dict(y: Any) -> dict[str, np.ndarray]:
    if isinstance(y, pd.DataFrame):
        return {str(c): y[c].to_numpy() for c in y.columns}
    if isinstance(y, Mapping):
        return {str(k): np.asarray(v) for k, v in y.items()}
    return {"label": np.asarray(y)}


def _problems(y: Any, n_cond: int, n: int) -> _Problems:
    labels = _as_label_dict(y)
    if not labels:
        raise WmgeomError("no labels given; pass an array or a dict of feature -> labels")
    feats, classes, Ys, codes, rows = [], [], [], [], []
    for name, lab in labels.items():
        if lab.ndim == 1:
            lab = np.broadcast_to(lab, (n_cond, lab.shape[0]))
        if lab.shape != (n_cond, n):
            raise WmgeomError(
                f"labels {name!r} have shape {lab.shape}; expected ({n},) or ({n_cond}, {n}) "
                "to match the activations")
        if pd.isna(lab).any() if lab.dtype.kind in "fO" else False:
            raise WmgeomError(f"labels {name!r} contain missing values; drop those samples")
        cls, code = np.unique(lab, return_inverse=True)
        code = code.reshape(lab.shape)
        if len(cls) < 2:
            raise WmgeomError(f"labels {name!r} have a single value {cls[0]!r}; a decoder "
                              "needs at least two classes")
        if len(cls) == 2:  # one binary decoder, positive class = cls[1] (as scikit-learn)
            Ys.append(np.where(code == 1, 1.0, -1.0)[..., None])
            rows.append({"feature": name, "class": cls[1], "class_index": 1,
                         "feature_index": len(feats)})
        else:
            Ys.append(np.where(code[..., None] == np.arange(len(cls)), 1.0, -1.0))
            rows += [{"feature": name, "class": c, "class_index": j,
                      "feature_index": len(feats)} for j, c in enumerate(cls)]
        feats.append(name)
        classes.append(cls)
        codes.append(code)
    return _Problems(tuple(feats), tuple(classes), np.concatenate(Ys, -1),
                     np.stack(codes, -1), pd.DataFrame(rows))


def _splits(cv: Any, n: int, strat: np.ndarray | None, groups: np.ndarray | None,
            shuffle: bool, seed: int | None, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Resolve ``cv`` (int, splitter or iterable of (train, test)) into index pairs."""
    if isinstance(cv, str | bytes | float):
        raise WmgeomError(f"{what}={cv!r}: must be an int, a scikit-learn splitter or a list "
                          "of (train, test) index arrays")
    if isinstance(cv, int | np.integer):
        if cv < 2:
            raise WmgeomError(f"{what}={cv} is too small; use at least 2 folds")
        if cv > n:
            raise WmgeomError(f"{what}={cv} folds but only {n} samples; use fewer folds")
        if strat is not None:
            counts = np.unique(strat, return_counts=True)[1]
            if counts.min() >= cv:
                kw = {"shuffle": shuffle, "random_state": seed if shuffle else None}
                splitter = StratifiedKFold(int(cv), **kw)
                return [(tr, te) for tr, te in splitter.split(np.zeros(n), strat)]
        kw = {"shuffle": shuffle, "random_state": seed if shuffle else None}
        return [(tr, te) for tr, te in KFold(int(cv), **kw).split(np.zeros(n))]
    if hasattr(cv, "split"):
        y = strat if strat is not None else np.zeros(n)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(np.zeros(n), y, groups)]
    try:
        out = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    except TypeError as exc:
        raise WmgeomError(f"{what} must be an int, a scikit-learn splitter or a list of "
                          f"(train, test) index arrays, not {type(cv).__name__}") from exc
    if not out:
        raise WmgeomError(f"{what} gave no splits")
    return out


# --------------------------------------------------------------------------- the core


def _size_buckets(sizes: Sequence[int], slack: float = 0.9) -> list[list[int]]:
    """Group indices whose sizes are within ``slack`` of their bucket's largest."""
    order = np.argsort(sizes)[::-1]
    buckets: list[list[int]] = []
    for g in order:
        if buckets and sizes[g] >= slack * sizes[buckets[-1][0]]:
            buckets[-1].append(int(g))
        else:
            buckets.append([int(g)])
    return buckets


@dataclass
class _GridFit:
    coef: np.ndarray  # [n_cond, n_outer, K, D]
    intercept: np.ndarray  # [n_cond, n_outer, K]
    best_C: np.ndarray  # [n_cond, n_outer, K]
    cv_scores: np.ndarray  # [n_cond, n_outer, nC, K] mean inner-validation accuracy
    outer: list[tuple[np.ndarray, np.ndarray]]


def _fit_grid(
    Xc: np.ndarray, Y: np.ndarray, outer: list[tuple[np.ndarray, np.ndarray]],
    inner_cv: Any, strat: np.ndarray | None, Cs: Sequence[float], *, device: Any,
    dtype: torch.dtype, intercept_scaling: float, solver_options: dict, seed: int | None,
    standardize: bool = True,
) -> _GridFit:
    """Fit every condition × outer fold × (inner fold | refit) × C × class in one solve.

    For each outer training set the grid over ``Cs`` is scored by ``inner_cv`` (mean
    validation accuracy per one-vs-rest decoder, as ``GridSearchCV`` does); the decoder at
    the best ``C`` fitted on the whole outer training set (solved in the same batch) is kept.
    """
    dev = resolve_device(device)
    n_cond, n, D = Xc.shape
    K = Y.shape[-1]
    Cs = np.asarray(Cs, dtype=float)
    nC = len(Cs)
    groups_rows, groups_eval, groups_cond, groups_tag = [], [], [], []
    for o, (tr, _) in enumerate(outer):
        if len(tr) < 2:
            raise WmgeomError("a training fold has fewer than 2 samples; use fewer folds")
        if nC > 1:
            inner = _splits(inner_cv, len(tr), None if strat is None else strat[tr], None,
                            False, seed, "inner_cv")
        else:
            inner = []
        for c in range(n_cond):
            groups_rows.append(tr)
            groups_eval.append(np.zeros(0, dtype=np.int64))
            groups_cond.append(c)
            groups_tag.append((c, o, -1))
            for i, (itr, ite) in enumerate(inner):
                groups_rows.append(tr[itr])
                groups_eval.append(tr[ite])
                groups_cond.append(c)
                groups_tag.append((c, o, i))
    conds = np.asarray(groups_cond)
    Yt = torch.as_tensor(Y, dtype=dtype, device=dev)
    Ct = torch.as_tensor(Cs, dtype=dtype, device=dev)
    D = Xc.shape[-1]
    coef_g = torch.zeros(len(groups_rows), nC, K, D, dtype=dtype, device=dev)
    icpt_g = torch.zeros(len(groups_rows), nC, K, dtype=dtype, device=dev)
    # groups of similar training size are solved together (padding costs compute)
    for bucket in _size_buckets([len(r) for r in groups_rows]):
        rows = [groups_rows[g] for g in bucket]
        Xa, valid, mean, std = _standardise_groups(Xc, conds[bucket], rows, intercept_scaling,
                                                   dtype, dev, standardize)
        m = Xa.shape[1]
        index = np.zeros((len(rows), m), dtype=np.int64)
        for j, r in enumerate(rows):
            index[j, : len(r)] = r
        Yg = Yt[torch.as_tensor(conds[bucket], device=dev)[:, None],
                torch.as_tensor(index, device=dev)]
        Yg = Yg * valid[..., None].to(dtype)
        theta = solve_hinge_svm(Xa, Yg, Ct, **solver_options)  # [Gb, nC, D+1, K]
        cb, ib = _to_original(theta, mean[:, None], std[:, None], intercept_scaling)
        sel = torch.as_tensor(bucket, device=dev)
        coef_g[sel], icpt_g[sel] = cb, ib
    # coef_g [G, nC, K, D], icpt_g [G, nC, K]

    n_outer = len(outer)
    scores = np.zeros((n_cond, n_outer, nC, K))
    n_inner = np.zeros((n_cond, n_outer))
    # inner validation accuracy, batched over groups by padding the evaluation rows
    inner_g = [g for g, t in enumerate(groups_tag) if t[2] >= 0]
    if inner_g:
        me = max(len(groups_eval[g]) for g in inner_g)
        eidx = np.zeros((len(inner_g), me), dtype=np.int64)
        emask = np.zeros((len(inner_g), me), dtype=bool)
        for j, g in enumerate(inner_g):
            eidx[j, : len(groups_eval[g])] = groups_eval[g]
            emask[j, : len(groups_eval[g])] = True
        gi = torch.as_tensor(inner_g, device=dev)
        ci = torch.as_tensor(conds[inner_g], device=dev)
        ei = torch.as_tensor(eidx, device=dev)
        Xe = torch.as_tensor(Xc, dtype=dtype, device=dev)[ci[:, None], ei]  # [Gi, me, D]
        dec = torch.einsum("gnd,gckd->gcnk", Xe, coef_g[gi]) + icpt_g[gi][:, :, None, :]
        Ye = Yt[ci[:, None], ei]  # [Gi, me, K]
        correct = ((dec > 0) == (Ye[:, None] > 0)).to(dtype)
        em = torch.as_tensor(emask, device=dev).to(dtype)[:, None, :, None]
        acc = ((correct * em).sum(2) / em.sum(2)).cpu().numpy()  # [Gi, nC, K]
        for j, g in enumerate(inner_g):
            c, o, _ = groups_tag[g]
            scores[c, o] += acc[j]
            n_inner[c, o] += 1
        scores /= np.maximum(n_inner, 1)[..., None, None]
    best = scores.argmax(axis=2)  # [n_cond, n_outer, K]  (first maximum, as GridSearchCV)
    refit_g = np.zeros((n_cond, n_outer), dtype=np.int64)
    for g, (c, o, i) in enumerate(groups_tag):
        if i < 0:
            refit_g[c, o] = g
    coef_np = coef_g.cpu().numpy().astype(np.float64)
    icpt_np = icpt_g.cpu().numpy().astype(np.float64)
    sel_g = refit_g[..., None]  # [n_cond, n_outer, 1]
    kk = np.arange(K)[None, None, :]
    coef = coef_np[sel_g, best, kk]  # [n_cond, n_outer, K, D]
    intercept = icpt_np[sel_g, best, kk]
    return _GridFit(coef, intercept, Cs[best], scores, outer)


def _check_X(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise WmgeomError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim not in (2, 3):
        raise WmgeomError(f"{name} must be [n_samples, n_features] or [n_conditions, "
                          f"n_samples, n_features]; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise WmgeomError(f"{name} contains NaN or infinite values; drop or impute them")
    return X


def _torch_dtype(dtype: str) -> torch.dtype:
    table = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in table:
        raise WmgeomError(f"dtype={dtype!r} is not supported; use 'float32' or 'float64'")
    return table[dtype]


# --------------------------------------------------------------------------- estimator


class LinearDecoder(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear SVM with an inner grid search over ``C`` (seed 000; SPEC A1).

    Equivalent to ``OneVsRestClassifier(GridSearchCV(make_pipeline(StandardScaler(),
    SVC(kernel="linear")), {"svc__C": Cs}, cv=inner_cv))``, but every inner fold, ``C``
    and class is solved in one batched torch problem. The best ``C`` is chosen per
    one-vs-rest decoder by mean inner-validation accuracy (ties: the first in ``Cs``).

    Args:
        Cs: Grid of ``C`` values (the seed's {0.001, 0.01, 1, 10}).
        inner_cv: Folds of the grid search: an int (stratified, unshuffled, as
            ``GridSearchCV``), a scikit-learn splitter or a list of (train, test) indices.
        standardize: Standardise inputs with each training fold's mean and std (the
            default); coefficients are always returned in the original coordinates.
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        max_iter: ADMM iteration cap.
        tol: ADMM relative residual tolerance.
        intercept_scaling: Height of the constant column that carries the intercept.

    Attributes:
        classes_: Class labels ``[n_classes]``.
        coef_: Decoder normals in input coordinates, ``[n_classes, n_features]``
            (``[1, n_features]`` for two classes, positive class ``classes_[1]``).
        intercept_: Biases ``[n_classes]`` (or ``[1]``).
        best_C_: Selected ``C`` per decoder.
        cv_scores_: Mean inner-validation accuracy ``[n_Cs, n_decoders]``.
        n_features_in_: Number of input features.
    """

    def __init__(self, Cs: Sequence[float] = SEED_CS, inner_cv: Any = 5,
                 standardize: bool = True, device: str | None = "auto", dtype: str = "float32",
                 max_iter: int = 1000, tol: float = 1e-3, intercept_scaling: float = 10.0):
        self.Cs = Cs
        self.inner_cv = inner_cv
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.max_iter = max_iter
        self.tol = tol
        self.intercept_scaling = intercept_scaling

    def fit(self, X: Any, y: Any) -> LinearDecoder:
        """Fit the one-vs-rest decoders on ``X [n, D]`` and labels ``y [n]``."""
        if len(self.Cs) == 0 or any(c <= 0 for c in self.Cs):
            raise WmgeomError(f"Cs={self.Cs} must be a non-empty list of positive numbers")
        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        prob = _problems(y, 1, X.shape[0])
        self.classes_ = prob.classes[0]
        n = X.shape[0]
        fit = _fit_grid(
            X[None], prob.Y, [(np.arange(n), np.zeros(0, dtype=np.int64))], self.inner_cv,
            prob.codes[0, :, 0], self.Cs, device=self.device, dtype=_torch_dtype(self.dtype),
            intercept_scaling=self.intercept_scaling,
            solver_options={"max_iter": self.max_iter, "tol": self.tol}, seed=None,
            standardize=self.standardize)
        self.coef_ = fit.coef[0, 0]
        self.intercept_ = fit.intercept[0, 0]
        self.best_C_ = fit.best_C[0, 0]
        self.cv_scores_ = fit.cv_scores[0, 0]
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed distances ``X . w + b``: ``[n, n_classes]`` (``[n]`` for two classes)."""
        check_is_fitted(self, "coef_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise WmgeomError(f"X has {X.shape[1]} features but the decoder was fitted on "
                              f"{self.n_features_in_}")
        d = X @ self.coef_.T + self.intercept_
        return d[:, 0] if len(self.classes_) == 2 else d

    def predict(self, X: Any) -> np.ndarray:
        """Class with the largest one-vs-rest decision value (sign for two classes)."""
        d = self.decision_function(X)
        if len(self.classes_) == 2:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[d.argmax(1)]


# --------------------------------------------------------------------------- CV decoding


@dataclass
class DecodingResult:
    """Cross-validated decoders and their scores (SPEC A1).

    Attributes:
        decoders: One row per condition × decoder. Columns: ``condition``, ``feature``,
            ``class``, ``accuracy`` and ``balanced_accuracy`` of the one-vs-rest decoder on
            the held-out folds (pooled), ``accuracy_std`` (over folds), ``best_C`` (most
            frequent over folds), ``n``.
        features: One row per condition × feature. Columns: ``condition``, ``feature``,
            ``n_classes``, ``accuracy`` and ``balanced_accuracy`` of the multi-class
            prediction by argmax over the one-vs-rest decision values, ``chance`` (1/k), ``n``.
        coef: Fold-wise normals in input coordinates ``[n_cond, n_folds, K, D]``.
        intercept: Fold-wise biases ``[n_cond, n_folds, K]``.
        best_C: Selected ``C`` ``[n_cond, n_folds, K]``.
        cv_scores: Inner-validation accuracy ``[n_cond, n_folds, n_Cs, K]``.
        decision: Out-of-fold decision values ``[n_cond, n, K]`` (NaN if never held out).
        decoder_index: The decoder axis ``K``: ``feature``, ``class``, ``class_index``,
            ``feature_index``.
        folds: The outer (train, test) index pairs.
        conditions: Condition labels.
        classes: Class values per feature.
    """

    decoders: pd.DataFrame
    features: pd.DataFrame
    coef: np.ndarray
    intercept: np.ndarray
    best_C: np.ndarray
    cv_scores: np.ndarray
    decision: np.ndarray
    decoder_index: pd.DataFrame
    folds: list[tuple[np.ndarray, np.ndarray]]
    conditions: list[Any]
    classes: dict[str, np.ndarray] = field(default_factory=dict)

    def feature_slice(self, feature: str) -> slice:
        """The decoder-axis slice of one feature's one-vs-rest decoders."""
        ks = np.flatnonzero(self.decoder_index["feature"].to_numpy() == feature)
        if len(ks) == 0:
            raise WmgeomError(f"no decoders for feature {feature!r}; "
                              f"have {sorted(self.classes)}")
        return slice(int(ks[0]), int(ks[-1]) + 1)


def _balanced_accuracy(pred: np.ndarray, true: np.ndarray, valid: np.ndarray,
                       n_classes: int) -> np.ndarray:
    """Mean per-class recall over the last axis, batched over leading axes."""
    onehot = (true[..., None] == np.arange(n_classes)) & valid[..., None]
    hit = (pred == true)[..., None] & onehot
    support = onehot.sum(-2)
    recall = np.where(support > 0, hit.sum(-2) / np.maximum(support, 1), np.nan)
    return np.nanmean(recall, axis=-1)


def score_decisions(decision: np.ndarray, codes: np.ndarray, Y: np.ndarray,
                    decoder_index: pd.DataFrame, classes: Sequence[np.ndarray],
                    valid: np.ndarray | None = None) -> tuple[dict, dict]:
    """Per-decoder and per-feature accuracies of decision values (batched over leading axes).

    Args:
        decision: ``[..., n, K]`` decision values.
        codes: ``[..., n, n_features]`` true class index per feature.
        Y: ``[..., n, K]`` true one-vs-rest labels in {-1, +1}.
        decoder_index: The decoder axis description (``feature_index``).
        classes: Class values per feature.
        valid: ``[..., n]`` samples to score (default: where ``decision`` is finite).

    Returns:
        ``(per_decoder, per_feature)``: dicts of arrays ``accuracy``, ``balanced_accuracy``
        with shapes ``[..., K]`` and ``[..., n_features]``.
    """
    if valid is None:
        valid = np.isfinite(decision).all(-1)
    nv = np.maximum(valid.sum(-1), 1)[..., None]
    pos = decision > 0
    true = Y > 0
    v = valid[..., None]
    acc_k = ((pos == true) & v).sum(-2) / nv
    tpr = (pos & true & v).sum(-2) / np.maximum((true & v).sum(-2), 1)
    tnr = (~pos & ~true & v).sum(-2) / np.maximum((~true & v).sum(-2), 1)
    bal_k = (tpr + tnr) / 2
    fi = decoder_index["feature_index"].to_numpy()
    acc_f, bal_f = [], []
    for f, cls in enumerate(classes):  # loop over features (a handful), not over trials
        ks = np.flatnonzero(fi == f)
        d = np.where(np.isfinite(decision[..., ks]), decision[..., ks], 0.0)
        pred = (d[..., 0] > 0).astype(int) if len(ks) == 1 else d.argmax(-1)
        true_f = codes[..., f]
        acc_f.append(((pred == true_f) & valid).sum(-1) / nv[..., 0])
        bal_f.append(_balanced_accuracy(pred, true_f, valid, len(cls)))
    return ({"accuracy": acc_k, "balanced_accuracy": bal_k},
            {"accuracy": np.stack(acc_f, -1), "balanced_accuracy": np.stack(bal_f, -1)})


def cross_validated_decoding(
    X: Any,
    y: Any,
    *,
    cv: Any = 10,
    Cs: Sequence[float] = SEED_CS,
    inner_cv: Any = 5,
    groups: Any = None,
    conditions: Sequence[Any] | None = None,
    seed: int | None = 0,
    device: str | None = "auto",
    dtype: str = "float32",
    max_iter: int = 1000,
    tol: float = 1e-3,
    intercept_scaling: float = 10.0,
) -> DecodingResult:
    """Cross-validated one-vs-rest linear SVM decoding with the seed's protocol (SPEC A1).

    Every outer fold × inner fold × ``C`` × one-vs-rest class × condition is one batched
    solve (:func:`solve_hinge_svm`); inputs are standardised inside each training fold and
    decoders are returned in input coordinates.

    Args:
        X: Activations ``[n, D]`` or, batched over conditions (frames, tasks, ...),
            ``[n_conditions, n, D]`` (the same trials in every condition).
        y: Labels: an array ``[n]`` (or ``[n_conditions, n]`` for per-condition labels),
            or a dict / DataFrame of such arrays, one per feature (all decoded at once).
        cv: Outer folds: an int (stratified on the labels when there is a single feature
            shared by all conditions, else plain; shuffled with ``seed``), a scikit-learn
            splitter (``groups`` is passed to it) or a list of (train, test) index arrays.
        Cs: Grid of ``C`` values (the seed's {0.001, 0.01, 1, 10}).
        inner_cv: Folds of the inner grid search (as ``GridSearchCV``'s ``cv``).
        groups: Group labels for a group-aware splitter.
        conditions: Names of the conditions (default 0, 1, ...).
        seed: Shuffling seed of the outer folds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` or ``"float64"``.
        max_iter: ADMM iteration cap.
        tol: ADMM relative residual tolerance.
        intercept_scaling: Height of the constant column carrying the intercept.

    Returns:
        A :class:`DecodingResult`; ``.decoders`` and ``.features`` are the tidy tables.

    Raises:
        WmgeomError: On malformed activations or labels, or impossible fold counts.
    """
    X = _check_X(X)
    Xc = X[None] if X.ndim == 2 else X
    n_cond, n, _ = Xc.shape
    if len(Cs) == 0 or any(c <= 0 for c in Cs):
        raise WmgeomError(f"Cs={tuple(Cs)} must be a non-empty list of positive numbers")
    prob = _problems(y, n_cond, n)
    if conditions is None:
        conditions = list(range(n_cond))
    if len(conditions) != n_cond:
        raise WmgeomError(f"{len(conditions)} condition names for {n_cond} conditions")
    shared = len(prob.features) == 1 and all(
        np.array_equal(prob.codes[0, :, 0], prob.codes[c, :, 0]) for c in range(n_cond))
    strat = prob.codes[0, :, 0] if shared else None
    outer = _splits(cv, n, strat, None if groups is None else np.asarray(groups), True,
                    seed, "cv")
    fit = _fit_grid(Xc.astype(np.float64, copy=False), prob.Y, outer, inner_cv, strat, Cs,
                    device=device, dtype=_torch_dtype(dtype),
                    intercept_scaling=intercept_scaling,
                    solver_options={"max_iter": max_iter, "tol": tol}, seed=seed)
    K = prob.K
    decision = np.full((n_cond, n, K), np.nan)
    fold_acc = np.full((n_cond, len(outer), K), np.nan)
    for o, (_, te) in enumerate(outer):  # one vectorised product per fold
        d = decision_values(Xc[:, te], fit.coef[:, o], fit.intercept[:, o])
        decision[:, te] = d
        fold_acc[:, o] = ((d > 0) == (prob.Y[:, te] > 0)).mean(1) if len(te) else np.nan
    per_k, per_f = score_decisions(decision, prob.codes, prob.Y, prob.table, prob.classes)
    valid = np.isfinite(decision).all(-1)
    rows = []
    for c in range(n_cond):
        for k, info in prob.table.iterrows():
            vals, counts = np.unique(fit.best_C[c, :, k], return_counts=True)
            rows.append({"condition": conditions[c], "feature": info["feature"],
                         "class": info["class"], "accuracy": per_k["accuracy"][c, k],
                         "balanced_accuracy": per_k["balanced_accuracy"][c, k],
                         "accuracy_std": np.nanstd(fold_acc[c, :, k]),
                         "best_C": vals[counts.argmax()], "n": int(valid[c].sum())})
    frows = []
    for c in range(n_cond):
        for f, name in enumerate(prob.features):
            k_f = len(prob.classes[f])
            frows.append({"condition": conditions[c], "feature": name, "n_classes": k_f,
                          "accuracy": per_f["accuracy"][c, f],
                          "balanced_accuracy": per_f["balanced_accuracy"][c, f],
                          "chance": 1.0 / k_f, "n": int(valid[c].sum())})
    return DecodingResult(
        decoders=pd.DataFrame(rows), features=pd.DataFrame(frows), coef=fit.coef,
        intercept=fit.intercept, best_C=fit.best_C, cv_scores=fit.cv_scores,
        decision=decision, decoder_index=prob.table, folds=outer,
        conditions=list(conditions), classes=dict(zip(prob.features, prob.classes, strict=True)))
