"""Connectivity profiles of a planted ring network."""

import numpy as np
import pandas as pd
import pytest

from wmgeom.analysis.connectivity import (
    connectivity_profile,
    group_units,
    orientation_tuning,
    ring_summary,
    sort_units,
)
from wmgeom.errors import WmgeomError

RNG = np.random.default_rng(0)


def _population(n_trials=400, n1=30, n2=30, n_untuned=10):
    """Units tuned to θ1 (cosine in 2θ), units tuned to θ2, and untuned noise units."""
    t1, t2 = RNG.uniform(0, 180, (2, n_trials))
    p1, p2 = RNG.uniform(0, 180, n1), RNG.uniform(0, 180, n2)
    r1 = 1 + np.cos(np.deg2rad(2 * (t1[:, None] - p1)))
    r2 = 1 + np.cos(np.deg2rad(2 * (t2[:, None] - p2)))
    rates = np.c_[r1, r2, np.zeros((n_trials, n_untuned))]
    rates = rates + 0.1 * RNG.standard_normal(rates.shape)
    return rates, t1, t2, np.r_[p1, p2]


def test_tuning_recovers_preferred_orientation():
    rates, t1, _, pref = _population()
    tun = orientation_tuning(rates[:, :30], t1)
    err = (tun["preferred_deg"] - pref[:30] + 90) % 180 - 90
    assert np.abs(err).max() < 3
    assert np.all(tun["r2"] > 0.8)


def test_groups_and_sorting():
    rates, t1, t2, _ = _population()
    g = group_units(rates, t1, t2)
    assert (g["group"].iloc[:30] == "theta1").all()
    assert (g["group"].iloc[30:60] == "theta2").all()
    assert (g["group"].iloc[60:] == "untuned").all()
    order = sort_units(g)
    sg = g.iloc[order]
    assert list(pd.unique(sg["group"])) == ["theta1", "theta2", "untuned"]
    assert np.all(np.diff(sg[sg["group"] == "theta1"]["preferred_deg"]) >= 0)


def test_planted_ring_connectivity_gives_local_excitation_global_inhibition():
    rates, t1, t2, pref = _population()
    g = group_units(rates, t1, t2)
    n = len(g)
    p = g["preferred_deg"].to_numpy()
    same = g["group"].to_numpy()[:, None] == g["group"].to_numpy()[None, :]
    ring = -0.2 + 1.0 * np.cos(np.deg2rad(2 * (p[:, None] - p[None, :])))
    W = np.where(same, ring, 0.0) + 0.05 * RNG.standard_normal((n, n))
    prof = connectivity_profile(W, g, n_bins=12)
    s = ring_summary(prof).set_index(["post_group", "pre_group"])
    for grp in ("theta1", "theta2"):
        assert s.loc[(grp, grp), "ring_like"]
        assert s.loc[(grp, grp), "contrast"] > 1.0
    assert not s.loc[("theta1", "theta2"), "ring_like"]
    assert abs(s.loc[("theta1", "theta2"), "contrast"]) < 0.2
    within = prof[(prof.post_group == "theta1") & (prof.pre_group == "theta1")]
    peak = within.loc[within["mean_weight"].idxmax(), "delta_deg"]
    assert abs(peak) < 16


def test_user_errors():
    with pytest.raises(WmgeomError, match="one orientation per trial"):
        orientation_tuning(np.zeros((5, 3)), np.zeros(4))
    rates, t1, t2, _ = _population(n_trials=50)
    g = group_units(rates, t1, t2)
    with pytest.raises(WmgeomError, match="grouped units"):
        connectivity_profile(np.zeros((3, 3)), g)


def _ring_network(ring_gain=1.0, seed=1):
    rates, t1, t2, _ = _population()
    g = group_units(rates, t1, t2)
    rng = np.random.default_rng(seed)
    n = len(g)
    p = g["preferred_deg"].to_numpy()
    same = g["group"].to_numpy()[:, None] == g["group"].to_numpy()[None, :]
    ring = ring_gain * (-0.2 + np.cos(np.deg2rad(2 * (p[:, None] - p[None, :]))))
    W = np.where(same, ring, 0.0) + 0.3 * rng.standard_normal((n, n))
    return rates, t1, t2, g, W


def test_normalized_contrast_planted_ring_vs_random_weights():
    _, _, _, g, W = _ring_network()
    s = ring_summary(connectivity_profile(W, g)).set_index(["post_group", "pre_group"])
    for grp in ("theta1", "theta2"):
        assert s.loc[(grp, grp), "normalized_contrast"] > 1.0
    _, _, _, g, W = _ring_network(ring_gain=0.0)  # random weights, no ring
    s = ring_summary(connectivity_profile(W, g)).set_index(["post_group", "pre_group"])
    for grp in ("theta1", "theta2"):
        assert abs(s.loc[(grp, grp), "normalized_contrast"]) < 0.25


def test_weight_sd_is_the_pooled_standard_deviation():
    _, _, _, g, W = _ring_network()
    s = ring_summary(connectivity_profile(W, g)).set_index(["post_group", "pre_group"])
    sel = g["group"].to_numpy() == "theta1"
    block = W[np.ix_(sel, sel)][~np.eye(sel.sum(), dtype=bool)]
    assert s.loc[("theta1", "theta1"), "weight_sd"] == pytest.approx(block.std())


def test_shuffled_orientations_leave_no_tuned_units_and_no_ring():
    rates, t1, t2, g, W = _ring_network()
    p = RNG.permutation(len(t1))
    shuffled = group_units(rates, t1[p], t2[p])
    assert (shuffled["group"] == "untuned").all()
    s = ring_summary(connectivity_profile(W, shuffled))
    assert s["contrast"].isna().all() and s["normalized_contrast"].isna().all()
    assert not s["ring_like"].any()
