"""Betti numbers of planted manifolds."""

import numpy as np
import pytest

from wmgeom.analysis.topology import (
    betti_numbers,
    lifetimes,
    persistence_diagrams,
    torus_margin,
)
from wmgeom.errors import WmgeomError

RNG = np.random.default_rng(0)


def _embed(X, n_units=20, noise=0.02):
    Q, _ = np.linalg.qr(RNG.standard_normal((n_units, n_units)))
    return X @ Q[: X.shape[1]] + noise * RNG.standard_normal((len(X), n_units))


def _angles(n):
    return RNG.uniform(0, 2 * np.pi, (2, n))


def test_clifford_torus_has_betti_1_2_1():
    a, b = _angles(1200)
    X = np.c_[np.cos(a), np.sin(a), np.cos(b), np.sin(b)]
    assert betti_numbers(persistence_diagrams(_embed(X))) == (1, 2, 1)


def test_standard_torus_has_betti_1_2_1():
    a, b = _angles(1200)
    R, r = 1.0, 0.5
    X = np.c_[(R + r * np.cos(b)) * np.cos(a), (R + r * np.cos(b)) * np.sin(a), r * np.sin(b)]
    assert betti_numbers(persistence_diagrams(_embed(X))) == (1, 2, 1)


def test_sphere_and_circle():
    u = RNG.standard_normal((1000, 3))
    sphere = u / np.linalg.norm(u, axis=1, keepdims=True)
    assert betti_numbers(persistence_diagrams(_embed(sphere), n_points=120)) == (1, 0, 1)
    t = RNG.uniform(0, 2 * np.pi, 300)
    circle = np.c_[np.cos(t), np.sin(t)]
    dg = persistence_diagrams(_embed(circle), maxdim=1, n_points=100)
    assert betti_numbers(dg) == (1, 1)
    assert lifetimes(dg)[1][0] > 1.0  # the circle's loop lives long


def test_two_clusters_give_b0_of_two():
    t = RNG.uniform(0, 2 * np.pi, 200)
    circle = np.c_[np.cos(t), np.sin(t)]
    X = np.r_[circle, circle + 10.0]
    assert betti_numbers(persistence_diagrams(X, maxdim=1, n_points=120))[0] == 2


def test_user_errors():
    with pytest.raises(WmgeomError, match="at least 3 points"):
        persistence_diagrams(np.zeros((2, 3)))
    with pytest.raises(WmgeomError, match="NaN"):
        persistence_diagrams(np.full((5, 2), np.nan))
    with pytest.raises(WmgeomError, match="rel_threshold"):
        betti_numbers([np.zeros((1, 2))], rel_threshold=2.0)


def test_relative_lifetimes_compare_with_the_threshold():
    t = RNG.uniform(0, 2 * np.pi, 200)
    dg = persistence_diagrams(_embed(np.c_[np.cos(t), np.sin(t)]), maxdim=1, n_points=80)
    rel = lifetimes(dg, top=2, relative=True)
    assert rel[1][0] > 0.3 > rel[1][1]  # one bar above the default threshold
    assert np.all(np.diff(rel[1]) <= 0)


def test_torus_margin_is_positive_for_a_torus_only():
    a, b = _angles(1200)
    torus = np.c_[np.cos(a), np.sin(a), np.cos(b), np.sin(b)]
    dg = persistence_diagrams(_embed(torus))
    assert betti_numbers(dg) == (1, 2, 1) and torus_margin(dg) > 0
    circle = np.c_[np.cos(a), np.sin(a)]
    assert torus_margin(persistence_diagrams(_embed(circle), n_points=100)) < -0.2
    thin = np.c_[np.cos(a), np.sin(a), 0.1 * np.cos(b), 0.1 * np.sin(b)]
    dg = persistence_diagrams(_embed(thin))
    assert betti_numbers(dg) != (1, 2, 1) and torus_margin(dg) < 0


def test_torus_margin_errors():
    dg = persistence_diagrams(RNG.standard_normal((30, 3)), maxdim=1)
    with pytest.raises(WmgeomError, match="diagrams up to H2"):
        torus_margin(dg)
    with pytest.raises(WmgeomError, match="rel_threshold"):
        torus_margin(dg + [np.zeros((0, 2))], rel_threshold=0.0)
