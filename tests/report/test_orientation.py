"""Sections of the two-orientation report.

Every figure function is exercised on real recordings by tests/studies (PNG and SVG).
"""

import json
import re

import numpy as np
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.report import orientation as rep

RNG = np.random.default_rng(0)


def test_sections_need_a_summary(tmp_path):
    with pytest.raises(WmgeomError, match="no summary.json"):
        rep.sections(tmp_path)


def test_sections_read_numbers_from_the_run(tmp_path):
    numbers = {
        "rate_noise": 0.1,
        "ordinal": False,
        "median_error_deg": 3.21,
        "sd_error1_deg": 1,
        "sd_error2_deg": 1,
        "error_correlation": 0.2,
        "repulsion1_deg": 1.5,
        "repulsion2_deg": 0.5,
        "ordinal_accuracy_reports": 0.9,
        "iterations": 10,
        "train_seconds": 1,
        "principal_angle1_deg": 81.0,
        "principal_angle2_deg": 88.0,
        "radius_ratio": 0.9,
        "circularity1": 0.8,
        "circularity2": 0.7,
        "linear_r2": 0.5,
        "var3": 0.6,
        "var4": 0.8,
        "clifford": True,
        "betti0": 1,
        "betti1": 2,
        "betti2": 1,
        "n_theta1_units": 5,
        "n_theta2_units": 6,
        "ring_contrast_theta1": 0.1,
        "ring_contrast_theta2": 0.2,
        "fraction_tuning_changed": 0.4,
        "median_tuning_corr": 0.3,
        "median_abs_shift_deg": 20,
        "ctd_within_delay1_deg": 4,
        "ctd_delay1_to_delay2_deg": 30,
        "ctd_within_delay2_deg": 5,
    }
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "default_condition": "c",
                "median_error_deg": 3.21,
                "seconds": 5,
                "conditions": {"c": numbers},
            }
        )
    )
    secs = rep.sections(tmp_path)
    assert len(secs) == 5
    text = " ".join(s.text for s in secs)
    assert "3.21" in text and "81°" in text and "(1, 2, 1)" in text and "40%" in text


def test_the_report_opens_with_the_findings_and_shows_the_nulls(tmp_path):
    import pandas as pd

    from wmgeom.studies.findings import FINDING_COLUMNS

    test_sections_read_numbers_from_the_run(tmp_path)
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    row = dict.fromkeys(FINDING_COLUMNS, "")
    found = pd.DataFrame([{**row, "id": "clifford_torus", "finding": "A Clifford torus",
                           "verdict": "reproduced", "measured": "c: Clifford index 0.7",
                           "null": "c: 0.05 (measured 0.7)", "margin": "≥ 0.2"},
                          {**row, "id": "accuracy", "finding": "Accurate",
                           "verdict": "not tested", "reason": "no table"}])
    found.to_csv(analysis / "findings.csv", index=False)
    pd.DataFrame({"condition": "c", "measure": ["clifford_index", "median_error_deg"],
                  "trained": [0.7, 3.0], "untrained": [0.05, 44.0], "shuffled": [0.01, 45.0]}
                 ).to_csv(analysis / "measures.csv", index=False)
    secs = rep.sections(tmp_path)
    assert secs[0].title == "Findings of Cueva et al. 2021" and len(secs) == 6
    assert "1 reproduced, 1 not tested" in secs[0].text
    name, table = secs[0].tables[0]
    assert list(table.columns[:5]) == ["finding", "verdict", "measured", "null", "margin"]
    manifold = next(s for s in secs if s.title.startswith("Activity manifold"))
    beside = dict(manifold.tables)["Beside the nulls (untrained network, shuffled orientations)"]
    assert beside["measure"].tolist() == ["clifford_index"]
    assert beside[["trained", "untrained", "shuffled"]].iloc[0].tolist() == [0.7, 0.05, 0.01]


def test_connectivity_figure_draws_the_untrained_profile():
    import pandas as pd

    rows = [{"post_group": g, "pre_group": g, "delta_deg": d, "mean_weight": w, "sem": 0.01,
             "n_pairs": 20} for g in ("theta1", "theta2")
            for d, w in ((-45.0, -0.1), (0.0, 0.2), (45.0, -0.1))]
    profile = pd.DataFrame(rows)
    groups = pd.DataFrame({"group": ["theta1", "theta2", "untuned"],
                           "preferred_deg": [0.0, 90.0, 0.0]})
    W = RNG.standard_normal((3, 3))
    fig = rep.plot_connectivity(W, groups, profile, null_profile=profile.assign(
        mean_weight=profile["mean_weight"] / 10, sem=profile["sem"] / 10))
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "untrained theta1 → theta1 (rescaled)" in labels
    dashed = [ln for ln in fig.axes[1].get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 2
    # a null whose weights are the trained ones / 10, rescaled to the trained spread
    np.testing.assert_allclose(dashed[0].get_ydata(), [-0.1, 0.2, -0.1], rtol=1e-6)


def test_the_findings_show_at_a_glance_against_their_nulls(tmp_path):
    import pandas as pd

    from wmgeom.studies.orientation_findings import FINDINGS, findings

    test_sections_read_numbers_from_the_run(tmp_path)
    analysis = tmp_path / "analysis"
    analysis.mkdir()
    names = ["betti0", "betti1", "betti2", "circularity1", "circularity2", "clifford_index",
             "conditional_angle_deg", "ctd_delay1_to_delay2_deg", "ctd_within_delay2_deg",
             "fraction_tuning_changed", "linear_r2", "median_error_deg", "orthogonal_coding",
             "principal_angle1_deg", "radius_ratio", "ring_contrast_norm_theta1",
             "ring_contrast_norm_theta2", "ring_like_theta1", "ring_like_theta2",
             "stimulus2_locked_code_change_deg", "torus_margin", "var3", "var4",
             "ordinal_accuracy_reports", "error_correlation"]
    trained = {"clifford_index": 0.7, "median_error_deg": 3.0, "betti1": 2.0}
    measures = pd.DataFrame(
        [{"condition": c, "rate_noise": n, "ordinal": 0, "measure": m,
          "trained": trained.get(m, 0.5) + (n if m == "median_error_deg" else 0.0),
          "untrained": 0.05 if m != "median_error_deg" else 44.0,
          "shuffled": 0.01 if m != "median_error_deg" else 45.0}
         for c, n in (("quiet", 0.0), ("noisy", 2.0)) for m in names])
    tables = {"measures": measures}
    found = findings(tables)
    found.to_csv(analysis / "findings.csv", index=False)
    measures.to_csv(analysis / "measures.csv", index=False)
    first = rep.sections(tmp_path, FINDINGS)[0]
    assert first.title == "Findings of Cueva et al. 2021" and first.anchor == "findings"
    assert not first.tables  # no run-on table: the rows are drawn
    assert first.html.count('<tr id="finding-') == len(FINDINGS)
    assert first.html.count('class="badge ') == len(FINDINGS)
    clifford = first.html.split('<tr id="finding-clifford_torus"')[1].split('<tr id="finding-')[0]
    assert '<img class="forest"' in clifford and "vs null" in clifford
    assert re.search(r"\d of 2 conditions pass", clifford), clifford.split("headline")[1][:300]
    # without the declarations, the saved table (older callers)
    assert rep.sections(tmp_path)[0].tables
