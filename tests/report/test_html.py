"""The HTML report: one self-contained page, every figure embedded, rendered by a browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from wmgeom.errors import WmgeomError
from wmgeom.report import Section, render_html, write_report

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_runs import make_activations, write_run  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))


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


def test_write_report_requires_a_run_directory(tmp_path):
    with pytest.raises(WmgeomError, match="is not a directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WmgeomError, match="neither activations.nc nor analysis"):
        write_report(tmp_path / "empty")


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    run = write_run(tmp_path_factory.mktemp("run") / "gru-stmf",
                    make_activations(trials_per_task=30, n_units=16))
    return write_report(run)


def test_write_report_builds_a_self_contained_page_from_a_synthetic_run(report_page):
    page = report_page.read_text()
    run = report_page.parent
    assert _external_refs(page) == []
    figures = sorted((run / "figures").glob("*.png"))
    assert figures and all(p.with_suffix(".svg").is_file() for p in figures)
    assert page.count("data:image/png;base64,") == len(figures)  # every figure embedded
    for heading in ("Accuracy", "Training curves", "How these results were produced",
                    "Resolved configuration"):
        assert f">{heading}</h2>" in page
    assert (run / "analysis" / "timing.csv").is_file()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(report_page, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1280,2000", report_page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 10  # not a blank page
    assert (pixels < 128).mean() > 0.01  # text and plots drawn in dark ink
