"""Cross-task, cross-time and encoding-sharing generalization on planted geometry."""

import numpy as np
import pytest

from wmgeom.analysis.data import activation_arrays
from wmgeom.analysis.generalization import (
    cross_task_generalization,
    cross_time_decoding,
    encoding_space_sharing,
    generalization_summary,
    own_subspace_control,
)
from wmgeom.analysis.synthetic import synthetic_memory_activations
from wmgeom.errors import WmgeomError

FAST = {"cv": 4, "inner_cv": 2, "Cs": (0.01, 1.0), "tol": 1e-3, "device": "cpu"}
TWO_TASKS = (("1back-location", 1, "location"), ("2back-category", 2, "category"))


@pytest.mark.parametrize(("specific", "high"), [(False, True), (True, False)])
def test_cross_task_shared_vs_task_specific(specific, high):
    ds = synthetic_memory_activations(120, 2, 40, tasks=TWO_TASKS, task_specific=specific,
                                      seed=2)
    table = cross_task_generalization(ds, **FAST)
    assert len(table) == 2 * 2 * 2  # features x train tasks x test tasks
    val = table[table["kind"] == "validation"]["accuracy"]
    gen = table[table["kind"] == "generalization"]["accuracy"]
    assert (val > 0.9).all()
    assert (gen > 0.85).all() if high else (gen < 0.5).all()
    summary = generalization_summary(table)
    assert set(summary["kind"]) == {"validation", "generalization"}
    assert summary["n_pairs"].sum() == len(table)


@pytest.mark.parametrize(("mode", "stable"), [("slot", True), ("age", False)])
def test_cross_time_stable_vs_rotating_subspace(mode, stable):
    ds = synthetic_memory_activations(120, 3, 36, mode=mode, decay=1.0, seed=3)
    table = cross_time_decoding(ds, **FAST)
    enc = table[table["kind"] == "encoding"]
    mem = table[table["kind"] == "memory"]
    assert (enc["accuracy"] > 0.9).all()
    if stable:
        assert mem["accuracy"].mean() > 0.8 and mem["accuracy"].min() > 0.65
    else:
        assert mem["accuracy"].mean() < 0.4
    # executive / recall tags follow N (here N = 1)
    row = table[(table.stimulus == 0) & (table.frame == 1)].iloc[0]
    assert row["executive"] and row["recall"] and row["lag"] == 1
    row = table[(table.stimulus == 0) & (table.frame == 2)].iloc[0]
    assert row["executive"] and not row["recall"]


@pytest.mark.parametrize(("mode", "shared"), [("age", True), ("stimulus", False)])
def test_encoding_space_shared_across_stimuli(mode, shared):
    ds = synthetic_memory_activations(120, 3, 64, mode=mode, seed=4)
    table = encoding_space_sharing(ds, **FAST)
    assert len(table) == 3 * 3 * 2
    val = table[table["kind"] == "validation"]["accuracy"]
    gen = table[table["kind"] == "generalization"]["accuracy"]
    assert (val > 0.9).all()
    if shared:
        assert gen.mean() > 0.85 and gen.min() > 0.7
    else:
        assert gen.mean() < 0.4
    # the H3 control (a subspace per stimulus) keeps validation, loses generalisation
    rows = table[table["kind"] == "generalization"]
    assert (table.loc[table["kind"] == "validation", "null_accuracy"] == val).all()
    assert rows["null_accuracy"].mean() < 0.4
    if not shared:  # planted H3 is its own control: both near chance
        assert abs(rows["null_accuracy"].mean() - gen.mean()) < 0.15


def test_own_subspace_control_keeps_each_conditions_geometry():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 20, 8)) + 5.0
    Y = own_subspace_control(X, np.random.default_rng(1))
    d = lambda A: np.linalg.norm(A[:, :, None] - A[:, None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(Y), d(X), atol=1e-9)
    np.testing.assert_allclose(Y.mean(1), X.mean(1), atol=1e-9)
    assert not np.allclose(Y, X)


def test_user_errors():
    ds = synthetic_memory_activations(40, 2, 24, seed=6)
    with pytest.raises(WmgeomError, match="no variable 'cell'"):
        cross_task_generalization(ds, space="cell", **FAST)
    with pytest.raises(WmgeomError, match="no trials of tasks"):
        cross_time_decoding(ds, tasks=["2back-identity"], **FAST)
    with pytest.raises(WmgeomError, match="labels are required"):
        activation_arrays(np.zeros((4, 2, 3)))
    with pytest.raises(WmgeomError, match="lack label variables"):
        activation_arrays(ds, features=["identity"])
    with pytest.raises(WmgeomError, match="shape"):
        activation_arrays(np.zeros((4, 2, 3)), labels={"location": np.zeros((4, 3))})


def test_cross_time_marks_every_item_a_probe_is_compared_with():
    """Item recognition: the probe (the last frame, ``n = T - 1`` frames after the first
    item) is compared with the ``span`` list items; N-back's single comparison is span 1."""
    ds = synthetic_memory_activations(96, 5, 24, mode="age", decay=1.0, seed=4)
    arrays = activation_arrays(ds)
    for span, held in ((3, [0, 1, 2]), (1, [0])):
        recognition = activation_arrays(arrays.X, labels=arrays.labels, n=np.full(96, 4),
                                        span=np.full(96, span))
        table = cross_time_decoding(recognition, features=["location"], **FAST)
        recall = table[table["recall"]]
        assert sorted(recall["stimulus"].unique()) == held and set(recall["frame"]) == {4}
        assert set(table[table["executive"]]["frame"]) == {4}
    with pytest.raises(WmgeomError, match=r"span has shape \(3,\); expected \(96,\)"):
        activation_arrays(arrays.X, labels=arrays.labels, span=[1, 2, 3])
