"""Batched linear SVM decoders with the seed's cross-validation protocol (SPEC A1, P2).

Seed 000 (appendix, "Decoding analyses") decodes every feature value from the rest with a
linear support-vector classifier (scikit-learn's ``SVC``), 10-fold cross-validation and a
grid search over ``C`` in {0.001, 0.01, 1, 10}. Done with scikit-learn this means tens of
thousands of separate libsvm fits per model. Here every fold × inner fold × ``C`` ×
one-vs-rest class × condition (frame, task, ...) is solved as **one batched problem** in
torch, on the CPU or a GPU.

The objective is libsvm's C-SVM, unchanged::

    min_{w, b}  0.5 ||w||^2 + C * sum_i max(0, 1 - y_i (w . x_i + b))

on the raw activations, as the seed fits ``SVC`` (SPEC A1); ``standardize=True`` instead
standardises the inputs inside each training fold (mean and standard deviation of the
training part only). Every training set (outer fold, inner fold) is a mask over the
samples of one design matrix per condition, so the products with the data are GEMMs
shared by all folds, ``C`` values and classes of a condition.

Two solvers (:func:`solve_hinge_svm`):

* **Interior point** (``"ipm"``): a batched primal-dual method (Mehrotra predictor-
  corrector) on the problem exactly as libsvm states it, the intercept unpenalised. Each
  iteration solves one ``(d + 1) x (d + 1)`` system per problem (``O(n d^2)`` to form, one
  GEMM for all problems of a condition), and 12–20 iterations reach a relative duality
  gap of ``1e-5`` whatever ``C`` and the scale of the data. Raw activations make the
  problems hard for first-order methods: with ``C ||x||^2`` in the thousands (``C = 10``,
  correlated units) libsvm itself needs up to millions of SMO steps, and coordinate
  descent thousands of epochs; the interior-point method does not care.
* **Dual coordinate descent** (``"dcd"``): LIBLINEAR's method for the L1-loss SVM (Hsieh
  et al., ICML 2008), blocked: the gradients of a block of samples for all problems come
  from one GEMM, the sequential coordinate updates run on the small ``[block, problems]``
  arrays, and one more GEMM applies the block. It costs ``O(n d)`` per problem and epoch,
  with shrinking to the violating samples, warm starts along ascending ``C`` and a
  per-problem stopping rule; it needs few epochs when ``d`` is comparable to ``n`` (nearly
  separable problems) and many when ``d << n`` at large ``C``. The intercept is carried by
  a constant column (LIBLINEAR's formulation; height ``intercept_scaling`` times the
  root-mean-square unit standard deviation) whose share of the intercept is moved into a
  fixed offset by proximal steps until it vanishes, so its penalty does not bias the
  normal.

``solver="auto"`` takes the interior-point method on a GPU and, on the CPU, for up to
:data:`IPM_MAX_UNITS` units with at least :data:`IPM_MIN_ROWS_PER_UNIT` samples per unit;
coordinate descent otherwise. Either way the intercept is finally re-chosen for the solved normal, at the
midpoint of its optimal interval as libsvm chooses it.

Decoders are returned in the ORIGINAL input coordinates (with ``standardize=True`` the
per-fold standardisation is undone), so their normals can be used directly in the model's
own space (SPEC A8). Raw inputs are the default because standardising is not harmless on
network activations: a unit that barely varies (std ~1e-4) gets a weight of the size of an
informative unit's after scaling, i.e. a huge weight in input coordinates, and a decoder
applied to another frame or task where that unit's mean has moved then fails.
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

IPM_MAX_UNITS = 256
"""``solver="auto"`` on the CPU: the interior-point method up to this many units when
there are at least :data:`IPM_MIN_ROWS_PER_UNIT` samples per unit, blocked coordinate
descent otherwise (see the module)."""

IPM_MIN_ROWS_PER_UNIT = 4
"""Measured (10 outer x 5 inner folds, the seed's C grid, one core): coordinate descent is
faster up to about eight training rows per unit (1000 trials x 128 units, 8 classes: 11.7 s
against 19.2 s; 1000 x 512: 2.1 s against 338 s), the interior-point method beyond (1500 x
64: 5.3 s against 12.0 s). But from about four rows per unit, at ``C >= 1`` coordinate
descent does not converge in 100 epochs and picks other ``C`` values than libsvm (1000 x
128, 4 unbalanced classes: 2.5 points of multi-class accuracy apart from scikit-learn's
``SVC``; 1500 x 128: 19 of 150 held-out predictions differed), while the interior-point
method reproduces libsvm's inner-validation scores: the threshold keeps the answers."""

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
    C: torch.Tensor | Sequence[float],
    *,
    method: str = "auto",
    groups: int = 1,
    tol: float = 0.1,
    max_iter: int = 100,
    ipm_tol: float | None = None,
    ipm_max_iter: int = 60,
    block: int = 64,
    seed: int | None = 0,
    n_threads: int | None = None,
    max_elements: int = 2 ** 22,
) -> torch.Tensor:
    """Solve many linear C-SVMs that share design matrices (libsvm's C-SVM, batched).

    Problem ``(g, c, k)`` is ``min 0.5 ||w||^2 + C[c] * sum_i hinge(Y[g, i, k] * (x_i . w
    + b))`` over the rows ``i`` of ``Xa[g]`` whose label is not 0 (0: padding, other folds);
    the last column of ``Xa`` is constant (height ``h``) and carries the intercept
    ``b = h theta[-1]``, which ends re-chosen exactly for the solved normal as libsvm does.

    Two solvers (see the module docstring): ``"ipm"``, a batched interior-point method that
    solves the problem exactly (intercept unpenalised) in a number of iterations that does
    not depend on ``C`` or on the conditioning of the data, at ``O(m d^2)`` per problem and
    iteration; ``"dcd"``, blocked dual coordinate descent (LIBLINEAR's formulation, the
    intercept column penalised, with proximal steps that move the column's share of the
    intercept into a fixed offset until it vanishes) at ``O(m d)`` per problem and epoch,
    whose number of epochs grows with ``C`` and with ``m / d``. ``"auto"`` takes the IPM on
    a GPU, and on the CPU when there are at most :data:`IPM_MAX_UNITS` units and at least
    :data:`IPM_MIN_ROWS_PER_UNIT` rows per unit; coordinate descent otherwise.

    Args:
        Xa: Design matrices ``[G, m, d]``, the intercept column last.
        Y: Labels ``[G, m, K]`` in {-1, 0, +1} (0: not a training row of that problem).
        C: Regularisation values ``[n_C]``; every one is solved for every ``(g, k)``.
        method: ``"auto"``, ``"ipm"`` or ``"dcd"``.
        groups: (dcd) The ``K`` columns form this many equal groups of consecutive columns
            that share one order of their (violating) samples per epoch, so related problems
            (e.g. the folds of one class) should be grouped.
        tol: (dcd) Stop a problem when its projected gradients span at most ``tol``
            (LIBLINEAR's ``eps``, in margin units) and the intercept column's share of
            ``b`` is at most ``tol``.
        max_iter: (dcd) Epochs per ``C`` at most; ``C`` values are solved in ascending
            order, each warm-started from the previous one.
        ipm_tol: (ipm) Relative duality gap at which a problem is done (default ``1e-5``
            for float32 inputs, ``1e-8`` for float64).
        ipm_max_iter: (ipm) Iteration cap.
        block: (dcd) Samples per block (one GEMM each, see :func:`_dcd`).
        seed: (dcd) Seed of the sample orders (None: not reproducible).
        n_threads: CPU threads for the solve (default 1: on a shared 2-core machine two
            threads made the solve 6-17x slower, measured; pass 2 on an idle one).
        max_elements: (ipm) Problems are solved in chunks of at most this many entries of the
            ``[samples, problems]`` and ``[problems, d^2]`` arrays (memory).

    Returns:
        ``theta`` of shape ``[G, n_C, d, K]``.
    """
    if Y.shape[:2] != Xa.shape[:2]:
        raise WmgeomError(f"labels {tuple(Y.shape)} do not match the design {tuple(Xa.shape)}")
    G, m, d = Xa.shape
    K = Y.shape[-1]
    if groups < 1 or K % groups:
        raise WmgeomError(f"groups={groups} must divide the {K} label columns")
    if method == "auto":
        method = "ipm" if Xa.device.type == "cuda" or (
            d - 1 <= IPM_MAX_UNITS and IPM_MIN_ROWS_PER_UNIT * (d - 1) <= m) else "dcd"
    if method not in ("ipm", "dcd"):
        raise WmgeomError(f"method={method!r}: use 'auto', 'ipm' or 'dcd'")
    if n_threads is None and Xa.device.type == "cpu":
        n_threads = 1
    Cv = torch.as_tensor(C, dtype=torch.float64).reshape(-1)
    nC = len(Cv)
    if ipm_tol is None:
        ipm_tol = 1e-8 if Xa.dtype == torch.float64 else 1e-5
    theta = torch.empty(G, nC, d, K, dtype=Xa.dtype, device=Xa.device)
    with _cpu_threads(n_threads), torch.no_grad():
        if method == "ipm":
            X0 = Xa[..., :-1]
            valid = (Y != 0).any(-1, keepdim=True).to(Xa.dtype)
            X0 = X0 - (X0 * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp(
                min=1)  # centred on the labelled rows: the same solution, better conditioned
            Yall = Y.repeat(1, 1, nC)  # columns (c, k)
            Call = Cv.repeat_interleave(K).to(Xa.device)
            step = max(1, max_elements // max(1, G * max(m, d * d)))
            W = torch.empty(G, d - 1, nC * K, dtype=Xa.dtype, device=Xa.device)
            for q0 in range(0, nC * K, step):
                q = slice(q0, min(nC * K, q0 + step))
                W[..., q], _ = _ipm(X0, Yall[..., q], Call[q], ipm_tol, ipm_max_iter)
            W = torch.cat([W, torch.zeros_like(W[:, :1])], 1)
            for c in range(nC):
                theta[:, c] = _libsvm_intercept(Xa, Y, W[..., c * K:(c + 1) * K])
        else:
            gen = torch.Generator()
            gen.manual_seed(0 if seed is None else int(seed))
            if seed is None:
                gen.seed()
            beta = torch.zeros_like(Y)
            offset = torch.zeros_like(Y[:, :1])
            valid = (Y != 0).any(-1, keepdim=True).to(Xa.dtype)
            mean = (Xa * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp(min=1)
            mean[..., -1] = 0.0
            Xc = Xa - mean  # a translation: the intercept's penalty then matters least
            for c in torch.argsort(Cv).tolist():  # ascending: the previous one is feasible
                W = _dcd(Xc, Y, float(Cv[c]), beta, offset, groups, tol, max_iter, block, gen)
                theta[:, c] = _libsvm_intercept(Xa, Y, W)
    return theta


def _dcd(X: torch.Tensor, Y: torch.Tensor, C: float, beta: torch.Tensor, offset: torch.Tensor,
         S: int, tol: float, max_epochs: int, block: int, gen: torch.Generator) -> torch.Tensor:
    """Blocked dual coordinate descent for the L1-loss SVM (Hsieh et al., ICML 2008).

    The dual of problem ``q`` is ``min 0.5 ||X^T beta_q||^2 - sum_i (y_iq - o_q) beta_iq``
    over ``beta_iq = y_iq alpha_iq``, ``0 <= alpha_iq <= C`` (bounds 0 where ``y_iq = 0``):
    the primal decision function is ``x . w + o_q`` with ``w = X^T beta`` including the
    weight of the constant last column. ``beta`` ``[Gc, n, Q]`` and the offsets ``o``
    ``[Gc, 1, Q]`` are updated in place and ``w`` ``[Gc, d, Q]`` is returned. When a problem
    is solved for its offset, the column's share of the intercept is moved into ``o``
    (a proximal-point step on ``b``), until that share is below ``tol``: the column's
    penalty then no longer biases the normal.

    Each epoch starts with the exact gradients of all problems (two GEMMs): problems whose
    projected gradients span at most ``tol`` are done; each group of ``Q / S`` problems then
    visits, in a random order, only the samples that violate the optimality conditions of
    one of its problems by more than ``tol / 2`` (shrinking). Samples are taken ``block`` at
    a time: one GEMM gives the block's margins for every problem, the block's Gram matrix
    ``K`` couples its samples, and the sequential coordinate updates then touch only
    ``[block, problems]`` arrays (an update of sample ``t`` moves the later margins of the
    block by ``K_ts delta_t``), which is exactly sequential coordinate descent; one more GEMM
    applies the block to ``w``.
    """
    Gc, n, d = X.shape
    Q = Y.shape[-1]
    P = Q // S
    G = Gc * S
    dt, dev = X.dtype, X.device
    train = Y != 0
    height = X[:, :1, -1:]  # [Gc, 1, 1] the intercept column
    cond = torch.arange(Gc, device=dev).repeat_interleave(S)  # group -> condition
    part = torch.arange(S, device=dev).repeat(Gc)  # group -> column group
    Yv, bv = Y.view(Gc, n, S, P), beta.view(Gc, n, S, P)
    inf = torch.tensor(float("inf"), dtype=dt, device=dev)
    new = None
    for _ in range(max_epochs):
        W = X.transpose(1, 2) @ beta  # exact every epoch: no drift in float32
        grad = torch.baddbmm(Y - offset, X, W, beta=-1).mul_(Y)  # y f - 1 (training rows)
        alpha = beta * Y
        up = train & (alpha < C)  # alpha may grow
        down = alpha > 0  # alpha may shrink
        gap = (torch.where(down, grad, -inf).amax(1).clamp(min=0)
               - torch.where(up, grad, inf).amin(1).clamp(max=0))  # [Gc, Q]
        # the intercept column's share of b, h^2 sum(beta): moved into the offset once the
        # problem is solved for the present offset (a proximal-point step on b, so that
        # the column's penalty vanishes at the end)
        jump = (height * W[:, -1:]).where(gap[:, None] <= tol, 0.0)  # [Gc, 1, Q]
        shift = jump.abs() > tol
        active = (gap > tol) | shift[:, 0]
        if not bool(active.any()):
            return W
        if bool(shift.any()):
            offset += jump.where(shift, 0.0)
            grad += (Y * jump.where(shift, 0.0)).mul_(Y.abs())
        viol = ((up & (grad < -tol / 2)) | (down & (grad > tol / 2))) & active[:, None]
        viol_g = viol.view(Gc, n, S, P).any(-1).transpose(1, 2).reshape(G, n)
        count = viol_g.sum(1)
        keep = torch.nonzero(count > 0).squeeze(1)
        L = int(count.max())
        ck, pk = cond[keep, None], part[keep, None]
        # the violators of each group first, in random order, then other samples (no-ops)
        key = torch.rand(len(keep), n, generator=gen).to(dev) + (~viol_g[keep]).to(dt) * 2
        idx = key.argsort(1)[:, :L]  # [Gk, L]
        Xe = X[ck, idx]  # [Gk, L, d]
        Ye = Yv[ck, idx, pk]  # [Gk, L, P]
        Yo = Ye - offset.view(Gc, 1, S, P).transpose(1, 2).reshape(G, 1, P)[keep]
        Be = bv[ck, idx, pk]  # current beta, updated in place
        lo, hi = Ye.clamp(max=0) * C, Ye.clamp(min=0) * C
        neg_iq = (Xe * Xe).sum(-1, keepdim=True).reciprocal_().neg_()  # -1 / Q_ii
        Wg = W.view(Gc, d, S, P).permute(0, 2, 1, 3).reshape(G, d, P)[keep]
        Z = torch.empty_like(Be)
        if new is None or new.shape[0] != len(keep):
            new = torch.empty(len(keep), 1, P, dtype=dt, device=dev)
        rows = [t.unsqueeze(2).unbind(1) for t in (Z, lo, hi, Be)]
        for s0 in range(0, L, block):
            s1 = min(L, s0 + block)
            Xb, Eb = Xe[:, s0:s1], Be[:, s0:s1]
            B0 = Eb.clone()
            # rows t: Kn_ts = -K_ts / K_tt; with Z_t = B0_t - (x_t.w - y_t) / K_tt - Kn_t.B0,
            # the coordinate minimiser of sample t is Z_t + Kn_t.E (E: the block's current
            # beta, equal to B0 on the samples not yet visited)
            Kn = (Xb @ Xb.transpose(1, 2)).mul_(neg_iq[:, s0:s1])
            Zb = torch.baddbmm(Yo[:, s0:s1], Xb, Wg, beta=-1).mul_(neg_iq[:, s0:s1]).add_(B0)
            Z[:, s0:s1] = Zb.baddbmm_(Kn, B0, alpha=-1)
            krows = Kn.unsqueeze(2).unbind(1)
            zr, lr, hr, er = (r[s0:s1] for r in rows)
            for t in range(s1 - s0):  # the sequential part: two small ops per coordinate
                torch.baddbmm(zr[t], krows[t], Eb, out=new)
                torch.clamp(new, lr[t], hr[t], out=er[t])
            Wg.baddbmm_(Xb.transpose(1, 2), Eb - B0)
        bv[ck, idx, pk] = Be
    return X.transpose(1, 2) @ beta


def _ipm(X: torch.Tensor, Y: torch.Tensor, C: torch.Tensor, tol: float, max_iter: int,
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched primal-dual interior-point method (Mehrotra predictor-corrector) for SVMs.

    Solves libsvm's problem exactly, the intercept unpenalised::

        min 0.5 ||w||^2 + C sum_i xi_i   s.t.  y_i (x_i . w + b) + xi_i - s_i = 1,
                                               xi, s >= 0

    with multipliers ``0 <= alpha_i <= C`` (``nu = C - alpha``) for every problem ``q`` of
    ``Y [Gc, n, Q]`` on its training rows (``y != 0``) of ``X [Gc, n, d]``. Eliminating the
    per-sample unknowns leaves one ``(d + 1) x (d + 1)`` system ``I' + Xa^T D Xa`` per problem
    and iteration (``Xa = [X, 1]``, ``D`` diagonal), formed for all problems of a condition
    with one GEMM against the pairwise products of the columns of ``Xa``. Unlike coordinate
    descent the number of iterations (typically 12–20) does not grow with ``C`` or with the
    conditioning of the data. Converged problems leave the batch. ``C`` is ``[Q]``. Returns
    ``w [Gc, d, Q]``, ``b [Gc, Q]``.
    """
    Gc, n, d = X.shape
    Q = Y.shape[-1]
    dt, dev = X.dtype, X.device
    d1 = d + 1
    Xa = torch.cat([X, torch.ones(Gc, n, 1, dtype=dt, device=dev)], -1)
    r_i, c_i = torch.tril_indices(d1, d1, device=dev)
    Z = Xa[..., r_i] * Xa[..., c_i]  # [Gc, n, T]: the products x_r x_c, r >= c
    flat = r_i * d1 + c_i  # Cholesky reads the lower triangle only
    diag = torch.arange(d1, device=dev) * (d1 + 1)
    reg = torch.ones(d1, dtype=dt, device=dev)
    reg[-1] = 0.0  # the intercept is not penalised
    w_out = torch.zeros(Gc, d, Q, dtype=dt, device=dev)
    b_out = torch.zeros(Gc, Q, dtype=dt, device=dev)
    cols = torch.arange(Q, device=dev)  # the problems still in the batch
    m = (Y != 0).to(dt)
    Yq = Y.to(dt)
    Cq = C.to(dt).reshape(1, 1, Q).expand(Gc, 1, Q)
    n_tr = m.sum(1, keepdim=True).clamp(min=1)
    w = torch.zeros(Gc, d, Q, dtype=dt, device=dev)
    b = torch.zeros(Gc, 1, Q, dtype=dt, device=dev)
    alpha = torch.where(m > 0, Cq * 0.1, 1.0)  # measured: fewer iterations than C / 2
    nu = torch.where(m > 0, Cq * 0.9, 1.0)
    s = torch.ones(Gc, n, Q, dtype=dt, device=dev)
    xi = torch.ones_like(s)
    for _ in range(max_iter):
        my = m * Yq
        r_d = w - X.transpose(1, 2) @ (my * alpha)  # stationarity in w
        r_e = (my * alpha).sum(1, keepdim=True)  # ... in b: sum alpha y = 0
        r_c = (Cq - alpha - nu) * m  # ... in xi: alpha + nu = C
        margin = Yq * torch.baddbmm(b, X, w)
        r_p = (margin + xi - s - 1.0) * m  # the margin constraints
        comp = ((s * alpha + xi * nu) * m).sum(1, keepdim=True)
        # converged: the duality gap between the SVM objective of (w, b) and the dual
        # objective of alpha (with its own normal w - r_d) is small
        primal = (0.5 * w.square().sum(1, keepdim=True)
                  + Cq * ((1.0 - margin).clamp(min=0) * m).sum(1, keepdim=True))
        dual = (alpha * m).sum(1, keepdim=True) - 0.5 * (w - r_d).square().sum(1, keepdim=True)
        conv = (((primal - dual) <= tol * (1 + primal.abs()))
                & (r_e.abs() <= tol * (1 + Cq * n_tr))).all(0)[0]  # [Q']
        theta = s / alpha + xi / nu
        D = m / theta
        M = torch.zeros(Gc, len(cols), d1 * d1, dtype=torch.float64, device=dev)
        M.index_copy_(2, flat, (D.transpose(1, 2) @ Z).double())
        M[..., diag] += reg + 1e-12 * M[..., diag].amax(-1, keepdim=True)
        factor, info = torch.linalg.cholesky_ex(M.view(Gc, -1, d1, d1))
        # done, or numerically at the end (the system no longer factorises): out
        out = conv | (info != 0).any(0)
        if bool(out.any()):
            w_out[..., cols[out]] = w[..., out]
            b_out[:, cols[out]] = b[:, 0, out]
            keep = ~out
            if not bool(keep.any()):
                break
            cols = cols[keep]
            (my, r_d, r_e, r_c, r_p, comp, theta, m, Yq, Cq, n_tr, w, b, alpha, nu, s, xi,
             D) = (t[..., keep] for t in (my, r_d, r_e, r_c, r_p, comp, theta, m, Yq, Cq,
                                          n_tr, w, b, alpha, nu, s, xi, D))
            factor = factor[:, keep]
        state = (X, Yq, m, my, theta, factor, r_d, r_e, r_c, r_p, s, xi, alpha, nu)
        # predictor (affine scaling), then Mehrotra's centring-corrector
        dw, db, da, dn, ds, dx = _ipm_direction(state, s * alpha * m, xi * nu * m)
        ap = torch.minimum(_longest(s, ds), _longest(xi, dx)).clamp(max=1.0)
        ad = torch.minimum(_longest(alpha, da), _longest(nu, dn)).clamp(max=1.0)
        comp_aff = (((s + ap * ds) * (alpha + ad * da) + (xi + ap * dx) * (nu + ad * dn))
                    * m).sum(1, keepdim=True)
        sigma = (comp_aff / comp.clamp(min=1e-300)).clamp(0.0, 1.0) ** 3
        mu = sigma * comp / (2 * n_tr)
        dw, db, da, dn, ds, dx = _ipm_direction(state, (s * alpha + ds * da - mu) * m,
                                                (xi * nu + dx * dn - mu) * m)
        ap = torch.nan_to_num(0.995 * torch.minimum(_longest(s, ds), _longest(xi, dx))
                              ).clamp(max=1.0)
        ad = torch.nan_to_num(0.995 * torch.minimum(_longest(alpha, da), _longest(nu, dn))
                              ).clamp(max=1.0)
        w, b = w + ap * dw, b + ap * db
        s, xi = s + ap * ds, xi + ap * dx
        alpha, nu = alpha + ad * da, nu + ad * dn
    else:
        w_out[..., cols] = w
        b_out[:, cols] = b[:, 0]
    return w_out, b_out


def _longest(v: torch.Tensor, dv: torch.Tensor) -> torch.Tensor:
    """Largest step ``a`` keeping ``v + a dv >= 0``, per problem (over the samples)."""
    ratio = torch.where(dv < 0, -v / dv, torch.full_like(v, float("inf")))
    return ratio.amin(1, keepdim=True)


def _ipm_direction(state: tuple, r_sa: torch.Tensor, r_xn: torch.Tensor,
                   ) -> tuple[torch.Tensor, ...]:
    """Newton direction of :func:`_ipm` for complementarity targets ``r_sa``, ``r_xn``."""
    X, Yq, m, my, theta, factor, r_d, r_e, r_c, r_p, s, xi, alpha, nu = state
    d = X.shape[-1]
    g = (-r_p + (r_xn + xi * r_c) / nu - r_sa / alpha) / theta * m
    rhs = torch.cat([-r_d + X.transpose(1, 2) @ (my * g), r_e + (my * g).sum(1, keepdim=True)],
                    1)
    v = torch.cholesky_solve(rhs.transpose(1, 2)[..., None].double(), factor)[..., 0]
    v = v.transpose(1, 2).to(rhs.dtype)
    dw, db = v[:, :d], v[:, d:]
    da = (g - Yq * torch.baddbmm(db, X, dw) / theta) * m
    dn = (r_c - da) * m
    ds = (-r_sa - s * da) / alpha * m
    dx = (-r_xn - xi * dn) / nu * m
    return dw, db, da, dn, ds, dx


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


@dataclass
class _GridFit:
    coef: np.ndarray  # [n_cond, n_outer, K, D]
    intercept: np.ndarray  # [n_cond, n_outer, K]
    best_C: np.ndarray  # [n_cond, n_outer, K]
    cv_scores: np.ndarray  # [n_cond, n_outer, nC, K] mean inner-validation accuracy
    outer: list[tuple[np.ndarray, np.ndarray]]


def _designs(X: torch.Tensor, train: torch.Tensor | None, intercept_scaling: float,
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Design matrices ``[..., n, D+1]`` of the solver and their input coordinates.

    ``X [c, n, D]``. Raw (``train`` None): one matrix per condition, centred on the mean of
    all its samples (a translation, which leaves the solution unchanged: the intercept is
    re-chosen for the solved normal), the intercept column ``intercept_scaling`` times the
    root-mean-square standard deviation of the units (so the column's weight relative to the
    data does not depend on their units). Standardised (``train [g, n]`` bool): one matrix
    per condition × training set, each unit standardised with that set's mean and std, the
    column ``intercept_scaling``.

    Returns ``(Xa, shift, scale)``: ``z = (x - shift) / scale`` is a row of ``Xa``.
    """
    if train is None:
        shift = X.mean(1)  # [c, D]
        Z = X - shift[:, None]
        rms = Z.square().mean((1, 2)).sqrt()
        height = intercept_scaling * torch.where(rms > 0, rms, torch.ones_like(rms))
        scale = torch.ones_like(shift)
    else:
        w = train.to(X.dtype)[None, :, :, None]  # [1, g, n, 1]
        count = w.sum(2)
        shift = (X[:, None] * w).sum(2) / count  # [c, g, D]
        var = ((X[:, None] - shift[:, :, None]).square() * w).sum(2) / count
        scale = var.sqrt()
        scale = torch.where(scale > 1e-12 * (1 + shift.abs()), scale, torch.ones_like(scale))
        Z = ((X[:, None] - shift[:, :, None]) / scale[:, :, None]).flatten(0, 1)
        shift, scale = shift.flatten(0, 1), scale.flatten(0, 1)
        height = torch.full((Z.shape[0],), float(intercept_scaling), dtype=X.dtype,
                            device=X.device)
    ones = height[:, None, None].expand(-1, Z.shape[1], 1)
    return torch.cat([Z, ones], -1), shift, scale


def _fit_grid(
    Xc: np.ndarray, Y: np.ndarray, outer: list[tuple[np.ndarray, np.ndarray]],
    inner_cv: Any, strat: np.ndarray | None, Cs: Sequence[float], *, device: Any,
    dtype: torch.dtype, intercept_scaling: float, solver_options: dict, seed: int | None,
    standardize: bool = False, max_elements: int = 2 ** 24,
) -> _GridFit:
    """Fit every condition × outer fold × (inner fold | refit) × C × class in one solve.

    For each outer training set the grid over ``Cs`` is scored by ``inner_cv`` (mean
    validation accuracy per one-vs-rest decoder, as ``GridSearchCV`` does); the decoder at
    the best ``C`` fitted on the whole outer training set (solved in the same batch) is kept.
    Every training set is a mask over the samples of one design matrix per condition (per
    condition × training set with ``standardize``), so one GEMM serves all folds, ``C`` and
    classes of a condition. Conditions are solved in chunks of at most ``max_elements``
    entries of the ``[samples, problems]`` arrays.
    """
    dev = resolve_device(device)
    n_cond, n, D = Xc.shape
    K = Y.shape[-1]
    Cs = np.asarray(Cs, dtype=float)
    nC = len(Cs)
    train_rows, eval_rows, tags = [], [], []  # one training set per (outer, inner | refit)
    for o, (tr, _) in enumerate(outer):
        if len(tr) < 2:
            raise WmgeomError("a training fold has fewer than 2 samples; use fewer folds")
        inner = (_splits(inner_cv, len(tr), None if strat is None else strat[tr], None,
                         False, seed, "inner_cv") if nC > 1 else [])
        train_rows.append(tr)
        eval_rows.append(np.zeros(0, dtype=np.int64))
        tags.append((o, -1))
        for i, (itr, ite) in enumerate(inner):
            train_rows.append(tr[itr])
            eval_rows.append(tr[ite])
            tags.append((o, i))
    nG = len(train_rows)
    train_np = np.zeros((nG, n), dtype=bool)
    eval_np = np.zeros((nG, n), dtype=bool)
    for g in range(nG):
        train_np[g, train_rows[g]] = True
        eval_np[g, eval_rows[g]] = True
    train = torch.as_tensor(train_np, device=dev)
    evalm = torch.as_tensor(eval_np, device=dev).to(dtype)
    n_eval = np.maximum(eval_np.sum(1), 1).astype(np.float64)  # [nG]
    refit = [g for g, t in enumerate(tags) if t[1] < 0]  # one per outer fold
    opts = {"seed": 0 if seed is None else seed, **solver_options}
    acc = np.zeros((n_cond, nG, nC, K))
    coef_r = np.zeros((n_cond, len(outer), nC, K, D))
    icpt_r = np.zeros((n_cond, len(outer), nC, K))
    per_cond = n * nG * K * (1 + (D + 1) / K if standardize else 1)
    step = max(1, int(max_elements // per_cond))
    for c0 in range(0, n_cond, step):
        cs = slice(c0, min(n_cond, c0 + step))
        Xt = torch.as_tensor(Xc[cs], dtype=dtype, device=dev)
        Yt = torch.as_tensor(Y[cs], dtype=dtype, device=dev)  # [c, n, K]
        nc = Xt.shape[0]
        Xa, shift, scale = _designs(Xt, train if standardize else None, intercept_scaling)
        if standardize:  # matrix (cond, set); columns: classes
            Yq = (Yt[:, None] * train[None, :, :, None].to(dtype)).flatten(0, 1)
        else:  # matrix cond; columns (class, set)
            Yq = (Yt[..., None] * train.T[None, :, None, :].to(dtype)).flatten(2)
        # one sample order per design matrix: its coordinate steps are then GEMMs over all
        # of the matrix's problems (one order per class was 2-4x slower, measured on the
        # decoder bank of a quick-profile GRU: 9.6 s against 19.8 s per task)
        theta = solve_hinge_svm(Xa, Yq, torch.as_tensor(Cs), groups=1, **opts)
        height = Xa[:, 0, -1]
        for ci in range(nC):  # inner-validation accuracy, in solver coordinates
            dec = Xa @ theta[:, ci]  # [c | c*set, n, cols]
            if standardize:
                dec = dec.view(nc, nG, n, K).permute(0, 2, 3, 1)  # [c, n, K, set]
            else:
                dec = dec.view(nc, n, K, nG)
            right = ((dec > 0) == (Yt[..., None] > 0)).to(dtype)
            # counts are exact; the fold accuracies and their mean in float64, as
            # GridSearchCV computes them, so that ties between C values break the same way
            hits = torch.einsum("cnks,sn->csk", right, evalm).cpu().numpy()
            acc[cs, :, ci] = np.rint(hits) / n_eval[None, :, None]
        # the refit decoders, back in input coordinates
        if standardize:
            th = theta.view(nc, nG, nC, D + 1, K)[:, refit]  # [c, o, nC, D+1, K]
            sh = shift.view(nc, nG, D)[:, refit][:, :, None, :, None]
            sc = scale.view(nc, nG, D)[:, refit][:, :, None, :, None]
            hg = height.view(nc, nG)[:, refit][:, :, None, None]
        else:
            th = theta.view(nc, nC, D + 1, K, nG)[..., refit].permute(0, 4, 1, 2, 3)
            sh, sc = shift[:, None, None, :, None], scale[:, None, None, :, None]
            hg = height[:, None, None, None]
        w = th[..., :D, :] / sc  # [c, o, nC, D, K]
        b = hg * th[..., D, :] - (w * sh).sum(-2)
        coef_r[cs] = w.transpose(-1, -2).double().cpu().numpy()
        icpt_r[cs] = b.double().cpu().numpy()
    n_outer = len(outer)
    scores = np.zeros((n_cond, n_outer, nC, K))
    n_inner = np.zeros(n_outer)
    for g, (o, i) in enumerate(tags):
        if i >= 0:
            scores[:, o] += acc[:, g]
            n_inner[o] += 1
    scores /= np.maximum(n_inner, 1)[None, :, None, None]
    best = scores.argmax(axis=2)  # [n_cond, n_outer, K]  (first maximum, as GridSearchCV)
    cc = np.arange(n_cond)[:, None, None]
    oo = np.arange(n_outer)[None, :, None]
    kk = np.arange(K)[None, None, :]
    coef = coef_r[cc, oo, best, kk]  # [n_cond, n_outer, K, D]
    intercept = icpt_r[cc, oo, best, kk]
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

    Equivalent to ``OneVsRestClassifier(GridSearchCV(SVC(kernel="linear"), {"C": Cs},
    cv=inner_cv))`` (with ``standardize=True``: ``make_pipeline(StandardScaler(), SVC(...))``
    inside the grid search), but every inner fold, ``C`` and class is solved in one batched
    torch problem. The best ``C`` is chosen per
    one-vs-rest decoder by mean inner-validation accuracy (ties: the first in ``Cs``).

    Args:
        Cs: Grid of ``C`` values (the seed's {0.001, 0.01, 1, 10}).
        inner_cv: Folds of the grid search: an int (stratified, unshuffled, as
            ``GridSearchCV``), a scikit-learn splitter or a list of (train, test) indices.
        standardize: Standardise inputs with each training fold's mean and std (default
            False: raw inputs, as the seed's ``SVC``); coefficients are always returned in
            the original coordinates.
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        max_iter: Coordinate-descent epochs per ``C`` at most (:func:`solve_hinge_svm`).
        tol: Coordinate-descent tolerance (LIBLINEAR's ``eps``, in margin units).
        intercept_scaling: Height of the constant column that carries the intercept, in
            units of the inputs' root-mean-square standard deviation (coordinate descent
            penalises ``0.5 (b / height)^2``; the intercept is re-chosen exactly at the end).
        solver: ``"auto"``, ``"ipm"`` (exact interior-point) or ``"dcd"`` (coordinate
            descent); see :func:`solve_hinge_svm`.

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
                 standardize: bool = False, device: str | None = "auto", dtype: str = "float32",
                 max_iter: int = 100, tol: float = 0.1, intercept_scaling: float = 10.0,
                 solver: str = "auto"):
        self.Cs = Cs
        self.inner_cv = inner_cv
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.max_iter = max_iter
        self.tol = tol
        self.intercept_scaling = intercept_scaling
        self.solver = solver

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
            solver_options={"max_iter": self.max_iter, "tol": self.tol,
                            "method": self.solver}, seed=None,
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
    max_iter: int = 100,
    tol: float = 0.1,
    intercept_scaling: float = 10.0,
    standardize: bool = False,
    solver: str = "auto",
    n_threads: int | None = None,
) -> DecodingResult:
    """Cross-validated one-vs-rest linear SVM decoding with the seed's protocol (SPEC A1).

    Every outer fold × inner fold × ``C`` × one-vs-rest class × condition is one batched
    solve (:func:`solve_hinge_svm`) on the raw activations (``standardize=True``: inputs
    standardised inside each training fold); decoders are returned in input coordinates.

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
        max_iter: Coordinate-descent epochs per ``C`` at most (:func:`solve_hinge_svm`).
        tol: Coordinate-descent tolerance (LIBLINEAR's ``eps``, in margin units).
        intercept_scaling: Height of the constant column carrying the intercept, in units
            of the inputs' root-mean-square standard deviation.
        standardize: Standardise the inputs with each training fold's mean and std (default
            False: raw activations, as the seed's ``SVC``).
        solver: ``"auto"``, ``"ipm"`` (exact interior-point) or ``"dcd"`` (coordinate
            descent); see :func:`solve_hinge_svm`.
        n_threads: CPU threads of the solve (default 1, see :func:`solve_hinge_svm`).

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
                    solver_options={"max_iter": max_iter, "tol": tol, "method": solver,
                                    "n_threads": n_threads},
                    seed=seed, standardize=standardize)
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
