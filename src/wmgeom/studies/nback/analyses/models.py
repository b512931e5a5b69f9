"""The trained models: accuracy on every task and against size (Lei et al. 2024, Fig. A1b, A1c).

The ``models`` table is not computed from recordings: the driver builds it from each run's
training summary (:func:`wmgeom.studies.nback.driver.model_table`), one row per run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from wmgeom.models.cores import GATED_RNN, VANILLA_RNN
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, format_spread, one_unit
from wmgeom.studies.nback.analysis import Analysis, Figure, per_model, percent


def _has_per_task_accuracy(t: pd.DataFrame) -> str | None:
    return None if "acc_train_min_task" in t else "no training summary with per-task accuracies"


def _accuracy(g: pd.DataFrame) -> dict[str, float]:
    def lowest(column: str) -> float:  # NaN when a seed lacks it
        return float(np.min(g[column].to_numpy(float)))

    return {
        "worst task, train (lowest seed)": lowest("acc_train_min_task"),
        "worst task, novel angles (lowest seed)": lowest("acc_val_angle_min_task"),
        "novel identities − novel angles": np.nanmean(g["acc_val_identity"].to_numpy(float))
        - np.nanmean(g["acc_val_angle"].to_numpy(float)),
        "all tasks, train (lowest seed)": lowest("acc_train"),
        "all tasks, novel angles (lowest seed)": lowest("acc_val_angle"),
        # the same quantity of the untrained networks (NaN for runs that did not record it)
        "null worst task, novel angles (lowest seed)":
        lowest("acc_untrained_val_angle_min_task") if "acc_untrained_val_angle_min_task" in g
        else np.nan,
    }


def _describe_accuracy(model: str, g: pd.DataFrame, _m) -> str:
    return (f"{model}: worst task train {format_spread(g['acc_train_min_task'], 'seeds')}, "
            f"novel angle {format_spread(g['acc_val_angle_min_task'], 'seeds')}; novel "
            f"identity {format_spread(g['acc_val_identity'], 'seeds')} (all tasks)")


ACCURACY = Finding(
    "accuracy", "Every model learns every task; novel identities are harder",
    "all models >95% on train and >90% on novel angles; novel identities substantially "
    "weaker", "A1b", "models", _accuracy, _describe_accuracy,
    reproduced=(Threshold("worst task, train (lowest seed)", ">", 0.95),
                Threshold("worst task, novel angles (lowest seed)", ">", 0.90),
                Threshold("novel identities − novel angles", "<", 0.0)),
    partly=(Threshold("all tasks, train (lowest seed)", ">", 0.95),
            Threshold("all tasks, novel angles (lowest seed)", ">", 0.90)),
    definitions="executive-step accuracies on fresh trials after training (not the "
                "evaluation sets that decided when training stopped)",
    missing="no training summary with per-task accuracies", check=_has_per_task_accuracy,
    null="the untrained network on the same fresh trials",
    compare="worst task, novel angles (lowest seed)", margin=0.2)


def _size_series(t: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per architecture, its MTMF runs (all runs when it has none) when they span several
    parameter counts."""
    out = {}
    for arch, g in t.groupby("architecture", sort=False):
        mtmf = g["regime"].str.upper() == "MTMF"
        g = g[mtmf] if mtmf.any() else g
        if g["parameters"].nunique() >= 2:
            out[str(arch).lower()] = g
    return out


def _family(arch: str) -> str | None:
    return ARCHITECTURES[arch].family if arch in ARCHITECTURES else None


def _matched_means(series: dict[str, pd.DataFrame]) -> tuple[float, float]:
    """Vanilla and gated RNNs' novel-angle accuracy over the parameter range both cover (NaN
    when the grid has no vanilla or no gated RNN series, or they do not overlap; other
    cores are not in the comparison)."""
    vanilla = [g for a, g in series.items() if _family(a) == VANILLA_RNN]
    gated = [g for a, g in series.items() if _family(a) == GATED_RNN]
    if not vanilla or not gated:
        return np.nan, np.nan
    v, q = pd.concat(vanilla), pd.concat(gated)
    lo = max(v["parameters"].min(), q["parameters"].min())
    hi = min(v["parameters"].max(), q["parameters"].max())
    r = v[v["parameters"].between(lo, hi)]["acc_val_angle"]
    s = q[q["parameters"].between(lo, hi)]["acc_val_angle"]
    return (float(r.mean()), float(s.mean())) if len(r) and len(s) else (np.nan, np.nan)


_UNTRAINED_ACCURACY = "acc_untrained_val_angle_min_task"


def _lowest_rho(series: dict[str, pd.DataFrame], column: str) -> float:
    """The lowest Spearman ρ(parameters, ``column``) over the architectures (NaN if any is
    undefined or the column is missing)."""
    if any(column not in g for g in series.values()):
        return np.nan
    return float(np.min([stats.spearmanr(g["parameters"], g[column]).statistic
                         for g in series.values()]))


def _scaling(t: pd.DataFrame) -> dict[str, float] | None:
    series = _size_series(t)
    if not series:
        return None
    rho = np.array([stats.spearmanr(g["parameters"], g["acc_val_angle"]).statistic
                    for g in series.values()], float)
    return {"lowest ρ over architectures": float(np.min(rho)),  # NaN if any is undefined
            "null lowest ρ over architectures": _lowest_rho(series, _UNTRAINED_ACCURACY),
            "highest ρ over architectures": float(np.nanmax(rho)) if np.isfinite(rho).any()
            else np.nan,
            "vanilla − gated accuracy at matched parameter counts":
            float(np.subtract(*_matched_means(series)))}


def _describe_scaling(_label: str, t: pd.DataFrame, m) -> str:
    series = _size_series(t)
    parts = [f"{arch.upper()}: Spearman ρ(parameters, novel-angle accuracy) = "
             f"{stats.spearmanr(g['parameters'], g['acc_val_angle']).statistic:.2f} over "
             f"{len(g)} models" for arch, g in series.items()]
    r, q = _matched_means(series)
    if np.isfinite(r - q):
        parts.append(f"at matched parameter counts vanilla {100 * r:.1f}% vs gated "
                     f"{100 * q:.1f}%")
    return "; ".join(parts)


SIZE_SCALING = Finding(
    "size_scaling", "Accuracy grows with size; vanilla RNNs trail gated ones",
    "performance increases with parameters; at equal parameter counts vanilla RNNs are less "
    "accurate", "A1c", "models", _scaling, _describe_scaling,
    reproduced=(Threshold("lowest ρ over architectures", ">", 0.0),
                Threshold("vanilla − gated accuracy at matched parameter counts", "<", 0.0,
                          when_measured=True)),
    partly=(Threshold("highest ρ over architectures", ">=", 0.0),),
    units=one_unit, unit_name="",
    definitions="ρ = Spearman correlation of parameters and novel-angle accuracy over each "
                "architecture's MTMF models of several sizes",
    missing="no training summaries",
    unmeasured="needs several hidden sizes per architecture (wmgeom run --grid --sizes ...)",
    check=lambda t: None if "parameters" in t else "no training summaries",
    null="the same correlation for the untrained networks (their worst-task novel-angle "
         "accuracy on the same fresh trials): size alone, without learning",
    compare="lowest ρ over architectures", margin=0.5, answers="scale")


def _read_models(tables) -> str:
    def one(g):
        return (f"{int(g['parameters'].mean()):,} parameters, novel-angle accuracy "
                f"{percent(g['acc_val_angle'].mean())}, novel identity "
                f"{percent(g.get('acc_val_identity', pd.Series(dtype=float)).mean())}")

    return per_model(tables["models"], one)


ANALYSIS = Analysis(
    "models", "Lei et al. 2024, Fig. A1b, A1c",
    "the training summary of every run: size, iterations, accuracy per split and worst task",
    requires="a training summary (summary.json) per run",
    figures=(Figure("figA1c_accuracy_vs_parameters", "Accuracy against model size (Fig. A1c)",
                    lambda T, p: F.plot_accuracy_vs_parameters(T["models"], p), _read_models,
                    "performance increases with the number of parameters; at equal "
                    "parameter counts vanilla RNNs are less accurate than gated ones",
                    applies=lambda T: T["models"]["parameters"].nunique() > 1),),
    findings=(ACCURACY, SIZE_SCALING))
