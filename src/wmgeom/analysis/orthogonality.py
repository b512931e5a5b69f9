"""Orthogonalisation of feature-value decoders (Lei et al. 2024, §4.2, eq. 1).

``O = mean_{i<j} (1 - |cos(w_i, w_j)|)`` over the normals ``w_i`` of the one-vs-rest
decoders of one feature (``i`` against the rest). ``O = 1`` when the decision hyperplanes
are mutually orthogonal, ``0`` when they are parallel. Lei et al. 2024 compare the perceptual
(CNN) and encoding (RNN) spaces over 10 bootstraps with a two-sample t-test (Fig. 3b) and
repeats the comparison with PCA equalising the two spaces' dimensionality (Fig. A3).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from wmgeom.analysis.decoders import PAPER_CS, _fit_grid, _problems, _torch_dtype
from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.pca import pca
from wmgeom.validation import check_array, check_integer, check_seed

__all__ = ["orthogonalization_comparison", "orthogonalization_index"]

_FITS: OrderedDict[str, np.ndarray] = OrderedDict()
_FITS_KEPT = 8


def _fit_once(arrays: Sequence[np.ndarray], settings: tuple, make: Callable[[], np.ndarray]
              ) -> np.ndarray:
    """``make()`` the first time these arrays and settings are seen in this process, the
    kept result after (the last few). The perceptual space of a grid's recordings, and of
    each untrained null, holds the same stimuli on the same trials: their bootstrapped
    decoders are fitted once."""
    h = hashlib.blake2b(repr(settings).encode(), digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(a.data)
    key = h.hexdigest()
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    value = _FITS[key] = make()
    while len(_FITS) > _FITS_KEPT:
        _FITS.popitem(last=False)
    return value


def orthogonalization_index(normals: np.ndarray, reading: str = "eq1") -> np.ndarray:
    """Orthogonalisation index of sets of decoder normals (Lei et al. 2024, eq. 1).

    The paper gives two readings: its eq. 1, the mean over pairs of ``1 - |cos|``, and its
    text, "the Frobenius norm of the difference between this matrix [the cosine similarity
    matrix of the normals] and the identity". Both are computed here on one scale (1 for
    mutually orthogonal normals, 0 for parallel ones): ``"eq1"`` and ``"frobenius"``,
    ``1 - ||C - I||_F / sqrt(K (K - 1))`` (one minus the root-mean-square cosine of the
    pairs).

    Args:
        normals: ``[..., K, D]`` normals of ``K >= 2`` one-vs-rest decoders.
        reading: ``"eq1"`` (the default, the paper's equation) or ``"frobenius"``.

    Returns:
        ``[...]`` indices in [0, 1].

    Raises:
        WmgeomError: If fewer than two normals are given or a normal is zero.
    """
    W = np.asarray(normals, dtype=np.float64)
    if W.ndim < 2 or W.shape[-2] < 2:
        raise WmgeomError(f"need at least two decoder normals per set; got shape {W.shape}")
    if not np.isfinite(W).all():
        raise WmgeomError("a decoder normal holds NaN or infinite values; refit the decoders "
                          "on finite activations")
    norm = np.linalg.norm(W, axis=-1, keepdims=True)
    if (norm == 0).any():
        raise WmgeomError("a decoder normal is zero: its feature value was never seen in "
                          "training, or every activation is constant (drop the value, use more "
                          "trials, or check the activations)")
    U = W / norm
    cos = U @ np.swapaxes(U, -1, -2)
    K = W.shape[-2]
    iu = np.triu_indices(K, 1)
    pairs = cos[..., iu[0], iu[1]]
    if reading == "eq1":
        return (1.0 - np.abs(pairs)).mean(-1)
    if reading == "frobenius":  # ||C - I||_F over the K (K - 1) off-diagonal entries
        return 1.0 - np.sqrt((pairs ** 2).mean(-1))
    raise WmgeomError(f"reading={reading!r} must be 'eq1' or 'frobenius'")


def orthogonalization_comparison(
    perceptual: Any,
    encoding: Any,
    labels: Any,
    *,
    n_bootstrap: int = 10,
    n_components: int | str | None = None,
    Cs: Sequence[float] = PAPER_CS,
    inner_cv: Any = 5,
    seed: int = 0,
    device: str | None = "auto",
    dtype: str = "float32",
    standardize: bool = False,
) -> pd.DataFrame:
    """Bootstrapped orthogonalisation index, perceptual vs encoding space (Fig. 3b, A3).

    For every bootstrap resample of the trials, one-vs-rest decoders (inner grid over
    ``Cs``) are fit in both spaces for every feature — all bootstraps of a space in one
    batched solve — and the index of their normals is computed. The normalised index
    divides by the mean perceptual index (so the perceptual space is 1 on average); the
    two-sample t-test compares the bootstrap distributions of the two spaces.

    Args:
        perceptual: Perceptual (CNN) features ``[n, D_p]`` of the stimuli.
        encoding: Encoding (RNN) activations ``[n, D_e]`` for the same stimuli.
        labels: Array ``[n]`` or dict ``{feature: [n]}`` (features with >= 3 values).
        n_bootstrap: Bootstrap resamples (10 in Lei et al. 2024).
        n_components: PCA-equalised variant (Fig. A3): project both spaces on this many
            principal components (``"min"``: the smaller dimensionality). None: raw spaces.
        Cs: Grid of ``C`` values.
        inner_cv: Folds of the inner grid search.
        seed: Seed of the bootstrap resampling.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        dtype: ``"float32"`` or ``"float64"``.
        standardize: Standardise units before fitting (not done by Lei et al. 2024; normals are
            compared in the space's own coordinates either way).

    Returns:
        One row per feature × space × bootstrap. Columns: ``feature``, ``space``
        (``perceptual`` or ``encoding``), ``bootstrap``, ``index``, ``normalized_index``
        (eq. 1), ``index_frobenius``, ``normalized_index_frobenius`` (the text's reading),
        ``t_statistic`` and ``p_value`` (two-sample t-test of encoding vs perceptual,
        repeated on every row of the feature), ``n_components``.

    Raises:
        WmgeomError: On mismatched trial counts, a binary feature or too few bootstraps.
    """
    P = check_array(perceptual, "perceptual", ndim=2, min_columns=1)
    E = check_array(encoding, "encoding", ndim=2, min_columns=1)
    if P.shape[0] != E.shape[0]:
        raise ArgumentError(f"perceptual {P.shape} and encoding {E.shape} must be [n, D] "
                            "arrays over the same trials")
    n_bootstrap = check_integer(n_bootstrap, "n_bootstrap")
    if n_bootstrap < 2:
        raise ArgumentError(f"n_bootstrap={n_bootstrap}; the t-test needs at least 2 "
                            "bootstraps")
    seed = check_seed(seed, "seed")
    if n_components is not None:
        if n_components != "min":
            check_integer(n_components, "n_components", minimum=1)
        k = min(P.shape[1], E.shape[1]) if n_components == "min" else int(n_components)
        if not 1 <= k <= min(P.shape[1], E.shape[1], P.shape[0]):
            raise WmgeomError(f"n_components={n_components} must be between 1 and "
                              f"{min(P.shape[1], E.shape[1], P.shape[0])}")
        P, E = pca(P, k).transform(P), pca(E, k).transform(E)
        n_components = k
    n = P.shape[0]
    rng = np.random.default_rng(seed)
    boot = rng.integers(0, n, size=(n_bootstrap, n))
    prob = _problems(labels, 1, n)
    for name, cls in zip(prob.features, prob.classes, strict=True):
        if len(cls) < 3:
            raise WmgeomError(f"feature {name!r} has {len(cls)} values; the orthogonalisation "
                              "index needs at least 3 one-vs-rest decoders")
    Yb = prob.Y[0][boot]  # [n_boot, n, K]
    strat = None
    index = {}
    for space, X in (("perceptual", P), ("encoding", E)):
        def make(X=X) -> np.ndarray:
            return _fit_grid(X[boot], Yb, [(np.arange(n), np.zeros(0, dtype=np.int64))],
                             inner_cv, strat, Cs, device=device, dtype=_torch_dtype(dtype),
                             intercept_scaling=10.0, solver_options={}, seed=seed,
                             standardize=standardize).coef[:, 0]  # [n_boot, K, D]

        coef = _fit_once((X, boot, Yb), (tuple(Cs), repr(inner_cv), str(device), dtype,
                                         standardize, seed), make)
        fi = prob.table["feature_index"].to_numpy()
        index[space] = np.stack([orthogonalization_index(coef[:, fi == f])
                                 for f in range(len(prob.features))], -1)  # [n_boot, F]
        index[f"{space} frobenius"] = np.stack(
            [orthogonalization_index(coef[:, fi == f], "frobenius")
             for f in range(len(prob.features))], -1)
    rows = []
    for f, name in enumerate(prob.features):
        ref = index["perceptual"][:, f].mean()
        ref_frobenius = index["perceptual frobenius"][:, f].mean()
        t, p = stats.ttest_ind(index["encoding"][:, f], index["perceptual"][:, f])
        for space in ("perceptual", "encoding"):
            for b in range(n_bootstrap):
                frobenius = index[f"{space} frobenius"][b, f]
                rows.append({"feature": name, "space": space, "bootstrap": b,
                             "index": index[space][b, f],
                             "normalized_index": index[space][b, f] / ref,
                             "index_frobenius": frobenius,
                             "normalized_index_frobenius": frobenius / ref_frobenius,
                             "t_statistic": float(t), "p_value": float(p),
                             "n_components": n_components})
    return pd.DataFrame(rows)
