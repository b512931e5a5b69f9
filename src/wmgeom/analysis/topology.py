"""Persistent homology of activity manifolds (Cueva et al. 2021).

A torus — Clifford or standard — has Betti numbers ``(b0, b1, b2) = (1, 2, 1)``: one
connected piece, two independent loops, one enclosed void. A circle has ``(1, 1, 0)`` and a
sphere ``(1, 0, 1)``. We compute Vietoris–Rips persistence with ``ripser`` and read the
Betti numbers off the persistence diagrams with a documented rule (``docs/orientation.md``):

- point clouds are thinned to ``n_points`` landmarks by ripser's greedy (furthest-point)
  permutation, which covers the manifold evenly and keeps H2 affordable;
- for ``k ≥ 1`` a bar counts when its lifetime is at least ``rel_threshold`` (default 0.3)
  times ``scale``, the largest finite death among all bars of dimension ≥ 1 (the
  filtration value by which every loop and void has been filled in);
- ``b0`` is 1 (the infinite bar) plus the finite H0 bars whose lifetime is at least
  ``h0_ratio`` (default 3) times the median finite H0 lifetime: gaps between clusters
  that are much wider than the typical spacing between neighbouring landmarks.

:func:`torus_margin` says by how much a diagram clears that rule towards ``b1 = 2, b2 = 1``
(positive: it reads as a torus; the more positive, the further from the threshold), so a
torus can be compared with a control on a continuous scale.
"""

from __future__ import annotations

import numpy as np

from wmgeom.errors import WmgeomError


def persistence_diagrams(
    points, maxdim: int = 2, n_points: int | None = 150, seed: int = 0
) -> list[np.ndarray]:
    """Rips persistence diagrams of a point cloud (one ``[n_bars, 2]`` array per dimension).

    Args:
        points: ``[n, d]`` point cloud (e.g. network states).
        maxdim: highest homology dimension.
        n_points: number of greedy landmarks (``None`` keeps every point). H2 on more than
            a few hundred points is slow.
        seed: seed of the first landmark.
    """
    from ripser import ripser

    X = np.asarray(points, dtype=float)
    if X.ndim != 2 or X.shape[0] < 3:
        raise WmgeomError(
            f"persistent homology needs a 2-D point cloud with at least 3 points, got {X.shape}"
        )
    if not np.all(np.isfinite(X)):
        raise WmgeomError("point cloud contains NaN or infinite values; drop those states first")
    kwargs = {}
    if n_points is not None and n_points < X.shape[0]:
        # The greedy permutation starts from the first point: shuffle to seed it.
        X = X[np.random.default_rng(seed).permutation(X.shape[0])]
        kwargs = {"n_perm": int(n_points)}
    return [np.asarray(d) for d in ripser(X, maxdim=maxdim, **kwargs)["dgms"]]


def betti_numbers(
    diagrams: list[np.ndarray], rel_threshold: float = 0.3, h0_ratio: float = 3.0
) -> tuple[int, ...]:
    """Betti numbers read from persistence diagrams with the rule of the module docstring."""
    if not 0 < rel_threshold < 1:
        raise WmgeomError(f"rel_threshold must lie in (0, 1), got {rel_threshold}")
    finite = [d[np.isfinite(d[:, 1])] for d in diagrams]
    deaths = [d[:, 1].max() for d in finite[1:] if len(d)]
    scale = max(deaths) if deaths else 0.0
    h0 = diagrams[0]
    life0 = np.diff(finite[0], axis=1).ravel()
    b0 = int(np.sum(~np.isfinite(h0[:, 1])))
    if len(life0):
        b0 += int(np.sum(life0 >= h0_ratio * np.median(life0)))
    betti = [b0]
    for d in finite[1:]:
        life = d[:, 1] - d[:, 0]
        betti.append(int(np.sum(life >= rel_threshold * scale)) if scale > 0 else 0)
    return tuple(betti)


def lifetimes(
    diagrams: list[np.ndarray], top: int = 5, relative: bool = False
) -> dict[int, np.ndarray]:
    """The ``top`` longest finite lifetimes per homology dimension, descending.

    With ``relative=True`` they are divided by the scale of :func:`betti_numbers` (largest
    finite death in dimensions ≥ 1), so they compare directly with ``rel_threshold``.
    """
    finite = [d[np.isfinite(d[:, 1])] for d in diagrams]
    deaths = [d[:, 1].max() for d in finite[1:] if len(d)]
    scale = max(deaths) if relative and deaths else 1.0
    return {k: np.sort(d[:, 1] - d[:, 0])[::-1][:top] / scale for k, d in enumerate(finite)}


def torus_margin(diagrams: list[np.ndarray], rel_threshold: float = 0.3) -> float:
    """How far the bars clear the rule of :func:`betti_numbers` towards ``b1 = 2, b2 = 1``.

    With ``l1`` and ``l2`` the relative lifetimes of :func:`lifetimes` (descending, missing
    bars 0) and ``t = rel_threshold``: ``min(l1[1] − t, t − l1[2], l2[0] − t, t − l2[1])``.
    It is ≥ 0 when the second loop and the void count and the third loop and second void do
    not (``b1 = 2, b2 = 1``), negative otherwise; its size is the distance, in relative
    lifetime, to the nearest reading that would change.

    Raises:
        WmgeomError: Without an H2 diagram (``maxdim`` < 2) or with ``rel_threshold``
            outside (0, 1).
    """
    if not 0 < rel_threshold < 1:
        raise WmgeomError(f"rel_threshold must lie in (0, 1), got {rel_threshold}")
    if len(diagrams) < 3:
        raise WmgeomError(f"the torus margin needs diagrams up to H2, got {len(diagrams)} "
                          "dimension(s): compute them with maxdim=2")
    rel = lifetimes(diagrams, top=3, relative=True)

    def bar(k: int, i: int) -> float:
        return float(rel[k][i]) if len(rel[k]) > i else 0.0

    t = rel_threshold
    return min(bar(1, 1) - t, t - bar(1, 2), bar(2, 0) - t, t - bar(2, 1))
