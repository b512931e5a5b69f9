"""Training speed: the step of the model, paired, and the iterations to criterion of a grid.

Usage:
    python benchmarks/bench_training.py [--steps 30] [--threads 1] [--grid DIR] [--online]

1. Milliseconds per training step (forward, backward, clipping, optimiser) of the quick
   profile's GRU-128 on the same real batches (128 trials × 6 frames of the N-back mixture,
   feature-cache maps of 128 channels × 7 × 7), the variants stepped in turn so that they
   share the machine's state:

   - ``plain PyTorch``: the model as a user writes it — the 1×1 convolution, flatten and
     fully connected layer on every frame, ``torch.optim.AdamW`` as constructed by default;
   - ``every frame (previous)``: wmgeom's step before the distinct-frame gather — the product
     weight applied to every frame's map in the channels-first order (which copies the
     cache's channels-last maps), the default optimiser;
   - ``wmgeom float32``: the training step as :class:`~wmgeom.train.trainer.Trainer` runs it —
     each distinct (image, location) map of the batch encoded once and gathered, the product
     weight in the cache's channels-last layout, the fused AdamW kernel;
   - ``wmgeom bfloat16``: the same under ``torch.autocast(dtype=torch.bfloat16)``
     (``train.precision``); fast only where the hardware computes bfloat16 natively.

   Below them, the floor: the encoder's GEMM alone (forward and weight gradient) at the
   shapes of every frame and of the distinct frames, in float32 and bfloat16.
2. With ``--grid DIR`` (a finished ``wmgeom run --grid`` folder): iterations and seconds to
   the criterion per architecture × regime, over seeds, from its ``grid.csv``.
3. With ``--online``: the same model with the backbone in the loop (no feature cache).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from wmgeom.studies import nback
from wmgeom.studies.nback.driver import _data
from wmgeom.train.nback import build_data, build_model
from wmgeom.train.trainer import native_bfloat16


class PlainModel(torch.nn.Module):
    """The sensory-cognitive model as a plain PyTorch user writes it."""

    def __init__(self, reference):
        super().__init__()
        self.reduce, self.encoder = reference.reduce, reference.encoder
        self.core, self.readout = reference.core, reference.readout

    def forward(self, maps, task):
        b, t = maps.shape[:2]
        z = self.reduce(maps.flatten(0, 1)).flatten(1).view(b, t, -1)
        z = torch.cat([z, task[:, None].expand(b, t, task.shape[-1])], -1)
        return self.readout(self.core(self.encoder(z)))


def previous_forward(model, maps, task):
    """wmgeom's forward before the distinct-frame gather (kept here to time it): the product
    weight applied to every frame's map, channels first, the task vector per frame."""
    b, t, c = maps.shape[:3]
    pixels = maps.shape[3] * maps.shape[4]
    fc, norm = model.encoder[0], model.encoder[1]
    k, out = model.hidden_size, fc.out_features
    w_map = fc.weight[:, : k * pixels].view(out, k, pixels)
    w_eff = torch.einsum("okp,kc->ocp", w_map, model.reduce.weight[:, :, 0, 0])
    b_eff = fc.bias + torch.einsum("okp,k->o", w_map, model.reduce.bias)
    z = maps.reshape(b * t, c * pixels) @ w_eff.reshape(out, -1).T + b_eff
    task = task[:, None, :].expand(b, t, task.shape[-1]).reshape(b * t, -1)
    z = z + task @ fc.weight[:, k * pixels:].T
    return model.readout(model.core(norm(z.view(b, t, out))))


def variants(config, data, batches):
    """``name -> step()`` closures, each with its own copy of the same initial model."""
    steps = {}

    def make(name, forward, fused_adam, bf16=False):
        torch.manual_seed(0)
        model = build_model(config.model, config.tasks)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused_adam or None)
        it = iter(range(10**9))

        def step():
            batch = batches[next(it) % len(batches)]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = forward(model, batch)
                loss = F.cross_entropy(logits.flatten(0, 1).float(),
                                       batch["target"].flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss.item()

        steps[name] = step

    make("plain PyTorch", lambda m, b: PlainModel(m)(b["every"], b["task"]), False)
    make("every frame (previous)", lambda m, b: previous_forward(m, b["every"], b["task"]),
         False)
    make("wmgeom float32", lambda m, b: m(**b["inputs"]), True)
    make("wmgeom bfloat16", lambda m, b: m(**b["inputs"]), True, bf16=True)
    return steps


def real_batches(data, n, batch_size):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        batch = data.mixture.sample(batch_size, "train", rng)
        inputs = data.inputs(batch)
        every = inputs["maps"][inputs["frame_index"]]  # the cache's layout (channels last)
        out.append({"inputs": inputs, "every": every, "task": inputs["task_vector"],
                    "target": data.targets(batch)})
    return out


def gemm_floor(rows: int, cols: int, out: int, repeats: int = 10) -> dict[str, float]:
    """ms of ``X[rows, cols] @ W.T`` plus its weight gradient, float32 and bfloat16."""
    result = {}
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(rows, cols).to(dtype)
        w = torch.randn(out, cols, dtype=dtype)
        g = torch.randn(rows, out, dtype=dtype)
        times = []
        for _ in range(repeats + 2):
            start = time.perf_counter()
            _ = x @ w.T
            _ = g.T @ x
            times.append(time.perf_counter() - start)
        result[str(dtype).removeprefix("torch.")] = 1e3 * float(np.median(times[2:]))
    return result


def criterion_table(grid_dir: Path) -> pd.DataFrame:
    table = pd.read_csv(grid_dir / "grid.csv")
    table["met"] = table["met_criterion"].fillna(False).astype(bool)
    return (table.groupby(["architecture", "regime"], sort=False)
            .agg(seeds=("seed", "nunique"), met=("met", "sum"),
                 iterations_to_criterion=("iterations_to_criterion", "mean"),
                 iterations_min=("iterations_to_criterion", "min"),
                 iterations_max=("iterations_to_criterion", "max"),
                 seconds=("seconds", "mean"))
            .round(1).reset_index())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a grid "
                        "worker uses one per core)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--grid", type=Path, default=None, help="a finished grid folder")
    parser.add_argument("--online", action="store_true", help="also time the backbone in "
                        "the loop")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = nback.make_config("quick", {"train": {"batch_size": args.batch}})
    prep = nback.prepare(config, progress=False)
    data = _data(prep, config, online=False)
    batches = real_batches(data, 8, args.batch)
    steps = variants(config, data, batches)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(args.steps + 3):
        for name, step in steps.items():  # in turn: every variant sees the same machine
            start = time.perf_counter()
            step()
            if round_ >= 3:
                times[name].append(time.perf_counter() - start)
    ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    distinct = float(np.mean([b["inputs"]["maps"].shape[0] for b in batches]))
    frames = args.batch * config.tasks.length
    cols = data.maps.shape[1] * data.maps.shape[2] * data.maps.shape[3]
    print(f"CPU threads {torch.get_num_threads()}, native bfloat16: "
          f"{native_bfloat16('cpu')}, torch {torch.__version__}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print(f"batch {args.batch} trials x {config.tasks.length} frames = {frames} frames, "
          f"{distinct:.0f} distinct on average; maps {tuple(data.maps.shape[1:])}; "
          f"GRU-{config.model.hidden_size}; median of {args.steps} steps")
    print(f"{'step':<28}{'ms':>9}{'vs plain':>10}{'vs previous':>13}")
    for name, value in ms.items():
        print(f"{name:<28}{value:>9.1f}{ms['plain PyTorch'] / value:>9.2f}x"
              f"{ms['every frame (previous)'] / value:>12.2f}x")
    for label, rows in (("every frame", frames), ("distinct frames", round(distinct))):
        floor = gemm_floor(rows, cols, config.model.hidden_size)
        print(f"encoder GEMM floor, {label} ({rows} x {cols} x {config.model.hidden_size}, "
              f"forward + weight gradient): " +
              ", ".join(f"{k} {v:.1f} ms" for k, v in floor.items()))

    if args.online:
        from wmgeom.models.registry import build_backbone

        online = build_data(prep.cache, prep.stimset, config.tasks, prep.device,
                                  backbone=build_backbone(config.model.backbone,
                                                          config.model.weights))
        torch.manual_seed(0)
        model = build_model(config.model, config.tasks)
        batch = data.mixture.sample(args.batch, "train", np.random.default_rng(1))
        start = time.perf_counter()
        for _ in range(3):
            F.cross_entropy(model(**online.inputs(batch)).flatten(0, 1),
                            online.targets(batch).flatten()).backward()
        print(f"backbone in the loop: {1e3 * (time.perf_counter() - start) / 3:.0f} ms/step")

    if args.grid is not None:
        print(f"\niterations and seconds to criterion ({args.grid / 'grid.csv'}):")
        print(criterion_table(args.grid).to_string(index=False))


if __name__ == "__main__":
    main()
