"""Numbers for people: each column's numbers in the form a reader expects."""

import pandas as pd
import pytest

from wmgeom.report.numbers import format_table, format_value, kind_of, readable_text
from wmgeom.report.page import Section, render_html


@pytest.mark.parametrize("column, value, text", [
    ("acc_train", 0.99609375, "99.6%"),
    ("accuracy_fitted", 0.5, "50.0%"),
    ("acc_val_angle_min_task", 0.9166, "91.7%"),
    ("parameters", 853891, "854 k"),
    ("parameters", 4_213_000, "4.21 M"),
    ("p", 0.00012, "< 0.001"),
    ("rsa_p", 0.0456, "0.046"),
    ("iterations", 12500, "12,500"),
    ("iterations_to_criterion", 2233.3333, "2,233.3"),
    ("seconds", 165.004, "165.0"),
    ("index", 0.123456, "0.123"),
    ("t", -65.4321, "-65.4"),
    ("procrustes", 1234.5, "1,234"),
    ("index", 2.5e-05, "< 0.0001"),
    ("index", -2.5e-05, "> -0.0001"),
    ("index", 3.14e-04, "0.00031"),
    ("index", -6.3e-04, "-0.00063"),
    ("model", "GRU MTMF", "GRU MTMF"),
    ("met_criterion", True, "True"),
    ("acc_train", float("nan"), ""),
    ("acc_train", None, ""),
])
def test_each_column_reads_as_a_person_expects(column, value, text):
    assert format_value(column, value) == text


def test_no_scientific_notation_where_a_person_reads():
    df = pd.DataFrame({"parameters": [8.539e5, 1.2e7], "acc_train": [0.9961, 1.0],
                       "iterations": [1500.0, 3600.0], "ratio": [12345.678, 0.5]})
    shown = format_table(df)
    assert shown.to_dict("list") == {"parameters": ["854 k", "12.00 M"],
                                     "acc_train": ["99.6%", "100.0%"],
                                     "iterations": ["1,500", "3,600"],
                                     "ratio": ["12,346", "0.5"]}
    assert not any("e+" in v for col in shown for v in shown[col])
    assert kind_of("n_conditions") == "count"
    assert kind_of("acc_same_category_val_angle") == "percent" and kind_of("x") == "number"


def test_the_page_formats_tables_and_shows_verdicts_as_badges(tmp_path):
    table = pd.DataFrame({"finding": ["a <b>", "c"], "verdict": ["reproduced", "not tested"],
                          "acc_train": [0.987654, 0.5], "parameters": [919939, 12]})
    page = render_html("t", [Section("s", tables=[("findings", table)])],
                       tmp_path / "r.html").read_text()
    assert '<span class="badge ok">reproduced</span>' in page
    assert '<span class="badge untested">not tested</span>' in page
    assert "98.8%" in page and "920 k" in page and "0.987654" not in page
    assert "a &lt;b&gt;" in page  # text is escaped


def test_readings_lose_their_scientific_notation():
    text = "O(encoding) 0.976 (less orthogonal, p=1.4e-05); RNN: p=0.34; drift 3.1e-04, 1e-07"
    assert readable_text(text) == ("O(encoding) 0.976 (less orthogonal, p < 0.001); RNN: "
                                   "p=0.34; drift 0.00031, < 0.0001")
    assert readable_text("p = 2.5E-02") == "p = 0.025"
