"""Recording the sensory-cognitive model on N-back trials."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train._cache import CHANNELS, synthetic_cache

from wmgeom.errors import WmgeomError
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig
from wmgeom.record.nback import RecordConfig, perceptual_pca, record_activations
from wmgeom.tasks.nback import nback_targets
from wmgeom.tasks.registry import RegimeConfig
from wmgeom.train.nback import build_data, build_model


@pytest.fixture(scope="module", params=["gru", "lstm"])
def recorded(request):
    stimset, cache = synthetic_cache()
    data = build_data(cache, stimset, RegimeConfig(regime="STMF", n=2), torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model(SensoryCognitiveConfig(hidden_size=10, channel_components=CHANNELS,
                                               architecture=request.param), RegimeConfig())
    ds = record_activations(model, data, (1, 2, 3), 6, trials_per_task=5,
                            splits=("train", "val_angle"), seed=7, perceptual_components=6,
                            attrs={"architecture": request.param})
    return request.param, model, data, ds


def test_every_task_and_split_is_recorded(recorded):
    arch, _, _, ds = recorded
    # all nine tasks, not only the regime's three
    assert ds.sizes["trial"] == 9 * 5 * 2 and len(np.unique(ds["task"].values)) == 9
    assert set(np.unique(ds["split"].values)) == {"train", "val_angle"}
    assert ds["hidden"].shape == (90, 6, 10) and ds["perceptual"].shape == (90, 6, 6)
    assert ("cell" in ds) == (arch == "lstm")
    assert ds.attrs["architecture"] == arch and "perceptual_variance_kept" in ds.attrs
    np.testing.assert_allclose(ds["probs"].sum("action"), 1, rtol=1e-5)


def test_labels_and_targets_agree(recorded):
    *_, ds = recorded
    for feature in ("location", "identity", "category"):
        for n in (1, 2, 3):
            rows = (ds["feature"].values == feature) & (ds["n"].values == n)
            np.testing.assert_array_equal(ds["target"].values[rows],
                                          nback_targets(ds[feature].values[rows], n))


def test_states_are_the_models_own(recorded):
    _, model, _, ds = recorded
    with torch.no_grad():
        out = model.run(torch.as_tensor(ds["encoding"].values[:4]))
    np.testing.assert_allclose(out["hidden"].numpy(), ds["hidden"].values[:4], atol=1e-6)
    np.testing.assert_array_equal(out["logits"].argmax(-1).numpy(), ds["choice"].values[:4])


def test_perceptual_pca_keeps_most_of_the_maps(recorded):
    _, _, data, _ = recorded
    fit = perceptual_pca(data.maps, 6)
    assert fit.components.shape == (6, CHANNELS * 49) and 0.3 < fit.kept <= 1.0


def test_record_config_refuses_unknown_splits():
    with pytest.raises(ValueError, match="splits must be a non-empty list of"):
        RecordConfig(splits=["test"])
    with pytest.raises(WmgeomError, match="record.splits"):
        from wmgeom.studies.nback import make_config

        make_config("quick", {"record": {"splits": ["val"]}})


def test_the_tasks_asked_for_are_recorded_with_the_same_trials(recorded):
    arch, model, data, ds = recorded
    own = record_activations(model, data, (1, 2, 3), 6, trials_per_task=5,
                             splits=("train", "val_angle"), seed=7, perceptual_components=6,
                             tasks=RegimeConfig(regime="STMF", n=2).task_names())
    assert sorted(np.unique(own["task"].values)) == ["nback-2-category", "nback-2-identity",
                                                     "nback-2-location"]
    assert own.sizes["trial"] == 3 * 5 * 2
    with pytest.raises(WmgeomError, match="not all N-back tasks"):
        record_activations(model, data, (1, 2, 3), 6, trials_per_task=5, splits=("train",),
                           seed=7, tasks=["nback-4-location"])


def _trained(tasks, tmp_path, iterations):
    """A GRU-10 of ``tasks`` trained for a few iterations on the synthetic cache through the
    same glue as ``wmgeom run`` (model, data and trainer)."""
    from wmgeom.train import TrainConfig, Trainer
    from wmgeom.train.nback import accuracy_rows, evaluation_sets, nback_loss

    stimset, cache = synthetic_cache()
    data = build_data(cache, stimset, tasks, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model(SensoryCognitiveConfig(hidden_size=10, channel_components=CHANNELS,
                                               architecture="gru"), tasks)
    sets = evaluation_sets(data, 8, seed=1, splits=("train",))
    config = TrainConfig(iterations=iterations, batch_size=16, milestones=[],
                         eval_every=iterations // 2, checkpoint_every=iterations // 2, seed=2)
    trainer = Trainer(model, nback_loss(data), lambda rng: data.mixture.sample(16, rng=rng),
                      config, tmp_path, evaluate_fn=lambda m: accuracy_rows(m, data, sets),
                      progress=False)
    trainer.fit()
    return model, data, trainer


def test_a_dms_model_trains_and_is_recorded(tmp_path):
    """A DMS model (``tasks.family: dms``) trains through the same glue and is recorded with
    the N-back schema: ``n`` the sample-to-test distance, ``executive`` the test frame."""
    tasks = RegimeConfig(family="dms")
    model, data, trainer = _trained(tasks, tmp_path, iterations=6)
    assert model.task_dim == 4
    assert trainer.iteration == 6
    ds = record_activations(model, data, (1, 2, 3), 6, trials_per_task=4, splits=("train",),
                            seed=7, perceptual_components=6, tasks=tasks.task_names())
    assert sorted(np.unique(ds["task"].values)) == ["dms-category", "dms-identity",
                                                    "dms-location"]
    assert (ds["n"].values == 5).all() and ds["executive"].values.sum(0).tolist() == [0] * 5 + [12]
    assert "last frame" in ds["executive"].attrs["description"]
    for feature in ("location", "identity", "category"):
        rows = ds["feature"].values == feature
        np.testing.assert_array_equal(ds["target"].values[rows],
                                      nback_targets(ds[feature].values[rows], 5))
    with pytest.raises(WmgeomError, match="not all DMS tasks"):
        record_activations(model, data, (1, 2, 3), 6, trials_per_task=4, splits=("train",),
                           seed=7, tasks=["nback-1-location"])


def test_an_item_recognition_model_trains_and_is_recorded_with_its_list_length(tmp_path):
    """An item-recognition model (``tasks.family: recognition``) trains through the same glue;
    the recording keeps each trial's list length (``span``), and cross-time decoding marks
    every list item, not only the first, as compared at the probe."""
    from wmgeom.analysis import cross_time_decoding

    tasks = RegimeConfig(family="recognition", regime="STMF", n=2)
    model, data, _ = _trained(tasks, tmp_path, iterations=4)
    assert model.task_dim == 7
    ds = record_activations(model, data, (1, 2, 3), 6, trials_per_task=12, splits=("train",),
                            seed=7, perceptual_components=6, tasks=tasks.task_names())
    assert (ds["span"].values == 2).all() and (ds["n"].values == 5).all()
    assert ds["executive"].values.sum(0).tolist() == [0] * 5 + [36]
    assert "list length" in ds["span"].attrs["description"]
    table = cross_time_decoding(ds, features=["location"], tasks=["recog-2-location"], Cs=[1.0],
                                inner_cv=None, cv=2)
    recall = table[table["recall"]]
    assert sorted(set(zip(recall["stimulus"], recall["frame"], strict=True))) == [(0, 5), (1, 5)]
