"""Training speed: feature cache vs backbone in the loop, and the quick profile.

Usage:
    python benchmarks/bench_training.py [--steps 5] [--batch 128] [--quick-profile]

1. Time per training iteration of the same model on the same batches, with frames read
   from the feature cache vs passed through the frozen backbone every step (online
   mode). Both use the full backbone channels (no channel PCA) so they differ only in
   where the maps come from.
2. With --quick-profile: the wall time of ``wmgeom run`` (quick profile) end to end
   in a fresh cache folder, and the accuracies it reached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from wmgeom.pipeline import prepare

from wmgeom.config import make_config
from wmgeom.train.nback import build_data, build_model, nback_loss


def seconds_per_step(data, config, steps: int) -> float:
    torch.manual_seed(0)
    model = build_model(config.model, config.tasks)
    model.to(data.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nback_loss(data)
    rng = np.random.default_rng(0)
    batches = [data.mixture.sample(config.train.batch_size, "train", rng) for _ in range(steps + 1)]
    times = []
    for batch in batches:
        start = time.perf_counter()
        loss, _ = loss_fn(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if data.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))  # first step warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--quick-profile", action="store_true")
    args = parser.parse_args()

    config = make_config("quick", {"model": {"channel_components": None},
                                   "train": {"batch_size": args.batch}})
    prep = prepare(config, progress=True)
    from wmgeom.models.registry import build_backbone

    cached = build_data(prep.cache, prep.stimset, config.tasks, prep.device)
    online = build_data(prep.cache, prep.stimset, config.tasks, prep.device,
                        backbone=build_backbone(config.model.backbone, config.model.weights))
    t_cache = seconds_per_step(cached, config, args.steps)
    t_online = seconds_per_step(online, config, max(1, args.steps // 2))
    print(f"device {prep.device}, torch threads {torch.get_num_threads()}, "
          f"batch {args.batch} trials x 6 frames, GRU-{config.model.hidden_size}, "
          f"{config.model.backbone} ({prep.cache.spec.channels} channels)")
    print(f"{'frames from':<28}{'s/iteration':>14}")
    print(f"{'feature cache':<28}{t_cache:>14.3f}")
    print(f"{'backbone in the loop':<28}{t_online:>14.3f}")
    print(f"speed-up of the cache: {t_online / t_cache:.1f}x")

    if args.quick_profile:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, WMGEOM_CACHE=str(Path(tmp) / "cache"))
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "wmgeom.cli", "run", "--out",
                            str(Path(tmp) / "run"), "--no-progress"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
        print(f"quick profile `wmgeom run` (fresh cache): {wall:.0f} s wall; "
              f"training {summary['seconds']:.0f} s, {summary['iterations']} iterations; "
              f"accuracy {summary['accuracy']}")


if __name__ == "__main__":
    main()
