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
from wmgeom.models.registry import ARCHITECTURES, BACKBONES
from wmgeom.models.registry import architecture as architecture_of

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class SensoryCognitiveConfig(StrictModel):
    """The sensory-cognitive model of an N-back run.

    Attributes:
        backbone: A registered backbone (:data:`~wmgeom.models.registry.BACKBONES`).
        weights: None = ImageNet weights; a path to a state_dict file; or ``"random"``.
        architecture: A registered recurrent architecture (``rnn``, ``gru``, ``lstm``).
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
            raise ValueError(f"unknown architecture; choose one of {', '.join(ARCHITECTURES)}")
        return v


class SensoryCognitiveModel(nn.Module):
    """CNN map → 1×1 conv → FC + LayerNorm → RNN/GRU/LSTM → 3 actions.

    Args:
        in_channels: channels of the backbone map (2048 for ResNet50, 1280 for
            EfficientNet-Lite0).
        spatial: the map's spatial size, ``(7, 7)`` for 224×224 canvases.
        task_dim: length of the task vector (6 for the paper's task set).
        hidden_size: RNN units (paper: 512 vanilla RNN, 256 GRU/LSTM).
        architecture: a registered architecture: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
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
        self.architecture_info = info
        self.fused: bool | None = None  # encode through the product weight (None: if cheaper)
        self.hidden_size = hidden_size
        self.task_dim = task_dim
        self.backbone = backbone
        self.reduce = nn.Conv2d(in_channels, hidden_size, kernel_size=1)
        flat = hidden_size * spatial[0] * spatial[1]
        self.encoder = nn.Sequential(nn.Linear(flat + task_dim, hidden_size), nn.LayerNorm(hidden_size))
        self.rnn = info.module(hidden_size, hidden_size, batch_first=True, **info.kwargs)
        self.readout = nn.Linear(hidden_size, n_actions)
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

    # --- recurrence ---------------------------------------------------------------
    def forward(
        self, maps: torch.Tensor, task_vector: torch.Tensor, state0: State | None = None,
        frame_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Action logits ``[B, T, 3]`` for every frame (``maps`` and ``frame_index`` as in
        :meth:`encode`)."""
        out, _ = self.rnn(self.encode(maps, task_vector, frame_index), state0)
        return self.readout(out)

    def forward_images(self, images: torch.Tensor, task_vector: torch.Tensor) -> torch.Tensor:
        """Online mode: canvases ``[B, T, 3, 224, 224]`` in [0, 1] → logits ``[B, T, 3]``."""
        if self.backbone is None:
            raise WmgeomError("online mode needs a backbone; build the model with backbone=...")
        b, t = images.shape[:2]
        maps = self.backbone(images.flatten(0, 1))
        return self(maps.view(b, t, *maps.shape[1:]), task_vector)

    def run(
        self, encodings: torch.Tensor, state0: State | None = None
    ) -> dict[str, torch.Tensor | None]:
        """Step the RNN frame by frame and keep every state.

        Returns ``hidden`` ``[B, T, H]``, ``cell`` (LSTM) or None, ``logits`` ``[B, T, 3]``.
        """
        state = state0
        hidden, cell = [], []
        for t in range(encodings.shape[1]):
            out, state = self.rnn(encodings[:, t : t + 1], state)
            hidden.append(out[:, 0])
            if isinstance(state, tuple):
                cell.append(state[1][0])
        h = torch.stack(hidden, dim=1)
        return {
            "hidden": h,
            "cell": torch.stack(cell, dim=1) if cell else None,
            "logits": self.readout(h),
        }

    def step(self, state: torch.Tensor, encoding: torch.Tensor) -> torch.Tensor:
        """One step of the recurrent layer as a function of its state, ``F(state, encoding)``.

        ``state`` is ``[..., S]``: the hidden state (``S = H``) or, for an LSTM, ``(h, c)``
        concatenated (``S = 2H``); ``encoding`` is ``[..., H]``. Computed from the layer's
        weights with plain tensor operations (:mod:`wmgeom.models.cells`), so
        :mod:`torch.func` can differentiate and batch it: the fixed points of the
        dynamics (Sussillo & Barak 2013) are found from it.
        """
        r = self.rnn
        return self.architecture_info.cell(state, encoding, r.weight_ih_l0, r.weight_hh_l0,
                                           r.bias_ih_l0, r.bias_hh_l0)

    def rollout(self, state0: State, encodings: torch.Tensor) -> torch.Tensor:
        """Run on from a given state over ``encodings`` ``[B, T', H]``; action probabilities.

        ``state0`` is the hidden state ``[B, H]`` after some frame (a tuple ``(h, c)`` for
        an LSTM). Used by the causal perturbation analysis (A8, Fig. A7).
        """
        if isinstance(state0, tuple):
            state = (state0[0][None].contiguous(), state0[1][None].contiguous())
        else:
            state = state0[None].contiguous()
        out, _ = self.rnn(encodings, state)
        return self.readout(out).softmax(-1)
