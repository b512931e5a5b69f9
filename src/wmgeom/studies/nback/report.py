"""The N-back report: the findings, the accuracy, every declared figure, the protocol.

The figures, their readings and the paper's captions come from the analysis declarations
(:mod:`wmgeom.studies.nback.analyses`). :func:`draw_figures` draws every declared figure
whose tables exist; :func:`write_report` reads a folder's tables from ``analysis/`` and
renders ``report.html``. Every reading is phrased from the tables computed for this run
(never from fixed text); the paper's caption is quoted next to it so a reader can compare.
Nothing here runs an analysis.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.io import clean_stale_temporaries, read_json, read_tables, read_yaml
from wmgeom.models.cores import architecture_label
from wmgeom.report import figures as F
from wmgeom.report.glance import glance_html, headline_html
from wmgeom.report.numbers import format_value, readable_text
from wmgeom.report.page import Section, badge, render_html
from wmgeom.studies.findings import Finding, Outcome
from wmgeom.studies.nback.analyses import ANALYSES
from wmgeom.studies.nback.analysis import Analysis, Figure, percent
from wmgeom.studies.nback.limitations import limitations_section, size_effects, size_series

log = logging.getLogger(__name__)


def declared_figures(analyses: Iterable[Analysis] | None = None) -> Iterator[Figure]:
    """Every figure the analyses declare (the registered ones by default), in page order."""
    for analysis in ANALYSES if analyses is None else analyses:
        yield from analysis.figures


def draw_figures(tables: dict[str, pd.DataFrame], figure_dir: Path,
                 only_missing: bool = False, analyses: Iterable[Analysis] | None = None
                 ) -> pd.DataFrame:
    """Draw every declared figure whose tables exist into ``figure_dir`` (PNG and SVG).

    Args:
        tables: Analysis tables by name.
        figure_dir: Output folder.
        only_missing: Draw only figures whose PNG is not there yet.
        analyses: Whose figures to draw (default every registered analysis).

    Returns:
        A timing table (``analysis`` = ``figure <name>``, ``seconds``, ...), one row per
        figure drawn, in the columns of the analyses' timing table.
    """
    import matplotlib.pyplot as plt

    rows = []
    for spec in declared_figures(analyses):
        if not spec.available(tables):
            continue
        if only_missing and (figure_dir / f"{spec.name}.png").is_file():
            continue
        start = time.perf_counter()
        plt.close(spec.draw(tables, figure_dir / spec.name))
        rows.append({"analysis": f"figure {spec.name}", "reference": "report", "model": "all",
                     "run": "", "status": "ok", "rows": 0,
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- sections


_PROTOCOL_TEXT = (
    "Decoders are linear SVMs on the raw activations ({scaling}), one-vs-rest per feature "
    "value, scored by {n_splits}-fold cross-validation with C chosen from {Cs} by an inner "
    "{inner_splits}-fold grid search (Lei et al. 2024, appendix). Every decoder of a recording (each "
    "stimulus at each later step, each task and feature) is fitted once and read by every "
    "analysis. Two measures are reported everywhere: 'accuracy', the multi-class accuracy "
    "of the argmax over a feature's one-vs-rest decision values (chance 1/k), which the "
    "figures and the findings use; and 'decoder_accuracy', the mean accuracy of the "
    "one-vs-rest decoders, the measure of the paper's SVC scores (its Fig. A5 averages them "
    "over feature values; a decoder that always answers 'rest' scores 1 - 1/k on it), which "
    "is what the paper's '>85%' compares with. Orthogonalisation indices are bootstrapped "
    "{n_bootstraps} times. {activations} Each table is also a CSV file in analysis/."
)

_RUN_ACTIVATIONS = ("Activations: the '{space}' state of the recurrent layer (LSTM cell state "
                    "too when recorded); trials of the splits {splits}.")

_DATA_ACTIVATIONS = ("Activity: the data's activity averaged over each frame's window "
                     "(frame_start to frame_stop of the Activations Dataset); every trial.")


_FINDINGS_TEXT = (
    "Verdicts computed from this folder's tables by each finding's rule (folded under it; "
    "docs/findings.md). Headline: the measurement minus its null (the same computation on a "
    "control lacking the property) with its 95% interval, or the value against the rule."
)

SHORT_READING = 3
"""Readings of more models than this are shortened on the page (the full one is folded)."""


def judged(tables: dict[str, pd.DataFrame], analyses: Iterable[Analysis] | None = None
           ) -> list[tuple[Analysis, Finding, Outcome]]:
    """Every declared finding judged again on the saved tables (the numbers the page draws;
    nothing is analysed), with its analysis, in page order.

    Label columns that the CSV round trip left all empty are read as text again (as the
    analysis held them). A finding the tables of an older version cannot measure any more
    keeps the verdict of ``findings.csv`` and shows no plot (logged).
    """
    readable = {name: _labels_as_text(t) for name, t in tables.items()}
    out = []
    for analysis in ANALYSES if analyses is None else analyses:
        for finding in analysis.findings:
            try:
                outcome = finding.judge(readable)
            except (KeyError, AttributeError, TypeError, ValueError) as exc:
                log.warning("finding %s cannot be measured again from these tables (%s: %s); "
                            "its saved verdict is shown without a plot", finding.id,
                            type(exc).__name__, exc)
                outcome = Outcome("", "not tested", "")
            out.append((analysis, finding, outcome))
    return out


_LABELS = ("model", "architecture", "regime", "run", "task", "feature", "kind", "space")


def _labels_as_text(table: pd.DataFrame) -> pd.DataFrame:
    empty = [c for c in _LABELS if c in table and len(table) and table[c].isna().all()]
    if not empty:
        return table
    return table.assign(**{c: table[c].astype(object) for c in empty})


def findings_section(tables: dict[str, pd.DataFrame], found: pd.DataFrame,
                     analyses: Iterable[Analysis] | None = None,
                     figure_links: dict[str, str] | None = None) -> Section:
    """The findings at a glance (:func:`~wmgeom.report.glance.glance_html`): one compact row
    per finding with its badge, headline number and plot of every model against its null."""
    triples = judged(tables, analyses)
    declared = {f.id for _, f, _ in triples}
    # the paper's claims; its open questions are answered in the section on its limitations
    beyond = {f.id for _, f, _ in triples if f.beyond_paper}
    findings = [f for _, f, _ in triples if not f.beyond_paper]
    outcomes = {f.id: o for _, f, o in triples}
    if "id" in found:
        found = found[~found["id"].isin(beyond)]
    counts = found["verdict"].value_counts()
    tally = ", ".join(f"{counts[v]} {v}" for v in ("reproduced", "partly", "not reproduced",
                                                    "not tested") if v in counts)
    extra = found[~found["id"].isin(declared)] if "id" in found else found.iloc[:0]
    questions = (f" The {len(beyond)} questions beyond the paper are answered in the next "
                 "section, on its limitations." if beyond else "")
    return Section(
        "Findings of Lei et al. 2024", anchor="findings",
        text=f"{_FINDINGS_TEXT} Here: {tally}.{questions}",
        html=glance_html(findings, outcomes, found, figure_links),
        tables=[("findings not declared by this code", extra[[
            c for c in ("finding", "figure", "verdict", "reason") if c in extra]].fillna(""))]
        if not extra.empty else [], wrap=True)


def _reading(spec: Figure, tables: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """The figure's reading, shortened to its first models where it lists many, and the
    full reading ("" when not shortened)."""
    full = readable_text(spec.reading(tables))
    parts = full.split("; ")
    if len(parts) <= SHORT_READING:
        return full, ""
    return (f"{'; '.join(parts[:2])}; … ({len(parts) - 2} more in the tables below)", full)


def _supports(items: list[tuple[Finding, Outcome, str]]) -> str:
    """The findings a figure supports: badge, claim, headline, link back to the glance."""
    import html as h

    lines = []
    for finding, outcome, verdict in items:
        head = headline_html(finding, outcome).split("<br>")[0]
        lines.append(f"<li>{badge(verdict)} {h.escape(finding.claim)} — {head} "
                     f'<a href="#finding-{h.escape(finding.id)}">↑</a></li>')
    return f'<ul class="supports">{"".join(lines)}</ul>' if lines else ""


def nback_sections(run_dir: Path, tables: dict[str, pd.DataFrame], config: dict,
                   summary: dict, protocol: dict, analyses: Iterable[Analysis] | None = None
                   ) -> list[Section]:
    """Sections of an N-back run's report (accuracy, training, figures, protocol, config).

    Args:
        run_dir: The run directory (figures are read from ``figures/``; the accuracy and
            training-curve figures are drawn there).
        tables: Analysis tables by name (``analysis/*.csv``).
        config: The resolved config (``config.yaml``).
        summary: ``summary.json`` (empty if absent).
        protocol: ``analysis/protocol.json`` (empty if absent).
        analyses: Whose figures to show (default every registered analysis).

    Returns:
        Sections in display order.
    """
    figure_dir = run_dir / "figures"
    sections = []
    chosen = list(ANALYSES if analyses is None else analyses)
    shown = [(a, spec) for a in chosen for spec in a.figures
             if (figure_dir / f"{spec.name}.png").is_file() and spec.available(tables)]
    anchors = {}
    for a, spec in shown:
        anchors.setdefault(a.name, f"fig-{spec.name}")
    grid = config.get("study") == "nback-grid"
    trained = summary or (run_dir / "metrics.csv").is_file()
    if (grid and tables.get("models") is not None) or (not grid and trained):
        # the training summaries' findings point to the models' or the accuracy section
        anchors.setdefault("models", "grid-models" if grid else "accuracy")
    links = {f.id: anchors[a.name] for a in chosen for f in a.findings if a.name in anchors}
    found = tables.get("findings")
    verdicts = {}
    outcomes = {}
    if found is not None and not found.empty:
        section = findings_section(tables, found, chosen, links)
        sections.append(section)
        verdicts = dict(zip(found["id"], found["verdict"], strict=True)) if "id" in found \
            else {}
        outcomes = {f.id: (f, o) for _, f, o in judged(tables, chosen)}
    limits = limitations_section(run_dir, found, [f for a in chosen for f in a.findings])
    if limits is not None:
        sections.append(limits)

    models = tables.get("models")
    recording = tables.get("recording")
    if config.get("study") == "nback-grid" and models is not None and not models.empty:
        sections += _grid_sections(models, figure_dir, tables.get("excluded"))
        metrics = None
        sized = size_section(outcomes.values(), models, figure_dir)
        if sized is not None:
            sections.append(sized)
    elif not summary and not (run_dir / "metrics.csv").is_file():
        # activations or recordings from elsewhere: no training to show
        metrics = None
        if recording is not None and not recording.empty:
            sections.append(Section(
                "Data analysed", text="What each data set holds (analysis/recording.csv); "
                "no model was trained here, so there is no accuracy to report.",
                tables=[("recording", _display(recording))]))
    else:
        metrics_path = run_dir / "metrics.csv"
        metrics = pd.read_csv(metrics_path) if metrics_path.is_file() else None
        acc = F.accuracy_table(summary, metrics)
        overview = Section("Accuracy", text=_overview_text(run_dir, summary, acc),
                           anchor="accuracy", fold_tables=True)
        if not acc.empty:
            F.plot_accuracy(acc, figure_dir / "accuracy")
            overview.figures.append((figure_dir / "accuracy.png", "Executive-step accuracy per "
                                     "task and split (last evaluation)."))
            overview.tables.append(("accuracy", acc))
        sections.append(overview)
    settings = _settings_vs_paper(config)
    if settings is not None:
        sections.append(settings)
    if metrics is not None and not metrics.empty:
        F.plot_training_curves(metrics, figure_dir / "training_curves")
        sections.append(Section(
            "Training curves",
            text="Loss and accuracy (executive steps and all frames) per split over training; "
                 "dashed lines mark the paper's criterion (>95% train, >90% novel angles).",
            figures=[(figure_dir / "training_curves.png", "Training curves from metrics.csv.")]))

    first = set(anchors.values())
    for a, spec in shown:
        anchor = f"fig-{spec.name}"
        reading, full = _reading(spec, tables)
        supported = [(*outcomes[f.id], verdicts.get(f.id, outcomes[f.id][1].verdict))
                     for f in a.findings if f.id in outcomes] if anchor in first else []
        names = [n for n in spec.tables + tuple(f"{n}_stats" for n in spec.tables)
                 if n in tables]
        section_tables = [(name, _display(tables[name])) for name in names]
        if full:
            section_tables.insert(0, ("reading per model", pd.DataFrame(
                {"model": [p.split(": ", 1)[0] for p in full.split("; ")],
                 "reading": [p.split(": ", 1)[-1] for p in full.split("; ")]})))
        sections.append(Section(
            spec.title, anchor=anchor, html=_supports(supported),
            figures=[(figure_dir / f"{spec.name}.png", f"Here: {reading}.",
                      (spec.source, spec.paper))],
            tables=section_tables, fold_tables=True))

    skipped = tables.get("skipped")
    if skipped is not None and not skipped.empty:
        sections.append(Section(
            "Analyses not run",
            text="These analyses need something the recordings do not hold; nothing was "
                 "substituted for them.",
            tables=[("skipped", _display(skipped))]))

    fields = {"n_splits": "?", "Cs": "?", "n_bootstraps": "?", "space": "hidden",
              "inner_splits": "?", "splits": "?", **protocol}
    fields["scaling"] = ("each unit standardised inside each training fold, normals mapped "
                         "back" if protocol.get("standardize") else "no per-unit scaling, as "
                         "the paper fits scikit-learn's SVC")
    fields["activations"] = (_DATA_ACTIVATIONS if recording is not None
                             else _RUN_ACTIVATIONS.format(**fields))
    protocol_text = _PROTOCOL_TEXT.format(**fields)
    timing = tables.get("timing")
    sections.append(Section(
        "How these results were produced", text=protocol_text,
        tables=[("timing (seconds per analysis)", _display(timing))] if timing is not None
        else [],
        code=json.dumps(protocol, indent=2) if protocol else None))
    config_path = run_dir / "config.yaml"
    if config_path.is_file():
        sections.append(Section("Resolved configuration", text="RUN_DIR/config.yaml",
                                code=config_path.read_text()))
    return sections


def size_section(judged, models: pd.DataFrame, figure_dir: Path) -> Section | None:
    """Findings against model size (Lei et al. 2024's fourth limitation), drawn when an
    architecture comes in several sizes."""
    series = size_series(judged, models)
    if series.empty:
        return None
    F.plot_findings_against_size(series, figure_dir / "findings_vs_size")
    effects = size_effects(series)
    moved = effects[effects["change"].abs() >= 0.1]
    reading = ("; ".join(f"{r.finding} ({architecture_label(r.architecture)}: "
                         f"{r.smallest:.2f} → {r.largest:.2f})"
                         for r in moved.itertuples()) or "no measure moves by 0.1 or more")
    return Section(
        "Findings against model size (beyond the paper)", anchor="size-series",
        text="Lei et al. 2024 did not explore how the network's size influences their results "
             "(§5). Each finding's headline measure, per model, against its parameters (one "
             "line per architecture; dotted hollow markers: the null). Measures that move by "
             f"0.1 or more from the smallest to the largest size: {reading}.",
        figures=[(figure_dir / "findings_vs_size.png", "Findings against model size, from the "
                  "findings' per-model measures and the models table.")],
        tables=[("measure at the smallest and largest size, Spearman ρ over sizes", effects),
                ("per model", series.drop(columns="finding"))], fold_tables=True)


_GRID_COLUMNS = ("model", "hidden_size", "parameters", "iterations",
                 "iterations_to_criterion", "acc_train",
                 "acc_val_angle", "acc_val_identity", "acc_train_min_task",
                 "acc_val_angle_min_task", "acc_same_category_val_angle")


def _grid_sections(models: pd.DataFrame, figure_dir: Path,
                   excluded: pd.DataFrame | None = None) -> list[Section]:
    """The grid's models: their sizes, training (iterations to the criterion) and accuracies,
    the runs left out because they did not meet the criterion, and the training curves."""
    shown = models[[c for c in _GRID_COLUMNS if c in models]]
    per_model = shown.groupby("model", sort=False).mean(numeric_only=True).reset_index()
    per_model.insert(1, "runs", models.groupby("model", sort=False)["run"].nunique().values)
    if "met_criterion" in models and models["met_criterion"].notna().any():
        met = models["met_criterion"].fillna(False).astype(bool)
        trained = (f"{int(met.sum())} of {len(models)} runs met the paper's criterion on every "
                   "task (>95% train, >90% novel angles, on the evaluation trials that stop "
                   "training) after the iterations shown ('iterations to criterion', the mean "
                   "over seeds).")
    else:
        trained = (f"Every run trained {sorted(set(models['iterations'].dropna().astype(int)))} "
                   "iterations.")
    text = (f"{models['run'].nunique()} runs of {per_model['model'].nunique()} models "
            f"({', '.join(per_model['model'])}) are analysed. {trained} Accuracies are "
            "executive-step accuracies on fresh held-out trials, averaged over seeds.")
    tables = [("models (means over seeds)", _readable_models(per_model))]
    if excluded is not None and not excluded.empty:
        text += (f" {len(excluded)} run(s) did not meet the criterion within the iteration cap "
                 "and are left out of every analysis and finding (listed below).")
        tables.append(("runs left out", excluded))
    section = Section("Models of the grid", text=text, tables=tables, anchor="grid-models")
    curves = []
    for _, row in models.iterrows():
        path = Path(row["run"]) / "metrics.csv"
        if path.is_file():
            m = pd.read_csv(path)
            m = m[(m.get("task") == "all") & m["split"].isin(["train", "val_angle"])]
            curves.append(m.assign(model=row["model"], architecture=row["architecture"],
                                   regime=row["regime"], run=str(row["run"])))
    if curves:
        F.plot_grid_training(pd.concat(curves, ignore_index=True),
                             figure_dir / "grid_training")
        section.figures.append((figure_dir / "grid_training.png",
                                "Executive-step accuracy of every model over training, one "
                                "panel per architecture × regime, each seed a line."))
    return [section]


_MODEL_HEADERS = {
    "runs": "seeds", "hidden_size": "hidden units", "iterations": "iterations",
    "iterations_to_criterion": "iterations to criterion", "acc_train": "train",
    "acc_val_angle": "novel angles", "acc_val_identity": "novel identities",
    "acc_train_min_task": "worst task, train", "acc_val_angle_min_task":
    "worst task, novel angles", "acc_same_category_val_angle":
    "same-category non-match, novel angles"}


def _readable_models(per_model: pd.DataFrame) -> pd.DataFrame:
    """The models table as people read it: numbers formatted by their column (percentages,
    parameters in k/M, counts), then headers in words (accuracies carry their % sign)."""
    from wmgeom.report.numbers import format_table

    shown = format_table(per_model)
    if "iterations" in shown and shown["iterations"].equals(
            shown.get("iterations_to_criterion")):
        shown = shown.drop(columns="iterations")
    return shown.rename(columns=_MODEL_HEADERS)


def _settings_vs_paper(config: dict) -> Section | None:
    """What differs from the paper's setup, read from the resolved config."""
    base = config.get("base", config)
    model, train = base.get("model"), base.get("train")
    if not model or not train:
        return None
    rows = [
        ("backbone", "ResNet50 (ImageNet), layer4 map 2048×7×7", f"{model.get('backbone')} "
         f"({model.get('weights') or 'ImageNet'})"),
        ("backbone channels into the 1×1 conv", "2048 (all)",
         "all" if model.get("channel_components") is None else
         f"{model.get('channel_components')} principal components"),
        ("hidden units", "512 vanilla RNN, 256 GRU / LSTM",
         str(config.get("sizes") or model.get("hidden_size"))),
        ("optimiser", "AdamW, lr 0.00003, batch 256", f"{train.get('optimizer')}, lr "
         f"{_plain(train.get('lr'))}, batch {train.get('batch_size')}, weight decay "
         f"{_plain(train.get('weight_decay'))}"),
        ("training length", "4–8k iterations to convergence, cap 14k",
         f"{train.get('iterations')} iterations, "
         f"{'early stop at the criterion' if train.get('early_stop') else 'no early stop'}"),
        ("stimuli", "ShapeNet renders, 4 categories × 2 identities",
         f"{base.get('stimuli', {}).get('source', 'procedural')} objects"),
        ("identity non-matches from the same category", "not stated",
         str(base.get("tasks", {}).get("same_category_rate"))),
    ]
    table = pd.DataFrame(rows, columns=["setting", "Lei et al. 2024", "here"])
    return Section("Setting beside the paper's", text=(
        "The differences that remain between this run and the paper's setup (taken from the "
        "resolved configuration). `wmgeom run --profile paper` runs the paper's setup on a "
        "GPU."), tables=[("settings", table)], wrap=True)


def _plain(value) -> str:
    """A config number written out (``3e-05`` → ``0.00003``); anything else as it is."""
    import numpy as np

    if isinstance(value, int | float) and not isinstance(value, bool):
        return np.format_float_positional(float(value), trim="-")
    return str(value)


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """The table as shown on the page: run paths dropped (the CSV keeps every column)."""
    return table.drop(columns=[c for c in ("run",) if c in table.columns])


def _overview_text(run_dir: Path, summary: dict, acc: pd.DataFrame) -> str:
    model = summary.get("model", {}) if isinstance(summary, dict) else {}
    parts = [f"Run {run_dir.name}"]
    if model:
        parts.append(f"{architecture_label(model.get('architecture', ''))} with "
                     f"{model.get('hidden_size', '?')} units on {model.get('backbone', '?')} "
                     f"features")
    if summary.get("regime"):
        parts.append(f"regime {str(summary['regime']).upper()}")
    if summary.get("iterations") is not None:
        seconds = summary.get("seconds")
        parts.append(f"{format_value('iterations', summary['iterations'])} iterations in "
                     f"{format_value('seconds', seconds) if seconds is not None else '?'} s")
    text = ", ".join(parts) + "."
    overall = acc[acc["task"] == "all"] if not acc.empty else acc
    if not overall.empty:
        text += " Executive-step accuracy: " + ", ".join(
            f"{r['split']} {percent(r['accuracy'])}" for r in overall.to_dict("records")) + "."
    text += " Lei et al. 2024: all models >95% on train and >90% on novel angles; novel identities " \
            "substantially weaker."
    missing = summary.get("missing_splits") if isinstance(summary, dict) else None
    if missing:
        text += (f" The stimulus set has no {', '.join(missing)} split, so it is neither "
                 "evaluated nor recorded nor analysed.")
    return text


# --------------------------------------------------------------------------- the page


def write_report(run_dir: str | Path, analyses: Iterable[Analysis] | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` from the folder's analysis tables, figures and run files.

    Figures missing from ``figures/`` are drawn from the tables first; nothing is analysed
    here (``wmgeom analyze`` writes the tables).

    Raises:
        WmgeomError: If ``run_dir`` holds no analysis tables.
    """
    run_dir = Path(run_dir)
    analysis_dir = run_dir / "analysis"
    if not (analysis_dir / "timing.csv").is_file():
        raise WmgeomError(f"{run_dir} holds no analysis tables (analysis/timing.csv); run "
                          f"`wmgeom analyze {run_dir}` first")
    clean_stale_temporaries(run_dir)
    tables = read_tables(analysis_dir)
    draw_figures(tables, run_dir / "figures", only_missing=True, analyses=analyses)
    config_path = run_dir / "config.yaml"
    config = read_yaml(config_path, "run config") if config_path.is_file() else {}
    summary = read_json(run_dir / "summary.json", "run summary", "train the run again")
    sections = nback_sections(
        run_dir, tables, config=config, summary=summary,
        protocol=read_json(analysis_dir / "protocol.json", "analysis protocol",
                           "run `wmgeom analyze` again"),
        analyses=analyses)
    unfinished = unfinished_training(run_dir, config, summary)
    if unfinished:
        sections.insert(0, Section("This run did not finish training", text=unfinished))
    return render_html(f"wmgeom report: {run_dir.name}", sections, run_dir / "report.html")


def unfinished_training(run_dir: Path, config: dict, summary: dict) -> str:
    """A warning when the run's training stopped before its end, else ``""``.

    From ``summary.json``'s ``finished`` flag; without a summary (a run killed before its
    end writes none), from the last iteration logged in ``metrics.csv`` against
    ``train.iterations``.
    """
    planned = (config.get("train") or {}).get("iterations")
    if summary.get("finished") is False:
        reached = summary.get("iterations")
    elif not summary and planned and (run_dir / "metrics.csv").is_file():
        metrics = pd.read_csv(run_dir / "metrics.csv")
        reached = int(metrics["iteration"].max()) if "iteration" in metrics else 0
        if reached >= planned:
            return ""
    else:
        return ""
    return (f"Training stopped at iteration {reached} of {planned} and the model did not meet "
            "the criterion: every number below describes an unfinished model. Continue it with "
            f"`wmgeom train --out {run_dir} --resume`, then record and analyse it again.")
