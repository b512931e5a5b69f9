"""wmgeom.data.TrialData: anyone's trials × time × units, its checks and its frames."""

import numpy as np
import pandas as pd
import pytest

from wmgeom.analysis.data import label_features
from wmgeom.data import TrialData
from wmgeom.errors import ArgumentError
from wmgeom.io import open_dataset, write_dataset

from ._arrays import BASELINE, ITEMS, POINTS, planted_arrays


@pytest.fixture(scope="module")
def planted():
    return planted_arrays()


@pytest.fixture(scope="module")
def data(planted):
    activity, table, time, _ = planted
    return TrialData.from_arrays(activity, table, features=["orientation", "color"],
                                 items=ITEMS, time=time, name="planted")


def test_from_arrays_reads_the_item_columns(data, planted):
    activity, table, time, ds = planted
    assert data.n_trials == 60 and data.n_units == 24 and data.items == ITEMS
    np.testing.assert_array_equal(data.activity, activity)
    np.testing.assert_array_equal(data.features["orientation"], ds["location"].values)
    np.testing.assert_array_equal(data.features["color"], ds["category"].values)
    np.testing.assert_allclose(data.onsets[0], time[BASELINE + POINTS * np.arange(3)])
    assert data.tasks == ["sequence"]
    assert data.trials["response"].tolist() == table["response"].tolist()
    assert "60 trials" in repr(data) and "orientation" in repr(data)
    described = dict(data.describe().to_numpy())
    assert described["feature color"] == "3 values"
    assert described["perceptual features"] == "none"


def test_item_frames_are_the_planted_frames(data, planted):
    ds = planted[3]
    act = data.to_activations()  # one frame per item, from its onset to the next
    np.testing.assert_allclose(act["hidden"].values, ds["hidden"].values)
    np.testing.assert_array_equal(act["orientation"].values, ds["location"].values)
    assert label_features(act) == ["orientation", "color"]  # read by every analysis
    assert act["n"].values.tolist() == [2] * 60  # the first item is compared with the last
    assert "span" not in act  # one comparison unless the table says otherwise
    assert set(act["feature"].values) == {"orientation"}  # the first feature by default
    assert act["item"].values[0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(act["frame_stop"].values - act["frame_start"].values, 0.4)


def test_time_frames_carry_the_last_item_through(data, planted):
    ds = planted[3]
    # frames of 0.2 s over the whole span after the first item: two per item epoch
    act = data.to_activations("time", step=0.2)
    assert act.sizes["frame"] == 6
    assert act["item"].values[0].tolist() == [0, 0, 1, 1, 2, 2]
    np.testing.assert_array_equal(act["color"].values[:, 3], ds["category"].values[:, 1])
    np.testing.assert_allclose(act["hidden"].values[:, 4], ds["hidden"].values[:, 2])
    assert act["n"].values.tolist() == [4] * 60  # the frame at which the last item appears
    # a window reaching into the baseline has frames before any item
    with pytest.raises(ArgumentError, match=r"frame 0 of trial 0 starts at 0, before the "
                       r"trial's first item \(0\.2\); start the window at or after"):
        data.to_activations("time", window=(0.0, 1.0), step=0.2)


def test_window_errors(data):
    with pytest.raises(ArgumentError, match=r"frames='bins'; choose one of items, time"):
        data.to_activations("bins")
    with pytest.raises(ArgumentError, match=r"window=\[0\.3, 0\.1\] must be \[start, stop\]"):
        data.to_activations("items", window=(0.3, 0.1))
    with pytest.raises(ArgumentError, match=r"holds no time point; widen the window"):
        data.to_activations("items", window=(0.01, 0.05))
    with pytest.raises(ArgumentError, match=r"step applies to frames='time' only"):
        data.to_activations("items", step=0.1)


def test_shuffled_permutes_stimuli_not_activity(data):
    null = data.shuffled(seed=3)
    np.testing.assert_array_equal(null.activity, data.activity)
    assert not np.array_equal(null.features["color"], data.features["color"])
    # the same permutation of trials for every feature: stimuli stay whole
    perm = [np.flatnonzero((data.features["orientation"] == row_o).all(1)
                           & (data.features["color"] == row_c).all(1))
            for row_o, row_c in zip(null.features["orientation"], null.features["color"],
                                    strict=True)]
    assert all(len(p) >= 1 for p in perm)
    assert null.name == "planted (shuffled labels)"


def test_take_keeps_descriptors_aligned(data):
    sub = data.take(np.arange(60) % 2 == 0)
    assert sub.n_trials == 30
    np.testing.assert_array_equal(sub.features["color"], data.features["color"][::2])
    assert sub.trials["response"].tolist() == [0] * 30


def test_xarray_round_trip_through_netcdf(data, tmp_path):
    path = write_dataset(data.to_xarray(), tmp_path / "data.nc")
    back = TrialData.from_xarray(open_dataset(path, "write it again"))
    np.testing.assert_allclose(back.activity, data.activity)
    np.testing.assert_array_equal(back.features["color"], data.features["color"])
    np.testing.assert_allclose(back.onsets, data.onsets)
    assert back.items == data.items and back.name == "planted"
    assert back.trials["response"].tolist() == data.trials["response"].tolist()
    np.testing.assert_allclose(back.to_activations()["hidden"].values,
                               data.to_activations()["hidden"].values)


def test_from_an_activations_dataset(planted):
    ds = planted[3]
    data = TrialData.from_xarray(ds)
    assert data.items == ("frame0", "frame1", "frame2")
    assert list(data.features) == ["location", "category"]
    assert data.perceptual.shape == (60, 3, ds.sizes["perc_unit"])
    act = data.to_activations()
    for name in ("hidden", "location", "category", "perceptual", "n"):
        np.testing.assert_allclose(act[name].values, ds[name].values)
    assert act["feature"].values.tolist() == ds["feature"].values.tolist()


def test_from_xarray_with_per_trial_item_columns(data, planted):
    activity, table, time, _ = planted
    import xarray as xr

    ds = xr.Dataset({"activity": (("trial", "time", "unit"), activity),
                     **{c: (("trial",), table[c].to_numpy()) for c in table}},
                    coords={"time": time})
    back = TrialData.from_xarray(ds, features=["orientation", "color"], items=ITEMS)
    np.testing.assert_array_equal(back.features["orientation"], data.features["orientation"])
    with pytest.raises(ArgumentError, match=r"name the stimulus features \(features=\[\.\.\.\]\)"):
        TrialData.from_xarray(ds)
    with pytest.raises(ArgumentError, match=r"the Dataset has no activity variable 'rates'; "
                       r"its 3-D variables are activity"):
        TrialData.from_xarray(ds, activity="rates")


def test_single_item_table_needs_no_onset():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"shape": rng.integers(0, 3, 30)})
    data = TrialData.from_arrays(rng.normal(size=(30, 5, 4)), table, features="shape")
    assert data.items == ("item",) and data.onsets[:, 0].tolist() == [0.0] * 30
    assert data.to_activations().sizes["frame"] == 1


# --------------------------------------------------------------------------- errors


def _args(planted):
    activity, table, time, _ = planted
    return activity.copy(), table.copy(), time.copy()


def test_missing_trial_field(planted):
    activity, table, time = _args(planted)
    with pytest.raises(ArgumentError, match=r"the trial table has no column 'b_color' "
                       r"\(feature 'color' of item 'b'\); its columns are task, response"):
        TrialData.from_arrays(activity, table.drop(columns="b_color"),
                              features=["orientation", "color"], items=ITEMS, time=time)
    with pytest.raises(ArgumentError, match=r"no column 'c_onset' \(onset of item 'c'\)"):
        TrialData.from_arrays(activity, table.drop(columns="c_onset"),
                              features=["color"], items=ITEMS, time=time)
    with pytest.raises(ArgumentError, match=r"no column 'condition' \(task of each trial\)"):
        TrialData.from_arrays(activity, table, features=["color"], items=ITEMS, time=time,
                              task="condition")
    with pytest.raises(ArgumentError, match=r"no stimulus feature given; name at least one"):
        TrialData.from_arrays(activity, table, features=[], items=ITEMS, time=time)


def test_unequal_lengths(planted):
    activity, table, time = _args(planted)
    kw = {"features": ["color"], "items": ITEMS}
    with pytest.raises(ArgumentError, match=r"the trial table has 59 rows but activity has "
                       r"60 trials; give one row per trial"):
        TrialData.from_arrays(activity, table.iloc[:59], time=time, **kw)
    with pytest.raises(ArgumentError, match=r"time has 13 values but activity has 14 time "
                       r"points"):
        TrialData.from_arrays(activity, table, time=time[:-1], **kw)
    with pytest.raises(ArgumentError, match=r"the unit table has 3 rows but activity has 24 "
                       r"units"):
        TrialData.from_arrays(activity, table, time=time, units=pd.DataFrame({"x": [1, 2, 3]}),
                              **kw)
    with pytest.raises(ArgumentError, match=r"perceptual features have shape \(60, 2, 5\); "
                       r"expected \(60, 3, dim\)"):
        TrialData.from_arrays(activity, table, time=time, perceptual=np.zeros((60, 2, 5)),
                              **kw)
    with pytest.raises(ArgumentError, match=r"activity must be trials × time × units \(3 "
                       r"dimensions\); got shape \(60, 14\)"):
        TrialData.from_arrays(activity[..., 0], table, time=time, **kw)


def test_nans(planted):
    activity, table, time = _args(planted)
    kw = {"features": ["color"], "items": ITEMS, "time": time}
    bad = activity.copy()
    bad[5, 3, 2] = np.nan
    with pytest.raises(ArgumentError, match=r"activity holds 1 NaN or infinite values \(first "
                       r"at trial 5, time index 3, unit 2\); drop or fill them"):
        TrialData.from_arrays(bad, table, **kw)
    t = table.astype({"b_color": float})
    t.loc[[4, 7], "b_color"] = np.nan
    with pytest.raises(ArgumentError, match=r"feature 'color' is missing \(NaN\) in 2 trials "
                       r"\(first: trial 4, item 'b'\); drop those trials"):
        TrialData.from_arrays(activity, t, **kw)
    t = table.copy()
    t.loc[9, "c_onset"] = np.nan
    with pytest.raises(ArgumentError, match=r"the onset of item 'c' is missing \(NaN\) in 1 "
                       r"trials \(first: trial 9\)"):
        TrialData.from_arrays(activity, t, **kw)
    t = table.copy()
    t.loc[1, "task"] = None
    with pytest.raises(ArgumentError, match=r"task column is missing \(NaN\) in 1 trials"):
        TrialData.from_arrays(activity, t, **kw)


def test_single_class_labels(planted):
    activity, table, time = _args(planted)
    for item in ITEMS:
        table[f"{item}_color"] = 2
    with pytest.raises(ArgumentError, match=r"feature 'color' takes a single value \(2\) in all "
                       r"60 trials; decoding needs two or more values"):
        TrialData.from_arrays(activity, table, features=["color"], items=ITEMS, time=time)


def test_onsets_and_names(planted):
    activity, table, time = _args(planted)
    kw = {"features": ["color"], "items": ITEMS, "time": time}
    t = table.copy()
    t.loc[2, "c_onset"] = 5.0
    with pytest.raises(ArgumentError, match=r"item 'c' of trial 2 starts at 5, outside the time "
                       r"axis \[0, 1\.3\]"):
        TrialData.from_arrays(activity, t, **kw)
    t = table.copy()
    t.loc[0, "b_onset"] = 0.1
    with pytest.raises(ArgumentError, match=r"item onsets must increase within a trial \(a, b, "
                       r"c\); trial 0 has"):
        TrialData.from_arrays(activity, t, **kw)
    with pytest.raises(ArgumentError, match=r"time must be finite and strictly increasing"):
        TrialData.from_arrays(activity, table, features=["color"], items=ITEMS,
                              time=time[::-1])
    t = table.rename(columns={f"{i}_color": f"{i}_task" for i in ITEMS})
    with pytest.raises(ArgumentError, match=r"a stimulus feature cannot be called 'task'"):
        TrialData.from_arrays(activity, t, features=["task"], items=ITEMS, time=time)
    t = table.assign(relevant="shape")
    with pytest.raises(ArgumentError, match=r"the relevant feature 'shape' is not among the "
                       r"features \(color\)"):
        TrialData.from_arrays(activity, t, **kw)
    t = table.assign(n=-1)
    with pytest.raises(ArgumentError, match=r"n column must hold non-negative integers"):
        TrialData.from_arrays(activity, t, **kw)
    t = table.assign(span=0)
    with pytest.raises(ArgumentError, match=r"span column must hold positive integers"):
        TrialData.from_arrays(activity, t, **kw)


def test_the_remaining_checks():
    import xarray as xr

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4, 3)), np.array([0, 1] * 3)
    table = pd.DataFrame({"task": ["t"] * 6})
    on = np.zeros((6, 1))
    cases = [
        (lambda: TrialData(X.astype(str), table, {"c": y}, on), r"activity must hold numbers"),
        (lambda: TrialData(X[:, :0], table, {"c": y}, on), r"activity of shape \(6, 0, 3\) is "
         r"empty"),
        (lambda: TrialData(X, table, {"c": y}, np.zeros((6, 2)), items=("a", "a")),
         r"item names repeat: a, a"),
        (lambda: TrialData(X, table, {"c": y}, np.zeros((5, 1))), r"onsets have shape \(5, 1\); "
         r"expected \(6, 1\): one onset per trial and item \(item0\)"),
        (lambda: TrialData(X, table, {"c": y[:4]}, on), r"feature 'c' has shape \(4, 1\); "
         r"expected \(6, 1\)"),
        (lambda: TrialData(X, table, {"c": y}, on, perceptual=np.full((6, 1, 2), np.nan)),
         r"perceptual features hold NaN or infinite values"),
        (lambda: TrialData(X, table, {}, on), r"no stimulus feature given"),
        (lambda: TrialData(X, table, {"c": y}, on).to_activations("time", window=(0, 0.5),
                                                                    step=1.0),
         r"the window 0 to 0\.5 is shorter than one step \(1\)"),
        (lambda: TrialData(X, table, {"c": y}, on).to_activations("time", step=-1),
         r"step=-1\.0 must be positive"),
        (lambda: TrialData.from_xarray(xr.Dataset({"activity": (("trial", "unit"), X[:, 0])})),
         r"variable 'activity' has dims \('trial', 'unit'\); expected \(trial, time, unit\)"),
        (lambda: TrialData.from_xarray(xr.Dataset({"hidden": (("trial", "frame", "unit"), X)})),
         r"the Activations Dataset has no per-frame labels \(none found\)"),
        (lambda: TrialData.from_xarray(xr.Dataset(
            {"activity": (("trial", "time", "unit"), X), "c": (("trial", "item"), y[:, None])})),
         r"the Dataset has no \(trial, item\) variable onset; its \(trial, item\) variables "
         r"are c"),
    ]
    for make, message in cases:
        with pytest.raises(ArgumentError, match=message):
            make()


def test_a_span_column_marks_every_item_a_probe_is_compared_with(planted):
    """An item-recognition design: the last item is a probe compared with both earlier
    items (n = 2, span = 2); cross-time decoding marks both as recalled there."""
    from wmgeom.analysis import cross_time_decoding

    activity, table, time = planted[:3]
    data = TrialData.from_arrays(activity, table.assign(n=2, span=2), features=["color"],
                                 items=ITEMS, time=time)
    act = data.to_activations()
    assert act["span"].values.tolist() == [2] * 60
    cross = cross_time_decoding(act, Cs=[1.0], inner_cv=None, cv=2)
    recall = cross[cross["recall"]]
    assert sorted(set(zip(recall["stimulus"], recall["frame"], strict=True))) == [(0, 2), (1, 2)]
