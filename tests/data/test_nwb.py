"""NWB sessions written by pynwb, read back as TrialData and analysed end to end.

The session (tests/data/_nwb.py) plants the relative chronological memory subspaces of
Lei et al. 2024 (Fig. 4e, H2): an item's orientation and colour are coded in a subspace that
rotates with the item's age. The analyses must find it — each item decodable at every later
step, while a decoder fitted at its encoding step fails there — and must not find it once
the stimuli are shuffled across trials.
"""

from datetime import UTC

import numpy as np
import pytest

from wmgeom.data import TrialData
from wmgeom.data.nwb import bin_edges, series_means, spike_rates
from wmgeom.errors import ArgumentError, WmgeomError

from ._nwb import EPOCH, FEATURES, FIRST_ONSET, ITEMS, planted_session, write_planted_nwb

pynwb = pytest.importorskip("pynwb")

READ = {"features": list(FEATURES), "items": list(ITEMS), "bin_size": 0.05,
        "window": (0.0, FIRST_ONSET + EPOCH * len(ITEMS))}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return write_planted_nwb(tmp_path_factory.mktemp("nwb") / "planted.nwb", series=True)


@pytest.fixture(scope="module")
def analysed(session, tmp_path_factory):
    from wmgeom.studies.nback.recordings import analyze_data

    data = TrialData.from_nwb(session, **READ)
    out = tmp_path_factory.mktemp("analysis")
    return analyze_data([data, data.shuffled(seed=1)], out, {"protocol": {"device": "cpu"}}), out


def test_trials_items_and_spikes_are_read(session):
    data = TrialData.from_nwb(session, **READ)
    rates, labels, _, _ = planted_session()
    assert data.n_trials == 160 and data.n_units == 40 and data.items == ITEMS
    assert data.name == "planted" and data.tasks == ["sequence"]
    np.testing.assert_array_equal(data.features["color"], labels["color"])
    # onsets relative to each trial's start; the time axis starts each 50 ms bin
    np.testing.assert_allclose(data.onsets[0], FIRST_ONSET + EPOCH * np.arange(4), atol=1e-9)
    np.testing.assert_allclose(data.time[:3], [0.0, 0.05, 0.1])
    assert set(data.trials["response"]) == {0, 1}
    # binned spike counts average to the planted rates over each item's epoch
    frames = data.to_activations()["hidden"].values
    assert abs(np.corrcoef(frames.ravel(), rates.ravel())[0, 1]) > 0.6


def test_time_series_is_averaged_in_bins(session):
    data = TrialData.from_nwb(session, **READ, activity="rates")
    rates = planted_session()[0]
    np.testing.assert_allclose(data.to_activations()["hidden"].values, rates, atol=1e-9)
    assert data.attrs["activity"] == "rates"


def test_planted_geometry_is_found_and_its_null_is_not(analysed):
    tables, out = analysed
    within, cross = tables["within_time"], tables["cross_time"]
    planted, null = "planted", "planted (shuffled labels)"
    chance = within["chance"].mean()
    assert chance == pytest.approx(0.25)
    w = within.groupby("run")["accuracy"].mean()
    assert w[planted] > 0.65  # every item decodable at every later step
    assert abs(w[null] - chance) < 0.06  # no stimulus left to decode
    enc = cross[cross["frame"] == cross["stimulus"]].groupby("run")["accuracy"].mean()
    later = cross[cross["frame"] > cross["stimulus"]].groupby("run")["accuracy"].mean()
    assert enc[planted] > 0.65 and later[planted] < chance + 0.08  # the subspace rotates
    held = within[within["frame"] > within["stimulus"]].groupby("run")["accuracy"].mean()
    assert held[planted] - later[planted] > 0.35  # the item is there, in another subspace
    assert abs(enc[null] - chance) < 0.08
    # what the report and the command line say was skipped, and why
    status = tables["status"].set_index(["analysis", "run"])
    assert status.loc[("cross_time", planted), "status"] == "ran"
    assert "no perceptual" in status.loc[("orthogonalization", planted), "reason"]
    assert "only one task recorded" in status.loc[("cross_task", planted), "reason"]
    assert "no trained model" in status.loc[("causal", planted), "reason"]
    for name in ("within_time", "cross_time", "procrustes", "swap_tests", "findings",
                 "recording", "status"):
        assert (out / "analysis" / f"{name}.csv").is_file()
    page = (out / "report.html").read_text()
    assert "Data analysed" in page and "Analyses not run" in page
    assert "Run " not in page.split("Data analysed")[0][-200:]  # no training summary


def test_nwb_errors(session, tmp_path):
    with pytest.raises(ArgumentError, match=r"the trial table has no column 'fifth_orientation' "
                       r"\(feature 'orientation' of item 'fifth'\)"):
        TrialData.from_nwb(session, **{**READ, "items": [*ITEMS, "fifth"]})
    with pytest.raises(ArgumentError, match=r"the NWB file has no time series 'lfp'; it holds "
                       r"rates"):
        TrialData.from_nwb(session, **READ, activity="lfp")
    with pytest.raises(ArgumentError, match=r"the trials table has no column 'cue_time' to "
                       r"align trials to"):
        TrialData.from_nwb(session, **READ, align="cue_time")
    with pytest.raises(ArgumentError, match=r"time series 'rates' has no sample in the bin "
                       r"from .* use a bin_size of at least its sampling interval"):
        TrialData.from_nwb(session, **{**READ, "bin_size": 0.005}, activity="rates")
    with pytest.raises(ArgumentError, match=r"bin_size=2\.0 is longer than the window"):
        TrialData.from_nwb(session, **{**READ, "bin_size": 2.0})
    with pytest.raises(WmgeomError, match=r"NWB file not found: .*missing\.nwb"):
        TrialData.from_nwb(tmp_path / "missing.nwb", **READ)
    junk = tmp_path / "junk.nwb"
    junk.write_text("not hdf5")
    with pytest.raises(WmgeomError, match=r"junk\.nwb is not a readable NWB file"):
        TrialData.from_nwb(junk, **READ)


def test_nwb_without_trials_or_units(tmp_path):
    from datetime import datetime

    nwb = pynwb.NWBFile(session_description="empty", identifier="empty",
                        session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    path = tmp_path / "empty.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.raises(ArgumentError, match=r"empty\.nwb has no trials table; add one"):
        TrialData.from_nwb(path, features=["color"])
    nwb = pynwb.NWBFile(session_description="no units", identifier="no-units",
                        session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_trial_column("color", "colour")
    for t in range(4):
        nwb.add_trial(start_time=float(t), stop_time=t + 0.5, color=t % 2)
    path = tmp_path / "no_units.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.raises(ArgumentError, match=r"no_units\.nwb has no units table; name a time "
                       r"series with activity=\.\.\. instead"):
        TrialData.from_nwb(path, features=["color"])


def test_binning_helpers():
    edges = bin_edges(np.array([0.0, 10.0]), (0.0, 0.3), 0.1)
    np.testing.assert_allclose(edges[1], [10.0, 10.1, 10.2, 10.3])
    rates = spike_rates([np.array([0.05, 0.15, 0.16, 10.25])], edges)
    np.testing.assert_allclose(rates[..., 0], [[10, 20, 0], [0, 0, 10]])
    ts = np.arange(0, 11, 0.05)
    means = series_means(ts, ts[:, None], edges)
    np.testing.assert_allclose(means[0, :, 0], [0.025, 0.125, 0.225])
    with pytest.raises(ArgumentError, match=r"window=\[0\.3, 0\.0\] must be \[start, stop\]"):
        bin_edges(np.zeros(2), (0.3, 0.0), 0.1)
    with pytest.raises(ArgumentError, match=r"bin_size=0 must be positive"):
        bin_edges(np.zeros(2), (0.0, 0.3), 0)


def test_without_pynwb_the_error_says_what_to_install(session, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pynwb", None)  # as if it were not installed
    with pytest.raises(WmgeomError, match=r"reading NWB files needs pynwb: pip install "
                       r"\"wmgeom\[neuro\]\""):
        TrialData.from_nwb(session, **READ)


def test_alignment_times_must_be_known(tmp_path):
    from datetime import datetime

    nwb = pynwb.NWBFile(session_description="cue", identifier="cue",
                        session_start_time=datetime(2024, 1, 1, tzinfo=UTC))
    nwb.add_trial_column("color", "colour")
    nwb.add_trial_column("cue_time", "cue onset (s)")
    for t in range(4):
        nwb.add_trial(start_time=float(t), stop_time=t + 0.5, color=t % 2,
                      cue_time=np.nan if t == 2 else t + 0.1)
    nwb.add_unit(spike_times=np.arange(0.005, 4, 0.01))  # one spike inside every 10 ms
    path = tmp_path / "cue.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.raises(ArgumentError, match=r"the alignment column 'cue_time' is missing "
                       r"\(NaN\) in 1 trials"):
        TrialData.from_nwb(path, features=["color"], align="cue_time", window=(0, 0.3))
    data = TrialData.from_nwb(path, features=["color"], window=(0, 0.3), bin_size=0.1)
    np.testing.assert_allclose(data.activity[..., 0], 100.0)  # spikes per second
