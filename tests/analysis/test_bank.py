"""The decoder bank: every decoder of a recording fitted once, read by every analysis."""

from __future__ import annotations

import numpy as np
import pytest

from wmgeom.analysis.bank import decoder_bank, subset_conditions
from wmgeom.analysis.decodability import relevant_irrelevant_decoding, within_time_decoding
from wmgeom.analysis.decoders import cross_validated_decoding
from wmgeom.analysis.generalization import cross_time_decoding
from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError

FAST = {"cv": 3, "inner_cv": 2, "Cs": (1.0,), "device": "cpu"}
TASKS = (("a", 1, "location"), ("b", 2, "category"))


@pytest.fixture(scope="module")
def recording():
    return synthetic_memory_activations(60, 4, 24, tasks=TASKS, seed=0)


@pytest.fixture(scope="module")
def bank(recording):
    return decoder_bank(recording, **FAST)


def test_one_condition_per_stimulus_and_later_step(bank):
    assert set(bank) == {"a", "b"}
    step = bank["b"]
    assert step.n == 2 and step.relevant == "category"
    assert step.pairs == tuple((i, j) for i in range(4) for j in range(i, 4))
    assert step.result.coef.shape[0] == len(step.pairs) == 10
    assert step.X.shape == (4, 60, 24)
    with pytest.raises(WmgeomError, match="no decoders of stimulus 3 at step 1"):
        step.condition(3, 1)


def test_bank_decoders_equal_a_fit_of_that_condition_alone(recording, bank):
    """Decoders of (i, j) in the bank are those fitted on step j with stimulus i's labels."""
    step = bank["a"]
    sub = step.arrays
    alone = cross_validated_decoding(sub.X[:, 2], {f: v[:, 1] for f, v in sub.labels.items()},
                                     **FAST)
    picked = step.select([(1, 2)])
    assert [tuple(map(tuple, f)) for f in picked.folds] == [tuple(map(tuple, f))
                                                            for f in alone.folds]
    np.testing.assert_allclose(picked.features["accuracy"], alone.features["accuracy"],
                               atol=0.02)
    np.testing.assert_allclose(picked.coef[0], alone.coef[0], rtol=0.05, atol=0.05)


def test_analyses_read_the_bank_instead_of_refitting(recording, bank):
    with_bank = relevant_irrelevant_decoding(recording, frames=(0, 1), bank=bank)
    refit = relevant_irrelevant_decoding(recording, frames=(0, 1), **FAST)
    np.testing.assert_allclose(with_bank["accuracy"], refit["accuracy"], atol=0.05)
    within = within_time_decoding(recording, bank=bank)
    assert len(within) == 2 * 10 * 2  # tasks × pairs × features
    assert within["in_memory"].equals(within["frame"] <= within["stimulus"] + within["n"])
    ct = cross_time_decoding(recording, bank=bank)
    diag = ct[ct["lag"] == 0].set_index(["task", "stimulus", "feature"])["accuracy"]
    wt = within[within["lag"] == 0].set_index(["task", "stimulus", "feature"])["accuracy"]
    np.testing.assert_allclose(diag.sort_index(), wt.sort_index())  # same decoders at lag 0


def test_subset_and_errors(bank, recording):
    res = bank["a"].result
    part = subset_conditions(res, [3, 0])
    np.testing.assert_array_equal(part.coef[0], res.coef[3])
    assert set(part.features["condition"]) == {0, 1}
    with pytest.raises(WmgeomError, match="no trials of tasks"):
        decoder_bank(recording, tasks=["zzz"], **FAST)
    with pytest.raises(WmgeomError, match="steps="):
        decoder_bank(recording, steps="some", **FAST)
    with pytest.raises(WmgeomError, match="the decoder bank has no task 'b'"):
        relevant_irrelevant_decoding(recording, bank={"a": bank["a"]})
