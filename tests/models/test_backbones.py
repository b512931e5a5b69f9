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


def test_missing_weights_message_names_both_options(tmp_path):
    with pytest.raises(WmgeomError, match="--weights FILE.*efficientnet_lite0"):
        build_backbone("resnet50", weights=str(tmp_path / "nope.pth"))


def test_resnet50_without_internet_or_cache_names_both_options(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # empty torch hub cache
    from torchvision.models import ResNet50_Weights

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(ResNet50_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)
    with pytest.raises(WmgeomError, match="--weights FILE.*efficientnet_lite0"):
        build_backbone("resnet50")


def test_corrupt_weights_file(tmp_path):
    path = tmp_path / "bad.pth"
    path.write_bytes(b"garbage")
    with pytest.raises(WmgeomError, match="could not read weights file"):
        build_backbone("resnet50", weights=str(path))


def test_wrong_weights_file(tmp_path):
    path = tmp_path / "small.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(WmgeomError, match="does not fit"):
        build_backbone("efficientnet_lite0", weights=str(path))


def test_unknown_backbone():
    with pytest.raises(WmgeomError, match="unknown backbone 'vgg'.*efficientnet_lite0"):
        build_backbone("vgg")
