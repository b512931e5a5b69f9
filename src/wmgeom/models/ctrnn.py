"""Continuous-time rate RNN, Euler-discretised (Cueva et al. 2021).

Two variants of the same dynamics (``variant``):

- ``"rate"`` (default) integrates firing rates directly::

      τ dr/dt = −r + f(W r + W_in u + b + η),   r_{t+1} = (1 − α) r_t + α f(·),   α = dt/τ

- ``"current"`` integrates the input current ``x`` and reads rates through ``f``::

      τ dx/dt = −x + W r + W_in u + b + η,      r = f(x)

``η`` is firing-rate noise: independent Gaussian noise of standard deviation
``σ · sqrt(2/α)`` per step, so that the noise the rates receive per unit of time does not
depend on ``dt``. ``f`` is the rectified tanh ``max(0, tanh x)`` by default. The initial
state is learned; the readout is linear in the rates. Rate regularisation
``λ · mean(r²)`` is returned by :meth:`CTRNN.rate_regularization`.

Defaults and their rationale are in ``docs/orientation.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from pydantic import Field, ValidationError
from torch import nn

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError, format_validation_error

NONLINEARITIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "retanh": lambda x: torch.relu(torch.tanh(x)),
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": nn.functional.softplus,
    "sigmoid": torch.sigmoid,
}
"""Nonlinearities by name; ``retanh`` is the rectified tanh ``max(0, tanh x)``."""


class CTRNNConfig(StrictModel):
    """Hyper-parameters of :class:`CTRNN` (sizes of input and output come from the task)."""

    n_units: int = Field(100, ge=1, description="recurrent units")
    tau: float = Field(100.0, gt=0, description="time constant τ (ms)")
    dt: float = Field(20.0, gt=0, description="Euler step (ms); should match the task's")
    nonlinearity: Literal["retanh", "tanh", "relu", "softplus", "sigmoid"] = "retanh"
    variant: Literal["rate", "current"] = "rate"
    rate_noise: float = Field(0.05, ge=0, description="firing-rate noise σ")
    rate_l2: float = Field(1e-3, ge=0, description="rate regularisation λ on mean(r²)")
    recurrent_gain: float = Field(
        0.9, ge=0, description="initial W = gain × random orthogonal matrix"
    )
    learn_initial_state: bool = True


class CTRNN(nn.Module):
    """Euler-discretised continuous-time rate network (Cueva et al. 2021).

    Args:
        n_inputs: input dimension (``task.n_inputs``).
        n_outputs: readout dimension (``task.n_outputs``).
        config: a :class:`CTRNNConfig`; keyword overrides are applied on top.
        **overrides: any field of :class:`CTRNNConfig`.

    Attributes:
        recurrent: ``nn.Linear(n_units, n_units)``; ``recurrent.weight[i, j]`` is the
            connection from unit ``j`` to unit ``i``, ``recurrent.bias`` is ``b``.
        input: ``nn.Linear(n_inputs, n_units, bias=False)`` (``W_in``).
        readout: ``nn.Linear(n_units, n_outputs)``.
        initial_state: learned ``[n_units]`` parameter (pre-nonlinearity).
    """

    def __init__(
        self, n_inputs: int, n_outputs: int, config: CTRNNConfig | None = None, **overrides
    ) -> None:
        super().__init__()
        base = config.model_dump() if config is not None else {}
        try:
            self.config = CTRNNConfig(**{**base, **overrides})
        except ValidationError as exc:
            raise WmgeomError(format_validation_error(exc, "CTRNN")) from None
        if n_inputs < 1 or n_outputs < 1:
            raise WmgeomError(
                f"CTRNN needs at least one input and one output, got {n_inputs} and {n_outputs}"
            )
        c = self.config
        if c.dt > c.tau:
            raise WmgeomError(
                f"CTRNN dt ({c.dt} ms) exceeds tau ({c.tau} ms); Euler integration would be "
                "unstable: choose dt <= tau"
            )
        self.n_inputs, self.n_outputs, self.n_units = n_inputs, n_outputs, c.n_units
        self.alpha = c.dt / c.tau
        self.f = NONLINEARITIES[c.nonlinearity]
        self.input = nn.Linear(n_inputs, c.n_units, bias=False)
        self.recurrent = nn.Linear(c.n_units, c.n_units)
        self.readout = nn.Linear(c.n_units, n_outputs)
        self.initial_state = nn.Parameter(
            torch.zeros(c.n_units), requires_grad=c.learn_initial_state
        )
        with torch.no_grad():
            nn.init.orthogonal_(self.recurrent.weight, gain=c.recurrent_gain)
            self.recurrent.bias.zero_()
            nn.init.normal_(self.input.weight, std=1.0 / math.sqrt(n_inputs))

    def forward(
        self, inputs: torch.Tensor, noise: bool = True, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network over a batch of input sequences.

        Args:
            inputs: ``[B, T, n_inputs]``.
            noise: add firing-rate noise (turn off for noise-free analysis states).
            generator: optional torch generator for the noise (reproducible recording).

        Returns:
            ``(outputs [B, T, n_outputs], rates [B, T, n_units])``.
        """
        if inputs.dim() != 3 or inputs.shape[-1] != self.n_inputs:
            raise WmgeomError(
                f"CTRNN expects inputs [batch, time, {self.n_inputs}], got {tuple(inputs.shape)}"
            )
        B, T, _ = inputs.shape
        a, c = self.alpha, self.config
        drive = self.input(inputs) + self.recurrent.bias  # [B, T, N], all steps at once
        sigma = c.rate_noise * math.sqrt(2.0 / a) if noise and c.rate_noise > 0 else 0.0
        if sigma:
            drive = drive + sigma * torch.randn(
                drive.shape, generator=generator, device=drive.device, dtype=drive.dtype
            )
        x = self.initial_state.expand(B, -1)
        r = self.f(x)
        rates = []
        if c.variant == "rate":
            for t in range(T):
                r = self._advance(r, drive[:, t])
                rates.append(r)
        else:
            for t in range(T):
                x = self._advance(x, drive[:, t])
                r = self.f(x)
                rates.append(r)
        rates = torch.stack(rates, dim=1)
        return self.readout(rates), rates

    def _advance(self, state: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """One Euler step of the state (rates or currents, by ``variant``) under ``drive``."""
        a, W = self.alpha, self.recurrent.weight.t()
        if self.config.variant == "rate":
            return (1.0 - a) * state + a * self.f(state @ W + drive)
        return (1.0 - a) * state + a * (self.f(state) @ W + drive)

    def step(self, state: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """One noise-free Euler step as a function of the state, ``F(state, inputs)``.

        ``state`` is ``[..., n_units]``: the rates (``variant="rate"``) or the input
        currents (``"current"``, rates ``f(state)``); ``inputs`` is ``[..., n_inputs]``. Plain
        tensor operations, so :mod:`torch.func` can differentiate and batch it (the fixed
        points of the dynamics, Sussillo & Barak 2013).
        """
        return self._advance(state, self.input(inputs) + self.recurrent.bias)

    def rate_regularization(self, rates: torch.Tensor) -> torch.Tensor:
        """``λ · mean(r²)`` over batch, time and units."""
        return self.config.rate_l2 * rates.pow(2).mean()


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked entries (the two-orientation task's loss)."""
    return ((outputs - targets).pow(2) * mask).sum() / mask.sum().clamp_min(1.0)


def orientation_loss(model: CTRNN, batch) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss for the two-orientation task: masked MSE + rate regularisation.

    Follows the trainer's ``loss_fn(model, batch) -> (loss, metrics)`` contract; ``batch`` is
    an :class:`~wmgeom.tasks.orientation.OrientationBatch`.
    """
    device = next(model.parameters()).device
    inputs = torch.as_tensor(batch.inputs, device=device)
    targets = torch.as_tensor(batch.targets, device=device)
    mask = torch.as_tensor(batch.mask, device=device)
    outputs, rates = model(inputs)
    mse = masked_mse(outputs, targets, mask)
    reg = model.rate_regularization(rates)
    loss = mse + reg
    return loss, {"mse": float(mse.detach()), "rate_reg": float(reg.detach())}


def run_trials(model: CTRNN, inputs: np.ndarray, noise: bool, seed: int = 0
               ) -> dict[str, np.ndarray]:
    """Run ``model`` on input sequences ``[B, T, n_inputs]``; ``rates``, ``outputs`` (numpy).

    The firing-rate noise (when ``noise``) is drawn from a generator seeded with ``seed``,
    so a recording is reproducible and leaves the global random state alone.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        out, rates = model(torch.as_tensor(inputs, device=device), noise=noise, generator=gen)
    return {"rates": rates.cpu().numpy(), "outputs": out.cpu().numpy()}
