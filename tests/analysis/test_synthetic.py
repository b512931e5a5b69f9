"""Synthetic activations with planted memory geometry."""

import numpy as np
import pytest

from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError


def test_layout_matches_activations_schema():
    ds = synthetic_memory_activations(10, 3, 16, tasks=(("a", 1, "location"),
                                                        ("b", 2, "category")))
    assert ds["hidden"].dims == ("trial", "frame", "unit")
    assert ds["hidden"].shape == (20, 3, 16)
    assert ds["location"].dims == ("trial", "frame")
    assert list(np.unique(ds["task"].values)) == ["a", "b"]
    assert set(ds["n"].values) == {1, 2}


def test_slot_mode_without_noise_keeps_old_memories_unchanged():
    ds = synthetic_memory_activations(60, 3, 16, mode="slot", noise=0.0, seed=1)
    X = ds["hidden"].values
    step = X[:, 1] - X[:, 0]  # what frame 1 adds: the code of stimulus 1 alone
    key = ds["location"].values[:, 1] * 10 + ds["category"].values[:, 1]
    for value in np.unique(key):
        same = step[key == value]
        np.testing.assert_allclose(same, np.broadcast_to(same[0], same.shape), atol=1e-12)
    assert len(np.unique(key)) < 60  # some trials share stimulus 1, so the check has teeth
    assert np.linalg.matrix_rank(X[:, 0]) <= 8  # one 8-dimensional code subspace


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "ring"}, "unknown mode"), ({"n_units": 4}, "more units"),
     ({"tasks": (("a", 1, "colour"),)}, "relevant feature")],
)
def test_user_errors(kwargs, message):
    with pytest.raises(WmgeomError, match=message):
        synthetic_memory_activations(5, 2, **{"n_units": 16, **kwargs})
