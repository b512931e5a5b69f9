"""The paper grid: sweeps over architectures × regimes × hidden sizes × seeds (SPEC R4, U6).

Every grid point is an ordinary run directory (train + record) under the sweep folder.
Points run in parallel local processes by default, or as Ray tasks on a cluster with
``use_ray=True``; their ``summary.json`` files are gathered into one table,
``sweep.csv``. A finished point is skipped, so an interrupted sweep continues where it
stopped.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from wmgeom.config import deep_merge
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import write_table
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.studies.nback import NBackConfig


def grid_points(
    architectures: Sequence[str], regimes: Sequence[str], seeds: Sequence[int],
    hidden_sizes: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Every combination; ``hidden_sizes=None`` uses the paper's size per architecture."""
    points = []
    for arch, regime, seed in itertools.product(architectures, regimes, seeds):
        for h in hidden_sizes or [ARCHITECTURES[arch].paper_hidden_size]:
            points.append({"architecture": arch, "regime": regime, "hidden_size": int(h),
                           "seed": int(seed)})
    return points


def point_config(base: NBackConfig, point: dict[str, Any]) -> NBackConfig:
    """``base`` with one grid point's architecture, regime, size and seed."""
    tasks = {"regime": point["regime"]}
    if point["regime"] == "STSF" and base.tasks.task is None:
        tasks["task"] = "nback-2-identity"
    if point["regime"] == "STMF" and base.tasks.n is None:
        tasks["n"] = 2
    data = deep_merge(base.model_dump(mode="json"), {
        "model": {"architecture": point["architecture"], "hidden_size": point["hidden_size"]},
        "tasks": tasks,
        "train": {"seed": point["seed"]},
    })
    return validated(NBackConfig, data, "sweep")


def point_name(point: dict[str, Any]) -> str:
    return (f"{point['architecture']}-{point['hidden_size']}_{point['regime']}"
            f"_seed{point['seed']}")


def run_point(config_json: str, run_dir: str, threads: int) -> dict[str, Any]:
    """Train and record one grid point (in a worker process or a Ray task)."""
    import torch

    from wmgeom.studies import nback

    torch.set_num_threads(threads)
    config = NBackConfig.model_validate_json(config_json)
    run_dir = Path(run_dir)
    done = run_dir / "activations.nc"
    if not done.is_file():
        resume = (run_dir / "checkpoints" / "last.pt").is_file()
        nback.run(config, run_dir, resume=resume, progress=False, with_analysis=False)
    return json.loads((run_dir / "summary.json").read_text())


def sweep(
    base: NBackConfig, out: str | Path, points: list[dict[str, Any]], jobs: int | None = None,
    use_ray: bool = False, progress: bool = True,
) -> pd.DataFrame:
    """Run every grid point and gather one table (also written to ``OUT/sweep.csv``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    configs = {point_name(p): (p, point_config(base, p)) for p in points}
    results: dict[str, dict[str, Any]] = {}
    if use_ray:
        try:
            import ray
        except ImportError:
            raise WmgeomError("--ray needs Ray: pip install 'wmgeom[ray]' (and `ray start` on "
                              "the cluster), or drop --ray to run locally.") from None
        ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), ignore_reinit_error=True)
        remote = ray.remote(num_cpus=1, num_gpus=0)(run_point)
        futures = {name: remote.remote(c.model_dump_json(), str(out / name), 1)
                   for name, (_, c) in configs.items()}
        for name, fut in futures.items():
            results[name] = ray.get(fut)
    else:
        cores = os.cpu_count() or 1
        jobs = max(1, min(jobs or cores, len(configs)))
        threads = max(1, cores // jobs)
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(run_point, c.model_dump_json(), str(out / name), threads): name
                       for name, (_, c) in configs.items()}
            for fut in tqdm(as_completed(futures), total=len(futures), desc="sweep",
                            disable=not progress):
                results[futures[fut]] = fut.result()
    rows = []
    for name, (point, _) in configs.items():
        s = results[name]
        rows.append({"run": name, **point, "parameters": s["model"]["parameters"],
                     "iterations": s["iterations"], "seconds": s["seconds"],
                     **{f"acc_{k}": v for k, v in s["accuracy"].items()}})
    table = pd.DataFrame(rows)
    write_table(table, out / "sweep.csv")
    return table
