"""One function per figure of Lei et al. 2024 (Lei, Ito & Bashivan), plus training curves.

Every function takes tidy tables (one row per measurement, as the analyses and
:func:`wmgeom.studies.nback.run_analyses` returns them), draws with the
object-oriented matplotlib API on the Agg canvas (no pyplot state, no display needed),
saves ``<path>.png`` and ``<path>.svg`` when ``path`` is given, and returns the
:class:`~matplotlib.figure.Figure`.

Columns shared by the tables:

* ``model`` -- a label of the trained network, e.g. ``"GRU MTMF"`` (added by the driver);
  figures facet over it when a table holds several runs.
* ``accuracy`` -- a decoding accuracy in [0, 1]; ``chance`` -- its chance level.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from wmgeom.errors import WmgeomError
from wmgeom.io import atomic_path
from wmgeom.models.cores import architecture_label
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.tasks.vocabulary import ACTIONS, FEATURES, SPLITS

VALIDATION_COLOR = "#7b3fa0"  # purple, as Lei et al. 2024, Fig. 2c
GENERALIZATION_COLOR = "#e6b400"  # yellow
RELEVANT_COLOR = "#2f6db3"
IRRELEVANT_COLOR = "#d9822b"
NULL_COLOR = "#8c959f"  # every null control: grey
ACTION_COLORS = {"no_action": "#7f7f7f", "non_match": "#d62728", "match": "#2ca02c"}


# --------------------------------------------------------------------------- helpers


def save_figure(fig: Figure, path: str | os.PathLike) -> list[Path]:
    """Save ``fig`` as ``<path>.png`` and ``<path>.svg`` (atomically); return both paths."""
    stem = Path(path)
    if stem.suffix in {".png", ".svg"}:
        stem = stem.with_suffix("")
    written = []
    for fmt in ("png", "svg"):
        target = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight")
        written.append(target)
    return written


def _finish(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def retitled(fig: Figure, title: str, path: str | os.PathLike | None = None) -> Figure:
    """``fig`` under another title (e.g. a figure drawn from a null's table), saved to
    ``path`` (a stem) when given."""
    fig.suptitle(title)
    return _finish(fig, path)


def _require(table: pd.DataFrame, columns: Sequence[str], figure: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise WmgeomError(
            f"table for figure {figure} lacks columns {missing}; pass the table returned by "
            f"the matching analysis (see wmgeom.studies.nback.run_analyses)"
        )
    if table.empty:
        raise WmgeomError(f"table for figure {figure} is empty; the analysis produced no rows")
    return table


def _models(table: pd.DataFrame) -> list[str]:
    if "model" not in table.columns:
        return [""]
    return list(dict.fromkeys(table["model"].astype(str)))


def _by_model(table: pd.DataFrame, model: str) -> pd.DataFrame:
    if "model" not in table.columns:
        return table
    return table[table["model"].astype(str) == model]


REGIME_ORDER = ("STSF", "STMF", "MTMF")
ARCHITECTURE_ORDER = tuple(ARCHITECTURES)  # the registry's order


def _model_cells(table: pd.DataFrame, models: list[str], n_cols: int = 3
                 ) -> dict[str, tuple[int, int]]:
    """Panel (row, column) of each model: architectures × regimes when the table says them
    (Lei et al. 2024, Figs. 2b, A2a), else models wrapped into rows of ``n_cols``."""
    if {"architecture", "regime"} <= set(table.columns) and len(models) > 1:
        meta = table.drop_duplicates("model").set_index("model")
        archs = _order(meta["architecture"].astype(str).str.lower(), ARCHITECTURE_ORDER)
        regimes = _order(meta["regime"].astype(str).str.upper(), REGIME_ORDER)
        cells = {m: (archs.index(str(meta.loc[m, "architecture"]).lower()),
                     regimes.index(str(meta.loc[m, "regime"]).upper())) for m in models}
        if len(set(cells.values())) == len(models):
            return cells
    return {m: (k // n_cols, k % n_cols) for k, m in enumerate(models)}


def _order(values, preferred: Sequence[str] = FEATURES) -> list:
    values = list(dict.fromkeys(values))
    head = [v for v in preferred if v in values]
    return head + sorted((v for v in values if v not in head), key=str)


def _chance(table: pd.DataFrame) -> float | None:
    if "chance" in table.columns and table["chance"].notna().any():
        return float(table["chance"].mean())
    return None


def _chance_line(ax, chance: float | None, horizontal: bool = True) -> None:
    if chance is None:
        return
    if horizontal:
        ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
    else:
        ax.axvline(chance, color="k", ls="--", lw=1, label="chance")


def _grid(n_rows: int, n_cols: int, size=(3.4, 3.0), **kwargs) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(size[0] * n_cols + 0.6, size[1] * n_rows + 0.8),
                 layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, **kwargs)
    return fig, axes


def _paired_boxplots(ax, groups: list[str], a: list[np.ndarray], b: list[np.ndarray],
                     labels: tuple[str, str], colors: tuple[str, str]) -> None:
    positions = np.arange(len(groups), dtype=float)
    for values, offset, color, label in ((a, -0.18, colors[0], labels[0]),
                                         (b, 0.18, colors[1], labels[1])):
        data = [v if len(v) else np.array([np.nan]) for v in values]
        box = ax.boxplot(data, positions=positions + offset, widths=0.3, patch_artist=True,
                         showfliers=False, manage_ticks=False)
        for patch in box["boxes"]:
            patch.set_facecolor(color)
            patch.set_alpha(0.75)
        for i, v in enumerate(data):
            jitter = np.linspace(-0.06, 0.06, len(v)) if len(v) > 1 else np.zeros(len(v))
            ax.plot(positions[i] + offset + jitter, v, ".", color="k", ms=3, alpha=0.6)
        ax.plot([], [], "s", color=color, label=label)
    ax.set_xticks(positions)
    ax.set_xticklabels(groups)


# --------------------------------------------------------------------------- Figure 2


def plot_cross_task_generalization(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 2a (and A2b): cross-task decoding matrices, one per decoded feature.

    Args:
        table: Rows ``feature`` (decoded property), ``train_task``, ``test_task``,
            ``accuracy``; optional ``model`` (one row of panels per model).
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure; rows of panels are models, columns are decoded features; matrix rows
        are the task the decoder was fitted on, columns the task it was tested on.
    """
    _require(table, ["feature", "train_task", "test_task", "accuracy"], "2a")
    models, features = _models(table), _order(table["feature"])
    fig, axes = _grid(len(models), len(features), size=(3.3, 3.1))
    image = None
    for r, model in enumerate(models):
        sub = _by_model(table, model)
        for c, feature in enumerate(features):
            ax = axes[r, c]
            cell = sub[sub["feature"] == feature]
            matrix = cell.pivot_table(index="train_task", columns="test_task",
                                      values="accuracy", aggfunc="mean")
            tasks = list(dict.fromkeys(list(cell["train_task"]) + list(cell["test_task"])))
            matrix = matrix.reindex(index=tasks, columns=tasks)
            image = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
            for (i, j), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
                if np.isfinite(value):
                    ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=8,
                            color="w" if value < 0.6 else "k")
            ax.set_xticks(range(len(tasks)))
            ax.set_xticklabels(tasks, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(len(tasks)))
            ax.set_yticklabels(tasks, fontsize=7)
            ax.set_title(f"{model} decode {feature}".strip(), fontsize=9)
            if c == 0:
                ax.set_ylabel("fitted on task")
            if r == len(models) - 1:
                ax.set_xlabel("tested on task")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.7, label="decoding accuracy")
    fig.suptitle("Cross-task generalisation of feature decoders (Lei et al. 2024, Fig. 2a)")
    return _finish(fig, path)


def plot_relevant_irrelevant(table: pd.DataFrame, path=None,
                             null: pd.DataFrame | None = None) -> Figure:
    """Lei et al. 2024, Fig. 2b (and A2a): decoding of task-relevant vs irrelevant features at frame 0.

    Args:
        table: Rows ``feature`` (decoded property), ``relevant`` (bool: the feature is the
            task's feature), ``accuracy``; optional ``model``, ``task``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.
        null: The same table of the null network (the untrained one on the same trials):
            each bar's null is drawn as a grey diamond.

    Returns:
        The figure: one panel per model, bars of mean accuracy per decoded feature for
        tasks where it is relevant and where it is irrelevant, dots per task, the null's
        mean as a grey diamond.
    """
    _require(table, ["feature", "relevant", "accuracy"], "2b")
    models, features = _models(table), _order(table["feature"])
    cells = _model_cells(table, models)
    n_rows = max(r for r, _ in cells.values()) + 1
    n_cols = max(c for _, c in cells.values()) + 1
    fig, axes = _grid(n_rows, n_cols, size=(3.6, 3.2), sharey=True)
    for ax in axes.flat:
        ax.set_visible(False)
    x = np.arange(len(features))
    for model in models:
        r, c = cells[model]
        ax = axes[r, c]
        ax.set_visible(True)
        sub = _by_model(table, model)
        for offset, relevant, color, label in ((-0.2, True, RELEVANT_COLOR, "relevant"),
                                               (0.2, False, IRRELEVANT_COLOR, "irrelevant")):
            part = sub[sub["relevant"].astype(bool) == relevant]
            means = [part.loc[part["feature"] == f, "accuracy"].mean() for f in features]
            ax.bar(x + offset, np.nan_to_num(means), width=0.38, color=color, label=label)
            for i, f in enumerate(features):
                values = part.loc[part["feature"] == f, "accuracy"].to_numpy()
                ax.plot(np.full(len(values), x[i] + offset), values, ".", color="k", ms=3)
            if null is not None and not null.empty:
                base = _by_model(null, model)
                base = base[base["relevant"].astype(bool) == relevant]
                level = [base.loc[base["feature"] == f, "accuracy"].mean() for f in features]
                ax.plot(x + offset, level, "D", ms=5, mfc="white", mec=NULL_COLOR, mew=1.5,
                        ls="none", label="untrained network" if relevant else None)
        for i, f in enumerate(features):
            chance = _chance(sub[sub["feature"] == f])
            if chance is not None:
                ax.hlines(chance, x[i] - 0.45, x[i] + 0.45, colors="k", linestyles="--", lw=1)
        ax.set_xticks(x)
        ax.set_xticklabels(features)
        ax.set_ylim(0, 1.05)
        ax.set_title(model or "model")
        ax.set_xlabel("decoded feature")
        if c == 0:
            ax.set_ylabel("decoding accuracy (frame 1)")
    first = axes[cells[models[0]]]
    first.plot([], [], "k--", lw=1, label="chance")
    first.legend(fontsize=8, loc="lower right")
    fig.suptitle("Task-relevant vs -irrelevant features at the first frame "
                 "(Lei et al. 2024, Fig. 2b, A2a)")
    return _finish(fig, path)


def plot_validation_vs_generalization(table: pd.DataFrame, path=None,
                                      title: str | None = None, group: str = "model") -> Figure:
    """Lei et al. 2024, Fig. 2c (and 4d): validation vs generalisation accuracy per model.

    Args:
        table: Rows ``kind`` (``"validation"`` or ``"generalization"``), ``accuracy``;
            optional grouping column (default ``model``) and ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.
        title: Figure title (defaults to the Fig. 2c title).
        group: Column whose values make the x-axis groups.

    Returns:
        The figure with paired boxplots (purple validation, yellow generalisation).
    """
    _require(table, ["kind", "accuracy"], "2c")
    groups = _models(table) if group == "model" else _order(table[group], preferred=())
    if group not in table.columns:
        table = table.assign(**{group: ""})
    fig, axes = _grid(1, 1, size=(1.6 * max(len(groups), 2) + 1.5, 3.4))
    ax = axes[0, 0]
    val = [table.loc[(table[group].astype(str) == g) & (table["kind"] == "validation"),
                     "accuracy"].to_numpy(dtype=float) for g in groups]
    gen = [table.loc[(table[group].astype(str) == g) & (table["kind"] == "generalization"),
                     "accuracy"].to_numpy(dtype=float) for g in groups]
    _paired_boxplots(ax, [str(g) for g in groups], val, gen, ("validation", "generalization"),
                     (VALIDATION_COLOR, GENERALIZATION_COLOR))
    _chance_line(ax, _chance(table))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("decoding accuracy")
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(title or "Decoder validation vs cross-task generalisation (Lei et al. 2024, Fig. 2c)")
    return _finish(fig, path)


# --------------------------------------------------------------------------- Figure 3


def plot_orthogonalization(table: pd.DataFrame, path=None, stats: pd.DataFrame | None = None,
                           title: str | None = None) -> Figure:
    """Lei et al. 2024, Fig. 3b (and A3): normalised orthogonalisation index, perceptual vs encoding.

    Args:
        table: Rows ``space`` (``"perceptual"``/``"encoding"``), ``value`` (the
            normalised index of one bootstrap sample; ``index`` accepted instead);
            optional ``model`` and ``feature``.
        path: Stem for ``.png``/``.svg`` output, or None.
        stats: Optional rows ``model``, ``t``, ``p`` (the test per model; NaN where it
            cannot be run) and optional ``n`` and ``unit`` (its samples, e.g. runs),
            annotated above each pair of bars.
        title: Figure title (defaults to the Fig. 3b title).

    Returns:
        The figure: upper panel the index per model and space (mean ± sd over bootstraps),
        lower panel the t statistic per model.
    """
    value = "value" if "value" in table.columns else "index"
    _require(table, ["space", value], "3b")
    models = _models(table)
    fig = Figure(figsize=(1.5 * max(len(models), 2) + 2.5, 5.2), layout="constrained")
    ax, ax_t = fig.subplots(2, 1, height_ratios=(2.2, 1), sharex=True)
    x = np.arange(len(models))
    spaces = _order(table["space"], preferred=("perceptual", "encoding"))
    colors = {"perceptual": "#8c8c8c", "encoding": "#2f6db3"}
    width = 0.8 / len(spaces)
    for k, space in enumerate(spaces):
        stats_ = [_by_model(table, m).loc[lambda d, s=space: d["space"] == s, value]
                  for m in models]
        means = np.array([s.mean() for s in stats_])
        sds = np.array([s.std(ddof=0) for s in stats_])
        ax.bar(x + (k - (len(spaces) - 1) / 2) * width, means, width=width * 0.95, yerr=sds,
               capsize=3, color=colors.get(space, f"C{k}"), label=f"O({space})")
    tops = [_by_model(table, m)[value].max() for m in models]
    ceiling = float(np.nanmax(tops)) * 1.3 if np.isfinite(np.nanmax(tops)) else 1.0
    ax.set_ylim(0, ceiling)
    if stats is not None and not stats.empty:
        t_values = []
        for i, model in enumerate(models):
            row = _by_model(stats, model)
            if row.empty:
                t_values.append(np.nan)
                continue
            t, p = float(row["t"].iloc[0]), float(row["p"].iloc[0])
            t_values.append(t)
            n = int(row["n"].iloc[0]) if "n" in row and pd.notna(row["n"].iloc[0]) else None
            unit = str(row["unit"].iloc[0]) if "unit" in row else "samples"
            if np.isnan(p):  # one run: no test over runs
                label = f"no test\n(n = {n} {unit.rstrip('s') if n == 1 else unit})" \
                    if n is not None else "no test"
            else:
                stars = "***" if p < 1e-3 else "**" if p < 1e-2 else "*" if p < 0.05 else "n.s."
                shown = "p < 0.001" if p < 0.001 else f"p={p:.2g}"  # never 1.4e-05
                label = f"{stars}\n{shown}" + (f"\nn = {n} {unit}" if n is not None else "")
            ax.text(x[i], ceiling * 0.98, label, ha="center", va="top", fontsize=8)
        ax_t.bar(x, t_values, color="#555555")
        ax_t.axhline(0, color="k", lw=0.8)
    ax_t.set_ylabel("t (perc. − enc.)")
    ax_t.set_xticks(x)
    ax_t.set_xticklabels(models, rotation=20, ha="right")
    ax.set_ylabel("normalised orthogonalisation index")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "Orthogonalisation: perceptual vs RNN encoding space "
                          "(Lei et al. 2024, Fig. 3b)")
    return _finish(fig, path)


# --------------------------------------------------------------------------- Figure 4


def _recall_column(table: pd.DataFrame) -> str:
    """``recall`` (the executive step that compares stimulus S: T = S + N in N-back, the
    probe for every list item in item recognition) if present."""
    return "recall" if "recall" in table.columns else "executive"


def plot_cross_time_decoding(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 4b: decoders fitted on E(S=i, T=i), tested at every later step T=k.

    Args:
        table: Rows ``stimulus`` (i, the frame whose object is decoded), ``frame`` (k, the
            step tested), ``accuracy`` and ``recall`` (bool: k = i + N, the executive step
            where stimulus i is compared; ``executive`` is read when ``recall`` is absent);
            optional ``model``, ``task`` (one panel per model and task).
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: one stimulus × step matrix per (model, task); the executive steps
        that recall each stimulus are boxed in red.
    """
    flag = _recall_column(table)
    _require(table, ["stimulus", "frame", "accuracy", flag], "4b")
    table = table.copy()
    if "task" not in table.columns:
        table["task"] = ""
    models = table["model"].astype(str) if "model" in table.columns else pd.Series(
        [""] * len(table), index=table.index)
    panels = list(dict.fromkeys(zip(models, table["task"].astype(str), strict=True)))
    n_cols = min(3, len(panels))
    n_rows = int(np.ceil(len(panels) / n_cols))
    fig, axes = _grid(n_rows, n_cols, size=(3.4, 3.0))
    image = None
    for p, (model, task) in enumerate(panels):
        ax = axes.flat[p]
        sub = table[(table["task"].astype(str) == task) & (models == model)]
        matrix = sub.pivot_table(index="stimulus", columns="frame", values="accuracy")
        boxed = sub.pivot_table(index="stimulus", columns="frame", values=flag,
                                aggfunc="max").reindex_like(matrix)
        image = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis",
                          aspect="auto")
        for (i, j), on in np.ndenumerate(boxed.to_numpy(dtype=float)):
            if on == 1:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
        ax.set_xticks(range(matrix.shape[1]))
        ax.set_xticklabels([int(k) + 1 for k in matrix.columns])
        ax.set_yticks(range(matrix.shape[0]))
        ax.set_yticklabels([f"S{int(i) + 1}" for i in matrix.index])
        ax.set_xlabel("time step T tested")
        ax.set_ylabel("stimulus S (decoder fit on E(S,S))")
        ax.set_title(" ".join(s for s in (model, task) if s), fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.7, label="decoding accuracy")
    fig.suptitle("Cross-time decoding from the encoding space; red = the executive step "
                 "that compares S (N-back: T = S + N) (Lei et al. 2024, Fig. 4b)")
    return _finish(fig, path)


def plot_executive_generalization(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 4c: cross-time generalisation on executive vs non-executive steps.

    Args:
        table: The cross-time table of :func:`plot_cross_time_decoding`; its memory steps
            (``frame > stimulus``) are split by ``recall`` (the executive step comparing the
            stimulus; ``executive`` when absent); optional ``model``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure with paired boxplots per model (executive left, non-executive right).
    """
    flag = _recall_column(table)
    _require(table, ["stimulus", "frame", "accuracy", flag], "4c")
    later = table[table["frame"] > table["stimulus"]]
    if later.empty:
        raise WmgeomError("table for figure 4c has no memory steps (frame > stimulus)")
    models = _models(later)
    fig, axes = _grid(1, 1, size=(1.6 * max(len(models), 2) + 1.5, 3.4))
    ax = axes[0, 0]
    ex = [_by_model(later, m).loc[lambda d: d[flag].astype(bool), "accuracy"]
          .to_numpy(dtype=float) for m in models]
    non = [_by_model(later, m).loc[lambda d: ~d[flag].astype(bool), "accuracy"]
           .to_numpy(dtype=float) for m in models]
    _paired_boxplots(ax, models, ex, non, ("executive (S recalled)", "non-executive"),
                     ("#d62728", "#8c8c8c"))
    _chance_line(ax, _chance(later))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("cross-time decoding accuracy")
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle("Generalisation of encoding decoders to memory steps (Lei et al. 2024, Fig. 4c)")
    return _finish(fig, path)


def plot_encoding_sharing(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 4d: decoders fit on E(i,i), tested on E(i,i) (validation) or E(j,j).

    Args:
        table: Rows ``kind`` (``"validation"``/``"generalization"``), ``accuracy``;
            optional ``model``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure with paired boxplots per model.
    """
    return plot_validation_vs_generalization(
        table, path, title="Encoding-space sharing across stimuli: E(i,i) → E(j,j) "
                           "(Lei et al. 2024, Fig. 4d)")


def _millions(value: float, _pos: int | None = None) -> str:
    return f"{value / 1e6:.2f}M" if value < 1e7 else f"{value / 1e6:.0f}M"


def _narrow(parameters: pd.Series) -> bool:
    """Whether the parameter counts span less than a factor 3 (too few major ticks)."""
    return float(parameters.max()) < 3 * float(parameters.min())


def plot_accuracy_vs_parameters(models: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. A1c: accuracy on train, novel angles and novel identities against the
    number of trainable parameters, one line per architecture.

    Args:
        models: One row per run: ``architecture``, ``parameters``, ``acc_train``,
            ``acc_val_angle``, ``acc_val_identity`` (any present); optional ``regime``
            (MTMF rows are drawn when present, as in the paper).
        path: Stem for ``.png``/``.svg`` output, or None.
    """
    _require(models, ["architecture", "parameters"], "A1c")
    if "regime" in models and (models["regime"].astype(str).str.upper() == "MTMF").any():
        models = models[models["regime"].astype(str).str.upper() == "MTMF"]
    splits = [s for s in SPLITS if f"acc_{s}" in models.columns]
    fig, axes = _grid(1, len(splits), size=(3.4, 3.0), sharey=True)
    archs = _order(models["architecture"].astype(str).str.lower(), ARCHITECTURE_ORDER)
    narrow = _narrow(models["parameters"])
    for c, split in enumerate(splits):
        ax = axes[0, c]
        for k, arch in enumerate(archs):
            g = models[models["architecture"].astype(str).str.lower() == arch]
            curve = g.groupby("parameters")[f"acc_{split}"].agg(["mean", "std"]).sort_index()
            ax.errorbar(curve.index, curve["mean"], yerr=curve["std"].fillna(0), fmt="-o",
                        ms=4, capsize=2, color=f"C{k}", label=architecture_label(arch))
        ax.set_xscale("log")
        # plain labels (e.g. 0.85M): a narrow range on a log axis otherwise labels its
        # minor ticks in overlapping scientific notation
        if not narrow:
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(_millions))
        ax.xaxis.set_minor_formatter(FuncFormatter(_millions) if narrow else NullFormatter())
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.axhline(1 / len(ACTIONS), color="k", ls=":", lw=0.8)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("trainable parameters")
        ax.set_title(split.replace("_", " "))
        if c == 0:
            ax.set_ylabel("executive-step accuracy")
    axes[0, -1].legend(fontsize=8, loc="lower right")
    fig.suptitle("Accuracy against model size (Lei et al. 2024, Fig. A1c; dotted: chance)")
    return _finish(fig, path)


def plot_findings_against_size(series: pd.DataFrame, path=None) -> Figure:
    """Each finding's measure against the number of parameters, one line per architecture
    (beyond Lei et al. 2024, §5: "we did not explore how scaling the network size might
    influence the results").

    Args:
        series: One row per finding × model: ``finding`` (panel title), ``architecture``,
            ``parameters``, ``value`` (the finding's headline quantity), ``null`` (its null,
            NaN where none), ``quantity`` (the y label).
        path: Stem for ``.png``/``.svg`` output, or None.
    """
    _require(series, ["finding", "architecture", "parameters", "value"], "size series")
    findings = list(dict.fromkeys(series["finding"]))
    cols = min(4, len(findings))
    rows = -(-len(findings) // cols)
    fig, axes = _grid(rows, cols, size=(3.2, 2.6))
    archs = _order(series["architecture"].astype(str).str.lower(), ARCHITECTURE_ORDER)
    for i, name in enumerate(findings):
        ax = axes[i // cols, i % cols]
        f = series[series["finding"] == name]
        for k, arch in enumerate(archs):
            g = f[f["architecture"].astype(str).str.lower() == arch].sort_values("parameters")
            if g.empty:
                continue
            ax.plot(g["parameters"], g["value"], "-o", ms=4, color=f"C{k}",
                    label=architecture_label(arch))
            if "null" in g and g["null"].notna().any():
                ax.plot(g["parameters"], g["null"], ":", marker="D", ms=3, mfc="none",
                        color=f"C{k}", alpha=0.7)
        ax.set_xscale("log")
        narrow = _narrow(f["parameters"])
        if not narrow:
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(_millions))
        ax.xaxis.set_minor_formatter(FuncFormatter(_millions) if narrow else NullFormatter())
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.set_title(textwrap.fill(str(name), 38), fontsize=8)
        if "quantity" in f:
            ax.set_ylabel(textwrap.fill(str(f["quantity"].iloc[0]), 30), fontsize=7)
        if i // cols == rows - 1:
            ax.set_xlabel("trainable parameters", fontsize=8)
    for j in range(len(findings), rows * cols):
        axes[j // cols, j % cols].axis("off")
    # one legend for every architecture (a panel may judge only some of them)
    fig.legend(handles=[Line2D([], [], color=f"C{k}", marker="o", ms=4,
                               label=architecture_label(arch)) for k, arch in enumerate(archs)],
               loc="lower right", fontsize=8, ncol=len(archs), frameon=False)
    fig.suptitle("Findings against model size (beyond Lei et al. 2024, §5; dotted hollow: "
                 "the null)")
    return _finish(fig, path)


def plot_procrustes(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 4f (and A4): fitted vs Procrustes-reconstructed decoder accuracy.

    Args:
        table: Rows ``feature``, ``frame`` (the target step), ``accuracy_fitted``,
            ``accuracy_reconstructed``; optional ``stimulus`` (then the x-axis is the
            number of steps since the stimulus was encoded, T − S), ``model``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: one panel per model, solid lines for fitted and dotted lines for
        reconstructed decoders, one colour per feature.
    """
    _require(table, ["feature", "frame", "accuracy_fitted", "accuracy_reconstructed"], "4f")
    table = table.copy()
    if "stimulus" in table.columns:
        table["frame"] = table["frame"] - table["stimulus"]
        xlabel, first = "steps since encoding (T − S)", 0
    else:
        xlabel, first = "time step T", 1
    models, features = _models(table), _order(table["feature"])
    n_cols = min(3, len(models))
    fig, axes = _grid(int(np.ceil(len(models) / n_cols)), n_cols, size=(3.6, 3.2), sharey=True)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for k_model, model in enumerate(models):
        c = k_model % n_cols
        ax = axes.flat[k_model]
        sub = _by_model(table, model)
        for k, feature in enumerate(features):
            part = sub[sub["feature"] == feature].groupby("frame")[
                ["accuracy_fitted", "accuracy_reconstructed"]].mean()
            steps = part.index.to_numpy() + first
            ax.plot(steps, part["accuracy_fitted"], "-o", color=f"C{k}", ms=3,
                    label=f"{feature} fitted")
            ax.plot(steps, part["accuracy_reconstructed"], ":s", color=f"C{k}", ms=3,
                    label=f"{feature} reconstructed")
        _chance_line(ax, _chance(sub))
        ax.set_ylim(0, 1.05)
        ax.set_xlabel(xlabel)
        ax.set_title(model or "model")
        if c == 0:
            ax.set_ylabel("decoding accuracy")
    axes[0, -1].legend(fontsize=7, loc="lower left")
    fig.suptitle("Procrustes: fitted (solid) vs reconstructed (dotted) decoders "
                 "(Lei et al. 2024, Fig. 4f)")
    return _finish(fig, path)


def plot_swap_tests(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. 4g (and A4): reconstructed-decoder accuracy after swapping rotations.

    Args:
        table: Rows ``feature``, ``swap`` (which rotation was used, e.g. ``"R(i,j)"``,
            ``"R(i,j+1)"``, ``"R(i+k,j+k)"``), ``accuracy``; optional ``model``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: rows are features, columns are models, boxplots per swap.
    """
    _require(table, ["feature", "swap", "accuracy"], "4g")
    models, features = _models(table), _order(table["feature"])
    swaps = list(dict.fromkeys(table["swap"].astype(str)))
    fig, axes = _grid(len(features), len(models), size=(3.2, 2.6), sharey=True)
    for r, feature in enumerate(features):
        for c, model in enumerate(models):
            ax = axes[r, c]
            sub = _by_model(table, model)
            sub = sub[sub["feature"] == feature]
            data = [sub.loc[sub["swap"].astype(str) == s, "accuracy"].to_numpy(dtype=float)
                    for s in swaps]
            data = [d if len(d) else np.array([np.nan]) for d in data]
            box = ax.boxplot(data, patch_artist=True, showfliers=False)
            for k, patch in enumerate(box["boxes"]):
                patch.set_facecolor(f"C{k}")
                patch.set_alpha(0.7)
            ax.set_xticks(range(1, len(swaps) + 1))
            ax.set_xticklabels(swaps, fontsize=7, rotation=15)
            _chance_line(ax, _chance(sub))
            ax.set_ylim(0, 1.05)
            if r == 0:
                ax.set_title(model or "model")
            if c == 0:
                ax.set_ylabel(f"{feature}\naccuracy")
    fig.suptitle("Swapping the Procrustes rotation (Lei et al. 2024, Fig. 4g)")
    return _finish(fig, path)


# --------------------------------------------------------------------------- appendix


def plot_within_time_decoding(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. A5: within-step decoding of relevant and irrelevant features.

    Args:
        table: Rows ``frame`` (step decoded from), ``feature``, ``relevant`` (bool),
            ``accuracy``; optional ``stimulus`` (the frame whose object is decoded, then a
            stimulus × step matrix is drawn), ``model``, ``chance``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: left task-relevant, right task-irrelevant features; accuracy at every
        step, one line per feature (averaged over tasks), or matrices with ``stimulus``.
    """
    _require(table, ["frame", "relevant", "accuracy"], "A5")
    models = _models(table)
    fig, axes = _grid(len(models), 2, size=(3.4, 2.9), sharey="row")
    image = None
    for r, model in enumerate(models):
        sub = _by_model(table, model)
        for c, relevant in enumerate((True, False)):
            ax = axes[r, c]
            part = sub[sub["relevant"].astype(bool) == relevant]
            kind = "task-relevant" if relevant else "task-irrelevant"
            ax.set_title(f"{model} {kind}".strip(), fontsize=9)
            if "stimulus" in part.columns:
                matrix = part.pivot_table(index="stimulus", columns="frame", values="accuracy")
                image = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1,
                                  cmap="viridis", aspect="auto")
                ax.set_xticks(range(matrix.shape[1]))
                ax.set_xticklabels([int(k) + 1 for k in matrix.columns])
                ax.set_yticks(range(matrix.shape[0]))
                ax.set_yticklabels([f"S{int(i) + 1}" for i in matrix.index])
                ax.set_xlabel("time step T")
                ax.set_ylabel("stimulus S")
                continue
            features = _order(part["feature"]) if "feature" in part.columns else [None]
            for k, feature in enumerate(features):
                rows = part if feature is None else part[part["feature"] == feature]
                curve = rows.groupby("frame")["accuracy"].mean()
                ax.plot(curve.index + 1, curve.to_numpy(), "-o", ms=3, color=f"C{k}",
                        label=feature or "accuracy")
                chance = _chance(rows)
                if chance is not None:
                    ax.axhline(chance, color=f"C{k}", ls="--", lw=0.8)
            ax.set_ylim(0, 1.05)
            ax.set_xlabel("time step T (stimulus shown at T)")
            if c == 0:
                ax.set_ylabel("validation accuracy")
            ax.legend(fontsize=7, loc="lower left")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.7, label="validation accuracy")
    fig.suptitle("Within-step decoding of relevant and irrelevant features "
                 "(Lei et al. 2024, Fig. A5; dashed: chance)")
    return _finish(fig, path)


def plot_causal_perturbation(table: pd.DataFrame, path=None) -> Figure:
    """Lei et al. 2024, Fig. A7: action probabilities after moving hidden states along a normal.

    Args:
        table: Rows ``distance``, ``action`` (one of ``ACTIONS``), ``probability`` (mean
            over trials); optional ``std`` (or ``sd``), ``feature`` (one panel per
            feature), ``model``, ``direction`` (``decoder`` solid, ``random`` — the control
            — dashed).
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: one line per action against the distance moved.
    """
    _require(table, ["distance", "action", "probability"], "A7")
    table = table.copy()
    if "feature" not in table.columns:
        table["feature"] = ""
    if "direction" not in table.columns:
        table["direction"] = "decoder"
    models, features = _models(table), _order(table["feature"])
    fig, axes = _grid(len(models), len(features), size=(3.4, 2.9), sharey=True)
    for r, model in enumerate(models):
        for c, feature in enumerate(features):
            ax = axes[r, c]
            sub = _by_model(table, model)
            sub = sub[sub["feature"] == feature]
            for direction in _order(sub["direction"], preferred=("decoder", "random")):
                along = sub[sub["direction"] == direction]
                control = direction != "decoder"
                for action in _order(along["action"], preferred=ACTIONS):
                    part = along[along["action"] == action].groupby("distance")
                    mean = part["probability"].mean()
                    ax.plot(mean.index, mean.to_numpy(), "--" if control else "-o", ms=3,
                            lw=1 if control else 1.5, color=ACTION_COLORS.get(action),
                            label=f"{action} ({direction} direction)" if control else action)
                    spread = "std" if "std" in sub.columns else "sd" if "sd" in sub.columns \
                        else None
                    if spread is not None and not control:
                        sd = part[spread].mean().to_numpy()
                        ax.fill_between(mean.index, mean - sd, mean + sd, alpha=0.2,
                                        color=ACTION_COLORS.get(action))
            ax.axvline(0, color="k", lw=0.8, ls=":")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("distance moved along decoder normal")
            ax.set_title(" ".join(s for s in (model, feature) if s) or "perturbation",
                         fontsize=9)
            if c == 0:
                ax.set_ylabel("action probability")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle("Causal perturbation of the first-stimulus state along decoder normals "
                 "(solid) and random directions (dashed) (Lei et al. 2024, Fig. A7)")
    return _finish(fig, path)


# --------------------------------------------------------------------------- training


def plot_training_curves(metrics: pd.DataFrame, path=None,
                         criteria: dict[str, float] | None = None) -> Figure:
    """Training curves from ``RUN_DIR/metrics.csv`` (Lei et al. 2024, Fig. A1b).

    Args:
        metrics: Rows ``iteration``, ``split``, and any of ``loss``, ``acc_executive``,
            ``acc_all`` (averaged over ``task`` when several tasks are logged).
        path: Stem for ``.png``/``.svg`` output, or None.
        criteria: Accuracy criterion per split drawn as dashed lines (default the
            paper's: train 0.95, val_angle 0.90).

    Returns:
        The figure: one panel per logged metric, one line per split.
    """
    _require(metrics, ["iteration", "split"], "training curves")
    criteria = {"train": 0.95, "val_angle": 0.90} if criteria is None else criteria
    columns = [c for c in ("loss", "acc_executive", "acc_all") if c in metrics.columns]
    if not columns:
        raise WmgeomError("metrics.csv has none of the columns loss, acc_executive, acc_all")
    fig, axes = _grid(1, len(columns), size=(3.8, 3.0))
    splits = _order(metrics["split"], preferred=SPLITS)
    for c, column in enumerate(columns):
        ax = axes[0, c]
        for k, split in enumerate(splits):
            curve = metrics[metrics["split"] == split].groupby("iteration")[column].mean()
            curve = curve.dropna()
            if curve.empty:
                continue
            ax.plot(curve.index, curve.to_numpy(), "-", color=f"C{k}", label=split,
                    marker="o" if len(curve) < 15 else None, ms=3)
            if column.startswith("acc") and split in criteria:
                ax.axhline(criteria[split], color=f"C{k}", ls="--", lw=0.8)
        ax.set_xlabel("iteration")
        ax.set_ylabel(column.replace("_", " "))
        if column.startswith("acc"):
            ax.axhline(1 / len(ACTIONS), color="k", ls=":", lw=0.8)
            ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    fig.suptitle("Training curves (dashed: paper criterion; dotted: chance 1/3)")
    return _finish(fig, path)


def plot_grid_training(curves: pd.DataFrame, path=None) -> Figure:
    """Training curves of a grid: one panel per model (architectures × regimes), every seed
    a line (training images solid, novel angles dashed), the paper's criterion dotted.

    Args:
        curves: Rows ``model``, ``iteration``, ``split``, ``acc_executive`` (the task
            ``all`` of each run's metrics.csv); ``architecture`` and ``regime`` place the
            panels, ``run`` (or ``seed``) separates the seeds.
        path: Stem for ``.png``/``.svg`` output, or None.
    """
    _require(curves, ["model", "iteration", "split", "acc_executive"], "grid training")
    models = _models(curves)
    cells = _model_cells(curves, models)
    n_rows = max(r for r, _ in cells.values()) + 1
    n_cols = max(c for _, c in cells.values()) + 1
    fig, axes = _grid(n_rows, n_cols, size=(3.0, 1.9), sharex=True, sharey=True)
    used = set()
    split_styles = {"train": ("-", "#1f2328"), "val_angle": ("--", "#2f6db3")}
    seed_key = "run" if "run" in curves else "seed" if "seed" in curves else None
    for model in models:
        ax = axes[cells[model]]
        used.add(cells[model])
        g = curves[curves["model"] == model]
        runs = list(g.groupby(seed_key, sort=False)) if seed_key else [("", g)]
        for split, (style, color) in split_styles.items():
            for k, (_, run) in enumerate(runs):
                line = run[run["split"] == split].groupby("iteration")["acc_executive"].mean()
                ax.plot(line.index, line.to_numpy(), style, color=color, lw=1.0, alpha=0.8,
                        label=split.replace("_", " ") if k == 0 else None)
        for split, level in (("train", 0.95), ("val_angle", 0.90)):
            ax.axhline(level, color=split_styles[split][1], ls=":", lw=0.8)
        ax.set_ylim(0.3, 1.02)
        ax.set_title(f"{model} ({len(runs)} seed{'s' if len(runs) != 1 else ''})",
                     fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
    for r in range(n_rows):
        for c in range(n_cols):
            if (r, c) not in used:
                axes[r, c].set_visible(False)
        axes[r, 0].set_ylabel("executive accuracy")
    for c in range(n_cols):
        axes[-1, c].set_xlabel("iteration")
    first = axes[next(iter(sorted(used)))]
    first.legend(fontsize=7, loc="lower right")
    fig.suptitle("Training of every model, seeds as lines (dotted: the paper's criterion, "
                 "95% train, 90% novel angles)", fontsize=10)
    return _finish(fig, path)


def accuracy_table(summary: dict | None = None,
                   metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy per split (and task) from ``summary.json`` and ``metrics.csv``.

    Args:
        summary: The parsed ``RUN_DIR/summary.json``; its ``accuracy`` entry maps each
            split to the overall executive-frame accuracy of the last evaluation.
        metrics: The parsed ``RUN_DIR/metrics.csv``; its last evaluation gives accuracy
            per task and split (``acc_executive``, ``acc_all``).

    Returns:
        Rows ``split``, ``task`` (``"all"`` for the overall value), ``accuracy``
        (executive frames) and, from metrics, ``acc_all``; empty if neither source holds
        accuracies.
    """
    frames = []
    if metrics is not None and not metrics.empty and {"iteration", "split"} <= set(metrics):
        value = "acc_executive" if "acc_executive" in metrics else None
        if value is not None:
            last = metrics[metrics["iteration"] == metrics["iteration"].max()]
            keep = [c for c in ("split", "task", "acc_executive", "acc_all") if c in last]
            table = last[keep].rename(columns={"acc_executive": "accuracy"})
            if "task" not in table:
                table = table.assign(task="all")
            frames.append(table.groupby(["split", "task"], as_index=False, sort=False).mean())
    accuracy = (summary or {}).get("accuracy") if isinstance(summary, dict) else None
    if isinstance(accuracy, dict) and not (frames and (frames[0]["task"] == "all").any()):
        rows = [{"split": k, "task": "all", "accuracy": float(v)} for k, v in accuracy.items()
                if isinstance(v, int | float) and not isinstance(v, bool)]
        frames.append(pd.DataFrame(rows))
    if not frames:
        return pd.DataFrame(columns=["split", "task", "accuracy"])
    return pd.concat(frames, ignore_index=True)


def plot_accuracy(table: pd.DataFrame, path=None) -> Figure:
    """Accuracy per split and task (Lei et al. 2024, Fig. A1b), from :func:`accuracy_table`.

    Args:
        table: Rows ``split``, ``accuracy`` and optional ``task``; a row per task and split.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: grouped bars, one group per task, one bar per split.
    """
    _require(table, ["split", "accuracy"], "A1b")
    table = table.copy()
    if "task" not in table.columns:
        table["task"] = "all"
    tasks = list(dict.fromkeys(table["task"].astype(str)))
    splits = _order(table["split"], preferred=SPLITS)
    fig, axes = _grid(1, 1, size=(max(4.0, 0.7 * len(tasks) * len(splits) + 1.5), 3.2))
    ax = axes[0, 0]
    x = np.arange(len(tasks))
    width = 0.8 / len(splits)
    for k, split in enumerate(splits):
        values = [table.loc[(table["task"].astype(str) == t) & (table["split"] == split),
                            "accuracy"].mean() for t in tasks]
        ax.bar(x + (k - (len(splits) - 1) / 2) * width, np.nan_to_num(values), width=width,
               label=split, color=f"C{k}")
    ax.axhline(1 / len(ACTIONS), color="k", ls=":", lw=0.8, label="chance")
    ax.set_xticks(x)
    ax.set_xticklabels(tasks, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    fig.suptitle("Task accuracy per split")
    return _finish(fig, path)


# --------------------------------------------------------------------------- dynamics


STABILITY_MARKERS = {"stable": "o", "marginal": "s", "unstable": "x"}


def plot_fixed_points(table: pd.DataFrame, path=None) -> Figure:
    """Fixed points of the recurrent layer (Sussillo & Barak 2013) and the memory subspaces.

    Args:
        table: Rows of the ``fixed_points`` analysis: ``found``, ``stability``,
            ``eig<k>_real``/``eig<k>_imag``, ``memory_fraction``, ``pc_fraction``,
            ``chance_fraction``, optional ``model``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: the leading eigenvalues of every fixed point in the complex plane with
        the unit circle (inside: stable), one colour per model and one marker per
        stability; and per model the mean share of the points' displacement from the mean
        state in the memory subspace, in as many top principal components, and by chance.
    """
    _require(table, ["found", "stability", "eig1_real", "eig1_imag", "memory_fraction",
                     "pc_fraction", "chance_fraction"], "fixed points")
    table = table[table["found"].astype(bool)]
    if table.empty:
        raise WmgeomError("table for figure fixed points holds no fixed point")
    models = _models(table)
    fig, axes = _grid(1, 2, size=(4.0, 3.6))
    ax = axes[0, 0]
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(theta), np.sin(theta), color="k", lw=0.8, ls=":")
    ks = sorted(int(c[3:-5]) for c in table.columns if c.startswith("eig") and
                c.endswith("_real"))
    for m, model in enumerate(models):
        sub = _by_model(table, model)
        for kind, marker in STABILITY_MARKERS.items():
            part = sub[sub["stability"] == kind]
            if part.empty:
                continue
            re = part[[f"eig{k}_real" for k in ks]].to_numpy(float).ravel()
            im = part[[f"eig{k}_imag" for k in ks]].to_numpy(float).ravel()
            ax.scatter(re, im, s=18, marker=marker, color=f"C{m}", alpha=0.8,
                       label=" ".join(s for s in (model, kind) if s))
    ax.set_aspect("equal")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title("leading Jacobian eigenvalues", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    columns = {"memory_fraction": "memory subspace", "pc_fraction": "top PCs",
               "chance_fraction": "chance"}
    x = np.arange(len(models))
    width = 0.8 / len(columns)
    for k, (column, label) in enumerate(columns.items()):
        values = [_by_model(table, m)[column].mean() for m in models]
        ax.bar(x + (k - (len(columns) - 1) / 2) * width, np.nan_to_num(values), width=width,
               label=label, color="0.6" if column == "chance_fraction" else f"C{k}")
    ax.set_xticks(x)
    ax.set_xticklabels([m or "model" for m in models], rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of displacement from mean state")
    ax.legend(fontsize=7)
    fig.suptitle("Fixed points under each task's context input (Sussillo & Barak 2013)")
    return _finish(fig, path)


PAIR_COLORS = {"different architectures": "C3", "same architecture": "C0",
               "trained vs untrained": "0.5"}


def plot_model_comparison(table: pd.DataFrame, path=None) -> Figure:
    """Geometry against dynamics for pairs of models (Williams et al. 2021; Ostrow et al.
    2023), and their representational similarity (Kriegeskorte et al. 2008).

    Args:
        table: One row per pair: ``kind``, ``model_a``, ``model_b``, ``procrustes``,
            ``procrustes_null``, ``dsa``, ``rsa``, ``rsa_null``, ``noise_ceiling_lower``,
            ``noise_ceiling_upper`` (NaN where not computed).
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: the Procrustes distance (geometry) against the DSA distance (dynamics)
        of every pair, with the shuffled-condition Procrustes null at the end of a dotted
        line (and, as a tick, the null with conditions shuffled within frames); and
        each pair's RSA correlation beside its shuffled-condition null and the noise
        ceiling.
    """
    _require(table, ["kind", "model_a", "model_b", "procrustes", "procrustes_null", "dsa",
                     "rsa", "rsa_null", "noise_ceiling_lower", "noise_ceiling_upper"],
             "model comparison")
    fig, axes = _grid(1, 2, size=(4.2, 3.6))
    ax = axes[0, 0]
    dynamics = table["dsa"].notna().any()
    for kind, g in table.groupby("kind", sort=False):
        y = g["dsa"].to_numpy(float) if dynamics else np.zeros(len(g))
        ax.scatter(g["procrustes"], y, color=PAIR_COLORS.get(kind, "C2"), label=kind, s=24,
                   zorder=3)
        ax.hlines(y, g["procrustes"], g["procrustes_null"], color=PAIR_COLORS.get(kind, "C2"),
                  lw=0.8, ls=":", zorder=2)
        if "procrustes_stimulus_null" in g:
            ax.scatter(g["procrustes_stimulus_null"], y, color=PAIR_COLORS.get(kind, "C2"),
                       marker="|", s=40, zorder=2)
        if len(table) <= 6:
            for _, r in g.iterrows():
                ax.annotate(f"{r['model_a']} – {r['model_b']}",
                            (r["procrustes"], r["dsa"] if dynamics else 0), fontsize=6,
                            xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("Procrustes distance (geometry, rad)\n… to shuffled conditions (dotted; "
                  "tick: within frames)")
    ax.set_ylabel("DSA distance (dynamics)" if dynamics else "DSA not computed")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    labels = [f"{a} – {b}" for a, b in zip(table["model_a"], table["model_b"], strict=True)]
    y = np.arange(len(table))
    colors = [PAIR_COLORS.get(k, "C2") for k in table["kind"]]
    ax.barh(y, np.nan_to_num(table["rsa"].to_numpy(float)), color=colors, height=0.6)
    ax.scatter(table["rsa_null"], y, color="k", marker="|", s=60, label="shuffled conditions",
               zorder=3)
    lo, hi = table["noise_ceiling_lower"].to_numpy(float), \
        table["noise_ceiling_upper"].to_numpy(float)
    for k in range(len(table)):
        if np.isfinite(lo[k]):
            ax.add_patch(Rectangle((lo[k], k - 0.3), hi[k] - lo[k], 0.6, color="0.8",
                                   alpha=0.6, zorder=1))
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_xlim(min(-0.1, float(np.nanmin(table["rsa_null"].to_numpy(float), initial=0))),
                1.02)
    ax.set_xlabel("RSA (correlation of crossnobis RDMs)\ngrey: noise ceiling")
    ax.legend(fontsize=7)
    fig.suptitle("Geometry and dynamics across models (Williams et al. 2021; Ostrow et al. "
                 "2023)")
    return _finish(fig, path)


TRAINED_COLOR = "#2f6db3"  # training identities: blue
NOVEL_COLOR = "#d9822b"  # novel identities: orange


def plot_novel_objects(table: pd.DataFrame, path=None) -> Figure:
    """Where novel objects lose their identity (beyond Lei et al. 2024, Fig. A1c, whose
    accuracy on novel identities §5 leaves unexplained).

    Args:
        table: Rows of :func:`~wmgeom.analysis.novel_objects.novel_object_decoding`:
            ``stage``, ``order``, ``group`` (``trained``/``novel``), ``kind``
            (``cross-validated``/``generalization``), ``feature``, ``normalized_accuracy``;
            optional ``model``.
        path: Stem for ``.png``/``.svg`` output, or None.

    Returns:
        The figure: one row per model, identity (left) and category (right) panels;
        normalised accuracy (0 chance, 1 perfect) against the stage (perceptual → input →
        encoding → memory lags), training identities beside novel ones, and in the category
        panel the decoders of the training identities tested on the novel ones (dashed).
    """
    _require(table, ["stage", "order", "group", "kind", "feature", "normalized_accuracy"],
             "novel objects")
    models = _models(table)
    features = [f for f in ("identity", "category") if f in set(table["feature"])]
    fig, axes = _grid(len(models), len(features), size=(3.6, 2.8), sharey=True)
    stages = table.drop_duplicates("stage").sort_values("order")["stage"].tolist()
    x = {s: k for k, s in enumerate(stages)}
    lines = ((("cross-validated", "trained"), TRAINED_COLOR, "-o", "training identities"),
             (("cross-validated", "novel"), NOVEL_COLOR, "-o", "novel identities"),
             (("generalization", "novel"), NOVEL_COLOR, "--s",
              "novel, decoders of the training identities"))
    for r, model in enumerate(models):
        sub = _by_model(table, model)
        for c, feature in enumerate(features):
            ax = axes[r, c]
            part = sub[sub["feature"] == feature]
            for (kind, group), color, style, label in lines:
                rows = part[(part["kind"] == kind) & (part["group"] == group)]
                if rows.empty:
                    continue
                curve = rows.groupby("stage")["normalized_accuracy"].mean()
                ax.plot([x[s] for s in stages if s in curve.index],
                        [curve[s] for s in stages if s in curve.index], style, ms=3,
                        color=color, label=label)
            ax.axhline(0.0, color="k", ls=":", lw=0.8)
            ax.set_xticks(range(len(stages)), stages, rotation=35, ha="right", fontsize=7)
            ax.set_ylim(-0.15, 1.05)
            ax.set_title(f"{model} {feature}".strip(), fontsize=9)
            if c == 0:
                ax.set_ylabel("normalised accuracy")
            ax.legend(fontsize=6, loc="lower left")
    fig.suptitle("Training vs novel identities stage by stage (beyond Lei et al. 2024, "
                 "Fig. A1c; 0: chance)")
    return _finish(fig, path)
