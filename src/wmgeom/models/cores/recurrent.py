"""The recurrent cores of Lei et al. 2024: vanilla ``tanh`` RNN, GRU and LSTM.

Each wraps torch's one-layer recurrent module (``rnn``) from ``H`` inputs to ``H`` units;
its recorded state is the hidden state after each frame (the LSTM's cell state recorded
too), the state it carries: the causal perturbation runs it on from a moved state and the
fixed points step it as a pure function (:mod:`wmgeom.models.cells`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from wmgeom.models.cells import gru_cell, lstm_cell, tanh_cell
from wmgeom.models.cores.base import GATED_RNN, VANILLA_RNN, Core, State, register_core

__all__ = ["GRUCore", "LSTMCore", "RNNCore", "RecurrentCore"]


class RecurrentCore(Core):
    """A torch recurrent layer as a core.

    Attributes:
        module: The torch recurrent layer class.
        kwargs: Extra constructor arguments of ``module``.
        gates: Weight blocks per unit (1 vanilla, 3 GRU, 4 LSTM).
        cell: One step as a pure function of the state (:mod:`wmgeom.models.cells`).
    """

    state_kind = "hidden state of the recurrent layer after the frame"
    module: ClassVar[type[nn.Module]]
    kwargs: ClassVar[dict[str, Any]] = {}
    gates: ClassVar[int]
    cell: ClassVar[Callable[..., torch.Tensor]]

    def __init__(self, hidden_size: int):
        super().__init__(hidden_size)
        self.rnn = self.module(hidden_size, hidden_size, batch_first=True, **self.kwargs)
        self._kaiming_init()

    def _kaiming_init(self) -> None:
        """Kaiming-normal input and recurrent weights (Lei et al. 2024, §3), zero biases.

        He et al.'s fan-in normal with unit gain: std ``1/sqrt(H)``, so each recurrent
        matrix starts with spectral radius ≈ 1 and the network keeps its inputs for
        several frames from the start (PyTorch's default uniform init starts near 0.58
        and trains markedly slower on the multi-task N-back regime).
        """
        for name, p in self.rnn.named_parameters():
            if name.startswith("weight"):
                nn.init.kaiming_normal_(p, nonlinearity="linear")
            else:
                nn.init.zeros_(p)

    @classmethod
    def recurrent_parameters(cls, input_size: int, hidden_size: int) -> int:
        """Parameters of the layer: input and recurrent weights and two biases per weight
        block, as torch's ``nn.RNN``/``GRU``/``LSTM`` hold them."""
        return cls.gates * (input_size * hidden_size + hidden_size * hidden_size
                            + 2 * hidden_size)

    def forward(self, encodings: torch.Tensor) -> torch.Tensor:
        return self.rnn(encodings)[0]

    def states(self, encodings: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """Step frame by frame and keep every state (the LSTM's cell state too)."""
        if not self.has_cell_state:
            return {"hidden": self(encodings), "cell": None}
        state, hidden, cell = None, [], []
        for t in range(encodings.shape[1]):
            out, state = self.rnn(encodings[:, t : t + 1], state)
            hidden.append(out[:, 0])
            cell.append(state[1][0])
        return {"hidden": torch.stack(hidden, 1), "cell": torch.stack(cell, 1)}

    def rollout(self, state0: State, encodings: torch.Tensor) -> torch.Tensor:
        """Hidden states from ``state0`` (``[B, H]``, a tuple ``(h, c)`` for an LSTM) on."""
        if isinstance(state0, tuple):
            state: State = (state0[0][None].contiguous(), state0[1][None].contiguous())
        else:
            state = state0[None].contiguous()
        return self.rnn(encodings, state)[0]

    def step(self, state: torch.Tensor, encoding: torch.Tensor) -> torch.Tensor:
        """``state`` ``[..., S]`` (``(h, c)`` concatenated for an LSTM) after one frame,
        with plain tensor operations (:mod:`wmgeom.models.cells`)."""
        r = self.rnn
        return type(self).cell(state, encoding, r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0,
                               r.bias_hh_l0)


@register_core
class RNNCore(RecurrentCore):
    """Vanilla ``tanh`` RNN (Lei et al. 2024: 512 units)."""

    name, label, family, gated = "rnn", "RNN", VANILLA_RNN, False
    paper_hidden_size = 512
    module, kwargs, gates = nn.RNN, {"nonlinearity": "tanh"}, 1
    cell = staticmethod(tanh_cell)


@register_core
class GRUCore(RecurrentCore):
    """GRU (Lei et al. 2024: 256 units)."""

    name, label, family, gated = "gru", "GRU", GATED_RNN, True
    paper_hidden_size = 256
    module, gates = nn.GRU, 3
    cell = staticmethod(gru_cell)


@register_core
class LSTMCore(RecurrentCore):
    """LSTM (Lei et al. 2024: 256 units); its cell state is recorded as ``cell``."""

    name, label, family, gated = "lstm", "LSTM", GATED_RNN, True
    has_cell_state = True
    paper_hidden_size = 256
    module, gates = nn.LSTM, 4
    cell = staticmethod(lstm_cell)
