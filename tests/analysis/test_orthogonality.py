"""Orthogonalisation index on planted angles, perceptual vs encoding comparison."""

import numpy as np
import pytest

from wmgeom.analysis.orthogonality import (
    orthogonalization_comparison,
    orthogonalization_index,
)
from wmgeom.errors import WmgeomError

FAST = {"Cs": (0.01, 1.0), "inner_cv": 2, "device": "cpu"}


def _equiangular(cos: float, K: int = 3, D: int = 6) -> np.ndarray:
    """K unit vectors with pairwise cosine ``cos`` (Gram = (1-c) I + c 11^T)."""
    gram = (1 - cos) * np.eye(K) + cos * np.ones((K, K))
    L = np.linalg.cholesky(gram)
    W = np.zeros((K, D))
    W[:, :K] = L
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D, D)))
    return W @ Q * np.array([[1.0], [2.5], [0.3]])[:K]  # norms do not matter


@pytest.mark.parametrize("cos", [0.0, 0.2, 0.5, 0.9, -0.4])
def test_index_of_planted_angles(cos):
    assert orthogonalization_index(_equiangular(cos)) == pytest.approx(1 - abs(cos))


def test_index_batches_and_extremes():
    W = np.stack([_equiangular(0.0), _equiangular(0.5)])
    np.testing.assert_allclose(orthogonalization_index(W), [1.0, 0.5])
    parallel = np.array([[1.0, 2.0], [-2.0, -4.0], [0.5, 1.0]])
    assert orthogonalization_index(parallel) == pytest.approx(0.0)
    with pytest.raises(WmgeomError, match="at least two"):
        orthogonalization_index(np.ones((1, 3)))
    with pytest.raises(WmgeomError, match="zero"):
        orthogonalization_index(np.array([[1.0, 0.0], [0.0, 0.0]]))


def _spaces(n=200, seed=0):
    """Perceptual: orthogonal class means (a simplex: OvR normals at cos -1/3, O = 2/3).

    Encoding: the same classes on a zig-zag in a plane, whose OvR normals are nearly
    parallel or anti-parallel in pairs (de-orthogonalised).
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    means_p = np.eye(4, 8) * 4.0
    means_e = np.zeros((4, 8))
    means_e[:, :2] = [[-6, 0], [-2, 2], [2, -2], [6, 0]]
    P = means_p[y] + rng.normal(size=(n, 8))
    E = means_e[y] + rng.normal(size=(n, 8))
    return P, E, y


def test_encoding_less_orthogonal_than_perceptual():
    P, E, y = _spaces()
    table = orthogonalization_comparison(P, E, {"location": y}, n_bootstrap=4, **FAST)
    assert len(table) == 2 * 4
    mean = table.groupby("space")["index"].mean()
    assert mean["perceptual"] == pytest.approx(2 / 3, abs=0.08)
    assert mean["encoding"] < mean["perceptual"] - 0.1
    norm = table.groupby("space")["normalized_index"].mean()
    assert norm["perceptual"] == pytest.approx(1.0)
    assert (table["t_statistic"] < 0).all() and (table["p_value"] < 0.01).all()


def test_pca_equalized_variant():
    P, E, y = _spaces(seed=1)
    E = np.concatenate([E, np.random.default_rng(2).normal(size=(len(y), 24))], 1)
    table = orthogonalization_comparison(P, E, y, n_bootstrap=3, n_components="min", **FAST)
    assert (table["n_components"] == 8).all()
    assert set(table["feature"]) == {"label"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"encoding": np.zeros((10, 3))}, "same trials"),
        ({"n_bootstrap": 1}, "at least 2"),
        ({"labels": np.arange(40) % 2}, "at least 3"),
        ({"n_components": 99}, "n_components"),
    ],
)
def test_user_errors(kwargs, message):
    rng = np.random.default_rng(0)
    args = {"perceptual": rng.normal(size=(40, 4)), "encoding": rng.normal(size=(40, 5)),
            "labels": np.arange(40) % 4, "n_bootstrap": 2, **FAST}
    args.update(kwargs)
    with pytest.raises(WmgeomError, match=message):
        orthogonalization_comparison(**args)


def test_a_nan_normal_is_an_error_not_a_nan_index():
    import numpy as np
    import pytest

    from wmgeom.analysis.orthogonality import orthogonalization_index
    from wmgeom.errors import WmgeomError

    W = np.eye(3)
    W[1, 0] = np.nan
    with pytest.raises(WmgeomError, match="NaN or infinite"):
        orthogonalization_index(W)


def test_both_readings_of_the_index():
    """Eq. 1 (mean of 1 - |cos|) and the text's Frobenius norm of C - I, on one scale."""
    from wmgeom.analysis.orthogonality import orthogonalization_index

    eye = np.eye(3)
    assert orthogonalization_index(eye, "frobenius") == pytest.approx(1.0)
    assert orthogonalization_index(np.ones((3, 4)), "frobenius") == pytest.approx(0.0)
    # two pairs at cos 0, one at cos 0.6: eq. 1 gives 1 - 0.6/3, Frobenius 1 - sqrt(0.36/3)
    W = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    assert orthogonalization_index(W) == pytest.approx(1 - 0.2)
    assert orthogonalization_index(W, "frobenius") == pytest.approx(1 - np.sqrt(0.12))
    with pytest.raises(WmgeomError, match="reading='l1' must be"):
        orthogonalization_index(W, "l1")


def test_the_perceptual_fit_is_shared_by_comparisons_of_the_same_stimuli(monkeypatch):
    """A grid's recordings (and their untrained nulls) hold the same perceptual space: its
    bootstrapped decoders are fitted once per process, with the same result."""
    import wmgeom.analysis.orthogonality as O

    P, E, y = _spaces(seed=2)
    calls = []
    fit_grid = O._fit_grid
    monkeypatch.setattr(O, "_fit_grid", lambda X, *a, **k: calls.append(X.shape)
                        or fit_grid(X, *a, **k))
    O._FITS.clear()
    first = orthogonalization_comparison(P, E, {"location": y}, n_bootstrap=3, **FAST)
    other = orthogonalization_comparison(P, -2.0 * E, {"location": y}, n_bootstrap=3, **FAST)
    assert len(calls) == 3  # perceptual once, each encoding space once
    keep = first["space"] == "perceptual"
    np.testing.assert_array_equal(first.loc[keep, "index"], other.loc[keep, "index"])
    orthogonalization_comparison(P, E, {"location": y}, n_bootstrap=3, seed=1, **FAST)
    assert len(calls) == 5  # another resampling is another fit
    O._FITS.clear()
