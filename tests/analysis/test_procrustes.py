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


def test_minimal_completion_turns_only_the_span_of_the_shapes():
    """The rotation closest to the identity: the same map of the source onto the target as
    the full SVD's, orthogonal, and the identity on directions neither shape uses."""
    rng = np.random.default_rng(4)
    source, target = rng.normal(size=(4, 20)), rng.normal(size=(4, 20))
    minimal = procrustes_align(source, target, completion="minimal")
    full = procrustes_align(source, target, completion="svd")
    R = minimal.rotation
    np.testing.assert_allclose(R @ R.T, np.eye(20), atol=1e-10)
    assert minimal.scale == pytest.approx(full.scale)
    np.testing.assert_allclose(procrustes_reconstruct(source, minimal),
                               procrustes_reconstruct(source, full), atol=1e-10)
    span, _ = np.linalg.qr(np.vstack([source, target]).T)
    outside = rng.normal(size=20)
    outside -= span @ (span.T @ outside)
    np.testing.assert_allclose(outside @ R, outside, atol=1e-10)
    assert np.abs(outside @ full.rotation - outside).max() > 0.1  # LAPACK's basis turns it
    # no closer rotation maps the source onto the target: a planted full-rank rotation is
    # recovered exactly by both
    square = rng.normal(size=(6, 4))
    Q = special_ortho_group.rvs(4, random_state=5)
    np.testing.assert_allclose(procrustes_align(square, square @ Q, "minimal").rotation, Q,
                               atol=1e-8)


def test_unknown_completion_is_named():
    with pytest.raises(WmgeomError, match="completion must be one of"):
        procrustes_align(np.eye(3), np.eye(3)[::-1], completion="identity")
    ds = synthetic_memory_activations(40, 3, 24, seed=2)
    with pytest.raises(WmgeomError, match="completion must be one of"):
        reconstructed_decoder_accuracy(ds, completion=["svd", "nearest"], **FAST)


def test_batched_reconstruction_matches_the_fold_by_fold_definition():
    """Every row equals eqs. 5-8 applied fold by fold with procrustes_align and
    procrustes_reconstruct: the fitted rotations, and the swapped ones completed minimally.
    (A swap completed by the SVD acts on the directions outside the shapes' span through
    LAPACK's arbitrary basis, which rounding-level differences between the batched and the
    fold-by-fold arithmetic can turn: those rows are only checked to exist.)"""
    from wmgeom.analysis.bank import fit_step_decoders
    from wmgeom.analysis.data import activation_arrays

    ds = synthetic_memory_activations(80, 4, 24, mode="age", seed=6)
    table = reconstructed_decoder_accuracy(ds, **FAST)
    assert set(table.loc[table.rotation.str.endswith("swap"), "completion"]) == {"svd",
                                                                               "minimal"}
    arrays = activation_arrays(ds)
    task = table["task"].iloc[0]
    sub = arrays.subset(arrays.task == task)
    step = fit_step_decoders(sub, dict(FAST), "all")
    res, pos = step.result, {p: c for c, p in enumerate(step.pairs)}
    name = table["feature"].iloc[0]
    ks = np.flatnonzero(res.decoder_index["feature_index"].to_numpy()
                        == list(res.classes).index(name))
    W, b = res.coef[:, :, ks], res.intercept[:, :, ks]
    code = np.searchsorted(res.classes[name], sub.labels[name][:, 0])
    checked = 0
    for _, row in table[(table.task == task) & (table.feature == name)
                        & (table.stimulus == 0) & (table.bias == "source")].iterrows():
        if row.rotation not in ("original", "time_swap", "stimulus_swap") or (
                row.completion == "svd"):
            continue
        i, j, ri, rj = 0, row.frame, row.rotation_stimulus, row.rotation_frame
        completion = row.completion or "minimal"
        decision = np.empty((len(code), len(ks)))
        for o, (_, te) in enumerate(res.folds):
            fit = procrustes_align(W[pos[(ri, rj)], o], W[pos[(ri, rj + 1)], o], completion)
            own = procrustes_align(W[pos[(i, j)], o], W[pos[(i, j + 1)], o])
            w = procrustes_reconstruct(W[pos[(i, j)], o], fit, own.target_mean,
                                       own.target_norm)
            decision[te] = sub.X[te, j + 1] @ w.T + b[pos[(i, j)], o]
        assert (decision.argmax(1) == code).mean() == pytest.approx(row.accuracy), row
        checked += 1
    assert checked >= 6  # the original rows and the minimal swaps of every frame


def test_another_features_decoders_are_the_unrelated_source():
    """A real decoder shape that does not encode the target's feature, rotated onto it by
    its own rotation: present for features with a partner of as many values only."""
    ds = synthetic_memory_activations(96, 3, 32, features={"location": 4, "category": 4,
                                                           "identity": 8}, seed=7)
    table = reconstructed_decoder_accuracy(ds, **FAST)
    unrelated = table[table.rotation == "unrelated_source"]
    assert set(unrelated["feature"]) == {"location", "category"}
    assert set(unrelated["bias"]) == {"target", "source"}
    own = table[table.rotation == "original"]
    assert len(unrelated) == len(own[own.feature != "identity"])
    assert unrelated["accuracy"].between(0, 1).all()
