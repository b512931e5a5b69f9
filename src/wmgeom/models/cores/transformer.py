"""A causal Transformer over frames (pre-LayerNorm), sized to the GRU by default.

Each frame's encoding is one token; position ``t`` is added (sinusoidal, or learned and
started from the sinusoidal table); ``layers`` pre-LayerNorm blocks (causal self-attention,
then a GELU feed-forward block, each added to the residual stream) follow, and a final
LayerNorm feeds the readout. The recorded state at frame ``t`` is the residual stream of the
last block at ``t`` (before the final LayerNorm).

Size rule: unless ``ffn_size`` is given, the feed-forward width is the one that brings the
core's parameters closest to a one-layer GRU's at the same hidden size,
:func:`~wmgeom.models.cores.base.gru_parameters` ``= 6H² + 6H``: with one layer the
attention holds ``4H²`` and the feed-forward block ``≈ 2H·F``, so ``F ≈ H``.

There is no recurrent state: frame ``t + 1`` attends to the keys and values of every
earlier frame, so no single vector carries the past (the causal perturbation and the fixed
points are not defined).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from wmgeom.errors import WmgeomError
from wmgeom.models.cores.base import Core, gru_parameters, matched_width, register_core

__all__ = ["TransformerCore", "sinusoidal_positions"]


def sinusoidal_positions(frames: int, width: int) -> torch.Tensor:
    """Vaswani et al. 2017's positional table ``[frames, width]`` (sin on even, cos on odd
    channels)."""
    position = torch.arange(frames, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(1e4) / width))
    table = torch.zeros(frames, width)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : width // 2]
    return table


@register_core
class TransformerCore(Core):
    """Causal pre-LayerNorm Transformer over frames.

    Args:
        hidden_size: Model width ``H`` (the encodings' and the recorded state's).
        layers: Transformer blocks.
        heads: Attention heads (default: 4 when they divide ``H``, else 2, else 1).
        ffn_size: Feed-forward width; None matches the GRU's parameter count (module
            docstring).
        positions: ``"learned"`` (a parameter per frame, started from the sinusoidal table)
            or ``"sinusoidal"`` (fixed).
        max_frames: Longest trial a learned table covers.
    """

    name, label, family, gated = "transformer", "Transformer", "transformer", False
    state_kind = ("residual stream of the last Transformer block at the frame (causal "
                  "attention over frames up to it), before the final LayerNorm")
    no_recurrent_state = ("a causal Transformer carries no recurrent state: each frame "
                          "attends to the keys and values of every earlier frame, so there "
                          "is no single state to perturb and run on, and no recurrent map "
                          "whose fixed points to find")

    def __init__(self, hidden_size: int, layers: int = 1, heads: int | None = None,
                 ffn_size: int | None = None,
                 positions: Literal["learned", "sinusoidal"] = "learned",
                 max_frames: int = 16):
        super().__init__(hidden_size)
        if positions not in ("learned", "sinusoidal"):
            raise WmgeomError(f"positions must be 'learned' or 'sinusoidal', got {positions!r}")
        if heads is None:
            heads = next(h for h in (4, 2, 1) if hidden_size % h == 0)
        if hidden_size % heads:
            raise WmgeomError(f"heads={heads} does not divide hidden_size={hidden_size}")
        if ffn_size is None:
            ffn_size = matched_width(
                lambda f: TransformerCore(hidden_size, layers, heads, f, positions, max_frames),
                gru_parameters(hidden_size))
        self.layers, self.heads, self.ffn_size = layers, heads, ffn_size
        self.positions, self.max_frames = positions, max_frames
        table = sinusoidal_positions(max_frames, hidden_size)
        if positions == "learned":
            self.position = nn.Parameter(table)
        else:
            self.register_buffer("position", table, persistent=False)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden_size, heads, ffn_size, dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(layers))
        self.norm = nn.LayerNorm(hidden_size)

    def residual(self, encodings: torch.Tensor) -> torch.Tensor:
        """The residual stream of the last block, ``[B, T, H]`` (the recorded state)."""
        t = encodings.shape[1]
        if t > self.max_frames:
            raise WmgeomError(f"the Transformer core covers {self.max_frames} frames, the "
                              f"trials have {t}; build it with max_frames >= {t}")
        x = encodings + self.position[:t].to(encodings.dtype)
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=x.device, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return x

    def forward(self, encodings: torch.Tensor) -> torch.Tensor:
        """The final LayerNorm of the residual stream: what the readout reads."""
        return self.norm(self.residual(encodings))

    def states(self, encodings: torch.Tensor) -> dict[str, torch.Tensor | None]:
        residual = self.residual(encodings)
        return {"hidden": residual, "cell": None, "output": self.norm(residual)}
