"""The core interface: registering a core is one class; the whole chain then accepts it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from train._cache import CHANNELS, synthetic_cache

from wmgeom.errors import WmgeomError
from wmgeom.models.cores import CORES, Core, register_core, unregister_core
from wmgeom.models.registry import ARCHITECTURES, architecture
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig
from wmgeom.record.nback import record_activations
from wmgeom.studies.nback.analyses import run_analyses
from wmgeom.studies.nback.analysis import AnalysisProtocol, Recording
from wmgeom.tasks.registry import RegimeConfig
from wmgeom.train.nback import build_data, build_model, nback_loss
from wmgeom.train.trainer import TrainConfig, Trainer

FAST = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=2)


class ToyCore(Core):
    """A running mean of the encodings so far, through a linear map and tanh."""

    name, label, family = "toy", "Toy", "toy"
    state_kind = "tanh of a linear map of the mean encoding over frames up to this one"
    no_recurrent_state = "the toy core keeps a running mean, not a state it maps"

    def __init__(self, hidden_size: int):
        super().__init__(hidden_size)
        self.linear = nn.Linear(hidden_size, hidden_size)

    def forward(self, encodings: torch.Tensor) -> torch.Tensor:
        frames = torch.arange(1, encodings.shape[1] + 1, device=encodings.device)
        return torch.tanh(self.linear(encodings.cumsum(1) / frames[:, None]))


@pytest.fixture
def toy():
    register_core(ToyCore)
    yield ToyCore
    unregister_core("toy")


def test_a_registered_core_is_known_everywhere_and_removed_after(toy):
    assert architecture("toy") is toy and ARCHITECTURES["toy"] is toy
    assert SensoryCognitiveConfig(architecture="toy").architecture == "toy"
    assert not toy.recurrent and not toy.in_paper and toy.state_size(4) == 4
    assert toy.parameters_at(5) == 30
    unregister_core("toy")
    with pytest.raises(WmgeomError, match="unknown architecture 'toy'; choose one of rnn"):
        architecture("toy")


@pytest.mark.parametrize("arch", ["toy", "transformer", "ssm"])
def test_a_core_trains_is_recorded_and_analysed(toy, arch, tmp_path):
    """The toy core (registered by the fixture above) and the two new cores go through the
    training loop, the recorder and the analyses; the analyses that perturb or step a
    recurrent state are skipped with the core's reason."""
    stimset, cache = synthetic_cache()
    regime = RegimeConfig(regime="STMF", n=1)
    data = build_data(cache, stimset, regime, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model(SensoryCognitiveConfig(hidden_size=16, channel_components=CHANNELS,
                                               architecture=arch), regime)
    before = [p.detach().clone() for p in model.parameters()]
    config = TrainConfig(iterations=4, batch_size=16, eval_every=4, checkpoint_every=4,
                         milestones=[])
    result = Trainer(model, nback_loss(data),
                     lambda rng: data.mixture.sample(config.batch_size, "train", rng),
                     config, tmp_path, progress=False).fit()
    assert result.iterations == 4
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    ds = record_activations(model.eval(), data, (1, 2, 3), 6, trials_per_task=8,
                            splits=("train",), seed=3, perceptual_components=4,
                            tasks=regime.task_names())
    assert ds["hidden"].shape == (24, 6, 16) and np.isfinite(ds["hidden"].values).all()
    assert ds["hidden"].attrs["description"] == ARCHITECTURES[arch].state_kind
    rec = Recording(ds, f"{arch}-run", arch, "STMF", model.rollout, step=model.step)
    tables = run_analyses([rec], FAST, ["within_time", "causal", "fixed_points"])
    assert len(tables["within_time"]) and set(tables["within_time"]["architecture"]) == {arch}
    skipped = tables["skipped"].set_index("analysis")["reason"]
    assert set(skipped.index) == {"causal", "fixed_points"}
    for reason in skipped:
        assert reason == (f"not defined for the {ARCHITECTURES[arch].label} core: "
                          f"{ARCHITECTURES[arch].no_recurrent_state}")


def test_registration_refuses_what_the_chain_could_not_use():
    class Nameless(Core):
        label, family, state_kind = "N", "n", "s"
        no_recurrent_state = "none"

    with pytest.raises(WmgeomError, match="core Nameless does not declare name"):
        register_core(Nameless)

    class Silent(Core):
        name, label, family, state_kind = "silent", "S", "s", "s"

    with pytest.raises(WmgeomError, match="implements no rollout and step; implement both, "
                                          "or say in no_recurrent_state why"):
        register_core(Silent)

    class Twin(Core):
        name, label, family, state_kind = "gru", "G", "g", "s"
        no_recurrent_state = "none"

    with pytest.raises(WmgeomError, match="a core named 'gru' is registered already"):
        register_core(Twin)
    with pytest.raises(WmgeomError, match="is not a subclass of wmgeom.models.cores.Core"):
        register_core(nn.GRU)
    assert list(CORES) == ["rnn", "gru", "lstm", "transformer", "ssm"]
