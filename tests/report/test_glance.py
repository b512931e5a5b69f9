"""Findings at a glance: the headline number, the forest plot and the folded per-unit table."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from wmgeom.report import glance
from wmgeom.studies.findings import Finding, Threshold, judge_findings

ARCHS, REGIMES, SEEDS = ("rnn", "gru", "lstm"), ("STSF", "STMF", "MTMF"), (0, 1, 2)


def grid_table(weak: str = "RNN STSF") -> pd.DataFrame:
    """9 models × 3 seeds; every model scores 0.9 against a null of 0.3 except ``weak``."""
    rows = []
    for a in ARCHS:
        for r in REGIMES:
            model = f"{a.upper()} {r}"
            for s in SEEDS:
                value = (0.55 if model == weak else 0.9) + 0.01 * s
                rows.append({"model": model, "architecture": a, "regime": r, "seed": s,
                             "run": f"{a}_{r}_seed{s}", "value": value, "null": 0.3})
    return pd.DataFrame(rows)


def demo_finding(id: str = "demo", table: str = "demo", **changes) -> Finding:
    kwargs = dict(
        measure=lambda g: {"score accuracy": g["value"].mean(),
                           "null score accuracy": g["null"].mean()},
        describe=lambda label, g, m: f"{label}: {m}",
        reproduced=(Threshold("score accuracy", ">=", 0.8),),
        partly=(Threshold("score accuracy", ">=", 0.5),),
        null="a shuffled control", compare="score accuracy", margin=0.1)
    kwargs.update(changes)
    return Finding(id, "Models score", "models score high", "2b", table, **kwargs)


@pytest.fixture(scope="module")
def judged():
    finding = demo_finding()
    return finding, finding.judge({"demo": grid_table()})


def test_quantity_text_reads_as_a_person_expects():
    assert glance.quantity_text("normalized accuracy", 0.8771) == "87.7%"
    assert glance.quantity_text("normalized accuracy", -0.003, signed=True) == "−0.3 pts"
    assert glance.quantity_text("normalized accuracy", 0.25, signed=True) == "+25.0 pts"
    assert glance.quantity_text("decoder drop", 0.4731) == "0.473"
    assert glance.quantity_text("decoder drop", -0.0296, signed=True) == "−0.0296"
    assert glance.quantity_text("decoder drop", 0.2, signed=True) == "+0.2"
    assert glance.quantity_text("decoder drop", math.nan) == "n/a"
    assert glance.quantity_text("worst task, train (lowest seed)", 0.95) == "95.0%"
    assert glance.quantity_text("all tasks, novel angles (lowest seed)", 0.934) == "93.4%"
    assert glance.quantity_text("novel identities − novel angles", -0.353) == "−35.3%"


def test_effect_is_the_mean_against_the_null_over_models_and_seeds(judged):
    finding, outcome = judged
    e = glance.effect(finding, outcome)
    effects = grid_table()["value"] - 0.3
    assert e.against_null and e.n == 27 and e.over == "model × seed"
    assert e.mean == pytest.approx(effects.mean())
    half = 2.0555 * effects.std(ddof=1) / np.sqrt(27)  # t(0.975, 26)
    assert (e.low, e.high) == pytest.approx((e.mean - half, e.mean + half), rel=1e-3)
    assert (e.units_meeting, e.units, e.seeds_meeting, e.seeds) == (8, 9, 24, 27)


def test_effect_without_null_or_seeds_is_the_value_over_units():
    table = grid_table().drop(columns="seed")
    finding = demo_finding(null="", compare="", margin=None)
    e = glance.effect(finding, finding.judge({"demo": table}))
    assert not e.against_null and e.n == 9 and e.seeds == 0 and e.over == "model"
    assert e.mean == pytest.approx(table.groupby("model")["value"].mean().mean())
    one = finding.judge({"demo": table[table["model"] == "GRU MTMF"]})
    assert math.isnan(glance.effect(finding, one).low)  # one observation: no interval
    assert glance.effect(finding, finding.judge({})) is None


def test_headline_is_a_few_short_lines(judged):
    finding, outcome = judged
    text = glance.headline_html(finding, outcome)
    lines = text.split("<br>")
    assert lines[0] == "<b>+57.1 pts vs null (needs +10.0 pts)</b>"
    assert re.fullmatch(r"95% CI \+\d+\.\d pts to \+\d+\.\d pts \(n = 27\)", lines[1])
    assert lines[2] == "8 of 9 models, 24 of 27 seeds pass"
    assert all(len(re.sub("<[^>]+>", "", line)) <= 45 for line in lines)
    untested = glance.headline_html(finding, finding.judge({}))
    assert "demo table missing" in untested


def test_short_reason_cuts_at_a_colon_or_a_word():
    assert glance.short_reason("not diagnostic: the null scores as high") == "not diagnostic"
    long = "needs several hidden sizes per architecture and several seeds of each"
    assert glance.short_reason(long, 30) == "needs several hidden sizes …"
    assert glance.short_reason("short") == "short"


def test_figure_label():
    assert glance.figure_label("2b, A5") == "Fig. 2b, A5"
    assert glance.figure_label("A1c") == "Fig. A1c"
    assert glance.figure_label("abstract") == "abstract"
    assert glance.figure_label("§4.1") == "§4.1"


def test_forest_plot_draws_each_model_beside_its_null(judged):
    finding, outcome = judged
    fig = glance.plot_units(finding, outcome)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RNN", "GRU", "LSTM"]
    grey = [line for line in ax.lines if line.get_marker() == "D"]
    assert len(grey) == 9 and all(line.get_xdata()[0] == pytest.approx(0.3) for line in grey)
    units = [line for line in ax.lines if line.get_marker() == "o" and line.get_markersize() > 4]
    hollow = [line for line in units if line.get_markerfacecolor() == "white"]
    assert len(units) == 9 and len(hollow) == 1  # RNN STSF misses the rule
    assert ax.get_xlabel() == "score accuracy"
    width, height = fig.get_size_inches()
    assert height < 0.8 and width < 3.5  # small enough for a row of the findings table
    assert glance.plot_units(finding, finding.judge({})) is None


def test_unit_table_is_numbers_not_sentences(judged):
    finding, outcome = judged
    table = glance.unit_table(finding, outcome)
    assert list(table.columns) == ["model", "score accuracy", "null", "minus null",
                                   "seeds meeting", "meets"]
    first = table.iloc[0].tolist()
    assert first == ["RNN STSF", "56.0%", "30.0%", "+26.0 pts", "0 of 3", "no"]


def test_glance_html_has_a_badge_plot_and_folded_table_per_finding(judged):
    finding, _ = judged
    missing = demo_finding("missing", table="nothing")
    tables = {"demo": grid_table()}
    findings = [finding, missing]
    saved = judge_findings(findings, tables)
    outcomes = {f.id: f.judge(tables) for f in findings}
    page = glance.glance_html(findings, outcomes, saved, {"demo": "fig-demo"})
    rows = page.split('<tr id="finding-')[1:]
    assert len(rows) == 2
    assert 'class="badge partly"' in rows[0] and 'class="badge untested"' in rows[1]
    assert '<img class="forest"' in rows[0] and "<img" not in rows[1]
    assert '<details class="more"><summary>per model</summary></details>' in rows[0]
    assert '<tr class="more"><td colspan="4">' in rows[0] and "RNN STSF" in rows[0]
    assert '<a href="#fig-demo">Fig. 2b</a>' in rows[0]
    assert "RNN STSF: {" not in page  # the run-on description is never shown
    changed = saved.assign(verdict=["reproduced", "not tested"])
    flagged = glance.glance_html(findings, outcomes, changed)
    assert "judged partly by this code" in flagged
    assert glance.legend_html(list(outcomes.values())).count('class="dot"') == 4
    assert "each seed" in glance.legend_html(list(outcomes.values()))
    single = demo_finding().judge({"demo": grid_table().drop(columns="seed")})
    assert "each seed" not in glance.legend_html([single])


# --------------------------------------------------------------------------- in a browser

needs_chromium = pytest.mark.skipif(__import__("_browser").CHROMIUM is None,
                                    reason="chromium not installed")


def grid_page(path, n_findings: int = 15):
    """A grid-sized page: 15 findings over 9 models × 3 seeds, then a models table and a
    figure, as the N-back report lays them out."""
    from matplotlib.figure import Figure as MplFigure

    from wmgeom.report.page import Section, render_html
    from wmgeom.studies.findings import units_by_architecture

    tables = {"demo": grid_table()}
    findings = []
    for i in range(n_findings):
        changes = {"units": units_by_architecture, "unit_name": "architecture"} if i % 4 == 3 \
            else {}
        findings.append(demo_finding(f"demo{i}", **changes))
    findings.append(demo_finding("untested", table="nothing"))
    outcomes = {f.id: f.judge(tables) for f in findings}
    fig = MplFigure(figsize=(9, 3))
    fig.add_subplot().plot([0, 1], [0, 1])
    models = pd.DataFrame({"model": ["RNN STSF", "GRU MTMF"], "parameters": [853891, 1.2e6],
                           "acc_train": [0.9961, 0.97]})
    sections = [Section("Findings", anchor="findings", text="Verdicts at a glance.",
                        html=glance.glance_html(findings, outcomes,
                                                judge_findings(findings, tables))),
                Section("Models", tables=[("models", models)]),
                Section("A figure (Fig. 2b)", figures=[(fig, "Here: a line.",
                                                        ("Lei et al. 2024", "a line"))])]
    return render_html("grid", sections, path)


@needs_chromium
def test_a_grid_sized_page_reads_in_one_and_a_half_screens(tmp_path):
    from _browser import probe

    page = grid_page(tmp_path / "report.html")
    seen = probe(page, tmp_path / "probe")
    assert seen["findings_height"] <= 1.5 * 900
    assert seen["scroll_width"] <= seen["viewport_width"] == 1280  # no horizontal overflow
    assert seen["images"] >= 16 and seen["images_broken"] == 0
    assert seen["rows"] == seen["rows_with_badge"] == 16  # a badge on every finding
    assert seen["judged_rows"] == seen["judged_rows_with_plot"] == 15
    assert seen["tallest_text_cell_lines"] <= 5  # no cell holds more than a few lines
    assert seen["folded_rows_shown"] == 0
    # a reader opens one finding's numbers: they take the table's width, nothing overflows
    opened = tmp_path / "opened.html"
    opened.write_text(page.read_text().replace('<details class="more">',
                                               '<details class="more" open>', 1))
    seen = probe(opened, tmp_path / "probe-opened")
    assert seen["folded_rows_shown"] == 1 and seen["scroll_width"] <= 1280


@needs_chromium
def test_the_probe_sees_overflow_and_broken_images(tmp_path):
    from _browser import probe

    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><section id="findings" style="height:3000px">'
                    '<div style="width:3000px">wide</div><img src="missing.png"></section>'
                    "</body></html>")
    seen = probe(page, tmp_path / "probe")
    assert seen["scroll_width"] > seen["viewport_width"]
    assert seen["images_broken"] == 1 and seen["findings_height"] >= 3000


def test_tick_labels_keep_ticks_apart():
    narrow = glance._formatter("reconstructed accuracy", (0.805, 0.825))
    assert [narrow(v, None) for v in (0.81, 0.815, 0.82)] == ["81.0%", "81.5%", "82.0%"]
    wide = glance._formatter("reconstructed accuracy", (0.0, 1.0))
    assert wide(0.3, None) == "30%"
    assert glance._formatter("decoder drop", (-0.02, 0.02))(-0.01, None) == "−0.01"
