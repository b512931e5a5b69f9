"""Comparing two sets of states: a model with a model, or a model with a recording.

Three questions, three families of measures, all on states of matched conditions:

* **Representational similarity** (Kriegeskorte et al. 2008) — do the two systems separate
  the same conditions by the same amounts? :func:`representational_similarity` builds a
  representational dissimilarity matrix (RDM) of each with rsatoolbox, by default from
  cross-validated Mahalanobis distances (``crossnobis``: unbiased, zero in expectation for
  conditions that do not differ), compares them (Pearson correlation by default), tests the
  similarity against RDMs whose conditions are shuffled, and gives the noise ceiling of the
  second system from RDMs of disjoint partitions of its trials (where there are enough).
* **Shape metrics** (Williams et al. 2021) — how far apart are the two response
  configurations once aligned? :func:`shape_distance` is the angular distance after the
  best alignment of a class: rotations (``alpha = 1``, Procrustes:
  :func:`procrustes_distance`), any invertible linear map (``alpha = 0``, canonical
  correlations: :func:`cca_distance`) or between (partial whitening).
* **Dynamical similarity** (Ostrow et al. 2023) — do the two evolve by the same dynamics,
  up to a change of coordinates? :func:`dynamical_similarity` fits a linear operator to each
  set of trajectories (DMD on delay-embedded states) and compares the operators up to a
  similarity transform, with the ``dsa-metric`` package.

rsatoolbox and dsa-metric are optional (``pip install "wmgeom[neuro]"``); the shape
metrics need numpy alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmgeom.analysis.solvers import _cpu_threads
from wmgeom.errors import ArgumentError, WmgeomError

__all__ = ["cca_distance", "condition_means", "dynamical_similarity", "matched_conditions",
           "procrustes_distance", "representational_similarity", "shape_distance"]

_NEURO = 'pip install "wmgeom[neuro]"'


def _optional(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise WmgeomError(f"this comparison needs the optional package {package}: "
                          f"{_NEURO}") from None


# --------------------------------------------------------------------------- conditions


def condition_means(states: Any, conditions: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mean state of each condition.

    Args:
        states: ``[n_trials, ...]`` (e.g. trials × frames × units).
        conditions: ``[n_trials]`` a label per trial.

    Returns:
        ``(means [n_conditions, ...], labels [n_conditions])``, labels in sorted order.

    Raises:
        ArgumentError: If the lengths differ.
    """
    X = np.asarray(states, dtype=float)
    c = np.asarray(conditions)
    if len(X) != len(c):
        raise ArgumentError(f"{len(X)} trials of states but {len(c)} condition labels")
    labels, index = np.unique(c, return_inverse=True)
    flat = X.reshape(len(X), -1)
    sums = np.zeros((len(labels), flat.shape[1]))
    np.add.at(sums, index, flat)
    means = sums / np.bincount(index, minlength=len(labels))[:, None]
    return means.reshape((len(labels),) + X.shape[1:]), labels


def matched_conditions(a: Any, b: Any) -> np.ndarray:
    """The condition labels present in both ``a`` and ``b``, sorted.

    Raises:
        ArgumentError: If fewer than three are shared (a dissimilarity matrix needs three).
    """
    shared = np.intersect1d(np.asarray(a), np.asarray(b))
    if len(shared) < 3:
        raise ArgumentError(f"only {len(shared)} conditions are shared by the two sets of "
                            "states; a comparison needs at least 3 matched conditions")
    return shared


# --------------------------------------------------------------------------- shape metrics


def _check_pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2:
        raise ArgumentError(f"responses must be [conditions, units], got shapes {X.shape} "
                            f"and {Y.shape}")
    if len(X) != len(Y):
        raise ArgumentError(f"the two responses hold {len(X)} and {len(Y)} conditions; "
                            "rows must be matched conditions")
    if len(X) < 3:
        raise ArgumentError(f"{len(X)} conditions; a shape needs at least 3")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ArgumentError("responses hold NaN or infinite values")
    return X, Y


def _reduce(X: np.ndarray, n_components: int | None) -> np.ndarray:
    """Centred columns, projected on the top ``n_components`` principal axes."""
    X = X - X.mean(0)
    if n_components is None or n_components >= min(X.shape):
        return X
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    return U[:, :n_components] * s[:n_components]


def _partial_whiten(X: np.ndarray, alpha: float, tol: float = 1e-10) -> np.ndarray:
    """``X (α I + (1 − α) (XᵀX)^{-1/2})`` on the span of ``X`` (Williams et al. 2021)."""
    if alpha == 1:
        return X
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > tol * s[0]
    U, s = U[:, keep], s[keep]
    return (U * (alpha * s + (1 - alpha))) @ Vt[keep]


def shape_distance(X: Any, Y: Any, alpha: float = 1.0, n_components: int | None = None
                   ) -> float:
    """Angular shape distance between two response matrices (Williams et al. 2021).

    Both are centred, optionally reduced to their top ``n_components`` principal axes,
    partially whitened with ``alpha``, and aligned by the best rotation (units zero-padded
    to the wider one); the distance is the angle between the aligned matrices,
    ``arccos(‖X̃ᵀỸ‖_* / (‖X̃‖ ‖Ỹ‖))`` in [0, π/2] — 0 when one is the other rotated (and
    scaled; ``alpha = 1``) or linearly transformed (``alpha = 0``). It is a metric on shapes,
    invariant to the order and number of units.

    Args:
        X: ``[conditions, units]`` responses of one system.
        Y: ``[conditions, units']`` of the other, rows matched to ``X``'s.
        alpha: 1: rotations only (Procrustes); 0: any invertible linear map (CCA); between:
            partial whitening.
        n_components: Reduce each to this many principal axes first (needed for
            ``alpha < 1`` when units outnumber conditions, or every canonical correlation is
            1: SVCCA-style).

    Returns:
        The angle in radians.

    Raises:
        ArgumentError: For unmatched, too small or non-finite responses, ``alpha`` outside
            [0, 1], or a degenerate CCA (ranks that add up to more than the conditions).
    """
    X, Y = _check_pair(X, Y)
    if not 0 <= alpha <= 1:
        raise ArgumentError(f"alpha={alpha} must lie in [0, 1]")
    Xc, Yc = _reduce(X, n_components), _reduce(Y, n_components)
    if alpha < 1:
        rank = np.linalg.matrix_rank(Xc) + np.linalg.matrix_rank(Yc)
        if rank > len(X) - 1:
            raise ArgumentError(
                f"the responses span {np.linalg.matrix_rank(Xc)} and "
                f"{np.linalg.matrix_rank(Yc)} dimensions over {len(X)} conditions: with "
                "alpha < 1 every canonical correlation would be 1; reduce them with "
                "n_components (at most half the conditions)")
    Xw, Yw = _partial_whiten(Xc, alpha), _partial_whiten(Yc, alpha)
    norm = np.linalg.norm(Xw) * np.linalg.norm(Yw)
    if norm == 0:
        raise ArgumentError("a response matrix is constant across conditions; it has no shape")
    nuclear = np.linalg.svd(Xw.T @ Yw, compute_uv=False).sum()
    return float(np.arccos(np.clip(nuclear / norm, -1.0, 1.0)))


def procrustes_distance(X: Any, Y: Any, n_components: int | None = None) -> float:
    """Angular Procrustes distance: :func:`shape_distance` with ``alpha = 1``."""
    return shape_distance(X, Y, 1.0, n_components)


def cca_distance(X: Any, Y: Any, n_components: int | None = None) -> float:
    """Angular CCA distance, ``arccos`` of the mean canonical correlation (equal widths):
    :func:`shape_distance` with ``alpha = 0``."""
    return shape_distance(X, Y, 0.0, n_components)


# --------------------------------------------------------------------------- RSA


def _folds(conditions: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold per trial, dealt round-robin within each condition after a shuffle."""
    folds = np.empty(len(conditions), dtype=int)
    for c in np.unique(conditions):
        ix = rng.permutation(np.flatnonzero(conditions == c))
        folds[ix] = np.arange(len(ix)) % n_folds
    return folds


def _rdm(states: np.ndarray, conditions: np.ndarray, method: str, cv_folds: np.ndarray):
    rsa = _optional("rsatoolbox", "rsatoolbox")
    data = rsa.data.Dataset(states, obs_descriptors={"conds": conditions.astype(str),
                                                     "fold": cv_folds.astype(str)})
    kw = {"cv_descriptor": "fold"} if method == "crossnobis" else {}
    return rsa.rdm.calc_rdm(data, method=method, descriptor="conds", **kw)


def representational_similarity(
    states_a: Any, conditions_a: Any, states_b: Any, conditions_b: Any, *,
    method: str = "crossnobis", compare: str = "corr", cv_folds: int = 2, n_splits: int = 4,
    n_permutations: int = 200, seed: int = 0,
) -> dict[str, Any]:
    """RSA between two systems over their matched conditions (Kriegeskorte et al. 2008).

    Args:
        states_a: ``[n_trials, units]`` single-trial states of system A (e.g. a model).
        conditions_a: ``[n_trials]`` condition labels of A's trials.
        states_b: ``[n_trials', units']`` of system B (e.g. a recording).
        conditions_b: ``[n_trials']`` condition labels of B's trials.
        method: rsatoolbox's dissimilarity (``crossnobis``: cross-validated over
            ``cv_folds`` folds of each condition's trials; ``euclidean``, ``correlation``).
        compare: rsatoolbox's RDM comparison (``corr``, ``cosine``, ``spearman``,
            ``tau-a``, ...).
        cv_folds: Cross-validation folds of the crossnobis distances.
        n_splits: B's trials are dealt into this many disjoint partitions, one RDM each:
            the similarity is A's RDM compared with each, averaged; the noise ceiling is
            rsatoolbox's leave-one-partition-out bounds (1 partition, or too few trials for
            them: no noise ceiling).
        n_permutations: Shuffles of A's condition labels for the null.
        seed: Seed of the folds, partitions and shuffles.

    Returns:
        ``similarity``, ``null_mean`` and ``null_sd`` (the shuffled conditions), ``p_value``
        (one-sided, permutation), ``noise_ceiling_lower`` and ``noise_ceiling_upper`` (NaN
        without partitions), ``n_conditions``, ``n_splits``, ``rdm_a`` and ``rdm_b``
        (``[C, C]`` matrices, B's from all its trials), ``conditions``.

    Raises:
        ArgumentError: For lengths that disagree, fewer than 3 shared conditions, or too few
            trials of a condition for the cross-validation folds.
        WmgeomError: If rsatoolbox is not installed.
    """
    rsa = _optional("rsatoolbox", "rsatoolbox")
    A, ca = np.asarray(states_a, dtype=float), np.asarray(conditions_a).astype(str)
    B, cb = np.asarray(states_b, dtype=float), np.asarray(conditions_b).astype(str)
    for name, X, c in (("A", A, ca), ("B", B, cb)):
        if X.ndim != 2 or len(X) != len(c):
            raise ArgumentError(f"states of {name} must be [n_trials, units] with one "
                                f"condition label per trial; got {X.shape} and {len(c)} labels")
        if not np.isfinite(X).all():
            raise ArgumentError(f"states of {name} hold NaN or infinite values")
    shared = matched_conditions(ca, cb)
    keep_a, keep_b = np.isin(ca, shared), np.isin(cb, shared)
    A, ca, B, cb = A[keep_a], ca[keep_a], B[keep_b], cb[keep_b]
    rng = np.random.default_rng(seed)
    folds = cv_folds if method == "crossnobis" else 1
    fewest = min(np.unique(ca, return_counts=True)[1].min(),
                 np.unique(cb, return_counts=True)[1].min())
    if fewest < folds:
        raise ArgumentError(f"a condition has {fewest} trials; {method} distances over "
                            f"{folds} folds need at least {folds} per condition")
    rdm_a = _rdm(A, ca, method, _folds(ca, folds, rng))
    rdm_b = _rdm(B, cb, method, _folds(cb, folds, rng))
    counts_b = np.unique(cb, return_counts=True)[1].min()
    splits = n_splits if counts_b >= n_splits * folds and n_splits > 1 else 1
    if splits > 1:
        part = _folds(cb, splits, rng)
        parts = rsa.rdm.concat([_rdm(B[part == k], cb[part == k], method,
                                     _folds(cb[part == k], folds, rng))
                                for k in range(splits)])
        lower, upper = rsa.inference.boot_noise_ceiling(parts, method=compare)
    else:
        parts, lower, upper = rdm_b, np.nan, np.nan
    similarity = float(np.mean(rsa.rdm.compare(rdm_a, parts, method=compare)))
    matrix = rdm_a.get_matrices()[0]
    perms = [rng.permutation(len(shared)) for _ in range(n_permutations)]
    null = np.array([])
    if perms:
        shuffled = rsa.rdm.RDMs(np.stack([matrix[p][:, p] for p in perms]),
                                dissimilarity_measure=rdm_a.dissimilarity_measure)
        null = rsa.rdm.compare(shuffled, parts, method=compare).mean(1)
    return {"similarity": similarity,
            "null_mean": float(null.mean()) if len(null) else np.nan,
            "null_sd": float(null.std()) if len(null) else np.nan,
            "p_value": float((1 + (null >= similarity).sum()) / (1 + len(null)))
            if len(null) else np.nan,
            "noise_ceiling_lower": float(lower), "noise_ceiling_upper": float(upper),
            "n_conditions": len(shared), "n_splits": splits,
            "rdm_a": matrix, "rdm_b": rdm_b.get_matrices()[0],
            "conditions": np.asarray(rdm_a.pattern_descriptors["conds"])}


# --------------------------------------------------------------------------- DSA


def dynamical_similarity(trajectories_a: Any, trajectories_b: Any, *, n_delays: int = 1,
                         rank: int | None = None, score_method: str = "angular",
                         iters: int = 1000, lr: float = 0.01, seed: int = 0) -> float:
    """Dynamical similarity analysis between two sets of trajectories (Ostrow et al. 2023).

    A linear operator is fitted to each (DMD on ``n_delays``-step delay embeddings, reduced
    to ``rank``) and the two are compared up to a change of coordinates with
    ``dsa-metric``'s similarity-transform distance: 0 for the same dynamics seen through
    any rotation of the state space, whatever the geometry of the states. Its angular
    score aligns by rotations only (a Cayley map): states that differ by a reflection, such
    as principal components of opposite signs, need their signs fixed first. Trajectories
    driven by inputs are compared as they are (the operators absorb the inputs' average
    effect).

    Args:
        trajectories_a: ``[n_trajectories, n_steps, units]`` (or ``[n_steps, units]``).
        trajectories_b: The same for the other system (its own units and trajectories).
        n_delays: Delay embedding (1: none).
        rank: Rank of the fitted operators (None: full).
        score_method: ``angular`` (the paper's; an optimisation of ``iters`` steps),
            ``euclidean`` or ``wasserstein`` (between the operators' eigenvalue spectra;
            no optimisation).
        iters: Optimisation steps of the similarity transform.
        lr: Its learning rate.
        seed: Seed of the optimisation (torch's random state is left as it was).

    Returns:
        The distance (angular: radians in [0, π]).

    Raises:
        ArgumentError: For trajectories that are not 2- or 3-dimensional, too short for the
            delays, or non-finite.
        WmgeomError: If dsa-metric is not installed.
    """
    import warnings

    import torch

    dsa = _optional("DSA", "dsa-metric")
    data = []
    for name, X in (("A", trajectories_a), ("B", trajectories_b)):
        X = np.asarray(X, dtype=float)
        if X.ndim not in (2, 3) or X.shape[-2] < n_delays + 1:
            raise ArgumentError(f"trajectories of {name} must be [trajectories, steps, units] "
                                f"with more than n_delays={n_delays} steps; got {X.shape}")
        if not np.isfinite(X).all():
            raise ArgumentError(f"trajectories of {name} hold NaN or infinite values")
        data.append(X)
    # one thread: the operators are small, and idle threads of a busy pool make each tiny
    # op of the optimisation wait (measured 1 s on one thread against 38 s on two)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings(), _cpu_threads(1):
        warnings.simplefilter("ignore")
        torch.manual_seed(seed)
        model = dsa.DSA(data[0], data[1], n_delays=n_delays, rank=rank,
                        score_method=score_method, iters=iters, lr=lr, verbose=False)
        return float(np.asarray(model.fit_score()).ravel()[0])

