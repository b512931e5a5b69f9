"""The HTML report: one self-contained page, every figure embedded, rendered by a browser."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from wmgeom.analysis.pipeline import AnalysisProtocol, analyze_runs
from wmgeom.errors import WmgeomError
from wmgeom.models import SensoryCognitiveModel
from wmgeom.report import Section, render_html, write_report
from wmgeom.report.sections import FIGURE_NOTES

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_runs import make_activations, with_model, write_run  # noqa: E402

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
    root = tmp_path_factory.mktemp("runs")
    torch.manual_seed(0)
    model = SensoryCognitiveModel(2, (1, 1), 6, 16, "lstm").eval()
    lstm = write_run(root / "lstm-stmf", with_model(make_activations(
        trials_per_task=30, n_frames=4, n_units=16, identities_per_category=3,
        architecture="lstm"), model))
    gru = write_run(root / "gru-stmf", make_activations(
        trials_per_task=30, n_frames=4, n_units=16, identities_per_category=3, seed=1))
    fast = AnalysisProtocol(n_splits=3, inner_splits=2, Cs=(1.0,), n_bootstraps=3)
    analyze_runs([lstm, gru], out_dir=lstm, progress=False, protocol=fast,
                 model_loader=lambda path: model if path == lstm else None)
    return write_report(lstm, [gru])  # already analysed with both runs: not re-analysed


def test_write_report_builds_a_self_contained_page_from_synthetic_runs(report_page):
    page = report_page.read_text()
    run = report_page.parent
    assert _external_refs(page) == []
    figures = sorted((run / "figures").glob("*.png"))
    assert figures and all(p.with_suffix(".svg").is_file() for p in figures)
    assert page.count("data:image/png;base64,") == len(figures)  # every figure embedded
    names = {p.stem for p in figures}
    assert {note.name for note in FIGURE_NOTES} <= names  # every seed-000 figure drawn
    for heading in ["Accuracy", "Training curves", "How these results were produced",
                    "Resolved configuration", *(note.title for note in FIGURE_NOTES)]:
        assert f">{html.escape(heading)}</h2>" in page
    assert "LSTM STMF" in page and "GRU STMF" in page  # the extra run is compared
    assert "Seed 000: relevant features fully decodable" in page
    assert "timing (seconds per analysis)" in page


def test_readings_are_phrased_from_the_computed_numbers(report_page):
    page = report_page.read_text()
    tables = pd.read_csv(report_page.parent / "analysis" / "relevant_irrelevant.csv")
    lstm = tables[tables["model"] == "LSTM STMF"]
    relevant = lstm.loc[lstm["relevant"], "accuracy"].mean()
    assert f"LSTM STMF: relevant features decoded at {100 * relevant:.1f}%" in page


def test_two_orientation_runs_are_reported_by_the_orientation_sections(tmp_path):
    (tmp_path / "config.yaml").write_text("study: two-orientation\n")
    with pytest.raises(WmgeomError, match="no summary.json"):
        write_report(tmp_path)


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
