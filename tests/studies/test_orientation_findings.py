"""Findings of Cueva et al. 2021 against their nulls: planted geometry and planted tables."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wmgeom.analysis.manifold import conditional_orthogonality, torus_geometry
from wmgeom.analysis.orientation import NETWORKS
from wmgeom.studies.findings import FINDING_COLUMNS
from wmgeom.studies.orientation_findings import FINDINGS, PAPER, findings, rules

# A trained network as the abstract describes it, and a control without any of it.
TRAINED = {
    "principal_angle1_deg": 80.0, "radius_ratio": 0.9, "circularity1": 0.9,
    "circularity2": 0.85, "var3": 0.7, "var4": 0.9, "linear_r2": 0.8, "clifford_index": 0.55,
    "conditional_angle_deg": 80.0, "orthogonal_coding": 0.8,
    "betti0": 1, "betti1": 2, "betti2": 1, "torus_margin": 0.05,
    "ring_like_theta1": 1.0, "ring_like_theta2": 1.0, "ring_contrast_norm_theta1": 1.0,
    "ring_contrast_norm_theta2": 0.8,
    "fraction_tuning_changed": 0.3, "ctd_within_delay2_deg": 5.0,
    "ctd_delay1_to_delay2_deg": 25.0, "stimulus2_locked_code_change_deg": 15.0,
    "median_error_deg": 4.0, "error_correlation": 0.2, "ordinal_accuracy_reports": 0.92,
}
CONTROL = {
    "principal_angle1_deg": 80.0, "radius_ratio": 0.9, "circularity1": 0.7,
    "circularity2": 0.7, "var3": 0.7, "var4": 0.9, "linear_r2": 0.02, "clifford_index": 0.01,
    "conditional_angle_deg": 70.0, "orthogonal_coding": 0.1,
    "betti0": 1, "betti1": 1, "betti2": 0, "torus_margin": -0.25,
    "ring_like_theta1": 0.0, "ring_like_theta2": np.nan, "ring_contrast_norm_theta1": 0.05,
    "ring_contrast_norm_theta2": np.nan,
    "fraction_tuning_changed": 0.5, "ctd_within_delay2_deg": 40.0,
    "ctd_delay1_to_delay2_deg": 44.0, "stimulus2_locked_code_change_deg": 1.0,
    "median_error_deg": 45.0, "error_correlation": 0.0, "ordinal_accuracy_reports": 0.5,
}


def _rows(condition, rate_noise, ordinal, trained, untrained=None, shuffled=None):
    nets = {"trained": trained, "untrained": untrained or CONTROL,
            "shuffled": shuffled or CONTROL}
    return pd.DataFrame({"condition": condition, "rate_noise": rate_noise,
                         "ordinal": int(ordinal), "measure": list(trained),
                         **{n: [float(nets[n].get(k, np.nan)) for k in trained]
                            for n in NETWORKS}})


def _verdicts(*rows) -> pd.DataFrame:
    return findings({"measures": pd.concat(rows, ignore_index=True)}).set_index("id")


def test_the_table_has_the_engines_columns_and_every_finding():
    out = findings({"measures": _rows("low-noise", 0.05, False, TRAINED)})
    assert list(out.columns) == FINDING_COLUMNS
    assert out["id"].tolist() == [f.id for f in FINDINGS]
    assert out["figure"].eq("abstract").all()


def test_a_network_with_every_property_beats_its_nulls():
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED))
    for fid in ("clifford_torus", "orthogonal_planes", "betti_torus", "ring_connectivity",
                "dynamic_code", "accuracy"):
        assert out.loc[fid, "verdict"] == "reproduced", (fid, out.loc[fid, "measured"])
    # the null column names both controls and the larger one
    null = out.loc["clifford_torus", "null"]
    assert "untrained network 0.01" in null and "shuffled orientations 0.01" in null
    assert "measured 0.55" in null


def test_a_null_that_shows_the_property_fails_the_finding():
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED, untrained=TRAINED))
    for fid in ("clifford_torus", "orthogonal_planes", "betti_torus", "ring_connectivity",
                "dynamic_code", "accuracy"):
        assert out.loc[fid, "verdict"] == "not reproduced", fid
    # the shuffled control alone, as good as the measurement
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED, shuffled=TRAINED))
    assert out.loc["clifford_torus", "verdict"] == "not reproduced"
    # topology: the labels do not change the states, so the shuffled control is not used
    assert out.loc["betti_torus", "verdict"] == "reproduced"
    assert "shuffled" not in out.loc["betti_torus", "null"]


def test_a_null_within_the_margin_leaves_the_finding_partly():
    near = {**CONTROL, "clifford_index": 0.45, "torus_margin": 0.0,
            "ring_contrast_norm_theta1": 0.7, "ring_contrast_norm_theta2": 0.7,
            "stimulus2_locked_code_change_deg": 8.0}
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED, untrained=near))
    for fid in ("clifford_torus", "betti_torus", "ring_connectivity", "dynamic_code"):
        assert out.loc[fid, "verdict"] == "partly", fid


def test_a_control_without_tuned_units_has_no_ring():
    untrained = {**CONTROL, "ring_contrast_norm_theta1": np.nan}
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED, untrained=untrained))
    assert out.loc["ring_connectivity", "verdict"] == "reproduced"
    assert "untrained network 0" in out.loc["ring_connectivity", "null"]


def test_each_condition_must_hold_the_finding():
    weak = {**TRAINED, "betti2": 0, "torus_margin": -0.05}
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED),
                    _rows("high-noise", 0.2, False, weak))
    assert out.loc["betti_torus", "verdict"] == "partly"
    assert "high-noise: Betti numbers off (1, 2, 1) 1" in out.loc["betti_torus", "measured"]


def _planted(kind: str, shuffle: bool = False) -> dict:
    """Numbers of the manifold analyses on a planted torus in 64 dimensions."""
    v = np.arange(16) * 180.0 / 16
    t1, t2 = (x.ravel() for x in np.meshgrid(v, v, indexing="ij"))
    r1, r2 = np.deg2rad(2 * t1), np.deg2rad(2 * t2)
    if kind == "clifford":
        X = np.c_[np.cos(r1), np.sin(r1), np.cos(r2), np.sin(r2)]
    else:  # a standard torus (a donut)
        X = np.c_[(1 + 0.4 * np.cos(r2)) * np.cos(r1), (1 + 0.4 * np.cos(r2)) * np.sin(r1),
                  0.4 * np.sin(r2)]
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    states = X @ Q[: X.shape[1]] + 0.01 * rng.standard_normal((len(X), 64))
    if shuffle:
        p = rng.permutation(len(t1))
        t1, t2 = t1[p], t2[p]
    return {**TRAINED, **torus_geometry(states, t1, t2),
            **conditional_orthogonality(states, t1, t2)}


def test_planted_clifford_torus_passes_and_a_standard_torus_fails():
    shuffled = _planted("clifford", shuffle=True)
    out = _verdicts(_rows("c", 0.05, False, _planted("clifford"), untrained=_planted("donut"),
                          shuffled=shuffled))
    assert out.loc["clifford_torus", "verdict"] == "reproduced"
    assert out.loc["orthogonal_planes", "verdict"] == "reproduced"
    out = _verdicts(_rows("c", 0.05, False, _planted("donut"), shuffled=shuffled))
    assert out.loc["clifford_torus", "verdict"] == "not reproduced"
    assert out.loc["orthogonal_planes", "verdict"] == "not reproduced"
    # shuffled labels on the planted Clifford torus show neither
    out = _verdicts(_rows("c", 0.05, False, shuffled))
    assert out.loc["clifford_torus", "verdict"] == "not reproduced"
    assert out.loc["orthogonal_planes", "verdict"] == "not reproduced"


def _quick_profile(noisy: dict, ordinal: dict, nulls: dict | None = None) -> pd.DataFrame:
    nulls = nulls or {}
    return _verdicts(_rows("low-noise", 0.05, False, TRAINED, **nulls),
                     _rows("high-noise", 0.2, False, noisy, **nulls),
                     _rows("high-noise-ordinal", 0.2, True, ordinal, **nulls))


def test_behaviour_across_training_conditions():
    noisy = {**TRAINED, "median_error_deg": 7.0, "ordinal_accuracy_reports": 0.9}
    ordinal = {**noisy, "median_error_deg": 9.0, "ordinal_accuracy_reports": 0.95}
    out = _quick_profile(noisy, ordinal)
    assert out.loc["noise_effect", "verdict"] == "reproduced"
    assert out.loc["noise_effect", "measured"].startswith(
        "high-noise vs low-noise: median error, noisier − less noisy (°) 3")
    assert out.loc["ordinal_effect", "verdict"] == "reproduced"
    assert out.loc["ordinal_effect", "measured"].startswith("high-noise-ordinal vs high-noise")
    # no gain in ordinal accuracy from the ordinal output
    out = _quick_profile(noisy, {**ordinal, "ordinal_accuracy_reports": 0.9})
    assert out.loc["ordinal_effect", "verdict"] == "not reproduced"


def test_behaviour_pairs_need_their_conditions():
    out = _verdicts(_rows("low-noise", 0.05, False, TRAINED))
    for fid, why in (("noise_effect", "differ only in their noise level"),
                     ("ordinal_effect", "with and without the ordinal output")):
        assert out.loc[fid, "verdict"] == "not tested" and why in out.loc[fid, "reason"]


def test_without_the_measures_table_nothing_is_tested():
    out = findings({}).set_index("id")
    assert out["verdict"].eq("not tested").all()
    assert out["reason"].str.contains("measures table missing").all()


def test_every_rule_names_its_null_and_margin():
    for f in FINDINGS:
        assert f.null and f.margin is not None, f.id
        assert f"reproduced also needs {f.compare} ≥ {f.margin:.3g} above {f.null}" in f.rule
        assert "|" not in f.rule + f.paper + f.claim, f.id  # cells of a Markdown table


def test_the_rules_are_written_in_the_docs():
    doc = (Path(__file__).parents[2] / "docs" / "orientation.md").read_text()
    assert rules() in doc  # the table is the generated one, as it is
    assert rules().startswith(f"| id | finding | {PAPER} | figure | rule |")


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.id)
def test_each_finding_quotes_the_abstract(finding):
    assert finding.paper.startswith("\"") and "seed" not in finding.paper
