"""Behavioural measures on reports with planted biases."""

import numpy as np
import pytest

from wmgeom.analysis.behaviour import (
    bias_curve,
    compare_conditions,
    error_summary,
    ordinal_accuracy,
    report_errors,
    reports_from_outputs,
    repulsion_index,
)
from wmgeom.errors import WmgeomError
from wmgeom.tasks.orientation import wrap_orientation

RNG = np.random.default_rng(2)


def _reports(bias_deg, n=4000, noise=3.0, shared=0.0):
    t1, t2 = RNG.uniform(0, 180, (2, n))
    d = wrap_orientation(t2 - t1)
    s = np.sign(d)
    common = shared * RNG.standard_normal(n)
    # repulsion (bias > 0): item 1 pushed away from item 2, item 2 away from item 1
    r1 = t1 - bias_deg * s + noise * RNG.standard_normal(n) + common
    r2 = t2 + bias_deg * s + noise * RNG.standard_normal(n) + common
    return t1, t2, r1 % 180, r2 % 180


@pytest.mark.parametrize("bias", [4.0, -3.0])
def test_repulsion_and_attraction_are_recovered(bias):
    t1, t2, r1, r2 = _reports(bias)
    rep = repulsion_index(t1, t2, report_errors(t1, r1), report_errors(t2, r2))
    assert rep["repulsion1_deg"] == pytest.approx(bias, abs=0.3)
    assert rep["repulsion2_deg"] == pytest.approx(bias, abs=0.3)
    curve = bias_curve(t1, t2, report_errors(t1, r1), report_errors(t2, r2), n_bins=6)
    assert curve["n"].sum() == len(t1)
    assert np.sign(curve["bias2_deg"].iloc[-1]) == np.sign(bias)  # Δ > 0 bins
    assert np.sign(curve["bias1_deg"].iloc[-1]) == -np.sign(bias)


def test_error_correlation_and_summary():
    t1, t2, r1, r2 = _reports(0.0, noise=2.0, shared=2.0)
    s = error_summary(t1, t2, r1, r2)
    assert s["error_correlation"] == pytest.approx(0.5, abs=0.06)
    assert s["median_error_deg"] == pytest.approx(0.6745 * np.sqrt(8), rel=0.1)
    assert "ordinal_accuracy_output" not in s


def test_ordinal_accuracy_from_reports_and_output():
    t1 = np.array([10.0, 10.0, 170.0, 80.0])
    t2 = np.array([20.0, 0.0, 5.0, 10.0])  # signs: +, -, + (wrapped), -
    assert ordinal_accuracy(t1, t2, t1, t2) == 1.0
    assert ordinal_accuracy(t1, t2, ordinal_output=[1, -1, -1, -1]) == 0.75
    s = error_summary(t1, t2, t1, t2, ordinal_output=np.array([1, -1, 1, -1]))
    assert s["ordinal_accuracy_output"] == 1.0 and s["median_error_deg"] == 0.0


def test_reports_from_outputs_and_errors_wrap():
    th = np.array([5.0, 95.0, 175.0])
    r = np.deg2rad(2 * th)
    out = np.stack([np.cos(r), np.sin(r), np.cos(r), np.sin(r)], -1)
    a, b = reports_from_outputs(out)
    np.testing.assert_allclose(a, th)
    np.testing.assert_allclose(report_errors([179.0], [1.0]), [2.0])


def test_compare_conditions_table():
    t1, t2, r1, r2 = _reports(2.0, n=200)
    df = compare_conditions(
        {"a": error_summary(t1, t2, r1, r2), "b": error_summary(t1, t2, t1, t2)}
    )
    assert list(df.index) == ["a", "b"] and df.loc["b", "median_error_deg"] == 0


def test_user_errors():
    with pytest.raises(WmgeomError, match="4 report outputs"):
        reports_from_outputs(np.zeros((3, 2)))
    with pytest.raises(WmgeomError, match="needs the ordinal output"):
        ordinal_accuracy([1.0], [2.0])
    with pytest.raises(WmgeomError, match="widen max_abs_diff"):
        repulsion_index([0.0], [50.0], [0.0], [0.0], max_abs_diff=10)
