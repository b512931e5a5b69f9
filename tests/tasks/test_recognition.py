"""Item-recognition (Sternberg) trials: a list of K objects, distractors, a probe that
matches any list item."""

from __future__ import annotations

import re

import numpy as np
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.tasks import ACTIONS, FAMILIES, FEATURES, make, make_regime, regime_tasks
from wmgeom.tasks.recognition import RecognitionTask, recognition_task_vector
from wmgeom.tasks.registry import RegimeConfig

from ._synthetic import synthetic_table

TABLE = synthetic_table()
MATCH, NON_MATCH, NO_ACTION = (ACTIONS.index(a) for a in ("match", "non_match", "no_action"))


def _values(trials, feature):
    """The drawn values of ``feature``, re-read from the table (not from the batch)."""
    row = TABLE.iloc[trials.image.ravel()]
    if feature == "location":
        return trials.location
    return row[feature].to_numpy().reshape(trials.image.shape)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("feature", FEATURES)
def test_the_probe_matches_when_any_list_item_shares_its_feature(feature, k):
    trials = make(f"recog-{k}-{feature}", stimuli=TABLE, length=6).sample(6000, rng=k)
    assert trials.task_names == (f"recog-{k}-{feature}",)
    assert set(trials.span) == {k} and set(trials.n) == {5}
    assert trials.executive[:, -1].all() and not trials.executive[:, :-1].any()
    assert (trials.target[:, :-1] == NO_ACTION).all()
    assert abs((trials.target[:, -1] == MATCH).mean() - 0.5) < 0.02
    # an independent re-computation: is the probe's value among the list's values?
    values = _values(trials, feature)
    in_list = (values[:, :k] == values[:, -1:]).any(axis=1)
    np.testing.assert_array_equal(trials.target[:, -1], np.where(in_list, MATCH, NON_MATCH))
    # a match copies every list position equally often (the probe is no recency cue)
    match = trials.target[:, -1] == MATCH
    first_hit = (values[match, :k] == values[match, -1:]).argmax(axis=1)
    if k > 1:
        # each position is the first holder of the probe's value in a fair share of matches
        assert np.bincount(first_hit, minlength=k).min() > 0.15 * match.sum()


def test_distractors_and_irrelevant_features_carry_no_answer():
    trials = make("recog-2-identity", stimuli=TABLE, length=7).sample(8000, rng=3)
    match = trials.target[:, -1] == MATCH
    delay = trials.identity[:, 2:-1]
    assert (delay != delay[:, :1]).any(axis=1).mean() > 0.9  # distractors vary
    # a distractor equals the probe at chance whatever the answer (only list items count)
    chance = (delay == trials.identity[:, -1:]).mean(axis=1)
    assert abs(chance[match].mean() - chance[~match].mean()) < 0.03
    # the probe's location (irrelevant here) repeats a list item's as often either way
    same_location = (trials.location[:, :2] == trials.location[:, -1:]).any(axis=1)
    assert abs(same_location[match].mean() - same_location[~match].mean()) < 0.05
    # identity non-matches come from a list item's category at least at the set rate
    non = ~match
    same_category = (trials.category[non, :2] == trials.category[non, -1:]).any(axis=1)
    assert same_category.mean() > 0.5


def test_mixtures_draw_every_set_size_and_feature_with_their_vectors():
    mixture = make_regime("MTMF", TABLE, family="recognition")
    assert mixture.task_names == tuple(f"recog-{k}-{f}" for k in (1, 2, 3) for f in FEATURES)
    trials = mixture.sample(900, split="val_angle", rng=2)
    assert np.bincount(trials.task_index).tolist() == [100] * 9
    np.testing.assert_array_equal(trials.span, 1 + trials.task_index // 3)
    np.testing.assert_array_equal(trials.task_vector,
                                  recognition_task_vector(trials.feature, trials.span))
    assert trials.task_vector.shape == (900, 7) and (trials.task_vector[:, -1] == 1).all()
    assert (TABLE.iloc[trials.image.ravel()].split == "val_angle").all()
    assert make_regime("STMF", TABLE, n=2, family="recognition").task_names == (
        "recog-2-location", "recog-2-identity", "recog-2-category")
    assert FAMILIES["recognition"].task_dim((1, 2, 3)) == 7
    assert not FAMILIES["recognition"].rolling
    # set size 1 is delayed match-to-sample: the same trials' structure and answers
    one = make("recog-1-category", stimuli=TABLE).sample(4000, rng=0)
    values = _values(one, "category")
    np.testing.assert_array_equal(one.target[:, -1] == MATCH, values[:, -1] == values[:, 0])


def test_concatenated_batches_keep_their_spans():
    a = make("recog-3-location", stimuli=TABLE).sample(5, rng=0)
    b = make("nback-2-location", stimuli=TABLE).sample(4, rng=0)
    both = type(a).concatenate([a.replace(task_vector=a.task_vector[:, :6]), b])
    assert both.span.tolist() == [3] * 5 + [1] * 4
    assert both[np.array([0, 8])].span.tolist() == [3, 1]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: make("recog-4-location", stimuli=TABLE),
     re.escape("unknown item-recognition task 'recog-4-location'. Did you mean")
     + ".*" + re.escape("Set sizes come from n_values (1, 2, 3)")),
    (lambda: make("recog-2-colour", stimuli=TABLE), "unknown item-recognition task"),
    (lambda: make("recog-2-identiy", stimuli=TABLE), "Did you mean 'recog-2-identity'"),
    (lambda: regime_tasks("STMF", family="recognition"),
     re.escape("the STMF regime of item recognition trains one set size; pass n= one of "
               "(1, 2, 3)")),
    (lambda: regime_tasks("STSF", family="recognition"), "pass task=, e.g. 'recog-2-identity'"),
    (lambda: RecognitionTask(3, "location", TABLE, n_locations=3).sample(4),
     re.escape("item recognition on location with set size 3 needs more than 3 location "
               "values in split 'train' (a non-match probe takes a value no list item has), "
               "found 3")),
    (lambda: RecognitionTask(6, "location", TABLE, length=6, n_values=(6,)),
     re.escape("set size 6 needs 6 list frames and a probe, but length=6; use length >= 7")),
])
def test_errors_say_what_to_change(call, message):
    with pytest.raises(WmgeomError, match=message):
        call()


def test_regime_config_accepts_the_family():
    config = RegimeConfig(family="recognition", regime="STMF", n=3)
    assert config.task_names() == ["recog-3-location", "recog-3-identity", "recog-3-category"]
    assert config.task_family.label == "item recognition"
