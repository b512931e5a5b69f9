"""Item recognition (Sternberg) over naturalistic objects: a list of K objects, distractors,
one probe that matches *any* list item.

Lei et al. 2024 (§5, limitations) leave open whether their N-back strategies appear in
other working-memory tasks. N-back compares every frame with one frame N back, and delayed
match-to-sample holds one sample; item recognition (Sternberg 1966) holds several items at
once with no order to keep. A trial of ``length`` frames shows the *list* at frames
``0 .. K - 1``, distractor objects at frames ``K .. length - 2`` (drawn as the N-back
generator draws its free frames) and the *probe* at the last frame. The probe is a match
when its task feature (location, identity or category) equals that of some list item, with
probability 1/2: a match copies the value of one list item drawn uniformly; a non-match
takes a value, uniformly, among those no list item has (identity non-matches from the
category of a list item with probability ``same_category_rate`` when such an identity is
left, as in N-back). The response is due at the probe only; every earlier target is *no
action*. The list length K is the task's set size: ``recog-<K>-<feature>``, K from the
configured N set, so that the regimes read as in N-back (STSF one task, STMF one set size
with the three features, MTMF every set size and feature).

Why not serial recall: with one match decision per frame, "does test item j equal list item
j" over a list of K items is the N-back plan with ``N = length - K`` (the N-back family with
``N = 3`` on 6 frames is exactly serial recognition of three items), so it adds no new
demand. Item recognition does: the probe must be compared with every held item at once.

:class:`~wmgeom.tasks.vocabulary.TrialBatch` fields keep their meaning: ``n`` is the
distance from the first list item to the probe (``length - 1``), ``executive`` the probe
only, and ``span`` the list length K (the probe is compared with frames ``0 .. K - 1``).
A set size of 1 is delayed match-to-sample. Task vector: feature one-hot ⊕ set-size one-hot
⊕ one family slot of 1 (width ``3 + len(n_values) + 1``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wmgeom.errors import WmgeomError
from wmgeom.tasks.family import TaskFamily
from wmgeom.tasks.nback import (
    DEFAULT_LENGTH,
    NBackTask,
    SplitIndex,
    StimulusSampler,
    TrialPlan,
    frames_of_keys,
    plan_trials,
)
from wmgeom.tasks.vocabulary import DEFAULT_N_VALUES, FEATURES, MATCH, NON_MATCH, task_vector

PREFIX = "recog"
_NAME = re.compile(r"^recog-(\d+)-([a-z]+)$")


def recognition_name(k: int, feature: str) -> str:
    """The registry name of an item-recognition task, e.g. ``recognition_name(2, "identity")``."""
    return f"{PREFIX}-{k}-{feature}"


def recognition_names(n_values: Sequence[int] = DEFAULT_N_VALUES) -> list[str]:
    """Every item-recognition task of a set-size set (ordered by set size, then feature)."""
    return [recognition_name(k, f) for k in sorted(n_values) for f in FEATURES]


def recognition_task_vector(feature: int | np.ndarray, k: int | np.ndarray,
                            n_values: Sequence[int] = DEFAULT_N_VALUES) -> np.ndarray:
    """Feature one-hot ⊕ set-size one-hot ⊕ a family slot of 1, float32 ``[..., 3 + |N| + 1]``."""
    base = task_vector(feature, k, n_values)
    return np.concatenate([base, np.ones((*base.shape[:-1], 1), np.float32)], axis=-1)


@dataclass(frozen=True)
class RecognitionPlan:
    """The deterministic part of a batch: free draws at every frame (``free``, an N-back plan
    with no executive frame), the list lengths and the probe's executive mask."""

    free: TrialPlan
    span: np.ndarray       # [B] list length K
    executive: np.ndarray  # [B, T] the probe only
    n: np.ndarray          # [B] first list item to probe


def draw_recognition(index: SplitIndex, plan: RecognitionPlan, n_locations: int,
                     rng: np.random.Generator, same_category_rate: float = 0.5
                     ) -> dict[str, np.ndarray]:
    """Item-recognition trials for ``plan``, vectorised over trials (no loop at all).

    Returns ``image``, ``location``, ``target`` (int64 ``[B, T]``) and ``executive``.
    """
    free = plan.free
    batch, length = free.executive.shape
    u_key, u_location, u_identity, u_view = rng.random((4, batch, length))
    u_answer, u_item, u_branch = rng.random((3, batch))
    k = free.n_values  # [B, 1] values of the task feature
    key = (u_key * k).astype(np.int64)
    rows = np.arange(batch)
    # a match copies one list item's value, drawn uniformly among the K items
    item = (u_item * plan.span).astype(np.int64)
    match = u_answer < 0.5
    # a non-match takes a value no list item has, uniformly; identity non-matches from a
    # list item's category with probability same_category_rate when one is left
    width = int(k.max())
    values = np.arange(width)
    in_list = np.arange(length)[None, :] < plan.span[:, None]            # [B, T]
    held = np.zeros((batch, width), bool)
    held[np.repeat(rows, length)[in_list.ravel()], key[in_list]] = True
    free_value = ~held & (values[None, :] < k)                            # [B, width]
    if free.is_identity.any():
        category = np.full(width, -1)
        category[: index.n_identities] = index.identity_category
        same = category[None, :] == category[key[rows, item]][:, None]
        same_free, other_free = free_value & same, free_value & ~same
        use_same = (u_branch < same_category_rate) & same_free.any(1) | ~other_free.any(1)
        pick_from = np.where((use_same & free.is_identity[:, 0])[:, None], same_free,
                             np.where(free.is_identity, other_free, free_value))
    else:
        pick_from = free_value
    score = np.where(pick_from, rng.random((batch, width)), -1.0)
    probe = np.where(match, key[rows, item], score.argmax(1))
    key[:, -1] = probe
    image, location = frames_of_keys(index, free, key, u_location, u_identity, u_view,
                                     n_locations)
    target = np.zeros((batch, length), dtype=np.int64)
    target[:, -1] = np.where(match, MATCH, NON_MATCH)
    return {"image": image, "location": location, "target": target,
            "executive": plan.executive.copy()}


class RecognitionTask(NBackTask):
    """One item-recognition task, e.g. set size 2 on identity: is the probe one of the two
    list objects?

    Args:
        k: Set size, the list length (a value of ``n_values``, at most ``length - 1``).
        feature: ``"location"``, ``"identity"`` or ``"category"`` (or its index).
        stimuli: A StimulusSet or its table.
        length: Frames per trial: K list items, ``length - 1 - K`` distractors, the probe.
        n_values: The configured set sizes (fix the task vector).
        n_locations: Canvas locations when ``stimuli`` is a plain table (default 4).
        sampler: A shared :class:`~wmgeom.tasks.nback.StimulusSampler`.
        same_category_rate: Fraction of identity non-matches from a list item's category.
    """

    family = "recognition"
    metadata: dict[str, Any] = {
        "paper": "Lei, Ito & Bashivan, Geometry of naturalistic object representations in "
                 "recurrent neural network models of working memory (limitations, §5); "
                 "Sternberg 1966, High-speed scanning in human memory",
        "paper_section": "§5: other working-memory tasks than N-back",
        "tags": ["working memory", "item recognition", "Sternberg", "naturalistic stimuli",
                 "supervised"],
    }

    def __init__(self, k: int, feature: str | int, stimuli: Any = None,
                 length: int = DEFAULT_LENGTH, n_values: Sequence[int] = DEFAULT_N_VALUES,
                 n_locations: int | None = None, *, sampler: StimulusSampler | None = None,
                 same_category_rate: float = 0.5) -> None:
        if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 2:
            raise WmgeomError(f"item-recognition trials need a list and a probe: length must "
                              f"be an integer of at least 2 frames, got {length!r}")
        if isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= length:
            raise WmgeomError(f"set size {k} needs {k} list frames and a probe, but "
                              f"length={length}; use length >= {k + 1} or a smaller set size")
        # N-back's checks and sampler, with the set size in N's place (it is in the N set)
        super().__init__(k, feature, stimuli, length, n_values, n_locations, sampler=sampler,
                         same_category_rate=same_category_rate)
        self.span, self.n = self.n, self.length - 1  # K list items; the first is N back
        self.name = recognition_name(self.span, self.feature)

    def __repr__(self) -> str:
        return (f"RecognitionTask(k={self.span}, feature={self.feature!r}, "
                f"length={self.length}, n_values={self.n_values})")

    @property
    def task_vector(self) -> np.ndarray:
        """This task's input vector (:func:`recognition_task_vector`)."""
        return recognition_task_vector(self.feature_index, self.span, self.n_values)

    def plan_batch(self, n: np.ndarray, feature: np.ndarray, span: np.ndarray, split: str
                   ) -> RecognitionPlan:
        index = self.sampler.check_features(split, np.unique(feature).tolist())
        free = plan_trials(np.full(len(n), self.length), feature, self.length, index,
                           self.sampler.n_locations)
        values = free.n_values[:, 0]  # of each trial's task feature in the split
        short = values <= span
        if short.any():
            f = int(feature[short].min())
            raise WmgeomError(
                f"item recognition on {FEATURES[f]} with set size {int(span.max())} needs more "
                f"than {int(span.max())} {FEATURES[f]} values in split {split!r} (a non-match "
                f"probe takes a value no list item has), found {values[feature == f][0]}; use "
                "smaller set sizes or a larger stimulus set")
        executive = np.zeros((len(n), self.length), bool)
        executive[:, -1] = True
        return RecognitionPlan(free, np.asarray(span, np.int64), executive,
                               np.asarray(n, np.int64))

    def draw(self, plan: RecognitionPlan, split: str, rng: np.random.Generator
             ) -> dict[str, np.ndarray]:
        s = self.sampler
        frames = draw_recognition(s.index(split), plan, s.n_locations, rng,
                                  s.same_category_rate)
        image = frames["image"]
        frames.update(category=s.category.take(image), identity=s.identity.take(image),
                      angle=s.angle.take(image), n=plan.n.copy(),
                      feature=plan.free.feature.copy(), span=plan.span.copy())
        return frames


def make_recognition(name: str, stimuli: Any = None, **kwargs: Any) -> RecognitionTask:
    """Build an item-recognition task by name (``recog-<K>-<feature>``).

    Raises:
        WmgeomError: For another ``recog-...`` name, with close matches and the tasks.
    """
    match = _NAME.match(str(name))
    n_values = tuple(kwargs.get("n_values", DEFAULT_N_VALUES))
    if not match or match.group(2) not in FEATURES or int(match.group(1)) not in n_values:
        raise unknown_recognition(name, n_values)
    return RecognitionTask(int(match.group(1)), match.group(2), stimuli, **kwargs)


def unknown_recognition(name: str, n_values: Sequence[int] = DEFAULT_N_VALUES) -> WmgeomError:
    known = recognition_names(n_values)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return WmgeomError(f"unknown item-recognition task {name!r}.{hint} Set sizes come from "
                       f"n_values {tuple(n_values)}; tasks: {', '.join(known)}")


def recognition_regime_tasks(regime: str, task: str | None = None, n: int | None = None,
                             n_values: tuple[int, ...] = DEFAULT_N_VALUES) -> list[str]:
    """STSF one task; STMF one set size with its three features; MTMF every task."""
    known = recognition_names(n_values)
    if regime == "STSF":
        if task is None:
            raise WmgeomError("the STSF regime trains one task; pass task=, e.g. "
                              "'recog-2-identity'")
        if task not in known:
            raise unknown_recognition(task, n_values)
        return [task]
    if regime == "STMF":
        if n is None or n not in n_values:
            raise WmgeomError(f"the STMF regime of item recognition trains one set size; pass "
                              f"n= one of {tuple(n_values)}, got {n!r}")
        return [recognition_name(n, f) for f in FEATURES]
    return known


RECOGNITION = TaskFamily(
    name="recognition", label="item recognition", pattern=re.compile(r"^recog-"),
    task_names=recognition_names, make_task=make_recognition,
    regimes=("STSF", "STMF", "MTMF"), regime_tasks=recognition_regime_tasks,
    task_dim=lambda n_values: len(FEATURES) + len(n_values) + 1,
    stsf_task=recognition_name(2, "identity"), run_tag="recog-", rolling=False,
    executive="the last frame (the probe), where the match decision is due",
    description="item recognition (Sternberg): a list of K objects, distractors, a probe "
                "that matches any list item")
"""The item-recognition family (registered in :mod:`wmgeom.tasks.registry`)."""
