"""The paper grid: architectures × regimes (× sizes × seeds) trained, analysed and compared together.

``wmgeom run --grid --out DIR`` trains every grid point as an ordinary N-back run directory
under ``DIR/runs/``, gathers their summaries into ``DIR/grid.csv``, analyses every
recording together (``DIR/analysis/``, with the findings judged over the grid's models and
seeds) and writes one ``DIR/report.html`` with the comparative figures of Lei et al. 2024
(Figs. 2a–c, 3b, 4g, A1c, A2, A4). Points run in parallel local processes (stimuli and
features prepared once per process) or as Ray tasks; a finished point is skipped and an
interrupted one resumes from its checkpoint, so an interrupted grid continues where it
stopped.

``tasks`` lists the task families the grid trains (default ``nback``; ``--tasks nback,dms``
adds delayed match-to-sample): every family runs the regimes it defines (DMS: STSF and MTMF),
and each family other than N-back is analysed and reported on its own, under
``DIR/<family>/``, so its models never enter the N-back findings.

Every point trains until it meets the criterion of Lei et al. 2024 — every task above 95%
on the training images and 90% on novel view angles, on executive frames of fixed
evaluation trials — or reaches the iteration cap. The grid table and the report give each
run's iterations to criterion; the findings are computed on the runs that met it, and the
others are listed with the reason (``analyze_unmet`` pools them, marked, instead).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import socket
import time
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing.process import BaseProcess as Process
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from wmgeom.config import StrictModel, deep_merge
from wmgeom.config import make_config as _make_config
from wmgeom.errors import WmgeomError, validated
from wmgeom.io import read_json, write_json_atomic, write_table
from wmgeom.models.registry import ARCHITECTURES
from wmgeom.studies import nback
from wmgeom.studies.base import check_out_dir, claimed_run_dir
from wmgeom.studies.nback import report
from wmgeom.studies.nback.driver import analyze_held
from wmgeom.tasks.registry import FAMILIES, REGIMES
from wmgeom.train.nback import EvalConfig
from wmgeom.validation import Seed, check_unique

__all__ = ["PROFILES", "GridConfig", "criterion_runs", "grid_points", "load_config", "make_config",
           "point_config", "point_name", "report", "run", "run_points"]


def _known(values: list[str], registry: Collection[str], what: str) -> list[str]:
    """``values`` if it is non-empty and every value is registered (a config validator)."""
    unknown = [v for v in values if v not in registry]
    if unknown or not values:
        raise ValueError(f"unknown {what} {unknown}; choose from {', '.join(registry)}")
    return values


class GridConfig(StrictModel):
    """The paper grid (``study: nback-grid``).

    Attributes:
        architectures: Registered architectures to train.
        tasks: Task families (``nback``, ``dms``, ...); each trains the grid's regimes it
            defines.
        regimes: Training regimes (Lei et al. 2024: STSF, STMF, MTMF).
        sizes: Hidden sizes; ``None`` uses ``base.model.hidden_size`` for every
            architecture; ``"paper"`` the sizes Lei et al. 2024 analyse (512 vanilla RNN, 256
            GRU and LSTM). Several sizes give the accuracy-vs-parameters series of Fig. A1c.
        seeds: Training seeds (repeats of every point: the independent models the findings
            count; three by default).
        stsf_task: The task of the N-back STSF models (the paper's Fig. 2b shows one task);
            other families' STSF models train their family's ``stsf_task``.
        stmf_n: The N of the STMF models.
        jobs: Parallel local worker processes (default: one per CPU core).
        analyze_unmet: Analyse the runs that did not meet the training criterion too (they
            stay marked in the models table); by default they are left out and listed.
        base: The N-back config every point starts from (its profile's values, then the
            grid profile's ``base`` overrides, then the file's).
    """

    study: Literal["nback-grid"] = "nback-grid"
    profile: Literal["quick", "paper"] = "quick"
    architectures: list[str] = Field(default_factory=lambda: [
        name for name, info in ARCHITECTURES.items() if info.in_paper])
    tasks: list[str] = Field(default_factory=lambda: ["nback"])
    regimes: list[str] = Field(default_factory=lambda: list(REGIMES))
    sizes: list[int] | Literal["paper"] | None = None
    seeds: list[Seed] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    stsf_task: str = "nback-2-identity"
    stmf_n: int = 2
    jobs: int | None = Field(None, ge=1)
    analyze_unmet: bool = False
    base: nback.NBackConfig = Field(default_factory=nback.NBackConfig)

    @field_validator("architectures")
    @classmethod
    def _known_architectures(cls, v: list[str]) -> list[str]:
        return _known(v, ARCHITECTURES, "architectures")

    @field_validator("tasks")
    @classmethod
    def _known_families(cls, v: list[str]) -> list[str]:
        return _known(v, FAMILIES, "task families")

    @field_validator("regimes")
    @classmethod
    def _known_regimes(cls, v: list[str]) -> list[str]:
        v = [r.upper() for r in v]
        unknown = [r for r in v if r not in REGIMES]
        if unknown or not v:
            raise ValueError(f"unknown regimes {unknown}; choose from {', '.join(REGIMES)}")
        return v

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, v):
        if isinstance(v, list) and (not v or any(s < 1 for s in v)):
            raise ValueError(f"sizes must be positive integers, got {v}")
        return v

    @field_validator("architectures", "tasks", "regimes", "sizes", "seeds", mode="after")
    @classmethod
    def _each_once(cls, v):
        # a point twice would be one run folder trained and counted twice
        return check_unique(v) if isinstance(v, list) else v

    @model_validator(mode="after")
    def _points_are_valid(self) -> GridConfig:
        for family in self.tasks:
            if not any(r in FAMILIES[family].regimes for r in self.regimes):
                raise ValueError(f"the {family} task family has none of the regimes "
                                 f"{self.regimes}; add one of "
                                 f"{', '.join(FAMILIES[family].regimes)}")
        for point in grid_points(self):  # every point's config must validate now
            point_config(self, point)
        return self


CAP = 6000
"""The quick grid's iteration cap: a run that has not met the criterion by then stops and is
listed, not analysed."""
MILESTONE = 4000
"""The quick grid's learning-rate decay (×0.1) for the runs still training there."""

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "base": {
            "profile": "quick",
            "train": {"iterations": CAP, "milestones": [MILESTONE], "early_stop": True,
                      "eval_every": 100, "checkpoint_every": 500},
        },
    },
    "paper": {
        "sizes": "paper",
        "base": {"profile": "paper"},
    },
}
"""Named grid profiles. ``quick``: the quick N-back profile, every model trained to the
criterion (evaluated every 100 iterations) with a cap of ``CAP`` iterations;
``paper``: the paper's setup and sizes (512 vanilla, 256 gated) for a GPU."""


def _with_base_profile(profile: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Grid overrides whose ``base`` starts from the N-back profile of the same name."""
    base = nback.make_config(profile).model_dump(mode="json")
    over = dict(overrides or {})
    grid_base = deep_merge(PROFILES[profile].get("base", {}), over.pop("base", {}) or {})
    return {**over, "base": deep_merge(base, grid_base)}


def make_config(profile: str = "quick", overrides: Mapping[str, Any] | None = None
                ) -> GridConfig:
    """The grid profile's config with ``overrides`` (a nested dict) applied and validated."""
    if not isinstance(profile, str) or profile not in PROFILES:
        shown = f"'{profile}'" if isinstance(profile, str) else repr(profile)
        raise WmgeomError(f"unknown profile {shown}; choose one of {', '.join(PROFILES)}.")
    profiles = {p: {k: v for k, v in PROFILES[p].items() if k != "base"} for p in PROFILES}
    return _make_config(GridConfig, profiles, profile, _with_base_profile(profile, overrides),
                        prefix="grid config")


def load_config(path: str | Path | None = None, profile: str | None = None) -> GridConfig:
    """Profile (argument, else the file's ``profile``, else quick) + a YAML file's keys."""
    from wmgeom.io import read_yaml

    data = read_yaml(path) if path else {}
    profile = profile or data.pop("profile", None) or "quick"
    data.pop("profile", None)
    return make_config(profile, data)


# --------------------------------------------------------------------------- points


def grid_points(grid: GridConfig) -> list[dict[str, Any]]:
    """Every task family × architecture × regime × size × seed, in that order (a family
    runs only the regimes it defines)."""
    points = []
    for family, arch, regime, seed in itertools.product(grid.tasks, grid.architectures,
                                                        grid.regimes, grid.seeds):
        if regime not in FAMILIES[family].regimes:
            continue
        if grid.sizes == "paper":
            # a core the paper does not train: the base size (matched to the GRU there)
            sizes = [ARCHITECTURES[arch].paper_hidden_size or grid.base.model.hidden_size]
        else:
            sizes = grid.sizes or [grid.base.model.hidden_size]
        for h in sizes:
            points.append({"family": family, "architecture": arch, "regime": regime,
                           "hidden_size": int(h), "seed": int(seed)})
    return points


def point_config(grid: GridConfig, point: Mapping[str, Any]) -> nback.NBackConfig:
    """The grid's base config with one point's task family, architecture, regime, size and
    seed."""
    family = FAMILIES[point.get("family", "nback")]
    tasks: dict[str, Any] = {"family": family.name, "regime": point["regime"], "task": None,
                             "n": None}
    if point["regime"] == "STSF":
        tasks["task"] = grid.stsf_task if family.owns(grid.stsf_task) else family.stsf_task
    if point["regime"] == "STMF":
        tasks["n"] = grid.stmf_n
    data = deep_merge(grid.base.model_dump(mode="json"), {
        "model": {"architecture": point["architecture"], "hidden_size": point["hidden_size"]},
        "tasks": tasks,
        "train": {"seed": point["seed"]},
    })
    return validated(nback.NBackConfig, data, f"grid point {point_name(point)}")


def point_name(point: Mapping[str, Any]) -> str:
    """The run directory name of a point, e.g. ``gru-128_MTMF_seed0`` (N-back) or
    ``gru-128_dms-MTMF_seed0`` (another family)."""
    tag = FAMILIES[point.get("family", "nback")].run_tag
    return (f"{point['architecture']}-{point['hidden_size']}_{tag}{point['regime']}"
            f"_seed{point['seed']}")


def _finished(run_dir: Path) -> bool:
    return (run_dir / nback.ACTIVATIONS_FILE).is_file() and \
        bool(read_json(run_dir / "summary.json", "run summary", "delete the run folder"))


# --------------------------------------------------------------------------- workers

_PREPARED: dict[str, nback.Prepared] = {}


def _prepared(config: nback.NBackConfig) -> nback.Prepared:
    """Stimuli and features of ``config``, loaded once per worker process."""
    key = config.model_dump_json(include={"stimuli", "model", "device"})
    key = key + str(config.model.backbone)
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = nback.prepare(config, progress=False)
    return _PREPARED[key]


def run_point(config_json: str, run_dir: str, threads: int) -> dict[str, Any]:
    """Train and record one grid point (in a worker process or a Ray task); its summary.

    A point with a recording is skipped; one with a checkpoint resumes from it.
    """
    import torch

    torch.set_num_threads(threads)
    config = nback.NBackConfig.model_validate_json(config_json)
    run_dir = Path(run_dir)
    if not _finished(run_dir):
        resume = (run_dir / "checkpoints" / "last.pt").is_file()
        prep = _prepared(config)
        _, trained = nback.train_run(config, run_dir, prep, resume=resume, progress=False)
        nback.record(trained, progress=False)
    return read_json(run_dir / "summary.json", "run summary", "delete the run folder")


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``RAY_ADDRESS`` whose ``host:port`` takes no connection (Ray itself retries
    for minutes there); ``auto`` and addresses without a port are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise WmgeomError(f"cannot reach the Ray cluster at RAY_ADDRESS={address} "
                          f"({exc.strerror or exc}); start it with `ray start --head`, or unset "
                          "RAY_ADDRESS to run a local Ray instance") from None


def _connect_ray():
    """A Ray connection: the cluster of ``RAY_ADDRESS``, or a local one on 127.0.0.1."""
    try:
        import ray
    except ImportError:
        raise WmgeomError("--ray needs Ray: pip install 'wmgeom[ray]', or drop --ray to run "
                          "locally") from None
    if ray.is_initialized():
        return ray, False
    address = os.environ.get("RAY_ADDRESS")
    if address:
        _check_reachable(address)
    try:
        if address:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1",
                     log_to_driver=False)
    except ConnectionError as exc:
        raise WmgeomError(f"cannot reach the Ray cluster at RAY_ADDRESS={address} ({exc}); "
                          "start it with `ray start --head`, or unset RAY_ADDRESS to run a "
                          "local Ray instance") from None
    return ray, True


def _stop_on_sigterm() -> None:
    """In a worker: SIGTERM stops the point as Ctrl-C does (the write under way removes its
    temporary; the last checkpoint stays for a resume)."""
    import signal

    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum, frame) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the worker
    raise KeyboardInterrupt


def _stop_workers(pool: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """Stop the pool's workers now: a first SIGTERM stops their points (removing the
    temporary of the write under way), a second ends the processes; then leave without
    waiting for the pool."""
    processes = [p for p in (getattr(pool, "_processes", None) or {}).values() if p.is_alive()]
    for process in processes:
        process.terminate()
    for signal_again in (Process.terminate, Process.kill):
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                signal_again(process)
    for process in processes:
        process.join(grace_s)
    pool.shutdown(wait=True, cancel_futures=True)  # the workers are gone: at once


def run_points(grid: GridConfig, out: Path, jobs: int | None = None, use_ray: bool = False,
               progress: bool = True) -> dict[str, dict[str, Any]]:
    """Train and record every point under ``out/runs``; their summaries by run name."""
    from wmgeom.io import clean_stale_temporaries, progress_bar

    points = grid_points(grid)
    configs = {point_name(p): point_config(grid, p) for p in points}
    runs = out / "runs"
    todo = {n: c for n, c in configs.items() if not _finished(runs / n)}
    results = {n: read_json(runs / n / "summary.json") for n in configs if n not in todo}
    if todo:
        # stimuli and features once for the whole grid; workers read them from the caches
        nback.prepare(next(iter(todo.values())), progress=progress)
    clean_stale_temporaries(runs)
    bar = progress_bar(len(configs), "grid", "run", progress)
    bar.update(len(results))
    try:
        if use_ray and todo:
            ray, started = _connect_ray()
            try:
                remote = ray.remote(num_cpus=1, num_gpus=0)(run_point)
                futures = {remote.remote(c.model_dump_json(), str(runs / n), 1): n
                           for n, c in todo.items()}
                pending = list(futures)
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    results[futures[done[0]]] = ray.get(done[0])
                    bar.update(1)
            finally:
                if started:
                    ray.shutdown()
        elif todo:
            cores = os.cpu_count() or 1
            jobs = max(1, min(jobs or grid.jobs or cores, len(todo)))
            threads = max(1, cores // jobs)
            ctx = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                                       initializer=_stop_on_sigterm)
            try:
                futures = {pool.submit(run_point, c.model_dump_json(), str(runs / n),
                                       threads): n for n, c in todo.items()}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
            except BaseException:  # a signal or an error: stop the points under way now
                _stop_workers(pool)
                raise
            pool.shutdown()
    finally:
        bar.close()
    return {n: results[n] for n in configs}


def gather(grid: GridConfig, out: Path, summaries: Mapping[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per run: the point, its size, training and accuracies (``grid.csv``)."""
    rows = []
    for point in grid_points(grid):
        name = point_name(point)
        s = summaries[name]
        rows.append({"run": name, **point, "parameters": s["model"]["parameters"],
                     "iterations": s["iterations"], "seconds": s["seconds"],
                     "stopped_early": s.get("stopped_early"),
                     "met_criterion": s.get("met_criterion"),
                     "iterations_to_criterion": s.get("iterations_to_criterion"),
                     **{f"acc_{k}": v for k, v in s["accuracy"].items()},
                     **{f"acc_{k}_min_task": min(v.values())
                        for k, v in s.get("accuracy_per_task", {}).items()}})
    table = pd.DataFrame(rows)
    write_table(table, out / "grid.csv")
    return table


def criterion_runs(table: pd.DataFrame, analyze_unmet: bool = False,
                   criterion: EvalConfig | None = None) -> tuple[list[str], pd.DataFrame]:
    """The runs of a grid table to analyse, and the runs left out with the reason.

    A run is analysed if it met the training criterion (``met_criterion``), or with
    ``analyze_unmet``; a run trained before the criterion was recorded (no value) is judged
    by its held-out worst-task accuracies against the thresholds of ``criterion`` (the
    grid's evaluation settings; the paper's 95% / 90% by default).
    """
    criterion = criterion or EvalConfig()
    reasons = {}
    for _, row in table.iterrows():
        met = row.get("met_criterion")
        if met is None or pd.isna(met):
            met = bool(row.get("acc_train_min_task", 0) > criterion.criterion_train
                       and row.get("acc_val_angle_min_task", 0)
                       > criterion.criterion_val_angle)
        if not met and not analyze_unmet:
            reasons[row["run"]] = (
                f"did not meet the criterion in {int(row['iterations'])} iterations (worst "
                f"task {_percent(row.get('acc_train_min_task'))} train, "
                f"{_percent(row.get('acc_val_angle_min_task'))} novel angles)")
    kept = [r for r in table["run"] if r not in reasons]
    excluded = pd.DataFrame({"run": list(reasons), "reason": list(reasons.values())},
                            columns=["run", "reason"])
    return kept, excluded


def _percent(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


def run(config: GridConfig, out: str | Path, resume: bool = False, progress: bool = True,
        jobs: int | None = None, use_ray: bool = False) -> dict[str, Any]:
    """Train, record, analyse and report the whole grid into ``out``.

    Args:
        config: The grid.
        out: The grid folder.
        resume: Continue an interrupted grid (finished points are always kept).
        progress: Progress bars.
        jobs: Parallel local processes (default ``config.jobs``, else one per core).
        use_ray: Run the points as Ray tasks (``RAY_ADDRESS``'s cluster, or a local one).

    Returns:
        The grid summary written to ``out/summary.json``.
    """
    out = Path(out)
    start = time.perf_counter()
    # the grid's own folder may take a grown grid; each point's folder is owned by its config
    with claimed_run_dir(out, config, resume=True, extendable=True):
        summaries = run_points(config, out, jobs=jobs, use_ray=use_ray, progress=progress)
        table = gather(config, out, summaries)
        trained = time.perf_counter() - start
        analysed_runs, excluded = criterion_runs(table, config.analyze_unmet,
                                                 config.base.eval)
        if not analysed_runs:
            write_json_atomic(out / "summary.json", {
                "study": "nback-grid", "runs": len(table), "analysed": 0,
                "excluded": dict(zip(excluded["run"], excluded["reason"], strict=True))})
            raise WmgeomError(
                f"no run of the grid met the training criterion (>{config.base.eval.criterion_train:.0%} "
                f"train, >{config.base.eval.criterion_val_angle:.0%} novel angles on every task) "
                f"within {config.base.train.iterations} iterations; see {out / 'grid.csv'}. "
                "Raise base.train.iterations, or pass analyze_unmet: true to analyse them marked")
        for folder, runs in family_folders(config, out, analysed_runs).items():
            left_out = excluded[excluded["run"].isin(_family_runs(config, folder, out))]
            analyze_held([out / "runs" / name for name in runs], folder, None, None, True,
                         progress, jobs or config.jobs or os.cpu_count() or 1,
                         excluded=left_out)
            report(folder)
        analysed = time.perf_counter() - start - trained
        summary = {"study": "nback-grid", "runs": len(table), "analysed": len(analysed_runs),
                   "excluded": dict(zip(excluded["run"], excluded["reason"], strict=True)),
                   "train_seconds": round(trained, 1), "analysis_seconds": round(analysed, 1),
                   "total_seconds": round(time.perf_counter() - start, 1),
                   "accuracy": {c.removeprefix("acc_"): round(float(table[c].mean()), 4)
                                for c in ("acc_train", "acc_val_angle", "acc_val_identity")
                                if c in table}}
        write_json_atomic(out / "summary.json", summary)
    return summary


def _family_folder(grid: GridConfig, out: Path, point: Mapping[str, Any]) -> Path:
    """Where a point's family is analysed: the grid folder, or ``out/<family>`` for a family
    whose runs carry a tag (:attr:`~wmgeom.tasks.family.TaskFamily.run_tag`)."""
    family = FAMILIES[point.get("family", "nback")]
    return out / family.name if family.run_tag else out


def _family_runs(grid: GridConfig, folder: Path, out: Path) -> list[str]:
    return [point_name(p) for p in grid_points(grid) if _family_folder(grid, out, p) == folder]


def family_folders(grid: GridConfig, out: Path, runs: Sequence[str]) -> dict[Path, list[str]]:
    """The runs to analyse, grouped by the folder their task family is analysed and
    reported in (each family's findings are judged over its own models)."""
    folders: dict[Path, list[str]] = {}
    for point in grid_points(grid):
        if point_name(point) in runs:
            folders.setdefault(_family_folder(grid, out, point), []).append(point_name(point))
    return folders


def sweep(config: GridConfig, out: str | Path, jobs: int | None = None, use_ray: bool = False,
          progress: bool = True) -> pd.DataFrame:
    """Train and record the grid's points into ``out`` (no analysis); the ``grid.csv`` table.

    Raises:
        WmgeomError: If ``out`` cannot take the grid (:func:`claimed_run_dir`).
    """
    out = Path(out)
    check_out_dir(out)
    with claimed_run_dir(out, config, resume=True, extendable=True):
        summaries = run_points(config, out, jobs=jobs, use_ray=use_ray, progress=progress)
        return gather(config, out, summaries)


def sizes_option(text: str | None) -> list[int] | Literal["paper"] | None:
    """The ``--sizes`` option: ``paper``, comma-separated integers, or None."""
    if text is None:
        return None
    if text.strip() == "paper":
        return "paper"
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise WmgeomError(f"--sizes {text!r}: give comma-separated hidden sizes (e.g. "
                          "64,128,256) or 'paper'") from None


def merge_options(grid: GridConfig, **options: Sequence | None) -> GridConfig:
    """``grid`` with the command line's non-None options (architectures, seeds, ...) set."""
    data = grid.model_dump(mode="json")
    data.update({k: v for k, v in options.items() if v is not None})
    return validated(GridConfig, data, "grid")
