"""Causal perturbation along a decoder normal with a hand-built RNN (Lei et al. 2024, Fig. A7)."""

import numpy as np
import pytest
import torch

from wmgeom.analysis.causal import causal_perturbation
from wmgeom.analysis.decoders import LinearDecoder
from wmgeom.errors import WmgeomError

H = 6


class KnownDirectionRNN(torch.nn.Module):
    """Keeps its state (identity recurrence) and answers "match" when h . u > 0.

    Logits are ``[0, 0, beta * h . u]`` for (no_action, non_match, match): moving h along
    ``u`` raises p(match) and lowers p(no_action); orthogonal moves change nothing.
    """

    def __init__(self, u: torch.Tensor, beta: float = 4.0):
        super().__init__()
        self.u = u / u.norm()
        self.beta = beta

    def forward(self, h0, steps: int = 3):
        h = h0[0] if isinstance(h0, tuple) else h0
        out = []
        for _ in range(steps):
            score = self.beta * (h @ self.u)
            logits = torch.stack([torch.zeros_like(score), torch.zeros_like(score), score], -1)
            out.append(logits.softmax(-1))
        return torch.stack(out, 1)  # [B, T', 3]


def _states(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.zeros(H, dtype=torch.float64)
    u[2] = 1.0
    h = torch.randn(n, H, generator=g, dtype=torch.float64) * 0.3 - 1.0 * u  # no match yet
    return h, u


def test_moving_along_the_readout_direction_flips_the_action():
    h, u = _states()
    net = KnownDirectionRNN(u)
    table = causal_perturbation(h, u * 5.0, [-1.0, 0.0, 1.0, 2.0, 3.0], net)
    match = table[(table.action == "match") & (table.step == 0)].set_index("distance")
    none = table[(table.action == "no_action") & (table.step == 0)].set_index("distance")
    assert np.all(np.diff(match["probability"].to_numpy()) > 0)
    assert np.all(np.diff(none["probability"].to_numpy()) < 0)
    assert match.loc[0.0, "probability"] < 0.1 and match.loc[3.0, "probability"] > 0.9
    assert set(table.columns) == {"distance", "step", "action", "probability", "std",
                                  "n_trials"}
    assert len(table) == 5 * 3 * 3


def test_orthogonal_direction_changes_nothing_and_lstm_state_keeps_cell():
    h, u = _states(seed=1)
    net = KnownDirectionRNN(u)
    ortho = torch.zeros(H, dtype=torch.float64)
    ortho[4] = 1.0
    table = causal_perturbation((h, torch.ones_like(h)), ortho, [-2.0, 0.0, 2.0], net)
    p = table[table.action == "match"].groupby("distance")["probability"].mean()
    np.testing.assert_allclose(p.to_numpy(), p.iloc[0], atol=1e-12)
    seen = {}

    def rollout(state):
        seen["cell"] = state[1]
        return net(state)

    causal_perturbation((h, torch.ones_like(h) * 7), ortho, [0.0, 1.0], rollout)
    assert seen["cell"].shape == (2 * len(h), H) and bool((seen["cell"] == 7).all())


def test_with_a_fitted_decoder_normal():
    """A decoder fit on the states finds the readout direction in the model's coordinates."""
    h, u = _states(n=200, seed=2)
    h = h * torch.tensor([1.0, 30.0, 1.0, 0.1, 1.0, 5.0], dtype=torch.float64)  # anisotropic
    labels = (torch.randn(200, generator=torch.Generator().manual_seed(3)) > 0).numpy()
    h[labels, 2] += 2.0  # the label is carried along u
    dec = LinearDecoder(inner_cv=2, Cs=(1.0,)).fit(h.numpy(), labels)
    table = causal_perturbation(h, dec.coef_[0], [-2.0, 2.0], KnownDirectionRNN(u))
    p = table[(table.action == "match") & (table.step == 0)].set_index("distance")
    assert p.loc[2.0, "probability"] > p.loc[-2.0, "probability"] + 0.3


@pytest.mark.parametrize(
    ("normal", "distances", "rollout", "message"),
    [
        (np.ones(H + 1), [0.0], None, "hidden size"),
        (np.zeros(H), [0.0], None, "zero"),
        (np.ones(H), [], None, "non-empty"),
        (np.ones(H), [0.0], lambda s: torch.zeros(3, 2), "rollout returned"),
    ],
)
def test_user_errors(normal, distances, rollout, message):
    h, u = _states(n=4)
    with pytest.raises(WmgeomError, match=message):
        causal_perturbation(h, normal, distances, rollout or KnownDirectionRNN(u))
    with pytest.raises(WmgeomError, match="batch, hidden"):
        causal_perturbation(h[0], np.ones(H), [0.0], KnownDirectionRNN(u))
