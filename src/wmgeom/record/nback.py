"""Recording activations of a trained sensory-cognitive model on N-back (or DMS) trials.

Runs the model on fresh evaluation trials of every task of its family and split and stores,
per trial × frame × unit, the core's recorded state (``hidden``, described by the core's
``state_kind``: an RNN's hidden state, a Transformer's residual stream, ...; an LSTM's
cell state too), the encoding vectors fed to the core, the perceptual features, the model outputs and per-frame labels
of every stimulus, as a self-describing :class:`xarray.Dataset` (netCDF, readable with
xarray alone; schema in ``docs/design.md``).

Perceptual features: the backbone's spatial map as the model receives it, flattened
(so location is kept) and reduced by a PCA fitted on every canvas of the stimulus set.
Location, category and identity are all decodable from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import xarray as xr
from pydantic import Field, field_validator

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError
from wmgeom.models.sensory_cognitive import SensoryCognitiveModel
from wmgeom.pca import PCA, pca
from wmgeom.tasks.registry import FAMILIES, make_mixture
from wmgeom.tasks.vocabulary import ACTIONS, FEATURES, SPLITS, TrialBatch
from wmgeom.train.nback import NBackData
from wmgeom.validation import Seed

LABELS = ("location", "category", "identity", "angle", "target", "executive")


class RecordConfig(StrictModel):
    """What ``record`` stores.

    Attributes:
        trials_per_task: Trials per task and split.
        splits: Stimulus splits recorded.
        perceptual_components: PCA size of the perceptual (backbone) features.
        seed: Seed of the recording trials (independent of training).
        tasks: ``trained``: the tasks of the model's regime (each model is analysed on what
            it learned); ``all``: every task of its family (N-back: of the configured N set).
        untrained_null: Also record the untrained network (the same architecture, size and
            initial weights, before any training) on the same trials, the null control of
            the analyses (``activations_untrained.nc``).
    """

    trials_per_task: int = Field(96, ge=2)
    splits: list[str] = Field(default_factory=lambda: list(SPLITS))
    perceptual_components: int = Field(128, ge=2)
    seed: Seed = 12345
    tasks: Literal["trained", "all"] = "trained"
    untrained_null: bool = True

    @field_validator("splits")
    @classmethod
    def _known_splits(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in SPLITS]
        if unknown or not v:
            raise ValueError(f"splits must be a non-empty list of {', '.join(SPLITS)}")
        return v


def perceptual_pca(maps: torch.Tensor, n_components: int, seed: int = 0) -> PCA:
    """PCA of flattened spatial maps ``[N, C, h, w]`` (randomized: few maps, many pixels)."""
    return pca(maps.float().flatten(1), n_components, solver="randomized", seed=seed)


@torch.no_grad()
def record_activations(
    model: SensoryCognitiveModel,
    data: NBackData,
    n_values: tuple[int, ...],
    length: int,
    trials_per_task: int,
    splits: tuple[str, ...],
    seed: int,
    perceptual_components: int = 128,
    attrs: dict[str, Any] | None = None,
    chunk: int = 512,
    tasks: Sequence[str] | None = None,
) -> xr.Dataset:
    """Run ``model`` on fresh trials of every task × split of its family and label everything.

    Args:
        model: a trained :class:`~wmgeom.models.SensoryCognitiveModel`.
        data: the :class:`~wmgeom.train.nback.NBackData` it was trained with.
        n_values, length: the task family.
        trials_per_task: trials per task and split.
        splits: which stimulus splits to record.
        seed: seed of the recording trials (independent of training).
        perceptual_components: PCA size of the perceptual features.
        attrs: run attributes stored on the Dataset.
        tasks: names of the tasks recorded (``nback-N-feature``, ``dms-feature``, e.g. the
            model's regime); every task of the model's family (``data.mixture``) by default.
    """
    model.eval()
    sampler = data.mixture.sampler
    family = FAMILIES[data.mixture.family]
    known = family.task_names(n_values)
    names = known
    if tasks is not None:
        wanted = set(tasks)
        names = [name for name in known if name in wanted]
        if len(names) != len(wanted):
            raise WmgeomError(f"tasks {sorted(wanted)} are not all {family.label} tasks of the "
                              f"configured family ({', '.join(known)})")
    mixture = make_mixture(names, sampler, length=length, n_values=n_values)
    tasks = mixture.tasks
    rng = np.random.default_rng(seed)
    batches, split_of_trial = [], []
    for split in splits:
        b = mixture.sample(trials_per_task * len(tasks), split=split, rng=rng)
        order = np.argsort(b.task_index, kind="stable")
        batches.append(b[order])
        split_of_trial += [split] * len(b)
    batch = TrialBatch.concatenate(batches)

    fit = perceptual_pca(data.maps, perceptual_components, seed)
    mean = torch.from_numpy(fit.mean).to(data.device)
    basis = torch.from_numpy(np.ascontiguousarray(fit.components.T)).to(data.device)
    kept = fit.kept
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
    data_vars["span"] = ("trial", batch.span)
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
        "hidden": type(model.core).state_kind,
        "cell": "LSTM cell state after each frame",
        "encoding": "input to the core: FC(1x1-conv map ⊕ task vector) + LayerNorm",
        "probs": "softmax over actions (no_action, non_match, match)",
        "target": "index into action: correct action at each frame",
        "executive": family.executive,
        "angle": "view-angle index of the object image",
        "identity": "object identity (unique over the stimulus set)",
        "span": "frames an executive frame t is compared with, from frame t - n (1 in "
                "N-back and DMS; the list length in item recognition)",
    }.items():
        if name in ds:
            ds[name].attrs["description"] = text
    return ds


#: Variables every recording holds, with their dimensions (``record_activations`` writes
#: more; other models' activations need only these to be analysed).
RECORDING_VARIABLES: dict[str, tuple[str, ...]] = {
    "hidden": ("trial", "frame", "unit"),
    "task": ("trial",),
    "n": ("trial",),
    "feature": ("trial",),
}


def check_recording(ds: xr.Dataset, where: str, *, hidden_size: int | None = None,
                    length: int | None = None, cell: bool | None = None,
                    tasks: list[str] | None = None, fix: str = "record the run again") -> None:
    """Refuse a recording that does not match the run that made it (before any analysis).

    Args:
        ds: The recording.
        where: Its file, for the message.
        hidden_size: The run's recurrent units (``unit`` dimension), if known.
        length: The run's frames per trial (``frame`` dimension), if known.
        cell: Whether the run's architecture has a cell state (then ``cell`` must be there).
        tasks: The run's task names (``task`` values must be among them), if known.
        fix: What the user should do, ending every message.

    Raises:
        WmgeomError: Naming the variable or dimension and the fix.
    """
    from wmgeom.errors import WmgeomError

    def refuse(problem: str) -> None:
        raise WmgeomError(f"{where}: {problem}; {fix}")

    for name, dims in RECORDING_VARIABLES.items():
        if name not in ds.data_vars:
            refuse(f"has no {name!r} variable")
        if tuple(ds[name].dims) != dims:
            refuse(f"{name!r} has dimensions {tuple(ds[name].dims)}, not {dims}")
    if cell and "cell" not in ds.data_vars:
        refuse("has no 'cell' variable, the state its run's architecture carries")
    if "cell" in ds.data_vars and ds["cell"].dims != ds["hidden"].dims:
        refuse(f"'cell' has dimensions {tuple(ds['cell'].dims)}, not those of 'hidden'")
    sizes = {"unit": hidden_size, "frame": length}
    for dim, expected in sizes.items():
        if expected is not None and ds.sizes[dim] != expected:
            refuse(f"its {dim!r} dimension has {ds.sizes[dim]} entries but the run's config "
                   f"has {expected}")
    for label in FEATURES:
        if label in ds.data_vars and tuple(ds[label].dims) != ("trial", "frame"):
            refuse(f"{label!r} has dimensions {tuple(ds[label].dims)}, not ('trial', 'frame')")
    if tasks is not None:
        unknown = sorted(set(np.asarray(ds["task"].values).astype(str)) - set(tasks))
        if unknown:
            refuse(f"holds tasks {unknown} that its run does not have")
    for name, var in ds.data_vars.items():
        if np.issubdtype(var.dtype, np.floating) and not np.isfinite(var.values).all():
            refuse(f"{name!r} holds NaN or infinite values")
