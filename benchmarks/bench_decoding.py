"""P2: batched linear-SVM decoding vs scikit-learn SVC + GridSearchCV on the same folds.

The seed's decoding protocol (appendix, "Decoding analyses"): one-vs-rest linear SVMs,
10-fold cross-validation, ``C`` in {0.001, 0.01, 1, 10} chosen by an inner grid search,
here for three features (location 4, identity 8, category 4 values) at every frame of
six-frame sequences — 16 one-vs-rest decoders × 6 frames, as in one model's analysis.

* **scikit-learn** (baseline): per frame, feature and outer fold,
  ``OneVsRestClassifier(GridSearchCV(make_pipeline(StandardScaler(),
  SVC(kernel="linear")), {"svc__C": Cs}, cv=<inner folds>))``, i.e. one libsvm fit per
  frame × fold × class × (inner fold × C + refit).
* **wmgeom**: :func:`wmgeom.analysis.cross_validated_decoding` on the same outer and inner
  folds: everything in one batched ADMM solve.

The data are synthetic activations with planted memory geometry
(:func:`wmgeom.analysis.synthetic.synthetic_memory_activations`, the H2 "age" model).
Accuracies are compared per frame and feature (multi-class argmax accuracy) and per
one-vs-rest decoder. ``--baseline-frames k`` runs the baseline on the first ``k`` frames
only and scales its time by ``frames / k`` (marked "extrapolated"); accuracy is then
compared on those frames.

Run from the repository root::

    python benchmarks/bench_decoding.py                    # full protocol, CPU
    python benchmarks/bench_decoding.py --device cuda      # GPU, baseline on CPU
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from wmgeom.analysis import cross_validated_decoding
from wmgeom.analysis.synthetic import synthetic_memory_activations

FEATURES = {"location": 4, "identity": 8, "category": 4}


def make_data(n_trials: int, n_units: int, n_frames: int, seed: int):
    ds = synthetic_memory_activations(n_trials, n_frames, n_units, mode="age",
                                      features=FEATURES, relevant_gain=1.2,
                                      irrelevant_gain=1.2, noise=1.0, seed=seed)
    X = np.moveaxis(ds["hidden"].values, 1, 0)  # [frames, trials, units]
    labels = {f: ds[f].values.T for f in FEATURES}  # [frames, trials]: stimulus of each frame
    return X, labels


def run_sklearn(X, labels, folds, inner, Cs, frames, n_jobs):
    """Out-of-fold one-vs-rest decision values of libsvm, per frame and feature."""
    out = {}
    for c in frames:
        for f in FEATURES:
            y = labels[f][c]
            dec = np.zeros((len(y), FEATURES[f]))
            for tr, te in folds:
                inner_splits = list(inner.split(tr))
                model = OneVsRestClassifier(GridSearchCV(
                    make_pipeline(StandardScaler(), SVC(kernel="linear")),
                    {"svc__C": list(Cs)}, cv=inner_splits), n_jobs=n_jobs)
                dec[te] = model.fit(X[c, tr], y[tr]).decision_function(X[c, te])
            out[(c, f)] = dec
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--inner", type=int, default=5)
    parser.add_argument("--baseline-frames", type=int, default=None,
                        help="run scikit-learn on this many frames and scale its time")
    parser.add_argument("--n-jobs", type=int, default=1, help="scikit-learn n_jobs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=1, help="timed wmgeom repeats (min)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    Cs = (0.001, 0.01, 1.0, 10.0)
    X, labels = make_data(args.trials, args.units, args.frames, args.seed)
    folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(X[0]))
    inner = KFold(args.inner)
    n_dec = sum(FEATURES.values())
    n_fits = args.frames * args.folds * n_dec * (args.inner * len(Cs) + 1)
    print(f"data: {args.trials} trials x {args.units} units x {args.frames} frames; "
          f"features {FEATURES}; {args.folds} folds x inner {args.inner} x {len(Cs)} C; "
          f"{n_fits} SVM fits; torch threads {torch.get_num_threads()}, "
          f"cpus {os.cpu_count()}")

    # wmgeom (warm-up on a tiny problem first, so start-up costs are not timed)
    cross_validated_decoding(X[:1, :60, :8], {f: v[:1, :60] for f, v in labels.items()},
                             cv=2, inner_cv=2, device=args.device)
    times = []
    for _ in range(args.repeats):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        res = cross_validated_decoding(X, labels, cv=folds, inner_cv=inner, Cs=Cs,
                                       device=args.device, tol=args.tol)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    t_ours = min(times)

    frames = list(range(args.baseline_frames or args.frames))
    start = time.perf_counter()
    ref = run_sklearn(X, labels, folds, inner, Cs, frames, args.n_jobs)
    t_ref = (time.perf_counter() - start) * args.frames / len(frames)

    # accuracy comparison on the frames the baseline ran
    idx = res.decoder_index
    multi_ours, multi_ref, dk = [], [], []
    for (c, f), dec in ref.items():
        y = labels[f][c]
        ks = idx.index[idx["feature"] == f].to_numpy()
        ours = res.decision[c][:, ks]
        multi_ours.append((ours.argmax(1) == y).mean())
        multi_ref.append((dec.argmax(1) == y).mean())
        onehot = y[:, None] == np.arange(FEATURES[f])
        dk.extend(((ours > 0) == onehot).mean(0) - ((dec > 0) == onehot).mean(0))
    multi_ours, multi_ref, dk = map(np.asarray, (multi_ours, multi_ref, dk))
    extrap = " (extrapolated)" if len(frames) < args.frames else ""
    dev = res_device(args.device)
    print()
    print("| method | device | time (s) | mean accuracy | speed-up |")
    print("|---|---|---|---|---|")
    print(f"| scikit-learn SVC + GridSearchCV (n_jobs={args.n_jobs}) | cpu | "
          f"{t_ref:.1f}{extrap} | {multi_ref.mean():.4f} | 1× |")
    print(f"| wmgeom cross_validated_decoding | {dev} | {t_ours:.2f} | "
          f"{multi_ours.mean():.4f} | {t_ref / t_ours:.0f}× |")
    print()
    print(f"multi-class accuracy, |wmgeom - sklearn| over {len(multi_ours)} frame x feature "
          f"cells: mean {np.abs(multi_ours - multi_ref).mean() * 100:.2f} pt, "
          f"max {np.abs(multi_ours - multi_ref).max() * 100:.2f} pt")
    print(f"one-vs-rest decoder accuracy, |wmgeom - sklearn| over {len(dk)} decoders: "
          f"mean {np.abs(dk).mean() * 100:.2f} pt, max {np.abs(dk).max() * 100:.2f} pt")


def res_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return device


if __name__ == "__main__":
    main()
