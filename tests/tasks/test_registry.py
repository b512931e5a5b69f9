"""Task registry, regimes and task mixtures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wmgeom.errors import WmgeomError
from wmgeom.tasks import (
    FEATURES,
    NBackTask,
    TaskMixture,
    batch_feature_values,
    make,
    make_regime,
    names,
    nback_targets,
    regime_tasks,
    register,
    registry,
    task_vector,
)

from ._synthetic import synthetic_table

TABLE = synthetic_table()


def test_names_cover_every_n_and_feature_and_two_orientation():
    listed = names()
    assert listed[:3] == ["nback-1-location", "nback-1-identity", "nback-1-category"]
    assert len([x for x in listed if x.startswith("nback-")]) == 9
    assert "two-orientation" in listed
    assert "nback-4-identity" in names(n_values=(1, 2, 3, 4))


@pytest.mark.parametrize("name", [x for x in names() if x.startswith("nback-")])
def test_make_builds_each_nback_task(name):
    task = make(name, stimuli=TABLE)
    assert isinstance(task, NBackTask) and task.name == name
    _, n, feature = name.split("-")
    assert task.n == int(n) and task.feature == feature


def test_make_passes_options():
    task = make("nback-4-location", stimuli=TABLE, n_values=(1, 2, 3, 4), length=8)
    assert task.length == 8 and task.task_vector.shape == (7,)


@pytest.mark.parametrize(("name", "message"), [
    ("nback-2-locaton", "Did you mean 'nback-2-location'"),
    ("two-orientations", "Did you mean 'two-orientation'"),
    ("flanker", "Known tasks: nback-1-location"),
    ("nback-4-location", r"N=4 is not in the configured N set \(1, 2, 3\)"),
])
def test_unknown_task_names(name, message):
    with pytest.raises(WmgeomError, match=message):
        make(name, stimuli=TABLE)


def test_two_orientation_is_registered_lazily():
    with pytest.raises(WmgeomError, match="drop stimuli"):
        make("two-orientation", stimuli=TABLE)
    orientation = pytest.importorskip("wmgeom.tasks.orientation")
    assert isinstance(make("two-orientation"), orientation.TwoOrientationTask)


def test_register_custom_tasks(monkeypatch):
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    register("custom", lambda stimuli=None, **kw: ("custom", kw))
    assert make("custom", size=3) == ("custom", {"size": 3})
    assert "custom" in names()
    with pytest.raises(WmgeomError, match="already taken"):
        register("custom", lambda **kw: None)
    with pytest.raises(WmgeomError, match="already taken"):
        register("nback-9-location", lambda **kw: None)


def test_regime_tasks():
    assert regime_tasks("STSF", task="nback-2-identity") == ["nback-2-identity"]
    assert regime_tasks("stmf", n=3) == ["nback-3-location", "nback-3-identity", "nback-3-category"]
    assert regime_tasks("STMF", task="nback-1-category") == [f"nback-1-{f}" for f in FEATURES]
    mtmf = regime_tasks("MTMF")
    assert len(mtmf) == 9 and len(set(mtmf)) == 9
    assert len(regime_tasks("MTMF", n_values=(1, 2, 3, 4))) == 12


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(regime="MTMT"), "Did you mean 'MTMF'"),
    (dict(regime="STSF"), "pass task="),
    (dict(regime="STMF"), "pass n="),
    (dict(regime="STMF", n=5), "N=5 is not in the configured N set"),
    (dict(regime="STSF", task="nback-1-colour"), "unknown task 'nback-1-colour'"),
])
def test_regime_errors(kwargs, message):
    with pytest.raises(WmgeomError, match=message):
        regime_tasks(**kwargs)


def test_mtmf_mixture_draws_every_task_with_its_own_vector_and_targets():
    mixture = make_regime("MTMF", TABLE)
    assert len(mixture) == 9
    trials = mixture.sample(900, split="val_angle", rng=0)
    assert np.bincount(trials.task_index).tolist() == [100] * 9
    assert trials.task_names == tuple(regime_tasks("MTMF"))
    for i, name in enumerate(trials.task_names):
        _, n, feature = name.split("-")
        mine = trials.task_index == i
        assert set(trials.n[mine]) == {int(n)}
        assert set(trials.feature[mine]) == {FEATURES.index(feature)}
        np.testing.assert_array_equal(trials.task_vector[mine][0],
                                      task_vector(FEATURES.index(feature), int(n)))
    np.testing.assert_array_equal(trials.target, nback_targets(batch_feature_values(trials), trials.n))
    np.testing.assert_array_equal(trials.executive, np.arange(6) >= trials.n[:, None])
    assert (TABLE.iloc[trials.image.ravel()].split == "val_angle").all()


def test_mixture_balance_per_task():
    trials = make_regime("STMF", TABLE, n=2).sample(9000, rng=1)
    for i in range(3):
        rate = (trials.target[trials.task_index == i, 2:] == 2).mean(axis=0)
        assert np.all((rate > 0.45) & (rate < 0.55)), rate


def test_mixture_errors():
    with pytest.raises(WmgeomError, match="at least one task"):
        TaskMixture([])
    a = NBackTask(1, "location", TABLE)
    with pytest.raises(WmgeomError, match="same length and n_values"):
        TaskMixture([a, NBackTask(2, "location", TABLE, length=7)])
    with pytest.raises(WmgeomError, match="same stimulus set"):
        TaskMixture([a, NBackTask(2, "location", synthetic_table(n_categories=3))])
    with pytest.raises(WmgeomError, match="twice"):
        TaskMixture([a, NBackTask(1, "location", TABLE)])
    with pytest.raises(WmgeomError, match="N-back tasks only"):
        TaskMixture([a, object()])


def test_reused_plans_stay_correct_across_splits_sizes_and_mutation():
    mixture = make_regime("MTMF", TABLE)
    rng = np.random.default_rng(5)
    for split, size in [("train", 10), ("val_identity", 10), ("train", 33), ("train", 10)]:
        trials = mixture.sample(size, split=split, rng=rng)
        assert (TABLE.iloc[trials.image.ravel()].split == split).all()
        np.testing.assert_array_equal(trials.target,
                                      nback_targets(batch_feature_values(trials), trials.n))
        trials.executive[:] = False  # a caller mutating its batch must not leak into the next
        trials.n[:] = 0
    again = mixture.sample(10, rng=rng)
    np.testing.assert_array_equal(again.executive, np.arange(6) >= again.n[:, None])
    assert again.n.min() >= 1


def test_uneven_batches_spread_evenly_over_tasks():
    mixture = make_regime("MTMF", TABLE)
    rng = np.random.default_rng(0)
    counts = sum(np.bincount(mixture.sample(10, rng=rng).task_index, minlength=9)
                 for _ in range(900))
    assert counts.sum() == 9000 and np.all(np.abs(counts / 1000 - 1) < 0.1), counts


@settings(max_examples=30, deadline=None)
@given(n_values=st.sets(st.integers(1, 5), min_size=1, max_size=4), extra=st.integers(0, 3),
       regime=st.sampled_from(["STMF", "MTMF"]), batch=st.integers(1, 50),
       split=st.sampled_from(["train", "val_angle", "val_identity"]),
       seed=st.integers(0, 2**32 - 1))
def test_any_mixture_is_consistent(n_values, extra, regime, batch, split, seed):
    n_values = tuple(sorted(n_values))
    length = max(n_values) + 1 + extra
    mixture = make_regime(regime, TABLE, n=n_values[-1], n_values=n_values, length=length)
    trials = mixture.sample(batch, split=split, rng=seed)
    assert trials.target.shape == (batch, length)
    np.testing.assert_array_equal(trials.target,
                                  nback_targets(batch_feature_values(trials), trials.n))
    np.testing.assert_array_equal(trials.executive, np.arange(length) >= trials.n[:, None])
    np.testing.assert_array_equal(trials.task_vector, task_vector(trials.feature, trials.n, n_values))
    assert trials.task_vector.shape[1] == 3 + len(n_values)
    names_of_trials = [f"nback-{n}-{FEATURES[f]}" for n, f in zip(trials.n, trials.feature, strict=True)]
    assert list(trials.task) == names_of_trials
    assert (TABLE.iloc[trials.image.ravel()].split == split).all()
