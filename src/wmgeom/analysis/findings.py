"""Seed 000's findings, each measured from the analysis tables and judged by a written rule (U7).

:func:`findings` turns the tables of :func:`~wmgeom.analysis.suite.run_analyses` (and,
for the accuracy finding, the runs' training summaries) into one row per finding of the
seed: what the paper reports, what was measured here (with its spread over tasks, models
or seeds), and a verdict — ``reproduced``, ``partly``, ``not reproduced`` or ``not
tested`` — computed by the rule printed beside it. No verdict is typed by hand; the rules
are listed in ``docs/findings.md``.

Conventions. Accuracies are compared with chance through the normalised score
``(accuracy - chance) / (1 - chance)`` (0 at chance, 1 perfect). ``accuracy`` is the
multi-class decoding accuracy (argmax over the one-vs-rest decision values, chance 1/k);
``decoder accuracy`` is the mean accuracy of the one-vs-rest decoders, the measure of the
seed's SVC scores (its Fig. A5 averages them over feature values; a decoder that always
answers "rest" scores 1 - 1/k on it). Per model (``architecture`` × ``regime``) a number
is first computed per run and then averaged over runs (seeds); ``±`` is the standard
deviation over the unit named beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FINDINGS", "Finding", "findings"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not tested")
MULTI_FEATURE = ("STMF", "MTMF")


def normalised(accuracy: pd.Series | np.ndarray | float, chance: pd.Series | np.ndarray | float):
    """``(accuracy - chance) / (1 - chance)``: 0 at chance, 1 for perfect decoding."""
    return (np.asarray(accuracy, float) - np.asarray(chance, float)) / (
        1.0 - np.asarray(chance, float))


def _fmt(values: Sequence[float] | np.ndarray, unit: str, pct: bool = True) -> str:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return "n/a"
    scale, suffix = (100.0, "%") if pct else (1.0, "")
    mean = f"{scale * v.mean():.1f}{suffix}" if pct else f"{v.mean():.3g}"
    if len(v) == 1:
        return mean
    sd = f"{scale * v.std(ddof=1):.1f}" if pct else f"{v.std(ddof=1):.2g}"
    return f"{mean} ± {sd} ({len(v)} {unit})"


def _by_model(table: pd.DataFrame) -> list[tuple[str, str, str, pd.DataFrame]]:
    """``(model, architecture, regime, rows)`` per model label, in table order."""
    if table is None or table.empty:
        return []
    out = []
    for model, g in table.groupby("model", sort=False):
        out.append((str(model), str(g["architecture"].iloc[0]).lower(),
                    str(g["regime"].iloc[0]).upper(), g))
    return out


def _per_run(g: pd.DataFrame, fn: Callable[[pd.DataFrame], float]) -> np.ndarray:
    """``fn`` of each run's rows (``run`` column; one value per seed)."""
    if "run" not in g:
        return np.array([fn(g)])
    return np.array([fn(r) for _, r in g.groupby("run", sort=False)])


@dataclass(frozen=True)
class Outcome:
    measured: str
    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class Finding:
    """One finding of seed 000.

    Attributes:
        id: Short name.
        finding: The finding in one sentence.
        seed: What the paper reports (its numbers where it gives them).
        figure: The seed's figure.
        rule: How the verdict is computed from the tables.
        judge: ``judge(tables) -> Outcome``.
    """

    id: str
    finding: str
    seed: str
    figure: str
    rule: str
    judge: Callable[[Mapping[str, pd.DataFrame]], Outcome]


def _not_tested(why: str) -> Outcome:
    return Outcome("", "not tested", why)


def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    t = tables.get(name)
    return None if t is None or t.empty else t


def _grade(passes: Sequence[bool], partials: Sequence[bool]) -> str:
    if passes and all(passes):
        return "reproduced"
    if partials and any(partials):
        return "partly"
    return "not reproduced"


# --------------------------------------------------------------------------- judges


def _accuracy(tables):
    t = _table(tables, "models")
    if t is None or "acc_train_min_task" not in t:
        return _not_tested("no training summary with per-task accuracies")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        tr, va = g["acc_train_min_task"].to_numpy(float), g["acc_val_angle_min_task"].to_numpy(float)
        vi, vam = g["acc_val_identity"].to_numpy(float), g["acc_val_angle"].to_numpy(float)
        ok = bool(np.all(tr > 0.95) and np.all(va > 0.90))
        weaker = bool(np.nanmean(vi) < np.nanmean(vam))
        passes.append(ok and weaker)
        partials.append(bool(np.all(g["acc_train"] > 0.95) and np.all(g["acc_val_angle"] > 0.90)))
        parts.append(f"{model}: worst task train {_fmt(tr, 'seeds')}, novel angle "
                     f"{_fmt(va, 'seeds')}; novel identity {_fmt(vi, 'seeds')} (all tasks)")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _relevant(tables):
    t = _table(tables, "relevant_irrelevant")
    if t is None:
        return _not_tested("relevant_irrelevant table missing")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        rel = g[g["relevant"].astype(bool)]
        acc = _per_run(rel, lambda r: r["accuracy"].mean())
        z = _per_run(rel, lambda r: normalised(r["accuracy"], r["chance"]).mean())
        passes.append(bool(acc.mean() >= 0.90))
        partials.append(bool(z.mean() >= 0.5))
        parts.append(f"{model}: {_fmt(rel['accuracy'], 'tasks')} "
                     f"(decoder accuracy {_fmt(rel['decoder_accuracy'], 'tasks')})")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _irrelevant(tables):
    t = _table(tables, "relevant_irrelevant")
    if t is None:
        return _not_tested("relevant_irrelevant table missing")
    models = [m for m in _by_model(t) if m[2] in MULTI_FEATURE]
    if not models:
        return _not_tested("needs a multi-feature (STMF or MTMF) model")
    parts, passes, partials = [], [], []
    for model, _, _, g in models:
        irr = g[~g["relevant"].astype(bool)]
        z = _per_run(irr, lambda r: normalised(r["accuracy"], r["chance"]).mean())
        dec = _per_run(irr, lambda r: r["decoder_accuracy"].mean())
        passes.append(bool(dec.mean() > 0.85 and z.mean() >= 0.5))
        partials.append(bool(z.mean() >= 0.25))
        parts.append(f"{model}: accuracy {_fmt(irr['accuracy'], 'task × feature cells')}, "
                     f"decoder accuracy {_fmt(irr['decoder_accuracy'], 'cells')}, "
                     f"normalised {z.mean():.2f}")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _irrelevant_stsf(tables):
    t = _table(tables, "relevant_irrelevant")
    if t is None:
        return _not_tested("relevant_irrelevant table missing")
    irr = t[~t["relevant"].astype(bool)].assign(z=lambda d: normalised(d["accuracy"],
                                                                       d["chance"]))
    parts, passes, partials = [], [], []
    for arch, g in irr.groupby("architecture", sort=False):
        single = g[g["regime"].str.upper() == "STSF"]
        multi = g[g["regime"].str.upper().isin(MULTI_FEATURE)]
        if single.empty or multi.empty:
            continue
        a = _per_run(single, lambda r: r["z"].mean())
        b = _per_run(multi, lambda r: r["z"].mean())
        passes.append(bool(b.mean() - a.mean() >= 0.1))
        partials.append(bool(b.mean() > a.mean()))
        parts.append(f"{str(arch).upper()}: STSF normalised {_fmt(a, 'runs', False)} "
                     f"(accuracy {_fmt(single['accuracy'], 'cells')}) vs STMF/MTMF "
                     f"{_fmt(b, 'runs', False)} (accuracy {_fmt(multi['accuracy'], 'cells')})")
    if not parts:
        return _not_tested("needs an STSF and a multi-feature model of the same architecture")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _generalisation_gap(g: pd.DataFrame) -> float:
    sel = g[(g["kind"] == "validation") | ~g["same_relevant"].astype(bool)]
    z = normalised(sel["accuracy"], sel["chance"])
    val = z[(sel["kind"] == "validation").to_numpy()].mean()
    gen = z[(sel["kind"] == "generalization").to_numpy()].mean()
    return float(val - gen)


def _cross_task(tables):
    t = _table(tables, "cross_task")
    if t is None:
        return _not_tested("cross_task table missing (needs models trained on several tasks)")
    t = t[t["space"] == "hidden"] if "space" in t else t
    gaps: dict[str, np.ndarray] = {}
    for _model, arch, _regime, g in _by_model(t):
        gaps.setdefault(arch, np.array([]))
        gaps[arch] = np.concatenate([gaps[arch], _per_run(g, _generalisation_gap)])
    gated = {a: v for a, v in gaps.items() if a in ("gru", "lstm")}
    measured = "; ".join(f"{a.upper()}: validation − generalisation (normalised) "
                         f"{_fmt(v, 'runs', False)}" for a, v in gaps.items())
    if "rnn" not in gaps or not gated:
        return Outcome(measured, "not tested", "needs a vanilla RNN and a gated (GRU or LSTM) "
                       "model")
    rnn = gaps["rnn"].mean()
    worst = min(v.mean() for v in gated.values())
    verdict = ("reproduced" if rnn < worst - 0.05 else
               "partly" if rnn < np.mean([v.mean() for v in gated.values()]) else
               "not reproduced")
    return Outcome(measured, verdict)


def _orthogonality(name: str):
    def judge(tables):
        t = _table(tables, name)
        if t is None:
            return _not_tested(f"{name} table missing (needs perceptual features)")
        parts, passes, partials, worse = [], [], [], []
        for _, row in t.iterrows():
            less = row["mean_encoding"] < row["mean_perceptual"]
            passes.append(bool(less and row["p"] < 0.05))
            partials.append(bool(less))
            worse.append(bool(not less and row["p"] < 0.05))
            parts.append(f"{row['model']}: O(encoding)/O(perceptual) = "
                         f"{row['mean_encoding']:.3f}, t = {row['t']:.2f}, p = {row['p']:.2g}")
        share = np.mean(passes) if passes else 0.0
        verdict = ("reproduced" if share >= 2 / 3 else
                   "partly" if any(partials) and not all(worse) else "not reproduced")
        return Outcome("; ".join(parts), verdict)

    return judge


def _no_slot(tables):
    t = _table(tables, "cross_time")
    if t is None:
        return _not_tested("cross_time table missing")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        rel = g[g["relevant"].astype(bool)]

        def drop(r):
            z = normalised(r["accuracy"], r["chance"])
            enc = z[(r["frame"] == r["stimulus"]).to_numpy()].mean()
            mem = z[(r["frame"] > r["stimulus"]).to_numpy()].mean()
            return (enc - mem) / enc if enc > 0 else np.nan

        d = _per_run(rel, drop)
        passes.append(bool(np.nanmean(d) >= 0.5))
        partials.append(bool(np.nanmean(d) >= 0.2))
        enc = rel[rel["frame"] == rel["stimulus"]]["accuracy"]
        mem = rel[rel["frame"] > rel["stimulus"]]["accuracy"]
        parts.append(f"{model}: encoding step {_fmt(enc, 'cells')}, later steps "
                     f"{_fmt(mem, 'cells')}; normalised drop {np.nanmean(d):.2f}")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _recall(tables):
    t = _table(tables, "cross_time")
    if t is None:
        return _not_tested("cross_time table missing")
    models = [m for m in _by_model(t) if m[2] in MULTI_FEATURE]
    if not models:
        return _not_tested("needs a multi-feature (STMF or MTMF) model")
    parts, passes, partials = [], [], []
    for model, _, _, g in models:
        mem = g[g["relevant"].astype(bool) & (g["frame"] > g["stimulus"])]
        rec = mem[mem["recall"].astype(bool)]["accuracy"].to_numpy(float)
        other = mem[~mem["recall"].astype(bool)]["accuracy"].to_numpy(float)
        if not len(rec) or not len(other):
            continue
        p = stats.mannwhitneyu(rec, other, alternative="greater").pvalue
        diff = rec.mean() - other.mean()
        passes.append(bool(diff >= 0.05 and p < 0.05))
        partials.append(bool(diff > 0))
        parts.append(f"{model}: recall steps {_fmt(rec, 'cells')} vs other memory steps "
                     f"{_fmt(other, 'cells')} (Mann–Whitney p = {p:.2g})")
    if not parts:
        return _not_tested("no memory step with both recall and non-recall cells")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _sharing(tables):
    t = _table(tables, "encoding_sharing")
    if t is None:
        return _not_tested("encoding_sharing table missing")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        ratios = {}
        for f, gf in g.groupby("feature", sort=False):
            z = normalised(gf["accuracy"], gf["chance"])
            val = z[(gf["kind"] == "validation").to_numpy()].mean()
            gen = z[(gf["kind"] == "generalization").to_numpy()].mean()
            ratios[f] = gen / val if val > 0 else np.nan
            parts.append(f"{model} {f}: validation "
                         f"{_fmt(gf[gf['kind'] == 'validation']['accuracy'], 'cells')} vs "
                         f"generalisation "
                         f"{_fmt(gf[gf['kind'] == 'generalization']['accuracy'], 'cells')}")
        core = [ratios[f] for f in ("location", "category") if f in ratios]
        passes.append(bool(core and min(core) >= 0.9))
        partials.append(bool(core and min(core) >= 0.7))
    return Outcome("; ".join(parts), _grade(passes, partials))


def _memory_window(t: pd.DataFrame) -> pd.DataFrame:
    keep = t["relevant"].astype(bool) if "relevant" in t else np.ones(len(t), bool)
    if "in_window" in t:
        keep = keep & t["in_window"].astype(bool)
    return t[keep]


def _procrustes(tables):
    t = _table(tables, "procrustes")
    if t is None:
        return _not_tested("procrustes table missing (needs 3+ steps and 3+ feature values)")
    t = _memory_window(t)
    if t.empty:
        return _not_tested("no relevant-feature step inside a memory window")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        gap = _per_run(g, lambda r: (r["accuracy_fitted"] - r["accuracy_reconstructed"]).mean())
        zf = normalised(g["accuracy_fitted"], g["chance"]).mean()
        zr = normalised(g["accuracy_reconstructed"], g["chance"]).mean()
        passes.append(bool(gap.mean() <= 0.05))
        partials.append(bool(zr >= 0.5 * zf))
        by_feature = ", ".join(
            f"{f} {100 * gf['accuracy_fitted'].mean():.1f}% → "
            f"{100 * gf['accuracy_reconstructed'].mean():.1f}%"
            for f, gf in g.groupby("feature", sort=False))
        parts.append(f"{model}: fitted {_fmt(g['accuracy_fitted'], 'cells')} vs reconstructed "
                     f"{_fmt(g['accuracy_reconstructed'], 'cells')} ({by_feature})")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _swaps(tables):
    t = _table(tables, "swap_tests")
    if t is None:
        return _not_tested("swap_tests table missing (needs 3+ steps)")
    t = _memory_window(t)
    if t.empty:
        return _not_tested("no relevant-feature step inside a memory window has both swaps")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        m = {s: g[g["swap"] == s]["accuracy"].to_numpy(float) for s in g["swap"].unique()}
        orig, time, stim = (m.get(k, np.array([np.nan])).mean()
                            for k in ("R(i,j)", "R(i,j+1)", "R(i+k,j+k)"))
        chance = g["chance"].mean()
        passes.append(bool(stim - time >= 0.1 and (orig - stim) <= 0.5 * (orig - time)))
        partials.append(bool(stim > time))
        parts.append(f"{model}: own rotation {_fmt(m.get('R(i,j)', []), 'cells')}, stimulus "
                     f"swap {_fmt(m.get('R(i+k,j+k)', []), 'cells')}, time swap "
                     f"{_fmt(m.get('R(i,j+1)', []), 'cells')} (chance {100 * chance:.1f}%)")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _causal(tables):
    t = _table(tables, "causal")
    if t is None:
        return _not_tested("causal table missing (needs the trained model)")
    if "direction" not in t:
        return _not_tested("the causal table has no random-direction control")
    parts, passes, partials = [], [], []
    for model, _, _, g in _by_model(t):
        match = g[g["action"] == "match"]
        top = match["distance"].max()

        def drop(r, direction, top=top):
            d = r[r["direction"] == direction]
            at = d.groupby("distance")["probability"].mean()
            return float(at.get(0.0, np.nan) - at.get(top, np.nan))

        dec = _per_run(match, lambda r: drop(r, "decoder"))
        rnd = _per_run(match, lambda r: drop(r, "random"))
        passes.append(bool(dec.mean() >= 0.3 and dec.mean() >= 3 * max(rnd.mean(), 0.0)))
        partials.append(bool(dec.mean() > rnd.mean() + 0.05))
        parts.append(f"{model}: P(match) falls by {_fmt(dec, 'runs')} along decoder normals "
                     f"(distance 0 → {top:g}) vs {_fmt(rnd, 'runs')} along random directions")
    return Outcome("; ".join(parts), _grade(passes, partials))


def _scaling(tables):
    t = _table(tables, "models")
    if t is None or "parameters" not in t:
        return _not_tested("no training summaries")
    parts, passes, partials = [], [], []
    archs = {}
    for arch, g in t.groupby("architecture", sort=False):
        g = g[g["regime"].str.upper() == "MTMF"] if (g["regime"].str.upper() == "MTMF").any() \
            else g
        if g["parameters"].nunique() < 2:
            continue
        rho = stats.spearmanr(g["parameters"], g["acc_val_angle"]).statistic
        archs[str(arch).lower()] = g
        passes.append(bool(rho > 0))
        partials.append(bool(rho >= 0))
        parts.append(f"{str(arch).upper()}: Spearman ρ(parameters, novel-angle accuracy) = "
                     f"{rho:.2f} over {len(g)} models")
    if not parts:
        return _not_tested("needs several hidden sizes per architecture (wmgeom run --grid "
                           "--sizes ...)")
    if "rnn" in archs and any(a in archs for a in ("gru", "lstm")):
        gated = pd.concat([archs[a] for a in ("gru", "lstm") if a in archs])
        lo = max(archs["rnn"]["parameters"].min(), gated["parameters"].min())
        hi = min(archs["rnn"]["parameters"].max(), gated["parameters"].max())
        r = archs["rnn"][archs["rnn"]["parameters"].between(lo, hi)]["acc_val_angle"]
        q = gated[gated["parameters"].between(lo, hi)]["acc_val_angle"]
        if len(r) and len(q):
            lower = r.mean() < q.mean()
            passes.append(bool(lower))
            parts.append(f"at matched parameter counts vanilla {100 * r.mean():.1f}% vs gated "
                         f"{100 * q.mean():.1f}%")
    return Outcome("; ".join(parts), _grade(passes, partials))


FINDINGS: tuple[Finding, ...] = (
    Finding("accuracy", "Every model learns every task; novel identities are harder",
            "all models >95% on train and >90% on novel angles; novel identities substantially "
            "weaker", "A1b",
            "reproduced: every model's worst task is >95% (train) and >90% (novel angles) and "
            "novel identities score below novel angles; partly: the averages over tasks pass",
            _accuracy),
    Finding("relevant_decodable", "Task-relevant features are decodable at the first frame",
            "task-relevant properties fully retrievable in all models", "2b",
            "reproduced: every model's mean relevant accuracy ≥ 90%; partly: normalised ≥ 0.5",
            _relevant),
    Finding("irrelevant_decodable", "Multi-feature models keep task-irrelevant features",
            "irrelevant features much better preserved in STMF and MTMF models (decoding "
            "accuracy >85%)", "2b, A2a",
            "reproduced: in every STMF/MTMF model the irrelevant decoder accuracy > 85% and the "
            "normalised accuracy ≥ 0.5; partly: normalised ≥ 0.25",
            _irrelevant),
    Finding("irrelevant_weaker_stsf", "Single-task models keep irrelevant features less",
            "task-irrelevant features not generally well preserved in STSF models", "2b",
            "reproduced: per architecture, STSF's normalised irrelevant accuracy is ≥ 0.1 below "
            "STMF/MTMF's; partly: below", _irrelevant_stsf),
    Finding("cross_task_vanilla_vs_gated",
            "Vanilla RNNs share feature subspaces across tasks, gated RNNs do not",
            "GRU and LSTM use task-specific subspaces, the vanilla RNN a subspace shared across "
            "tasks", "2a, 2c, A2b",
            "gap = normalised validation − generalisation (pairs of tasks with different "
            "relevant features); reproduced: the RNN's gap is ≥ 0.05 below every gated "
            "architecture's; partly: below their mean", _cross_task),
    Finding("orthogonalization", "RNN encoding is less orthogonalised than perception",
            "in most models the encoding space is less orthogonalised than the perceptual space "
            "(two-sample t-test)", "3b",
            "reproduced: encoding index below perceptual with p < 0.05 in ≥ 2/3 of the models; "
            "partly: below in some", _orthogonality("orthogonalization_stats")),
    Finding("orthogonalization_pca", "The same with PCA-equalised dimensionality",
            "similar results when PCA equalises the dimensionality of the two spaces", "A3",
            "as orthogonalization, on the PCA-equalised spaces",
            _orthogonality("orthogonalization_pca_stats")),
    Finding("no_fixed_slot", "Memories do not sit in a fixed subspace (H1 rejected)",
            "decoders fitted at encoding do not generalise well to later steps", "4b",
            "drop = (encoding − later steps) / encoding, normalised accuracies, relevant "
            "features; reproduced: ≥ 0.5 in every model; partly: ≥ 0.2", _no_slot),
    Finding("recall_realignment", "Memories partly realign with their encoding at recall",
            "in STMF and MTMF models cross-time accuracy is consistently higher at recall "
            "(executive) steps", "4b, 4c",
            "recall step T = S + N vs other memory steps, relevant features; reproduced: ≥ 5 "
            "points higher with one-sided Mann–Whitney p < 0.05 in every STMF/MTMF model; "
            "partly: higher", _recall),
    Finding("encoding_shared", "One encoding space serves every stimulus (H2 over H3)",
            "validation and generalisation accuracies almost identical", "4d",
            "ratio = normalised generalisation / validation; reproduced: ≥ 0.9 for location "
            "and category in every model; partly: ≥ 0.7 (identity reported beside)", _sharing),
    Finding("procrustes_reconstruction", "A rotation and a scale carry decoders across time",
            "reconstructed decision hyperplanes highly accurate, small gap to fitted decoders",
            "4f, A4",
            "relevant feature, target steps S < T ≤ S + N; reproduced: mean gap fitted − "
            "reconstructed ≤ 5 points in every model; partly: reconstructed normalised ≥ half "
            "the fitted", _procrustes),
    Finding("swap_stimulus_vs_time", "Transformations are shared across stimuli, not across time",
            "swapping in R(S=i+k,T=j+k) keeps good accuracy, R(S=i,T=j+1) does not", "4g",
            "relevant feature, memory window; reproduced: stimulus swap ≥ 10 points above time "
            "swap and losing at most half of what the time swap loses from the own rotation, "
            "in every model; partly: above", _swaps),
    Finding("causal", "The decoded subspaces drive behaviour",
            "P(match) drops significantly as states cross the hyperplane, P(no action) rises",
            "A7",
            "drop of P(match) from distance 0 to the largest distance; reproduced: ≥ 0.3 and ≥ "
            "3× the drop along random directions of the same length; partly: more than the "
            "random drop + 0.05", _causal),
    Finding("size_scaling", "Accuracy grows with size; vanilla RNNs trail gated ones",
            "performance increases with parameters; at equal parameter counts vanilla RNNs are "
            "less accurate", "A1c",
            "reproduced: Spearman ρ(parameters, novel-angle accuracy) > 0 for every architecture "
            "and vanilla below gated at matched counts; partly: ρ ≥ 0", _scaling),
)
"""The findings, in the order of the report."""


def findings(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per seed-000 finding: ``id``, ``finding``, ``seed``, ``measured``,
    ``verdict``, ``rule``, ``reason`` (why not tested), ``figure``.

    Args:
        tables: Analysis tables by name; ``models`` (one row per run: ``model``,
            ``architecture``, ``regime``, ``run``, ``parameters``, ``acc_<split>`` and
            ``acc_<split>_min_task``) feeds the accuracy and size findings.
    """
    rows = []
    for f in FINDINGS:
        out = f.judge(tables)
        rows.append({"id": f.id, "finding": f.finding, "seed": f.seed, "measured": out.measured,
                     "verdict": out.verdict, "rule": f.rule, "reason": out.reason,
                     "figure": f.figure})
    return pd.DataFrame(rows)
