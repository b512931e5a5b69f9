"""wmgeom.pca on planted low-rank data: every solver finds the planted subspace."""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from wmgeom.errors import WmgeomError
from wmgeom.pca import PCA, pca

SOLVERS = ("svd", "covariance", "randomized")
SCALES = np.array([10.0, 6.0, 3.0])  # planted standard deviations along the three axes


@pytest.fixture(scope="module")
def planted():
    """200 samples in 30-D: a 3-D planted subspace (stds 10, 6, 3) + small isotropic noise."""
    rng = np.random.default_rng(0)
    n, D = 200, 30
    basis, _ = np.linalg.qr(rng.normal(size=(D, 3)))
    latent = rng.normal(size=(n, 3)) * SCALES
    X = latent @ basis.T + 0.05 * rng.normal(size=(n, D)) + rng.normal(size=D) * 5
    return X, basis


@pytest.mark.parametrize("solver", SOLVERS)
def test_recovers_the_planted_subspace(planted, solver):
    X, basis = planted
    fit = pca(X, 3, solver=solver)
    assert isinstance(fit, PCA)
    assert fit.components.shape == (3, X.shape[1])
    assert np.rad2deg(subspace_angles(fit.components.T, basis)).max() < 1.0
    np.testing.assert_allclose(fit.components @ fit.components.T, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(fit.mean, X.mean(0), rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(fit.explained_variance) < 0)  # by decreasing variance


@pytest.mark.parametrize("solver", ["covariance", "randomized"])
def test_solvers_agree_with_svd(planted, solver):
    X, _ = planted
    exact, other = pca(X, 3, solver="svd"), pca(X, 3, solver=solver)
    for a, b in zip(exact.components, other.components, strict=True):  # same axes up to sign
        assert abs(float(a @ b)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(other.explained_variance_ratio, exact.explained_variance_ratio,
                               rtol=1e-4)
    assert other.kept == pytest.approx(exact.kept, rel=1e-5)


def test_explained_variance_ratio_matches_the_planted_variances(planted):
    X, basis = planted
    fit = pca(X, 3)
    Xc = X - X.mean(0)
    planted_var = ((Xc @ basis) ** 2).sum(0)  # sum of squares along each planted axis
    np.testing.assert_allclose(np.sort(fit.explained_variance)[::-1],
                               np.sort(planted_var)[::-1], rtol=0.05)
    np.testing.assert_allclose(fit.explained_variance_ratio,
                               fit.explained_variance / (Xc**2).sum(), rtol=1e-10)
    # about 100:36:9 of the variance, almost nothing left for the noise
    np.testing.assert_allclose(fit.explained_variance_ratio, SCALES**2 / (SCALES**2).sum(),
                               atol=0.05)


@pytest.mark.parametrize("solver", SOLVERS)
def test_kept_is_the_fraction_of_variance(planted, solver):
    X, _ = planted
    Xc = X - X.mean(0)
    for k in (1, 3):
        fit = pca(X, k, solver=solver)
        kept = ((Xc @ fit.components.T.astype(float)) ** 2).sum() / (Xc**2).sum()
        assert fit.kept == pytest.approx(kept, rel=1e-4)
        assert fit.kept == pytest.approx(fit.explained_variance_ratio.sum(), rel=1e-6)
    assert pca(X, 1, solver=solver).kept == pytest.approx(100 / 145, abs=0.05)
    assert pca(X, 3, solver=solver).kept > 0.99


def test_all_components_keep_everything(planted):
    X, _ = planted
    fit = pca(X)
    assert fit.components.shape == (30, 30)
    assert fit.kept == pytest.approx(1.0)
    assert pca(X, 100).components.shape == (30, 30)  # capped by the number of features


@pytest.mark.parametrize("solver", SOLVERS)
def test_transform_projects_centered_data(planted, solver):
    X, _ = planted
    fit = pca(X, 3, solver=solver)
    expected = (X - X.mean(0)) @ fit.components.T.astype(float)
    np.testing.assert_allclose(fit.transform(X), expected, rtol=1e-4, atol=1e-3)
    stacked = fit.transform(np.stack([X[:5], X[5:10]]))  # leading dimensions kept
    assert stacked.shape == (2, 5, 3)
    np.testing.assert_allclose(stacked[1], fit.transform(X[5:10]), rtol=1e-6)


def test_accepts_a_tensor(planted):
    X, _ = planted
    a, b = pca(X, 2), pca(torch.as_tensor(X), 2)
    np.testing.assert_allclose(np.abs(a.components @ b.components.T), np.eye(2), atol=1e-8)


def test_randomized_is_seeded_and_leaves_the_global_rng_alone(planted):
    X, _ = planted
    before = torch.get_rng_state()
    a, b = pca(X, 3, solver="randomized", seed=5), pca(X, 3, solver="randomized", seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(a.components, b.components)


def test_randomized_caps_components_below_the_sample_count():
    X = np.random.default_rng(1).normal(size=(6, 40))
    assert pca(X, 10, solver="randomized").components.shape == (5, 40)


@pytest.mark.parametrize("solver", SOLVERS)
def test_constant_data(solver):
    X = np.full((10, 4), 3.0)
    fit = pca(X, 2, solver=solver)
    np.testing.assert_allclose(fit.mean, 3.0)
    assert fit.total_variance == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(fit.explained_variance_ratio, 0.0)
    np.testing.assert_allclose(fit.transform(X), 0.0, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_constant_data_keeps_nothing(solver):
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = pca(np.full((10, 4), 3.0), 2, solver=solver).kept
    assert kept == 0.0


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_data_must_be_two_dimensional(shape):
    with pytest.raises(WmgeomError) as exc:
        pca(np.zeros(shape))
    assert str(exc.value) == f"PCA needs data [n_samples, n_features]; got shape {shape}"


@pytest.mark.parametrize("k", [0, -2])
def test_n_components_at_least_one(k):
    with pytest.raises(WmgeomError) as exc:
        pca(np.ones((5, 3)), k)
    assert str(exc.value) == f"n_components must be at least 1, got {k}"


def test_unknown_solver():
    with pytest.raises(WmgeomError) as exc:
        pca(np.random.default_rng(0).normal(size=(5, 3)), solver="lanczos")
    assert str(exc.value) == ("unknown PCA solver 'lanczos'; use 'svd', 'covariance' or "
                              "'randomized'")
