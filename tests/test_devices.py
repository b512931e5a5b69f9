"""One device resolver for every stage."""

import pytest
import torch

from wmgeom.devices import resolve_device
from wmgeom.errors import WmgeomError


def test_auto_and_cpu():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device(None).type in {"cpu", "cuda"}
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_names_the_fix():
    with pytest.raises(WmgeomError, match="no CUDA GPU is available; use device 'cpu'"):
        resolve_device("cuda")


@pytest.mark.parametrize("name", ["tpu9", "banana", "meta"])
def test_unknown_or_unsupported_device(name):
    with pytest.raises(WmgeomError, match=f"'{name}'"):
        resolve_device(name)
