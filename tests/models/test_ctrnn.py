"""Tests of the continuous-time RNN."""

import numpy as np
import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.models.ctrnn import CTRNN, masked_mse, orientation_loss
from wmgeom.tasks.orientation import TwoOrientationTask


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matrices: one thread avoids oversubscription on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_shapes_rectified_rates_and_noise_switch():
    torch.manual_seed(0)
    m = CTRNN(5, 3, n_units=12, rate_noise=0.2)
    x = torch.randn(4, 7, 5)
    out, r = m(x, noise=False)
    assert out.shape == (4, 7, 3) and r.shape == (4, 7, 12)
    assert torch.all(r >= 0) and torch.all(r < 1)
    out2, _ = m(x, noise=False)
    torch.testing.assert_close(out, out2)
    out3, _ = m(x, noise=True)
    assert not torch.allclose(out, out3)


def test_euler_step_matches_the_rate_equation():
    m = CTRNN(2, 1, n_units=3, tau=100.0, dt=10.0, nonlinearity="tanh", rate_noise=0.0)
    with torch.no_grad():
        m.initial_state.fill_(0.3)
    u = torch.randn(1, 2, 2)
    _, r = m(u, noise=False)
    W, Win, b = m.recurrent.weight, m.input.weight, m.recurrent.bias
    r0 = torch.tanh(torch.full((3,), 0.3))
    r1 = 0.9 * r0 + 0.1 * torch.tanh(W @ r0 + Win @ u[0, 0] + b)
    r2 = 0.9 * r1 + 0.1 * torch.tanh(W @ r1 + Win @ u[0, 1] + b)
    torch.testing.assert_close(r[0, 0], r1)
    torch.testing.assert_close(r[0, 1], r2)


def test_current_variant_integrates_x():
    m = CTRNN(2, 1, n_units=3, tau=50.0, dt=10.0, variant="current", nonlinearity="tanh")
    u = torch.randn(1, 1, 2)
    _, r = m(u, noise=False)
    x0 = m.initial_state
    x1 = 0.8 * x0 + 0.2 * (
        m.recurrent.weight @ torch.tanh(x0) + m.input.weight @ u[0, 0] + m.recurrent.bias
    )
    torch.testing.assert_close(r[0, 0], torch.tanh(x1))


def test_rate_noise_scales_with_sqrt_2_over_alpha():
    torch.manual_seed(1)
    m = CTRNN(
        1,
        1,
        n_units=100,
        tau=100.0,
        dt=20.0,
        nonlinearity="relu",
        rate_noise=0.1,
        recurrent_gain=0.0,
    )
    with torch.no_grad():
        m.recurrent.bias.fill_(5.0)  # stay in the linear part of relu
        m.initial_state.fill_(5.0)
    _, r = m(torch.zeros(2, 200, 1))
    # Stationary AR(1) variance of the rates: a^2 s^2 / (1 - (1-a)^2) with s = sigma sqrt(2/a).
    a = 0.2
    expected = a * a * (0.1**2 * 2 / a) / (1 - (1 - a) ** 2)
    assert r[:, 50:].var().item() == pytest.approx(expected, rel=0.15)


def test_loss_and_regularization_and_short_training_reduces_loss():
    torch.manual_seed(0)
    task = TwoOrientationTask(
        delay1_min=40,
        delay1_max=80,
        delay2_min=40,
        delay2_max=80,
        stimulus=60,
        report=60,
        fixation=20,
    )
    m = CTRNN(task.n_inputs, task.n_outputs, n_units=24, rate_l2=0.1)
    rng = np.random.default_rng(0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss, metrics = orientation_loss(m, task.sample(32, rng))
        assert set(metrics) == {"mse", "rate_reg"} and metrics["rate_reg"] > 0
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(metrics["mse"])
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


def test_masked_mse_ignores_masked_entries():
    out = torch.tensor([[[1.0, 100.0]]])
    tgt = torch.zeros(1, 1, 2)
    mask = torch.tensor([[[1.0, 0.0]]])
    assert masked_mse(out, tgt, mask).item() == pytest.approx(1.0)


def test_user_errors():
    with pytest.raises(WmgeomError, match="nonlinearity"):
        CTRNN(2, 2, nonlinearity="cubic")
    with pytest.raises(WmgeomError, match="dt .* exceeds tau"):
        CTRNN(2, 2, dt=200.0, tau=100.0)
    with pytest.raises(WmgeomError, match=r"inputs \[batch, time, 2\]"):
        CTRNN(2, 2, n_units=4)(torch.zeros(1, 3, 5))
