"""Recording activations of a trained model (SPEC D1).

Runs the model on fresh evaluation trials of every N-back task and split and stores,
per trial × frame × unit, the RNN hidden states (LSTM: hidden and cell), the encoding
vectors fed to the RNN, the perceptual features, the model outputs and per-frame labels
of every stimulus, as a self-describing :class:`xarray.Dataset` (netCDF, readable with
xarray alone; schema in ``docs/design.md``).

Perceptual features: the backbone's spatial map as the model receives it, flattened
(so location is kept) and reduced by a PCA fitted on every canvas of the stimulus set.
Location, category and identity are all decodable from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from wmgeom.io import atomic_path
from wmgeom.tasks import ACTIONS, TrialBatch
from wmgeom.tasks.base import FEATURES
from wmgeom.tasks.nback import NBackTask, TaskMixture

LABELS = ("location", "category", "identity", "angle", "target", "executive")


def perceptual_pca(maps: torch.Tensor, n_components: int, seed: int = 0):
    """PCA of flattened spatial maps ``[N, C, h, w]``: returns ``(mean, basis [D, k], kept)``."""
    x = maps.float().flatten(1)
    mean = x.mean(0)
    k = min(n_components, x.shape[0] - 1, x.shape[1])
    torch.manual_seed(seed)
    _, s, v = torch.pca_lowrank(x - mean, q=min(k + 10, min(x.shape)), center=False, niter=4)
    total = (x - mean).pow(2).sum()
    kept = float(s[:k].pow(2).sum() / total)
    return mean, v[:, :k], kept


@torch.no_grad()
def record_activations(
    model,
    data,
    n_values: tuple[int, ...],
    length: int,
    trials_per_task: int,
    splits: tuple[str, ...],
    seed: int,
    perceptual_components: int = 128,
    attrs: dict[str, Any] | None = None,
    chunk: int = 512,
) -> xr.Dataset:
    """Run ``model`` on fresh trials of every N-back task × split and label everything.

    Args:
        model: a trained :class:`~wmgeom.models.SensoryCognitiveModel`.
        data: the :class:`~wmgeom.train.nback.NBackData` it was trained with.
        n_values, length: the task family (all ``len(n_values) * 3`` tasks are recorded).
        trials_per_task: trials per task and split.
        splits: which stimulus splits to record.
        seed: seed of the recording trials (independent of training).
        perceptual_components: PCA size of the perceptual features.
        attrs: run attributes stored on the Dataset.
    """
    model.eval()
    sampler = data.mixture.sampler
    tasks = [NBackTask(n, f, None, length=length, n_values=n_values, sampler=sampler)
             for n in n_values for f in FEATURES]
    mixture = TaskMixture(tasks)
    rng = np.random.default_rng(seed)
    batches, split_of_trial = [], []
    for split in splits:
        b = mixture.sample(trials_per_task * len(tasks), split=split, rng=rng)
        order = np.argsort(b.task_index, kind="stable")
        batches.append(b[order])
        split_of_trial += [split] * len(b)
    batch = TrialBatch.concatenate(batches)

    mean, basis, kept = perceptual_pca(data.maps, perceptual_components, seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in
                                        ("hidden", "cell", "encoding", "perceptual", "logits")}
    for start in range(0, len(batch), chunk):
        part = batch[start:start + chunk]
        maps, task, _ = data.tensors(part)
        enc = model.encode(maps, task)
        res = model.run(enc)
        out["hidden"].append(res["hidden"].cpu().numpy())
        if res["cell"] is not None:
            out["cell"].append(res["cell"].cpu().numpy())
        out["encoding"].append(enc.cpu().numpy())
        perc = (maps.flatten(2) - mean) @ basis
        out["perceptual"].append(perc.cpu().numpy())
        out["logits"].append(res["logits"].cpu().numpy())
    arrays = {k: np.concatenate(v).astype(np.float32) for k, v in out.items() if v}
    probs = torch.from_numpy(arrays["logits"]).softmax(-1).numpy()

    tvf = ("trial", "frame")
    data_vars = {
        "hidden": (("trial", "frame", "unit"), arrays["hidden"]),
        "encoding": (("trial", "frame", "enc_unit"), arrays["encoding"]),
        "perceptual": (("trial", "frame", "perc_unit"), arrays["perceptual"]),
        "logits": (("trial", "frame", "action"), arrays["logits"]),
        "probs": (("trial", "frame", "action"), probs),
        "choice": (tvf, probs.argmax(-1).astype(np.int64)),
        "image": (tvf, batch.image),
    }
    if "cell" in arrays:
        data_vars["cell"] = (("trial", "frame", "unit"), arrays["cell"])
    for name in LABELS:
        data_vars[name] = (tvf, getattr(batch, name))
    data_vars["task"] = ("trial", np.asarray(batch.task, dtype=str))
    data_vars["n"] = ("trial", batch.n)
    data_vars["feature"] = ("trial", np.asarray(batch.feature_name, dtype=str))
    data_vars["split"] = ("trial", np.asarray(split_of_trial, dtype=str))
    ds = xr.Dataset(
        data_vars,
        coords={"trial": np.arange(len(batch)), "frame": np.arange(batch.n_frames),
                "action": list(ACTIONS)},
    )
    ds.attrs.update({k: (v if isinstance(v, int | float | str) else str(v))
                     for k, v in (attrs or {}).items()})
    ds.attrs["perceptual"] = (
        f"flattened backbone map reduced by a PCA ({basis.shape[1]} components, "
        f"{kept:.1%} of variance) fitted on every canvas of the stimulus set"
    )
    ds.attrs["perceptual_variance_kept"] = kept
    for name, text in {
        "hidden": "RNN hidden state after each frame",
        "cell": "LSTM cell state after each frame",
        "encoding": "input to the RNN: FC(1x1-conv map ⊕ task vector) + LayerNorm",
        "probs": "softmax over actions (no_action, non_match, match)",
        "target": "index into action: correct action at each frame",
        "executive": "frame t >= N, where a match decision is due",
        "angle": "view-angle index of the object image",
        "identity": "object identity (unique over the stimulus set)",
    }.items():
        if name in ds:
            ds[name].attrs["description"] = text
    return ds


def write_activations(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` as netCDF (h5netcdf engine), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def open_activations(path: str | Path) -> xr.Dataset:
    """Open a recording written by :func:`write_activations` (loaded into memory)."""
    from wmgeom.errors import WmgeomError

    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"no activations at {path}; run `wmgeom record RUN_DIR` first.")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:
        raise WmgeomError(f"activations file {path} is unreadable ({type(exc).__name__}); "
                          "record it again with `wmgeom record RUN_DIR`.") from exc
