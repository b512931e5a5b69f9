"""Behaviour of two-orientation reports across training conditions (Cueva et al. 2021).

Cueva et al. 2021 compare RNNs trained under different conditions (neural noise, an ordinal output)
with human observers who report two remembered orientations. Our measures (definitions in
``docs/orientation.md``):

- report errors ``wrap(θ̂ − θ)`` in ``[-90, 90)`` per item, their distribution and summary
  (:func:`error_summary`);
- the bias of each report as a function of ``Δ = wrap(θ2 − θ1)`` (:func:`bias_curve`) and a
  *repulsion index* per item (:func:`repulsion_index`): the mean error pointing away from
  the other item, ``−err1 · sign(Δ)`` for item 1 and ``+err2 · sign(Δ)`` for item 2, over
  trials with ``|Δ| <= max_abs_diff``; positive = repulsion, negative = attraction;
- the correlation of the two items' errors;
- ordinal accuracy: how often the sign of the reported difference (or of the ordinal
  output) matches ``sign(Δ)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.tasks.orientation import decode_orientation, wrap_orientation


def reports_from_outputs(outputs) -> tuple[np.ndarray, np.ndarray]:
    """Reported orientations (degrees) from outputs ``[..., ≥4]`` = cos/sin 2θ1, cos/sin 2θ2."""
    o = np.asarray(outputs, dtype=float)
    if o.shape[-1] < 4:
        raise WmgeomError(f"need 4 report outputs (cos/sin 2θ per item), got {o.shape[-1]}")
    return decode_orientation(o[..., 0], o[..., 1]), decode_orientation(o[..., 2], o[..., 3])


def report_errors(theta_true, theta_reported) -> np.ndarray:
    """Signed report error in degrees, wrapped to ``[-90, 90)``."""
    return wrap_orientation(np.asarray(theta_reported, float) - np.asarray(theta_true, float))


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1.0, -1.0)


def repulsion_index(theta1, theta2, err1, err2, max_abs_diff: float = 90.0) -> dict[str, float]:
    """Mean error away from the other item (degrees): > 0 repulsion, < 0 attraction."""
    delta = wrap_orientation(np.asarray(theta2, float) - np.asarray(theta1, float))
    sel = (np.abs(delta) <= max_abs_diff) & (delta != 0)
    if not sel.any():
        raise WmgeomError(f"no trial has 0 < |θ2 − θ1| <= {max_abs_diff}°; widen max_abs_diff")
    s = _sign(delta[sel])
    return {
        "repulsion1_deg": float(np.mean(-np.asarray(err1)[sel] * s)),
        "repulsion2_deg": float(np.mean(np.asarray(err2)[sel] * s)),
    }


def bias_curve(theta1, theta2, err1, err2, n_bins: int = 12) -> pd.DataFrame:
    """Mean signed error of each item per bin of ``Δ = wrap(θ2 − θ1)``.

    Returns:
        DataFrame with ``delta_deg`` (bin centre), ``bias1_deg``, ``bias2_deg``, ``sem1_deg``,
        ``sem2_deg`` and ``n``.
    """
    delta = wrap_orientation(np.asarray(theta2, float) - np.asarray(theta1, float))
    edges = np.linspace(-90, 90, n_bins + 1)
    b = np.clip(np.digitize(delta, edges) - 1, 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins)
    out = {"delta_deg": (edges[:-1] + edges[1:]) / 2, "n": n}
    for k, e in ((1, np.asarray(err1, float)), (2, np.asarray(err2, float))):
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.bincount(b, weights=e, minlength=n_bins) / n
            v = np.bincount(b, weights=e * e, minlength=n_bins) / n - m**2
            out[f"bias{k}_deg"] = m
            out[f"sem{k}_deg"] = np.sqrt(np.maximum(v, 0) / np.maximum(n - 1, 1))
    return pd.DataFrame(out)


def ordinal_accuracy(theta1, theta2, reported1=None, reported2=None, ordinal_output=None):
    """Fraction of trials whose ordinal relation ``sign(wrap(θ2 − θ1))`` is reported right.

    Uses the ordinal output's sign when given, else the sign of the reported difference.
    """
    true = _sign(wrap_orientation(np.asarray(theta2, float) - np.asarray(theta1, float)))
    if ordinal_output is not None:
        guess = _sign(np.asarray(ordinal_output, float))
    elif reported1 is not None and reported2 is not None:
        guess = _sign(wrap_orientation(np.asarray(reported2, float) - np.asarray(reported1, float)))
    else:
        raise WmgeomError("ordinal_accuracy needs the ordinal output or both reported angles")
    return float(np.mean(guess == true))


def error_summary(
    theta1, theta2, reported1, reported2, ordinal_output=None, max_abs_diff: float = 90.0
) -> dict[str, float]:
    """Behavioural summary of one condition.

    Returns:
        dict: ``median_error_deg`` (median absolute error over both items),
        ``mean_abs_error1_deg``, ``mean_abs_error2_deg``, ``sd_error1_deg``,
        ``sd_error2_deg``, ``error_correlation`` (Pearson, err1 vs err2),
        ``repulsion1_deg``, ``repulsion2_deg``, ``ordinal_accuracy_reports`` and, when the
        ordinal output is given, ``ordinal_accuracy_output``.
    """
    e1, e2 = report_errors(theta1, reported1), report_errors(theta2, reported2)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(e1, e2)[0, 1]) if e1.std() > 0 and e2.std() > 0 else np.nan
    out = {
        "median_error_deg": float(np.median(np.abs(np.r_[e1, e2]))),
        "mean_abs_error1_deg": float(np.mean(np.abs(e1))),
        "mean_abs_error2_deg": float(np.mean(np.abs(e2))),
        "sd_error1_deg": float(np.std(e1)),
        "sd_error2_deg": float(np.std(e2)),
        "error_correlation": float(corr),
        **repulsion_index(theta1, theta2, e1, e2, max_abs_diff),
        "ordinal_accuracy_reports": ordinal_accuracy(theta1, theta2, reported1, reported2),
    }
    if ordinal_output is not None:
        out["ordinal_accuracy_output"] = ordinal_accuracy(
            theta1, theta2, ordinal_output=ordinal_output
        )
    return out


def compare_conditions(summaries: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per training condition from :func:`error_summary` outputs."""
    return pd.DataFrame.from_dict(summaries, orient="index").rename_axis("condition")
