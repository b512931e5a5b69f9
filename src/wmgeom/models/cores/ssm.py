"""A state-space core in plain PyTorch: linear recurrent units (Orvieto et al. 2023).

Each layer runs a diagonal complex linear recurrence over frames on its (LayerNormed) input
``u_t``,

    x_t = λ ⊙ x_{t−1} + γ ⊙ (B u_t),   λ = exp(−exp(ν) + i·exp(θ)),   x_{−1} = 0,

with ``N`` complex state channels (``|λ| < 1`` by construction, γ = √(1 − |λ|²) at
initialisation), reads it out as ``y_t = Re(C x_t) + D ⊙ u_t``, and adds a gated
nonlinearity to its residual stream: ``o_t = u_t + GLU(GELU(y_t))``, where
``GLU(z) = W_a z ⊙ σ(W_b z)``. The recurrence is computed for all frames at once as a
causal convolution with the kernel ``λ^(t−s)``, ``s ≤ t`` (a trial has a few frames), in
real arithmetic (so bfloat16 autocast applies); mamba-ssm's selective scan is CUDA-only.

The recorded state at frame ``t`` is the last layer's output ``o_t`` (what the readout
reads), not the carried state ``x_t``.

Size rule: unless ``state_size`` is given, ``N`` is the number of complex channels that
brings the core's parameters closest to a one-layer GRU's at the same hidden size
(:func:`~wmgeom.models.cores.base.gru_parameters`, ``6H² + 6H``): a layer holds
``4NH + 3N`` in its recurrence and ``2H² + 5H`` around it, so ``N ≈ H`` for one layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from wmgeom.models.cores.base import Core, gru_parameters, matched_width, register_core

__all__ = ["LRULayer", "SSMCore"]


class LRULayer(nn.Module):
    """One linear recurrent unit with its gated residual block (module docstring).

    Args:
        hidden_size: Width ``H`` of its input and output.
        state_size: Complex state channels ``N``.
        r_min, r_max: Range of ``|λ|`` at initialisation (sampled uniformly on the ring).
        max_phase: Largest ``arg λ`` at initialisation.
    """

    def __init__(self, hidden_size: int, state_size: int, r_min: float = 0.5,
                 r_max: float = 0.99, max_phase: float = math.pi):
        super().__init__()
        h, n = hidden_size, state_size
        u1, u2 = torch.rand(n), torch.rand(n)
        radius = torch.sqrt(u1 * (r_max**2 - r_min**2) + r_min**2)
        self.nu_log = nn.Parameter(torch.log(-torch.log(radius)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2 + 1e-4))
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - radius**2)))
        self.B = nn.Parameter(torch.randn(2, n, h) / math.sqrt(2 * h))  # real, imaginary
        self.C = nn.Parameter(torch.randn(2, h, n) / math.sqrt(n))
        self.D = nn.Parameter(torch.randn(h))
        self.norm = nn.LayerNorm(h)
        self.glu = nn.Linear(h, 2 * h)

    def kernel(self, frames: int, device: torch.device | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts of ``λ^(t−s)`` for ``s ≤ t`` (0 above), ``[T, T, N]``."""
        lag = torch.arange(frames, device=device)
        lag = (lag[:, None] - lag[None, :]).float()[..., None]
        causal = (lag >= 0).float()
        lag = lag.clamp(min=0)
        magnitude = torch.exp(-lag * torch.exp(self.nu_log)) * causal
        phase = lag * torch.exp(self.theta_log)
        return magnitude * torch.cos(phase), magnitude * torch.sin(phase)

    def carried_state(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The recurrence's state ``x_t`` ``[B, T, N]`` (real, imaginary) of inputs ``u``."""
        gamma = torch.exp(self.gamma_log)
        v_re, v_im = gamma * (u @ self.B[0].T), gamma * (u @ self.B[1].T)
        k_re, k_im = self.kernel(u.shape[1], u.device)
        k_re, k_im = k_re.to(v_re.dtype), k_im.to(v_re.dtype)
        x_re = torch.einsum("tsn,bsn->btn", k_re, v_re) - torch.einsum("tsn,bsn->btn", k_im, v_im)
        x_im = torch.einsum("tsn,bsn->btn", k_re, v_im) + torch.einsum("tsn,bsn->btn", k_im, v_re)
        return x_re, x_im

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``o_t = u_t + GLU(GELU(Re(C x_t) + D ⊙ û_t))``, ``û`` the LayerNormed input."""
        z = self.norm(u)
        x_re, x_im = self.carried_state(z)
        y = x_re @ self.C[0].T - x_im @ self.C[1].T + self.D * z
        a, b = self.glu(F.gelu(y)).chunk(2, -1)
        return u + a * torch.sigmoid(b)


@register_core
class SSMCore(Core):
    """A stack of linear recurrent units (module docstring).

    Args:
        hidden_size: Width ``H`` of the encodings and of the recorded state.
        layers: Stacked layers.
        state_size: Complex state channels per layer; None matches the GRU's parameter
            count.
    """

    name, label, family, gated = "ssm", "SSM", "state space", True
    state_kind = ("output of the last linear-recurrent-unit layer at the frame: its input "
                  "plus GLU(GELU(Re(C x_t) + D u_t)), a gated readout of the diagonal "
                  "complex recurrence x_t = λ x_(t-1) + γ B u_t (x_t itself is not "
                  "recorded)")
    no_recurrent_state = ("the SSM core's recorded state is its layer's output, a gated "
                          "nonlinear readout of the carried state x_t that no later frame "
                          "reads back, so moving it changes nothing downstream; and its "
                          "recurrence is linear and diagonal, with one fixed point per input "
                          "(γ B u / (1 − λ)) stable by construction")

    def __init__(self, hidden_size: int, layers: int = 1, state_size: int | None = None):
        super().__init__(hidden_size)
        if state_size is None:
            state_size = matched_width(lambda n: SSMCore(hidden_size, layers, n),
                                       gru_parameters(hidden_size))
        self.layers, self.state_channels = layers, state_size
        self.blocks = nn.ModuleList(LRULayer(hidden_size, state_size) for _ in range(layers))

    def forward(self, encodings: torch.Tensor) -> torch.Tensor:
        x = encodings
        for block in self.blocks:
            x = block(x)
        return x
