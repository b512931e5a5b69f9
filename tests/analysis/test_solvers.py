"""The batched hinge-loss SVM solvers against libsvm's objective."""

import numpy as np
import pytest
import torch
from sklearn.svm import SVC

from wmgeom.analysis.solvers import solve_hinge_svm
from wmgeom.errors import ArgumentError, WmgeomError


@pytest.mark.parametrize(("D", "method"), [(6, "ipm"), (80, "ipm"), (80, "dcd")])
def test_solver_reaches_libsvm_objective(D, method):  # fewer and more units than samples
    rng = np.random.default_rng(1)
    n = 60
    X = rng.normal(size=(n, D)) + 2.0
    y = np.where(X[:, 0] + 0.7 * rng.normal(size=n) > 2.0, 1.0, -1.0)
    Cs = (0.01, 1.0, 10.0)
    s = 10.0
    Xa = torch.tensor(np.hstack([X, np.full((n, 1), s)])[None])
    theta = solve_hinge_svm(Xa, torch.tensor(y[None, :, None]), torch.tensor(Cs),
                            method=method, tol=1e-5, max_iter=20000)[0, :, :, 0].numpy()
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
