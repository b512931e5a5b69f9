"""Fixed points on networks whose fixed points are known (Sussillo & Barak 2013)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmgeom.analysis.fixed_points import (
    FixedPointFinder,
    jacobians,
    sample_initial_states,
    speed,
    subspace_fraction,
)
from wmgeom.errors import ArgumentError
from wmgeom.models import SensoryCognitiveModel
from wmgeom.models.ctrnn import CTRNN

BITS, PER_BIT = 3, 4


def flip_flop(seed: int = 0):
    """A 3-bit flip-flop RNN ``h' = tanh(W h + B x)`` built by hand: three groups of four
    units, each group a bistable unit (self-excitation 2 shared within the group), the
    units shuffled and sign-flipped. At zero input it has 3³ = 27 fixed points: the 8
    corners ``±h*`` of the groups are stable, the 19 with a group at 0 are saddles."""
    rng = np.random.default_rng(seed)
    n = BITS * PER_BIT
    group = np.repeat(np.arange(BITS), PER_BIT)
    W = 2.0 / PER_BIT * (group[:, None] == group[None, :])
    B = 4.0 * (group[:, None] == np.arange(BITS)[None, :])
    perm, sign = rng.permutation(n), rng.choice([-1.0, 1.0], n)
    W = (sign[:, None] * W * sign[None, :])[perm][:, perm]
    B = (sign[:, None] * B)[perm]
    W, B = torch.tensor(W), torch.tensor(B)

    def step(h, x):
        return torch.tanh(h @ W.T + x @ B.T)

    readout = np.zeros((BITS, n))
    readout[group[perm], np.arange(n)] = sign[perm] / PER_BIT  # new unit j is old perm[j]
    return step, readout


def flip_flop_trajectories(step, n_trials=64, n_steps=60, seed=0) -> np.ndarray:
    """States of the network driven by random ±1 pulses on each bit."""
    rng = np.random.default_rng(seed)
    pulses = (rng.random((n_trials, n_steps, BITS)) < 0.1) * rng.choice([-1.0, 1.0],
                                                                     (n_trials, n_steps, BITS))
    h = torch.zeros(n_trials, BITS * PER_BIT, dtype=torch.float64)
    states = []
    for t in range(n_steps):
        h = step(h, torch.tensor(pulses[:, t]))
        states.append(h)
    return torch.stack(states, 1).numpy()


def test_the_three_bit_flip_flop_has_eight_stable_fixed_points():
    step, readout = flip_flop()
    states = flip_flop_trajectories(step)
    h0, _ = sample_initial_states(states, 256, noise=0.5, seed=1)
    fpf = FixedPointFinder().fit(step, h0, np.zeros(BITS))
    stable = fpf.fixed_points_[fpf.stable_]
    assert len(stable) == 8
    # one per memory: the readout's signs take all 2³ patterns
    patterns = {tuple(np.sign(readout @ p).astype(int)) for p in stable}
    assert len(patterns) == 8
    assert (fpf.q_ < 1e-12).all()
    with torch.no_grad():
        moved = step(torch.tensor(stable), torch.zeros(len(stable), BITS, dtype=torch.float64))
    np.testing.assert_allclose(moved.numpy(), stable, atol=1e-6)
    # linearisation: one eigenvalue (1 − h*²)·2 per group, the rest 0
    h_star = np.abs(stable).max()
    np.testing.assert_allclose(np.abs(fpf.eigenvalues_[fpf.stable_, 0]), 2 * (1 - h_star**2),
                               atol=1e-6)
    # every other fixed point found is a saddle: some group at 0, unstable along it
    others = ~fpf.stable_
    assert (fpf.stability_[others] == "unstable").all()
    assert len(fpf.fixed_points_) <= 27 and (fpf.n_unstable_[others] >= 1).all()


def test_the_flip_flops_saddles_are_found_and_classified_by_their_unstable_groups():
    step, readout = flip_flop()
    rng = np.random.default_rng(2)
    fpf = FixedPointFinder().fit(step, rng.uniform(-1, 1, (300, BITS * PER_BIT)),
                                 np.zeros(BITS))
    h_star = np.abs(fpf.fixed_points_).max()
    groups = fpf.fixed_points_ @ readout.T  # each group's mean state (sign-corrected)
    # every point found is one of the 27: each group at −h*, 0 or h* ...
    levels = np.round(groups / h_star).astype(int)
    np.testing.assert_allclose(groups, levels * h_star, atol=1e-8)
    # ... each found once, with as many unstable directions as groups at 0
    assert len({tuple(v) for v in levels}) == len(levels)
    np.testing.assert_array_equal(fpf.n_unstable_, (levels == 0).sum(1))
    np.testing.assert_array_equal(fpf.stable_, (levels != 0).all(1))
    assert (fpf.n_unstable_ >= 1).sum() >= 10  # states spread over the cube find saddles


def test_a_line_attractor_is_a_continuum_of_marginal_points():
    rng = np.random.default_rng(0)
    n = 10
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    spectrum = np.r_[1.0, np.linspace(0.6, 0.1, n - 1)]
    W = torch.tensor(Q @ np.diag(spectrum) @ Q.T)

    def step(h):
        return h @ W.T

    h0 = rng.standard_normal((100, n))
    fpf = FixedPointFinder(unique_tol=1e-2).fit(step, h0)
    P = fpf.fixed_points_
    assert len(P) > 20  # a continuum, not a handful of points
    # every point lies on the eigenvector of eigenvalue 1
    direction = Q[:, 0]
    off_line = P - np.outer(P @ direction, direction)
    assert np.abs(off_line).max() < 1e-6
    assert np.ptp(P @ direction) > 1.0
    assert (fpf.stability_ == "marginal").all()
    np.testing.assert_allclose(np.abs(fpf.eigenvalues_[:, 0]), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(fpf.eigenvalues_[:, 1]), 0.6, atol=1e-9)


def test_a_contracting_network_has_one_stable_fixed_point():
    rng = np.random.default_rng(1)
    n = 16
    W = rng.standard_normal((n, n))
    W = torch.tensor(0.8 * W / np.linalg.norm(W, 2))  # a contraction: one fixed point
    b = torch.tensor(rng.standard_normal(n))

    def step(h, x):
        return torch.tanh(h @ W.T + x + b)

    h0 = rng.uniform(-1, 1, (64, n))
    fpf = FixedPointFinder().fit(step, h0, np.zeros(n))
    assert len(fpf.fixed_points_) == 1 and fpf.stable_.all()
    assert np.abs(fpf.eigenvalues_[0]).max() < 0.8 + 1e-9
    # all initial states reached it
    assert np.abs(fpf.candidates_ - fpf.fixed_points_[0]).max() < 1e-6


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_the_first_order_optimisers_reach_the_same_point(optimizer):
    rng = np.random.default_rng(1)
    n = 8
    W = rng.standard_normal((n, n))
    W = torch.tensor(0.5 * W / np.linalg.norm(W, 2))

    def step(h):
        return torch.tanh(h @ W.T + 0.3)

    h0 = rng.uniform(-1, 1, (16, n))
    reference = FixedPointFinder().fit(step, h0).fixed_points_
    fpf = FixedPointFinder(optimizer=optimizer, max_iter=300, newton_steps=3).fit(step, h0)
    np.testing.assert_allclose(fpf.fixed_points_, reference, atol=1e-8)


def test_contexts_are_searched_together_and_kept_apart():
    """One batch holds every constant input; points merge only within their group."""
    rng = np.random.default_rng(0)
    n = 6
    W = torch.tensor(0.5 * np.eye(n))

    def step(h, x):
        return torch.tanh(h @ W.T + x)

    inputs = np.repeat(np.array([[0.5] * n, [-0.5] * n]), 20, axis=0)
    fpf = FixedPointFinder().fit(step, rng.uniform(-1, 1, (40, n)), inputs,
                                 groups=np.repeat(["up", "down"], 20))
    assert sorted(fpf.groups_.tolist()) == ["down", "up"]
    up = fpf.fixed_points_[fpf.groups_ == "up"][0]
    assert (up > 0).all() and np.allclose(up, np.tanh(0.5 * up + 0.5))
    np.testing.assert_allclose(fpf.inputs_[fpf.groups_ == "up"][0], 0.5)


def test_the_models_steps_work_with_the_finder():
    """The sensory-cognitive model's cells (the LSTM's state (h, c) concatenated) and the
    continuous-time RNN are step functions of the finder."""
    torch.manual_seed(0)
    for arch in ("rnn", "gru", "lstm"):
        model = SensoryCognitiveModel(2, (1, 1), 6, 8, arch).double().eval()
        size = 16 if arch == "lstm" else 8
        x = torch.randn(8, dtype=torch.float64) * 0.1
        fpf = FixedPointFinder().fit(model.step, np.random.default_rng(0).normal(
            0, 0.3, (12, size)), x.numpy())
        assert len(fpf.fixed_points_) >= 1, arch
        assert fpf.jacobians_.shape[1:] == (size, size)
        moved = model.step(torch.tensor(fpf.fixed_points_), x).detach().numpy()
        np.testing.assert_allclose(moved, fpf.fixed_points_, atol=1e-6)
    ct = CTRNN(3, 2, n_units=10, recurrent_gain=0.5).double()
    fpf = FixedPointFinder().fit(ct.step, np.random.default_rng(0).uniform(0, 1, (10, 10)),
                                 np.zeros(3))
    assert len(fpf.fixed_points_) == 1 and fpf.stable_.all()
    # the Euler map's Jacobian: (1 − α) I + α diag(f'(W r + b)) W at the rate fixed point
    r = torch.tensor(fpf.fixed_points_[0])
    u = ct.recurrent(r)
    slope = (1 - torch.tanh(u) ** 2) * (u > 0)
    expected = (1 - ct.alpha) * torch.eye(10, dtype=r.dtype) + \
        ct.alpha * slope[:, None] * ct.recurrent.weight
    np.testing.assert_allclose(fpf.jacobians_[0], expected.detach().numpy(), atol=1e-10)


def test_jacobians_are_batched_and_match_finite_differences():
    rng = np.random.default_rng(0)
    W = torch.tensor(rng.standard_normal((5, 5)))

    def step(h):
        return torch.tanh(h @ W.T)

    h = torch.tensor(rng.standard_normal((3, 5)))
    J = jacobians(step, h)
    eps = 1e-6
    fd = torch.stack([(step(h + eps * e) - step(h - eps * e)) / (2 * eps)
                      for e in torch.eye(5, dtype=h.dtype)], -1)
    np.testing.assert_allclose(J.numpy(), fd.numpy(), atol=1e-8)
    np.testing.assert_allclose(speed(step, h).numpy(),
                               0.5 * ((step(h) - h) ** 2).sum(1).numpy())


def test_subspace_fraction_of_planted_displacements():
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((2, 20))
    center = rng.standard_normal(20)
    inside = center + rng.standard_normal((5, 2)) @ basis
    ortho = np.linalg.svd(basis)[2][2:]  # the orthogonal complement
    outside = center + rng.standard_normal((5, 18)) @ ortho
    np.testing.assert_allclose(subspace_fraction(inside, center, basis), 1.0)
    np.testing.assert_allclose(subspace_fraction(outside, center, basis), 0.0, atol=1e-12)
    random = subspace_fraction(center + rng.standard_normal((4000, 20)), center, basis)
    assert abs(random.mean() - 2 / 20) < 0.01  # chance: the subspace's share of dimensions


def test_sampled_initial_states_per_group():
    states = np.arange(24, dtype=float).reshape(2, 3, 4)  # trials × frames × units
    groups = np.array([["a"] * 3, ["b"] * 3])
    h0, labels = sample_initial_states(states, 5, groups=groups, seed=0)
    assert h0.shape == (10, 4) and labels.tolist() == ["a"] * 5 + ["b"] * 5
    assert (h0[:5, 0] < 12).all() and (h0[5:, 0] >= 12).all()
    noisy, _ = sample_initial_states(states, 5, noise=0.1, seed=0)
    assert not np.isin(noisy, states).all()


def test_user_errors():
    def step(h):
        return h

    with pytest.raises(ArgumentError, match="optimizer='sgd'; use 'lm', 'adam' or 'lbfgs'"):
        FixedPointFinder(optimizer="sgd").fit(step, np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match=r"initial_states must be \[batch, state\]"):
        FixedPointFinder().fit(step, np.zeros(3))
    with pytest.raises(ArgumentError, match=r"inputs must be \[M\] or \[2, M\]"):
        FixedPointFinder().fit(lambda h, x: h, np.zeros((2, 3)), np.zeros((3, 1)))
    with pytest.raises(ArgumentError, match="it must return the state's shape"):
        FixedPointFinder().fit(lambda h: h[:, :2], np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="groups must hold one label per initial state"):
        FixedPointFinder().fit(step, np.zeros((2, 3)), groups=["a"])
    with pytest.raises(ArgumentError, match="dtype='float16'"):
        FixedPointFinder(dtype="float16").fit(step, np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="q_tol=0 must be positive"):
        FixedPointFinder(q_tol=0).fit(step, np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="outlier_scale=-1 must be positive or None"):
        FixedPointFinder(outlier_scale=-1).fit(step, np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="max_iter=-1 and newton_steps=0 must be zero"):
        FixedPointFinder(max_iter=-1, newton_steps=0).fit(step, np.zeros((2, 3)))
    with pytest.raises(ArgumentError, match="trajectories must be"):
        sample_initial_states(np.zeros((0, 3)), 2)
    with pytest.raises(ArgumentError, match="n=0: draw at least one"):
        sample_initial_states(np.zeros((4, 3)), 0)
    with pytest.raises(ArgumentError, match="groups has 1 labels for 4 recorded states"):
        sample_initial_states(np.zeros((4, 3)), 2, groups=["a"])
    with pytest.raises(ArgumentError, match="must share their last dimension"):
        subspace_fraction(np.zeros((2, 3)), np.zeros(3), np.ones((1, 4)))
    with pytest.raises(ArgumentError, match="the basis spans no direction"):
        subspace_fraction(np.zeros((2, 3)), np.zeros(3), np.zeros((1, 3)))
