"""Training the sensory-cognitive model on N-back regimes (Lei et al. 2024), or on the regimes of
another task family (``tasks.family``, e.g. delayed match-to-sample).

Glue between the task sampler, the feature cache and the shared :class:`Trainer`:
batches are index arrays, frames are gathered from the cached backbone maps on the
training device, the loss is cross-entropy over all frames, and evaluation reports
accuracy per split and task over executive frames and over all frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from pydantic import Field

from wmgeom.config import StrictModel
from wmgeom.models.backbones import Backbone
from wmgeom.models.features import CANVAS_SIZE, FeatureCache
from wmgeom.models.registry import BACKBONES
from wmgeom.models.sensory_cognitive import SensoryCognitiveConfig, SensoryCognitiveModel
from wmgeom.stimuli.stimset import StimulusSet
from wmgeom.tasks import FEATURES, SPLITS, TrialBatch
from wmgeom.tasks.nback import TaskMixture
from wmgeom.tasks.registry import RegimeConfig, make_regime
from wmgeom.tasks.vocabulary import NON_MATCH


class EvalConfig(StrictModel):
    """Evaluation during training.

    Attributes:
        trials_per_task: Fixed evaluation trials per task and split.
        criterion_train: Accuracy on training images that the criterion requires (> it).
        criterion_val_angle: Accuracy on novel view angles that the criterion requires.
        criterion_per_task: Require the criterion of every task (Lei et al. 2024: "all models
            reached >95% on train and >90% on validation"), not only of the average over
            tasks, which an easy task can carry.
    """

    trials_per_task: int = Field(64, ge=1)
    criterion_train: float = Field(0.95, gt=0, le=1)
    criterion_val_angle: float = Field(0.90, gt=0, le=1)
    criterion_per_task: bool = Field(
        True, description="the criterion must hold for every task, not only on average")


@dataclass
class NBackData:
    """The feature cache on the training device, and the regime's task mixture.

    With ``backbone`` and ``stimset`` set (online mode) frames are composed on canvases
    and passed through the backbone at every step instead of read from the cache.
    """

    maps: torch.Tensor  # float16 [n_stimuli, C, h, w] on device
    mixture: TaskMixture
    n_locations: int
    device: torch.device
    backbone: Backbone | None = None
    stimset: StimulusSet | None = None

    def frame_maps(self, batch: TrialBatch) -> torch.Tensor:
        """Backbone maps of every frame, ``[B, T, C, h, w]`` float32."""
        maps, index = self.distinct_maps(batch)
        return maps[index]

    def distinct_maps(self, batch: TrialBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The maps of the batch's distinct (image, location) frames, ``[U, C, h, w]``
        float32, and each frame's row among them, ``[B, T]``.

        A batch shows the same frames many times; each is read from the cache (or, online,
        composed and passed through the backbone) once.
        """
        keys, inverse = np.unique(batch.stimulus_index(self.n_locations), return_inverse=True)
        index = torch.from_numpy(inverse.reshape(batch.image.shape)).to(self.device)
        if self.backbone is None:
            return self.maps[torch.from_numpy(keys).to(self.device)].float(), index
        image, location = np.divmod(keys, self.n_locations)
        canvases = self.stimset.canvas(image, location)
        x = torch.from_numpy(canvases).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        if x.shape[-1] != CANVAS_SIZE:
            x = F.interpolate(x, size=(CANVAS_SIZE, CANVAS_SIZE), mode="bilinear",
                              align_corners=False)
        return self.backbone(x), index

    def inputs(self, batch: TrialBatch) -> dict[str, torch.Tensor]:
        """The model's keyword arguments for ``batch``: the distinct frames' maps, the task
        vectors and the frame index (:meth:`SensoryCognitiveModel.encode`)."""
        maps, index = self.distinct_maps(batch)
        return {"maps": maps, "task_vector": torch.from_numpy(batch.task_vector).to(self.device),
                "frame_index": index}

    def targets(self, batch: TrialBatch) -> torch.Tensor:
        """The correct action of every frame, ``[B, T]``."""
        return torch.from_numpy(batch.target).to(self.device)

    def tensors(self, batch: TrialBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Backbone maps ``[B, T, C, h, w]``, task vectors ``[B, D]``, targets ``[B, T]``."""
        inputs = self.inputs(batch)
        return inputs["maps"][inputs["frame_index"]], inputs["task_vector"], self.targets(batch)


def build_data(cache: FeatureCache, stimset: StimulusSet, tasks_cfg: RegimeConfig,
               device: torch.device, backbone: Backbone | None = None) -> NBackData:
    """Task mixture of the configured regime over ``stimset``, features from ``cache``
    (or, with ``backbone``, computed online from canvases)."""
    mixture = make_regime(tasks_cfg.regime, stimset, task=tasks_cfg.task, n=tasks_cfg.n,
                          n_values=tuple(tasks_cfg.n_values), length=tasks_cfg.length,
                          same_category_rate=tasks_cfg.same_category_rate,
                          family=tasks_cfg.family)
    if backbone is not None:
        backbone = backbone.to(device)
    return NBackData(cache.to_tensor(device), mixture, cache.n_locations, device,
                     backbone=backbone, stimset=stimset if backbone is not None else None)


def build_model(model_cfg: SensoryCognitiveConfig, tasks_cfg: RegimeConfig
                ) -> SensoryCognitiveModel:
    """The configured model, sized from the configs alone (no stimuli or features needed).

    Its input is the backbone's map as the feature cache stores it: the registered
    backbone's channels (or ``channel_components`` after the channel PCA) on its spatial
    grid; the task vector's width is the task family's (N-back: one bit per feature and
    per N; DMS: one bit per feature and the family slot).
    """
    info = BACKBONES[model_cfg.backbone]
    return SensoryCognitiveModel(
        in_channels=model_cfg.channel_components or info.channels, spatial=info.spatial,
        task_dim=tasks_cfg.task_family.task_dim(tuple(tasks_cfg.n_values)),
        hidden_size=model_cfg.hidden_size, architecture=model_cfg.architecture,
    )


def nback_loss(data: NBackData):
    """``loss_fn`` for the trainer: cross-entropy over all frames (Lei et al. 2024, §3).

    The logged accuracy is over executive frames (N-back: ``t >= N``; DMS: the test frame).
    """

    def loss_fn(model: SensoryCognitiveModel, batch: TrialBatch):
        target = data.targets(batch)
        logits = model(**data.inputs(batch))
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten())
        with torch.no_grad():
            correct = logits.argmax(-1) == target
            exe = torch.from_numpy(batch.executive).to(data.device)
            acc = correct[exe].float().mean().item()
        return loss, {"acc_executive": acc}

    return loss_fn


def evaluation_sets(data: NBackData, trials_per_task: int, seed: int,
                    splits: Sequence[str] = SPLITS) -> dict[str, TrialBatch]:
    """Fixed evaluation trials per split (same every evaluation; own random stream)."""
    rng = np.random.default_rng(seed)
    n = trials_per_task * len(data.mixture)
    return {s: data.mixture.sample(n, split=s, rng=rng) for s in splits}


def same_category_non_matches(batch: TrialBatch) -> np.ndarray:
    """``[B, T]`` frames of identity tasks whose answer is non-match although the category
    repeats (another identity of the same category): the frames the category cannot solve."""
    frames = np.arange(batch.n_frames)
    back = np.take_along_axis(batch.category, np.clip(frames - batch.n[:, None], 0, None), 1)
    identity_task = batch.feature == FEATURES.index("identity")
    return (identity_task[:, None] & batch.executive & (batch.target == NON_MATCH)
            & (batch.category == back))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


@torch.no_grad()
def accuracy_rows(model: SensoryCognitiveModel, data: NBackData,
                  sets: dict[str, TrialBatch], chunk: int = 512) -> list[dict[str, Any]]:
    """Accuracy per split and task.

    Columns: ``acc_executive`` (frames where a response is due), ``acc_all`` (every frame)
    and, for identity tasks, ``acc_same_category`` with ``n_same_category``: the
    non-matches that show another identity of the same category.
    """
    rows = []
    for split, batch in sets.items():
        correct = []
        for start in range(0, len(batch), chunk):
            part = batch[start:start + chunk]
            logits = model(**data.inputs(part))
            correct.append((logits.argmax(-1) == data.targets(part)).cpu().numpy())
        correct = np.concatenate(correct)
        exe = batch.executive
        hard = same_category_non_matches(batch)
        for t, name in enumerate(batch.task_names):
            sel = batch.task_index == t
            row = {"split": split, "task": name,
                   "acc_executive": _mean(correct[sel][exe[sel]]),
                   "acc_all": _mean(correct[sel])}
            if hard[sel].any():
                row.update(acc_same_category=_mean(correct[sel][hard[sel]]),
                           n_same_category=int(hard[sel].sum()))
            rows.append(row)
        rows.append({"split": split, "task": "all", "acc_executive": _mean(correct[exe]),
                     "acc_all": _mean(correct)})
    return rows


def paper_criterion(train: float = 0.95, val_angle: float = 0.90, per_task: bool = True):
    """The criterion of Lei et al. 2024: > 95% on train, > 90% on novel angles (executive frames).

    With ``per_task`` every task must pass, else the average over tasks.
    """

    def criterion(rows: Sequence[dict[str, Any]]) -> bool:
        wanted = {"train": train, "val_angle": val_angle}
        checked = [r for r in rows if r.get("split") in wanted
                   and (r.get("task") != "all") == per_task]
        return {r["split"] for r in checked} == set(wanted) and all(
            r["acc_executive"] > wanted[r["split"]] for r in checked)

    return criterion


def summary_accuracy(rows: Sequence[dict[str, Any]], column: str = "acc_executive",
                     task: str = "all") -> dict[str, float]:
    """The last evaluation's accuracy per split (``column`` of the rows of ``task``)."""
    last = {}
    for r in rows:
        if r.get("task") == task and r.get("split") in SPLITS and column in r:
            last[r["split"]] = float(r[column])
    return last


def task_accuracy(rows: Sequence[dict[str, Any]], column: str = "acc_executive"
                  ) -> dict[str, dict[str, float]]:
    """The last evaluation's accuracy per split and task (tasks that report ``column``)."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.get("split") in SPLITS and r.get("task") not in (None, "all") and \
                column in r and not pd.isna(r[column]):
            out.setdefault(r["split"], {})[r["task"]] = float(r[column])
    return out
