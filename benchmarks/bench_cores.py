"""The cores side by side on the quick profile: ms per training step and accuracy reached.

Usage:
    python benchmarks/bench_cores.py [--cores gru,transformer,ssm] [--iterations 500]
        [--eval-every 200] [--steps 20] [--rounds 3] [--threads 1] [--out DIR]

1. Milliseconds per training step (forward, backward, clipping, fused AdamW: the step the
   Trainer runs) of each core at the quick profile's size (128 units, GRU-matched
   parameters), batch 128 of the MTMF mixture, the cores stepped in turn (``--rounds`` of
   ``--steps`` each; the median per core) so that they share the machine's state.
2. Each core trained by the N-back study's own ``train_run`` for ``--iterations``
   iterations (quick profile, MTMF, no learning-rate decay, evaluated every ``--eval-every``
   and stopped at the criterion), one after the other; the
   held-out executive-frame accuracy per split of ``summary.json`` and the criterion.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from wmgeom.studies import nback
from wmgeom.studies.nback.driver import _data
from wmgeom.train.nback import build_model, nback_loss


def step_ms(config, data, cores, steps, rounds) -> dict[str, float]:
    """Median ms per training step of each core, stepped in turn on the same batches."""
    rng = np.random.default_rng(0)
    batches = [data.mixture.sample(128, "train", rng) for _ in range(steps)]
    models, opts, times = {}, {}, {c: [] for c in cores}
    loss_fn = nback_loss(data)
    for c in cores:
        torch.manual_seed(0)
        models[c] = build_model(config.model.model_copy(update={"architecture": c}),
                                config.tasks)
        opts[c] = torch.optim.AdamW(models[c].parameters(), lr=1e-3, fused=True)
    for _ in range(rounds):
        for c in cores:
            for batch in batches:
                start = time.perf_counter()
                loss, _ = loss_fn(models[c], batch)
                opts[c].zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(models[c].parameters(), 1.0)
                opts[c].step()
                times[c].append(time.perf_counter() - start)
    return {c: 1000 * float(np.median(t)) for c, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", default="gru,transformer,ssm")
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cores = args.cores.split(",")
    config = nback.make_config("quick", {"train": {
        "iterations": args.iterations, "milestones": [],
        "eval_every": min(args.eval_every, args.iterations),
        "checkpoint_every": args.iterations}})
    prep = nback.prepare(config, progress=False)
    paired = step_ms(config, _data(prep, config), cores, args.steps, args.rounds)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_cores_"))
    rows = []
    for c in cores:
        cfg = config.model_copy(update={"model": config.model.model_copy(
            update={"architecture": c})})
        summary, _ = nback.train_run(cfg, out / c, prep, progress=False)
        acc = summary["accuracy"]
        rows.append({"core": c, "parameters": summary["model"]["parameters"],
                     "core_parameters": build_model(cfg.model, cfg.tasks).core
                     .parameters_at(cfg.model.hidden_size),
                     "ms_per_step_paired": round(paired[c], 1),
                     "ms_per_iteration_run": round(1000 * summary["seconds"]
                                                   / summary["iterations"], 1),
                     "iterations": summary["iterations"],
                     **{f"acc_{s}": round(100 * a, 1) for s, a in acc.items()
                        if isinstance(a, int | float)},
                     "met_criterion": summary["met_criterion"]})
        print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
