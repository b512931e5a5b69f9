"""Synthetic recordings with planted geometry, in the Activations schema of docs/design.md.

The hidden state at step ``t`` sums one embedding per earlier stimulus ``s <= t``; the
embedding of a feature value depends on the stimulus' *age* ``t - s`` (chronological
memory subspaces, seed 000 H2): the encoding space (age 0) is shared by all stimuli and
memory spaces rotate with age. Task-relevant features get a larger gain than irrelevant
ones, so both are decodable and relevant ones more so. The perceptual space embeds each
feature value along its own nearly orthogonal direction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
import yaml

FEATURES = ("location", "identity", "category")
ACTIONS = ("no_action", "non_match", "match")


def make_activations(
    tasks=("nback-1-location", "nback-1-identity", "nback-1-category"),
    trials_per_task: int = 60,
    n_frames: int = 6,
    n_units: int = 24,
    n_perc: int = 40,
    n_categories: int = 2,
    identities_per_category: int = 2,
    n_locations: int = 2,
    relevant_gain: float = 1.6,
    irrelevant_gain: float = 0.9,
    noise: float = 0.25,
    architecture: str = "gru",
    regime: str = "stmf",
    cell: bool = False,
    embedding_rank: int | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """Build an Activations Dataset with planted relevant/irrelevant and chronological codes.

    ``embedding_rank`` confines each feature's RNN embeddings to a subspace of that rank,
    which de-orthogonalises its one-vs-rest normals relative to the (full-rank) perceptual
    embeddings (seed 000 Fig. 3b).
    """
    rng = np.random.default_rng(seed)
    n_tasks = len(tasks)
    b, t_len = trials_per_task * n_tasks, n_frames
    task_index = np.repeat(np.arange(n_tasks), trials_per_task)
    n_of_task = np.array([int(name.split("-")[1]) for name in tasks])
    feature_of_task = np.array([name.split("-")[2] for name in tasks])
    n = n_of_task[task_index]
    feature = feature_of_task[task_index]

    n_identities = n_categories * identities_per_category
    identity = rng.integers(0, n_identities, size=(b, t_len))
    category = identity // identities_per_category
    location = rng.integers(0, n_locations, size=(b, t_len))
    angle = rng.integers(0, 3, size=(b, t_len))
    labels = {"location": location, "identity": identity, "category": category}
    sizes = {"location": n_locations, "identity": n_identities, "category": n_categories}

    # Embeddings U[age][feature]: [n_values, n_units]; a fresh random basis per age.
    hidden = np.zeros((b, t_len, n_units))
    frames = np.arange(t_len)
    for f in FEATURES:
        gain = np.where(feature == f, relevant_gain, irrelevant_gain)[:, None]
        for age in range(t_len):
            if embedding_rank is None:
                table = rng.normal(size=(sizes[f], n_units))
            else:
                table = rng.normal(size=(sizes[f], embedding_rank)) @ rng.normal(
                    size=(embedding_rank, n_units)) / np.sqrt(embedding_rank)
            table = table / np.sqrt(n_units) * 3.0
            stim = frames - age  # stimulus whose age is `age` at each frame
            valid = stim >= 0
            contrib = table[labels[f][:, np.clip(stim, 0, None)]]  # [B, T, units]
            hidden += (gain[:, :, None] * 0.85**age) * contrib * valid[None, :, None]
    hidden = np.tanh(hidden + noise * rng.normal(size=hidden.shape))

    perc_tables = {f: rng.normal(size=(sizes[f], n_perc)) for f in FEATURES}
    perceptual = sum(perc_tables[f][labels[f]] for f in FEATURES)
    perceptual = perceptual + 0.3 * rng.normal(size=perceptual.shape)
    project = rng.normal(size=(n_units, n_units)) / np.sqrt(n_units)
    encoding = hidden @ project

    target = np.zeros((b, t_len), dtype=np.int64)
    executive = frames[None, :] >= n[:, None]
    feat_labels = np.stack([labels[f] for f in FEATURES])  # [3, B, T]
    fidx = np.array([FEATURES.index(f) for f in feature])
    own = feat_labels[fidx, np.arange(b)]  # [B, T]
    back = np.take_along_axis(own, np.clip(frames[None, :] - n[:, None], 0, None), axis=1)
    target[executive] = np.where(own == back, 2, 1)[executive]
    logits = 3.0 * np.eye(3)[target] + 0.5 * rng.normal(size=(b, t_len, 3))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)

    data = {
        "hidden": (("trial", "frame", "unit"), hidden.astype(np.float32)),
        "encoding": (("trial", "frame", "enc_unit"), encoding.astype(np.float32)),
        "perceptual": (("trial", "frame", "perc_unit"), perceptual.astype(np.float32)),
        "logits": (("trial", "frame", "action"), logits.astype(np.float32)),
        "probs": (("trial", "frame", "action"), probs.astype(np.float32)),
        "location": (("trial", "frame"), location),
        "category": (("trial", "frame"), category),
        "identity": (("trial", "frame"), identity),
        "angle": (("trial", "frame"), angle),
        "target": (("trial", "frame"), target),
        "executive": (("trial", "frame"), executive),
        "task": (("trial",), np.array(tasks)[task_index]),
        "n": (("trial",), n),
        "feature": (("trial",), feature),
        "split": (("trial",), np.full(b, "val_angle")),
    }
    if cell:
        data["cell"] = (("trial", "frame", "unit"),
                        (hidden * 1.5 + 0.1 * rng.normal(size=hidden.shape)).astype(np.float32))
    ds = xr.Dataset(
        data,
        coords={"trial": np.arange(b), "frame": frames, "action": list(ACTIONS)},
        attrs={"architecture": architecture, "regime": regime, "backbone": "synthetic",
               "hidden_size": n_units, "seed": seed},
    )
    return ds


def write_run(run_dir: Path, ds: xr.Dataset, *, metrics: bool = True,
              summary: bool = True, study: str | None = None) -> Path:
    """Write a run folder (activations.nc, config.yaml, metrics.csv, summary.json)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(run_dir / "activations.nc", engine="h5netcdf")
    config = {"model": {"architecture": ds.attrs.get("architecture")},
              "train": {"regime": ds.attrs.get("regime")}, "seed": 0}
    if study:
        config["study"] = study
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    tasks = list(dict.fromkeys(ds["task"].values.tolist()))
    if metrics:
        import pandas as pd

        rows = []
        for it in (0, 50, 100):
            for split in ("train", "val_angle", "val_identity"):
                for task in tasks:
                    acc = min(0.99, 0.4 + it / 160)
                    rows.append({"iteration": it, "split": split, "task": task,
                                 "acc_executive": acc, "acc_all": acc, "loss": 1.1 - it / 150})
        pd.DataFrame(rows).to_csv(run_dir / "metrics.csv", index=False)
    if summary:
        import json

        acc = {split: {task: 0.9 for task in tasks}
               for split in ("train", "val_angle", "val_identity")}
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
