"""TrialBatch and the task vector (docs/design.md)."""

from __future__ import annotations

import numpy as np
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.tasks import ACTIONS, FEATURES, NBackTask, TrialBatch, task_vector

from ._synthetic import synthetic_table

TABLE = synthetic_table()


def test_vocabulary():
    assert ACTIONS == ("no_action", "non_match", "match")
    assert FEATURES == ("location", "identity", "category")


def test_task_vector_is_the_papers_six_bit_code():
    np.testing.assert_array_equal(task_vector(0, 1), [1, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(task_vector(2, 3), [0, 0, 1, 0, 0, 1])
    vectors = task_vector(np.array([1, 0]), np.array([2, 4]), n_values=(1, 2, 3, 4))
    np.testing.assert_array_equal(vectors, [[0, 1, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0, 1]])
    assert vectors.dtype == np.float32


def test_task_vector_errors():
    with pytest.raises(WmgeomError, match=r"N=\[5\] is not in the configured N set"):
        task_vector(0, np.array([1, 5]))
    with pytest.raises(WmgeomError, match="feature index out of range"):
        task_vector(3, 1)


def test_batch_helpers():
    a = NBackTask(1, "location", TABLE).sample(5, rng=0)
    b = NBackTask(2, "category", TABLE).sample(3, rng=1)
    c = NBackTask(1, "location", TABLE).sample(2, rng=2)
    both = TrialBatch.concatenate([a, b, c])
    assert len(both) == 10 and both.n_frames == 6
    assert both.task_names == ("nback-1-location", "nback-2-category")
    assert list(both.task) == ["nback-1-location"] * 5 + ["nback-2-category"] * 3 + \
        ["nback-1-location"] * 2
    assert list(both.feature_name[4:6]) == ["location", "category"]
    np.testing.assert_array_equal(both.task_vector[5], task_vector(2, 2))
    sub = both[np.array([5, 0])]
    np.testing.assert_array_equal(sub.image, np.stack([b.image[0], a.image[0]]))
    np.testing.assert_array_equal(both[:5].target, a.target)
    assert both.replace(task_names=("x", "y")).task_names == ("x", "y")


def test_concatenate_errors():
    a = NBackTask(1, "location", TABLE).sample(2, rng=0)
    longer = NBackTask(1, "location", TABLE, length=7).sample(2, rng=0)
    wider = NBackTask(1, "location", TABLE, n_values=(1, 2, 3, 4)).sample(2, rng=0)
    with pytest.raises(WmgeomError, match="different lengths"):
        TrialBatch.concatenate([a, longer])
    with pytest.raises(WmgeomError, match="widths"):
        TrialBatch.concatenate([a, wider])
    with pytest.raises(WmgeomError, match="empty"):
        TrialBatch.concatenate([])


def test_batch_shapes_are_checked():
    a = NBackTask(1, "location", TABLE).sample(2, rng=0)
    with pytest.raises(ValueError, match="target has shape"):
        a.replace(target=a.target[:, :3])
    with pytest.raises(ValueError, match="task_index has 1 rows"):
        a.replace(task_index=a.task_index[:1])
