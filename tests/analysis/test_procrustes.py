"""Procrustes alignment of decoder shapes and the swap tests on planted rotations."""

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from wmgeom.analysis.procrustes import (
    procrustes_align,
    procrustes_reconstruct,
    reconstructed_decoder_accuracy,
)
from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError

FAST = {"cv": 4, "inner_cv": 2, "Cs": (0.01, 1.0), "tol": 1e-3, "device": "cpu"}


def test_recovers_planted_rotation_and_scale():
    rng = np.random.default_rng(0)
    D = 4
    source = rng.normal(size=(6, D))  # more vertices than dimensions: R is identifiable
    R = special_ortho_group.rvs(D, random_state=1)
    target = 2.5 * source @ R + rng.normal(size=D)  # rotated, scaled, shifted
    fit = procrustes_align(source, target)
    np.testing.assert_allclose(fit.rotation, R, atol=1e-8)
    assert fit.scale == pytest.approx(1.0)  # both shapes are standardised first
    np.testing.assert_allclose(procrustes_reconstruct(source, fit), target, atol=1e-8)


def test_reconstructs_target_when_fewer_vertices_than_dimensions():
    rng = np.random.default_rng(2)
    source = rng.normal(size=(4, 30))
    R = special_ortho_group.rvs(30, random_state=3)
    target = 0.3 * source @ R - 1.0
    fit = procrustes_align(source, target)
    np.testing.assert_allclose(procrustes_reconstruct(source, fit), target, atol=1e-8)
    # a different shape is not mapped onto the target by this rotation
    other = procrustes_reconstruct(rng.normal(size=(4, 30)), fit)
    assert np.abs(other - target).max() > 0.1


def test_align_errors():
    with pytest.raises(WmgeomError, match="must both be"):
        procrustes_align(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(WmgeomError, match="identical"):
        procrustes_align(np.ones((3, 4)), np.arange(12.0).reshape(3, 4))


def _summary(table):
    return table.groupby("rotation")["accuracy"].mean()


def test_stimulus_shared_rotation_survives_stimulus_swap_only():
    """H2: rotations depend on the memory's age only, shared by all stimuli."""
    ds = synthetic_memory_activations(120, 4, 48, mode="age", seed=0)
    table = reconstructed_decoder_accuracy(ds, **FAST)
    acc = _summary(table)
    assert acc["fitted"] > 0.9 and acc["original"] > 0.85  # a rotation explains each step
    assert acc["stimulus_swap"] > 0.6
    assert acc["time_swap"] < 0.45  # chance is 0.25
    assert acc["stimulus_swap"] > acc["time_swap"] + 0.25
    assert set(table["age"]) == {0, 1, 2}
    row = table[(table.rotation == "time_swap")].iloc[0]
    assert row["rotation_frame"] == row["frame"] + 1


def test_time_varying_stimulus_specific_rotation_fails_both_swaps():
    """H3: every stimulus has its own sequence of subspaces."""
    ds = synthetic_memory_activations(120, 4, 80, mode="stimulus", seed=1)
    acc = _summary(reconstructed_decoder_accuracy(ds, **FAST))
    assert acc["original"] > 0.85
    assert acc["stimulus_swap"] < 0.45 and acc["time_swap"] < 0.45


def test_reconstruction_errors():
    ds = synthetic_memory_activations(40, 3, 24, features={"location": 4, "side": 2}, seed=2)
    with pytest.raises(WmgeomError, match="at least 3"):
        reconstructed_decoder_accuracy(ds, features=["location", "side"], **FAST)
    one = synthetic_memory_activations(40, 1, 24, seed=3)
    with pytest.raises(WmgeomError, match="at least 2 frames"):
        reconstructed_decoder_accuracy(one, **FAST)
