"""Dynamic vs stable codes of a planted population."""

import numpy as np
import pytest

from wmgeom.analysis.dynamics import (
    cross_temporal_decoding,
    fraction_changed,
    locked_code_change,
    tuning_change,
    tuning_curves,
)
from wmgeom.errors import WmgeomError

RNG = np.random.default_rng(1)


def _code(theta, pref, gain=1.0):
    return gain * (1 + np.cos(np.deg2rad(2 * (theta[:, None] - pref[None, :]))))


def test_stable_vs_rotating_tuning():
    theta = RNG.uniform(0, 180, 400)
    n = 40
    pref = RNG.uniform(0, 180, n)
    early = _code(theta, pref)
    # First half of the units keep their tuning, second half shift by 60-90 degrees.
    shift = np.r_[np.zeros(n // 2), RNG.uniform(60, 90, n // 2)]
    late = _code(theta, pref + shift)
    early, late = (x + 0.05 * RNG.standard_normal(x.shape) for x in (early, late))
    tab = tuning_change(early, late, theta)
    assert tab["tuned"].all()
    assert not tab["changed"].iloc[: n // 2].any()
    assert tab["changed"].iloc[n // 2 :].all()
    np.testing.assert_allclose(tab["shift_deg"].iloc[n // 2 :], shift[n // 2 :], atol=5)
    assert fraction_changed(tab) == pytest.approx(0.5)


def test_cross_temporal_decoding_stable_vs_dynamic():
    n_trials, T, N = 200, 6, 30
    theta = RNG.uniform(0, 180, n_trials)
    prefs = RNG.uniform(0, 180, N)
    stable = np.repeat(_code(theta, prefs)[:, None, :], T, axis=1)
    # Dynamic: at every time step the code lives in its own block of 5 units.
    dyn = np.zeros((n_trials, T, N))
    for t in range(T):
        dyn[:, t, 5 * t : 5 * t + 5] = _code(theta, prefs[5 * t : 5 * t + 5])
    stable, dyn = (x + 0.1 * RNG.standard_normal(x.shape) for x in (stable, dyn))
    es = cross_temporal_decoding(stable, theta, n_folds=4)
    ed = cross_temporal_decoding(dyn, theta, n_folds=4)
    off = ~np.eye(T, dtype=bool)
    assert es.shape == (T, T)
    assert np.diag(es).max() < 5 and es[off].max() < 5
    assert np.diag(ed).max() < 5
    assert ed[off].min() > 25  # near chance (45°)


def test_user_errors():
    with pytest.raises(WmgeomError, match="orientation bins hold no trial"):
        tuning_curves(np.zeros((3, 2)), np.array([1.0, 2.0, 3.0]), n_bins=8)
    with pytest.raises(WmgeomError, match="same shape"):
        tuning_change(np.zeros((8, 2)), np.zeros((8, 3)), np.arange(8) * 22.5)
    with pytest.raises(WmgeomError, match=r"\[trials, times, units\]"):
        cross_temporal_decoding(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(WmgeomError, match="at least 10 trials"):
        cross_temporal_decoding(np.zeros((6, 2, 3)), np.zeros(6))


def _switching_and_drifting_codes(n_trials=300, T=30, N=40, switch=11):
    """A code that is stable in the delays and switches to new units at ``switch`` (the
    second stimulus), and one that drifts steadily (a slow random rotation at every step)."""
    from scipy.linalg import expm

    theta = RNG.uniform(0, 180, n_trials)
    pa, pb = RNG.uniform(0, 180, (2, N))
    switching = np.stack([_code(theta, pa if t < switch else pb) for t in range(T)], axis=1)
    A = RNG.standard_normal((N, N))
    A = (A - A.T) / 2
    step = expm(0.25 * A / np.abs(np.linalg.eigvals(A)).max())
    x, drifting = _code(theta, pa) - 1, np.zeros((n_trials, T, N))
    for t in range(T):
        drifting[:, t], x = x, x @ step.T
    noisy = (c + 0.1 * RNG.standard_normal(c.shape) for c in (switching, drifting))
    return theta, *noisy


def test_locked_code_change_switch_vs_drift():
    theta, switching, drifting = _switching_and_drifting_codes()
    before, after, end = 9, 15, 29
    s = locked_code_change(cross_temporal_decoding(switching, theta, n_folds=4),
                           before, after, end)
    d = locked_code_change(cross_temporal_decoding(drifting, theta, n_folds=4),
                           before, after, end)
    assert s["across"] > 20 and abs(s["within"]) < 3 and s["locked"] > 20
    assert abs(d["locked"]) < 5  # a steady drift changes as much inside the delay


def test_locked_code_change_arithmetic_and_errors():
    E = np.arange(36, dtype=float).reshape(6, 6)
    out = locked_code_change(E, 1, 3, 5)
    assert out["across"] == E[1, 3] - E[3, 3]
    assert out["within"] == E[3, 5] - E[5, 5]  # lag 2 from the end: step 3
    assert out["locked"] == pytest.approx(out["across"] - out["within"])
    short = locked_code_change(E, 0, 4, 5)  # delay shorter than the lag: from its start
    assert short["within"] == E[4, 5] - E[5, 5]
    with pytest.raises(WmgeomError, match="before < after <= end"):
        locked_code_change(E, 3, 3, 5)
    with pytest.raises(WmgeomError, match="before < after <= end"):
        locked_code_change(E, 1, 3, 6)
