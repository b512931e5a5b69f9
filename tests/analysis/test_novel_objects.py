"""Training and novel identities decoded stage by stage, on planted recordings."""

from __future__ import annotations

import numpy as np
import pytest
from _novel import planted_novel_recording

from wmgeom.analysis import identity_loss, novel_object_decoding
from wmgeom.analysis.novel_objects import match_identities, stage_order
from wmgeom.errors import WmgeomError

FAST = {"cv": 3, "Cs": (1.0,), "inner_cv": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def collapsed():
    """Novel identities separable in perception and at encoding, collapsed in memory."""
    return novel_object_decoding(planted_novel_recording(0.05, gain=5.0), **FAST)


@pytest.fixture(scope="module")
def kept():
    """Novel identities coded as the training ones at every stage."""
    return novel_object_decoding(planted_novel_recording(1.0, gain=5.0), **FAST)


def test_the_loss_is_located_in_memory(collapsed):
    loss = identity_loss(collapsed).set_index("stage")
    assert loss.index.tolist() == ["perceptual", "input", "encoding", "memory 1", "memory 2"]
    assert (loss["order"].diff().dropna() > 0).all()
    # perception and encoding keep the novel identities ...
    for stage in ("perceptual", "input", "encoding"):
        assert loss.loc[stage, "gap"] > -0.1, loss
    # ... memory loses them (planted: their codes decay to 5% per step)
    assert loss.loc["memory 1", "gap"] < -0.5
    assert loss.loc["memory 2", "gap"] < -0.5
    assert loss.loc["memory 1", "trained"] > 0.7
    first = loss[loss["gap"] < -0.1].sort_values("order").index[0]
    assert first == "memory 1"


def test_no_loss_names_no_stage(kept):
    loss = identity_loss(kept)
    assert (loss["gap"] > -0.1).all(), loss
    assert (loss["trained"] > 0.7).all()


def test_groups_are_matched_on_trials_and_chance(collapsed):
    cv = collapsed[collapsed["kind"] == "cross-validated"]
    # the novel split holds one trial more per task: subsampled to the training one's
    assert set(cv["n_trials"]) == {60}
    for feature, k in (("identity", 4), ("category", 2), ("location", 4)):
        rows = cv[cv["feature"] == feature]
        assert set(rows["n_classes"]) == {k}
        assert np.allclose(rows["chance"], 1 / k)
    assert set(cv["group"]) == {"trained", "novel"}
    assert set(cv.loc[cv["group"] == "novel", "split"]) == {"val_identity"}
    assert set(cv.loc[cv["group"] == "trained", "split"]) == {"val_angle"}
    # the same cells in both groups, every stage
    cells = ["stage", "task", "stimulus", "frame", "feature"]
    a = cv[cv["group"] == "trained"][cells].sort_values(cells).to_numpy()
    b = cv[cv["group"] == "novel"][cells].sort_values(cells).to_numpy()
    assert (a == b).all()
    # memory lags only while the stimulus is held (2-back tasks: lags 1 and 2)
    memory = cv[cv["stage"].str.startswith("memory")]
    assert set(memory["lag"]) == {1, 2}
    assert (memory["frame"] - memory["stimulus"] == memory["lag"]).all()
    assert np.allclose(cv["normalized_accuracy"],
                       (cv["accuracy"] - cv["chance"]) / (1 - cv["chance"]))


def test_category_generalization_follows_the_shared_code(kept, collapsed):
    def gen(t, stage):
        g = t[(t["kind"] == "generalization") & (t["stage"] == stage)]
        assert set(g["feature"]) == {"category"} and set(g["group"]) == {"novel"}
        return g["normalized_accuracy"].mean()

    # the planted novel objects share the training ones' category code ...
    assert gen(kept, "encoding") > 0.8 and gen(kept, "memory 1") > 0.6
    # ... until it decays in memory
    assert gen(collapsed, "encoding") > 0.8 and gen(collapsed, "memory 1") < 0.3


def test_more_training_identities_are_subsampled_one_per_category():
    ds = planted_novel_recording(
        1.0, gain=5.0, trained_objects={"location": 4, "category": 2, "identity": 4},
        novel_objects={"location": 4, "category": 2, "identity": 2})
    t = novel_object_decoding(ds, **FAST)
    ident = t[(t["kind"] == "cross-validated") & (t["feature"] == "identity")]
    assert set(ident["n_classes"]) == {2}
    assert ident.groupby("group")["n_trials"].nunique().eq(1).all()
    assert ident.groupby("group")["n_trials"].first().nunique() == 1


def test_match_identities():
    category = {i: i // 2 for i in range(8)} | {i: i - 8 for i in range(8, 12)}
    trained, novel = match_identities(range(8), range(8, 12), category, seed=0)
    assert novel.tolist() == [8, 9, 10, 11]
    assert len(trained) == 4 and sorted(category[i] for i in trained) == [0, 1, 2, 3]
    again, _ = match_identities(range(8), range(8, 12), category, seed=0)
    assert again.tolist() == trained.tolist()
    draws = {tuple(match_identities(range(8), range(8, 12), category, seed=s)[0])
             for s in range(8)}
    assert len(draws) > 1  # seeded, not fixed
    # the novel group subsampled when it is the larger; without categories at random
    small, large = match_identities([0, 1], [5, 6, 7], None, seed=1)
    assert small.tolist() == [0, 1] and len(large) == 2 and set(large) <= {5, 6, 7}
    with pytest.raises(WmgeomError, match="the novel identities hold 1 identity"):
        match_identities([0, 1], [5])


def test_stage_order():
    assert [stage_order(s) for s in ("perceptual", "input", "encoding", "memory 1",
                                      "memory 3")] == [0, 1, 2, 3, 5]
    with pytest.raises(WmgeomError, match="unknown stage 'memory 0'"):
        stage_order("memory 0")


def test_error_paths():
    ds = planted_novel_recording(1.0, n_trials=12)
    with pytest.raises(WmgeomError, match="needs an Activations Dataset"):
        novel_object_decoding(ds["hidden"].values, **FAST)
    with pytest.raises(WmgeomError, match="no 'split' variable"):
        novel_object_decoding(ds.drop_vars("split"), **FAST)
    with pytest.raises(WmgeomError, match="no trials of the split 'val_identity'"):
        novel_object_decoding(ds.isel(trial=ds["split"].values == "val_angle"), **FAST)
    with pytest.raises(WmgeomError, match="are both 'val_angle'"):
        novel_object_decoding(ds, novel_split="val_angle", **FAST)
    with pytest.raises(WmgeomError, match="no identity labels"):
        novel_object_decoding(ds, features=["location", "category"], **FAST)
    shared = ds.copy()
    shared["identity"] = ds["identity"] % 4
    with pytest.raises(WmgeomError, match="shares identities .* not novel"):
        novel_object_decoding(shared, **FAST)
    with pytest.raises(WmgeomError, match="only .* trials .* 10-fold decoding needs 20"):
        novel_object_decoding(ds, **(FAST | {"cv": 10}))
