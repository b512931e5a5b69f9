"""Trial-generation benchmark: N-back sequences, wmgeom vs iWISDM.

Both sides make six-frame N-back sequences of the nine tasks (N in 1, 2, 3 × location,
identity, category) from the same rendered stimulus folder in iWISDM layout:

* **wmgeom**: ``make_regime("MTMF", stimuli).sample(256)``, the model-ready batch the trainer
  consumes (stimulus indices into the feature cache, labels, targets, task vectors).
* **iWISDM** (``iwisdm==0.1.3``): its ShapeNet environment, each N-back sequence composed
  the iWISDM way from ``6 - N`` two-frame comparison tasks (``CompareLocTemporal``,
  ``CompareObjectTemporal``, ``CompareCategoryTemporal`` with ``whens=[f"last{N}", "last0"]``)
  merged in time so that consecutive comparisons share frames, then rendered by
  ``env.generate_trials`` into six 224×224 canvases with per-frame answers.

iWISDM pins ``numpy<2`` and so runs in its own virtual environment, in a subprocess that
executes this same file with ``--iwisdm-worker`` (which imports only iWISDM and numpy)::

    python -m venv .bench-venv-iwisdm
    .bench-venv-iwisdm/bin/pip install iwisdm==0.1.3

or pass ``--create-iwisdm-venv`` to have this script do it. Run::

    python benchmarks/bench_tasks.py --iwisdm-python .bench-venv-iwisdm/bin/python

and the script renders the default stimulus set to an iWISDM folder (in a temporary folder
unless ``--folder`` is given), times both generators and prints a table of sequences/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IWISDM_REQUIREMENT = "iwisdm==0.1.3"
DEFAULT_IWISDM_VENV = ".bench-venv-iwisdm"
LENGTH = 6
N_VALUES = (1, 2, 3)
FEATURES = ("location", "identity", "category")


# --------------------------------------------------------------------------- iWISDM side
def iwisdm_worker(folder: str, n_sequences: int, seed: int) -> dict:
    """Generate N-back sequences with iWISDM (runs inside the iWISDM environment)."""
    import random

    import numpy as np
    from iwisdm import make
    from iwisdm.envs.shapenet import task_bank

    random.seed(seed)
    np.random.seed(seed)
    families = {"location": task_bank.CompareLocTemporal,
                "identity": task_bank.CompareObjectTemporal,
                "category": task_bank.CompareCategoryTemporal}
    env = make(env_id="ShapeNet", dataset_fp=folder)
    tasks = [(n, f) for n in N_VALUES for f in FEATURES]

    # how each feature reads off iWISDM's object records
    read = {"location": lambda o: tuple(o["space"]),
            "identity": lambda o: (o["category"], o["object"]),
            "category": lambda o: o["category"]}

    def sequence(n: int, feature: str):
        units = [families[feature](whens=[f"last{n}", "last0"], first_shareable=1)
                 for _ in range(LENGTH - n)]
        env.reset_env("train")  # draw objects from the training split, as rendered below
        infos = env.init_compositional_tasks(units)
        compo = infos[0]
        for info in infos[1:]:
            compo.merge(info)
        imgs, _, info = env.generate_trials(compositional_infos=[compo], mode="train")[0]
        return np.asarray(imgs), info

    def is_nback(imgs, info, n: int, feature: str) -> bool:
        """Six canvases, one object per frame, answers = N-back targets of the objects."""
        objects = sorted((o["obj"] for o in info["objects"]), key=lambda o: o["epochs"])
        if imgs.shape != (LENGTH, 224, 224, 3) or [o["epochs"] for o in objects] != list(range(LENGTH)):
            return False
        values = [read[feature](o) for o in objects]
        expected = ["null"] * n + ["true" if values[t] == values[t - n] else "false"
                                   for t in range(n, LENGTH)]
        return info["answers"] == expected

    sequence(1, "location")  # warm up imports and caches
    failures, well_formed, matches, executive = 0, 0, 0, 0
    start = time.perf_counter()
    outputs = []
    for i in range(n_sequences):
        n, feature = tasks[i % len(tasks)]
        try:
            outputs.append((n, feature, *sequence(n, feature)))
        except Exception:  # iWISDM's composition occasionally cannot reuse an object
            failures += 1
    seconds = time.perf_counter() - start
    for n, feature, imgs, info in outputs:  # checked after timing
        well_formed += is_nback(imgs, info, n, feature)
        matches += sum(a == "true" for a in info["answers"][n:])
        executive += LENGTH - n
    produced = n_sequences - failures
    return {"sequences": produced, "failures": failures, "seconds": seconds,
            "sequences_per_s": produced / seconds, "well_formed": well_formed,
            "match_rate": matches / max(executive, 1),
            "numpy": np.__version__, "python": platform.python_version()}


def run_iwisdm(python: str, folder: Path, n_sequences: int, seed: int) -> dict:
    """Run :func:`iwisdm_worker` in the iWISDM interpreter and parse its JSON result."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [python, __file__, "--iwisdm-worker", "--folder", str(folder),
         "--iwisdm-sequences", str(n_sequences), "--seed", str(seed)],
        capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"iWISDM worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def create_iwisdm_venv(path: Path) -> Path:
    """Create a virtual environment with iWISDM (needs access to a package index)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", IWISDM_REQUIREMENT], check=True)
    return python


# --------------------------------------------------------------------------- wmgeom side
def prepare_folder(folder: Path | None, workdir: Path) -> tuple[object, Path]:
    """Render (or load from the cache) the default stimulus set, written in iWISDM layout."""
    from wmgeom.stimuli import render_to_folder

    target = folder if folder is not None else workdir / "iwisdm_stimuli"
    stimuli = render_to_folder(target, progress=False)
    return stimuli, target


def time_wmgeom(stimuli: object, batch_size: int, seconds: float, seed: int) -> dict:
    """Sequences/s of MTMF batches (all nine tasks) from the wmgeom sampler, one core."""
    import numpy as np

    from wmgeom.tasks import make_regime

    mixture = make_regime("MTMF", stimuli, length=LENGTH, n_values=N_VALUES)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        mixture.sample(batch_size, rng=rng)
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(100):
            mixture.sample(batch_size, rng=rng)
        rates.append(100 * batch_size / (time.perf_counter() - start))
    check = [mixture.sample(batch_size, rng=rng) for _ in range(100)]
    match_rate = float(np.mean([(b.target[b.executive] == 2).mean() for b in check]))
    return {"sequences_per_s": float(np.median(rates)), "batches": 100 * len(rates),
            "batch_size": batch_size, "match_rate": match_rate, "numpy": np.__version__}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iwisdm-python", help="interpreter of a venv with iwisdm installed")
    parser.add_argument("--create-iwisdm-venv", action="store_true",
                        help=f"create {DEFAULT_IWISDM_VENV} with {IWISDM_REQUIREMENT} first")
    parser.add_argument("--folder", type=Path, help="iWISDM stimulus folder to write and use")
    parser.add_argument("--iwisdm-sequences", type=int, default=450)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=5.0, help="timing budget for wmgeom")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iwisdm-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.iwisdm_worker:
        print(json.dumps(iwisdm_worker(str(args.folder), args.iwisdm_sequences, args.seed)))
        return

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    python = args.iwisdm_python
    if args.create_iwisdm_venv:
        python = str(create_iwisdm_venv(Path(DEFAULT_IWISDM_VENV)))
    with tempfile.TemporaryDirectory() as tmp:
        stimuli, folder = prepare_folder(args.folder, Path(tmp))
        ours = time_wmgeom(stimuli, args.batch_size, args.seconds, args.seed)
        theirs = run_iwisdm(python, folder, args.iwisdm_sequences, args.seed) if python else None

    print(f"Trial generation: 9 N-back tasks, {LENGTH} frames, "
          f"{os.cpu_count()} CPU cores, one process each")
    print(f"{'generator':<34}{'sequences/s':>14}{'match rate':>12}")
    print(f"{'wmgeom (batch ' + str(args.batch_size) + ', indices)':<34}"
          f"{ours['sequences_per_s']:>14,.0f}{ours['match_rate']:>12.3f}")
    if theirs is None:
        print("iWISDM: skipped (pass --iwisdm-python or --create-iwisdm-venv)")
        return
    print(f"{'iWISDM 0.1.3 (rendered canvases)':<34}"
          f"{theirs['sequences_per_s']:>14,.1f}{theirs['match_rate']:>12.3f}")
    ratio = ours["sequences_per_s"] / theirs["sequences_per_s"]
    print(f"{'ratio (wmgeom / iWISDM)':<34}{ratio:>14,.0f}×   target ≥ 10,000×")
    print(f"iWISDM: {theirs['sequences']} sequences ({theirs['well_formed']} well-formed N-back, "
          f"{theirs['failures']} composition failures) in {theirs['seconds']:.1f} s")


if __name__ == "__main__":
    main()
