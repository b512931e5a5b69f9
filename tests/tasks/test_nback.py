"""N-back sampling: labels, targets, balance, independence, splits, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from wmgeom.errors import WmgeomError
from wmgeom.tasks import FEATURES, NBackTask, batch_feature_values, nback_targets
from wmgeom.tasks.vocabulary import MATCH, NON_MATCH, SPLITS

from ._synthetic import FakeStimulusSet, synthetic_table

TABLE = synthetic_table()
SIZES = dict(n_categories=4, train_identities=2, heldout_identities=1)


def oracle_targets(values: np.ndarray, n: int) -> np.ndarray:
    """Targets by the definition, one trial and frame at a time (independent of the sampler)."""
    out = np.zeros(values.shape, dtype=np.int64)
    for b in range(values.shape[0]):
        for t in range(n, values.shape[1]):
            out[b, t] = 2 if values[b, t] == values[b, t - n] else 1
    return out


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), feature=st.sampled_from(FEATURES), extra=st.integers(0, 3),
       batch=st.integers(1, 40), split=st.sampled_from(SPLITS), seed=st.integers(0, 2**32 - 1))
def test_labels_targets_executive_and_task_vector_are_consistent(n, feature, extra, batch, split,
                                                                 seed):
    length = n + 1 + extra
    task = NBackTask(n, feature, TABLE, length=length, n_values=(1, 2, 3, 4))
    trials = task.sample(batch, split=split, rng=seed)

    assert trials.image.shape == (batch, length) and len(trials) == batch
    rows = TABLE.iloc[trials.image.ravel()]
    assert (rows["split"] == split).all()
    for column in ("category", "identity", "angle"):
        np.testing.assert_array_equal(getattr(trials, column).ravel(), rows[column].to_numpy())
    assert trials.location.min() >= 0 and trials.location.max() < 4
    values = {"location": trials.location, "identity": trials.identity,
              "category": trials.category}[feature]
    np.testing.assert_array_equal(trials.target, oracle_targets(values, n))
    np.testing.assert_array_equal(trials.target, nback_targets(batch_feature_values(trials), trials.n))
    np.testing.assert_array_equal(trials.executive, np.broadcast_to(np.arange(length) >= n,
                                                                    (batch, length)))
    expected_vector = np.zeros(7, dtype=np.float32)
    expected_vector[FEATURES.index(feature)] = 1
    expected_vector[3 + n - 1] = 1
    assert trials.task_vector.dtype == np.float32
    np.testing.assert_array_equal(trials.task_vector, np.tile(expected_vector, (batch, 1)))
    assert set(trials.n.tolist()) == {n} and set(trials.feature.tolist()) == {FEATURES.index(feature)}
    assert trials.task_names == (f"nback-{n}-{feature}",)


def test_nback_targets_by_hand():
    values = np.array([[0, 1, 0, 1, 1, 0]])
    np.testing.assert_array_equal(nback_targets(values, 2), [[0, 0, 2, 2, 1, 1]])
    np.testing.assert_array_equal(nback_targets(values, 1), [[0, 1, 1, 1, 2, 1]])


@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_match_and_non_match_balanced_at_every_executive_frame(n, feature):
    trials = NBackTask(n, feature, TABLE).sample(6000, rng=n)
    match_rate = (trials.target[:, n:] == 2).mean(axis=0)
    assert np.all((match_rate > 0.45) & (match_rate < 0.55)), match_rate
    assert np.all(trials.target[:, :n] == 0)


def repeat_and_answer(trials, n: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Per executive frame: does ``label`` repeat at t - N, and is the answer match?"""
    values = getattr(trials, label)
    return (values[:, n:] == values[:, :-n]).ravel(), (trials.target[:, n:] == 2).ravel()


def independent(repeat: np.ndarray, answer: np.ndarray) -> float:
    """p-value of a chi-square test of independence between two binary arrays."""
    table = np.array([[np.sum(repeat & answer), np.sum(repeat & ~answer)],
                      [np.sum(~repeat & answer), np.sum(~repeat & ~answer)]])
    return chi2_contingency(table)[1]


@pytest.mark.parametrize(("feature", "irrelevant"), [
    ("location", "identity"), ("location", "category"), ("location", "angle"),
    ("identity", "location"), ("category", "location"),
])
def test_irrelevant_features_independent_of_the_answer(feature, irrelevant):
    n = 2
    trials = NBackTask(n, feature, TABLE).sample(6000, rng=7)
    repeat, answer = repeat_and_answer(trials, n, irrelevant)
    assert independent(repeat, answer) > 1e-3
    # and the irrelevant repeat rate is that of independent uniform draws
    chance = {"location": 1 / 4, "identity": 1 / 8, "category": 1 / 4, "angle": 1 / 4}[irrelevant]
    assert abs(repeat.mean() - chance) < 0.02


def test_nested_features_follow_the_documented_design():
    n = 1
    # Identity tasks: half the non-matches show another identity of the same category (the
    # default same_category_rate), the others an identity of another category; a match
    # always repeats the category.
    trials = NBackTask(n, "identity", TABLE).sample(6000, rng=3)
    repeat, answer = repeat_and_answer(trials, n, "category")
    assert repeat[answer].all()
    assert abs(repeat[~answer].mean() - 1 / 2) < 0.02
    # The chi-square check above is sensitive: it flags this inherent dependence.
    assert independent(repeat, answer) < 1e-6
    # Category tasks: given a category match, the identity repeats at chance (1 of 2).
    trials = NBackTask(n, "category", TABLE).sample(6000, rng=4)
    repeat, answer = repeat_and_answer(trials, n, "identity")
    assert not repeat[~answer].any()
    assert abs(repeat[answer].mean() - 1 / 2) < 0.03


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 1.0])
def test_category_alone_cannot_solve_identity_tasks(rate):
    """The category answers at most 1 - rate / 2 of an identity task's frames."""
    n = 2
    trials = NBackTask(n, "identity", TABLE, same_category_rate=rate).sample(8000, rng=5)
    repeat, answer = repeat_and_answer(trials, n, "category")
    assert abs(repeat[~answer].mean() - rate) < 0.02
    category_only = np.where(repeat, MATCH, NON_MATCH) == np.where(answer, MATCH, NON_MATCH)
    assert abs(category_only.mean() - (1 - rate / 2)) < 0.02
    # the non-match is never the reference identity itself, and identities stay uniform
    ident = trials.identity
    assert not (ident[:, n:] == ident[:, :-n])[trials.target[:, n:] == NON_MATCH].any()
    _, counts = np.unique(ident, return_counts=True)
    assert np.allclose(counts / ident.size, 1 / 8, atol=0.02)


def test_held_out_identities_without_a_same_category_partner():
    # one held-out identity per category: every non-match comes from another category
    trials = NBackTask(1, "identity", TABLE).sample(2000, split="val_identity", rng=6)
    repeat, answer = repeat_and_answer(trials, 1, "category")
    assert not repeat[~answer].any()
    with pytest.raises(WmgeomError, match="same_category_rate must lie in"):
        NBackTask(1, "identity", TABLE, same_category_rate=1.5)


def test_marginals_uniform_over_locations_and_identities():
    trials = NBackTask(3, "location", TABLE).sample(4000, rng=5)
    assert np.allclose(np.bincount(trials.location.ravel()) / trials.location.size, 1 / 4, atol=0.02)
    _, counts = np.unique(trials.identity, return_counts=True)
    assert len(counts) == 8 and np.allclose(counts / trials.identity.size, 1 / 8, atol=0.02)


def test_splits_use_only_their_own_images():
    task = NBackTask(1, "identity", TABLE)
    train = TABLE[TABLE.split == "train"]
    by_split = {s: task.sample(2000, split=s, rng=0) for s in SPLITS}
    assert set(by_split["train"].image.ravel()) == set(train.index)
    val_angle = TABLE.iloc[np.unique(by_split["val_angle"].image)]
    assert set(val_angle.identity) == set(train.identity)
    assert set(val_angle.angle).isdisjoint(set(train.angle))
    val_identity = TABLE.iloc[np.unique(by_split["val_identity"].image)]
    assert set(val_identity.identity).isdisjoint(set(train.identity))
    assert set(val_identity.category) == set(train.category)


def test_seeded_sampling_is_reproducible():
    task = NBackTask(2, "category", TABLE)
    a, b = task.sample(64, rng=11), task.sample(64, rng=11)
    c = task.sample(64, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.location, b.location)
    assert not np.array_equal(a.image, c.image)


def test_stimulus_set_objects_and_other_location_counts():
    task = NBackTask(1, "location", FakeStimulusSet(TABLE, n_locations=9))
    trials = task.sample(3000, rng=0)
    assert task.n_locations == 9 and set(trials.location.ravel()) == set(range(9))
    np.testing.assert_array_equal(trials.stimulus_index(9), trials.image * 9 + trials.location)


def test_longer_sequences_and_larger_n_sets():
    task = NBackTask(4, "category", TABLE, length=9, n_values=(1, 2, 3, 4))
    trials = task.sample(500, rng=1)
    assert trials.target.shape == (500, 9)
    np.testing.assert_array_equal(task.task_vector, [0, 0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(trials.target, oracle_targets(trials.category, 4))


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(n=6, feature="location"), "length=6"),
    (dict(n=3, feature="location", length=3), "use length >= 4"),
    (dict(n=4, feature="location"), "not in the configured N set"),
    (dict(n=0, feature="location"), "positive integer"),
    (dict(n=1, feature="identiy"), "Did you mean 'identity'"),
    (dict(n=1, feature="colour"), "use one of location, identity, category"),
    (dict(n=1, feature="location", length=1), "at least 2 frames"),
    (dict(n=1, feature="location", n_values=(1, 1)), "distinct"),
])
def test_bad_task_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(WmgeomError, match=message):
        NBackTask(stimuli=TABLE, **kwargs)


def test_bad_stimuli_and_splits_raise_clear_errors():
    with pytest.raises(WmgeomError, match="pass stimuli="):
        NBackTask(1, "location", None)
    with pytest.raises(WmgeomError, match=r"lacks column\(s\) \['split'\]"):
        NBackTask(1, "location", TABLE.drop(columns="split"))
    with pytest.raises(WmgeomError, match="StimulusSet or a pandas DataFrame"):
        NBackTask(1, "location", [1, 2, 3])
    bad = TABLE.copy()
    bad["category"] = "chair"
    with pytest.raises(WmgeomError, match="integer codes"):
        NBackTask(1, "location", bad)
    task = NBackTask(1, "identity", TABLE)
    with pytest.raises(WmgeomError, match="split 'test' has no images.*'val_angle'"):
        task.sample(4, split="test")
    with pytest.raises(WmgeomError, match="batch_size must be a positive integer"):
        task.sample(0)
    mixed = TABLE.copy()
    mixed.loc[0, "category"] = 999  # one image of an identity filed under another category
    with pytest.raises(WmgeomError, match="several categories"):
        NBackTask(1, "identity", mixed).sample(2, split=mixed.loc[0, "split"])


def test_features_with_a_single_value_in_a_split_are_rejected():
    one_category = synthetic_table(n_categories=1)
    with pytest.raises(WmgeomError, match="at least two category values in split 'train'"):
        NBackTask(1, "category", one_category).sample(4)
    one_identity = synthetic_table(n_categories=1, heldout_identities=0, train_identities=1)
    with pytest.raises(WmgeomError, match="at least two identity values"):
        NBackTask(1, "identity", one_identity).sample(4)
    with pytest.raises(WmgeomError, match="at least two location values"):
        NBackTask(1, "location", TABLE, n_locations=1).sample(4)
    # the location task itself still works on a one-category set
    assert len(NBackTask(1, "location", one_category).sample(4)) == 4


def test_many_batch_sizes_keep_the_plan_cache_bounded():
    task = NBackTask(2, "identity", TABLE)
    for size in range(1, 80):
        trials = task.sample(size, rng=size)
        np.testing.assert_array_equal(trials.target, oracle_targets(trials.identity, 2))
    assert 0 < len(task._plans) <= 64
