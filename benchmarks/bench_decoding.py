"""Decoding speed: batched linear-SVM decoding vs scikit-learn SVC + GridSearchCV on the same folds.

The decoding protocol of Lei et al. 2024 (appendix, "Decoding analyses"): one-vs-rest linear SVMs on
the raw activations, 10-fold cross-validation, ``C`` in {0.001, 0.01, 1, 10} chosen per
decoder by an inner grid search.

* **scikit-learn** (baseline): per outer fold and one-vs-rest class,
  ``GridSearchCV(SVC(kernel="linear"), {"C": Cs}, cv=<the inner folds>)``, refit on the
  outer training set, scored on the held-out fold: one libsvm fit per fold × class ×
  (inner fold × C + refit).
* **wmgeom**: :func:`wmgeom.analysis.cross_validated_decoding` on the same outer and inner
  folds: every fold, inner fold, ``C``, class and condition in one batched solve.

Two parts:

(a) **Paper protocol**: six-frame sequences with planted memory geometry
    (:func:`wmgeom.analysis.synthetic.synthetic_memory_activations`, the H2 "age" model),
    three features (location 4, identity 8, category 4 values) decoded at every frame:
    16 one-vs-rest decoders × 6 frames in one call. Accuracy is compared per frame and
    feature (multi-class argmax accuracy) and per one-vs-rest decoder.
(b) **Shape sweep**: one condition of ``n`` trials × ``d`` units with ``k`` classes
    (balanced, or unbalanced: class sizes in geometric progression, the largest six times
    the smallest), activations ``tanh`` of a planted class code plus a second, irrelevant
    categorical code, noise, and a few nearly silent units — bounded like a recurrent
    network's hidden state. Both times, their ratio and the accuracy difference per shape,
    and the worst ratio at the end.

scikit-learn is slow on the larger problems: ``--baseline-folds k`` runs it on the first
``k`` outer folds only and scales its time by ``folds / k`` (marked "extrapolated",
accuracy then compared on those folds' held-out trials; wmgeom always runs all folds).

Run from the repository root::

    python benchmarks/bench_decoding.py --quick              # small smoke run
    python benchmarks/bench_decoding.py --threads 2 --n-jobs 2 --baseline-folds 2
    python benchmarks/bench_decoding.py --device cuda        # GPU, baseline on CPU
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.svm import SVC

from wmgeom.analysis import cross_validated_decoding
from wmgeom.analysis.synthetic import synthetic_memory_activations

CS = (0.001, 0.01, 1.0, 10.0)
FEATURES = {"location": 4, "identity": 8, "category": 4}


# --------------------------------------------------------------------------- data


def paper_protocol_data(n_trials: int, n_units: int, n_frames: int, seed: int):
    """``X [frames, trials, units]`` and per-frame labels of the planted H2 model."""
    ds = synthetic_memory_activations(n_trials, n_frames, n_units, mode="age",
                                      features=FEATURES, relevant_gain=1.2,
                                      irrelevant_gain=1.2, noise=1.0, seed=seed)
    X = np.moveaxis(ds["hidden"].values, 1, 0)
    labels = {f: ds[f].values.T for f in FEATURES}  # [frames, trials]: stimulus of each frame
    return X, labels


def sweep_data(n: int, d: int, k: int, unbalanced: bool, seed: int):
    """``X [n, d]`` and labels ``y [n]`` of one sweep shape (see the module docstring)."""
    rng = np.random.default_rng(seed)
    p = np.geomspace(1.0, 6.0, k) if unbalanced else np.ones(k)
    y = rng.choice(k, n, p=p / p.sum())
    other = rng.integers(0, 4, n)  # an irrelevant feature, also coded
    q = min(d, 2 * k + 4)
    basis = np.linalg.qr(rng.normal(size=(d, q)))[0]
    code = rng.normal(size=(k, q)) * 0.22  # multi-class accuracy ~0.6-0.9
    code_other = rng.normal(size=(4, q)) * 0.22
    latent = (code[y] + code_other[other]) @ basis.T * np.sqrt(d / q)
    pre = 0.6 * (latent + rng.normal(size=(n, d))) + rng.normal(size=d) * 0.5
    X = np.tanh(pre)
    silent = rng.choice(d, max(1, d // 32), replace=False)  # units that barely move
    X[:, silent] = 0.3 + 1e-4 * rng.normal(size=(n, len(silent)))
    return X, y


# --------------------------------------------------------------------------- baseline


def sklearn_decisions(X: np.ndarray, y: np.ndarray, folds, inner, n_jobs: int) -> np.ndarray:
    """Out-of-fold one-vs-rest decision values of libsvm on ``folds`` (NaN elsewhere)."""
    k = int(y.max()) + 1
    dec = np.full((len(y), k), np.nan)
    for tr, te in folds:
        splits = list(inner.split(np.zeros(len(tr)), y[tr]))
        for c in range(k):
            grid = GridSearchCV(SVC(kernel="linear"), {"C": list(CS)}, cv=splits,
                                n_jobs=n_jobs)
            dec[te, c] = grid.fit(X[tr], (y[tr] == c).astype(int)).decision_function(X[te])
    return dec


def timed_wmgeom(X, y, folds, inner, device: str, repeats: int, threads: int | None):
    """Best-of-``repeats`` wall time of :func:`cross_validated_decoding`, and its result."""
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        res = cross_validated_decoding(X, y, cv=folds, inner_cv=inner, Cs=CS, device=device,
                                       n_threads=threads)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), res


def accuracy_gaps(ours: np.ndarray, ref: np.ndarray, y: np.ndarray
                  ) -> tuple[float, float, float, np.ndarray]:
    """On the rows ``ref`` has: both multi-class accuracies, their difference and the
    per-decoder accuracy differences (points)."""
    rows = np.isfinite(ref).all(1)
    o, r, t = ours[rows], ref[rows], y[rows]
    acc_o, acc_r = (o.argmax(1) == t).mean(), (r.argmax(1) == t).mean()
    onehot = t[:, None] == np.arange(ref.shape[1])
    per = (((o > 0) == onehot).mean(0) - ((r > 0) == onehot).mean(0)) * 100
    return acc_o, acc_r, (acc_o - acc_r) * 100, per


# --------------------------------------------------------------------------- parts


def paper_protocol(args, n_base: int) -> None:
    X, labels = paper_protocol_data(args.trials, args.units, args.frames, args.seed)
    folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(X[0]))
    inner = KFold(args.inner)  # several features: plain folds, as wmgeom uses then
    n_dec = sum(FEATURES.values())
    n_fits = args.frames * args.folds * n_dec * (args.inner * len(CS) + 1)
    print(f"(a) paper protocol: {args.trials} trials x {args.units} units x {args.frames} "
          f"frames; features {FEATURES}; {args.folds} folds x inner {args.inner} x "
          f"{len(CS)} C = {n_fits} libsvm fits")
    t_ours, res = timed_wmgeom(X, labels, folds, inner, args.device, args.repeats,
                               args.threads)
    start = time.perf_counter()
    multi, per, acc_o, acc_r = [], [], [], []
    idx = res.decoder_index
    for c in range(args.frames):
        for f in FEATURES:
            y = labels[f][c]
            ref = sklearn_decisions(X[c], y, folds[:n_base], inner, args.n_jobs)
            ks = idx.index[idx["feature"] == f].to_numpy()
            a_o, a_r, m, p = accuracy_gaps(res.decision[c][:, ks], ref, y)
            acc_o.append(a_o)
            acc_r.append(a_r)
            multi.append(m)
            per.extend(p)
    t_ref = (time.perf_counter() - start) * args.folds / n_base
    extra = " (extrapolated)" if n_base < args.folds else ""
    multi, per = np.abs(multi), np.abs(per)
    print()
    print("| method | device | time (s) | mean multi-class accuracy | speed-up |")
    print("|---|---|---|---|---|")
    print(f"| scikit-learn SVC + GridSearchCV (n_jobs={args.n_jobs}) | cpu | "
          f"{t_ref:.1f}{extra} | {np.mean(acc_r):.4f} | 1x |")
    print(f"| wmgeom cross_validated_decoding | {device_name(args.device)} | {t_ours:.2f} | "
          f"{np.mean(acc_o):.4f} | {t_ref / t_ours:.1f}x |")
    print()
    print(f"multi-class accuracy |wmgeom - sklearn| over {len(multi)} frame x feature cells "
          f"({n_base} of {args.folds} folds): mean {multi.mean():.2f} pt, "
          f"max {multi.max():.2f} pt")
    print(f"one-vs-rest decoder accuracy |wmgeom - sklearn| over {len(per)} decoders: "
          f"mean {per.mean():.2f} pt, max {per.max():.2f} pt")
    print()


def shape_sweep(args, shapes, n_base: int) -> None:
    print(f"(b) shape sweep: {args.folds} outer folds x inner {args.inner} (stratified) x "
          f"{len(CS)} C; scikit-learn on {n_base} of {args.folds} outer folds"
          + (", time extrapolated" if n_base < args.folds else ""))
    print()
    print("| trials | units | classes | balance | sklearn (s) | wmgeom (s) | speed-up | "
          "multi-class acc. (sklearn) | diff multi (pt) | max diff per decoder (pt) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios, worst_acc = [], 0.0
    for n, d, k, unbalanced in shapes:
        X, y = sweep_data(n, d, k, unbalanced, args.seed)
        folds = list(StratifiedKFold(args.folds, shuffle=True,
                                     random_state=args.seed).split(X, y))
        inner = StratifiedKFold(args.inner)
        t_ours, res = timed_wmgeom(X, y, folds, inner, args.device, args.repeats,
                                   args.threads)
        start = time.perf_counter()
        ref = sklearn_decisions(X, y, folds[:n_base], inner, args.n_jobs)
        t_ref = (time.perf_counter() - start) * args.folds / n_base
        _, acc_ref, multi, per = accuracy_gaps(res.decision[0], ref, y)
        ratios.append(t_ref / t_ours)
        worst_acc = max(worst_acc, abs(multi), np.abs(per).max())
        print(f"| {n} | {d} | {k} | {'unbalanced' if unbalanced else 'balanced'} | "
              f"{t_ref:.1f} | {t_ours:.2f} | {t_ref / t_ours:.1f}x | {acc_ref:.3f} | "
              f"{multi:+.2f} | {np.abs(per).max():.2f} |", flush=True)
    print()
    print(f"worst-case speed-up over the sweep: {min(ratios):.1f}x "
          f"(median {np.median(ratios):.1f}x); largest accuracy difference "
          f"{worst_acc:.2f} pt")


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "seed", "sweep"), default="all")
    parser.add_argument("--quick", action="store_true", help="small sweep (smoke run)")
    parser.add_argument("--shapes", default=None,
                        help="sweep shapes, e.g. 1000x64x4,1000x64x4u (u: unbalanced)")
    parser.add_argument("--trials", type=int, default=1000, help="(a) trials")
    parser.add_argument("--units", type=int, default=256, help="(a) units")
    parser.add_argument("--frames", type=int, default=6, help="(a) frames")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--inner", type=int, default=5)
    parser.add_argument("--baseline-folds", type=int, default=None,
                        help="run scikit-learn on this many outer folds, scale its time")
    parser.add_argument("--n-jobs", type=int, default=1, help="scikit-learn n_jobs")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads of the solve (default: the solver's, 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=1, help="timed wmgeom repeats (min)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is available on this machine")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        shapes = [(400, 32, 4, False), (400, 32, 4, True), (600, 64, 6, True)]
        args.trials, args.units, args.frames = 300, 64, 2
    else:
        shapes = [(n, d, k, u) for n, d, k, u in itertools.product(
            (1000, 1500), (64, 128, 512), (4, 8), (False, True))]
    if args.shapes:
        shapes = [(*map(int, sh.rstrip("u").split("x")), sh.endswith("u"))
                  for sh in args.shapes.split(",")]
    n_base = min(args.folds, args.baseline_folds or args.folds)
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"cpus {os.cpu_count()}, device {device_name(args.device)}, "
          f"scikit-learn n_jobs {args.n_jobs}")
    print()
    # warm-up, so that start-up costs are not timed
    Xw, yw = sweep_data(120, 8, 3, False, 0)
    cross_validated_decoding(Xw, yw, cv=3, inner_cv=2, device=args.device)
    if args.part in ("all", "seed"):
        paper_protocol(args, n_base)
    if args.part in ("all", "sweep"):
        shape_sweep(args, shapes, n_base)


if __name__ == "__main__":
    main()
