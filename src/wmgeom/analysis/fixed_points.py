"""Fixed points of recurrent dynamics and their stability (Sussillo & Barak 2013).

A recurrent network with a constant input ``x`` is a map ``h_{t+1} = F(h_t, x)``. Its fixed
points ``h* = F(h*, x)`` and their linearisations organise the dynamics: a memory held as a
stable fixed point is an attractor, a line of marginally stable points is a line attractor,
a saddle routes trajectories between attractors. Sussillo & Barak 2013 find them by
minimising the *speed*

    q(h) = ½ ‖F(h, x) − h‖²

from many initial states taken from the network's own trajectories: minima with ``q = 0``
are fixed points, shallow minima are slow points. :class:`FixedPointFinder` does this for
any step function ``F`` (the sensory-cognitive model's RNN, GRU or LSTM cell through
:meth:`~wmgeom.models.SensoryCognitiveModel.step`, where the LSTM's state is ``(h, c)``
concatenated; the continuous-time RNN through :meth:`~wmgeom.models.ctrnn.CTRNN.step`), all
initial states in one batch:

1. minimise ``q`` for every state and its own constant input at once: by
   Levenberg–Marquardt steps on the residual ``r = F(h) − h`` (``δ = −(AᵀA + μI)⁻¹ Aᵀ r``
   with ``A = J − I``, each state with its own damping ``μ``: Newton's quadratic convergence
   near a fixed point, gradient descent far from one), or with Adam or L-BFGS on the
   summed speed as in Sussillo & Barak 2013; then polish with damped Newton steps
   ``h ← h − (J − I)⁺ r``, kept where they lower ``q``;
2. keep the states with ``q`` below ``q_tol`` that stay within ``outlier_scale`` times the
   initial states' spread of their centre (a gated network is nearly still wherever its
   update gates saturate, far outside the states it visits: such minima are discarded, as
   in Golub & Sussillo's FixedPointFinder), and merge those closer than ``unique_tol``
   under the same input (the one with the lowest ``q`` stays);
3. the Jacobian ``J = ∂F/∂h`` at each point, batched (``torch.func.vmap(jacrev(F))``), and its
   eigenvalues: a point is *stable* when every ``|λ| < 1`` (a discrete-time map; for an
   Euler-discretised continuous-time network ``|λ| < 1`` of the map is ``Re λ < 0`` of the
   flow for a small step), *marginal* when the largest ``|λ|`` is within ``eig_tol`` of 1
   (a line or ring attractor's direction), else *unstable* (a saddle or a repeller).

:func:`subspace_fraction` relates fixed points to a subspace (a memory subspace spanned by
decoder normals, or the top principal components of the states): the fraction of each
point's displacement from a centre that lies in the subspace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from wmgeom.errors import ArgumentError

__all__ = ["FixedPointFinder", "StepFunction", "jacobians", "sample_initial_states",
           "speed", "subspace_fraction"]

StepFunction = Callable[..., torch.Tensor]
"""``F(state [B, S], inputs [B, M]) -> state [B, S]`` (or ``F(state)`` for an autonomous
map), row by row, in plain tensor operations so :mod:`torch.func` can transform it."""

STABILITY = ("stable", "marginal", "unstable")
PATIENCE = 10
"""Levenberg–Marquardt iterations within which a state's speed must fall tenfold (else: a
slow point, no longer searched)."""


def _apply(step_fn: StepFunction, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
    return step_fn(h) if x is None else step_fn(h, x)


def speed(step_fn: StepFunction, states: torch.Tensor, inputs: torch.Tensor | None = None
          ) -> torch.Tensor:
    """``q(h) = ½ ‖F(h, x) − h‖²`` of each row of ``states`` ``[B, S]`` (Sussillo & Barak 2013)."""
    return 0.5 * (_apply(step_fn, states, inputs) - states).pow(2).sum(-1)


def jacobians(step_fn: StepFunction, states: torch.Tensor, inputs: torch.Tensor | None = None
              ) -> torch.Tensor:
    """``∂F/∂h`` at each row of ``states``: ``[B, S, S]``, one batched ``vmap(jacrev(F))``."""
    if inputs is None:
        return torch.func.vmap(torch.func.jacrev(lambda h: step_fn(h)))(states)
    return torch.func.vmap(torch.func.jacrev(lambda h, x: step_fn(h, x)))(states, inputs)


def sample_initial_states(trajectories: Any, n: int, noise: float = 0.0, seed: int = 0,
                          groups: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Initial states for the finder: states drawn from recorded trajectories, plus noise.

    Args:
        trajectories: Recorded states ``[..., S]`` (e.g. trials × frames × units); every
            leading dimension is pooled.
        n: States to draw (per group when ``groups`` is given), without replacement while
            there are enough.
        noise: Standard deviation of the Gaussian noise added, in units of each unit's
            standard deviation over the recorded states.
        seed: Seed of the draw and the noise.
        groups: Optional label per recorded state (shape ``trajectories.shape[:-1]``), e.g.
            the task, so each group (its own constant input) gets ``n`` states of its own.

    Returns:
        ``(states [n or n·groups, S], group of each state or None)``.

    Raises:
        ArgumentError: If there are no recorded states or ``n < 1``.
    """
    X = np.asarray(trajectories, dtype=float)
    if X.ndim < 2 or X.shape[-1] == 0 or X.size == 0:
        raise ArgumentError(f"trajectories must be [..., state] with at least one state, got "
                            f"shape {X.shape}")
    if n < 1:
        raise ArgumentError(f"n={n}: draw at least one initial state")
    flat = X.reshape(-1, X.shape[-1])
    rng = np.random.default_rng(seed)
    if groups is None:
        labels, per = None, [np.arange(len(flat))]
    else:
        g = np.asarray(groups).reshape(-1)
        if len(g) != len(flat):
            raise ArgumentError(f"groups has {len(g)} labels for {len(flat)} recorded states")
        values = list(dict.fromkeys(g.tolist()))
        per = [np.flatnonzero(g == v) for v in values]
        labels = np.repeat(np.asarray(values, dtype=object), n)
    picks = np.concatenate([rng.choice(ix, n, replace=n > len(ix)) for ix in per])
    states = flat[picks]
    if noise > 0:
        states = states + noise * flat.std(axis=0) * rng.standard_normal(states.shape)
    return states, labels


def subspace_fraction(points: Any, center: Any, basis: Any, rtol: float = 1e-8) -> np.ndarray:
    """Fraction of each point's squared displacement from ``center`` that lies in a subspace.

    Args:
        points: ``[K, D]``, e.g. fixed points.
        center: ``[D]``, e.g. the mean recorded state.
        basis: ``[r, D]`` vectors spanning the subspace (e.g. decoder normals of a memory
            subspace, or top principal components); they need not be orthonormal.
        rtol: Directions of ``basis`` with singular values below ``rtol`` times the largest
            are dropped.

    Returns:
        ``[K]`` fractions in [0, 1] (NaN for a point at the centre). A random subspace of
        dimension ``r`` holds ``r / D`` of an isotropic displacement: the chance level.

    Raises:
        ArgumentError: If the shapes disagree or the basis is zero.
    """
    P = np.atleast_2d(np.asarray(points, dtype=float))
    c = np.asarray(center, dtype=float)
    B = np.atleast_2d(np.asarray(basis, dtype=float))
    if P.shape[1] != c.shape[-1] or B.shape[1] != P.shape[1]:
        raise ArgumentError(f"points {P.shape}, center {c.shape} and basis {B.shape} must "
                            "share their last dimension")
    _, s, Vt = np.linalg.svd(B, full_matrices=False)
    if not len(s) or s[0] == 0:
        raise ArgumentError("the basis spans no direction (all its vectors are zero)")
    Q = Vt[s > rtol * s[0]]
    d = P - c
    total = (d**2).sum(1)
    inside = ((d @ Q.T) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def _polished(h: torch.Tensor, q_tol: float) -> float:
    """The speed fixed points are polished to: ``q_tol²``, or the floor of the precision
    (``5 S ε²``: every coordinate off by a few roundings) where that is higher."""
    return max(q_tol**2, 5 * h.shape[1] * torch.finfo(h.dtype).eps ** 2)


def _unique(points: torch.Tensor, q: torch.Tensor, groups: np.ndarray, tol: float
            ) -> np.ndarray:
    """Indices of the points kept when those within ``tol`` of a lower-``q`` point of the
    same group are merged into it (ordered by group, then ``q``)."""
    keep = []
    for g in dict.fromkeys(groups.tolist()):
        ix = np.flatnonzero(groups == g)
        ix = ix[np.argsort(q[ix].cpu().numpy(), kind="stable")]
        dist = torch.cdist(points[ix], points[ix]).cpu().numpy()
        taken = np.zeros(len(ix), bool)
        for a in range(len(ix)):
            if not (taken & (dist[a] < tol)).any():
                taken[a] = True
        keep.extend(ix[taken].tolist())
    return np.asarray(keep, dtype=int)


class FixedPointFinder(BaseEstimator):
    """Fixed points of ``F(h, x)`` by speed minimisation (Sussillo & Barak 2013).

    Scikit-learn style: parameters are constructor arguments, :meth:`fit` does the work,
    results end in ``_``.

    Args:
        optimizer: ``"lm"`` (Levenberg–Marquardt per state, the default), ``"adam"`` or
            ``"lbfgs"`` (on the summed speed of the whole batch).
        max_iter: Optimiser iterations at most (None: 100 for ``lm``, 2000 otherwise);
            the optimiser stops once every state has ``q < q_tol``.
        learning_rate: Adam's step size (L-BFGS: a hundred times it).
        newton_steps: Damped Newton steps after the optimiser (0: none; None: 5 after Adam
            and L-BFGS, none after Levenberg–Marquardt, whose last steps are Newton's); each
            is kept only where it lowers ``q``. They bring states near a fixed point onto
            it, where first-order optimisers crawl.
        q_tol: States with a final speed below this are fixed points.
        unique_tol: Fixed points under the same input closer than this (Euclidean) are one.
        outlier_scale: Fixed points farther from the centre of their group's initial
            states than this many times the initial states' mean distance from it are
            discarded (None keeps all).
        eig_tol: A point whose largest ``|λ|`` is within this of 1 is ``marginal``.
        dtype: Precision of the optimisation (``"float64"`` or ``"float32"``); the step
            function must accept it.
        device: Torch device of the optimisation (the step function's parameters must be
            there).

    Attributes:
        fixed_points_: ``[K, S]`` the unique fixed points (numpy).
        q_: ``[K]`` their speeds.
        inputs_: ``[K, M]`` the constant input of each (None for an autonomous map).
        groups_: ``[K]`` the group label of each (the ``groups`` given to :meth:`fit`, else
            the index of its distinct input).
        jacobians_: ``[K, S, S]`` ``∂F/∂h`` at each.
        eigenvalues_: ``[K, S]`` complex, sorted by decreasing modulus.
        stability_: ``[K]`` ``"stable"``, ``"marginal"`` or ``"unstable"``.
        stable_: ``[K]`` bool, every ``|λ| < 1 − eig_tol``.
        n_unstable_: ``[K]`` number of eigenvalues with ``|λ| > 1 + eig_tol``.
        candidates_: ``[B, S]`` every optimised state; ``candidate_q_``: their speeds;
            ``outlier_``: ``[B]`` whether each lies beyond ``outlier_scale``.
        n_iter_: Optimiser iterations run.
    """

    def __init__(self, optimizer: str = "lm", max_iter: int | None = None,
                 learning_rate: float = 0.01, newton_steps: int | None = None,
                 q_tol: float = 1e-12,
                 unique_tol: float = 1e-3, outlier_scale: float | None = 10.0,
                 eig_tol: float = 1e-3, dtype: str = "float64", device: str = "cpu"):
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.newton_steps = newton_steps
        self.q_tol = q_tol
        self.unique_tol = unique_tol
        self.outlier_scale = outlier_scale
        self.eig_tol = eig_tol
        self.dtype = dtype
        self.device = device

    def _check(self) -> tuple[int, int]:
        if self.optimizer not in ("lm", "adam", "lbfgs"):
            raise ArgumentError(f"optimizer={self.optimizer!r}; use 'lm', 'adam' or 'lbfgs'")
        if self.dtype not in ("float32", "float64"):
            raise ArgumentError(f"dtype={self.dtype!r}; use 'float32' or 'float64'")
        max_iter = self.max_iter if self.max_iter is not None else \
            100 if self.optimizer == "lm" else 2000
        newton = self.newton_steps if self.newton_steps is not None else \
            0 if self.optimizer == "lm" else 5
        if max_iter < 0 or newton < 0:
            raise ArgumentError(f"max_iter={self.max_iter} and newton_steps="
                                f"{self.newton_steps} must be zero or more")
        if self.q_tol <= 0 or self.unique_tol < 0:
            raise ArgumentError(f"q_tol={self.q_tol} must be positive and unique_tol="
                                f"{self.unique_tol} zero or more")
        if self.outlier_scale is not None and self.outlier_scale <= 0:
            raise ArgumentError(f"outlier_scale={self.outlier_scale} must be positive or None")
        return max_iter, newton

    def fit(self, step_fn: StepFunction, initial_states: Any, inputs: Any = None,
            groups: Any = None) -> FixedPointFinder:
        """Find the fixed points reached from ``initial_states``.

        Args:
            step_fn: ``F(state [B, S], inputs [B, M]) -> [B, S]`` (``F(state)`` when
                ``inputs`` is None), row by row, differentiable by :mod:`torch.func`.
            initial_states: ``[B, S]`` (e.g. from :func:`sample_initial_states`).
            inputs: The constant input: ``[M]`` for every state, ``[B, M]`` one per state
                (e.g. each task's context), or None for an autonomous map.
            groups: ``[B]`` labels of the states' inputs (e.g. the task); default: the
                index of each distinct input row. Points merge only within a group.

        Returns:
            self.

        Raises:
            ArgumentError: For invalid parameters, shapes that disagree, or a step
                function that does not return the state's shape.
        """
        max_iter, newton_steps = self._check()
        dtype = getattr(torch, self.dtype)
        h0 = torch.as_tensor(np.asarray(initial_states, dtype=float), dtype=dtype,
                             device=self.device)
        if h0.ndim != 2 or len(h0) == 0:
            raise ArgumentError(f"initial_states must be [batch, state], got {tuple(h0.shape)}")
        x = None
        if inputs is not None:
            x = torch.as_tensor(np.asarray(inputs, dtype=float), dtype=dtype,
                                device=self.device)
            x = x.expand(len(h0), -1).contiguous() if x.ndim == 1 else x
            if x.ndim != 2 or len(x) != len(h0):
                raise ArgumentError(f"inputs must be [M] or [{len(h0)}, M], got "
                                    f"{tuple(np.shape(inputs))}")
        groups = self._groups(x, groups, len(h0))
        with torch.no_grad():
            out = _apply(step_fn, h0, x)
        if out.shape != h0.shape:
            raise ArgumentError(f"the step function maps states {tuple(h0.shape)} to "
                                f"{tuple(out.shape)}; it must return the state's shape")
        minimize = {"lm": self._levenberg_marquardt, "adam": self._adam,
                    "lbfgs": self._lbfgs}[self.optimizer]
        h, self.n_iter_ = minimize(step_fn, h0, x, max_iter, groups) if max_iter else (h0, 0)
        h = self._newton(step_fn, h, x, newton_steps)
        with torch.no_grad():
            q = speed(step_fn, h, x)
        self.candidates_ = h.cpu().numpy()
        self.candidate_q_ = q.cpu().numpy()
        center, radius = self._radius(h0.cpu().numpy(), groups)
        self.outlier_ = np.linalg.norm(self.candidates_ - center, axis=1) > radius
        ok = np.flatnonzero((self.candidate_q_ < self.q_tol) & ~self.outlier_)
        keep = ok[_unique(h[ok], q[ok], groups[ok], self.unique_tol)] if len(ok) else ok
        points = h[keep]
        xs = x[keep] if x is not None else None
        S = h.shape[1]
        J = jacobians(step_fn, points, xs).detach() if len(keep) else \
            torch.zeros((0, S, S), dtype=dtype)
        lam = torch.linalg.eigvals(J).cpu().numpy() if len(keep) else np.zeros((0, S), complex)
        lam = np.take_along_axis(lam, np.argsort(-np.abs(lam), axis=1, kind="stable"), 1)
        top = np.abs(lam[:, 0]) if S else np.zeros(len(keep))
        self.fixed_points_ = points.cpu().numpy()
        self.q_ = self.candidate_q_[keep]
        self.inputs_ = None if xs is None else xs.cpu().numpy()
        self.groups_ = groups[keep]
        self.jacobians_ = J.cpu().numpy()
        self.eigenvalues_ = lam
        self.stability_ = np.where(top < 1 - self.eig_tol, "stable",
                                   np.where(top > 1 + self.eig_tol, "unstable", "marginal"))
        self.stable_ = self.stability_ == "stable"
        self.n_unstable_ = (np.abs(lam) > 1 + self.eig_tol).sum(1)
        return self

    @staticmethod
    def _groups(x: torch.Tensor | None, groups: Any, n: int) -> np.ndarray:
        if groups is not None:
            g = np.asarray(groups)
            if g.shape != (n,):
                raise ArgumentError(f"groups must hold one label per initial state ({n}), "
                                    f"got shape {g.shape}")
            return g
        if x is None:
            return np.zeros(n, dtype=int)
        return np.unique(x.cpu().numpy(), axis=0, return_inverse=True)[1].reshape(-1)

    def _radius(self, h0: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per state, the centre of its group's initial states and the distance from it
        beyond which a point is an outlier (infinite without ``outlier_scale``)."""
        center = np.zeros_like(h0)
        radius = np.full(len(h0), np.inf)
        for g in dict.fromkeys(groups.tolist()):
            ix = groups == g
            center[ix] = h0[ix].mean(0)
            if self.outlier_scale is not None:
                spread = np.linalg.norm(h0[ix] - center[ix], axis=1).mean()
                radius[ix] = self.outlier_scale * max(spread, np.finfo(float).eps)
        return center, radius

    def _levenberg_marquardt(self, step_fn: StepFunction, h: torch.Tensor,
                             x: torch.Tensor | None, max_iter: int, groups: np.ndarray
                             ) -> tuple[torch.Tensor, int]:
        """Levenberg–Marquardt on ``r = F(h) − h``, every state with its own damping.

        A state leaves the batch once polished (``q`` below ``q_tol²``, or the precision's
        floor: a step or two past ``q_tol``), once it is an outlier, or once it
        stalls (``q`` not down tenfold over :data:`PATIENCE` iterations: near a fixed point
        the steps are Newton's and ``q`` falls far faster; a state that crawls is on its way
        to a slow point, or far away).
        """
        eye = torch.eye(h.shape[1], dtype=h.dtype, device=h.device)
        mu = torch.full((len(h),), 1e-2, dtype=h.dtype, device=h.device)
        center, radius = self._radius(h.cpu().numpy(), groups)
        center, radius = (torch.as_tensor(v, dtype=h.dtype, device=h.device)
                          for v in (center, radius))
        active = torch.ones(len(h), dtype=torch.bool, device=h.device)
        target = _polished(h, self.q_tol)
        before = torch.full((len(h),), torch.inf, dtype=h.dtype, device=h.device)
        it = 0
        for it in range(1, max_iter + 1):
            with torch.no_grad():
                residual = _apply(step_fn, h, x) - h
                q = 0.5 * residual.pow(2).sum(-1)
                active &= (q >= target) & ((h - center).norm(dim=-1) <= radius)
                if it % PATIENCE == 0:
                    active &= q < 0.1 * before
                    before = q.clone()
            todo = active.nonzero()[:, 0]
            if not len(todo):
                break
            hs, xs = h[todo], (x[todo] if x is not None else None)
            A = jacobians(step_fn, hs, xs).detach() - eye
            with torch.no_grad():
                At = A.transpose(1, 2)
                rhs = -(At @ residual[todo][..., None])
                delta = torch.linalg.solve(At @ A + mu[todo, None, None] * eye, rhs)[..., 0]
                better = speed(step_fn, hs + delta, xs) < q[todo]
                h = h.clone()
                h[todo[better]] = (hs + delta)[better]
                mu[todo] = torch.where(better, mu[todo] / 3, mu[todo] * 4)
        return h, it

    def _adam(self, step_fn: StepFunction, h0: torch.Tensor, x: torch.Tensor | None,
              max_iter: int, groups: np.ndarray) -> tuple[torch.Tensor, int]:
        h = h0.clone().requires_grad_(True)
        opt = torch.optim.Adam([h], lr=self.learning_rate)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=50)
        it = 0
        while it < max_iter:
            q = speed(step_fn, h, x)
            if bool((q < self.q_tol).all()):
                break
            loss = q.sum()
            h.grad = torch.autograd.grad(loss, h)[0]  # the step function's parameters untouched
            opt.step()
            sched.step(float(loss.detach()))
            it += 1
        return h.detach(), it

    def _lbfgs(self, step_fn: StepFunction, h0: torch.Tensor, x: torch.Tensor | None,
               max_iter: int, groups: np.ndarray) -> tuple[torch.Tensor, int]:
        h = h0.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([h], lr=self.learning_rate * 100, max_iter=max_iter,
                                tolerance_grad=0.0, tolerance_change=0.0, history_size=20,
                                line_search_fn="strong_wolfe")

        def closure():
            loss = speed(step_fn, h, x).sum()
            h.grad = torch.autograd.grad(loss, h)[0]
            return loss.detach()

        opt.step(closure)
        return h.detach(), int(opt.state[h].get("n_iter", max_iter))

    def _newton(self, step_fn: StepFunction, h: torch.Tensor, x: torch.Tensor | None,
                steps: int) -> torch.Tensor:
        """Damped Newton steps on ``F(h) − h = 0``; per state the best of a few step lengths
        is kept where it lowers ``q``. The step solves ``(AᵀA + εI) δ = −Aᵀ r`` with a tiny
        ``ε``: Newton's step where ``A = J − I`` is regular, the least-norm step where it is
        singular (along a continuum of fixed points)."""
        eye = torch.eye(h.shape[1], dtype=h.dtype, device=h.device)
        eps = 1e3 * torch.finfo(h.dtype).eps
        lengths = torch.tensor([1.0, 0.5, 0.25, 0.125], dtype=h.dtype, device=h.device)
        for _ in range(steps):
            with torch.no_grad():
                residual = _apply(step_fn, h, x) - h
                q = 0.5 * residual.pow(2).sum(-1)
            # polished, not to 0: states would sink into denormal numbers
            todo = (q > _polished(h, self.q_tol)).nonzero()[:, 0]
            if not len(todo):
                break
            hs, xs = h[todo], (x[todo] if x is not None else None)
            A = jacobians(step_fn, hs, xs).detach() - eye
            with torch.no_grad():
                At = A.transpose(1, 2)
                AtA = At @ A
                scale = AtA.diagonal(dim1=1, dim2=2).mean(-1)[:, None, None]
                delta = torch.linalg.solve(AtA + eps * scale * eye,
                                           -(At @ residual[todo][..., None]))[..., 0]
                tries = torch.stack([speed(step_fn, hs + a * delta, xs) for a in lengths])
                best, pick = torch.nan_to_num(tries, nan=torch.inf).min(0)
                better = best < q[todo]
                if not bool(better.any()):
                    break
                h = h.clone()
                moved = hs + lengths[pick][:, None] * delta
                h[todo[better]] = moved[better]
        return h
