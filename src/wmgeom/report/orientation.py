"""Figures and report sections of the two-orientation study (Cueva et al. 2021).

One figure function per analysis; each takes plain arrays / tables and an optional
``path`` (saved as PNG and SVG). :func:`draw_figures` draws them all from the study's
tables (those of :func:`wmgeom.analysis.orientation.analyze_condition`, one ``condition``
column); :func:`sections` builds the report sections of a run directory, phrasing every
reading from its own tables beside the claim of the abstract of Cueva et al. 2021. The page
opens with the findings table (``analysis/findings.csv``: each finding's verdict, with its
null controls beside the measurement), and each section shows its numbers beside the same
numbers of the nulls (``analysis/measures.csv``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from wmgeom.analysis.connectivity import ring_summary, sort_units  # noqa: E402
from wmgeom.references import REFERENCES, cite  # noqa: E402
from wmgeom.report.figures import save_figure  # noqa: E402
from wmgeom.report.glance import glance_html  # noqa: E402
from wmgeom.report.page import Section  # noqa: E402

FIGURES = {
    "orientation_manifold": "Activity manifold at the end of delay 2 (noise-free grid).",
    "orientation_topology": "Persistence diagrams of the grid states.",
    "orientation_connectivity": "Recurrent weights sorted by group and preferred orientation "
    "(dashed: the untrained network's within-group profiles, rescaled).",
    "orientation_dynamics": "Dynamic code of θ1: tuning change between delays, "
    "cross-temporal decoding.",
    "orientation_behaviour": "Report errors, bias vs θ2 − θ1 and summary across conditions.",
}


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_manifold(scores: np.ndarray, evr: np.ndarray, theta1, theta2, path=None) -> Figure:
    """Grid states on their first 3 PCs coloured by θ1 and by θ2, and the PCA spectrum."""
    fig = plt.figure(figsize=(12, 3.8))
    for k, (theta, name) in enumerate(((theta1, "θ1"), (theta2, "θ2"))):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        sc = ax.scatter(*scores[:, :3].T, c=theta, cmap="hsv", vmin=0, vmax=180, s=8)
        ax.set(xlabel="PC1", ylabel="PC2", zlabel="PC3", title=f"coloured by {name}")
        fig.colorbar(sc, ax=ax, shrink=0.6, label=f"{name} (deg)")
    ax = fig.add_subplot(1, 3, 3)
    n = min(len(evr), 8)
    ax.bar(np.arange(1, n + 1), evr[:n], color="#2f6db3")
    ax.plot(np.arange(1, n + 1), np.cumsum(evr[:n]), "k.-", label="cumulative")
    ax.axvline(4.5, color="grey", ls=":")
    ax.set(xlabel="principal component", ylabel="variance explained", ylim=(0, 1.05))
    ax.legend(frameon=False)
    fig.tight_layout()
    return _finish(fig, path)


def plot_persistence(diagrams: list[np.ndarray], path=None) -> Figure:
    """Persistence diagrams (birth vs death) for H0, H1, H2."""
    fig, ax = plt.subplots(figsize=(4.2, 4))
    finite = np.concatenate([d[np.isfinite(d[:, 1])] for d in diagrams])
    top = float(finite[:, 1].max()) * 1.05 if len(finite) else 1.0
    for k, d in enumerate(diagrams):
        d = np.where(np.isfinite(d), d, top)
        ax.scatter(d[:, 0], d[:, 1], s=12, label=f"H{k}", alpha=0.8)
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.set(xlabel="birth", ylabel="death", xlim=(0, top), ylim=(0, top * 1.02))
    ax.legend(frameon=False)
    fig.tight_layout()
    return _finish(fig, path)


def plot_connectivity(
    W: np.ndarray, groups: pd.DataFrame, profile: pd.DataFrame, path=None,
    null_profile: pd.DataFrame | None = None,
) -> Figure:
    """Sorted weight matrix and mean weight vs Δ preferred orientation per pair of groups
    (with ``null_profile``, the untrained network's within-group profiles as dashed lines,
    each divided by the s.d. of its weights and scaled to the trained one's)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    order = sort_units(groups)
    lim = float(np.abs(W).max()) or 1.0
    im = axes[0].imshow(W[np.ix_(order, order)], cmap="RdBu_r", vmin=-lim, vmax=lim)
    counts = groups["group"].value_counts()
    edge = 0
    for g in ("theta1", "theta2"):
        edge += int(counts.get(g, 0))
        axes[0].axhline(edge - 0.5, color="k", lw=0.6)
        axes[0].axvline(edge - 0.5, color="k", lw=0.6)
    axes[0].set(
        title="W (post × pre), sorted: θ1 units, θ2 units, untuned", xlabel="pre", ylabel="post"
    )
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    for (post, pre), df in profile.groupby(["post_group", "pre_group"], sort=False):
        ok = df["n_pairs"] > 0
        axes[1].errorbar(
            df.loc[ok, "delta_deg"],
            df.loc[ok, "mean_weight"],
            yerr=df.loc[ok, "sem"],
            marker="o",
            ms=3,
            capsize=2,
            label=f"{pre} → {post}",
        )
    if null_profile is not None and not null_profile.empty:
        for (post, pre), df in null_profile.groupby(["post_group", "pre_group"], sort=False):
            ok = df["n_pairs"] > 0
            if post != pre or not ok.any():
                continue
            scale = _weight_sd(profile[(profile["post_group"] == post)
                                       & (profile["pre_group"] == pre)])
            w = df.loc[ok, "mean_weight"] / (_weight_sd(df) or 1.0) * (scale or 1.0)
            axes[1].plot(df.loc[ok, "delta_deg"], w, ls="--", color="grey", lw=1,
                         label=f"untrained {pre} → {post} (rescaled)")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set(xlabel="Δ preferred orientation, post − pre (deg)", ylabel="mean weight")
    axes[1].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def plot_dynamics(
    tuning: pd.DataFrame,
    ctd: np.ndarray,
    time_ms: np.ndarray,
    marks: dict[str, int] | None = None,
    path=None,
) -> Figure:
    """Tuning correlation and preferred-orientation shift (delay 1 → delay 2), and the
    cross-temporal decoding matrix of θ1."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    tuned = tuning[tuning["tuned"]]
    axes[0].hist(tuned["corr"].dropna(), bins=np.linspace(-1, 1, 21), color="#2f6db3")
    axes[0].set(xlabel="θ1 tuning correlation, late delay 1 vs late delay 2", ylabel="units")
    axes[1].hist(tuned["shift_deg"], bins=np.linspace(-90, 90, 19), color="#d9822b")
    axes[1].set(xlabel="preferred θ1 shift (deg)", ylabel="units")
    ext = [time_ms[0], time_ms[-1], time_ms[-1], time_ms[0]]
    im = axes[2].imshow(ctd, cmap="viridis_r", vmin=0, vmax=60, extent=ext, aspect="auto")
    for step in (marks or {}).values():
        axes[2].axvline(time_ms[step], color="w", lw=0.6, ls=":")
        axes[2].axhline(time_ms[step], color="w", lw=0.6, ls=":")
    axes[2].set(
        xlabel="test time (ms)",
        ylabel="train time (ms)",
        title="θ1 decoding error (deg; chance 45)",
    )
    fig.colorbar(im, ax=axes[2])
    fig.tight_layout()
    return _finish(fig, path)


def plot_behaviour(
    errors: dict[str, pd.DataFrame], bias: dict[str, pd.DataFrame], numbers: pd.DataFrame, path=None
) -> Figure:
    """Error histograms, bias vs Δ and summary bars per training condition."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    bins = np.linspace(-30, 30, 41)
    for name, e in errors.items():
        allerr = np.r_[e["error1_deg"], e["error2_deg"]]
        axes[0].hist(allerr, bins=bins, histtype="step", density=True, label=name)
    axes[0].set(xlabel="report error (deg)", ylabel="density")
    axes[0].legend(frameon=False, fontsize=8)
    for name, b in bias.items():
        line = axes[1].plot(b["delta_deg"], b["bias1_deg"], "o-", ms=3, label=f"{name} θ1")
        axes[1].plot(
            b["delta_deg"],
            b["bias2_deg"],
            "s--",
            ms=3,
            color=line[0].get_color(),
            label=f"{name} θ2",
        )
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set(xlabel="θ2 − θ1 (deg)", ylabel="mean signed error (deg)")
    axes[1].legend(frameon=False, fontsize=7)
    x = np.arange(len(numbers))
    axes[2].bar(x - 0.2, numbers["repulsion1_deg"], 0.4, label="item 1")
    axes[2].bar(x + 0.2, numbers["repulsion2_deg"], 0.4, label="item 2")
    axes[2].axhline(0, color="grey", lw=0.8)
    axes[2].set(xticks=x, ylabel="repulsion (deg; < 0 attraction)")
    axes[2].set_xticklabels(numbers.index, rotation=20, fontsize=8)
    axes[2].legend(frameon=False)
    axes[3].bar(x - 0.2, numbers["error_correlation"], 0.4, label="error correlation")
    axes[3].bar(x + 0.2, numbers["ordinal_accuracy_reports"], 0.4, label="ordinal accuracy")
    axes[3].set(xticks=x, ylim=(min(0, numbers["error_correlation"].min()) - 0.05, 1.05))
    axes[3].set_xticklabels(numbers.index, rotation=20, fontsize=8)
    axes[3].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _finish(fig, path)


def _weight_sd(profile: pd.DataFrame) -> float:
    """Pooled s.d. of the weights of one pair of groups (as the ring summary computes it)."""
    if profile.empty or not (profile["n_pairs"] > 0).any():
        return 0.0
    sd = float(ring_summary(profile)["weight_sd"].iloc[0])
    return sd if np.isfinite(sd) else 0.0


def _condition(table: pd.DataFrame, name: str) -> pd.DataFrame:
    return table[table["condition"] == name] if "condition" in table else table


def draw_figures(
    fig_dir: str | Path, tables: dict[str, pd.DataFrame], default_condition: str
) -> list[Path]:
    """Draw every figure of the study from its tables into ``fig_dir`` (PNG + SVG).

    Args:
        fig_dir: Output folder.
        tables: The study's tables (``analysis/*.csv``), each with a ``condition`` column:
            ``conditions``, ``manifold_scores``, ``manifold_spectrum``, ``persistence``,
            ``unit_groups``, ``recurrent_weights``, ``connectivity_profile``,
            ``tuning_change``, ``cross_temporal_decoding``, ``epochs``, ``report_errors``,
            ``bias_curve``.
        default_condition: The condition whose network the single-model figures show.

    Returns:
        The PNG paths.
    """
    fig_dir = Path(fig_dir)
    T = {name: _condition(t, default_condition) for name, t in tables.items()
         if name != "conditions"}
    scores = T["manifold_scores"]
    pcs = scores[[c for c in scores.columns if c.startswith("pc")]].to_numpy()
    evr = T["manifold_spectrum"].sort_values("component")["explained_variance_ratio"].to_numpy()
    persistence = T["persistence"]
    diagrams = [persistence.loc[persistence["dimension"] == k, ["birth", "death"]].to_numpy()
                for k in range(int(persistence["dimension"].max()) + 1)]
    groups = T["unit_groups"].set_index("unit").drop(columns="condition", errors="ignore")
    W = T["recurrent_weights"].pivot(index="post", columns="pre", values="weight").to_numpy()
    tuning = T["tuning_change"].set_index("unit").drop(columns="condition", errors="ignore")
    ctd_table = T["cross_temporal_decoding"]
    time_ms = np.sort(ctd_table["train_time_ms"].unique())
    ctd = ctd_table.pivot(index="train_time_ms", columns="test_time_ms",
                          values="error_deg").reindex(index=time_ms, columns=time_ms).to_numpy()
    epochs = T["epochs"].set_index("epoch")
    step = {t: k for k, t in enumerate(time_ms)}
    marks = {"delay1_end": step[epochs.loc["delay1", "end_ms"]],
             "delay2_end": step[epochs.loc["delay2", "end_ms"]],
             "stimulus2": step[epochs.loc["stimulus2", "start_ms"]]}
    numbers = tables["conditions"].set_index("condition")
    names = list(numbers.index)
    errors = {n: _condition(tables["report_errors"], n) for n in names}
    bias = {n: _condition(tables["bias_curve"], n) for n in names}
    figures = [
        ("orientation_manifold", lambda p: plot_manifold(
            pcs, evr, scores["theta1"].to_numpy(), scores["theta2"].to_numpy(), path=p)),
        ("orientation_topology", lambda p: plot_persistence(diagrams, path=p)),
        ("orientation_connectivity", lambda p: plot_connectivity(
            W, groups, T["connectivity_profile"], path=p,
            null_profile=T.get("connectivity_profile_null"))),
        ("orientation_dynamics", lambda p: plot_dynamics(tuning, ctd, time_ms, marks, path=p)),
        ("orientation_behaviour", lambda p: plot_behaviour(errors, bias, numbers, path=p)),
    ]
    written = []
    for name, draw in figures:
        fig = draw(fig_dir / name)
        plt.close(fig)
        written.append(fig_dir / f"{name}.png")
    return written


# --------------------------------------------------------------------------- report sections


def _f(x: Any, fmt: str = ".2f") -> str:
    try:
        return "n/a" if x is None or pd.isna(x) else format(float(x), fmt)
    except (TypeError, ValueError):
        return str(x)


_FINDINGS_TEXT = (
    "One row per finding of Cueva et al. 2021 (only its abstract is available: 'paper' "
    "quotes it). 'measured' is what this folder's tables give per training condition; 'null' "
    "is the same quantity of the null controls, computed by the same code — the untrained "
    "network on the same trials and the trained network's recordings with shuffled "
    "orientations — and the verdict needs the measurement to beat the larger of them by "
    "'margin'. Verdicts are computed from the tables by the rule in the last column "
    "(docs/orientation.md), never typed by hand.")


_GLANCE_TEXT = (
    "Verdicts computed from this folder's tables by each finding's rule (folded under it; "
    "docs/orientation.md); only the abstract of Cueva et al. 2021 is available. Headline: "
    "the measurement minus the larger of its nulls (the untrained network on the same "
    "trials, the recordings with shuffled orientations) with its 95% interval over the "
    "training conditions, or the value against the rule.")


def findings_sections(found: pd.DataFrame, declared: Sequence[Any] | None = None,
                      tables: Mapping[str, pd.DataFrame] | None = None) -> list[Section]:
    """The findings as the report's first section (none without ``findings.csv``): at a
    glance (:func:`~wmgeom.report.glance.glance_html`) when the declared findings are given
    to judge ``tables`` again, else the saved table."""
    if found.empty:
        return []
    counts = found["verdict"].value_counts()
    tally = ", ".join(f"{counts[v]} {v}" for v in ("reproduced", "partly", "not reproduced",
                                                    "not tested") if v in counts)
    title = f"Findings of {cite('cueva2021')}"
    if declared is not None and tables is not None:
        outcomes = {f.id: f.judge(tables) for f in declared}
        return [Section(title, anchor="findings", text=f"{_GLANCE_TEXT} Here: {tally}.",
                        html=glance_html(declared, outcomes, found,
                                         source=cite("cueva2021")))]
    cols = [c for c in ("finding", "verdict", "measured", "null", "margin", "paper", "reason",
                        "rule") if c in found]
    return [Section(title, text=f"{_FINDINGS_TEXT}\n\nHere: {tally}.",
                    tables=[("findings", found[cols].fillna(""))], wrap=True)]


def sections(run_dir: str | Path, findings: Sequence[Any] | None = None) -> list[Section]:
    """Report sections of a two-orientation run directory (``findings``: the declared
    findings, drawn at a glance against their nulls)."""
    from wmgeom.errors import WmgeomError

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise WmgeomError(
            f"{run_dir} has no summary.json; run `wmgeom run --study two-orientation` first"
        )
    summary = json.loads(summary_path.read_text())
    default = summary["default_condition"]
    cond = pd.DataFrame(summary["conditions"]).T
    d = summary["conditions"][default]
    analysis, figdir = run_dir / "analysis", run_dir / "figures"

    def table(name: str) -> pd.DataFrame:
        path = analysis / f"{name}.csv"
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()

    def fig(name: str) -> list[tuple[Path, str]]:
        path = figdir / f"{name}.png"
        return [(path, FIGURES[name])] if path.is_file() else []

    behaviour_cols = [
        "rate_noise",
        "ordinal",
        "median_error_deg",
        "sd_error1_deg",
        "sd_error2_deg",
        "error_correlation",
        "repulsion1_deg",
        "repulsion2_deg",
        "ordinal_accuracy_reports",
        "iterations",
        "train_seconds",
    ]
    geometry_cols = [
        "principal_angle1_deg",
        "principal_angle2_deg",
        "radius_ratio",
        "circularity1",
        "circularity2",
        "linear_r2",
        "var3",
        "var4",
        "clifford",
        "betti0",
        "betti1",
        "betti2",
        "h1_lifetime2_rel",
        "h1_lifetime3_rel",
        "h2_lifetime1_rel",
        "h2_lifetime2_rel",
    ]
    dyn_cols = [
        "n_theta1_units",
        "n_theta2_units",
        "ring_contrast_theta1",
        "ring_contrast_theta2",
        "fraction_tuning_changed",
        "median_tuning_corr",
        "median_abs_shift_deg",
        "ctd_within_delay1_deg",
        "ctd_delay1_to_delay2_deg",
        "ctd_within_delay2_deg",
    ]

    def cols(c: list[str]) -> pd.DataFrame:
        return cond[[x for x in c if x in cond]].rename_axis("condition").reset_index()

    overview = (
        f"Continuous-time RNNs were trained to report two orientations shown one after the "
        f"other through one shared tuned input population ({cite('cueva2021')}). {len(cond)} "
        f"training conditions; default condition '{default}'. Median absolute report error at "
        f"the default condition: {_f(summary['median_error_deg'])}°. Total time "
        f"{_f(summary.get('seconds'), '.0f')} s. Definitions and defaults: docs/orientation.md."
        f"\n\nReference: {REFERENCES['cueva2021'].full}"
    )
    manifold_text = (
        f"{cite('cueva2021')}: the activity manifold resembles a Clifford torus, keeping the "
        "two orientations in orthogonal subspaces with equal weight.\n\n"
        f"Here ({default}): principal angles between the θ1 and θ2 coding planes "
        f"{_f(d['principal_angle1_deg'], '.0f')}° and {_f(d['principal_angle2_deg'], '.0f')}°; "
        f"radius ratio {_f(d['radius_ratio'])}; circularities {_f(d['circularity1'])} and "
        f"{_f(d['circularity2'])}; variance in 3 PCs {_f(d['var3'])}, in 4 PCs "
        f"{_f(d['var4'])}; the linear coding planes explain {_f(d['linear_r2'])} of the "
        f"variance. Verdict: {'Clifford-like' if d['clifford'] else 'not Clifford-like'} "
        f"by the thresholds of docs/orientation.md. Betti numbers "
        f"({d['betti0']}, {d['betti1']}, {d['betti2']}) (a torus has 1, 2, 1)."
    )
    conn_text = (
        f"{cite('cueva2021')}: specific connectivity patterns support the Clifford torus "
        "(ring-like structure).\n\n"
        f"Here ({default}): {d['n_theta1_units']} units code θ1 and {d['n_theta2_units']} θ2 "
        f"best; near-minus-far mean weight within the θ1 units "
        f"{_f(d['ring_contrast_theta1'], '.3f')} and within the θ2 units "
        f"{_f(d['ring_contrast_theta2'], '.3f')} (positive = local excitation / global "
        "inhibition)."
    )
    dyn_text = (
        f"{cite('cueva2021')}: besides persistent activity, units change their tuning so that "
        "the second input does not overwrite the first (a dynamic code).\n\n"
        f"Here ({default}): {_f(100 * d['fraction_tuning_changed'], '.0f')}% of the θ1-tuned "
        f"units change tuning between the end of delay 1 and the end of delay 2 (median "
        f"correlation {_f(d['median_tuning_corr'])}, median |shift| "
        f"{_f(d['median_abs_shift_deg'], '.0f')}°). θ1 decoding error: within delay 1 "
        f"{_f(d['ctd_within_delay1_deg'], '.1f')}°, trained at the end of delay 1 and tested "
        f"at the end of delay 2 {_f(d['ctd_delay1_to_delay2_deg'], '.1f')}° (chance 45°)."
    )
    rows = "; ".join(
        f"{n}: median error {_f(r['median_error_deg'], '.1f')}°, repulsion "
        f"{_f(r['repulsion1_deg'], '.1f')}/{_f(r['repulsion2_deg'], '.1f')}°, error "
        f"correlation {_f(r['error_correlation'])}"
        for n, r in summary["conditions"].items()
    )
    beh_text = (
        f"{cite('cueva2021')}: human behaviour is best matched by networks trained with neural "
        "noise and relying on the ordinal relation of the two orientations.\n\n" + rows + "."
    )
    measures = table("measures")

    def beside_nulls(names: list[str]) -> list[tuple[str, pd.DataFrame]]:
        if measures.empty:
            return []
        rows = measures[measures["measure"].isin(names)]
        cols = [c for c in ("condition", "measure", "trained", "untrained", "shuffled")
                if c in rows]
        return [("Beside the nulls (untrained network, shuffled orientations)", rows[cols])]

    tables = None
    if findings is not None:
        from wmgeom.io import read_tables

        tables = read_tables(analysis)
    return findings_sections(table("findings"), findings, tables) + [
        Section(
            "Two-orientation study: overview",
            overview,
            tables=[("Behaviour per condition", cols(behaviour_cols))],
        ),
        Section(
            "Activity manifold: Clifford vs standard torus",
            manifold_text,
            figures=fig("orientation_manifold") + fig("orientation_topology"),
            tables=[("Geometry per condition", cols(geometry_cols))] + beside_nulls(
                ["clifford_index", "principal_angle1_deg", "radius_ratio", "linear_r2",
                 "conditional_angle_deg", "orthogonal_coding", "torus_margin"]),
        ),
        Section(
            "Connectivity sorted by preferred orientation",
            conn_text,
            figures=fig("orientation_connectivity"),
            tables=[("Ring summary", table("ring_summary"))] + beside_nulls(
                ["ring_contrast_norm_theta1", "ring_contrast_norm_theta2"]),
        ),
        Section(
            "Dynamic code",
            dyn_text,
            figures=fig("orientation_dynamics"),
            tables=[("Dynamics per condition", cols(dyn_cols))] + beside_nulls(
                ["fraction_tuning_changed", "ctd_within_delay2_deg",
                 "stimulus2_locked_code_change_deg"]),
        ),
        Section(
            "Behaviour across training conditions",
            beh_text,
            figures=fig("orientation_behaviour"),
            tables=[("Bias vs θ2 − θ1", table("bias_curve"))] + beside_nulls(
                ["median_error_deg", "ordinal_accuracy_reports"]),
        ),
    ]


def write_report(run_dir: str | Path, findings: Sequence[Any] | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` of a two-orientation run from its summary, tables and
    figures (figures missing from ``figures/`` are drawn from ``analysis/`` first);
    ``findings``: the declared findings, shown at a glance against their nulls."""
    from wmgeom.io import read_json, read_tables
    from wmgeom.report.page import render_html

    run_dir = Path(run_dir)
    summary = read_json(run_dir / "summary.json", "run summary", "run the study again")
    figure_dir = run_dir / "figures"
    if summary and not all((figure_dir / f"{name}.png").is_file() for name in FIGURES):
        draw_figures(figure_dir, read_tables(run_dir / "analysis"),
                     summary["default_condition"])
    title = f"wmgeom report: two-orientation working memory ({run_dir.name})"
    return render_html(title, sections(run_dir, findings), run_dir / "report.html")
