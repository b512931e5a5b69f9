"""Batched hinge-loss SVM solvers: libsvm's C-SVM for many problems in one torch call.

The estimators and the cross-validation protocol live in :mod:`wmgeom.analysis.decoders`
(as scikit-learn keeps its liblinear/libsvm solvers apart from the estimator classes that
wrap them); this module only solves. Every problem is libsvm's C-SVM, unchanged::

    min_{w, b}  0.5 ||w||^2 + C * sum_i max(0, 1 - y_i (w . x_i + b))

and many of them (folds × ``C`` values × one-vs-rest classes × conditions) are solved at
once on design matrices they share, so the products with the data are GEMMs shared by all
problems of a matrix, on the CPU or a GPU.

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

``method="auto"`` takes the interior-point method on a GPU and, on the CPU, for up to
:data:`IPM_MAX_UNITS` units with at least :data:`IPM_MIN_ROWS_PER_UNIT` samples per unit;
coordinate descent otherwise. Where it takes the interior point on the CPU, the small ``C``
values whose problems are well conditioned (``C`` times the largest eigenvalue of the
centred Gram matrix at most :data:`DCD_MAX_C_LAMBDA`) go to coordinate descent, which
solves them in a few epochs, and any problem that coordinate descent leaves unsolved after
:data:`DCD_HANDOVER_EPOCHS` epochs to the interior point. Either way the intercept is
finally re-chosen for the solved normal, at the midpoint of its optimal interval as libsvm
chooses it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from wmgeom.errors import ArgumentError

IPM_MAX_UNITS = 256
"""``method="auto"`` on the CPU: the interior-point method up to this many units when
there are at least :data:`IPM_MIN_ROWS_PER_UNIT` samples per unit, blocked coordinate
descent otherwise (see the module)."""

IPM_MIN_ROWS_PER_UNIT = 4
"""Measured (10 outer x 5 inner folds, the C grid of Lei et al. 2024, one core): coordinate
descent is faster up to about eight training rows per unit (1000 trials x 128 units, 8
classes: 11.7 s against 19.2 s; 1000 x 512: 2.1 s against 338 s), the interior-point method
beyond (1500 x 64: 5.3 s against 12.0 s). But from about four rows per unit, at ``C >= 1``
coordinate descent does not converge in 100 epochs and picks other ``C`` values than libsvm
(1000 x 128, 4 unbalanced classes: 2.5 points of multi-class accuracy apart from
scikit-learn's ``SVC``; 1500 x 128: 19 of 150 held-out predictions differed), while the
interior-point method reproduces libsvm's inner-validation scores: the threshold keeps the
answers."""

DCD_MAX_C_LAMBDA = 15.0
"""``method="auto"`` on the CPU, where the shape takes the interior-point method: ``C``
values with ``C * lambda_max <= DCD_MAX_C_LAMBDA`` (``lambda_max`` the largest eigenvalue
of ``X^T X``, ``X`` the centred training rows) are solved by coordinate descent. Its
epochs grow with ``C * lambda_max``; measured (10 outer x 5 inner folds, two threads),
per ``C`` value with its time against the interior point's: 1000 x 64 x 8 classes 13
epochs at 4.1 (0.25 s against 0.68 s), 29 at 12.4 (0.75 s against 0.76 s); 1500 x 128 x 8
classes 17 epochs at 10.9 (0.60 s against 3.61 s), 48 at 32.7 (1.43 s against 3.76 s).
At the grid of Lei et al. 2024 that is ``C`` in {0.001, 0.01} for activations of up to
about 1,500 trials of 128 bounded units."""

DCD_HANDOVER_EPOCHS = 50
"""``method="auto"`` on the CPU, where it splits the ``C`` grid: coordinate-descent
problems not solved in this many epochs (or ``max_iter``, if fewer) go to the interior
point. The rule of :data:`DCD_MAX_C_LAMBDA` is a measured tendency, not a bound: on
strongly separated data (200 x 5, labels the sign of one unit plus noise) coordinate
descent needed 33 epochs at ``C * lambda_max = 3`` and more than 100 at 7.5."""

__all__ = ["DCD_HANDOVER_EPOCHS", "DCD_MAX_C_LAMBDA", "IPM_MAX_UNITS", "IPM_MIN_ROWS_PER_UNIT",
           "solve_hinge_svm"]


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
    return_n_iter: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, int]:
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
    :data:`IPM_MIN_ROWS_PER_UNIT` rows per unit, except for the ``C`` values of
    well-conditioned problems (:data:`DCD_MAX_C_LAMBDA`), which coordinate descent solves
    (and hands to the IPM any problem it has not solved in :data:`DCD_HANDOVER_EPOCHS`
    epochs); coordinate descent otherwise.

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
        return_n_iter: Also return the number of iterations run.

    Returns:
        ``theta`` of shape ``[G, n_C, d, K]``; with ``return_n_iter`` the pair ``(theta,
        n_iter)``, ``n_iter`` the most iterations any problem took (interior-point
        iterations, or coordinate-descent epochs at one ``C``).

    Raises:
        ArgumentError: If the labels do not match the design, ``groups`` does not divide
            the label columns, ``C`` holds a non-positive or non-finite value or ``method``
            is unknown.
    """
    if Y.shape[:2] != Xa.shape[:2]:
        raise ArgumentError(f"labels Y {tuple(Y.shape)} do not match the design Xa "
                            f"{tuple(Xa.shape)}")
    G, m, d = Xa.shape
    K = Y.shape[-1]
    if groups < 1 or K % groups:
        raise ArgumentError(f"groups={groups} must divide the {K} label columns")
    hybrid = False  # on the CPU, coordinate descent for the small C values, see the module
    if method == "auto":
        method = "ipm" if Xa.device.type == "cuda" or (
            d - 1 <= IPM_MAX_UNITS and IPM_MIN_ROWS_PER_UNIT * (d - 1) <= m) else "dcd"
        hybrid = method == "ipm" and Xa.device.type == "cpu"
    if method not in ("ipm", "dcd"):
        raise ArgumentError(f"method={method!r}: use 'auto', 'ipm' or 'dcd'")
    if n_threads is None and Xa.device.type == "cpu":
        n_threads = 1
    Cv = torch.as_tensor(C, dtype=torch.float64).reshape(-1)
    if len(Cv) == 0 or not bool((torch.isfinite(Cv) & (Cv > 0)).all()):
        raise ArgumentError(f"C={Cv.tolist()} must be finite positive numbers (at least one)")
    nC = len(Cv)
    if ipm_tol is None:
        ipm_tol = 1e-8 if Xa.dtype == torch.float64 else 1e-5
    with _cpu_threads(n_threads), torch.no_grad():
        valid = (Y != 0).any(-1, keepdim=True).to(Xa.dtype)
        centre = (Xa * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp(min=1)
        centre[..., -1] = 0.0  # a translation: the same solutions, better conditioned
        Xc = Xa - centre
        # how many of the C values (ascending) coordinate descent solves, per design matrix
        n_easy = torch.full((G,), nC if method == "dcd" else 0, dtype=torch.long)
        if hybrid:
            X0 = Xc[..., :-1] * valid
            lam = torch.linalg.eigvalsh((X0.transpose(1, 2) @ X0).double())[..., -1].cpu()
            n_easy = (Cv[None] * lam[:, None] <= DCD_MAX_C_LAMBDA).sum(1)
        args = (Cv, tol, max_iter, ipm_tol, ipm_max_iter, block, seed, max_elements, hybrid,
                groups)
        theta = torch.empty(G, nC, d, K, dtype=Xa.dtype, device=Xa.device)
        n_iter = 0
        for e in n_easy.unique().tolist():  # matrices that split the C values alike
            g = torch.nonzero(n_easy == e).squeeze(1).to(Xa.device)
            whole = len(g) == G
            th, its = _solve(*(t if whole else t[g] for t in (Xa, Xc, Y)), e, *args)
            theta[g] = th
            n_iter = max(n_iter, its)
    return (theta, n_iter) if return_n_iter else theta


def _solve(Xa: torch.Tensor, Xc: torch.Tensor, Y: torch.Tensor, n_easy: int, Cv: torch.Tensor,
           tol: float, max_iter: int, ipm_tol: float, ipm_max_iter: int, block: int,
           seed: int | None, max_elements: int, hybrid: bool, groups: int,
           ) -> tuple[torch.Tensor, int]:
    """:func:`solve_hinge_svm` on centred designs ``Xc``: the ``n_easy`` smallest ``C`` by
    coordinate descent (with ``hybrid``, its unsolved problems then by the interior point),
    the others by the interior point. Returns ``theta [G, n_C, d, K]`` and the iterations."""
    G, m, d = Xa.shape
    K, nC = Y.shape[-1], len(Cv)
    theta = torch.empty(G, nC, d, K, dtype=Xa.dtype, device=Xa.device)
    n_iter = 0
    ascending = torch.argsort(Cv).tolist()
    ipm_c, ipm_k = [], []  # the problems (C, column) the interior point solves
    if n_easy:
        gen = torch.Generator()
        gen.manual_seed(0 if seed is None else int(seed))
        if seed is None:
            gen.seed()
        beta = torch.zeros_like(Y)
        offset = torch.zeros_like(Y[:, :1])
        for c in ascending[:n_easy]:  # each warm-started from the previous one
            epochs = min(max_iter, DCD_HANDOVER_EPOCHS) if hybrid else max_iter
            W, its, active = _dcd(Xc, Y, float(Cv[c]), beta, offset, groups, tol, epochs,
                                  block, gen)
            n_iter = max(n_iter, its)
            theta[:, c] = _libsvm_intercept(Xa, Y, W)
            if hybrid:  # not solved within the hand-over epochs: left to the interior point
                ks = torch.nonzero(active.any(0)).squeeze(1).tolist()
                ipm_c += [c] * len(ks)
                ipm_k += ks
    for c in range(nC):
        if c not in ascending[:n_easy]:
            ipm_c += [c] * K
            ipm_k += list(range(K))
    if ipm_c:
        ci = torch.tensor(ipm_c, device=Xa.device)
        ki = torch.tensor(ipm_k, device=Xa.device)
        Yq, Cq = Y[..., ki], Cv.to(Xa.device)[ci]
        step = max(1, max_elements // max(1, G * max(m, d * d)))
        W = torch.empty(G, d - 1, len(ci), dtype=Xa.dtype, device=Xa.device)
        for q0 in range(0, len(ci), step):
            q = slice(q0, min(len(ci), q0 + step))
            W[..., q], _, its = _ipm(Xc[..., :-1], Yq[..., q], Cq[q], ipm_tol, ipm_max_iter)
            n_iter = max(n_iter, its)
        W = torch.cat([W, torch.zeros_like(W[:, :1])], 1)
        # theta[:, c, :, k] for every pair (c, k), through a view with (C, column) first
        theta.permute(1, 3, 0, 2)[ci, ki] = _libsvm_intercept(Xa, Yq, W).permute(2, 0, 1)
    return theta, n_iter


def _dcd(X: torch.Tensor, Y: torch.Tensor, C: float, beta: torch.Tensor, offset: torch.Tensor,
         S: int, tol: float, max_epochs: int, block: int, gen: torch.Generator,
         ) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Blocked dual coordinate descent for the L1-loss SVM (Hsieh et al., ICML 2008).

    The dual of problem ``q`` is ``min 0.5 ||X^T beta_q||^2 - sum_i (y_iq - o_q) beta_iq``
    over ``beta_iq = y_iq alpha_iq``, ``0 <= alpha_iq <= C`` (bounds 0 where ``y_iq = 0``):
    the primal decision function is ``x . w + o_q`` with ``w = X^T beta`` including the
    weight of the constant last column. ``beta`` ``[Gc, n, Q]`` and the offsets ``o``
    ``[Gc, 1, Q]`` are updated in place; ``w`` ``[Gc, d, Q]``, the number of epochs run and
    the problems not solved to ``tol`` in ``max_epochs`` (``[Gc, Q]`` bool) are returned.
    When a problem is solved for its offset, the column's share of the intercept is moved
    into ``o`` (a proximal-point step on ``b``), until that share is below ``tol``: the
    column's penalty then no longer biases the normal.

    Each epoch starts with the gradients of all problems (one GEMM with ``w`` as the blocks
    left it, recomputed from ``beta`` every 8 epochs and at the end against float32 drift):
    problems whose projected gradients span at most ``tol`` are done; each group of
    ``Q / S`` problems then visits, in the epoch's random order (one per epoch, shared by
    all groups, so a problem's steps do not depend on its batch), only the samples that
    violate the optimality conditions of one of its problems by more than ``tol / 2``
    (shrinking). Samples are taken ``block`` at a time: one GEMM gives the block's margins
    for every problem, the block's Gram matrix ``K`` couples its samples, and the sequential
    coordinate updates then touch only ``[block, problems]`` arrays (an update of sample
    ``t`` moves the later margins of the block by ``K_ts delta_t``), which is exactly
    sequential coordinate descent (:func:`_coordinate_steps`); one more GEMM applies the
    block to ``w``.
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
    # one random order of the samples per epoch, shared by the groups and drawn whether or
    # not the epoch runs: a problem's solution does not depend on the batch it is solved in
    keys = torch.rand(max_epochs + 1, 1, n, generator=gen, dtype=dt)
    W = beta.new_empty(0)
    for epoch in range(max_epochs + 1):
        if epoch % 8 == 0:  # the blocks' updates of w, made exact again (float32 drift)
            W = X.transpose(1, 2) @ beta
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
        if epoch == max_epochs or not bool(active.any()):  # w exact (from beta) at the end
            return W if epoch % 8 == 0 else X.transpose(1, 2) @ beta, epoch, active
        if bool(shift.any()):
            offset += jump.where(shift, 0.0)
            grad += (Y * jump.where(shift, 0.0)).mul_(Y.abs())
        viol = ((up & (grad < -tol / 2)) | (down & (grad > tol / 2))) & active[:, None]
        viol_g = viol.view(Gc, n, S, P).any(-1).transpose(1, 2).reshape(G, n)
        count = viol_g.sum(1)
        keep = torch.nonzero(count > 0).squeeze(1)
        L = int(count.max())
        ck, pk = cond[keep, None], part[keep, None]
        # the violators of each group first, in the epoch's random order, then other
        # samples, whose bounds pin them (no-ops: a group's steps do not depend on the
        # groups beside it in the batch)
        key = keys[epoch].to(dev) + (~viol_g[keep]).to(dt) * 2
        idx = key.argsort(1)[:, :L]  # [Gk, L]
        Xe = X[ck, idx]  # [Gk, L, d]
        Ye = Yv[ck, idx, pk]  # [Gk, L, P]
        Yo = Ye - offset.view(Gc, 1, S, P).transpose(1, 2).reshape(G, 1, P)[keep]
        Be = bv[ck, idx, pk]  # current beta, updated in place
        pad = (torch.arange(L, device=dev) >= count[keep, None])[..., None]  # [Gk, L, 1]
        lo = torch.where(pad, Be, Ye.clamp(max=0) * C)
        hi = torch.where(pad, Be, Ye.clamp(min=0) * C)
        neg_iq = (Xe * Xe).sum(-1, keepdim=True).reciprocal_().neg_()  # -1 / Q_ii
        Wg = W.view(Gc, d, S, P).permute(0, 2, 1, 3).reshape(G, d, P)[keep]
        for s0 in range(0, L, block):
            s1 = min(L, s0 + block)
            Xb, Eb = Xe[:, s0:s1], Be[:, s0:s1]
            B0 = Eb.clone()
            # rows t: Kn_ts = -K_ts / K_tt; with Z_t = B0_t - (x_t.w - y_t) / K_tt - Kn_t.B0,
            # the coordinate minimiser of sample t is Z_t + Kn_t.E (E: the block's current
            # beta, equal to B0 on the samples not yet visited)
            Kn = (Xb @ Xb.transpose(1, 2)).mul_(neg_iq[:, s0:s1])
            Zb = torch.baddbmm(Yo[:, s0:s1], Xb, Wg, beta=-1).mul_(neg_iq[:, s0:s1]).add_(B0)
            Zb.baddbmm_(Kn, B0, alpha=-1)
            _coordinate_steps(Kn, Zb, lo[:, s0:s1], hi[:, s0:s1], Eb)
            Wg.baddbmm_(Xb.transpose(1, 2), Eb - B0)
        bv[ck, idx, pk] = Be
        W.view(Gc, d, S, P).permute(0, 2, 1, 3)[ck[:, 0], pk[:, 0]] = Wg
    raise AssertionError("unreachable: the last epoch returns")  # pragma: no cover


def _coordinate_steps(Kn: torch.Tensor, Z: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor,
                      E: torch.Tensor, via_numpy: bool | None = None) -> None:
    """The sequential part of a block of :func:`_dcd`, in place on ``E [G, B, P]``.

    For ``t = 0 .. B-1`` in order: ``E[:, t] = clamp(Z[:, t] + Kn[:, t] . E, lo[:, t],
    hi[:, t])`` (``Kn [G, B, B]``). Each step is a few tiny operations, so their dispatch is
    the cost: on the CPU they run through numpy on views of the same memory (4-5 us a step
    against 9 us through torch, measured on 64 x 240 blocks); elsewhere (``via_numpy``
    False) through torch.
    """
    if E.device.type == "cpu" if via_numpy is None else via_numpy:
        Kn, Z, lo, hi, E = (t.numpy() for t in (Kn, Z, lo, hi, E))
        new = np.empty((E.shape[0], 1, E.shape[2]), dtype=E.dtype)
        for t in range(E.shape[1]):
            np.matmul(Kn[:, t:t + 1], E, out=new)
            new += Z[:, t:t + 1]
            np.maximum(new, lo[:, t:t + 1], out=new)
            np.minimum(new, hi[:, t:t + 1], out=E[:, t:t + 1])
        return
    new = torch.empty_like(E[:, :1])
    for t in range(E.shape[1]):
        torch.baddbmm(Z[:, t:t + 1], Kn[:, t:t + 1], E, out=new)
        torch.clamp(new, lo[:, t:t + 1], hi[:, t:t + 1], out=E[:, t:t + 1])


def _ipm(X: torch.Tensor, Y: torch.Tensor, C: torch.Tensor, tol: float, max_iter: int,
         ) -> tuple[torch.Tensor, torch.Tensor, int]:
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
    ``w [Gc, d, Q]``, ``b [Gc, Q]`` and the number of iterations run.
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
    n_iter = max_iter
    for it in range(max_iter):
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
                n_iter = it
                break
            cols = cols[keep]
            (my, r_d, r_e, r_c, r_p, comp, theta, m, Yq, Cq, n_tr, w, b, alpha, nu, s, xi,
             D) = (t[..., keep] for t in (my, r_d, r_e, r_c, r_p, comp, theta, m, Yq, Cq,
                                          n_tr, w, b, alpha, nu, s, xi, D))
            factor = factor[:, keep]
        state = _NewtonSystem(X=X, y=Yq, mask=m, my=my, theta=theta, factor=factor,
                              r_d=r_d, r_e=r_e, r_c=r_c, r_p=r_p, s=s, xi=xi, alpha=alpha,
                              nu=nu)
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
    return w_out, b_out, n_iter


def _longest(v: torch.Tensor, dv: torch.Tensor) -> torch.Tensor:
    """Largest step ``a`` keeping ``v + a dv >= 0``, per problem (over the samples)."""
    ratio = torch.where(dv < 0, -v / dv, torch.full_like(v, float("inf")))
    return ratio.amin(1, keepdim=True)


@dataclass(frozen=True, slots=True)
class _NewtonSystem:
    """One iteration of :func:`_ipm`: the factorised Newton system and the iterate.

    All tensors hold the problems still in the batch on their last axis; ``X`` is shared.

    Attributes:
        X: Design matrices ``[Gc, n, d]`` (no intercept column).
        y: Labels ``[Gc, n, Q]`` in {-1, 0, +1}.
        mask: Training rows ``[Gc, n, Q]`` (1 where ``y != 0``).
        my: ``mask * y``.
        theta: ``s / alpha + xi / nu`` ``[Gc, n, Q]``, the inverse of the eliminated
            per-sample block.
        factor: Cholesky factors ``[Gc, Q, d + 1, d + 1]`` (float64) of ``I' + Xa^T D Xa``.
        r_d: Residual of stationarity in ``w`` ``[Gc, d, Q]``.
        r_e: Residual of stationarity in ``b`` (``sum alpha y``) ``[Gc, 1, Q]``.
        r_c: Residual of stationarity in ``xi`` (``C - alpha - nu``) ``[Gc, n, Q]``.
        r_p: Residual of the margin constraints ``[Gc, n, Q]``.
        s: Surplus of the margin constraints ``[Gc, n, Q]``.
        xi: Slacks ``[Gc, n, Q]``.
        alpha: Multipliers of the margin constraints ``[Gc, n, Q]``.
        nu: Multipliers of ``xi >= 0`` ``[Gc, n, Q]``.
    """

    X: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    my: torch.Tensor
    theta: torch.Tensor
    factor: torch.Tensor
    r_d: torch.Tensor
    r_e: torch.Tensor
    r_c: torch.Tensor
    r_p: torch.Tensor
    s: torch.Tensor
    xi: torch.Tensor
    alpha: torch.Tensor
    nu: torch.Tensor


def _ipm_direction(state: _NewtonSystem, r_sa: torch.Tensor, r_xn: torch.Tensor,
                   ) -> tuple[torch.Tensor, ...]:
    """Newton direction of :func:`_ipm` for complementarity targets ``r_sa``, ``r_xn``.

    Returns ``(dw, db, dalpha, dnu, ds, dxi)``.
    """
    st = state
    X, m, theta = st.X, st.mask, st.theta
    d = X.shape[-1]
    g = (-st.r_p + (r_xn + st.xi * st.r_c) / st.nu - r_sa / st.alpha) / theta * m
    rhs = torch.cat([-st.r_d + X.transpose(1, 2) @ (st.my * g),
                     st.r_e + (st.my * g).sum(1, keepdim=True)], 1)
    v = torch.cholesky_solve(rhs.transpose(1, 2)[..., None].double(), st.factor)[..., 0]
    v = v.transpose(1, 2).to(rhs.dtype)
    dw, db = v[:, :d], v[:, d:]
    da = (g - st.y * torch.baddbmm(db, X, dw) / theta) * m
    dn = (st.r_c - da) * m
    ds = (-r_sa - st.s * da) / st.alpha * m
    dx = (-r_xn - st.xi * dn) / st.nu * m
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

