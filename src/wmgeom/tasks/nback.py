"""N-back tasks over naturalistic objects (Lei et al. 2024, §2, Fig. 1a–b, A1b).

A trial shows ``length`` frames; each frame is an object image (a row of the stimulus table)
placed at one of ``n_locations`` canvas locations. At frames ``t < N`` the target is
*no action*; at every *executive* frame ``t >= N`` it is *match* if frames ``t`` and ``t - N``
share the task feature, else *non-match*. Identity means the same object whatever its view
angle or location; category means the same category whatever the identity.

Sampling design (all vectorised over trials; only the frames are looped):

* At every executive frame the answer is drawn first, match with probability 1/2, so match
  and non-match are balanced at every executive step of every task.
* The task feature's value at frame ``t`` is then drawn conditioned on frame ``t - N`` only:
  the same value for a match, a uniformly drawn *different* value for a non-match. Frames
  ``t < N`` draw it freely (uniformly). Draws run in time order, so chains
  ``t - 2N → t - N → t`` stay consistent.
* Every task-irrelevant feature is drawn afresh at every frame, independently of the answer:
  location uniformly over the grid, identity uniformly over the split's identities, the view
  angle uniformly over the identity's images in the split. Hence in location tasks whether
  identities or categories repeat at ``t - N`` is independent of the answer, and in identity
  and category tasks whether locations repeat is.
* Identity is nested in category, so the two cannot be independent, and a model could
  answer identity tasks from the category alone. Identity tasks therefore draw a non-match
  from the *same category* (another identity of the reference's category, uniformly) with
  probability ``same_category_rate`` and from the other categories (uniformly over their
  identities) otherwise; a category with no other identity in the split always takes the
  second branch. With the default rate 1/2 the category alone answers at most
  ``1 - rate / 2`` = 75% of the executive frames of an identity task. Category
  tasks draw the category first (same or uniformly different) and then an identity
  uniformly within it, so conditional on a category match the identity repeats only at
  chance (1 / identities in that category).
* Because the view is drawn afresh, an identity or category match can show the very same
  image again, with chance 1 / (images of that identity in the split).

Splits draw only their own rows: ``train`` the training images, ``val_angle`` held-out view
angles of the training objects, ``val_identity`` held-out objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.tasks.vocabulary import (
    DEFAULT_N_VALUES,
    FEATURES,
    MATCH,
    NO_ACTION,
    NON_MATCH,
    TrialBatch,
    task_vector,
)

DEFAULT_LENGTH = 6
TABLE_COLUMNS: tuple[str, ...] = ("category", "identity", "angle", "split")

RngLike = np.random.Generator | int | None
_MAX_PLANS = 64  # cached trial plans per task or mixture (one per batch size, split, offset)


def as_rng(rng: RngLike) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a generator, a seed, or ``None`` (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def feature_index(feature: str | int) -> int:
    """Index of a feature name in :data:`FEATURES`; unknown names raise with close matches."""
    if isinstance(feature, int | np.integer) and 0 <= int(feature) < len(FEATURES):
        return int(feature)
    if isinstance(feature, str) and feature.lower() in FEATURES:
        return FEATURES.index(feature.lower())
    close = difflib.get_close_matches(str(feature).lower(), FEATURES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise WmgeomError(f"unknown N-back feature {feature!r}; use one of {', '.join(FEATURES)}.{hint}")


def stimulus_table(stimuli: Any, n_locations: int | None = None) -> tuple[pd.DataFrame, int]:
    """The stimulus table and number of locations of a StimulusSet or a plain table.

    Args:
        stimuli: Anything with ``.table`` and ``.n_locations`` (a StimulusSet), or a pandas
            DataFrame with integer columns ``category``, ``identity``, ``angle`` and a
            ``split`` column.
        n_locations: Locations on the canvas; defaults to ``stimuli.n_locations`` or 4.

    Raises:
        WmgeomError: if the table is missing or lacks a required column.
    """
    if stimuli is None:
        raise WmgeomError("N-back tasks need stimuli; pass stimuli=<StimulusSet or stimulus table>")
    table = stimuli.table if hasattr(stimuli, "table") else stimuli
    if not isinstance(table, pd.DataFrame):
        raise WmgeomError(f"stimuli must be a StimulusSet or a pandas DataFrame, got "
                          f"{type(stimuli).__name__}; build one with wmgeom.stimuli")
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise WmgeomError(f"stimulus table lacks column(s) {missing}; it needs "
                          f"{list(TABLE_COLUMNS)} (see docs/design.md)")
    if n_locations is None:
        n_locations = int(getattr(stimuli, "n_locations", 4))
    if int(n_locations) < 1:
        raise WmgeomError(f"n_locations must be at least 1, got {n_locations}")
    return table, int(n_locations)


def _padded_groups(group: np.ndarray, members: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Members of each group as a ``[n_groups, max_size]`` array (padded with -1) and sizes."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sorted_group = group[order]
    position = np.arange(len(group)) - starts[sorted_group]
    padded = np.full((n_groups, max(int(counts.max(initial=0)), 1)), -1, dtype=np.int64)
    padded[sorted_group, position] = members[order]
    return padded, counts.astype(np.int64)


@dataclass(frozen=True)
class SplitIndex:
    """Lookup arrays for sampling one split (local indices ``0..k-1`` for identities/categories).

    Attributes:
        split: Split name.
        n_identities: Identities with at least one image in the split.
        n_categories: Categories with at least one identity in the split.
        rows_by_identity: ``[n_identities, max_images]`` table rows of each identity (-1 pads).
        rows_count: ``[n_identities]`` images of each identity.
        identity_pools: ``[n_categories + 1, max_ids]`` local identities of each category, then
            one last pool holding every identity of the split (-1 pads).
        pool_count: ``[n_categories + 1]`` identities per pool.
        identity_category: ``[n_identities]`` local category of each identity.
        position_in_category: ``[n_identities]`` position of each identity in its pool.
        other_pools: ``[n_categories, max_other]`` identities of every *other* category.
        other_count: ``[n_categories]`` identities outside each category.
    """

    split: str
    n_identities: int
    n_categories: int
    rows_by_identity: np.ndarray
    rows_count: np.ndarray
    identity_pools: np.ndarray
    pool_count: np.ndarray
    identity_category: np.ndarray
    position_in_category: np.ndarray
    other_pools: np.ndarray
    other_count: np.ndarray


def split_index(category: np.ndarray, identity: np.ndarray, split_of_row: np.ndarray,
                split: str) -> SplitIndex:
    """Build the :class:`SplitIndex` of ``split`` from the table's label columns.

    Raises:
        WmgeomError: if the split has no rows or an identity spans several categories.
    """
    rows = np.flatnonzero(split_of_row == split)
    if rows.size == 0:
        present = sorted(set(split_of_row.tolist()))
        raise WmgeomError(f"split {split!r} has no images in the stimulus table; "
                          f"use one of {present}")
    ids, id_local = np.unique(identity[rows], return_inverse=True)
    rows_by_identity, rows_count = _padded_groups(id_local, rows, len(ids))
    first_row = rows_by_identity[:, 0]
    id_category = category[first_row]
    if np.any(category[rows] != id_category[id_local]):
        raise WmgeomError("an identity appears under several categories in the stimulus table; "
                          "give every identity a single category")
    cats, cat_local = np.unique(id_category, return_inverse=True)
    pool = np.concatenate([cat_local, np.full(len(ids), len(cats))])
    members = np.concatenate([np.arange(len(ids)), np.arange(len(ids))])
    pools, pool_count = _padded_groups(pool, members, len(cats) + 1)
    position = np.zeros(len(ids), dtype=np.int64)
    for c in range(len(cats)):
        members_c = pools[c, : pool_count[c]]
        position[members_c] = np.arange(len(members_c))
    outside = np.concatenate([np.flatnonzero(cat_local != c) for c in range(len(cats))])
    outside_of = np.repeat(np.arange(len(cats)), len(ids) - pool_count[: len(cats)])
    other_pools, other_count = _padded_groups(outside_of, outside, len(cats))
    return SplitIndex(split, len(ids), len(cats), rows_by_identity, rows_count, pools, pool_count,
                      cat_local.astype(np.int64), position, other_pools, other_count)


@dataclass(frozen=True)
class TrialPlan:
    """Everything about a batch that depends only on each trial's task, not on chance.

    Built once per (tasks, batch size, split) by :func:`plan_trials` and reused, so that
    sampling does only the random part.
    """

    n: np.ndarray            # [B] N of each trial
    feature: np.ndarray      # [B] feature index of each trial
    executive: np.ndarray    # [B, T] bool, t >= N
    executive_int: np.ndarray  # [B, T] int64 copy of executive
    n_values: np.ndarray     # [B, 1] values of the task feature (the key's range)
    reference: np.ndarray    # [B, T] flat index of frame t - N (of frame t itself when t < N)
    is_location: np.ndarray  # [B, 1] bool
    is_identity: np.ndarray  # [B, 1] bool
    pool_of_key: np.ndarray  # [B, 1] 1 if the key picks the identity pool (category tasks)
    pool_offset: np.ndarray  # [B, 1] the all-identities pool for the other tasks, else 0
    first_frame: int         # first frame with an executive trial


def plan_trials(n: np.ndarray, feature: np.ndarray, length: int, index: SplitIndex,
                n_locations: int) -> TrialPlan:
    """The deterministic part of sampling trials with per-trial ``n`` and ``feature``."""
    n = np.asarray(n, dtype=np.int64)
    feature = np.asarray(feature, dtype=np.int64)
    frames = np.arange(length)
    executive = frames >= n[:, None]
    own = np.arange(len(n))[:, None] * length
    reference = own + np.where(executive, frames - n[:, None], frames)
    counts = np.array([n_locations, index.n_identities, index.n_categories], dtype=np.int64)
    is_category = (feature == 2)[:, None]
    return TrialPlan(
        n=n, feature=feature, executive=executive, executive_int=executive.astype(np.int64),
        n_values=counts[feature][:, None], reference=reference,
        is_location=(feature == 0)[:, None], is_identity=(feature == 1)[:, None],
        pool_of_key=is_category.astype(np.int64),
        pool_offset=np.where(is_category, 0, index.n_categories).astype(np.int64),
        first_frame=int(n.min(initial=length)))


def _identity_non_match(index: SplitIndex, reference: np.ndarray, u_branch: np.ndarray,
                        u_pick: np.ndarray, same_category_rate: float) -> np.ndarray:
    """Another identity than ``reference``: of its category with probability
    ``same_category_rate`` (when the category has another one), else of another category."""
    cat = index.identity_category.take(reference)
    n_same = index.pool_count.take(cat) - 1  # other identities of the reference's category
    n_other = index.other_count.take(cat)
    same = ((u_branch < same_category_rate) & (n_same > 0)) | (n_other == 0)
    j = (u_pick * np.where(same, n_same, n_other)).astype(np.int64)
    # the j-th identity of the category, skipping the reference itself
    j_same = j + (j >= index.position_in_category.take(reference))
    width = index.identity_pools.shape[1]
    in_category = index.identity_pools.reshape(-1).take(cat * width + np.minimum(j_same,
                                                                               width - 1))
    outside = index.other_pools.reshape(-1).take(cat * index.other_pools.shape[1] + np.minimum(
        j, index.other_pools.shape[1] - 1))
    return np.where(same, in_category, outside)


def sample_frames(index: SplitIndex, plan: TrialPlan, n_locations: int,
                  rng: np.random.Generator, same_category_rate: float = 0.5
                  ) -> dict[str, np.ndarray]:
    """Draw N-back sequences for the trials of ``plan``.

    Pure apart from consuming ``rng``: one batched draw of five uniforms per frame, then a
    loop over frames only (never over trials). See the module docstring for the design.

    Args:
        index: The split's lookup arrays.
        plan: The trials' tasks, from :func:`plan_trials` on the same ``index``.
        n_locations: Locations on the canvas.
        rng: Random generator.
        same_category_rate: Fraction of identity-task non-matches drawn from the reference's
            own category (the rest from the other categories).

    Returns:
        ``image``, ``location``, ``target`` (int64 ``[B, T]``) and ``executive`` (bool).
    """
    u_key, u_location, u_identity, u_view, u_branch = rng.random((5, *plan.executive.shape))
    k = plan.n_values
    # The task "key" is the local value (0..k-1) of each trial's task feature. One uniform
    # decides it: free frames take floor(u * k); executive frames match when u < 1/2 and
    # otherwise step by 1 + floor((2u - 1)(k - 1)) (mod k) away from frame t - N. Identity
    # tasks replace the step by a same- or other-category draw (:func:`_identity_non_match`).
    non_match = (u_key >= 0.5) & plan.executive
    step = non_match * (1 + ((2.0 * u_key - 1.0) * (k - 1)).astype(np.int64))
    u_pick = np.clip(2.0 * u_key - 1.0, 0.0, np.nextafter(1.0, 0.0))  # uniform given non-match
    key = (u_key * k).astype(np.int64)
    flat_key = key.reshape(-1)
    k_flat = k[:, 0]
    identity_rows = np.flatnonzero(plan.is_identity[:, 0])
    for t in range(plan.first_frame, key.shape[1]):
        # non-executive frames refer to themselves with step 0 and keep their free draw
        reference = flat_key.take(plan.reference[:, t])
        key[:, t] = (reference + step[:, t]) % k_flat
        rows = identity_rows[non_match[identity_rows, t]]
        if len(rows):
            key[rows, t] = _identity_non_match(index, reference[rows], u_branch[rows, t],
                                               u_pick[rows, t], same_category_rate)

    image, location = frames_of_keys(index, plan, key, u_location, u_identity, u_view,
                                     n_locations)
    target = 2 * plan.executive_int - non_match  # no_action 0, non_match 1, match 2
    return {"image": image, "location": location, "target": target,
            "executive": plan.executive.copy()}


def frames_of_keys(index: SplitIndex, plan: TrialPlan, key: np.ndarray, u_location: np.ndarray,
                   u_identity: np.ndarray, u_view: np.ndarray, n_locations: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The image and location of every frame, ``[B, T]`` each, given the local value of each
    trial's task feature at every frame (``key``) and uniforms for the other features.

    The task-irrelevant features are drawn afresh: the location uniformly; the identity as
    the key (identity tasks), uniformly within the key's category (category tasks) or over
    the split's identities (location tasks); the view uniformly over the identity's images.
    """
    location = np.where(plan.is_location, key, (u_location * n_locations).astype(np.int64))
    pool = key * plan.pool_of_key + plan.pool_offset
    draw = (u_identity * index.pool_count.take(pool)).astype(np.int64)
    pooled = index.identity_pools.reshape(-1).take(pool * index.identity_pools.shape[1] + draw)
    identity = np.where(plan.is_identity, key, pooled)
    view = (u_view * index.rows_count.take(identity)).astype(np.int64)
    image = index.rows_by_identity.reshape(-1).take(identity * index.rows_by_identity.shape[1] + view)
    return image, location


def nback_targets(values: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Targets implied by a sequence of feature values, ``[B, T]`` into ACTIONS.

    Args:
        values: ``[B, T]`` values of the task feature at every frame.
        n: N, a scalar or one per trial ``[B]``.
    """
    values = np.asarray(values)
    batch, length = values.shape
    n = np.broadcast_to(np.asarray(n, dtype=np.int64), (batch,))
    frames = np.arange(length)
    executive = frames >= n[:, None]
    reference = np.take_along_axis(values, np.maximum(frames - n[:, None], 0), axis=1)
    return np.where(executive, np.where(values == reference, MATCH, NON_MATCH), NO_ACTION)


def batch_feature_values(batch: TrialBatch) -> np.ndarray:
    """Values of each trial's task feature at every frame, ``[B, T]``."""
    stacked = np.stack([batch.location, batch.identity, batch.category])
    return stacked[batch.feature, np.arange(len(batch))]


def check_n(n: int, length: int, n_values: Sequence[int]) -> int:
    """Validate N against the sequence length and the configured N set."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise WmgeomError(f"N must be a positive integer, got {n!r}")
    if n >= length:
        raise WmgeomError(f"N={n} needs sequences longer than N frames, but length={length}; "
                          f"use length >= {n + 1} or a smaller N")
    if n not in tuple(n_values):
        raise WmgeomError(f"N={n} is not in the configured N set {tuple(n_values)}; "
                          f"add it to n_values")
    return int(n)


class StimulusSampler:
    """Per-split lookup arrays of one stimulus table, shared by the tasks sampling from it.

    Args:
        stimuli: A StimulusSet or its table.
        n_locations: Canvas locations when ``stimuli`` is a plain table (default 4).
        same_category_rate: Fraction of identity-task non-matches that show another
            identity of the reference's category (default 1/2, so the category
            alone answers at most 75% of an identity task).
    """

    def __init__(self, stimuli: Any, n_locations: int | None = None,
                 same_category_rate: float = 0.5) -> None:
        if not 0.0 <= same_category_rate <= 1.0:
            raise WmgeomError(f"same_category_rate must lie in [0, 1], got {same_category_rate}")
        self.same_category_rate = float(same_category_rate)
        self.table, self.n_locations = stimulus_table(stimuli, n_locations)
        try:
            self.category = self.table["category"].to_numpy(dtype=np.int64)
            self.identity = self.table["identity"].to_numpy(dtype=np.int64)
            self.angle = self.table["angle"].to_numpy(dtype=np.int64)
        except (TypeError, ValueError) as err:
            raise WmgeomError("stimulus table columns category, identity and angle must be "
                              f"integer codes ({err})") from None
        self.split = self.table["split"].astype(str).to_numpy()
        self._indices: dict[str, SplitIndex] = {}

    def index(self, split: str) -> SplitIndex:
        """The lookup arrays of ``split`` (built once, then cached)."""
        if split not in self._indices:
            self._indices[split] = split_index(self.category, self.identity, self.split, split)
        return self._indices[split]

    def check_features(self, split: str, features: Sequence[int]) -> SplitIndex:
        """The split's index, after checking every task feature has two values in the split.

        Raises:
            WmgeomError: if a feature has fewer than two values (no non-match exists).
        """
        index = self.index(split)
        counts = {0: self.n_locations, 1: index.n_identities, 2: index.n_categories}
        for f in sorted(set(int(f) for f in features)):
            if counts[f] < 2:
                raise WmgeomError(f"{FEATURES[f]} N-back tasks need at least two {FEATURES[f]} "
                                  f"values in split {split!r}, found {counts[f]}; "
                                  "use a larger stimulus set")
        return index

    def plan(self, n: np.ndarray, feature: np.ndarray, length: int, split: str) -> TrialPlan:
        """The :class:`TrialPlan` of trials with per-trial ``n`` and ``feature`` in ``split``."""
        features = np.unique(feature).tolist()
        index = self.check_features(split, features)
        return plan_trials(n, feature, length, index, self.n_locations)

    def sample(self, plan: TrialPlan, split: str, rng: np.random.Generator
               ) -> dict[str, np.ndarray]:
        """Frames and labels of the trials of ``plan`` (made by :meth:`plan` for ``split``)."""
        frames = sample_frames(self.index(split), plan, self.n_locations, rng,
                               self.same_category_rate)
        image = frames["image"]
        frames.update(category=self.category.take(image), identity=self.identity.take(image),
                      angle=self.angle.take(image), n=plan.n.copy(),
                      feature=plan.feature.copy())
        return frames


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise WmgeomError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class NBackTask:
    """One N-back task, e.g. 2-back category (Lei et al. 2024, Fig. 1a–b).

    Args:
        n: N, how many frames back the comparison reaches.
        feature: ``"location"``, ``"identity"`` or ``"category"`` (or its index).
        stimuli: A StimulusSet (anything with ``.table`` and ``.n_locations``) or its table.
        length: Frames per trial (the paper's 6).
        n_values: The configured N set, which fixes the task vector.
        n_locations: Canvas locations when ``stimuli`` is a plain table (default 4).
        sampler: A shared :class:`StimulusSampler` (then ``stimuli``, ``n_locations`` and
            ``same_category_rate`` are the sampler's).
        same_category_rate: Fraction of identity non-matches from the same category.

    Example:
        >>> task = NBackTask(2, "category", stimuli)          # doctest: +SKIP
        >>> batch = task.sample(256, split="train", rng=0)   # doctest: +SKIP
    """

    family = "nback"
    metadata: dict[str, Any] = {
        "paper": "Lei, Ito & Bashivan, Geometry of naturalistic object representations in "
                 "recurrent neural network models of working memory",
        "paper_section": "§2 Tasks; Fig. 1a-b; appendix Fig. A1b",
        "tags": ["working memory", "n-back", "naturalistic stimuli", "supervised",
                 "match-to-sample"],
    }

    def __init__(self, n: int, feature: str | int, stimuli: Any, length: int = DEFAULT_LENGTH,
                 n_values: Sequence[int] = DEFAULT_N_VALUES, n_locations: int | None = None,
                 *, sampler: StimulusSampler | None = None,
                 same_category_rate: float = 0.5) -> None:
        if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 2:
            raise WmgeomError(f"length must be an integer of at least 2 frames, got {length!r}")
        self.length = int(length)
        self.n_values = tuple(int(v) for v in n_values)
        if len(set(self.n_values)) != len(self.n_values) or not self.n_values:
            raise WmgeomError(f"n_values must be distinct N values, got {tuple(n_values)}")
        self.n_values = tuple(sorted(self.n_values))
        self.n = check_n(n, self.length, self.n_values)
        self.feature_index = feature_index(feature)
        self.feature = FEATURES[self.feature_index]
        self.sampler = sampler if sampler is not None else StimulusSampler(
            stimuli, n_locations, same_category_rate)
        self.name = f"nback-{self.n}-{self.feature}"
        self._plans: dict[tuple[int, str], tuple[Any, np.ndarray]] = {}

    #: Frames an executive frame is compared with, from frame ``t - N`` (``TrialBatch.span``).
    span = 1

    # --- the two sampling hooks a family built on N-back trials may replace --------------
    def plan_batch(self, n: np.ndarray, feature: np.ndarray, span: np.ndarray, split: str
                   ) -> Any:
        """The deterministic part of drawing trials with per-trial ``n``, ``feature`` and
        ``span`` from ``split`` (cached by the task or mixture and passed to :meth:`draw`)."""
        return self.sampler.plan(n, feature, self.length, split)

    def draw(self, plan: Any, split: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The random part: frame and trial fields of :class:`TrialBatch` for ``plan``."""
        return self.sampler.sample(plan, split, rng)

    def __repr__(self) -> str:
        return (f"NBackTask(n={self.n}, feature={self.feature!r}, length={self.length}, "
                f"n_values={self.n_values})")

    @property
    def n_locations(self) -> int:
        return self.sampler.n_locations

    @property
    def task_vector(self) -> np.ndarray:
        """This task's input vector, float32 ``[len(FEATURES) + len(n_values)]``."""
        return task_vector(self.feature_index, self.n, self.n_values)

    def sample(self, batch_size: int, split: str = "train", rng: RngLike = None) -> TrialBatch:
        """Draw ``batch_size`` trials from ``split`` (vectorised).

        Args:
            batch_size: Trials to draw.
            split: ``"train"``, ``"val_angle"`` or ``"val_identity"``.
            rng: A numpy Generator, a seed, or ``None``.
        """
        batch_size = check_batch_size(batch_size)
        rng = as_rng(rng)
        key = (batch_size, split)
        if key not in self._plans:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            n = np.full(batch_size, self.n, dtype=np.int64)
            feature = np.full(batch_size, self.feature_index, dtype=np.int64)
            span = np.full(batch_size, self.span, dtype=np.int64)
            self._plans[key] = (self.plan_batch(n, feature, span, split),
                                np.tile(self.task_vector, (batch_size, 1)))
        plan, vectors = self._plans[key]
        return TrialBatch(**self.draw(plan, split, rng), task_vector=vectors.copy(),
                          task_index=np.zeros(batch_size, dtype=np.int64),
                          task_names=(self.name,))


class TaskMixture:
    """Several tasks of one family sampled together, each trial from one task (the MTMF and
    STMF regimes).

    Trials are assigned to tasks in equal shares (up to one trial; trial ``i`` gets task
    ``(i + offset) mod n_tasks`` with a random offset), and all tasks are drawn in a single
    vectorised pass. Trials are independent, so their order within a batch carries nothing.

    Args:
        tasks: Tasks of one family (N-back, DMS, ...: :class:`NBackTask` and its
            subclasses) sharing one stimulus table, length and N set.

    Raises:
        WmgeomError: if the list is empty, holds another kind of task, mixes families, or
            the tasks disagree.
    """

    metadata = NBackTask.metadata

    def __init__(self, tasks: Sequence[NBackTask]) -> None:
        tasks = list(tasks)
        if not tasks:
            raise WmgeomError("a task mixture needs at least one task; pass a list of N-back tasks")
        for task in tasks:
            if not isinstance(task, NBackTask):
                raise WmgeomError(f"task mixtures hold N-back tasks only (or tasks of another "
                                  f"family built on them), got {type(task).__name__}")
        first = tasks[0]
        for task in tasks[1:]:
            if task.family != first.family or type(task) is not type(first):
                raise WmgeomError(f"a task mixture holds one task family; got {task.name!r} "
                                  f"({task.family}) and {first.name!r} ({first.family})")
            if task.length != first.length or task.n_values != first.n_values:
                raise WmgeomError("all tasks of a mixture need the same length and n_values; "
                                  f"got {task!r} and {first!r}")
            same_table = task.sampler is first.sampler or task.sampler.table is first.sampler.table \
                or task.sampler.table.equals(first.sampler.table)
            if not same_table or task.n_locations != first.n_locations:
                raise WmgeomError("all tasks of a mixture must sample the same stimulus set; "
                                  "build them from one StimulusSet")
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise WmgeomError(f"a task mixture lists a task twice: {names}; list each task once")
        self.tasks = tasks
        self.task_names = tuple(names)
        self.sampler = first.sampler
        self.length = first.length
        self.n_values = first.n_values
        self._n = np.array([t.n for t in tasks], dtype=np.int64)
        self._feature = np.array([t.feature_index for t in tasks], dtype=np.int64)
        self._span = np.array([t.span for t in tasks], dtype=np.int64)
        self.family = first.family
        self._task_vectors = np.stack([t.task_vector for t in tasks])
        self._plans: dict[tuple[int, int, str], tuple[TrialPlan, np.ndarray, np.ndarray]] = {}

    def __repr__(self) -> str:
        return f"TaskMixture({list(self.task_names)})"

    def __len__(self) -> int:
        return len(self.tasks)

    def sample(self, batch_size: int, split: str = "train", rng: RngLike = None) -> TrialBatch:
        """Draw a multi-task batch of ``batch_size`` trials from ``split``."""
        batch_size = check_batch_size(batch_size)
        rng = as_rng(rng)
        offset = int(rng.integers(len(self.tasks)))
        key = (batch_size, offset, split)
        if key not in self._plans:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            task_index = (np.arange(batch_size, dtype=np.int64) + offset) % len(self.tasks)
            plan = self.tasks[0].plan_batch(self._n[task_index], self._feature[task_index],
                                            self._span[task_index], split)
            self._plans[key] = (plan, task_index, self._task_vectors[task_index])
        plan, task_index, vectors = self._plans[key]
        return TrialBatch(**self.tasks[0].draw(plan, split, rng), task_vector=vectors.copy(),
                          task_index=task_index.copy(), task_names=self.task_names)
