"""wmgeom.data.read_data: a recording or activations file of any supported kind."""

import numpy as np
import pytest

from wmgeom.data import TrialData, read_data
from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.io import write_dataset

from ._arrays import ITEMS, planted_arrays

FEATURES = ["orientation", "color"]


@pytest.fixture(scope="module")
def arrays_on_disk(tmp_path_factory):
    activity, table, time, _ = planted_arrays()
    folder = tmp_path_factory.mktemp("arrays")
    np.savez(folder / "session.npz", activity=activity, time=time)
    table.to_csv(folder / "session.csv", index=False)
    return folder / "session.npz", activity, table


def test_npz_with_its_csv_table(arrays_on_disk):
    path, activity, table = arrays_on_disk
    data = read_data(path, features=FEATURES, items=list(ITEMS))
    assert data.name == "session" and data.attrs["source"] == "session.npz"
    np.testing.assert_allclose(data.activity, activity)
    np.testing.assert_array_equal(data.features["color"][:, 1], table["b_color"])
    np.testing.assert_allclose(data.time[1], 0.1)


def test_netcdf_of_either_layout(arrays_on_disk, tmp_path):
    path, activity, table = arrays_on_disk
    data = read_data(path, features=FEATURES, items=list(ITEMS))
    back = read_data(write_dataset(data.to_xarray(), tmp_path / "data.nc"))
    np.testing.assert_allclose(back.activity, activity)
    ds = planted_arrays()[3]
    frames = read_data(write_dataset(ds, tmp_path / "activations.nc"))
    assert frames.items == ("frame0", "frame1", "frame2")
    assert list(frames.features) == ["location", "category"]


def test_read_errors(arrays_on_disk, tmp_path):
    path, _, table = arrays_on_disk
    with pytest.raises(WmgeomError, match=r"unknown kind of file '\.mat'; wmgeom reads \.nc, "
                       r"\.nwb, \.npz"):
        read_data(tmp_path / "x.mat")
    with pytest.raises(WmgeomError, match=r"recording not found: .*missing\.npz"):
        read_data(tmp_path / "missing.npz")
    with pytest.raises(ArgumentError, match=r"option 'bin_size' applies to \.nwb files only, "
                       r"not to session\.npz"):
        read_data(path, features=FEATURES, items=list(ITEMS), bin_size=0.05)
    with pytest.raises(ArgumentError, match=r"name the stimulus features of session\.npz"):
        read_data(path, items=list(ITEMS))
    with pytest.raises(ArgumentError, match=r"session\.npz has no array 'rates'; it holds "
                       r"activity, time"):
        read_data(path, features=FEATURES, items=list(ITEMS), activity="rates")
    with pytest.raises(ArgumentError, match=r"unknown option 'bins' for session\.npz"):
        read_data(path, features=FEATURES, items=list(ITEMS), bins=3)
    lonely = tmp_path / "lonely.npz"
    np.savez(lonely, activity=np.zeros((2, 3, 4)))
    with pytest.raises(WmgeomError, match=r"the trial table of lonely\.npz is not found: "
                       r".*lonely\.csv \(one row per trial; name it with the trials option\)"):
        read_data(lonely, features=["color"])
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(WmgeomError, match=r"junk\.nc is unreadable"):
        read_data(junk)
    # the table's own errors come through unchanged
    table.iloc[:10].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ArgumentError, match=r"the trial table has 10 rows but activity has 60 "
                       r"trials"):
        read_data(path, features=FEATURES, items=list(ITEMS), trials=tmp_path / "short.csv")
    assert isinstance(read_data(path, features=FEATURES, items=list(ITEMS), name="x"),
                      TrialData)


def test_unreadable_arrays_or_table(tmp_path):
    (tmp_path / "bad.npz").write_text("not numpy")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(WmgeomError, match=r"bad\.npz is not a readable \.npz file"):
        read_data(tmp_path / "bad.npz", features=["a"])
    np.savez(tmp_path / "empty.npz", activity=np.zeros((2, 3, 4)))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(WmgeomError, match=r"the trial table .*empty\.csv is not a readable CSV "
                       r"file"):
        read_data(tmp_path / "empty.npz", features=["a"])
