"""One step of each recurrent architecture as a pure function of its state.

``cell(state, inputs, weight_ih, weight_hh, bias_ih, bias_hh) -> state`` computes what
torch's ``nn.RNN`` (tanh), ``nn.GRU`` and ``nn.LSTM`` compute in one step, from the same
weights (layer 0), with plain tensor operations: unlike torch's fused cells they can be
differentiated and batched by :mod:`torch.func` (``jacrev``, ``vmap``), which the
fixed-point analysis needs (Sussillo & Barak 2013). The LSTM's state is ``(h, c)``
concatenated, ``[..., 2H]``. Any leading batch dimensions broadcast.
"""

from __future__ import annotations

import torch

__all__ = ["gru_cell", "lstm_cell", "tanh_cell"]


def _gates(state: torch.Tensor, inputs: torch.Tensor, weight_ih: torch.Tensor,
           weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    return inputs @ weight_ih.T + bias_ih, state @ weight_hh.T + bias_hh


def tanh_cell(state: torch.Tensor, inputs: torch.Tensor, weight_ih: torch.Tensor,
              weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor
              ) -> torch.Tensor:
    """Vanilla RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``."""
    gi, gh = _gates(state, inputs, weight_ih, weight_hh, bias_ih, bias_hh)
    return torch.tanh(gi + gh)


def gru_cell(state: torch.Tensor, inputs: torch.Tensor, weight_ih: torch.Tensor,
             weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor
             ) -> torch.Tensor:
    """GRU (torch's gate order r, z, n): ``h' = (1 − z) ⊙ n + z ⊙ h``."""
    gi, gh = _gates(state, inputs, weight_ih, weight_hh, bias_ih, bias_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * state


def lstm_cell(state: torch.Tensor, inputs: torch.Tensor, weight_ih: torch.Tensor,
              weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor
              ) -> torch.Tensor:
    """LSTM (torch's gate order i, f, g, o) on the state ``(h, c)`` concatenated."""
    h, c = state.chunk(2, -1)
    gi, gh = _gates(h, inputs, weight_ih, weight_hh, bias_ih, bias_hh)
    i, f, g, o = (gi + gh).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], -1)
