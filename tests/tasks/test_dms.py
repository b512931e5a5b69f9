"""Delayed match-to-sample trials, the task-family interface and its registry."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.tasks import (
    ACTIONS,
    FAMILIES,
    FEATURES,
    DMSTask,
    TaskFamily,
    TaskMixture,
    make,
    make_regime,
    names,
    regime_tasks,
    register_family,
    registry,
    task_family,
)
from wmgeom.tasks.dms import dms_task_vector
from wmgeom.tasks.nback import NBackTask
from wmgeom.tasks.registry import RegimeConfig

from ._synthetic import synthetic_table

TABLE = synthetic_table()
MATCH, NON_MATCH, NO_ACTION = (ACTIONS.index(a) for a in ("match", "non_match", "no_action"))


@pytest.mark.parametrize("feature", FEATURES)
def test_dms_trials_match_the_sample_at_the_last_frame_only(feature):
    trials = make(f"dms-{feature}", stimuli=TABLE, length=6).sample(8000, rng=0)
    assert trials.task_names == (f"dms-{feature}",)
    assert set(trials.n) == {5}  # sample-to-test distance
    expected = np.zeros((1, 6), bool)
    expected[0, -1] = True
    np.testing.assert_array_equal(trials.executive, np.broadcast_to(expected, trials.image.shape))
    assert (trials.target[:, :-1] == NO_ACTION).all()
    match_rate = (trials.target[:, -1] == MATCH).mean()
    assert abs(match_rate - 0.5) < 0.02, match_rate

    # an independent re-computation from the drawn values: test frame vs sample frame
    row = TABLE.iloc[trials.image.ravel()]
    drawn = {"location": trials.location,
             "identity": row["identity"].to_numpy().reshape(trials.image.shape),
             "category": row["category"].to_numpy().reshape(trials.image.shape)}
    np.testing.assert_array_equal(drawn["identity"], trials.identity)
    np.testing.assert_array_equal(drawn["category"], trials.category)
    values = drawn[feature]
    last = np.where(values[:, -1] == values[:, 0], MATCH, NON_MATCH)
    np.testing.assert_array_equal(trials.target[:, -1], last)


def test_distractors_are_free_draws_that_vary():
    trials = make("dms-identity", stimuli=TABLE, length=7).sample(6000, rng=1)
    delay = trials.identity[:, 1:-1]
    # distractors change within a trial and spread over every training identity
    assert (delay != delay[:, :1]).any(axis=1).mean() > 0.9
    train_ids = TABLE.loc[TABLE.split == "train", "identity"].unique()
    assert set(np.unique(delay)) == set(train_ids)
    # a distractor repeats the sample only at chance (1 / identities), not as a cue
    chance = 1 / len(train_ids)
    assert abs((delay == trials.identity[:, :1]).mean() - chance) < 0.02
    # the task-irrelevant location of the test is independent of the answer
    match = trials.target[:, -1] == MATCH
    same_location = trials.location[:, -1] == trials.location[:, 0]
    assert abs(same_location[match].mean() - same_location[~match].mean()) < 0.05


def test_dms_mixture_draws_three_features_with_their_vectors():
    mixture = make_regime("MTMF", TABLE, family="dms")
    assert mixture.task_names == ("dms-location", "dms-identity", "dms-category")
    trials = mixture.sample(300, split="val_angle", rng=2)
    assert np.bincount(trials.task_index).tolist() == [100] * 3
    np.testing.assert_array_equal(trials.task_vector, dms_task_vector(trials.feature))
    assert trials.task_vector.shape == (300, 4) and (trials.task_vector[:, 3] == 1).all()
    assert (TABLE.iloc[trials.image.ravel()].split == "val_angle").all()
    assert make_regime("STSF", TABLE, task="dms-category", family="dms").task_names == (
        "dms-category",)


def test_dms_is_as_fast_as_nback(capsys):
    """Both families draw through the same vectorised sampler; the times are printed."""
    dms, nback = make_regime("MTMF", TABLE, family="dms"), make_regime("MTMF", TABLE)
    timings = {}
    for name, mixture in (("dms", dms), ("nback", nback)):
        rng = np.random.default_rng(0)
        mixture.sample(4096, rng=rng)
        start = time.perf_counter()
        for _ in range(20):
            mixture.sample(4096, rng=rng)
        timings[name] = (time.perf_counter() - start) / 20
    with capsys.disabled():
        print(f"\n4096 trials per batch: DMS {1e3 * timings['dms']:.2f} ms, "
              f"N-back {1e3 * timings['nback']:.2f} ms")


@pytest.mark.parametrize(("name", "message"), [
    ("dms-colour", "unknown DMS task 'dms-colour'.*DMS tasks: dms-location"),
    ("dms-identiy", "Did you mean 'dms-identity'"),
    ("dms", "unknown task 'dms'.*Known tasks: nback-1-location"),
    ("dms-2-location", re.escape("DMS tasks: dms-location, dms-identity, dms-category")),
])
def test_unknown_dms_names(name, message):
    with pytest.raises(WmgeomError, match=message):
        make(name, stimuli=TABLE)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(family="dms", regime="STMF", n=2), "the dms task family has no STMF regime; use one "
                                             "of STSF, MTMF"),
    (dict(family="dms", regime="STSF"), "pass task=, e.g. 'dms-identity'"),
    (dict(family="dms", regime="STSF", task="dms-shape"), "unknown DMS task 'dms-shape'"),
    (dict(family="dms", regime="STSF", task="nback-2-location"),
     "belongs to the nback task family; set tasks.family: nback"),
    (dict(regime="STSF", task="dms-location"),
     "belongs to the dms task family; set tasks.family: dms"),
    (dict(family="dsm", regime="MTMF"), "unknown task family 'dsm'. Did you mean 'dms'"),
])
def test_dms_regime_errors(kwargs, message):
    with pytest.raises(WmgeomError, match=re.escape(message) if "'" in message else message):
        regime_tasks(**kwargs)


def test_regime_config_chooses_the_family():
    assert RegimeConfig().task_names() == regime_tasks("MTMF")  # N-back by default
    assert RegimeConfig(family="dms").task_names() == ["dms-location", "dms-identity",
                                                       "dms-category"]
    with pytest.raises(ValueError, match="unknown task family 'bnack'; choose one of nback, dms"):
        RegimeConfig(family="bnack")
    with pytest.raises(ValueError, match="the dms task family has no STMF regime"):
        RegimeConfig(family="dms", regime="STMF", n=2)


def test_families_declare_what_the_analyses_may_assume():
    assert FAMILIES["nback"].rolling and not FAMILIES["dms"].rolling
    assert FAMILIES["nback"].task_dim((1, 2, 3)) == 6 and FAMILIES["dms"].task_dim((1, 2, 3)) == 4
    assert names()[:9] == regime_tasks("MTMF") and "dms-category" in names()
    assert isinstance(make("dms-location", stimuli=TABLE), DMSTask)
    with pytest.raises(WmgeomError, match="one task family"):
        TaskMixture([NBackTask(1, "location", TABLE), DMSTask("location", TABLE)])


def test_a_family_is_one_registration(monkeypatch):
    """A toy family: "recent" asks whether the last frame repeats the one before (a 1-back
    on the last frame), built from the N-back sampler in a few lines."""
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))

    class RecentTask(NBackTask):
        family = "recent"

        def __init__(self, feature, stimuli=None, length=6, n_values=(), **kwargs):
            super().__init__(1, feature, stimuli, length=length, n_values=(1,), **kwargs)
            self.name = f"recent-{self.feature}"

    toy = TaskFamily(
        name="recent", label="recent", pattern=re.compile(r"^recent-"),
        task_names=lambda n_values: [f"recent-{f}" for f in FEATURES],
        make_task=lambda name, stimuli=None, **kw: RecentTask(name.split("-")[1], stimuli, **kw),
        regimes=("STSF", "MTMF"),
        regime_tasks=lambda regime, task, n, n_values: [task] if regime == "STSF"
        else [f"recent-{f}" for f in FEATURES],
        task_dim=lambda n_values: 4, stsf_task="recent-location")
    register_family(toy)
    assert task_family("recent") is toy and "recent-identity" in names()
    assert isinstance(make("recent-category", stimuli=TABLE), RecentTask)
    mixture = make_regime("MTMF", TABLE, family="recent")
    assert mixture.sample(30, rng=0).task_names == tuple(f"recent-{f}" for f in FEATURES)
    assert RegimeConfig(family="recent", regime="STSF", task="recent-identity").task_names() == [
        "recent-identity"]
    with pytest.raises(WmgeomError, match="task family 'recent' is already registered"):
        register_family(toy)
    with pytest.raises(WmgeomError, match="task family 'clash': task names"):
        register_family(TaskFamily(
            name="clash", label="clash", pattern=re.compile(r"^dms-"),
            task_names=lambda n_values: ["dms-location"], make_task=make,
            regimes=("MTMF",), regime_tasks=lambda *a: ["dms-location"],
            task_dim=lambda n_values: 4, stsf_task="dms-location"))


def test_nback_configs_dump_as_before_task_families():
    """An N-back config's dump (config.yaml, the checkpoint fingerprint) has no family key;
    a DMS config names its family, and both round-trip."""
    nback = RegimeConfig().model_dump(mode="json")
    assert "family" not in nback and RegimeConfig.model_validate(nback) == RegimeConfig()
    dms = RegimeConfig(family="dms").model_dump(mode="json")
    assert dms["family"] == "dms" and RegimeConfig.model_validate(dms).family == "dms"
