"""Dynamic coding of the first orientation (Cueva et al. 2021, "dynamic code").

Cueva et al. 2021 report that, besides persistent activity, units *change their tuning* to θ1 when
θ2 arrives, so that the new input, entering through the same connections, does not
overwrite the stored one. Two measures (definitions ours, ``docs/orientation.md``):

- :func:`tuning_change`: for each unit, its θ1 tuning curve (mean rate in orientation
  bins) late in delay 1 and late in delay 2; their Pearson correlation and the shift of the
  unit's preferred orientation (cosine fit in 2θ). A unit *changes tuning* when it is tuned
  at either time (cosine-fit ``r2 >= min_r2``) and the correlation is below
  ``max_corr`` (default 0.5).
- :func:`cross_temporal_decoding`: ridge regression from the states at one time to
  ``cos 2θ, sin 2θ``, fit on training folds and tested at every other time on held-out
  trials; the decoded angle's mean absolute error in degrees (chance: 45°). A stable code
  generalises off the diagonal, a dynamic code does not.
- :func:`locked_code_change`: how much more the code changes across an event (the second
  stimulus) than it drifts over the same lag inside a delay. A network whose code drifts
  steadily (an untrained, randomly rotating one) changes as much in a delay as across the
  stimulus; a code that is stable in the delays and changes when θ2 arrives does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis.connectivity import orientation_tuning
from wmgeom.errors import WmgeomError
from wmgeom.tasks.orientation import decode_orientation, wrap_orientation


def tuning_curves(rates, theta_deg, n_bins: int = 8) -> np.ndarray:
    """Mean rate per orientation bin: ``[n_bins, n_units]`` (bins over ``[0, 180)``)."""
    R = np.asarray(rates, dtype=float)
    b = np.floor((np.asarray(theta_deg, dtype=float) % 180.0) / (180.0 / n_bins)).astype(int)
    b = np.clip(b, 0, n_bins - 1)
    onehot = np.eye(n_bins)[b]  # [trials, bins]
    count = onehot.sum(axis=0)
    if np.any(count == 0):
        raise WmgeomError(
            f"some of the {n_bins} orientation bins hold no trial; use more trials or fewer bins"
        )
    return (onehot.T @ R) / count[:, None]


def _rowwise_corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    den = np.sqrt((A**2).sum(axis=0) * (B**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, (A * B).sum(axis=0) / np.where(den > 0, den, 1), np.nan)


def tuning_change(
    rates_early,
    rates_late,
    theta_deg,
    n_bins: int = 8,
    min_r2: float = 0.1,
    max_corr: float = 0.5,
) -> pd.DataFrame:
    """Per unit: does its tuning to one orientation change between two times?

    Args:
        rates_early: ``[n_trials, n_units]`` e.g. late in delay 1.
        rates_late: ``[n_trials, n_units]`` e.g. late in delay 2.
        theta_deg: ``[n_trials]`` the orientation (θ1).
        n_bins: orientation bins of the tuning curves.
        min_r2: a unit is *tuned* at a time when its cosine fit explains this much variance.
        max_corr: tuning curves correlated below this count as *changed*.

    Returns:
        DataFrame per unit: ``corr``, ``preferred_early_deg``, ``preferred_late_deg``,
        ``shift_deg`` (late − early, wrapped to ±90°), ``r2_early``, ``r2_late``, ``tuned``
        and ``changed``.
    """
    early, late = np.asarray(rates_early, float), np.asarray(rates_late, float)
    if early.shape != late.shape:
        raise WmgeomError(
            f"rates at the two times must have the same shape, got {early.shape} and {late.shape}"
        )
    c = _rowwise_corr(
        tuning_curves(early, theta_deg, n_bins), tuning_curves(late, theta_deg, n_bins)
    )
    te, tl = orientation_tuning(early, theta_deg), orientation_tuning(late, theta_deg)
    tuned = (te["r2"] >= min_r2) | (tl["r2"] >= min_r2)
    return pd.DataFrame(
        {
            "corr": c,
            "preferred_early_deg": te["preferred_deg"],
            "preferred_late_deg": tl["preferred_deg"],
            "shift_deg": wrap_orientation(tl["preferred_deg"] - te["preferred_deg"]),
            "r2_early": te["r2"],
            "r2_late": tl["r2"],
            "tuned": tuned,
            "changed": tuned & ~(np.nan_to_num(c, nan=-1.0) >= max_corr),
        }
    ).rename_axis("unit")


def fraction_changed(table: pd.DataFrame) -> float:
    """Fraction of tuned units whose tuning changed (NaN if no unit is tuned)."""
    tuned = table["tuned"].to_numpy()
    return float(table["changed"].to_numpy()[tuned].mean()) if tuned.any() else float("nan")


def cross_temporal_decoding(
    rates, theta_deg, alpha: float = 1.0, n_folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Cross-temporal decoding error of an orientation (degrees, chance 45°).

    Ridge regression (closed form, solved for every training time at once) from the states
    at time ``s`` to ``cos 2θ, sin 2θ``; the decoded angle ``atan2(sin, cos) / 2`` is scored
    on the held-out trials of each fold at every time ``t``.

    Args:
        rates: ``[n_trials, n_times, n_units]``, time-aligned trials.
        theta_deg: ``[n_trials]``.
        alpha: ridge penalty (on standardised units).
        n_folds: cross-validation folds over trials.
        seed: fold assignment.

    Returns:
        ``[n_times (train), n_times (test)]`` mean absolute decoding error in degrees.
    """
    R = np.asarray(rates, dtype=float)
    theta = np.asarray(theta_deg, dtype=float)
    if R.ndim != 3 or theta.shape != (R.shape[0],):
        raise WmgeomError(
            f"rates must be [trials, times, units] with one orientation per trial; got "
            f"{R.shape} and {theta.shape}"
        )
    n, T, N = R.shape
    if n < 2 * n_folds:
        raise WmgeomError(
            f"need at least {2 * n_folds} trials for {n_folds}-fold decoding, got {n}"
        )
    rad = np.deg2rad(2.0 * theta)
    Y = np.stack([np.cos(rad), np.sin(rad)], axis=1)
    fold = np.random.default_rng(seed).permutation(n) % n_folds
    err = np.zeros((T, T))
    for k in range(n_folds):  # loop over folds only; times are batched
        tr, te = fold != k, fold == k
        Xtr = R[tr].transpose(1, 0, 2)  # [T, n_tr, N]
        mu, sd = Xtr.mean(axis=1, keepdims=True), Xtr.std(axis=1, keepdims=True) + 1e-6
        Z = (Xtr - mu) / sd
        Ym = Y[tr].mean(axis=0)
        G = Z.transpose(0, 2, 1) @ Z + alpha * np.eye(N)  # [T, N, N]
        Wt = np.linalg.solve(G, Z.transpose(0, 2, 1) @ (Y[tr] - Ym))  # [T, N, 2]
        # Fold the standardisation into the weights: pred = X @ (W / sd) - (mu / sd) @ W.
        Weff = Wt / sd.transpose(0, 2, 1)  # [T, N, 2]
        bias = Ym - np.einsum("sn,snk->sk", mu[:, 0], Weff)  # [T, 2]
        pred = np.einsum("itn,snk->sitk", R[te], Weff) + bias[:, None, None, :]
        dec = decode_orientation(pred[..., 0], pred[..., 1])
        e = np.abs(wrap_orientation(dec - theta[te][None, :, None]))
        err += e.sum(axis=1)
    return err / n


def locked_code_change(ctd, before: int, after: int, end: int) -> dict[str, float]:
    """Code change across an event beyond the drift over the same lag inside a delay.

    Args:
        ctd: ``[train time, test time]`` decoding errors of :func:`cross_temporal_decoding`.
        before: The last step before the event (the end of delay 1).
        after: The first step after it (the start of delay 2).
        end: The last step of the delay after it (the end of delay 2).

    Returns:
        dict of degrees: ``across`` = ``ctd[before, after] − ctd[after, after]`` (what a
        decoder fitted before the event loses after it, beyond a decoder fitted there);
        ``within`` = ``ctd[start, end] − ctd[end, end]`` with ``start = max(end − (after −
        before), after)`` (the same loss over the same lag inside the delay, or over the
        whole delay when it is shorter than the lag); ``locked`` = ``across − within``.

    Raises:
        WmgeomError: If the steps are not ordered ``before < after <= end`` inside ``ctd``.
    """
    E = np.asarray(ctd, float)
    if not (0 <= before < after <= end < E.shape[0]) or E.shape[0] != E.shape[1]:
        raise WmgeomError(f"need steps before < after <= end inside a square decoding matrix; "
                          f"got {before}, {after}, {end} and a matrix of shape {E.shape}")
    start = max(end - (after - before), after)
    across = float(E[before, after] - E[after, after])
    within = float(E[start, end] - E[end, end])
    return {"across": across, "within": within, "locked": across - within}
