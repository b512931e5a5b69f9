"""The N-back report: one figure spec per seed-000 figure, its sections and the page (SPEC U3).

Each :class:`FigureSpec` names the figure, the analysis tables it reads, how to draw it
(a function of :mod:`wmgeom.report.figures`), what seed 000 found and how to read the
figure's numbers from the tables. :func:`draw_figures` draws every figure whose tables
exist; :func:`write_report` reads a folder's tables from ``analysis/`` and renders
``report.html``. Every reading is phrased from the tables computed for this run (never from
fixed text); the seed's finding is quoted next to it so a reader can compare. Nothing here
runs an analysis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from wmgeom.errors import WmgeomError
from wmgeom.io import clean_stale_temporaries, read_json, read_tables, read_yaml
from wmgeom.report import figures as F
from wmgeom.report.page import Section, render_html


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def _per_model(table: pd.DataFrame, fn: Callable[[pd.DataFrame], str]) -> str:
    if "model" not in table or table["model"].nunique() <= 1:
        return fn(table)
    return "; ".join(f"{m}: {fn(g)}" for m, g in table.groupby("model", sort=False))


# --------------------------------------------------------------------------- readings


def read_relevant_irrelevant(t: pd.DataFrame) -> str:
    def one(g):
        rel = g.loc[g["relevant"].astype(bool), "accuracy"].mean()
        irr = g.loc[~g["relevant"].astype(bool), "accuracy"].mean()
        return f"relevant features decoded at {_pct(rel)} vs irrelevant at {_pct(irr)}"

    return _per_model(t, one)


def read_validation_generalization(t: pd.DataFrame) -> str:
    def one(g):
        val = g.loc[g["kind"] == "validation", "accuracy"].mean()
        gen = g.loc[g["kind"] == "generalization", "accuracy"].mean()
        return f"validation {_pct(val)} vs generalisation {_pct(gen)}"

    return _per_model(t, one)


def read_orthogonalization(t: pd.DataFrame, stats: pd.DataFrame | None) -> str:
    p_values = {}
    if stats is not None and not stats.empty:
        p_values = dict(zip(stats.get("model", pd.Series([""] * len(stats))).astype(str),
                            stats["p"], strict=True))

    def one(g):
        perc = g.loc[g["space"] == "perceptual", "value"].mean()
        enc = g.loc[g["space"] == "encoding", "value"].mean()
        model = str(g["model"].iloc[0]) if "model" in g else ""
        p = p_values.get(model)
        if p is None or pd.isna(p):
            verdict = "encoding less orthogonal" if enc < perc else "encoding more orthogonal"
        elif p < 0.05:
            verdict = ("encoding significantly less orthogonal" if enc < perc
                       else "encoding significantly more orthogonal") + f", p={p:.2g}"
        else:
            verdict = f"no significant difference, p={p:.2g}"
        return f"normalised O(perceptual) {perc:.3f} vs O(encoding) {enc:.3f} ({verdict})"

    return _per_model(t, one)


def read_cross_time(t: pd.DataFrame) -> str:
    def one(g):
        enc = g.loc[g["frame"] == g["stimulus"], "accuracy"].mean()
        later = g.loc[g["frame"] > g["stimulus"], "accuracy"].mean()
        return f"decoders fitted at the encoding step score {_pct(enc)} there and " \
               f"{_pct(later)} at later steps"

    return _per_model(t, one)


def read_executive(t: pd.DataFrame) -> str:
    later = t[t["frame"] > t["stimulus"]]
    flag = "recall" if "recall" in t else "executive"

    def one(g):
        ex = g.loc[g[flag].astype(bool), "accuracy"].mean()
        non = g.loc[~g[flag].astype(bool), "accuracy"].mean()
        return f"executive steps recalling the stimulus {_pct(ex)} vs other memory steps " \
               f"{_pct(non)}"

    return _per_model(later, one)


def read_procrustes(t: pd.DataFrame) -> str:
    def one(g):
        return f"fitted decoders {_pct(g['accuracy_fitted'].mean())} vs Procrustes-" \
               f"reconstructed {_pct(g['accuracy_reconstructed'].mean())}"

    return _per_model(t, one)


def read_swaps(t: pd.DataFrame) -> str:
    def one(g):
        means = g.groupby("swap", sort=False)["accuracy"].mean()
        return ", ".join(f"{k} {_pct(v)}" for k, v in means.items())

    return _per_model(t, one)


def read_within_time(t: pd.DataFrame) -> str:
    same = t[t["frame"] == t["stimulus"]] if "stimulus" in t else t

    def one(g):
        rel = g.loc[g["relevant"].astype(bool), "accuracy"].mean()
        irr = g.loc[~g["relevant"].astype(bool), "accuracy"].mean()
        return f"averaged over steps, relevant features {_pct(rel)} vs irrelevant {_pct(irr)}"

    return _per_model(same, one)


def read_causal(t: pd.DataFrame) -> str:
    def one(g):
        control = g[g["direction"] == "random"] if "direction" in g else g.iloc[:0]
        g = g[g["direction"] == "decoder"] if "direction" in g else g
        means = g.groupby(["action", "distance"])["probability"].mean()
        lo, hi = g["distance"].min(), g["distance"].max()
        parts = []
        for action in F.ACTIONS:
            if action in means.index.get_level_values(0):
                parts.append(f"P({action}) {means[action].get(lo, float('nan')):.2f} → "
                             f"{means[action].get(hi, float('nan')):.2f}")
        text = f"moving from {lo:g} to {hi:g} along decoder normals: " + ", ".join(parts)
        if not control.empty:
            m = control[control["action"] == "match"].groupby("distance")["probability"].mean()
            text += (f"; along random directions P(match) {m.get(lo, float('nan')):.2f} → "
                     f"{m.get(hi, float('nan')):.2f}")
        return text

    return _per_model(t, one)


def read_models(t: pd.DataFrame) -> str:
    def one(g):
        return (f"{int(g['parameters'].mean()):,} parameters, novel-angle accuracy "
                f"{_pct(g['acc_val_angle'].mean())}, novel identity "
                f"{_pct(g.get('acc_val_identity', pd.Series(dtype=float)).mean())}")

    return _per_model(t, one)


def _hidden(t: pd.DataFrame) -> pd.DataFrame:
    """Hidden-state rows; generalisation only between tasks of different relevant features."""
    t = t[t["space"] == "hidden"] if "space" in t else t
    return _fig2c_pairs(t)


def _fig2c_pairs(t: pd.DataFrame) -> pd.DataFrame:
    if "same_relevant" in t:
        return t[(t["kind"] == "validation") | ~t["same_relevant"].astype(bool)]
    return t


def _relevant_panels(t: pd.DataFrame, max_tasks: int = 3) -> pd.DataFrame:
    """Rows decoding each task's own feature; identity tasks first, as seed Fig. 4b."""
    t = t[t["relevant"].astype(bool)]
    tasks = list(dict.fromkeys(t.loc[t["feature"] == "identity", "task"]))
    tasks += [k for k in dict.fromkeys(t["task"]) if k not in tasks]
    return t[t["task"].isin(tasks[:max_tasks])]


def _memory_window(t: pd.DataFrame) -> pd.DataFrame:
    """Rows of the task's relevant feature whose target step lies in its memory window."""
    keep = t["relevant"].astype(bool) if "relevant" in t else pd.Series(True, index=t.index)
    if "in_window" in t:
        keep = keep & t["in_window"].astype(bool)
    return t[keep]


def _focus(t: pd.DataFrame, limit: int = 3) -> pd.DataFrame:
    """With more than ``limit`` models, the MTMF models only: the seed compares
    architectures on models trained on every task (its Figs. 2a, 4b, 4g, A4, A5, A7)."""
    if "model" not in t or "regime" not in t or t["model"].nunique() <= limit:
        return t
    mtmf = t[t["regime"].astype(str).str.upper() == "MTMF"]
    return mtmf if not mtmf.empty else t


def _space(t: pd.DataFrame, space: str) -> pd.DataFrame:
    return t[t["space"] == space] if "space" in t else t


def _has_cell(T: dict[str, pd.DataFrame]) -> bool:
    return "cell" in set(T["cross_task"].get("space", pd.Series(dtype=str)))


def _orthogonalization_figure(name: str, title: str | None = None):
    return lambda T, path: F.plot_orthogonalization(T[name], path, stats=T.get(f"{name}_stats"),
                                                    title=title)


@dataclass(frozen=True)
class FigureSpec:
    """One seed-000 figure of the report.

    Attributes:
        name: File stem under ``figures/`` (``.png`` and ``.svg``).
        title: Section title.
        tables: Analysis tables the figure reads (all must be present and non-empty).
        draw: ``draw(tables, path_stem) -> Figure``.
        seed: What seed 000 reports.
        reading: ``reading(tables) -> str``: what this run's numbers say.
        applies: ``applies(tables) -> bool``: whether the figure exists for these tables.
    """

    name: str
    title: str
    tables: tuple[str, ...]
    draw: Callable[[dict[str, pd.DataFrame], Path], Figure]
    seed: str
    reading: Callable[[dict[str, pd.DataFrame]], str]
    applies: Callable[[dict[str, pd.DataFrame]], bool] = lambda T: True

    def available(self, tables: dict[str, pd.DataFrame]) -> bool:
        """Whether every table it reads is there and non-empty, and it applies."""
        return all(n in tables and not tables[n].empty for n in self.tables) and \
            self.applies(tables)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("figA1c_accuracy_vs_parameters", "Accuracy against model size (Fig. A1c)",
               ("models",), lambda T, p: F.plot_accuracy_vs_parameters(T["models"], p),
               "performance increases with the number of parameters; at equal parameter "
               "counts vanilla RNNs are less accurate than gated ones",
               lambda T: read_models(T["models"]),
               lambda T: T["models"]["parameters"].nunique() > 1),
    FigureSpec("fig2b_relevant_irrelevant",
               "Task-relevant vs -irrelevant features (Fig. 2b, A2a)", ("relevant_irrelevant",),
               lambda T, p: F.plot_relevant_irrelevant(T["relevant_irrelevant"], p),
               "relevant features fully decodable in all models; irrelevant ones poorly in "
               "STSF but >85% in STMF and MTMF models",
               lambda T: read_relevant_irrelevant(T["relevant_irrelevant"])),
    FigureSpec("fig2a_cross_task", "Cross-task generalisation (Fig. 2a, A2b)", ("cross_task",),
               lambda T, p: F.plot_cross_task_generalization(
                   _focus(_space(T["cross_task"], "hidden")), p),
               "vanilla RNN decoders generalise across tasks (shared subspace); GRU and LSTM "
               "subspaces are task-specific",
               lambda T: read_validation_generalization(_hidden(T["cross_task"]))),
    FigureSpec("figA2b_cross_task_cell", "Cross-task generalisation, LSTM cell state (Fig. A2b)",
               ("cross_task",),
               lambda T, p: F.plot_cross_task_generalization(
                   _focus(_space(T["cross_task"], "cell")), p),
               "LSTM hidden and cell states both task-specific (like GRU)",
               lambda T: read_validation_generalization(
                   _fig2c_pairs(T["cross_task"][T["cross_task"]["space"] == "cell"])),
               _has_cell),
    FigureSpec("fig2c_validation_generalization",
               "Validation vs generalisation per architecture (Fig. 2c)", ("cross_task",),
               lambda T, p: F.plot_validation_vs_generalization(_hidden(T["cross_task"]), p),
               "generalisation close to validation for vanilla RNNs, far below it for gated RNNs",
               lambda T: read_validation_generalization(_hidden(T["cross_task"]))),
    FigureSpec("fig3b_orthogonalization", "Orthogonalisation index (Fig. 3b)",
               ("orthogonalization",), _orthogonalization_figure("orthogonalization"),
               "the RNN encoding space is slightly less orthogonalised than the perceptual "
               "space in most models",
               lambda T: read_orthogonalization(T["orthogonalization"],
                                                T.get("orthogonalization_stats"))),
    FigureSpec("figA3_orthogonalization_pca", "Orthogonalisation, PCA-equalised (Fig. A3)",
               ("orthogonalization_pca",),
               _orthogonalization_figure(
                   "orthogonalization_pca",
                   "Orthogonalisation with PCA-equalised dimensionality (seed 000 Fig. A3)"),
               "same de-orthogonalisation when PCA equalises the dimensionality",
               lambda T: read_orthogonalization(T["orthogonalization_pca"],
                                                T.get("orthogonalization_pca_stats"))),
    FigureSpec("fig4b_cross_time", "Cross-time decoding (Fig. 4b)", ("cross_time",),
               lambda T, p: F.plot_cross_time_decoding(
                   _relevant_panels(_focus(T["cross_time"])), p),
               "encoding-step decoders do not generalise well to later memory steps "
               "(against slot-like H1)",
               lambda T: read_cross_time(T["cross_time"])),
    FigureSpec("fig4c_executive", "Executive vs non-executive steps (Fig. 4c)", ("cross_time",),
               lambda T, p: F.plot_executive_generalization(
                   T["cross_time"][T["cross_time"]["relevant"].astype(bool)], p),
               "cross-time accuracy higher on executive (recall) steps in STMF/MTMF models",
               lambda T: read_executive(T["cross_time"])),
    FigureSpec("fig4d_encoding_sharing", "Encoding space shared across stimuli (Fig. 4d)",
               ("encoding_sharing",),
               lambda T, p: F.plot_encoding_sharing(T["encoding_sharing"], p),
               "validation and generalisation almost identical: one encoding space for all "
               "stimuli (H2)",
               lambda T: read_validation_generalization(T["encoding_sharing"])),
    FigureSpec("fig4f_procrustes", "Procrustes-reconstructed decoders (Fig. 4f, A4)",
               ("procrustes",), lambda T, p: F.plot_procrustes(_memory_window(T["procrustes"]), p),
               "reconstructed decoders nearly as accurate as fitted ones: a rotation and a "
               "scale capture the transformation",
               lambda T: read_procrustes(_memory_window(T["procrustes"])),
               lambda T: not _memory_window(T["procrustes"]).empty),
    FigureSpec("fig4g_swap_tests", "Swapping rotations (Fig. 4g)", ("swap_tests",),
               lambda T, p: F.plot_swap_tests(_focus(_memory_window(T["swap_tests"])), p),
               "swapping in R(S=i+k,T=j+k) keeps accuracy high, R(S=i,T=j+1) does not: "
               "transformations shared across stimuli, not across time",
               lambda T: read_swaps(_memory_window(T["swap_tests"])),
               lambda T: not _memory_window(T["swap_tests"]).empty),
    FigureSpec("figA5_within_time", "Within-step decoding (Fig. A5)", ("within_time",),
               lambda T, p: F.plot_within_time_decoding(_focus(T["within_time"], 1), p),
               "relevant and irrelevant features both well represented at encoding; relevant "
               "ones more robust",
               lambda T: read_within_time(T["within_time"])),
    FigureSpec("figA7_causal", "Causal perturbation (Fig. A7)", ("causal",),
               lambda T, p: F.plot_causal_perturbation(_focus(T["causal"]), p),
               "P(match) drops and P(no action) rises as states cross the hyperplane; "
               "P(non-match) largely unaffected",
               lambda T: read_causal(T["causal"])),
)
"""The report's figures, in page order."""


def draw_figures(tables: dict[str, pd.DataFrame], figure_dir: Path,
                 only_missing: bool = False) -> pd.DataFrame:
    """Draw every figure whose tables exist into ``figure_dir`` (PNG and SVG).

    Args:
        tables: Analysis tables by name.
        figure_dir: Output folder.
        only_missing: Draw only figures whose PNG is not there yet.

    Returns:
        A timing table (``analysis`` = ``figure <name>``, ``seconds``, ...), one row per
        figure drawn, in the columns of the analyses' timing table.
    """
    import matplotlib.pyplot as plt

    rows = []
    for spec in FIGURES:
        if not spec.available(tables):
            continue
        if only_missing and (figure_dir / f"{spec.name}.png").is_file():
            continue
        start = time.perf_counter()
        plt.close(spec.draw(tables, figure_dir / spec.name))
        rows.append({"analysis": f"figure {spec.name}", "requirement": "U3", "model": "all",
                     "run": "", "status": "ok", "rows": 0,
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- sections


_PROTOCOL_TEXT = (
    "Decoders are linear SVMs on the raw activations ({scaling}), one-vs-rest per feature "
    "value, scored by {n_splits}-fold cross-validation with C chosen from {Cs} by an inner "
    "{inner_splits}-fold grid search (seed 000 appendix). Every decoder of a recording (each "
    "stimulus at each later step, each task and feature) is fitted once and read by every "
    "analysis. Two measures are reported everywhere: 'accuracy', the multi-class accuracy "
    "of the argmax over a feature's one-vs-rest decision values (chance 1/k), which the "
    "figures and the findings use; and 'decoder_accuracy', the mean accuracy of the "
    "one-vs-rest decoders, the measure of the seed's SVC scores (its Fig. A5 averages them "
    "over feature values; a decoder that always answers 'rest' scores 1 - 1/k on it), which "
    "is what the seed's '>85%' compares with. Orthogonalisation indices are bootstrapped "
    "{n_bootstraps} times. Activations: the '{space}' state of the recurrent layer (LSTM "
    "cell state too when recorded); trials of the splits {splits}. Each table is also a CSV "
    "file in analysis/."
)


_FINDINGS_TEXT = (
    "One row per finding of seed 000. 'measured' is what this folder's tables give (mean ± "
    "standard deviation over the unit named in brackets); 'verdict' is computed from the "
    "tables by the rule in the last column (docs/findings.md), never typed by hand. A "
    "finding that needs models this folder does not hold (e.g. STSF models or a vanilla "
    "RNN; `wmgeom run --grid` trains them) is 'not tested', with the reason."
)


def nback_sections(run_dir: Path, tables: dict[str, pd.DataFrame], config: dict,
                   summary: dict, protocol: dict) -> list[Section]:
    """Sections of an N-back run's report (accuracy, training, figures, protocol, config).

    Args:
        run_dir: The run directory (figures are read from ``figures/``; the accuracy and
            training-curve figures are drawn there).
        tables: Analysis tables by name (``analysis/*.csv``).
        config: The resolved config (``config.yaml``).
        summary: ``summary.json`` (empty if absent).
        protocol: ``analysis/protocol.json`` (empty if absent).

    Returns:
        Sections in display order.
    """
    figure_dir = run_dir / "figures"
    sections = []
    found = tables.get("findings")
    if found is not None and not found.empty:
        counts = found["verdict"].value_counts()
        tally = ", ".join(f"{counts[v]} {v}" for v in ("reproduced", "partly",
                                                        "not reproduced", "not tested")
                          if v in counts)
        sections.append(Section(
            "Findings of seed 000", text=f"{_FINDINGS_TEXT}\n\nHere: {tally}.",
            tables=[("findings", found[["finding", "figure", "seed", "measured", "verdict",
                                        "reason", "rule"]].fillna(""))],
            wrap=True))

    models = tables.get("models")
    if config.get("study") == "nback-grid" and models is not None and not models.empty:
        sections += _grid_sections(models, figure_dir)
        metrics = None
    else:
        metrics_path = run_dir / "metrics.csv"
        metrics = pd.read_csv(metrics_path) if metrics_path.is_file() else None
        acc = F.accuracy_table(summary, metrics)
        overview = Section("Accuracy", text=_overview_text(run_dir, summary, acc))
        if not acc.empty:
            F.plot_accuracy(acc, figure_dir / "accuracy")
            overview.figures.append((figure_dir / "accuracy.png", "Executive-step accuracy per "
                                     "task and split (last evaluation)."))
            overview.tables.append(("accuracy", acc))
        sections.append(overview)
    settings = _settings_vs_seed(config)
    if settings is not None:
        sections.append(settings)
    if metrics is not None and not metrics.empty:
        F.plot_training_curves(metrics, figure_dir / "training_curves")
        sections.append(Section(
            "Training curves",
            text="Loss and accuracy (executive steps and all frames) per split over training; "
                 "dashed lines mark the paper's criterion (>95% train, >90% novel angles).",
            figures=[(figure_dir / "training_curves.png", "Training curves from metrics.csv.")]))

    for spec in FIGURES:
        png = figure_dir / f"{spec.name}.png"
        if not png.is_file() or not spec.available(tables):
            continue
        caption = f"Here: {spec.reading(tables)}. Seed 000: {spec.seed}."
        shown = [n for n in spec.tables + tuple(f"{n}_stats" for n in spec.tables)
                 if n in tables]
        sections.append(Section(spec.title, figures=[(png, caption)],
                                tables=[(name, _display(tables[name])) for name in shown]))

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
                         "the seed fits scikit-learn's SVC")
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


_GRID_COLUMNS = ("model", "hidden_size", "parameters", "iterations", "acc_train",
                 "acc_val_angle", "acc_val_identity", "acc_train_min_task",
                 "acc_val_angle_min_task", "acc_same_category_val_angle")


def _grid_sections(models: pd.DataFrame, figure_dir: Path) -> list[Section]:
    """The grid's models: their sizes, training and accuracies, and their training curves."""
    shown = models[[c for c in _GRID_COLUMNS if c in models]]
    per_model = shown.groupby("model", sort=False).mean(numeric_only=True).reset_index()
    met = per_model.get("acc_train_min_task", pd.Series(dtype=float)) > 0.95
    met &= per_model.get("acc_val_angle_min_task", pd.Series(dtype=float)) > 0.90
    text = (f"{models['run'].nunique()} runs of {per_model['model'].nunique()} models "
            f"({', '.join(per_model['model'])}); every run trained "
            f"{sorted(set(models['iterations'].dropna().astype(int)))} iterations. "
            f"{int(met.sum())} of {len(per_model)} models meet the paper's criterion on every "
            "task (>95% train, >90% novel angles). Accuracies are executive-step accuracies "
            "of the last evaluation, averaged over seeds; 'min_task' is the worst task.")
    section = Section("Models of the grid", text=text, tables=[("models", per_model)])
    curves = []
    for _, row in models.iterrows():
        path = Path(row["run"]) / "metrics.csv"
        if path.is_file():
            m = pd.read_csv(path)
            m = m[(m.get("task") == "all") & m["split"].isin(["train", "val_angle"])]
            curves.append(m.assign(model=row["model"], architecture=row["architecture"],
                                   regime=row["regime"]))
    if curves:
        F.plot_grid_training(pd.concat(curves, ignore_index=True),
                             figure_dir / "grid_training")
        section.figures.append((figure_dir / "grid_training.png",
                                "Executive-step accuracy of every model over training."))
    return [section]


def _settings_vs_seed(config: dict) -> Section | None:
    """What differs from seed 000's setup, read from the resolved config."""
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
        ("optimiser", "AdamW, lr 3e-5, batch 256", f"{train.get('optimizer')}, lr "
         f"{train.get('lr')}, batch {train.get('batch_size')}, weight decay "
         f"{train.get('weight_decay')}"),
        ("training length", "4–8k iterations to convergence, cap 14k",
         f"{train.get('iterations')} iterations, "
         f"{'early stop at the criterion' if train.get('early_stop') else 'no early stop'}"),
        ("stimuli", "ShapeNet renders, 4 categories × 2 identities",
         f"{base.get('stimuli', {}).get('source', 'procedural')} objects"),
        ("identity non-matches from the same category", "not stated",
         str(base.get("tasks", {}).get("same_category_rate"))),
    ]
    table = pd.DataFrame(rows, columns=["setting", "seed 000", "here"])
    return Section("Setting beside seed 000's", text=(
        "The differences that remain between this run and the seed's setup (taken from the "
        "resolved configuration). `wmgeom run --profile paper` runs the seed's setup on a "
        "GPU."), tables=[("settings", table)], wrap=True)


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """The table as shown on the page: run paths dropped (the CSV keeps every column)."""
    return table.drop(columns=[c for c in ("run",) if c in table.columns])


def _overview_text(run_dir: Path, summary: dict, acc: pd.DataFrame) -> str:
    model = summary.get("model", {}) if isinstance(summary, dict) else {}
    parts = [f"Run {run_dir.name}"]
    if model:
        parts.append(f"{str(model.get('architecture', '')).upper()} with "
                     f"{model.get('hidden_size', '?')} units on {model.get('backbone', '?')} "
                     f"features")
    if summary.get("regime"):
        parts.append(f"regime {str(summary['regime']).upper()}")
    if summary.get("iterations") is not None:
        parts.append(f"{summary['iterations']} iterations in {summary.get('seconds', '?')} s")
    text = ", ".join(parts) + "."
    overall = acc[acc["task"] == "all"] if not acc.empty else acc
    if not overall.empty:
        text += " Executive-step accuracy: " + ", ".join(
            f"{r['split']} {_pct(r['accuracy'])}" for r in overall.to_dict("records")) + "."
    text += " Seed 000: all models >95% on train and >90% on novel angles; novel identities " \
            "substantially weaker."
    missing = summary.get("missing_splits") if isinstance(summary, dict) else None
    if missing:
        text += (f" The stimulus set has no {', '.join(missing)} split, so it is neither "
                 "evaluated nor recorded nor analysed.")
    return text


# --------------------------------------------------------------------------- the page


def write_report(run_dir: str | Path) -> Path:
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
    draw_figures(tables, run_dir / "figures", only_missing=True)
    config_path = run_dir / "config.yaml"
    config = read_yaml(config_path, "run config") if config_path.is_file() else {}
    summary = read_json(run_dir / "summary.json", "run summary", "train the run again")
    sections = nback_sections(
        run_dir, tables, config=config, summary=summary,
        protocol=read_json(analysis_dir / "protocol.json", "analysis protocol",
                           "run `wmgeom analyze` again"),
    )
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
