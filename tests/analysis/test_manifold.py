"""Clifford-vs-standard torus test on planted point clouds."""

import numpy as np
import pytest
import torch

from wmgeom.analysis.manifold import (
    coding_planes,
    conditional_orthogonality,
    grid_states,
    pca,
    torus_geometry,
)
from wmgeom.errors import WmgeomError
from wmgeom.models.ctrnn import CTRNN
from wmgeom.tasks.orientation import TwoOrientationTask


def _grid(n=12):
    v = np.arange(n) * 180.0 / n
    t1, t2 = np.meshgrid(v, v, indexing="ij")
    return t1.ravel(), t2.ravel()


def _embed(X, n_units=40, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n_units, n_units)))
    return X @ Q[: X.shape[1]] + 3.0 + noise * rng.standard_normal((len(X), n_units))


def clifford(t1, t2, a=1.0, b=1.0):
    r1, r2 = np.deg2rad(2 * t1), np.deg2rad(2 * t2)
    return np.c_[a * np.cos(r1), a * np.sin(r1), b * np.cos(r2), b * np.sin(r2)]


def donut(t1, t2, R=1.0, r=0.4):
    r1, r2 = np.deg2rad(2 * t1), np.deg2rad(2 * t2)
    return np.c_[
        (R + r * np.cos(r2)) * np.cos(r1), (R + r * np.cos(r2)) * np.sin(r1), r * np.sin(r2)
    ]


def test_clifford_torus_is_recognized():
    t1, t2 = _grid()
    g = torus_geometry(_embed(clifford(t1, t2)), t1, t2)
    assert g["clifford"]
    assert g["principal_angle1_deg"] > 85
    assert g["radius_ratio"] == pytest.approx(1.0, abs=0.05)
    assert min(g["circularity1"], g["circularity2"]) > 0.95
    assert g["var3"] == pytest.approx(0.75, abs=0.03) and g["var4"] > 0.98
    assert g["linear_r2"] > 0.98


def test_standard_torus_is_told_apart():
    t1, t2 = _grid()
    g = torus_geometry(_embed(donut(t1, t2)), t1, t2)
    assert not g["clifford"]
    assert g["circularity2"] < 0.2  # the tube angle is coded radially, not in a fixed plane
    assert g["radius_ratio"] < 0.5
    assert g["var3"] > 0.98


def test_non_orthogonal_planes_fail_the_test():
    t1, t2 = _grid()
    X = clifford(t1, t2)
    sheared = np.c_[X[:, 0] + X[:, 2], X[:, 1] + X[:, 3], 0.3 * X[:, 2], 0.3 * X[:, 3]]
    g = torus_geometry(_embed(sheared), t1, t2)
    assert g["principal_angle1_deg"] < 30 and not g["clifford"]


def test_coding_planes_recover_planted_coefficients():
    t1, t2 = _grid(8)
    rng = np.random.default_rng(3)
    B = rng.standard_normal((5, 7))
    from wmgeom.analysis.manifold import orientation_design

    planes = coding_planes(orientation_design(t1, t2) @ B, t1, t2)
    np.testing.assert_allclose(planes["plane1"], B[1:3], atol=1e-9)
    np.testing.assert_allclose(planes["plane2"], B[3:5], atol=1e-9)
    assert planes["r2"] == pytest.approx(1.0)


def test_pca_variance_ratios_sum_to_one():
    X = np.random.default_rng(0).standard_normal((50, 6)) * [5, 4, 3, 2, 1, 0.5]
    p = pca(X)
    assert p["explained_variance_ratio"].sum() == pytest.approx(1.0)
    assert np.all(np.diff(p["explained_variance_ratio"]) <= 0)


def test_grid_states_from_a_network():
    task = TwoOrientationTask(delay1_max=100, delay1_min=100, delay2_min=100, delay2_max=100)
    torch.manual_seed(0)
    model = CTRNN(task.n_inputs, task.n_outputs, n_units=10)
    states, t1, t2, t = grid_states(model, task, n_grid=4)
    assert states.shape == (16, 10) and t == task.n_steps - task.steps["report"] - 1
    again, *_ = grid_states(model, task, n_grid=4)
    np.testing.assert_array_equal(states, again)  # noise-free
    with pytest.raises(WmgeomError, match="unknown epoch"):
        grid_states(model, task, n_grid=2, epoch="delay3")


def test_user_errors():
    with pytest.raises(WmgeomError, match="one orientation per state"):
        coding_planes(np.zeros((10, 3)), np.zeros(9), np.zeros(10))
    with pytest.raises(WmgeomError, match="2-D array"):
        torus_geometry(np.zeros(10), np.zeros(10), np.zeros(10))


def _shuffled(t1, t2, seed=0):
    p = np.random.default_rng(seed).permutation(len(t1))
    return t1[p], t2[p]


def test_clifford_index_and_conditional_orthogonality_tell_the_tori_apart():
    t1, t2 = _grid(16)
    c = _embed(clifford(t1, t2), n_units=64)
    g, o = torus_geometry(c, t1, t2), conditional_orthogonality(c, t1, t2)
    assert g["clifford_index"] > 0.9
    assert o["conditional_angle_deg"] > 85 and o["orthogonal_coding"] > 0.9
    d = _embed(donut(t1, t2), n_units=64)
    g, o = torus_geometry(d, t1, t2), conditional_orthogonality(d, t1, t2)
    assert g["clifford_index"] < 0.1
    # the tube circle at each ring angle contains the ring's radial direction
    assert o["conditional_angle2_deg"] < 20 and o["conditional_angle1_deg"] > 45
    assert o["conditional_angle_deg"] == o["conditional_angle2_deg"]
    assert o["orthogonal_coding"] < 0.2


def test_unequal_radii_lower_the_clifford_index_not_the_orthogonality():
    t1, t2 = _grid(16)
    X = _embed(clifford(t1, t2, a=1.0, b=0.3), n_units=64)
    g, o = torus_geometry(X, t1, t2), conditional_orthogonality(X, t1, t2)
    assert g["radius_ratio"] == pytest.approx(0.3, abs=0.03)
    assert g["clifford_index"] < 0.35 and not g["clifford"]
    assert o["conditional_angle_deg"] > 85 and o["orthogonal_coding"] > 0.9


def test_shuffled_orientations_show_no_clifford_torus():
    t1, t2 = _grid(16)
    X = _embed(clifford(t1, t2), n_units=64)
    s1, s2 = _shuffled(t1, t2)
    g, o = torus_geometry(X, s1, s2), conditional_orthogonality(X, s1, s2)
    assert g["linear_r2"] < 0.05 and g["clifford_index"] < 0.05 and not g["clifford"]
    assert o["orthogonal_coding"] < 0.2


def test_conditional_orthogonality_needs_a_grid():
    rng = np.random.default_rng(0)
    t1, t2 = rng.uniform(0, 180, (2, 50))  # no value of either item repeats
    o = conditional_orthogonality(rng.standard_normal((50, 5)), t1, t2)
    assert np.isnan(o["conditional_angle_deg"]) and np.isnan(o["orthogonal_coding"])
    with pytest.raises(WmgeomError, match="one orientation per state"):
        conditional_orthogonality(np.zeros((10, 3)), np.zeros(10), np.zeros(9))
