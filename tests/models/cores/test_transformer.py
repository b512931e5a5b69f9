"""The causal Transformer core: causal over frames, order-aware, sized to the GRU."""

from __future__ import annotations

import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.models import SensoryCognitiveModel
from wmgeom.models.cores import TransformerCore, gru_parameters
from wmgeom.models.cores.transformer import sinusoidal_positions


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
@pytest.mark.parametrize("grad", [True, False])
def test_the_state_at_a_frame_ignores_later_frames(positions, grad):
    """Planted: frames t+1.. changed, states at frames ≤ t unchanged (in training mode and in
    inference mode, where torch may take its fused path)."""
    torch.manual_seed(0)
    core = TransformerCore(16, layers=2, positions=positions).train(grad)
    x = torch.randn(4, 6, 16)
    for t in range(5):
        y = x.clone()
        y[:, t + 1:] = torch.randn(4, 5 - t, 16)
        with torch.set_grad_enabled(grad):
            a, b = core.states(x)["hidden"], core.states(y)["hidden"]
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], rtol=1e-5, atol=1e-5)
        assert not torch.allclose(a[:, t + 1:], b[:, t + 1:])


def test_positions_make_it_order_aware():
    torch.manual_seed(0)
    core = TransformerCore(16).eval()
    x = torch.randn(2, 1, 16).expand(2, 6, 16)  # the same encoding at every frame
    with torch.no_grad():
        h = core.states(x)["hidden"]
    assert not torch.allclose(h[:, 2], h[:, 4], atol=1e-3)


@pytest.mark.parametrize("hidden_size", [32, 64, 128, 256])
@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_parameters_are_matched_to_the_gru(hidden_size, positions):
    core = TransformerCore(hidden_size, positions=positions)
    count = sum(p.numel() for p in core.parameters())
    gru = torch.nn.GRU(hidden_size, hidden_size)
    assert count == TransformerCore.parameters_at(hidden_size, positions=positions)
    assert abs(count / sum(p.numel() for p in gru.parameters()) - 1) < 0.1
    assert gru_parameters(hidden_size) == sum(p.numel() for p in gru.parameters())
    assert 0.5 * hidden_size < core.ffn_size < 1.5 * hidden_size  # the rule: F ≈ H


def test_positions_learned_start_from_the_sinusoidal_table_fixed_ones_are_no_parameter():
    learned, fixed = TransformerCore(8), TransformerCore(8, positions="sinusoidal")
    torch.testing.assert_close(learned.position.detach(), sinusoidal_positions(16, 8))
    assert "position" in dict(learned.named_parameters())
    assert "position" not in dict(fixed.named_parameters())
    assert "position" not in fixed.state_dict()


def test_the_recorded_state_is_the_residual_stream_the_readout_reads_it_normalised():
    torch.manual_seed(0)
    m = SensoryCognitiveModel(4, (7, 7), 6, 8, architecture="transformer").eval()
    maps, task = torch.randn(2, 6, 4, 7, 7), torch.zeros(2, 6)
    with torch.no_grad():
        res = m.run(m.encode(maps, task))
        torch.testing.assert_close(res["hidden"], m.core.residual(m.encode(maps, task)))
        torch.testing.assert_close(res["logits"], m.readout(m.core.norm(res["hidden"])))
        torch.testing.assert_close(res["logits"], m(maps, task))


def test_errors_say_the_fix():
    with pytest.raises(WmgeomError, match="positions must be 'learned' or 'sinusoidal'"):
        TransformerCore(8, positions="rotary")
    with pytest.raises(WmgeomError, match="heads=3 does not divide hidden_size=8"):
        TransformerCore(8, heads=3)
    with pytest.raises(WmgeomError, match="covers 4 frames, the trials have 6; build it "
                                          "with max_frames >= 6"):
        TransformerCore(8, max_frames=4)(torch.zeros(1, 6, 8))
