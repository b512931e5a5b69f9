"""wmgeom.studies.nback.recordings: the declared analyses on anyone's data, and their report."""

import pytest
from data._arrays import ITEMS, planted_arrays

from wmgeom.data import TrialData
from wmgeom.errors import WmgeomError
from wmgeom.studies.nback.recordings import (
    RecordingConfig,
    analysis_status,
    analyze_data,
    load_recording_config,
    protocol_of,
    recording_of,
)


@pytest.fixture(scope="module")
def data():
    activity, table, time, _ = planted_arrays(n_trials=80)
    return TrialData.from_arrays(activity, table, features=["orientation", "color"],
                                 items=ITEMS, time=time, name="planted")


@pytest.fixture(scope="module")
def analysed(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("analysed")
    config = {"analyses": ["within_time", "cross_time", "cross_task", "orthogonalization",
                           "causal"], "protocol": {"device": "cpu"}}
    return analyze_data(data, out, config), out


def test_recording_of_labels_the_data(data):
    rec = recording_of(data, "time", step=0.4)
    assert rec.name == "planted" and rec.model == "PLANTED"
    assert rec.rollout is None and rec.null is None
    assert rec.activations.sizes["frame"] == 3


def test_supported_analyses_run_and_the_others_say_why(analysed):
    tables, out = analysed
    status = analysis_status(tables).set_index("analysis")
    assert status.loc["within_time", "status"] == "ran"
    assert status.loc["cross_time", "status"] == "ran"
    assert status.loc["cross_task", "reason"].startswith("only one task recorded (sequence)")
    assert "no perceptual (CNN) features" in status.loc["orthogonalization", "reason"]
    assert "no trained model" in status.loc["causal", "reason"]
    # the planted items are decodable at every later step (relative chronological subspaces)
    within = tables["within_time"]
    assert within.loc[within["frame"] > within["stimulus"], "accuracy"].mean() > 0.8
    assert {"recording", "status", "findings", "timing"} <= set(tables)
    for name in ("within_time", "cross_time", "findings", "recording", "status", "skipped"):
        assert (out / "analysis" / f"{name}.csv").is_file()
    page = (out / "report.html").read_text()
    assert "Data analysed" in page and "no model was trained here" in page
    assert "Accuracy</h2>" not in page  # nothing trained, so no accuracy section
    assert "every trial" in page  # the protocol speaks of the data, not of splits


def test_protocol_standardizes_unless_told(data):
    assert protocol_of(RecordingConfig()).standardize
    assert protocol_of(RecordingConfig()).n_splits == 5  # the quick profile
    cfg = load_recording_config({"profile": "paper", "protocol": {"standardize": False}})
    assert not protocol_of(cfg).standardize and protocol_of(cfg).n_splits == 10


def test_config_errors(tmp_path, data):
    with pytest.raises(WmgeomError, match=r"recording config: unknown key 'frame'"):
        load_recording_config({"frame": {"mode": "items"}})
    with pytest.raises(WmgeomError, match=r"recording config: frames\.mode = 'bins'"):
        load_recording_config({"frames": {"mode": "bins"}})
    with pytest.raises(WmgeomError, match=r"recording config: read\.bin_size = -1"):
        load_recording_config({"read": {"bin_size": -1}})
    with pytest.raises(WmgeomError, match=r"recording config not found: .*nope\.yaml"):
        load_recording_config(tmp_path / "nope.yaml")
    with pytest.raises(WmgeomError, match=r"invalid analysis protocol"):
        analyze_data(data, tmp_path / "a", {"protocol": {"folds": 3}})
    with pytest.raises(WmgeomError, match=r"unknown analyses \['decoding'\]"):
        analyze_data(data, tmp_path / "b", analyses=["decoding"])
    with pytest.raises(WmgeomError, match=r"two recordings share the name 'planted'; give each "
                       r"its own name"):
        analyze_data([data, data], tmp_path / "c")
    with pytest.raises(WmgeomError, match=r"no recording given"):
        analyze_data([], tmp_path / "d")
