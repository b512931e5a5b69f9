"""The pure step functions compute what torch's recurrent layers compute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmgeom.models import SensoryCognitiveModel
from wmgeom.models.ctrnn import CTRNN
from wmgeom.models.registry import ARCHITECTURES


@pytest.mark.parametrize("name", [n for n, a in ARCHITECTURES.items() if a.recurrent])
def test_the_model_step_is_one_frame_of_its_recurrent_layer(name):
    torch.manual_seed(0)
    model = SensoryCognitiveModel(2, (1, 1), 6, 8, name).eval()
    info = ARCHITECTURES[name]
    encodings = torch.randn(5, 4, 8)
    with torch.no_grad():
        out = model.run(encodings)
        state = torch.zeros(5, info.state_size(8))
        for t in range(4):
            state = model.step(state, encodings[:, t])
            np.testing.assert_allclose(state[:, :8].numpy(), out["hidden"][:, t].numpy(),
                                       atol=1e-6)
            if info.has_cell_state:
                np.testing.assert_allclose(state[:, 8:].numpy(), out["cell"][:, t].numpy(),
                                           atol=1e-6)
    # torch.func batches and differentiates it
    J = torch.func.vmap(torch.func.jacrev(model.step))(state, encodings[:, 0])
    assert J.shape == (5, info.state_size(8), info.state_size(8))


@pytest.mark.parametrize("variant", ["rate", "current"])
def test_the_ctrnn_step_is_its_noise_free_euler_step(variant):
    torch.manual_seed(0)
    net = CTRNN(3, 2, n_units=6, variant=variant)
    inputs = torch.randn(4, 5, 3)
    with torch.no_grad():
        _, rates = net(inputs, noise=False)
        state = net.initial_state.expand(4, -1)
        if variant == "rate":
            state = net.f(state)
        for t in range(5):
            state = net.step(state, inputs[:, t])
            r = state if variant == "rate" else net.f(state)
            np.testing.assert_allclose(r.numpy(), rates[:, t].numpy(), atol=1e-6)
