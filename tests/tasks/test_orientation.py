"""Tests of the two-orientation task."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wmgeom.errors import WmgeomError
from wmgeom.tasks.orientation import (
    EPOCHS,
    TwoOrientationTask,
    decode_orientation,
    wrap_orientation,
)


def test_shapes_and_epochs_tile_the_trial():
    task = TwoOrientationTask(ordinal=True)
    b = task.sample(16, rng=np.random.default_rng(0))
    B, T = 16, task.n_steps
    assert b.inputs.shape == (B, T, task.n_inputs) and b.inputs.dtype == np.float32
    assert b.targets.shape == b.mask.shape == (B, T, 5)
    for prev, nxt in zip(EPOCHS[:-1], EPOCHS[1:], strict=True):
        np.testing.assert_array_equal(b.epoch_stop[prev], b.epoch_start[nxt])
    assert np.all(b.epoch_stop["report"] <= T)
    s = task.steps
    d1 = b.epoch_stop["delay1"] - b.epoch_start["delay1"]
    assert d1.min() >= s["delay1_min"] and d1.max() <= s["delay1_max"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), ordinal=st.booleans())
def test_targets_consistent_with_stimuli(seed, ordinal):
    task = TwoOrientationTask(ordinal=ordinal, input_noise=0.0)
    b = task.sample(8, rng=np.random.default_rng(seed))
    t = np.arange(task.n_steps)[None, :]
    report = (t >= b.epoch_start["report"][:, None]) & (t < b.epoch_stop["report"][:, None])
    np.testing.assert_array_equal(b.mask[..., 0] > 0, report)
    # Go cue exactly during the report epoch.
    np.testing.assert_array_equal(b.inputs[..., -1] > 0.5, report)
    # Targets decode back to the stimuli during the report epoch.
    i, j = np.nonzero(report)
    np.testing.assert_allclose(
        wrap_orientation(decode_orientation(b.targets[i, j, 0], b.targets[i, j, 1]) - b.theta1[i]),
        0,
        atol=1e-3,
    )
    np.testing.assert_allclose(
        wrap_orientation(decode_orientation(b.targets[i, j, 2], b.targets[i, j, 3]) - b.theta2[i]),
        0,
        atol=1e-3,
    )
    assert np.all(b.targets[b.mask == 0] == 0)
    if ordinal:
        np.testing.assert_array_equal(b.targets[i, j, 4], b.ordinal_target[i])
    # The tuned population peaks at the stimulus orientation during each stimulus.
    for k, theta in ((1, b.theta1), (2, b.theta2)):
        tk = b.epoch_start[f"stimulus{k}"]
        pop = b.inputs[np.arange(8), tk, :-1]
        peak = task.preferred_deg[pop.argmax(axis=1)]
        assert np.all(
            np.abs(wrap_orientation(peak - theta)) <= 180 / task.config.n_tuned / 2 + 1e-9
        )
    # Nothing is shown during the delays.
    for name in ("fixation", "delay1", "delay2"):
        on = (t >= b.epoch_start[name][:, None]) & (t < b.epoch_stop[name][:, None])
        assert np.all(b.inputs[on] == 0)


def test_orientation_period_is_180_degrees():
    task = TwoOrientationTask(input_noise=0.0)
    rng = np.random.default_rng(1)
    a = task.sample(4, rng, theta1=[10, 20, 30, 40], theta2=[0, 0, 0, 0], fixed_delays=True)
    b = task.sample(4, rng, theta1=[190, 200, 210, 220], theta2=[180] * 4, fixed_delays=True)
    np.testing.assert_allclose(a.inputs, b.inputs, atol=1e-6)
    np.testing.assert_allclose(a.targets, b.targets, atol=1e-6)


def test_fixed_delays_align_trials_and_noise_is_configurable():
    task = TwoOrientationTask(input_noise=0.5)
    b = task.sample(32, np.random.default_rng(2), fixed_delays=True, input_noise=False)
    assert len(set(b.epoch_start["report"].tolist())) == 1
    assert np.all(b.inputs[:, : task.steps["fixation"]] == 0)
    noisy = task.sample(32, np.random.default_rng(2))
    assert noisy.inputs[:, : task.steps["fixation"]].std() == pytest.approx(0.5, rel=0.1)


def test_ordinal_sign_wraps_at_90_degrees():
    task = TwoOrientationTask(ordinal=True)
    b = task.sample(3, np.random.default_rng(0), theta1=[10, 170, 80], theta2=[20, 5, 10])
    # 20-10=+10 ; 5-170=-165 -> +15 ; 10-80=-70
    np.testing.assert_array_equal(b.ordinal_target, [1, 1, -1])


def test_grid_covers_all_pairs():
    t1, t2 = TwoOrientationTask().grid(4)
    assert len(t1) == 16 and len({(a, b) for a, b in zip(t1, t2, strict=True)}) == 16


def test_user_errors_have_clear_messages():
    with pytest.raises(WmgeomError, match="n_tuned"):
        TwoOrientationTask(n_tuned=2)
    with pytest.raises(WmgeomError, match="delay1_max"):
        TwoOrientationTask(delay1_min=500, delay1_max=100)
    with pytest.raises(WmgeomError, match="unknown_field|Extra inputs"):
        TwoOrientationTask(unknown_field=1)
    task = TwoOrientationTask()
    with pytest.raises(WmgeomError, match="theta1 has 2 values but batch_size is 3"):
        task.sample(3, theta1=[1.0, 2.0])
    with pytest.raises(WmgeomError, match="batch_size"):
        task.sample(0)
