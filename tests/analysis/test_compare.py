"""Comparisons of planted geometries and dynamics (Kriegeskorte et al. 2008, Williams et al.
2021, Ostrow et al. 2023), checked against published implementations where they install."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group
from sklearn.cross_decomposition import CCA

from wmgeom.analysis.compare import (
    cca_distance,
    condition_means,
    dynamical_similarity,
    matched_conditions,
    procrustes_distance,
    representational_similarity,
    shape_distance,
)
from wmgeom.errors import ArgumentError, WmgeomError


def _pair(seed=0, n=60, d=5, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal((d, d)) + noise * rng.standard_normal((n, d)) + 3.0


def test_procrustes_distance_is_the_angle_after_scipys_orthogonal_procrustes():
    X, Y = _pair()
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R, _ = orthogonal_procrustes(Xc, Yc)
    expected = np.arccos(np.trace((Xc @ R).T @ Yc) / np.linalg.norm(Xc) / np.linalg.norm(Yc))
    assert procrustes_distance(X, Y) == pytest.approx(expected, abs=1e-12)


def test_cca_distance_is_the_arccos_of_sklearns_mean_canonical_correlation():
    X, Y = _pair(1)
    cca = CCA(n_components=5, scale=False, max_iter=5000, tol=1e-12).fit(X, Y)
    a, b = cca.transform(X, Y)
    rho = [np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(5)]
    assert cca_distance(X, Y) == pytest.approx(np.arccos(np.mean(rho)), abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_shape_distance_matches_netrep(alpha):
    netrep = pytest.importorskip("netrep.metrics")
    X, Y = _pair(2)
    expected = netrep.LinearMetric(alpha=alpha, score_method="angular").fit_score(X, Y)
    assert shape_distance(X, Y, alpha) == pytest.approx(expected, abs=1e-6)


def test_planted_shapes():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 6))
    Q = ortho_group.rvs(6, random_state=4)
    # the same geometry rotated, scaled, shifted: no distance, by either metric
    assert procrustes_distance(X, 2.5 * X @ Q + 1.0) == pytest.approx(0, abs=1e-6)
    assert cca_distance(X, 2.5 * X @ Q + 1.0) == pytest.approx(0, abs=1e-6)
    # ... and seen through more units (zero-padded to the wider one)
    wide = X @ ortho_group.rvs(9, random_state=5)[:6]
    assert procrustes_distance(X, wide) == pytest.approx(0, abs=1e-6)
    # a stretch is a linear map: CCA forgives it, Procrustes does not
    stretched = X @ np.diag([5, 3, 1, 0.5, 0.3, 0.2]) @ Q
    assert cca_distance(X, stretched) == pytest.approx(0, abs=1e-6)
    assert procrustes_distance(X, stretched) > 0.3
    # unrelated responses, and the same responses with shuffled conditions, are far apart
    unrelated = procrustes_distance(X, rng.standard_normal((40, 6)))
    shuffled = procrustes_distance(X, (X @ Q)[rng.permutation(40)])
    assert unrelated > 0.8 and shuffled > 0.8


def test_shape_distance_is_a_metric():
    rng = np.random.default_rng(6)
    A, B, C = (rng.standard_normal((30, 4)) for _ in range(3))
    for alpha in (0.0, 0.5, 1.0):
        ab, bc, ac = (shape_distance(P, R, alpha) for P, R in ((A, B), (B, C), (A, C)))
        assert ab == pytest.approx(shape_distance(B, A, alpha))
        assert ac <= ab + bc + 1e-12
        assert shape_distance(A, A, alpha) == pytest.approx(0, abs=1e-6)


def _conditions(seed=0, n_conditions=8, per=20, units=30, spread=2.0):
    rng = np.random.default_rng(seed)
    conds = np.repeat(np.arange(n_conditions), per)
    return rng, conds, spread * rng.standard_normal((n_conditions, units))


def test_rsa_of_the_same_geometry_rotated_is_near_one_and_beats_shuffled_conditions():
    pytest.importorskip("rsatoolbox")
    rng, conds, centers = _conditions()
    A = centers[conds] + rng.standard_normal((len(conds), 30))
    B = centers[conds] @ ortho_group.rvs(30, random_state=1) + rng.standard_normal(A.shape)
    out = representational_similarity(A, conds, B, conds, n_permutations=200)
    assert out["similarity"] > 0.9 and out["p_value"] < 0.01
    assert abs(out["null_mean"]) < 0.1  # shuffled conditions: no similarity
    assert out["n_conditions"] == 8 and out["n_splits"] == 4
    assert out["noise_ceiling_lower"] <= out["noise_ceiling_upper"] <= 1.0 + 1e-9
    assert out["noise_ceiling_lower"] > 0.8
    assert out["rdm_a"].shape == out["rdm_b"].shape == (8, 8)


def test_rsa_of_unrelated_or_shuffled_conditions_is_not_significant():
    pytest.importorskip("rsatoolbox")
    rng, conds, centers = _conditions(1)
    A = centers[conds] + rng.standard_normal((len(conds), 30))
    other = 2.0 * rng.standard_normal((8, 30))
    unrelated = representational_similarity(A, conds, other[conds] + rng.standard_normal(
        A.shape), conds, n_permutations=200)
    shuffled = representational_similarity(A, conds, centers[rng.permutation(8)][conds]
                                           + rng.standard_normal(A.shape), conds,
                                           n_permutations=200)
    for out in (unrelated, shuffled):
        assert out["similarity"] < 0.6 and out["p_value"] > 0.01


def test_rsa_keeps_only_matched_conditions_and_drops_the_ceiling_without_trials():
    pytest.importorskip("rsatoolbox")
    rng, conds, centers = _conditions(2, per=4)
    A = centers[conds] + 0.1 * rng.standard_normal((len(conds), 30))
    keep = conds < 6  # B lacks two conditions, and has too few trials to partition
    out = representational_similarity(A, conds, A[keep], conds[keep], n_permutations=10)
    assert out["n_conditions"] == 6 and out["n_splits"] == 1
    assert np.isnan(out["noise_ceiling_lower"]) and out["similarity"] > 0.99


def _linear_trajectories(A, n=30, steps=8, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, A.shape[0]))
    out = [x]
    for _ in range(steps - 1):
        x = x @ A.T + noise * rng.standard_normal(x.shape)
        out.append(x)
    return np.stack(out, 1)


def _rotation(theta, r):
    return r * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_dsa_sees_the_same_dynamics_through_a_rotation_and_different_dynamics_apart():
    pytest.importorskip("DSA")
    zeros = np.zeros((2, 2))
    A = np.block([[_rotation(0.3, 0.95), zeros], [zeros, _rotation(1.0, 0.8)]])
    B = np.block([[_rotation(0.3, 0.95), zeros], [zeros, np.diag([0.5, -0.3])]])
    Q = ortho_group.rvs(4, random_state=0)
    X = _linear_trajectories(A)
    same = dynamical_similarity(X, _linear_trajectories(A, seed=1) @ Q.T, rank=4, iters=300)
    other = dynamical_similarity(X, _linear_trajectories(B, seed=2), rank=4, iters=300)
    assert same < 0.15 and other > 0.4
    spectra = dynamical_similarity(X, _linear_trajectories(B, seed=2), rank=4,
                                   score_method="wasserstein")
    assert spectra > dynamical_similarity(X, X @ Q.T, rank=4, score_method="wasserstein")


def test_condition_means():
    states = np.arange(12, dtype=float).reshape(6, 2)
    means, labels = condition_means(states, ["b", "a", "b", "a", "c", "c"])
    assert labels.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(means, [[4, 5], [2, 3], [9, 10]])
    assert matched_conditions(["a", "b", "c", "d"], ["d", "c", "b", "x"]).tolist() == \
        ["b", "c", "d"]


def test_user_errors():
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ArgumentError, match="10 trials of states but 9 condition labels"):
        condition_means(X, np.arange(9))
    with pytest.raises(ArgumentError, match="only 2 conditions are shared"):
        matched_conditions(["a", "b", "c"], ["a", "b"])
    with pytest.raises(ArgumentError, match="rows must be matched conditions"):
        procrustes_distance(X, X[:9])
    with pytest.raises(ArgumentError, match=r"responses must be \[conditions, units\]"):
        procrustes_distance(X[:, 0], X)
    with pytest.raises(ArgumentError, match="NaN or infinite"):
        procrustes_distance(np.full((4, 2), np.nan), np.ones((4, 2)))
    with pytest.raises(ArgumentError, match="alpha=2 must lie in"):
        shape_distance(X, X, alpha=2)
    with pytest.raises(ArgumentError, match="reduce them with n_components"):
        cca_distance(X, np.random.default_rng(1).standard_normal((10, 8)))
    with pytest.raises(ArgumentError, match="constant across conditions"):
        procrustes_distance(np.ones((5, 2)), X[:5])


def test_user_errors_of_the_optional_comparisons():
    pytest.importorskip("rsatoolbox")
    pytest.importorskip("DSA")
    X = np.random.default_rng(0).standard_normal((12, 3))
    conds = np.repeat(np.arange(4), 3)
    with pytest.raises(ArgumentError, match=r"states of B must be \[n_trials, units\]"):
        representational_similarity(X, conds, X, conds[:5])
    with pytest.raises(ArgumentError, match="a condition has 1 trials"):
        representational_similarity(X, np.arange(12), X, np.arange(12))
    with pytest.raises(ArgumentError, match="more than n_delays=3 steps"):
        dynamical_similarity(X[None, :2], X[None], n_delays=3)


def test_the_optional_packages_are_named_when_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "rsatoolbox", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "DSA", None)
    X = np.random.default_rng(0).standard_normal((12, 3))
    conds = np.repeat(np.arange(4), 3)
    with pytest.raises(WmgeomError, match=r"optional package rsatoolbox: pip install "
                                          r"\"wmgeom\[neuro\]\""):
        representational_similarity(X, conds, X, conds)
    with pytest.raises(WmgeomError, match="optional package dsa-metric"):
        dynamical_similarity(X[None], X[None])
    assert procrustes_distance(X, X) == pytest.approx(0, abs=1e-6)  # numpy alone
