"""Re-compute null quantities of the N-back findings table with plain scikit-learn.

Usage: python benchmarks/recompute_nulls.py GRID_DIR [--runs N] [--model "GRU STMF"]
       [--measured] [--folds stratified|plain]

GRID_DIR is a finished grid (``GRID_DIR/runs/<run>/activations.nc`` and
``activations_untrained.nc``, ``GRID_DIR/analysis/*.csv``) or a single analysed run folder.
Nothing of wmgeom is imported: the recordings are read with xarray and every decoder is a
scikit-learn ``SVC(kernel="linear")`` in a ``OneVsRestClassifier`` (the multi-class
prediction is the argmax of the one-vs-rest decision values, as the package's), cross-
validated with ``StratifiedKFold`` (shuffled, seed of the protocol); with several ``C``
values each one-vs-rest decoder picks its own ``C`` by an inner ``GridSearchCV``. Folds,
``C`` grid, inner folds, seed and the analysed splits are read from the grid's
``analysis/protocol.json`` (the quick profile: 5 folds, ``C = 0.1``). ``--folds plain``
uses shuffled ``KFold`` instead, the package's outer folds when it decodes several features
at once (its decoder bank): near chance, plain folds score lower (a training fold's class
proportions run opposite to its test fold's), so the package's untrained-network nulls sit
1-2 points below a stratified re-computation on the grid.

Quantities (each the per-run value the findings rules average over a model's seeds):

* ``relevant_decodable`` null: the untrained network's mean normalised accuracy
  ``(acc - 1/k) / (1 - 1/k)`` of the task's relevant feature of stimulus i decoded from the
  hidden state at step j, over lags 0..N (``within_time_null.csv``);
* ``irrelevant_decodable`` null: the same for the irrelevant features at the memory steps
  (lags 1..N), STMF/MTMF runs only (``within_time_null.csv``);
* ``perceptual_decodable`` null: the highest normalised accuracy over features of the same
  2-fold decoders on permuted labels, from the perceptual space at frame 0, one sample per
  distinct stimulus (``perceptual.csv``, ``labels == permuted``); re-computed with the
  table's own permutations (numpy ``default_rng(seed)``; per permutation one per feature,
  in the order location, identity, category): the first one, and the mean over 20 (the
  table's null when it holds 20 permutations; a table of one permutation is compared with
  its only one).

``--measured`` adds the trained network's values of the first two (``within_time.csv``).
With ``--model`` all seeds of that model are re-computed, and their mean is compared with
the ``null`` column of ``findings.csv`` too. The output is a Markdown table: run | quantity
| table value | re-computed | difference (points, 100 × re-computed − table).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

FEATURES = ("location", "identity", "category")
MULTI_FEATURE = ("STMF", "MTMF")
PERMUTATIONS = 20


# --------------------------------------------------------------------------- decoding


def _folds(y: np.ndarray, n_splits: int, seed: int, folds: str = "stratified"):
    counts = np.unique(y, return_counts=True)[1]
    if folds == "stratified" and counts.min() >= n_splits:
        return StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(y, y)
    return KFold(n_splits, shuffle=True, random_state=seed).split(y)


def _estimator(Cs: list[float], inner_splits: int, seed: int):
    svc = SVC(kernel="linear", C=Cs[0])
    if len(Cs) > 1:  # each one-vs-rest decoder chooses its own C, as the package's
        svc = GridSearchCV(svc, {"C": Cs}, cv=StratifiedKFold(inner_splits, shuffle=True,
                                                              random_state=seed))
    return OneVsRestClassifier(svc)


def cv_decode(X: np.ndarray, y: np.ndarray, *, n_splits: int, Cs: list[float],
              inner_splits: int, seed: int, folds: str = "stratified") -> dict[str, float]:
    """Out-of-fold multi-class accuracy (argmax of one-vs-rest decision values), the mean
    accuracy of the one-vs-rest decoders, and chance (1/k).

    ``folds``: ``stratified`` (``StratifiedKFold`` on the decoded feature) or ``plain``
    (shuffled ``KFold``: the package's outer folds when it decodes several features at
    once, as its decoder bank does).
    """
    classes = np.unique(y)
    k = len(classes)
    decision = np.zeros((len(y), 1 if k == 2 else k))
    for train, test in _folds(y, n_splits, seed, folds):
        clf = _estimator(Cs, inner_splits, seed).fit(X[train], y[train])
        d = clf.decision_function(X[test]).reshape(len(test), -1)
        if len(clf.classes_) == k:
            decision[test] = d
        else:  # a class absent from this training fold (plain KFold): never predicted
            decision[test] = -np.inf
            if d.shape[1] == 1:  # two classes left: one binary decoder
                d = np.concatenate([-d, d], 1)
            decision[np.ix_(test, np.searchsorted(classes, clf.classes_))] = d
    if k == 2:
        pred = classes[(decision[:, 0] > 0).astype(int)]
        binary = [float(np.mean((decision[:, 0] > 0) == (y == classes[1])))]
    else:
        pred = classes[decision.argmax(1)]
        binary = [float(np.mean((decision[:, c] > 0) == (y == classes[c]))) for c in range(k)]
    return {"accuracy": float(np.mean(pred == y)), "decoder_accuracy": float(np.mean(binary)),
            "chance": 1.0 / k}


def normalized(acc, chance):
    acc, chance = np.asarray(acc, float), np.asarray(chance, float)
    return (acc - chance) / (1.0 - chance)


# --------------------------------------------------------------------------- recordings


def load(path: Path, splits: list[str]) -> xr.Dataset:
    """The variables the re-computation reads, of the trials of the analysed splits."""
    with xr.open_dataset(path) as ds:
        keep = [v for v in ("hidden", "perceptual", "image", "task", "n", "feature", "split",
                            *FEATURES) if v in ds]
        ds = ds[keep].load()
    if "split" in ds:
        ds = ds.isel(trial=np.flatnonzero(np.isin(ds["split"].values.astype(str), splits)))
    return ds


def decoded_features(ds: xr.Dataset) -> list[str]:
    """Features with two or more values in every task at every frame (as the tables)."""
    tasks = ds["task"].values.astype(str)
    return [f for f in FEATURES if f in ds and all(
        len(np.unique(ds[f].values[tasks == t, j])) >= 2
        for t in np.unique(tasks) for j in range(ds.sizes["frame"]))]


def within_time_cells(ds: xr.Dataset, protocol: dict, folds: str = "stratified"
                      ) -> pd.DataFrame:
    """Stimulus i decoded from the hidden state at step j, i <= j <= i + N, per task and
    feature (the cells the relevant/irrelevant rules read)."""
    kw = {"n_splits": protocol["n_splits"], "Cs": list(protocol["Cs"]),
          "inner_splits": protocol["inner_splits"], "seed": protocol["seed"], "folds": folds}
    tasks = ds["task"].values.astype(str)
    features = decoded_features(ds)
    rows = []
    for task in dict.fromkeys(tasks):
        sel = np.flatnonzero(tasks == task)
        n = int(ds["n"].values[sel[0]])
        relevant = str(ds["feature"].values[sel[0]])
        H = ds["hidden"].values[sel]
        T = H.shape[1]
        for i in range(T):
            for j in range(i, min(T, i + n + 1)):
                for f in features:
                    y = ds[f].values[sel, i]
                    r = cv_decode(H[:, j].astype(np.float64), y, **kw)
                    rows.append({"task": task, "n": n, "stimulus": i, "frame": j,
                                 "lag": j - i, "feature": f, "relevant": f == relevant, **r})
    return pd.DataFrame(rows)


def decodability(cells: pd.DataFrame) -> dict[str, float]:
    """Per-run means of normalised accuracy: relevant (lags 0..N), irrelevant (1..N)."""
    rel = cells[cells["relevant"] & (cells["lag"] <= cells["n"])]
    irr = cells[~cells["relevant"] & (cells["lag"] >= 1) & (cells["lag"] <= cells["n"])]
    return {"relevant": float(normalized(rel["accuracy"], rel["chance"]).mean()),
            "irrelevant": float(normalized(irr["accuracy"], irr["chance"]).mean())
            if len(irr) else float("nan")}


def perceptual_null(ds: xr.Dataset, protocol: dict, folds: str = "stratified"
                    ) -> dict[str, float]:
    """Highest normalised accuracy over features with permuted labels, 2-fold, frame 0:
    of the table's first permutation, and the mean and sd over its 20."""
    X = ds["perceptual"].values[:, 0].astype(np.float64)
    labels = {f: ds[f].values[:, 0] for f in FEATURES if f in ds}
    key_parts = [labels[f] for f in labels] + ([ds["image"].values[:, 0]] if "image" in ds
                                               else [])
    _, first = np.unique(np.stack(key_parts, 1), axis=0, return_index=True)
    first = np.sort(first)
    X = X[first]
    labels = {f: v[first] for f, v in labels.items() if len(np.unique(v[first])) >= 2}
    kw = {"n_splits": 2, "Cs": list(protocol["Cs"]), "inner_splits": protocol["inner_splits"],
          "seed": protocol["seed"], "folds": folds}

    def highest(perm: dict[str, np.ndarray]) -> float:
        return max(float(normalized(r["accuracy"], r["chance"]))
                   for r in (cv_decode(X, y, **kw) for y in perm.values()))

    # the table's permutations: numpy default_rng(seed), one per feature, in feature order
    rng = np.random.default_rng(protocol["seed"])
    draws = [highest({f: rng.permutation(v) for f, v in labels.items()})
             for _ in range(PERMUTATIONS)]
    return {"same": draws[0], "mean": float(np.mean(draws)),
            "sd": float(np.std(draws, ddof=1))}


# --------------------------------------------------------------------------- tables


def _run_rows(table: pd.DataFrame, run: str) -> pd.DataFrame:
    return table[table["run"].astype(str).map(lambda p: Path(p).name) == run]


def table_values(analysis: Path, run: str) -> dict[str, float]:
    """The same per-run quantities read from the package's tables."""
    out = {}
    for name, key in (("within_time_null", "null"), ("within_time", "measured")):
        path = analysis / f"{name}.csv"
        if not path.is_file():
            continue
        t = _run_rows(pd.read_csv(path), run)
        if t.empty:
            continue
        rel = t[t["relevant"].astype(bool) & (t["lag"] >= 0) & (t["lag"] <= t["n"])]
        irr = t[~t["relevant"].astype(bool) & (t["lag"] >= 1) & (t["lag"] <= t["n"])]
        out[f"{key} relevant"] = float(normalized(rel["accuracy"], rel["chance"]).mean())
        out[f"{key} irrelevant"] = float(normalized(irr["accuracy"], irr["chance"]).mean()) \
            if len(irr) else float("nan")
    path = analysis / "perceptual.csv"
    if path.is_file():
        t = _run_rows(pd.read_csv(path), run)
        perm = t[t["labels"] == "permuted"]
        if len(perm):
            perm = perm.assign(z=normalized(perm["accuracy"], perm["chance"]))
            if "permutation" in perm:  # several permutations: the first, and their mean
                best = perm.groupby("permutation")["z"].max()
                out["perceptual permuted"] = float(best.iloc[0])
                out["perceptual permuted (mean)"] = float(best.mean())
            else:  # one permutation
                out["perceptual permuted"] = float(perm["z"].max())
    return out


def findings_null(analysis: Path, finding: str, model: str) -> float:
    """The value of ``model`` in the ``null`` column of ``findings.csv`` (NaN if absent)."""
    path = analysis / "findings.csv"
    if not path.is_file():
        return float("nan")
    f = pd.read_csv(path, keep_default_na=False)
    text = f.loc[f["id"] == finding, "null"]
    if text.empty:
        return float("nan")
    m = re.search(re.escape(model) + r": (-?[0-9.eE+-]+) \(measured", str(text.iloc[0]))
    return float(m.group(1)) if m else float("nan")


# --------------------------------------------------------------------------- driver


def recompute_run(run_dir: Path, protocol: dict, measured: bool = False,
                  folds: str = "stratified") -> dict[str, float]:
    """The quantities of one run, re-computed from its recordings."""
    splits = list(protocol.get("splits", ["train", "val_angle"]))
    out = {}
    null = load(run_dir / "activations_untrained.nc", splits)
    for k, v in decodability(within_time_cells(null, protocol, folds)).items():
        out[f"null {k}"] = v
    trained = load(run_dir / "activations.nc", splits)
    if "perceptual" in trained:  # the backbone's space, as the table (the same untrained)
        p = perceptual_null(trained, protocol, folds)
        out["perceptual permuted"] = p["same"]
        out["perceptual permuted (mean)"] = p["mean"]
        out["perceptual permuted (sd)"] = p["sd"]
    if measured:
        for k, v in decodability(within_time_cells(trained, protocol, folds)).items():
            out[f"measured {k}"] = v
    return out


LABELS = {
    "null relevant": "relevant_decodable null: untrained normalised relevant acc. (lags 0..N)",
    "null irrelevant": "irrelevant_decodable (STMF/MTMF) / irrelevant_weaker_stsf null: "
                       "untrained normalised irrelevant acc. (lags 1..N)",
    "perceptual permuted": "perceptual_decodable null: permuted labels (the first "
                           "permutation), highest normalised acc.",
    "perceptual permuted (mean)": f"perceptual null, mean over {PERMUTATIONS} "
                                           "permutations (tables of one permutation: that one)",
    "measured relevant": "relevant_decodable measured: trained normalised relevant acc.",
    "measured irrelevant": "irrelevant_decodable measured: trained normalised irrelevant acc.",
}
FALLBACK = {"perceptual permuted (mean)": "perceptual permuted"}  # tables of one permutation


def _model(run: str) -> tuple[str, str]:
    arch, rest = run.split("-", 1)
    regime = rest.split("_")[1]
    return arch.upper(), regime.upper()


def comparison_rows(run: str, table: dict[str, float], recomputed: dict[str, float]
                    ) -> list[dict]:
    rows = []
    for key, label in LABELS.items():
        if key not in recomputed:
            continue
        theirs = table.get(key, table.get(FALLBACK.get(key, ""), float("nan")))
        mine = recomputed[key]
        if np.isnan(mine) and np.isnan(theirs):
            continue
        note = ""
        if key == "perceptual permuted (mean)":
            note = f" ± {recomputed['perceptual permuted (sd)']:.3f}"
        rows.append({"run": run, "quantity": label, "table": theirs, "recomputed": mine,
                     "note": note})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| run | quantity | table value | re-computed | difference (points) |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        diff = 100 * (r["recomputed"] - r["table"])
        lines.append(f"| {r['run']} | {r['quantity']} | {r['table']:.3f} | "
                     f"{r['recomputed']:.3f}{r['note']} | {diff:+.1f} |")
    return "\n".join(lines)


def select_runs(runs: list[Path], n: int | None, model: str | None) -> list[Path]:
    if model:
        arch, regime = model.upper().split()
        chosen = [r for r in runs if _model(r.name) == (arch, regime)]
        if not chosen:
            raise SystemExit(f"no run of model {model!r} in {[r.name for r in runs]}")
        return chosen[:n] if n else chosen
    # interleave regimes and architectures: --runs 3 gives one STSF, STMF and MTMF run
    by_regime: dict[str, list[Path]] = {}
    for r in sorted(runs, key=lambda p: (p.name.split("_")[-1], p.name)):
        by_regime.setdefault(_model(r.name)[1], []).append(r)
    order, k = [], 0
    queues = [by_regime[g] for g in ("STSF", "STMF", "MTMF") if g in by_regime]
    while any(queues):
        q = queues[k % len(queues)]
        if q:
            # rotate architectures across regimes
            order.append(q.pop((k // len(queues) + k) % len(q)))
        k += 1
    return order[:n] if n else order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid", type=Path, help="grid folder (runs/, analysis/) or a run")
    parser.add_argument("--runs", type=int, default=None, help="re-compute this many runs")
    parser.add_argument("--model", default=None, help='only the seeds of one model, e.g. '
                        '"GRU STMF" (compared with the findings null column too)')
    parser.add_argument("--measured", action="store_true",
                        help="also re-compute the trained network's values")
    parser.add_argument("--folds", choices=("stratified", "plain"), default="stratified",
                        help="outer folds: StratifiedKFold on the decoded feature (default) "
                        "or shuffled KFold (the package's when it decodes several features "
                        "at once)")
    args = parser.parse_args(argv)
    root: Path = args.grid
    analysis = root / "analysis"
    runs = sorted(p for p in (root / "runs").glob("*") if (p / "activations.nc").is_file()) \
        if (root / "runs").is_dir() else [root]
    runs = [r for r in runs if (r / "activations_untrained.nc").is_file()]
    if not runs:
        raise SystemExit(f"no run with activations_untrained.nc under {root}")
    protocol = json.loads((analysis / "protocol.json").read_text())
    chosen = select_runs(runs, args.runs, args.model)
    rows, per_run = [], {}
    for run in chosen:
        start = time.perf_counter()
        mine = recompute_run(run, protocol, args.measured, args.folds)
        per_run[run.name] = mine
        rows += comparison_rows(run.name, table_values(analysis, run.name), mine)
        print(f"{run.name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(f"protocol: {protocol['n_splits']} {args.folds} folds, C in {protocol['Cs']}, "
          f"splits {protocol.get('splits')}, seed {protocol['seed']}\n")
    print(markdown(rows))
    if args.model:
        model = " ".join(args.model.upper().split())
        multi = model.split()[1] in MULTI_FEATURE
        summary = []
        for finding, key in (("relevant_decodable", "null relevant"),
                             ("irrelevant_decodable", "null irrelevant"),
                             ("perceptual_decodable", "perceptual permuted")):
            if key == "null irrelevant" and not multi:
                continue
            vals = [v[key] for v in per_run.values() if key in v]
            # the perceptual rule takes the highest permuted value over the model's rows
            value = max(vals) if finding == "perceptual_decodable" else np.mean(vals)
            summary.append({"run": f"{model} ({len(vals)} seeds, findings.csv)",
                            "quantity": f"{finding} null column", "note": "",
                            "table": findings_null(analysis, finding, model),
                            "recomputed": float(value)})
        print()
        print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
