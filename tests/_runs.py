"""Helpers that turn synthetic recordings (wmgeom.analysis.synthetic) into run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from wmgeom.tasks.vocabulary import SPLITS


def write_run(run_dir: Path, ds: xr.Dataset, *, metrics: bool = True,
              summary: bool = True, study: str | None = None) -> Path:
    """Write a run folder (activations.nc, config.yaml, metrics.csv, summary.json)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(run_dir / "activations.nc", engine="h5netcdf")
    config = {"model": {"architecture": ds.attrs.get("architecture")},
              "tasks": {"regime": ds.attrs.get("regime")}}
    if study:
        config["study"] = study
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    tasks = list(dict.fromkeys(ds["task"].values.tolist()))
    if metrics:
        rows = []
        for it in (0, 50, 100):
            for split in SPLITS:
                for task in tasks:
                    acc = min(0.99, 0.4 + it / 160)
                    rows.append({"iteration": it, "split": split, "task": task,
                                 "acc_executive": acc, "acc_all": acc, "loss": 1.1 - it / 150})
        pd.DataFrame(rows).to_csv(run_dir / "metrics.csv", index=False)
    if summary:
        acc = {split: {task: 0.9 for task in tasks} for split in SPLITS}
        (run_dir / "summary.json").write_text(json.dumps({"accuracy": acc}))
    return run_dir


def with_model(ds: xr.Dataset, model) -> xr.Dataset:
    """Replace states and outputs by those of ``model`` run on the recording's encodings.

    ``model`` is a :class:`~wmgeom.models.SensoryCognitiveModel`; the encodings carry the
    planted feature codes into its recurrent layer.
    """
    import torch

    with torch.no_grad():
        out = model.run(torch.as_tensor(ds["encoding"].values, dtype=torch.float32))
    ds = ds.copy()
    ds["hidden"] = (("trial", "frame", "unit"), out["hidden"].numpy())
    if out["cell"] is not None:
        ds["cell"] = (("trial", "frame", "unit"), out["cell"].numpy())
    ds["logits"] = (("trial", "frame", "action"), out["logits"].numpy())
    ds["probs"] = (("trial", "frame", "action"), out["logits"].softmax(-1).numpy())
    return ds
