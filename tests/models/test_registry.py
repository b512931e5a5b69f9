"""wmgeom.models.registry: architectures and frozen backbones by name, with their properties."""

import functools

import pytest
import torch
from torch import nn

from wmgeom.errors import WmgeomError
from wmgeom.models.registry import (
    ARCHITECTURES,
    BACKBONES,
    architecture,
    backbone,
    build_backbone,
)


@functools.cache
def random_backbone(name: str):
    """Each backbone built once per session, untrained (no weights are read or fetched)."""
    return build_backbone(name, weights="random")


# --------------------------------------------------------------------------- architectures


RECURRENT = ["rnn", "gru", "lstm"]


def test_registered_architectures():
    assert list(ARCHITECTURES) == ["rnn", "gru", "lstm", "transformer", "ssm"]
    assert {n: a.label for n, a in ARCHITECTURES.items()} == {
        "rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "transformer": "Transformer", "ssm": "SSM"}
    assert {n: ARCHITECTURES[n].module for n in RECURRENT} == {"rnn": nn.RNN, "gru": nn.GRU,
                                                                "lstm": nn.LSTM}
    assert all(a.name == n and a.state_kind for n, a in ARCHITECTURES.items())


def test_cell_state_only_for_lstm():
    assert [n for n, a in ARCHITECTURES.items() if a.has_cell_state] == ["lstm"]


def test_only_the_recurrent_cores_carry_their_recorded_state():
    assert [n for n, a in ARCHITECTURES.items() if a.recurrent] == RECURRENT
    for name in ("transformer", "ssm"):
        assert ARCHITECTURES[name].no_recurrent_state  # the reason the report quotes


def test_paper_sizes_gates_and_families():
    assert {n: a.paper_hidden_size for n, a in ARCHITECTURES.items()} == {
        "rnn": 512, "gru": 256, "lstm": 256, "transformer": None, "ssm": None}
    assert [n for n, a in ARCHITECTURES.items() if a.in_paper] == RECURRENT
    assert {n: a.gated for n, a in ARCHITECTURES.items()} == {
        "rnn": False, "gru": True, "lstm": True, "transformer": False, "ssm": True}
    assert {n: a.family for n, a in ARCHITECTURES.items()} == {
        "rnn": "vanilla RNN", "gru": "gated RNN", "lstm": "gated RNN",
        "transformer": "transformer", "ssm": "state space"}


@pytest.mark.parametrize("name", RECURRENT)
def test_properties_match_the_torch_layer(name):
    info = architecture(name)
    assert info is ARCHITECTURES[name]
    layer = info.module(3, 5, batch_first=True, **info.kwargs)
    _, state = layer(torch.zeros(2, 4, 3))
    assert isinstance(state, tuple) == info.has_cell_state  # LSTM returns (h, c)
    gates = layer.weight_hh_l0.shape[0] // 5  # gated layers stack one block per gate
    assert (gates > 1) == info.gated
    if name == "rnn":
        assert info.kwargs == {"nonlinearity": "tanh"} and layer.nonlinearity == "tanh"


def test_unknown_architecture_names_the_choices():
    with pytest.raises(WmgeomError) as exc:
        architecture("mamba")
    assert str(exc.value) == ("unknown architecture 'mamba'; choose one of rnn, gru, lstm, "
                              "transformer, ssm.")


# --------------------------------------------------------------------------- backbones


def test_registered_backbones():
    assert list(BACKBONES) == ["efficientnet_lite0", "resnet50"]
    assert backbone("resnet50") is BACKBONES["resnet50"]
    assert {n: (b.channels, b.spatial, b.offline) for n, b in BACKBONES.items()} == {
        "efficientnet_lite0": (1280, (7, 7), True), "resnet50": (2048, (7, 7), False)}
    assert all(b.name == n and b.description for n, b in BACKBONES.items())


@pytest.mark.parametrize("call", [backbone, build_backbone])
def test_unknown_backbone_names_the_choices(call):
    with pytest.raises(WmgeomError) as exc:
        call("vgg")
    assert str(exc.value) == "unknown backbone 'vgg'; choose one of efficientnet_lite0, resnet50."


def test_efficientnet_lite0_random_is_frozen_and_maps_to_the_registered_shape():
    net = random_backbone("efficientnet_lite0")
    info = backbone("efficientnet_lite0")
    assert net.spec.name == "efficientnet_lite0" and net.spec.weights == "random"
    assert not any(p.requires_grad for p in net.parameters())
    net.train()  # frozen: batch norm stays in eval mode
    assert not any(m.training for m in net.modules())
    with torch.no_grad():
        fmap = net(torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert tuple(fmap.shape) == (1, info.channels, *info.spatial)
    assert torch.isfinite(fmap).all() and fmap.std() > 0


@pytest.mark.parametrize("name", list(BACKBONES))
def test_registered_shape_matches_the_builders_spec(name):
    spec = random_backbone(name).spec
    assert spec.name == name
    assert spec.channels == BACKBONES[name].channels
    assert spec.spatial == BACKBONES[name].spatial


def test_no_module_tests_an_architecture_by_name():
    """Questions about an architecture are answered by registry properties; its name
    appears outside the registry only as a configuration default."""
    import re
    from pathlib import Path

    src = Path(__file__).parents[2] / "src" / "wmgeom"
    default = re.compile(r'architecture\w*(: str)? = "\w+"|"architecture": "\w+"')
    offending = []
    names = "|".join(ARCHITECTURES)
    for path in src.rglob("*.py"):
        if (path.name == "registry.py" and path.parent.name == "models") or \
                path.parent.name == "cores":  # where each core declares its name
            continue
        for k, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(rf'["\']({names})["\']', code) and not default.search(code) \
                    and not code.lstrip().startswith(("architecture:", "``")):
                offending.append(f"{path.relative_to(src)}:{k}: {line.strip()}")
    assert not offending, offending


@pytest.mark.parametrize("name", RECURRENT)
@pytest.mark.parametrize("input_size, hidden_size", [(7, 5), (16, 16), (32, 12)])
def test_recurrent_parameters_count_what_torch_builds(name, input_size, hidden_size):
    info = ARCHITECTURES[name]
    layer = info.module(input_size, hidden_size, batch_first=True, **info.kwargs)
    assert info.recurrent_parameters(input_size, hidden_size) == \
        sum(p.numel() for p in layer.parameters())
