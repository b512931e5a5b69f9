"""Are the grid's architectures as different in their dynamics as in their geometry?
(Kriegeskorte et al. 2008; Williams et al. 2021; Ostrow et al. 2023; beyond Lei et al. 2024.)

Lei et al. 2024 compare vanilla RNNs, GRUs and LSTMs by their decoders. Here every pair of
recordings is compared directly, over matched conditions — each task with each value of
its relevant feature in the first stimulus, followed through every frame — by their
geometry (representational similarity of cross-validated distances; Procrustes and CCA
shape distances) and by their dynamics (DSA). Each trained network is also compared with
itself before training.

Each recording contributes a summary (``compute``): the mean state of each condition in
four disjoint partitions of its trials, at every frame, in the top principal components of
the condition means. The pairs are compared across recordings in the ``stats`` step of the
declaration (``model_comparison_stats``), which sees every recording's summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis.compare import (
    cca_distance,
    dynamical_similarity,
    matched_conditions,
    procrustes_distance,
    representational_similarity,
)
from wmgeom.errors import WmgeomError
from wmgeom.pca import pca
from wmgeom.report import figures as F
from wmgeom.studies.nback.analysis import (
    Analysis,
    Context,
    Figure,
    Recording,
    SkipAnalysis,
    analysis_dataset,
)

N_COMPONENTS = 20
"""Principal components of the condition means kept per recording."""
N_PARTS = 4
"""Disjoint partitions of each condition's trials (cross-validated distances, noise
ceiling)."""
N_SHUFFLES = 50
"""Shuffles of the conditions for the Procrustes null."""
CCA_COMPONENTS = 10
"""Principal components each side keeps for the CCA distance (SVCCA-style: canonical
correlations of all components would fit noise)."""
DSA_RANK = 10
"""Rank of the operators DSA fits."""
DSA_ITERS = 500
"""Optimisation steps of DSA's similarity transform."""
PAIR_COLUMNS = ["kind", "model_a", "model_b", "run_a", "run_b", "n_conditions", "n_frames",
                "procrustes", "procrustes_null", "procrustes_stimulus_null", "cca", "rsa", "rsa_null", "rsa_p",
                "noise_ceiling_lower", "noise_ceiling_upper", "dsa", "reason"]


def _summary(rec: Recording, ctx: Context, network: str) -> pd.DataFrame:
    ds = analysis_dataset(rec, ctx.protocol)
    if "task" not in ds or "feature" not in ds:
        raise SkipAnalysis("the recording lacks task or feature labels")
    tasks = ds["task"].values.astype(str)
    features = ds["feature"].values.astype(str)
    values = np.array([ds[f].values[k, 0] if f in ds else np.nan
                       for k, f in enumerate(features)])
    conditions = np.array([f"{t}|{v}" for t, v in zip(tasks, values, strict=True)])
    labels, counts = np.unique(conditions, return_counts=True)
    labels = labels[counts >= N_PARTS]
    if len(labels) < 3:
        raise SkipAnalysis(f"fewer than 3 conditions (task × first-stimulus value) hold "
                           f"{N_PARTS} trials; record more trials")
    X = ds[ctx.protocol.space].values  # [trials, frames, units]
    rng = np.random.default_rng(ctx.protocol.seed)
    means = np.zeros((len(labels), N_PARTS) + X.shape[1:])
    n_trials = np.zeros(len(labels), int)
    for c, label in enumerate(labels):
        ix = rng.permutation(np.flatnonzero(conditions == label))
        n_trials[c] = len(ix)
        for part in range(N_PARTS):
            means[c, part] = X[ix[part::N_PARTS]].mean(0)
    grand = means.mean(1).reshape(-1, X.shape[-1])  # [conditions × frames, units]
    k = min(N_COMPONENTS, len(grand) - 1, X.shape[-1])
    fit = pca(grand, k)
    scores = fit.transform(means)  # [conditions, parts, frames, k]
    # each component's sign fixed by its largest condition-mean score: the same states seen
    # through a rotation get the same coordinates (DSA aligns by rotations, not reflections)
    flat = scores.mean(1).reshape(-1, k)
    scores = scores * np.sign(flat[np.abs(flat).argmax(0), np.arange(k)])
    C, P, T = scores.shape[:3]
    c, p, t = np.meshgrid(np.arange(C), np.arange(P), np.arange(T), indexing="ij")
    table = pd.DataFrame({"network": network, "condition": labels[c.ravel()],
                          "task": [s.split("|")[0] for s in labels[c.ravel()]],
                          "value": [s.split("|")[1] for s in labels[c.ravel()]],
                          "part": p.ravel(), "frame": t.ravel(),
                          "n_trials": n_trials[c.ravel()]})
    pcs = pd.DataFrame(scores.reshape(-1, k), columns=[f"pc{i}" for i in range(k)])
    return pd.concat([table, pcs], axis=1).assign(variance_kept=fit.kept)


def compute(rec: Recording, ctx: Context) -> pd.DataFrame:
    """Condition-mean trajectories of the trained network (and of its untrained null).

    Conditions are each task with each value of its relevant feature in the first
    stimulus; their trials are dealt into :data:`N_PARTS` partitions and each partition's
    mean state is kept at every frame, in the top :data:`N_COMPONENTS` principal components
    of the condition means (rotation-invariant measures lose nothing the components keep).

    Returns:
        Rows ``network`` (``trained``, ``untrained``), ``condition`` (``task|value``),
        ``task``, ``value``, ``part``, ``frame``, ``n_trials``, ``pc0``…, ``variance_kept``.
    """
    parts = [_summary(rec, ctx, "trained")]
    if rec.null is not None:
        parts.append(_summary(rec.null, ctx, "untrained"))
    return pd.concat(parts, ignore_index=True)


def _arrays(g: pd.DataFrame, conditions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(partition means [C·P·T, k], their labels 'condition|frame')`` and the condition
    means' trajectories ``[C, T, k]`` of the shared conditions."""
    g = g[g["condition"].isin(conditions)].sort_values(["condition", "part", "frame"])
    pcs = [c for c in g.columns if c.startswith("pc") and g[c].notna().any()]
    X = g[pcs].to_numpy(float)
    labels = (g["condition"] + "|" + g["frame"].astype(str)).to_numpy()
    C, P, T = len(conditions), g["part"].nunique(), g["frame"].nunique()
    trajectories = X.reshape(C, P, T, len(pcs)).mean(1)
    return (X, labels), trajectories


def _optional(fn, *args, **kwargs):
    """``fn(...)``, or None when its optional package is not installed."""
    try:
        return fn(*args, **kwargs)
    except WmgeomError as why:
        if "optional package" in str(why):
            return None
        raise


def compare_pair(a: pd.DataFrame, b: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """Geometry and dynamics of two recordings' summaries over their shared conditions.

    Returns:
        ``n_conditions``; ``rsa`` (correlation of crossnobis RDMs over condition × frame,
        averaged over B's partitions), ``rsa_null`` (shuffled conditions), ``rsa_p``,
        ``noise_ceiling_lower``/``_upper`` (B's); ``procrustes`` and ``cca`` (angular
        distances between the condition-mean trajectories, condition × frame rows; CCA on
        the top :data:`CCA_COMPONENTS` components),
        ``procrustes_null`` (B's condition × frame rows shuffled, as RSA's null),
        ``procrustes_stimulus_null`` (B's conditions shuffled, frames kept: what the shared
        time course alone explains); ``dsa`` (angular DSA distance between the
        trajectories). RSA and DSA are NaN without rsatoolbox and
        dsa-metric.
    """
    shared = matched_conditions(a["condition"].unique(), b["condition"].unique())
    frames = sorted(set(a["frame"]) & set(b["frame"]))
    a, b = a[a["frame"].isin(frames)], b[b["frame"].isin(frames)]
    (Xa, la), ta = _arrays(a, shared)
    (Xb, lb), tb = _arrays(b, shared)
    rng = np.random.default_rng(seed)
    flat_a, flat_b = ta.reshape(-1, ta.shape[-1]), tb.reshape(-1, tb.shape[-1])
    shuffled = [procrustes_distance(flat_a, flat_b[rng.permutation(len(flat_b))])
                for _ in range(N_SHUFFLES)]
    within = [procrustes_distance(flat_a, tb[rng.permutation(len(shared))].reshape(
        flat_b.shape)) for _ in range(N_SHUFFLES)]
    out = {"n_conditions": len(shared), "n_frames": len(frames),
           "procrustes": procrustes_distance(flat_a, flat_b),
           "procrustes_null": float(np.mean(shuffled)),
           "procrustes_stimulus_null": float(np.mean(within)),
           "cca": cca_distance(flat_a, flat_b,
                               n_components=min(CCA_COMPONENTS, (len(flat_a) - 1) // 2))}
    rsa = _optional(representational_similarity, Xa, la, Xb, lb, n_splits=2, cv_folds=2,
                    n_permutations=100, seed=seed)
    out.update({"rsa": rsa["similarity"], "rsa_null": rsa["null_mean"],
                "rsa_p": rsa["p_value"], "noise_ceiling_lower": rsa["noise_ceiling_lower"],
                "noise_ceiling_upper": rsa["noise_ceiling_upper"]} if rsa is not None else
               dict.fromkeys(("rsa", "rsa_null", "rsa_p", "noise_ceiling_lower",
                              "noise_ceiling_upper"), np.nan))
    rank = min(DSA_RANK, ta.shape[-1], tb.shape[-1])
    dsa = _optional(dynamical_similarity, ta, tb, rank=rank, iters=DSA_ITERS, seed=seed)
    out["dsa"] = np.nan if dsa is None else dsa
    return out


def pairs_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every pair of trained recordings of the same training regime, and each trained
    network with its untrained self, compared by :func:`compare_pair` (the
    ``model_comparison_stats`` table).

    Pairs across regimes are left out: their networks learned different tasks, so their
    distance would mix the regime with the architecture that ``kind`` compares (and a
    27-model grid would compare 351 pairs instead of 108).

    Returns:
        Rows ``kind`` (``different architectures``, ``same architecture``, ``trained vs
        untrained``), ``model_a``, ``model_b``, ``run_a``, ``run_b``, and the measures of
        :func:`compare_pair`.
    """
    entries = list(table.groupby(["run", "network"], sort=False))
    trained = [(k, g) for k, g in entries if k[1] == "trained"]
    untrained = {k[0]: g for k, g in entries if k[1] == "untrained"}
    def regime(g: pd.DataFrame) -> str:
        return str(g["regime"].iloc[0]) if "regime" in g else ""

    jobs = [(a, b) for i, a in enumerate(trained) for b in trained[i + 1:]
            if regime(a[1]) == regime(b[1])]
    jobs += [(a, ((a[0][0], "untrained"), untrained[a[0][0]])) for a in trained
             if a[0][0] in untrained]
    rows = []
    for ((run_a, _), ga), ((run_b, net_b), gb) in jobs:
        arch_a, arch_b = ga["architecture"].iloc[0], gb["architecture"].iloc[0]
        kind = "trained vs untrained" if net_b == "untrained" else \
            "same architecture" if arch_a == arch_b else "different architectures"
        try:
            measures = compare_pair(ga, gb)
        except WmgeomError as why:  # too few shared conditions
            measures = {"reason": str(why)}
        rows.append({"kind": kind, "model_a": ga["model"].iloc[0],
                     "model_b": gb["model"].iloc[0] + (" untrained" if net_b == "untrained"
                                                       else ""),
                     "run_a": run_a, "run_b": run_b, **measures})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def _pairs(tables) -> pd.DataFrame:
    t = tables["model_comparison_stats"]
    return t[t["procrustes"].notna()] if "procrustes" in t else t.iloc[:0]


def _read(tables) -> str:
    t = _pairs(tables)
    parts = []
    for kind, g in t.groupby("kind", sort=False):
        text = (f"{kind} ({len(g)} pairs): Procrustes {g['procrustes'].mean():.2f} rad "
                f"(shuffled conditions {g['procrustes_null'].mean():.2f}; conditions "
                f"shuffled within frames {g['procrustes_stimulus_null'].mean():.2f}), CCA "
                f"{g['cca'].mean():.2f}")
        if g["rsa"].notna().any():
            text += (f", RSA r = {g['rsa'].mean():.2f} (shuffled {g['rsa_null'].mean():.2f}; "
                     f"noise ceiling {g['noise_ceiling_lower'].mean():.2f}–"
                     f"{g['noise_ceiling_upper'].mean():.2f})")
        if g["dsa"].notna().any():
            text += f", DSA {g['dsa'].mean():.2f}"
        parts.append(text)
    if t["dsa"].notna().any() and t["procrustes"].notna().sum() >= 3:
        rho = t[["procrustes", "dsa"]].corr(method="spearman").iloc[0, 1]
        parts.append(f"geometry and dynamics distances agree with Spearman ρ = {rho:.2f} over "
                     f"{len(t)} pairs")
    elif t["dsa"].isna().all():
        parts.append('RSA and DSA need the optional packages: pip install "wmgeom[neuro]"')
    return "; ".join(parts)


ANALYSIS = Analysis(
    "model_comparison", "Ostrow et al. 2023; Williams et al. 2021; Kriegeskorte et al. 2008",
    "every pair of recordings of the same training regime (and each trained network with "
    "its untrained self) compared "
    "over matched conditions — each task with each value of its relevant feature in the "
    "first stimulus, through every frame — by geometry (RSA of cross-validated distances "
    "with a noise ceiling; angular Procrustes and CCA shape distances) and by dynamics "
    "(DSA of the condition-mean trajectories)",
    requires="two or more recordings, or a recording with its untrained network",
    compute=compute, stats=pairs_table,
    null="the same comparison with the conditions shuffled (RSA, Procrustes; Procrustes "
         "also with the conditions shuffled within each frame); each trained network with "
         "its untrained self",
    figures=(Figure("model_comparison", "Geometry and dynamics across models "
                    "(Ostrow et al. 2023)",
                    lambda T, p: F.plot_model_comparison(_pairs(T), p), _read,
                    "networks with the same geometry can differ in their dynamics, and "
                    "networks with different geometry can share them",
                    tables=("model_comparison_stats",),
                    applies=lambda T: not _pairs(T).empty, source="Ostrow et al. 2023"),))
