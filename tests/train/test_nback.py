"""N-back training glue: data, model from configs, loss, evaluation, criterion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train._cache import CHANNELS, synthetic_cache
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig
from wmgeom.tasks.registry import RegimeConfig
from wmgeom.tasks.vocabulary import NON_MATCH
from wmgeom.train.nback import (
    accuracy_rows,
    build_data,
    build_model,
    evaluation_sets,
    nback_loss,
    paper_criterion,
    same_category_non_matches,
    summary_accuracy,
    task_accuracy,
)

MODEL = SensoryCognitiveConfig(hidden_size=12, channel_components=CHANNELS)


@pytest.fixture(scope="module")
def data():
    stimset, cache = synthetic_cache()
    return build_data(cache, stimset, RegimeConfig(), torch.device("cpu"))


def test_model_is_sized_from_the_configs_alone(data):
    torch.manual_seed(0)
    model = build_model(MODEL, RegimeConfig())
    assert model.reduce.in_channels == CHANNELS and model.task_dim == 6
    assert build_model(MODEL, RegimeConfig(n_values=[1, 2, 3, 4])).task_dim == 7
    big = build_model(SensoryCognitiveConfig(channel_components=None), RegimeConfig())
    assert big.reduce.in_channels == 1280  # the registered backbone's channels
    maps, task, target = data.tensors(data.mixture.sample(4, "train", np.random.default_rng(0)))
    assert model(maps, task).shape == (4, 6, 3) and target.shape == (4, 6)


def test_loss_is_cross_entropy_over_all_frames_and_trains(data):
    torch.manual_seed(0)
    model = build_model(MODEL, RegimeConfig())
    loss_fn = nback_loss(data)
    batch = data.mixture.sample(64, "train", np.random.default_rng(1))
    loss, info = loss_fn(model, batch)
    assert loss.item() == pytest.approx(np.log(3), rel=0.2)  # near-uniform start
    assert 0 <= info["acc_executive"] <= 1
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_evaluation_sets_are_fixed_and_rows_cover_every_task(data):
    a = evaluation_sets(data, 4, seed=3)
    b = evaluation_sets(data, 4, seed=3)
    assert set(a) == {"train", "val_angle", "val_identity"}
    assert len(a["train"]) == 4 * 9
    np.testing.assert_array_equal(a["val_angle"].image, b["val_angle"].image)
    torch.manual_seed(0)
    rows = accuracy_rows(build_model(MODEL, RegimeConfig()).eval(), data, a)
    assert len(rows) == 3 * 10  # splits × (9 tasks + all)
    assert all(0 <= r["acc_executive"] <= 1 for r in rows)
    identity = [r for r in rows if r["task"].endswith("identity") and r["split"] == "train"]
    assert all("acc_same_category" in r and r["n_same_category"] > 0 for r in identity)
    assert not any("acc_same_category" in r for r in rows if r["task"].endswith("location"))


def test_same_category_non_matches_are_the_frames_category_cannot_answer(data):
    batch = data.mixture.sample(900, "train", np.random.default_rng(4))
    hard = same_category_non_matches(batch)
    assert (batch.target[hard] == NON_MATCH).all()
    n = batch.n[:, None]
    frames = np.arange(batch.n_frames)
    back = np.take_along_axis(batch.category, np.clip(frames - n, 0, None), 1)
    assert (batch.category[hard] == back[hard]).all()
    identity = batch.feature == 1
    assert hard[~identity].sum() == 0 and hard[identity].sum() > 0


def test_criterion_per_task_or_on_average():
    rows = [{"split": s, "task": t, "acc_executive": a}
            for s in ("train", "val_angle")
            for t, a in (("easy", 1.0), ("hard", 0.91), ("all", 0.96))]
    assert not paper_criterion(0.95, 0.90, per_task=True)(rows)  # "hard" fails on train
    assert paper_criterion(0.95, 0.90, per_task=False)(rows)  # the average passes
    assert not paper_criterion(per_task=False)([r for r in rows if r["split"] == "train"])


def test_summaries_take_the_last_evaluation():
    rows = [{"split": "train", "task": "all", "acc_executive": 0.5},
            {"split": "train", "task": "all", "acc_executive": 0.9},
            {"split": "train", "task": "t", "acc_executive": 0.8, "acc_same_category": 0.7},
            {"split": "train_batch", "task": "all", "acc_executive": 0.1}]
    assert summary_accuracy(rows) == {"train": 0.9}
    assert task_accuracy(rows) == {"train": {"t": 0.8}}
    assert task_accuracy(rows, "acc_same_category") == {"train": {"t": 0.7}}


def test_each_distinct_frame_is_read_once(data):
    """``inputs`` gathers each distinct (image, location) frame of a batch once; the model
    gives the logits of every frame read on its own."""
    batch = data.mixture.sample(32, "train", np.random.default_rng(3))
    inputs = data.inputs(batch)
    keys = batch.stimulus_index(data.n_locations)
    assert inputs["maps"].shape[0] == len(np.unique(keys)) < keys.size
    expected = data.maps[torch.from_numpy(keys)].float()
    torch.testing.assert_close(inputs["maps"][inputs["frame_index"]], expected)
    torch.manual_seed(0)
    model = build_model(MODEL, RegimeConfig())
    maps, task, target = data.tensors(batch)
    torch.testing.assert_close(model(**inputs), model(maps, task), rtol=1e-5, atol=1e-5)
    assert torch.equal(data.targets(batch), target)
