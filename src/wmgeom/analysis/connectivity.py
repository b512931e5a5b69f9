"""Connectivity sorted by preferred orientation (Cueva et al. 2021, "ring-like connectivity").

Units are tuned to orientations through a cosine fit in 2θ (:func:`orientation_tuning`).
Each unit is assigned to the item it encodes more strongly — a ``theta1`` or a ``theta2``
unit — or left ``untuned`` when neither fit explains at least ``min_r2`` of its variance
(:func:`group_units`). The recurrent weights are then averaged as a function of the
difference in preferred orientation between post- and pre-synaptic unit, per pair of
groups (:func:`connectivity_profile`). A ring attractor shows *local excitation and global
inhibition*: positive mean weight near Δ = 0, negative far from it
(:func:`ring_summary`).

Weight convention: ``W[i, j]`` is the connection from unit ``j`` (pre) to unit ``i``
(post), as in ``torch.nn.Linear``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.tasks.orientation import wrap_orientation

GROUPS = ("theta1", "theta2", "untuned")


def orientation_tuning(rates, theta_deg) -> dict[str, np.ndarray]:
    """Cosine tuning of each unit to an orientation: ``r ≈ c + a cos 2θ + b sin 2θ``.

    Args:
        rates: ``[n_trials, n_units]`` (one time step).
        theta_deg: ``[n_trials]``.

    Returns:
        dict of ``[n_units]`` arrays: ``preferred_deg`` in ``[0, 180)``, ``amplitude``
        (``sqrt(a² + b²)``), ``r2`` (variance explained; 0 for silent units) and ``baseline``.
    """
    R = np.asarray(rates, dtype=float)
    theta = np.asarray(theta_deg, dtype=float)
    if R.ndim != 2 or theta.shape != (R.shape[0],):
        raise WmgeomError(
            f"rates must be [trials, units] with one orientation per trial; got rates "
            f"{R.shape} and orientations {theta.shape}"
        )
    rad = np.deg2rad(2.0 * theta)
    D = np.stack([np.ones_like(rad), np.cos(rad), np.sin(rad)], axis=1)
    beta, *_ = np.linalg.lstsq(D, R, rcond=None)
    resid = ((R - D @ beta) ** 2).sum(axis=0)
    total = ((R - R.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(total > 1e-12, 1.0 - resid / np.where(total > 0, total, 1.0), 0.0)
    return {
        "preferred_deg": (np.rad2deg(np.arctan2(beta[2], beta[1])) / 2.0) % 180.0,
        "amplitude": np.hypot(beta[1], beta[2]),
        "r2": r2,
        "baseline": beta[0],
    }


def group_units(rates, theta1_deg, theta2_deg, min_r2: float = 0.1) -> pd.DataFrame:
    """Assign each unit to the orientation it encodes more strongly.

    Args:
        rates: ``[n_trials, n_units]`` at a time when both items are held (end of delay 2).
        theta1_deg, theta2_deg: ``[n_trials]``.
        min_r2: minimum variance explained by the better cosine fit to count as tuned.

    Returns:
        DataFrame indexed by unit with ``group`` (``theta1``, ``theta2`` or ``untuned``),
        ``preferred_deg`` (for its group's item), ``r2_theta1``, ``r2_theta2``,
        ``preferred_theta1_deg``, ``preferred_theta2_deg``.
    """
    t1 = orientation_tuning(rates, theta1_deg)
    t2 = orientation_tuning(rates, theta2_deg)
    best1 = t1["r2"] >= t2["r2"]
    group = np.where(best1, "theta1", "theta2")
    group = np.where(np.maximum(t1["r2"], t2["r2"]) >= min_r2, group, "untuned")
    return pd.DataFrame(
        {
            "group": group,
            "preferred_deg": np.where(best1, t1["preferred_deg"], t2["preferred_deg"]),
            "r2_theta1": t1["r2"],
            "r2_theta2": t2["r2"],
            "preferred_theta1_deg": t1["preferred_deg"],
            "preferred_theta2_deg": t2["preferred_deg"],
        }
    ).rename_axis("unit")


def sort_units(groups: pd.DataFrame) -> np.ndarray:
    """Unit order for plotting: by group (θ1, θ2, untuned), then preferred orientation."""
    g = groups["group"].map({name: i for i, name in enumerate(GROUPS)}).to_numpy()
    return np.lexsort((groups["preferred_deg"].to_numpy(), g))


def connectivity_profile(W, groups: pd.DataFrame, n_bins: int = 12) -> pd.DataFrame:
    """Mean recurrent weight versus difference in preferred orientation.

    Args:
        W: ``[n_units, n_units]`` recurrent weights, ``W[post, pre]``.
        groups: output of :func:`group_units`.
        n_bins: bins of ``Δ = wrap(pref_post − pref_pre)`` over ``[-90, 90)``.

    Returns:
        Long DataFrame with ``post_group``, ``pre_group``, ``delta_deg`` (bin centre),
        ``mean_weight``, ``sem`` and ``n_pairs`` for every pair of tuned groups; self
        connections are excluded.
    """
    W = np.asarray(W, dtype=float)
    n = len(groups)
    if W.shape != (n, n):
        raise WmgeomError(f"W has shape {W.shape} but there are {n} grouped units")
    pref = groups["preferred_deg"].to_numpy()
    delta = wrap_orientation(pref[:, None] - pref[None, :])
    edges = np.linspace(-90.0, 90.0, n_bins + 1)
    bins = np.clip(np.digitize(delta, edges) - 1, 0, n_bins - 1)
    centers = (edges[:-1] + edges[1:]) / 2
    g = groups["group"].to_numpy()
    offdiag = ~np.eye(n, dtype=bool)
    rows = []
    for post in GROUPS[:2]:
        for pre in GROUPS[:2]:
            sel = (g[:, None] == post) & (g[None, :] == pre) & offdiag
            b, w = bins[sel], W[sel]
            count = np.bincount(b, minlength=n_bins)
            total = np.bincount(b, weights=w, minlength=n_bins)
            sq = np.bincount(b, weights=w * w, minlength=n_bins)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
                var = sq / count - mean**2
                sem = np.sqrt(np.maximum(var, 0) / np.maximum(count - 1, 1))
            rows.append(
                pd.DataFrame(
                    {
                        "post_group": post,
                        "pre_group": pre,
                        "delta_deg": centers,
                        "mean_weight": mean,
                        "sem": sem,
                        "n_pairs": count,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def ring_summary(profile: pd.DataFrame, near_deg: float = 22.5, far_deg: float = 45.0):
    """Local excitation / global inhibition per pair of groups.

    Returns:
        DataFrame with ``post_group``, ``pre_group``, ``near_weight`` (mean weight over bins
        with ``|Δ| < near_deg``), ``far_weight`` (bins with ``|Δ| >= far_deg``),
        ``contrast`` (near − far), ``ring_like`` (near > 0 > far), ``weight_sd`` (standard
        deviation of all the pair's weights, pooled over the bins) and
        ``normalized_contrast`` (contrast / weight_sd: comparable across networks whose
        weights differ in scale, e.g. trained and untrained).
    """
    out = []
    for (post, pre), df in profile.groupby(["post_group", "pre_group"], sort=False):
        ok = df["n_pairs"] > 0
        near = df[ok & (df["delta_deg"].abs() < near_deg)]
        far = df[ok & (df["delta_deg"].abs() >= far_deg)]
        nw = np.average(near["mean_weight"], weights=near["n_pairs"]) if len(near) else np.nan
        fw = np.average(far["mean_weight"], weights=far["n_pairs"]) if len(far) else np.nan
        sd = _pooled_sd(df[ok])
        out.append(
            {
                "post_group": post,
                "pre_group": pre,
                "near_weight": nw,
                "far_weight": fw,
                "contrast": nw - fw,
                "ring_like": bool(nw > 0 > fw),
                "weight_sd": sd,
                "normalized_contrast": (nw - fw) / sd if sd > 0 else np.nan,
            }
        )
    return pd.DataFrame(out)


def _pooled_sd(bins: pd.DataFrame) -> float:
    """Standard deviation of the weights of every bin together, from each bin's mean,
    standard error and count (:func:`connectivity_profile`)."""
    n = bins["n_pairs"].to_numpy(float)
    if n.sum() == 0:
        return float("nan")
    m = bins["mean_weight"].to_numpy(float)
    var = bins["sem"].to_numpy(float) ** 2 * np.maximum(n - 1, 1)  # each bin's variance
    grand = np.average(m, weights=n)
    return float(np.sqrt(np.average(var + (m - grand) ** 2, weights=n)))
