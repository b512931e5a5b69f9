"""wmgeom.analysis.data: activations and labels from an Activations Dataset or plain arrays."""

import numpy as np
import pytest

from wmgeom.analysis.data import ActivationArrays, activation_arrays
from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError


@pytest.fixture(scope="module")
def ds():
    """Two tasks of 10 trials, 3 frames, 16 units, with an LSTM-like cell variable."""
    return synthetic_memory_activations(n_trials=10, n_frames=3, n_units=16, cell=True,
                                        tasks=("nback-1-location", "nback-2-category"), seed=0)


def test_from_dataset(ds):
    a = activation_arrays(ds)
    assert isinstance(a, ActivationArrays)
    assert a.X.shape == (20, 3, 16) and a.X.dtype == np.float64 and a.n_frames == 3
    np.testing.assert_array_equal(a.X, ds["hidden"].values)
    assert list(a.labels) == ["location", "category"]  # the recorded features, in FEATURES order
    for f in ("location", "category"):
        np.testing.assert_array_equal(a.labels[f], ds[f].values)
    assert a.task.tolist() == ["nback-1-location"] * 10 + ["nback-2-category"] * 10
    assert a.n.tolist() == [1] * 10 + [2] * 10
    assert a.relevant.tolist() == ["location"] * 10 + ["category"] * 10


@pytest.mark.parametrize("space", ["cell", "encoding", "perceptual"])
def test_other_spaces(ds, space):
    a = activation_arrays(ds, space=space)
    np.testing.assert_allclose(a.X, ds[space].values)
    assert a.X.shape == ds[space].shape and a.X.dtype == np.float64


def test_dataset_without_task_metadata_gets_defaults(ds):
    a = activation_arrays(ds.drop_vars(["task", "n", "feature"]))
    assert a.task.tolist() == ["task"] * 20
    assert a.n.tolist() == [0] * 20
    assert a.relevant.tolist() == [""] * 20


def test_features_selection(ds):
    a = activation_arrays(ds, features=["category"])
    assert list(a.labels) == ["category"]
    np.testing.assert_array_equal(a.labels["category"], ds["category"].values)


def test_from_arrays_with_per_frame_and_per_trial_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3, 5))
    frame_labels = rng.integers(0, 2, size=(4, 3))
    a = activation_arrays(X, labels={"location": frame_labels, "category": [0, 1, 2, 3]},
                          task=["a", "a", "b", "b"], n=[1, 1, 2, 2],
                          relevant=["location", "location", "category", "category"])
    np.testing.assert_array_equal(a.X, X)
    np.testing.assert_array_equal(a.labels["location"], frame_labels)
    # a label per trial is broadcast over the frames
    np.testing.assert_array_equal(a.labels["category"], [[0] * 3, [1] * 3, [2] * 3, [3] * 3])
    assert a.task.tolist() == ["a", "a", "b", "b"]
    assert a.n.tolist() == [1, 1, 2, 2] and a.n.dtype.kind == "i"
    assert a.relevant.tolist() == ["location", "location", "category", "category"]


def test_from_arrays_defaults_and_one_frame():
    a = activation_arrays(np.arange(8.0).reshape(4, 2), labels={"location": [0, 1, 0, 1]})
    assert a.X.shape == (4, 1, 2) and a.n_frames == 1  # [n_trials, n_units] is one frame
    np.testing.assert_array_equal(a.X[:, 0], np.arange(8.0).reshape(4, 2))
    np.testing.assert_array_equal(a.labels["location"], [[0], [1], [0], [1]])
    assert a.task.tolist() == ["task"] * 4
    assert a.n.tolist() == [0] * 4
    assert a.relevant.tolist() == [""] * 4


def test_from_activation_arrays_with_feature_selection(ds):
    a = activation_arrays(ds)
    assert activation_arrays(a) is a
    b = activation_arrays(a, features=["location"])
    assert list(b.labels) == ["location"]
    assert b.X is a.X and b.task is a.task


def test_subset(ds):
    a = activation_arrays(ds)
    mask = a.n == 2
    mask[12] = False
    s = a.subset(mask)
    assert s.X.shape == (9, 3, 16)
    np.testing.assert_array_equal(s.X, a.X[mask])
    for f in a.labels:
        np.testing.assert_array_equal(s.labels[f], a.labels[f][mask])
    assert s.task.tolist() == ["nback-2-category"] * 9
    assert s.n.tolist() == [2] * 9
    assert s.relevant.tolist() == ["category"] * 9


def test_missing_variable_lists_the_available_ones(ds):
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(ds.drop_vars("cell"), space="cell")
    assert str(exc.value) == ("the activations have no variable 'cell'; available: "
                              "['hidden', 'encoding', 'perceptual']")


def test_wrong_dims(ds):
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(ds.transpose("frame", "trial", ...))
    assert str(exc.value) == ("variable 'hidden' has dims ('frame', 'trial', 'unit'); expected "
                              "(trial, frame, unit)")
    with pytest.raises(WmgeomError, match=r"has dims \('trial', 'unit'\); expected"):
        activation_arrays(ds.isel(frame=0))


def test_dataset_without_labels(ds):
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(ds.drop_vars(["location", "category"]))
    assert str(exc.value) == ("the activations lack label variables ['location', 'identity', "
                              "'category']; record them with wmgeom record")
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(ds, features=["location", "identity"])
    assert str(exc.value) == ("the activations lack label variables ['identity']; record them "
                              "with wmgeom record")


def test_array_errors():
    X = np.zeros((4, 3, 5))
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(X)
    assert str(exc.value) == ("labels are required with array activations: pass "
                              "labels={feature: [n_trials, n_frames]}")
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(np.zeros((2, 3, 4, 5)), labels={"location": np.zeros(2)})
    assert str(exc.value) == ("activations must be [n_trials, n_frames, n_units]; got shape "
                              "(2, 3, 4, 5)")
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(X, labels={"location": np.zeros((4, 2))})
    assert str(exc.value) == ("labels 'location' have shape (4, 2); expected (4,) or (4, 3) "
                              "to match the activations")
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(X, labels={"location": np.zeros(4)}, features=["category"])
    assert str(exc.value) == "no labels for features ['category']; have ['location']"


def test_per_trial_label_mismatch_reports_the_shape_given():
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(np.zeros((4, 3, 5)), labels={"location": np.zeros(5)})
    assert "have shape (5,);" in str(exc.value)


@pytest.mark.parametrize("name, kw", [
    ("task", {"task": ["a", "b", "c"]}),
    ("n", {"n": [1, 2]}),
    ("relevant", {"relevant": ["location"]}),
    ("n", {"n": np.ones((4, 1))}),
])
def test_task_metadata_shape_mismatch(name, kw):
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(np.zeros((4, 3, 5)), labels={"location": np.zeros(4)}, **kw)
    shape = np.shape(kw[name])
    assert str(exc.value) == f"{name} has shape {shape}; expected (4,)"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_activations(ds, bad):
    X = np.zeros((4, 3, 5))
    X[1, 2, 3] = bad
    message = "activations contain NaN or infinite values; drop those trials"
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(X, labels={"location": np.zeros(4)})
    assert str(exc.value) == message
    damaged = ds.copy(deep=True)
    damaged["hidden"][0, 1, 2] = bad
    with pytest.raises(WmgeomError) as exc:
        activation_arrays(damaged)
    assert str(exc.value) == message


def test_label_features_include_other_features_by_role(ds):
    from wmgeom.analysis.data import FEATURE_ROLE, label_features

    assert label_features(ds) == ["location", "category"]
    other = ds.assign(direction=ds["location"].assign_attrs(role=FEATURE_ROLE))
    assert label_features(other) == ["location", "category", "direction"]
    a = activation_arrays(other)
    assert list(a.labels) == ["location", "category", "direction"]
    # a variable without the role is not a feature, whatever it holds
    assert label_features(ds.assign(direction=ds["location"])) == ["location", "category"]
