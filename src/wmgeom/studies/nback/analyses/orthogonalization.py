"""Orthogonalization of the perceptual (CNN) and encoding (RNN) spaces (Lei et al. 2024, Fig. 3b,
and with PCA-equalized dimensionality, Fig. A3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis import orthogonalization_comparison
from wmgeom.analysis.data import label_features
from wmgeom.report import figures as F
from wmgeom.studies.findings import Finding, Threshold, one_unit
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
    per_model,
)


def _compute(rec: Recording, ctx: Context, equalize: bool) -> pd.DataFrame:
    """:func:`~wmgeom.analysis.orthogonalization_comparison` at the first frame, plus
    ``value`` (the normalized index, as the figure reads it)."""
    ds = analysis_dataset(rec, ctx.protocol)
    if "perceptual" not in ds:
        raise SkipAnalysis("the recording has no perceptual (CNN) features to compare with")
    labels = {f: ds[f].values[:, 0] for f in label_features(ds)
              if len(np.unique(ds[f].values[:, 0])) >= 3}
    if not labels:
        raise SkipAnalysis("no feature has three or more values; the orthogonalisation "
                           "index needs at least three one-vs-rest decoders")
    protocol = ctx.protocol
    if protocol.n_bootstraps < 2:
        raise SkipAnalysis("the t-test needs at least 2 bootstraps (protocol.n_bootstraps)")
    P, E = ds["perceptual"].values[:, 0], ds[protocol.space].values[:, 0]
    k = None
    if equalize:
        smaller = min(P.shape[1], E.shape[1])
        k = protocol.equalized_components or max(1, smaller // 2)
        if k >= smaller:
            raise SkipAnalysis(f"equalized_components={k} is not below both spaces' "
                               f"dimensionality ({P.shape[1]} and {E.shape[1]})")
    table = orthogonalization_comparison(
        P, E, labels, n_bootstrap=protocol.n_bootstraps, n_components=k, Cs=protocol.Cs,
        inner_cv=protocol.inner_splits, seed=protocol.seed, device=protocol.device,
        standardize=protocol.standardize)
    return table.assign(value=table["normalized_index"])


def orthogonalization_stats(table: pd.DataFrame) -> pd.DataFrame:
    """Perceptual − encoding normalized index per model, tested over its runs (Fig. 3b).

    The runs (random seeds) of a model are the samples: each run's index is first averaged
    over its bootstraps and features (they describe spread inside one model; refitted
    bootstraps are not independent, so a test over them gains significance with every
    bootstrap added). The per-feature bootstrap tests stay in the orthogonalization table
    (``t_statistic``, ``p_value``) as descriptions.

    Args:
        table: An orthogonalization table with ``space``, ``value`` and optional ``model``
            and ``run``.

    Returns:
        Rows ``model``, ``mean_perceptual``, ``mean_encoding``, ``difference`` (mean over
        runs of perceptual − encoding), ``ci_low``, ``ci_high`` (its 95% t interval over
        runs), ``t`` and ``p`` (one-sample t-test of the runs' differences; NaN with fewer
        than two runs), ``n`` (runs) and ``unit`` (``runs``).
    """
    from scipy import stats

    rows = []
    groups = table.groupby("model", sort=False) if "model" in table else [("", table)]
    for model, g in groups:
        runs = g.groupby("run", sort=False) if "run" in g else [("", g)]
        per_run = np.array([[r.loc[r["space"] == "perceptual", "value"].mean(),
                             r.loc[r["space"] == "encoding", "value"].mean()]
                            for _, r in runs], float)
        diff = per_run[:, 0] - per_run[:, 1]
        n = int(np.isfinite(diff).sum())
        diff = diff[np.isfinite(diff)]
        mean = float(diff.mean()) if n else np.nan
        t = p = low = high = np.nan
        if n >= 2:
            sem = float(diff.std(ddof=1) / np.sqrt(n))
            half = float(stats.t.ppf(0.975, n - 1)) * sem
            low, high = mean - half, mean + half
            if sem > 0:
                test = stats.ttest_1samp(diff, 0.0)
                t, p = float(test.statistic), float(test.pvalue)
        rows.append({"model": model, "mean_perceptual": float(np.nanmean(per_run[:, 0])),
                     "mean_encoding": float(np.nanmean(per_run[:, 1])), "difference": mean,
                     "ci_low": low, "ci_high": high, "t": t, "p": p, "n": n,
                     "unit": "runs"})
    return pd.DataFrame(rows)


def _cells(t: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """Per run and feature, the mean normalized index of each space over bootstraps."""
    return (t.groupby(["run", "model", "feature", "space"], sort=False)[column].mean()
            .unstack("space").reset_index())


def _per_feature(t: pd.DataFrame) -> dict[str, float] | None:
    c = _cells(t)
    if not {"perceptual", "encoding"} <= set(c.columns):
        return None
    less = (c["encoding"] < c["perceptual"]).to_numpy()
    out = {"share of model × feature cells with encoding below perceptual":
           float(np.mean(less)),
           "mean perceptual − encoding index": float((c["perceptual"] - c["encoding"]).mean())}
    if "normalized_index_frobenius" in t:
        f = _cells(t, "normalized_index_frobenius")
        out["share below, Frobenius reading"] = float(np.mean(f["encoding"] < f["perceptual"]))
    return out


def _describe(_label: str, t: pd.DataFrame, m) -> str:
    c = _cells(t)
    if not {"perceptual", "encoding"} <= set(c.columns):
        return ""
    parts = []
    for model, g in c.groupby("model", sort=False):
        features = ", ".join(f"{r['feature']} {r['encoding']:.3f}" for _, r in
                             g.groupby("feature", sort=False)["encoding"].mean()
                             .reset_index().iterrows())
        parts.append(f"{model}: O(encoding)/O(perceptual) {features} "
                     f"({g['run'].nunique()} runs)")
    if m is not None and "share below, Frobenius reading" in m:
        parts.append(f"encoding below perceptual in "
                     f"{100 * m['share of model × feature cells with encoding below perceptual']:.0f}"
                     f"% of model × feature cells by eq. 1, "
                     f"{100 * m['share below, Frobenius reading']:.0f}% by the Frobenius reading")
    return "; ".join(parts)


def _finding(name: str, claim: str, paper: str, figure: str, definitions: str) -> Finding:
    return Finding(
        name, claim, paper, figure, name, _per_feature, _describe,
        reproduced=(Threshold("share of model × feature cells with encoding below perceptual",
                              ">=", 2 / 3),),
        partly=(Threshold("share of model × feature cells with encoding below perceptual",
                          ">", 0.0),),
        units=one_unit, unit_name="", definitions=definitions,
        missing=f"{name} table missing (needs perceptual features)",
        null="the untrained network's encoding space on the same trials",
        compare="mean perceptual − encoding index", margin=0.02,
        null_table=f"{name}_null")


def _read(t: pd.DataFrame, stats: pd.DataFrame | None) -> str:
    p_values, counts = {}, {}
    if stats is not None and not stats.empty:
        models = stats.get("model", pd.Series([""] * len(stats))).astype(str)
        p_values = dict(zip(models, stats["p"], strict=True))
        if "n" in stats:
            counts = dict(zip(models, stats["n"], strict=True))

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
        if model in counts:
            verdict += f"; over {counts[model]} run{'' if counts[model] == 1 else 's'}"
        return f"normalised O(perceptual) {perc:.3f} vs O(encoding) {enc:.3f} ({verdict})"

    return per_model(t, one)


def _figure(name: str, stem: str, title: str, paper: str, plot_title: str | None = None
            ) -> Figure:
    return Figure(stem, title,
                  lambda T, path: F.plot_orthogonalization(T[name], path,
                                                           stats=T.get(f"{name}_stats"),
                                                           title=plot_title),
                  lambda T: _read(T[name], T.get(f"{name}_stats")), paper)


ANALYSIS = Analysis(
    "orthogonalization", "Lei et al. 2024, Fig. 3b",
    "one-vs-rest normals at the first frame in the perceptual (CNN) and encoding (RNN) "
    "spaces, bootstrapped; O normalised by the perceptual mean per feature",
    requires="perceptual features and a feature with three or more values",
    compute=lambda rec, ctx: _compute(rec, ctx, equalize=False),
    figures=(_figure("orthogonalization", "fig3b_orthogonalization",
                     "Orthogonalisation index (Fig. 3b)",
                     "the RNN encoding space is slightly less orthogonalised than the "
                     "perceptual space in most models"),),
    findings=(_finding("orthogonalization", "RNN encoding is less orthogonalised than "
                       "perception", "in most models the encoding space is less "
                       "orthogonalised than the perceptual space (two-sample t-test)", "3b",
                       "normalised index (perceptual = 1) per model and feature, averaged "
                       "over bootstraps (they describe spread inside a model; models and "
                       "features are the units); eq. 1's reading judges, the text's "
                       "Frobenius reading is reported beside"),),
    stats=orthogonalization_stats, untrained_null=True,
    null="the untrained network's encoding space on the same trials")

ANALYSIS_PCA = Analysis(
    "orthogonalization_pca", "Lei et al. 2024, Fig. A3",
    "as orthogonalization, after PCA reduces both spaces to the same dimensionality, below "
    "both (half the smaller space's unless the protocol says otherwise)",
    requires="perceptual features and a feature with three or more values",
    compute=lambda rec, ctx: _compute(rec, ctx, equalize=True),
    figures=(_figure("orthogonalization_pca", "figA3_orthogonalization_pca",
                     "Orthogonalisation, PCA-equalised (Fig. A3)",
                     "same de-orthogonalisation when PCA equalises the dimensionality",
                     "Orthogonalisation with PCA-equalised dimensionality (Lei et al. 2024, "
                     "Fig. A3)"),),
    findings=(_finding("orthogonalization_pca", "The same with PCA-equalised dimensionality",
                       "similar results when PCA equalises the dimensionality of the two "
                       "spaces", "A3", "as orthogonalization, on the PCA-equalised spaces"),),
    stats=orthogonalization_stats, untrained_null=True,
    null="the untrained network's encoding space on the same trials")
