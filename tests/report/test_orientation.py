"""Sections of the two-orientation report.

Every figure function is exercised on real recordings by tests/studies (PNG and SVG).
"""

import json

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
