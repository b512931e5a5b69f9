"""Activity manifold of two remembered orientations (Cueva et al. 2021, "Clifford torus").

Cueva et al. 2021 report that the states holding two orientations lie on a *Clifford torus*
``(a cos 2θ1, a sin 2θ1, b cos 2θ2, b sin 2θ2)`` embedded in state space — the two
orientations coded in orthogonal planes, as circles of equal radius — rather than on a
*standard torus* (the surface of a donut), where one angle is coded by a large circle and
the other by a small circle whose plane turns with the first angle.

The test here (definitions are ours, see ``docs/orientation.md``) regresses the states on
``[1, cos 2θ1, sin 2θ1, cos 2θ2, sin 2θ2]``. The two coefficient pairs span the *coding
planes* of θ1 and θ2. For each plane we report the singular values of its 2 × N coefficient
matrix (the semi-axes of the ellipse the item traces), and across planes:

- ``principal_angles_deg``: the principal angles between the two planes (90°, 90° =
  orthogonal subspaces);
- ``radius_ratio``: smaller over larger plane radius (RMS of the semi-axes); 1 = equal
  radii;
- ``circularity1/2``: minor over major semi-axis of each plane; a standard torus codes its
  tube angle radially, so its second plane collapses to a line (circularity ≈ 0);
- ``var3`` / ``var4``: fraction of the grid states' variance in the first 3 and 4
  principal components (a standard torus fills 3 dimensions, a Clifford torus 4).

:func:`torus_geometry` combines them into a ``clifford`` verdict with documented thresholds
and into one continuous ``clifford_index`` (1 for an ideal Clifford torus, near 0 for a
standard torus, for planes fitted to shuffled orientations, or for one item coded much more
weakly than the other).

Orthogonality of the global planes alone does not separate the two tori (a donut's tube axis
is orthogonal to its ring plane), and two random planes in many dimensions are nearly
orthogonal too. :func:`conditional_orthogonality` therefore asks the abstract's question
directly: at every fixed value of one orientation, does the other orientation trace a circle
in a subspace orthogonal to the first one's coding plane? On a standard torus the tube
circle contains the ring's radial direction (angle 0); on a Clifford torus it lies in the
orthogonal plane (90°).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import subspace_angles

from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.pca import pca as principal_components
from wmgeom.validation import check_array

CLIFFORD_THRESHOLDS = {
    "min_principal_angle_deg": 60.0,
    "min_radius_ratio": 0.5,
    "min_circularity": 0.5,
    "min_fourth_dim_variance": 0.1,
}
"""Thresholds of the Clifford verdict in :func:`torus_geometry` (documented choices)."""


def _check_states(states, *angles) -> np.ndarray:
    """``states`` as a finite ``[points, units]`` array with one finite orientation per row,
    at least 6 points and 2 units (a coding plane needs two).

    Raises:
        ArgumentError: Naming the argument.
    """
    X = check_array(states, "states", ndim=2, min_rows=6, min_columns=2)
    for name, a in zip(("theta1_deg", "theta2_deg"), angles, strict=False):
        a = check_array(a, name, ndim=1, min_rows=0)
        if a.shape != (X.shape[0],):
            raise ArgumentError(
                f"{name}: need one orientation per state: states have {X.shape[0]} rows, "
                f"{name} has shape {a.shape}"
            )
    return X


def orientation_design(theta1_deg, theta2_deg) -> np.ndarray:
    """Design matrix ``[1, cos 2θ1, sin 2θ1, cos 2θ2, sin 2θ2]`` (orientations in degrees)."""
    r1 = np.deg2rad(2.0 * np.asarray(theta1_deg, dtype=float))
    r2 = np.deg2rad(2.0 * np.asarray(theta2_deg, dtype=float))
    return np.stack([np.ones_like(r1), np.cos(r1), np.sin(r1), np.cos(r2), np.sin(r2)], axis=1)


def coding_planes(states, theta1_deg, theta2_deg) -> dict[str, np.ndarray]:
    """Least-squares coding planes of θ1 and θ2.

    Args:
        states: ``[n_points, n_units]``.
        theta1_deg, theta2_deg: ``[n_points]`` orientations in degrees.

    Returns:
        dict with ``plane1`` and ``plane2`` (``[2, n_units]`` coefficients of cos/sin 2θ),
        ``offset`` (``[n_units]``) and ``r2`` (fraction of the states' variance the linear
        model explains).
    """
    X = _check_states(states, theta1_deg, theta2_deg)
    D = orientation_design(theta1_deg, theta2_deg)
    beta, *_ = np.linalg.lstsq(D, X, rcond=None)
    resid = X - D @ beta
    total = ((X - X.mean(axis=0)) ** 2).sum()
    r2 = 1.0 - (resid**2).sum() / total if total > 0 else 0.0
    return {"plane1": beta[1:3], "plane2": beta[3:5], "offset": beta[0], "r2": np.float64(r2)}


def principal_angles_deg(A, B) -> np.ndarray:
    """Principal angles (degrees, ascending) between the row spaces of ``A`` and ``B``."""
    return np.sort(np.rad2deg(subspace_angles(np.asarray(A).T, np.asarray(B).T)))


def pca(states, n_components: int | None = None) -> dict[str, np.ndarray]:
    """Principal component analysis of centred states (SVD).

    Returns:
        dict with ``scores`` ``[n_points, k]``, ``components`` ``[k, n_units]``,
        ``explained_variance_ratio`` ``[k]`` and ``mean``.
    """
    fit = principal_components(np.asarray(states, dtype=float), n_components)
    return {
        "scores": fit.transform(states),
        "components": fit.components,
        "explained_variance_ratio": fit.explained_variance_ratio,
        "mean": fit.mean,
    }


def torus_geometry(
    states, theta1_deg, theta2_deg, thresholds: dict[str, float] | None = None
) -> dict[str, Any]:
    """Clifford-versus-standard-torus test on states indexed by two orientations.

    Args:
        states: ``[n_points, n_units]``, ideally noise-free states on a θ1 × θ2 grid.
        theta1_deg, theta2_deg: ``[n_points]``.
        thresholds: overrides of :data:`CLIFFORD_THRESHOLDS`.

    Returns:
        dict of floats: ``principal_angle1_deg``, ``principal_angle2_deg``, ``radius1``,
        ``radius2``, ``radius_ratio``, ``circularity1``, ``circularity2``, ``linear_r2``,
        ``var3``, ``var4``, ``clifford_index`` (``linear_r2 × radius_ratio × smaller
        circularity × sin(smallest principal angle)``, in [0, 1]) and the verdict
        ``clifford`` (bool): all of min principal angle ≥ 60°, radius ratio ≥ 0.5, both
        circularities ≥ 0.5 and ``var4 − var3`` ≥ 0.1.
    """
    th = {**CLIFFORD_THRESHOLDS, **(thresholds or {})}
    states = _check_states(states, theta1_deg, theta2_deg)
    planes = coding_planes(states, theta1_deg, theta2_deg)
    s1 = np.linalg.svd(planes["plane1"], compute_uv=False)
    s2 = np.linalg.svd(planes["plane2"], compute_uv=False)
    rad1, rad2 = float(np.sqrt(np.mean(s1**2))), float(np.sqrt(np.mean(s2**2)))
    angles = principal_angles_deg(planes["plane1"], planes["plane2"])
    evr = pca(states, n_components=5)["explained_variance_ratio"]
    cum = np.cumsum(np.pad(evr, (0, max(0, 4 - len(evr)))))
    out = {
        "principal_angle1_deg": float(angles[0]),
        "principal_angle2_deg": float(angles[-1]),
        "radius1": rad1,
        "radius2": rad2,
        "radius_ratio": min(rad1, rad2) / max(rad1, rad2) if max(rad1, rad2) > 0 else 0.0,
        "circularity1": float(s1[1] / s1[0]) if s1[0] > 0 else 0.0,
        "circularity2": float(s2[1] / s2[0]) if s2[0] > 0 else 0.0,
        "linear_r2": float(planes["r2"]),
        "var3": float(cum[2]),
        "var4": float(cum[3]),
    }
    out["clifford_index"] = float(
        max(out["linear_r2"], 0.0) * out["radius_ratio"]
        * min(out["circularity1"], out["circularity2"])
        * np.sin(np.deg2rad(out["principal_angle1_deg"])))
    out["clifford"] = bool(
        out["principal_angle1_deg"] >= th["min_principal_angle_deg"]
        and out["radius_ratio"] >= th["min_radius_ratio"]
        and min(out["circularity1"], out["circularity2"]) >= th["min_circularity"]
        and out["var4"] - out["var3"] >= th["min_fourth_dim_variance"]
    )
    return out


def conditional_orthogonality(states, theta1_deg, theta2_deg, min_points: int = 4
                              ) -> dict[str, float]:
    """Is each orientation's circle, at every fixed value of the other, orthogonal to the
    other orientation's coding plane? (Cueva et al. 2021: "keeps them in orthogonal
    subspaces ... whereas a standard torus does not".)

    For item ``k`` and every value ``v`` of the other item that occurs at least
    ``min_points`` times (a grid column), the states with the other item at ``v`` are
    regressed on ``[1, cos 2θk, sin 2θk]``: the fit's 2 × N coefficients span the item's
    *conditional circle* and its ``r²`` says how much of those states' variance the circle
    explains. Its smallest principal angle with the other item's (global) coding plane of
    :func:`coding_planes` measures orthogonality.

    Args:
        states: ``[n_points, n_units]``, states on a θ1 × θ2 grid.
        theta1_deg, theta2_deg: ``[n_points]``.
        min_points: Fewest states per value of the other item (the fit has 3 parameters).

    Returns:
        dict of floats, per item ``k`` (1, 2): ``conditional_angle{k}_deg`` (mean smallest
        principal angle between item k's conditional circles and the other item's coding
        plane, degrees) and ``orthogonal_coding{k}`` (mean of ``r² × sin(angle)`` over the
        circles: near 1 when item k traces a full circle orthogonal to the other item's
        plane, near 0 for a tube circle that shares the ring's radial direction, or for
        circles fitted to shuffled labels); and ``conditional_angle_deg`` and
        ``orthogonal_coding``, the smaller over the two items. NaN where no value of the
        other item has ``min_points`` states.
    """
    X = _check_states(states, theta1_deg, theta2_deg)
    thetas = (np.asarray(theta1_deg, float), np.asarray(theta2_deg, float))
    planes = coding_planes(X, *thetas)
    out: dict[str, float] = {}
    for k in (1, 2):
        item, other = thetas[k - 1], thetas[2 - k]
        other_plane = planes[f"plane{3 - k}"]
        angles, coding = [], []
        for v in np.unique(other):
            sel = other == v
            if sel.sum() < min_points:
                continue
            Y = X[sel]
            r = np.deg2rad(2.0 * item[sel])
            D = np.stack([np.ones_like(r), np.cos(r), np.sin(r)], axis=1)
            beta, *_ = np.linalg.lstsq(D, Y, rcond=None)
            total = ((Y - Y.mean(axis=0)) ** 2).sum()
            r2 = 1.0 - ((Y - D @ beta) ** 2).sum() / total if total > 0 else 0.0
            a = principal_angles_deg(beta[1:3], other_plane)
            if not len(a):  # a plane without variance: no circle, no angle
                coding.append(0.0)
                continue
            angles.append(a[0])
            coding.append(max(r2, 0.0) * np.sin(np.deg2rad(a[0])))
        out[f"conditional_angle{k}_deg"] = float(np.mean(angles)) if angles else float("nan")
        out[f"orthogonal_coding{k}"] = float(np.mean(coding)) if coding else float("nan")
    out["conditional_angle_deg"] = float(np.min([out["conditional_angle1_deg"],
                                                 out["conditional_angle2_deg"]]))
    out["orthogonal_coding"] = float(np.min([out["orthogonal_coding1"],
                                             out["orthogonal_coding2"]]))
    return out


def grid_states(model, task, n_grid: int = 16, epoch: str = "delay2", offset: int = -1):
    """Noise-free states of ``model`` on an ``n_grid × n_grid`` grid of (θ1, θ2).

    Runs every pair once with the longest delays, no input noise and no rate noise, and
    takes the rates at one time step: ``offset`` steps from the start of ``epoch`` (negative
    offsets count back from its end; the default is the last step of delay 2, when both
    orientations are held).

    Args:
        model: a network with ``forward(inputs, noise=False) -> (outputs, rates)``.
        task: a :class:`~wmgeom.tasks.orientation.TwoOrientationTask`.
        n_grid: orientations per item.
        epoch: epoch name (see :data:`~wmgeom.tasks.orientation.EPOCHS`).
        offset: step within the epoch.

    Returns:
        ``(states [n_grid², n_units], theta1 [n_grid²], theta2 [n_grid²], time_step)``.
    """
    import torch

    t1, t2 = task.grid(n_grid)
    batch = task.sample(
        len(t1), np.random.default_rng(0), t1, t2, fixed_delays=True, input_noise=False
    )
    if epoch not in batch.epoch_start:
        raise WmgeomError(f"unknown epoch {epoch!r}; choose one of {list(batch.epoch_start)}")
    t = int((batch.epoch_start[epoch] if offset >= 0 else batch.epoch_stop[epoch])[0] + offset)
    device = next(model.parameters()).device
    with torch.no_grad():
        _, rates = model(torch.as_tensor(batch.inputs, device=device), noise=False)
    return rates[:, t].cpu().numpy().astype(float), t1, t2, t
