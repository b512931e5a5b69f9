import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig, SensoryCognitiveModel


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm", "transformer", "ssm"])
def test_shapes_and_recorded_states(arch):
    torch.manual_seed(0)
    m = SensoryCognitiveModel(16, (7, 7), task_dim=6, hidden_size=8, architecture=arch)
    maps, task = torch.randn(3, 6, 16, 7, 7), torch.zeros(3, 6)
    logits = m(maps, task)
    assert logits.shape == (3, 6, 3)
    res = m.run(m.encode(maps, task))
    assert res["hidden"].shape == (3, 6, 8)
    assert (res["cell"] is not None) == (arch == "lstm")
    # frame-by-frame recording equals the fused sequence call
    torch.testing.assert_close(res["logits"], logits)


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_rollout_continues_from_a_state(arch):
    torch.manual_seed(0)
    m = SensoryCognitiveModel(4, (7, 7), task_dim=6, hidden_size=5, architecture=arch)
    enc = m.encode(torch.randn(2, 6, 4, 7, 7), torch.zeros(2, 6))
    res = m.run(enc)
    state = res["hidden"][:, 0] if arch == "gru" else (res["hidden"][:, 0], res["cell"][:, 0])
    probs = m.rollout(state, enc[:, 1:])
    torch.testing.assert_close(probs, res["logits"][:, 1:].softmax(-1))


def test_location_survives_the_encoder():
    """No global pooling: the same feature at two locations gives different encodings."""
    torch.manual_seed(0)
    m = SensoryCognitiveModel(4, (7, 7), task_dim=6, hidden_size=8)
    a = torch.zeros(1, 1, 4, 7, 7)
    b = torch.zeros(1, 1, 4, 7, 7)
    a[..., 1, 1] = 1.0
    b[..., 5, 5] = 1.0
    task = torch.zeros(1, 6)
    assert not torch.allclose(m.encode(a, task), m.encode(b, task))


def test_errors():
    with pytest.raises(WmgeomError) as exc:
        SensoryCognitiveModel(4, (7, 7), 6, 8, architecture="mamba")
    assert str(exc.value) == ("unknown architecture 'mamba'; choose one of rnn, gru, lstm, "
                              "transformer, ssm.")
    with pytest.raises(ValueError, match="unknown architecture 'mamba'; choose one of rnn, "
                                         "gru, lstm, transformer, ssm"):
        SensoryCognitiveConfig(architecture="mamba")
    with pytest.raises(WmgeomError, match="hidden_size must be a positive integer"):
        SensoryCognitiveModel(4, (7, 7), 6, 0)
    m = SensoryCognitiveModel(4, (7, 7), 6, 8)
    with pytest.raises(WmgeomError, match="online mode needs a backbone"):
        m.forward_images(torch.zeros(1, 2, 3, 224, 224), torch.zeros(1, 6))


@pytest.mark.parametrize("channels", [8, 64])
def test_fused_encoding_is_the_same_function_with_the_same_gradients(channels):
    """conv → flatten → FC as one product weight (few channels) or layer by layer."""
    torch.manual_seed(0)
    model = SensoryCognitiveModel(channels, (7, 7), 6, 16, "gru").double()
    maps = torch.randn(3, 4, channels, 7, 7, dtype=torch.float64)
    task = torch.rand(3, 6, dtype=torch.float64)
    model.fused = True
    fused = model.encode(maps, task)
    model.fused = False
    plain = model.encode(maps, task)
    b, t = maps.shape[:2]
    z = model.reduce(maps.flatten(0, 1)).flatten(1).view(b, t, -1)
    layered = model.encoder(torch.cat([z, task[:, None].expand(b, t, 6)], dim=-1))
    torch.testing.assert_close(plain, layered)
    torch.testing.assert_close(fused, plain, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad(fused.square().sum(), [model.reduce.weight,
                                                        model.encoder[0].weight])
    reference = torch.autograd.grad(plain.square().sum(), [model.reduce.weight,
                                                           model.encoder[0].weight])
    for g, r in zip(grads, reference, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("channels_last", [True, False])
def test_distinct_frames_give_the_same_encoding_and_gradients(fused, channels_last):
    """Each distinct frame's map encoded once and gathered (``frame_index``) is the function
    of every frame's map encoded on its own, with the same gradients, in either memory
    layout of the maps."""
    torch.manual_seed(1)
    model = SensoryCognitiveModel(8, (7, 7), 6, 16, "gru").double()
    model.fused = fused
    distinct = torch.randn(5, 8, 7, 7, dtype=torch.float64)
    if channels_last:
        distinct = distinct.contiguous(memory_format=torch.channels_last)
    index = torch.tensor([[0, 1, 0, 4], [2, 2, 3, 1], [4, 0, 1, 1]])
    task = torch.rand(3, 6, dtype=torch.float64)
    every = distinct[index].contiguous()  # [B, T, C, h, w], channels first
    gathered = model(distinct, task, frame_index=index)
    reference = model(every, task)
    torch.testing.assert_close(gathered, reference, rtol=1e-10, atol=1e-10)
    params = [model.reduce.weight, model.reduce.bias, model.encoder[0].weight,
              model.encoder[0].bias]
    grads = torch.autograd.grad(gathered.square().sum(), params)
    expected = torch.autograd.grad(reference.square().sum(), params)
    for g, e in zip(grads, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("arch", ["transformer", "ssm"])
def test_cores_without_a_recurrent_state_refuse_rollout_and_step(arch):
    m = SensoryCognitiveModel(4, (7, 7), 6, 8, architecture=arch)
    reason = type(m.core).no_recurrent_state
    with pytest.raises(WmgeomError, match="has no state to run on from") as exc:
        m.rollout(torch.zeros(2, 8), torch.zeros(2, 3, 8))
    assert reason in str(exc.value)
    with pytest.raises(WmgeomError, match="has no recurrent map to step"):
        m.step(torch.zeros(2, 8), torch.zeros(2, 8))


def test_checkpoints_naming_the_recurrent_layer_rnn_still_load():
    torch.manual_seed(0)
    m = SensoryCognitiveModel(4, (7, 7), 6, 8, architecture="gru")
    old = {k.replace("core.rnn.", "rnn."): v.clone() for k, v in m.state_dict().items()}
    fresh = SensoryCognitiveModel(4, (7, 7), 6, 8, architecture="gru")
    fresh.load_state_dict(old)
    for k, v in m.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[k], v)
