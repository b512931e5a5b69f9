"""The sensory-cognitive model of Lei et al. 2024, §3.

Frozen CNN spatial map ``[C, 7, 7]`` → trainable 1×1 convolution to the hidden size →
flatten (never globally pooled, so location survives) → concatenate the task vector →
fully connected layer to the hidden size + LayerNorm (the *encoding* fed to the RNN)
→ vanilla ``tanh`` RNN, GRU or LSTM → linear readout to the three actions.

The model normally reads backbone maps from the feature cache (``forward``); with a
``backbone`` attached it can also take raw canvases (``forward_images``, online mode).
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator
from torch import nn

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError
from wmgeom.models.cores.base import State
from wmgeom.models.registry import ARCHITECTURES, BACKBONES
from wmgeom.models.registry import architecture as architecture_of


class SensoryCognitiveConfig(StrictModel):
    """The sensory-cognitive model of an N-back run.

    Attributes:
        backbone: A registered backbone (:data:`~wmgeom.models.registry.BACKBONES`).
        weights: None = ImageNet weights; a path to a state_dict file; or ``"random"``.
        architecture: A registered core (:data:`~wmgeom.models.registry.ARCHITECTURES`).
        hidden_size: Recurrent units (Lei et al. 2024: 512 vanilla RNN, 256 GRU/LSTM).
        channel_components: PCA of the backbone's channels before the 1×1 convolution
            (None keeps all channels).
        online: Run the backbone in the training loop instead of reading the cache.
    """

    backbone: str = "efficientnet_lite0"
    weights: str | None = Field(
        None, description="None = ImageNet weights; a path to a state_dict file; or 'random'"
    )
    architecture: str = "gru"
    hidden_size: int = Field(128, ge=1)
    channel_components: int | None = Field(
        128, ge=1, description="PCA of backbone channels before the 1x1 conv; None keeps all"
    )
    online: bool = Field(False, description="run the backbone in the loop instead of the cache")

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, v: str) -> str:
        if v not in BACKBONES:
            raise ValueError(f"unknown backbone; choose one of {', '.join(BACKBONES)}")
        return v

    @field_validator("architecture")
    @classmethod
    def _known_architecture(cls, v: str) -> str:
        if v not in ARCHITECTURES:
            raise ValueError(f"unknown architecture '{v}'; choose one of "
                             f"{', '.join(ARCHITECTURES)}")
        return v


class SensoryCognitiveModel(nn.Module):
    """CNN map → 1×1 conv → FC + LayerNorm → core → 3 actions.

    Args:
        in_channels: channels of the backbone map (2048 for ResNet50, 1280 for
            EfficientNet-Lite0).
        spatial: the map's spatial size, ``(7, 7)`` for 224×224 canvases.
        task_dim: length of the task vector (6 for the paper's task set).
        hidden_size: width of the encodings and the core's state (paper: 512 vanilla RNN,
            256 GRU/LSTM).
        architecture: a registered core (:data:`~wmgeom.models.registry.ARCHITECTURES`).
        n_actions: readout size (no action, non-match, match).
        backbone: optional frozen backbone for online mode.
    """

    def __init__(
        self,
        in_channels: int,
        spatial: tuple[int, int],
        task_dim: int,
        hidden_size: int,
        architecture: str = "gru",
        n_actions: int = 3,
        backbone: nn.Module | None = None,
    ):
        super().__init__()
        info = architecture_of(architecture)
        if hidden_size < 1:
            raise WmgeomError(f"hidden_size must be a positive integer, got {hidden_size}.")
        self.architecture = architecture
        self.fused: bool | None = None  # encode through the product weight (None: if cheaper)
        self.hidden_size = hidden_size
        self.task_dim = task_dim
        self.backbone = backbone
        self.reduce = nn.Conv2d(in_channels, hidden_size, kernel_size=1)
        flat = hidden_size * spatial[0] * spatial[1]
        self.encoder = nn.Sequential(nn.Linear(flat + task_dim, hidden_size), nn.LayerNorm(hidden_size))
        self.core = info(hidden_size)
        self.readout = nn.Linear(hidden_size, n_actions)
        self._register_load_state_dict_pre_hook(_renamed_recurrent_layer)

    @property
    def architecture_info(self) -> type:
        """The core's registered class (its properties)."""
        return type(self.core)

    # --- encoding -----------------------------------------------------------------
    def encode(self, maps: torch.Tensor, task_vector: torch.Tensor,
               frame_index: torch.Tensor | None = None) -> torch.Tensor:
        """Backbone maps + task vector ``[B, D]`` → encodings ``[B, T, H]``.

        ``maps`` is ``[B, T, C, h, w]``, one map per frame; or, with ``frame_index``
        ``[B, T]``, ``[U, C, h, w]``: the distinct frames of the batch, which ``frame_index``
        points into. A batch of N-back trials shows the same (image, location) pairs many
        times (128 trials × 6 frames of the quick profile hold about 400 distinct ones), and
        the map's part of the encoding is a function of the frame alone: it is computed once
        per distinct frame and gathered, the same function and the same gradients (summed
        over the frames that share a map) in about half the arithmetic.

        The 1×1 convolution and the fully connected layer are both linear, so
        ``FC(flatten(conv(m)))`` equals one linear map of the flattened backbone map whose
        weight is the product of the two (``W_fc[h, k, p] · W_conv[k, c]`` summed over the
        convolution's output channels ``k``). When the product is the cheaper way — fewer
        backbone channels than the FC's input holds per pixel, as with the quick profile's
        channel PCA — it is computed once per call and applied to every frame: the same
        function and the same gradients with respect to both layers' weights, in about half
        the arithmetic. Otherwise the layers run one after the other. The task vector's part
        is computed once per trial.
        """
        if frame_index is None:
            b, t = maps.shape[:2]
            frame_index = torch.arange(b * t, device=maps.device).view(b, t)
            maps = maps.flatten(0, 1)
        fc, norm = self.encoder[0], self.encoder[1]
        # one split of the FC's weight (two slices would each add a weight-sized gradient)
        w_map, w_task = fc.weight.split([fc.in_features - task_vector.shape[-1],
                                         task_vector.shape[-1]], dim=1)
        z = self.encode_maps(maps, w_map)[frame_index]  # [B, T, out]
        z = z + (task_vector.to(z.dtype) @ w_task.T)[:, None, :]
        return norm(z)

    def encode_maps(self, maps: torch.Tensor, w_map: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """The map's part of the encoding before the LayerNorm, ``[U, C, h, w]`` → ``[U, H]``:
        ``FC(flatten(conv(m)))`` with the FC's bias, without the task vector's part
        (``w_map``: the FC's weight columns that read the map, if already split off)."""
        n, c = maps.shape[:2]
        pixels = maps.shape[2] * maps.shape[3]
        fc = self.encoder[0]
        k, out = self.hidden_size, fc.out_features
        fused = self.fused if self.fused is not None else \
            c * out + out * k * c / max(n, 1) < c * k + k * out  # MACs per map and pixel
        if w_map is None:
            w_map = fc.weight[:, : k * pixels]
        if fused:
            w_conv = self.reduce.weight[:, :, 0, 0]  # [k, c]
            w_okp = w_map.view(out, k, pixels)
            b_eff = fc.bias + w_okp.sum(-1) @ self.reduce.bias
            if maps.permute(0, 2, 3, 1).is_contiguous():  # channels last: pixels, then channels
                w_eff = (w_okp.transpose(1, 2).reshape(out * pixels, k) @ w_conv).view(out, -1)
                flat = maps.permute(0, 2, 3, 1).reshape(n, pixels * c)
            else:
                w_eff = torch.einsum("okp,kc->ocp", w_okp, w_conv).reshape(out, -1)
                flat = maps.reshape(n, c * pixels)
            return flat.to(w_eff.dtype) @ w_eff.T + b_eff
        z = self.reduce(maps.to(self.reduce.weight.dtype)).flatten(1)
        return z @ w_map.T + fc.bias

    # --- the core -----------------------------------------------------------------
    def forward(
        self, maps: torch.Tensor, task_vector: torch.Tensor,
        frame_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Action logits ``[B, T, 3]`` for every frame (``maps`` and ``frame_index`` as in
        :meth:`encode`)."""
        return self.readout(self.core(self.encode(maps, task_vector, frame_index)))

    def forward_images(self, images: torch.Tensor, task_vector: torch.Tensor) -> torch.Tensor:
        """Online mode: canvases ``[B, T, 3, 224, 224]`` in [0, 1] → logits ``[B, T, 3]``."""
        if self.backbone is None:
            raise WmgeomError("online mode needs a backbone; build the model with backbone=...")
        b, t = images.shape[:2]
        maps = self.backbone(images.flatten(0, 1))
        return self(maps.view(b, t, *maps.shape[1:]), task_vector)

    def run(self, encodings: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """Every recorded state of the core (:meth:`~wmgeom.models.cores.Core.states`).

        Returns ``hidden`` ``[B, T, H]`` (the core's ``state_kind``), ``cell`` (LSTM) or
        None, ``logits`` ``[B, T, 3]``.
        """
        res = self.core.states(encodings)
        output = res.pop("output", None)
        return {**res, "logits": self.readout(res["hidden"] if output is None else output)}

    def step(self, state: torch.Tensor, encoding: torch.Tensor) -> torch.Tensor:
        """One step of the core as a function of its carried state, ``F(state, encoding)``.

        ``state`` is ``[..., S]``: the hidden state (``S = H``) or, for an LSTM, ``(h, c)``
        concatenated (``S = 2H``); ``encoding`` is ``[..., H]``. Computed with plain tensor
        operations, so :mod:`torch.func` can differentiate and batch it: the fixed points of
        the dynamics (Sussillo & Barak 2013) are found from it.

        Raises:
            WmgeomError: For a core without a recurrent state (its ``no_recurrent_state``).
        """
        return self.core.step(state, encoding)

    def rollout(self, state0: State, encodings: torch.Tensor) -> torch.Tensor:
        """Run on from a given state over ``encodings`` ``[B, T', H]``; action probabilities.

        ``state0`` is the hidden state ``[B, H]`` after some frame (a tuple ``(h, c)`` for
        an LSTM). Used by the causal perturbation analysis (A8, Fig. A7).

        Raises:
            WmgeomError: For a core without a recurrent state (its ``no_recurrent_state``).
        """
        return self.readout(self.core.rollout(state0, encodings)).softmax(-1)


def _renamed_recurrent_layer(state_dict, prefix, *args) -> None:
    """Checkpoints written before the core interface name the recurrent layer ``rnn.*``; it
    is ``core.rnn.*`` now."""
    old = prefix + "rnn."
    for key in [k for k in state_dict if k.startswith(old)]:
        state_dict[prefix + "core.rnn." + key[len(old):]] = state_dict.pop(key)
