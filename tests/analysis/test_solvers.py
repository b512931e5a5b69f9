"""The batched hinge-loss SVM solvers against libsvm's objective."""

import numpy as np
import pytest
import torch
from sklearn.svm import SVC

from wmgeom.analysis.solvers import DCD_MAX_C_LAMBDA, solve_hinge_svm
from wmgeom.errors import ArgumentError, WmgeomError


@pytest.mark.parametrize(("D", "method", "max_iter"), [
    (6, "ipm", 20000), (80, "ipm", 20000), (80, "dcd", 20000),
    (6, "auto", 20000),  # C = 0.01 by coordinate descent, 1 and 10 by the interior point
    (6, "auto", 1),  # coordinate descent stops unsolved: the interior point takes over
])
def test_solver_reaches_libsvm_objective(D, method, max_iter):  # fewer and more units than samples
    rng = np.random.default_rng(1)
    n = 60
    X = rng.normal(size=(n, D)) + 2.0
    y = np.where(X[:, 0] + 0.7 * rng.normal(size=n) > 2.0, 1.0, -1.0)
    Cs = (0.01, 1.0, 10.0)
    s = 10.0
    Xa = torch.tensor(np.hstack([X, np.full((n, 1), s)])[None])
    theta = solve_hinge_svm(Xa, torch.tensor(y[None, :, None]), torch.tensor(Cs),
                            method=method, tol=1e-5, max_iter=max_iter)[0, :, :, 0].numpy()
    for c, C in enumerate(Cs):
        ref = SVC(kernel="linear", C=C, tol=1e-6).fit(X, y)

        def objective(w, b, C=C):
            return 0.5 * w @ w + C * np.maximum(0, 1 - y * (X @ w + b)).sum()

        ours = objective(theta[c, :-1], s * theta[c, -1])
        best = objective(ref.coef_[0], ref.intercept_[0])
        assert ours <= best * (1 + 2e-3) + 1e-9


def test_solver_input_errors():
    Xa = torch.ones(1, 5, 3)
    with pytest.raises(WmgeomError, match="do not match"):
        solve_hinge_svm(Xa, torch.ones(1, 4, 2), [1.0])
    with pytest.raises(WmgeomError, match="divide"):
        solve_hinge_svm(Xa, torch.ones(1, 5, 3), [1.0], groups=2)
    with pytest.raises(WmgeomError, match="method"):
        solve_hinge_svm(Xa, torch.ones(1, 5, 2), [1.0], method="admm")


@pytest.mark.parametrize("C", [[float("nan")], [1.0, float("inf")], [0.0], [-1.0], []])
def test_solver_refuses_bad_regularisation(C):
    Xa = torch.ones(1, 5, 3)
    with pytest.raises(ArgumentError, match=r"C=.* must be finite positive numbers"):
        solve_hinge_svm(Xa, torch.ones(1, 5, 2), C)


@pytest.mark.parametrize("method", ["ipm", "dcd"])
def test_solver_reports_its_iterations(method):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 4))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    Xa = torch.tensor(np.hstack([X, np.full((40, 1), 10.0)])[None])
    Y = torch.tensor(y[None, :, None])
    plain = solve_hinge_svm(Xa, Y, [0.1, 1.0], method=method, max_iter=7)
    theta, n_iter = solve_hinge_svm(Xa, Y, [0.1, 1.0], method=method, max_iter=7,
                                    return_n_iter=True)
    assert torch.equal(theta, plain)
    assert 1 <= n_iter <= (7 if method == "dcd" else 60)


def test_auto_splits_the_C_grid_by_conditioning():
    """On the CPU, ``auto`` gives coordinate descent the C values with a small C * lambda_max
    and the interior point the rest: each column is what that solver alone returns."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=200) > 0, 1.0, -1.0)
    Xa = torch.tensor(np.hstack([X, np.full((200, 1), 10.0)])[None])
    Y = torch.tensor(y[None, :, None])
    lam = np.linalg.eigvalsh(np.cov(X.T, bias=True) * 200)[-1]
    small, large = 1.0 / lam, 100 * DCD_MAX_C_LAMBDA / lam  # 10 epochs; many hundred
    auto = solve_hinge_svm(Xa, Y, [large, small], method="auto")
    assert torch.equal(auto[:, 1:], solve_hinge_svm(Xa, Y, [small], method="dcd"))
    assert torch.equal(auto[:, :1], solve_hinge_svm(Xa, Y, [large], method="ipm"))
    assert not torch.equal(auto[:, 1:], solve_hinge_svm(Xa, Y, [small], method="ipm"))


@pytest.mark.parametrize("method", ["auto", "dcd"])
def test_a_problem_does_not_depend_on_its_batch(method):
    """The same design matrix alone or beside another (of another scale, so that ``auto``
    splits the C grid differently for the two) gives the same solutions."""
    rng = np.random.default_rng(4)
    n, D = 120, 10 if method == "auto" else 60
    mats, labels = [], []
    for scale in (1.0, 6.0):
        X = rng.normal(size=(n, D)) * scale
        y = np.where(X[:, :2].sum(1) + scale * rng.normal(size=n) > 0, 1.0, -1.0)
        mats.append(np.hstack([X, np.full((n, 1), 10.0 * scale)]))
        labels.append(np.stack([y, -y], 1))
    Xa, Y = torch.tensor(np.stack(mats)), torch.tensor(np.stack(labels))
    Cs = [0.01, 0.1, 1.0]
    both = solve_hinge_svm(Xa, Y, Cs, method=method)
    for g in range(2):
        alone = solve_hinge_svm(Xa[g:g + 1], Y[g:g + 1], Cs, method=method)
        torch.testing.assert_close(both[g:g + 1], alone, rtol=1e-6, atol=1e-8)


def test_coordinate_steps_agree_through_numpy_and_torch():
    """The sequential steps of a block (numpy on the CPU, torch on a GPU) are the same
    sequential coordinate descent: each step sees the steps before it."""
    from wmgeom.analysis.solvers import _coordinate_steps

    gen = torch.Generator().manual_seed(5)
    G, B, P = 3, 7, 5
    Kn = torch.randn(G, B, B, generator=gen, dtype=torch.float64) * 0.3
    Z = torch.randn(G, B, P, generator=gen, dtype=torch.float64)
    lo, hi = -torch.rand(G, B, P, generator=gen, dtype=torch.float64), torch.rand(
        G, B, P, generator=gen, dtype=torch.float64)
    E0 = torch.zeros(G, B, P, dtype=torch.float64)
    ref = E0.clone()
    for t in range(B):  # the definition, one coordinate at a time
        ref[:, t] = (Z[:, t] + (Kn[:, t, :, None] * ref).sum(1)).clamp(lo[:, t], hi[:, t])
    for via_numpy in (True, False):
        E = torch.zeros(G, B + 3, P, dtype=torch.float64)  # a block is a view of more rows
        _coordinate_steps(Kn, Z, lo, hi, E[:, 1:B + 1], via_numpy=via_numpy)
        torch.testing.assert_close(E[:, 1:B + 1], ref)
        assert not E[:, 0].any() and not E[:, B + 1:].any()
