"""Principal component analysis, the one implementation every stage uses.

Three solvers for three sizes of problem, as scikit-learn's ``svd_solver``:

* ``"svd"`` — exact, thin SVD of the centred data in float64 (small data: RNN states,
  decoder spaces, manifolds);
* ``"covariance"`` — exact, eigendecomposition of the ``D × D`` covariance (many samples,
  few features: the channels of every pixel of every backbone map);
* ``"randomized"`` — :func:`torch.pca_lowrank` with four power iterations (few samples,
  very many features: flattened backbone maps), seeded without touching the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from wmgeom.errors import WmgeomError

__all__ = ["PCA", "pca"]


@dataclass(frozen=True)
class PCA:
    """A fitted PCA.

    Attributes:
        mean: ``[D]`` mean of the data.
        components: ``[k, D]`` principal axes, by decreasing variance.
        explained_variance: ``[k]`` variance (or sum of squares) along each axis.
        total_variance: The same quantity summed over all directions.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    total_variance: float

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """``[k]`` fraction of the total variance on each axis (0 for constant data)."""
        if self.total_variance <= 0:
            return np.zeros_like(self.explained_variance)
        return self.explained_variance / self.total_variance

    @property
    def kept(self) -> float:
        """Fraction of the total variance kept by the ``k`` components (0 for constant data)."""
        if self.total_variance <= 0:
            return 0.0
        return float(self.explained_variance.sum() / self.total_variance)

    def transform(self, X: Any) -> np.ndarray:
        """Scores ``(X - mean) @ components.T``, ``[..., k]``."""
        return (np.asarray(X, dtype=self.mean.dtype) - self.mean) @ self.components.T


def pca(X: Any, n_components: int | None = None, *,
        solver: Literal["svd", "covariance", "randomized"] = "svd", seed: int = 0) -> PCA:
    """Fit a PCA of the rows of ``X [n, D]``.

    Args:
        X: Data, rows are samples (array or tensor).
        n_components: Components kept (default all; capped by the data's rank bound).
        solver: ``"svd"``, ``"covariance"`` or ``"randomized"`` (see the module).
        seed: Seed of the randomized solver.

    Raises:
        WmgeomError: For data that is not 2-D or an impossible number of components.
    """
    if X.ndim != 2:
        raise WmgeomError(f"PCA needs data [n_samples, n_features]; got shape {tuple(X.shape)}")
    n, D = X.shape
    if n_components is not None and n_components < 1:
        raise WmgeomError(f"n_components must be at least 1, got {n_components}")
    if solver == "svd":
        x = np.asarray(X, dtype=np.float64)
        mean = x.mean(0)
        _, S, Vt = np.linalg.svd(x - mean, full_matrices=False)
        var = S**2
        k = len(S) if n_components is None else min(n_components, len(S))
        return PCA(mean, Vt[:k], var[:k], float(var.sum()))
    x = torch.as_tensor(X).float()
    mean = x.mean(0)
    if solver == "covariance":
        cov = torch.cov((x - mean).T)
        evals, evecs = torch.linalg.eigh(cov.double())
        k = D if n_components is None else min(n_components, D)
        order = torch.argsort(evals, descending=True)[:k]
        return PCA(mean.numpy(), evecs[:, order].float().T.numpy(), evals[order].numpy(),
                   float(evals.clamp_min(0).sum()))
    if solver == "randomized":
        k = min(n - 1, D) if n_components is None else min(n_components, n - 1, D)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            _, s, v = torch.pca_lowrank(x - mean, q=min(k + 10, n, D), center=False, niter=4)
        total = (x - mean).pow(2).sum()
        return PCA(mean.numpy(), v[:, :k].T.numpy(), s[:k].pow(2).numpy(), float(total))
    raise WmgeomError(f"unknown PCA solver {solver!r}; use 'svd', 'covariance' or 'randomized'")
