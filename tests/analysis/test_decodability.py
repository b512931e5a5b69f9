"""Decodability within a time step, task-relevant and -irrelevant, on planted geometry."""

import numpy as np
import pytest

from wmgeom.analysis.decodability import relevant_irrelevant_decoding
from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError

FAST = {"cv": 4, "inner_cv": 2, "Cs": (0.01, 1.0), "tol": 1e-3, "device": "cpu"}
TWO_TASKS = (("1back-location", 1, "location"), ("2back-category", 2, "category"))


def test_relevant_found_and_irrelevant_absent():
    ds = synthetic_memory_activations(120, 3, 32, tasks=TWO_TASKS, irrelevant_gain=0.0,
                                      seed=0)
    table = relevant_irrelevant_decoding(ds, **FAST)
    assert len(table) == 4  # 2 tasks x 2 features at the first frame
    rel = table[table["relevant"]]
    irr = table[~table["relevant"]]
    assert (rel["accuracy"] > 0.9).all()
    assert (irr["accuracy"] < 0.45).all()  # chance is 0.25
    assert set(rel["feature"]) == {"location", "category"}
    # every frame (Fig. A5): the stimulus shown at each frame is decoded there
    every = relevant_irrelevant_decoding(ds, frames=None, **FAST)
    assert sorted(every["frame"].unique()) == [0, 1, 2]
    assert (every[every["relevant"]]["accuracy"] > 0.9).all()


def test_irrelevant_kept_when_coded():
    ds = synthetic_memory_activations(120, 2, 32, tasks=TWO_TASKS[:1], irrelevant_gain=5.0,
                                      seed=1)
    table = relevant_irrelevant_decoding(ds, **FAST)
    assert (table["accuracy"] > 0.85).all()
    assert table.set_index("feature").loc["category", "relevant"] == np.False_


def test_array_input_equals_dataset_input():
    ds = synthetic_memory_activations(80, 2, 24, seed=5)
    from_ds = relevant_irrelevant_decoding(ds, **FAST)
    from_arrays = relevant_irrelevant_decoding(
        ds["hidden"].values, labels={"location": ds["location"].values,
                                     "category": ds["category"].values},
        task=ds["task"].values, relevant=ds["feature"].values, **FAST)
    np.testing.assert_allclose(from_ds["accuracy"], from_arrays["accuracy"])


def test_user_errors():
    ds = synthetic_memory_activations(40, 2, 24, seed=6)
    with pytest.raises(WmgeomError, match="out of range"):
        relevant_irrelevant_decoding(ds, frames=(5,), **FAST)
