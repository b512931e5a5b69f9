"""The report page: one self-contained HTML file, every figure embedded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from wmgeom.errors import WmgeomError
from wmgeom.report import Section, render_html


def _figure(color: str) -> Figure:
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1], [0, 1], color=color)
    return fig


def _external_refs(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//[^"']*""", page, flags=re.I)


def test_render_html_embeds_figures_and_tables_without_external_resources(tmp_path):
    png = tmp_path / "a.png"
    _figure("red").savefig(png, format="png")
    sections = [
        Section("First", text="para one\n\npara <two>", figures=[(png, "from a file")],
                tables=[("numbers", pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]}))]),
        Section("Second", figures=[(_figure("blue"), "from a Figure")], code="a: 1\n"),
    ]
    path = render_html("Report <test>", sections, tmp_path / "out" / "report.html")
    page = path.read_text()
    assert page.count('<img alt=') == 2
    assert page.count("data:image/png;base64,") == 2
    assert _external_refs(page) == []
    assert "para &lt;two&gt;" in page and "Report &lt;test&gt;" in page
    assert "<table" in page and "<pre>a: 1" in page
    assert not list((tmp_path / "out").glob(".*tmp"))  # written atomically, no leftovers


def test_render_html_rejects_missing_and_non_png_figures(tmp_path):
    with pytest.raises(WmgeomError, match="does not exist"):
        render_html("x", [Section("s", figures=[(tmp_path / "nope.png", "c")])],
                    tmp_path / "r.html")
    svg = tmp_path / "f.svg"
    svg.write_text("<svg/>")
    with pytest.raises(WmgeomError, match="is not a PNG"):
        render_html("x", [Section("s", figures=[(svg, "c")])], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_long_tables_are_truncated_with_a_note(tmp_path):
    df = pd.DataFrame({"i": np.arange(100)})
    page = render_html("t", [Section("s", tables=[("big", df)])], tmp_path / "r.html",
                       max_table_rows=10).read_text()
    assert "First 10 of 100 rows" in page
