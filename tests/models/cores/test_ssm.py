"""The state-space core: a diagonal complex linear recurrence, causal, sized to the GRU."""

from __future__ import annotations

import pytest
import torch

from wmgeom.models import SensoryCognitiveModel
from wmgeom.models.cores import SSMCore, gru_parameters


def _loop(layer, u):
    """The recurrence frame by frame in complex arithmetic: x_t = λ x_(t−1) + γ B u_t."""
    lam = torch.exp(-torch.exp(layer.nu_log) + 1j * torch.exp(layer.theta_log))
    gamma = torch.exp(layer.gamma_log)
    b = torch.complex(layer.B[0], layer.B[1])
    x = torch.zeros(u.shape[0], lam.shape[0], dtype=torch.complex64)
    out = []
    for t in range(u.shape[1]):
        x = lam * x + gamma * (u[:, t].to(torch.complex64) @ b.T)
        out.append(x)
    return torch.stack(out, 1)


def test_the_convolution_is_the_recurrence():
    """Planted: the all-frames kernel computes what the frame-by-frame recurrence does."""
    torch.manual_seed(0)
    layer = SSMCore(12).blocks[0]
    u = torch.randn(3, 6, 12)
    with torch.no_grad():
        x_re, x_im = layer.carried_state(u)
        x = _loop(layer, u)
    torch.testing.assert_close(x_re, x.real, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x_im, x.imag, rtol=1e-4, atol=1e-5)
    assert (torch.exp(-torch.exp(layer.nu_log)) < 1).all()  # |λ| < 1: stable


def test_the_state_at_a_frame_depends_only_on_frames_up_to_it():
    torch.manual_seed(0)
    core = SSMCore(16, layers=2)
    x = torch.randn(4, 6, 16)
    for t in range(5):
        y = x.clone()
        y[:, t + 1:] = torch.randn(4, 5 - t, 16)
        a, b = core.states(x)["hidden"], core.states(y)["hidden"]
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])
        assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])


def test_it_remembers_an_earlier_frame():
    """The state at the last frame depends on the first frame's encoding (memory)."""
    torch.manual_seed(0)
    core = SSMCore(16)
    x = torch.randn(2, 6, 16)
    y = x.clone()
    y[:, 0] = torch.randn(2, 16)
    assert not torch.allclose(core(x)[:, -1], core(y)[:, -1])


@pytest.mark.parametrize("hidden_size", [32, 64, 128, 256])
def test_parameters_are_matched_to_the_gru(hidden_size):
    core = SSMCore(hidden_size)
    count = sum(p.numel() for p in core.parameters())
    assert count == SSMCore.parameters_at(hidden_size)
    assert abs(count / gru_parameters(hidden_size) - 1) < 0.1
    assert abs(core.state_channels - hidden_size) <= 0.1 * hidden_size  # the rule: N ≈ H


def test_the_recorded_state_is_what_the_readout_reads():
    torch.manual_seed(0)
    m = SensoryCognitiveModel(4, (7, 7), 6, 8, architecture="ssm")
    maps, task = torch.randn(2, 6, 4, 7, 7), torch.zeros(2, 6)
    res = m.run(m.encode(maps, task))
    torch.testing.assert_close(res["logits"], m.readout(res["hidden"]))
    torch.testing.assert_close(res["logits"], m(maps, task))
    assert res["cell"] is None
