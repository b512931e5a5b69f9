"""Causal test: move first-frame hidden states along a decoder normal (Lei et al. 2024, Fig. A7).

Lei et al. 2024 subsample match trials, fit two-way decoders and shift the hidden state of the
first stimulus along the decoder's normal by a range of distances; the network is then run
on over the remaining frames and the probabilities of its three actions are read out. If
the decoded subspace is used by the network, ``match`` falls and ``no action`` rises as
the state crosses the decision hyperplane.

Decoders from :mod:`wmgeom.analysis.decoders` already return normals in the model's own
coordinates (the per-fold standardisation is undone), so they can be used here directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from wmgeom.errors import WmgeomError
from wmgeom.tasks.vocabulary import ACTIONS

__all__ = ["causal_perturbation"]


State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def causal_perturbation(
    hidden_first_frame: State | np.ndarray,
    normal: Any,
    distances: Sequence[float],
    rollout: Callable[[State], Any],
    *,
    normalize: bool = True,
    actions: Sequence[str] = ACTIONS,
) -> pd.DataFrame:
    """Shift first-frame hidden states along a decoder normal and read out the actions.

    All distances are run as one batch: the states ``h + d * n`` for every distance ``d``
    are stacked and passed to ``rollout`` once.

    Args:
        hidden_first_frame: Hidden states after the first stimulus, ``[B, H]`` (tensor or
            array), or an LSTM state tuple ``(h, c)`` (only ``h`` is moved).
        normal: Decoder normal ``[H]`` in the model's coordinates (e.g. a row of
            :attr:`LinearDecoder.coef_`).
        distances: Signed distances to move, in units of the normalised normal (or of the
            raw normal when ``normalize=False``).
        rollout: Callable taking the perturbed state (same form as ``hidden_first_frame``,
            batch ``len(distances) * B``) and returning action probabilities
            ``[len(distances) * B, T', n_actions]`` for the remaining ``T'`` frames.
        normalize: Move along the unit normal (Lei et al. 2024: "normalised norm vector").
        actions: Names of the action axis.

    Returns:
        One row per distance × remaining frame × action. Columns: ``distance``, ``step``
        (0 = the first frame after the perturbed one), ``action``, ``probability`` (mean over
        trials), ``std`` (over trials), ``n_trials``.

    Raises:
        WmgeomError: If the normal does not match the hidden size, is zero, or ``rollout``
            returns the wrong shape.
    """
    is_tuple = isinstance(hidden_first_frame, tuple)
    h = hidden_first_frame[0] if is_tuple else hidden_first_frame
    h = torch.as_tensor(h)
    if h.ndim != 2:
        raise WmgeomError(f"hidden states must be [batch, hidden]; got shape {tuple(h.shape)}")
    B, H = h.shape
    w = torch.as_tensor(np.asarray(normal, dtype=np.float64)).to(h.dtype).to(h.device)
    if w.shape != (H,):
        raise WmgeomError(f"the decoder normal has shape {tuple(w.shape)} but the hidden size "
                          f"is {H}; use a decoder fitted on these hidden states")
    norm = w.norm()
    if float(norm) == 0.0:
        raise WmgeomError("the decoder normal is zero; refit the decoder on informative states")
    direction = w / norm if normalize else w
    dist = torch.as_tensor(np.asarray(distances, dtype=np.float64)).to(h.dtype).to(h.device)
    if dist.ndim != 1 or len(dist) == 0:
        raise WmgeomError("distances must be a non-empty list of numbers")
    moved = (h[None] + dist[:, None, None] * direction).reshape(len(dist) * B, H)
    if is_tuple:
        rest = tuple(torch.as_tensor(x).repeat(len(dist), *([1] * (torch.as_tensor(x).ndim - 1)))
                     for x in hidden_first_frame[1:])
        state: State = (moved, *rest)  # type: ignore[assignment]
    else:
        state = moved
    with torch.no_grad():
        probs = torch.as_tensor(rollout(state)).detach().to(torch.float64).cpu().numpy()
    if probs.ndim != 3 or probs.shape[0] != len(dist) * B or probs.shape[2] != len(actions):
        raise WmgeomError(f"rollout returned shape {probs.shape}; expected "
                          f"[{len(dist) * B}, steps, {len(actions)}] action probabilities")
    probs = probs.reshape(len(dist), B, probs.shape[1], len(actions))
    mean, std = probs.mean(1), probs.std(1)  # [n_dist, T', A]
    n_d, T_, A = mean.shape
    d_idx, t_idx, a_idx = np.meshgrid(np.arange(n_d), np.arange(T_), np.arange(A), indexing="ij")
    return pd.DataFrame({
        "distance": dist.cpu().numpy()[d_idx.ravel()],
        "step": t_idx.ravel(),
        "action": np.asarray(actions)[a_idx.ravel()],
        "probability": mean.ravel(),
        "std": std.ravel(),
        "n_trials": B,
    })
