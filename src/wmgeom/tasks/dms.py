"""Delayed match-to-sample (DMS) over naturalistic objects: one sample, distractors, one test.

Lei et al. 2024 (§5, limitations) leave open whether their N-back strategies appear in
other working-memory tasks. A DMS trial of ``length`` frames shows the *sample* object at
frame 0, a delay of distractor objects at frames ``1 .. length - 2`` (the same stimulus
set, drawn as the N-back generator draws its free frames: every feature uniformly and
independently), and the *test* object at the last frame. The test matches the sample on
the task feature (location, identity or category) with probability 1/2; the response is
due at the last frame only, every earlier frame's target is *no action*.

A DMS trial is the N-back plan whose only executive frame is the last one, compared with
frame 0: an N-back trial with ``N = length - 1``. So DMS reuses
:func:`~wmgeom.tasks.nback.plan_trials` and :func:`~wmgeom.tasks.nback.sample_frames`
unchanged (index arrays, no loop over trials) with every N-back guarantee: a balanced
answer, identity non-matches half from the sample's category, task-irrelevant features
drawn afresh. :class:`~wmgeom.tasks.vocabulary.TrialBatch` fields keep their meaning:
``n`` is the sample-to-test distance ``length - 1``, ``executive`` the last frame only.

Task vector: the feature one-hot followed by one *family slot* that is always 1 (width 4),
``dms_task_vector``. N-back models keep their own vector (feature ⊕ N one-hot) unchanged;
a model is trained on one family, so the slot only marks the family in the input.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from wmgeom.errors import WmgeomError
from wmgeom.tasks.family import TaskFamily
from wmgeom.tasks.nback import DEFAULT_LENGTH, NBackTask, StimulusSampler
from wmgeom.tasks.vocabulary import FEATURES

PREFIX = "dms"
_DMS_NAME = re.compile(r"^dms-([a-z]+)$")


def dms_name(feature: str) -> str:
    """The registry name of a DMS task, e.g. ``dms_name("identity")``."""
    return f"{PREFIX}-{feature}"


def dms_names(n_values: Sequence[int] = ()) -> list[str]:
    """Every DMS task (one per feature; the N set does not enter)."""
    return [dms_name(f) for f in FEATURES]


def dms_task_vector(feature: int | np.ndarray) -> np.ndarray:
    """The DMS task input: one-hot feature ⊕ a family slot of 1, float32 ``[..., 4]``."""
    feature = np.asarray(feature, dtype=np.int64)
    one_hot = np.eye(len(FEATURES), dtype=np.float32)[feature]
    return np.concatenate([one_hot, np.ones((*one_hot.shape[:-1], 1), np.float32)], axis=-1)


class DMSTask(NBackTask):
    """One DMS task, e.g. DMS on category: does the test show the sample's category?

    Args:
        feature: ``"location"``, ``"identity"`` or ``"category"`` (or its index).
        stimuli: A StimulusSet or its table.
        length: Frames per trial: the sample, ``length - 2`` distractors and the test.
        n_values: Unused (DMS task vectors do not depend on an N set); accepted so that
            every family's tasks are built alike.
        n_locations: Canvas locations when ``stimuli`` is a plain table (default 4).
        sampler: A shared :class:`~wmgeom.tasks.nback.StimulusSampler`.
        same_category_rate: Fraction of identity non-matches from the sample's category.

    Sampling is :meth:`NBackTask.sample`'s: the plan of N-back trials with
    ``N = length - 1``.
    """

    family = PREFIX
    metadata: dict[str, Any] = {
        "paper": "Lei, Ito & Bashivan, Geometry of naturalistic object representations in "
                 "recurrent neural network models of working memory (limitations, §5)",
        "paper_section": "§5: other working-memory tasks than N-back",
        "tags": ["working memory", "delayed match-to-sample", "naturalistic stimuli",
                 "supervised", "match-to-sample"],
    }

    def __init__(self, feature: str | int, stimuli: Any = None, length: int = DEFAULT_LENGTH,
                 n_values: Sequence[int] = (), n_locations: int | None = None, *,
                 sampler: StimulusSampler | None = None, same_category_rate: float = 0.5
                 ) -> None:
        if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 2:
            raise WmgeomError(f"DMS trials need a sample and a test: length must be an integer "
                              f"of at least 2 frames, got {length!r}")
        # N-back's checks and sampler, with N the sample-to-test distance
        super().__init__(int(length) - 1, feature, stimuli, length, (int(length) - 1,),
                         n_locations, sampler=sampler, same_category_rate=same_category_rate)
        self.n_values = ()  # the task vector does not depend on an N set
        self.name = dms_name(self.feature)

    def __repr__(self) -> str:
        return f"DMSTask(feature={self.feature!r}, length={self.length})"

    @property
    def task_vector(self) -> np.ndarray:
        """This task's input vector, float32 ``[4]`` (:func:`dms_task_vector`)."""
        return dms_task_vector(self.feature_index)


def make_dms(name: str, stimuli: Any = None, **kwargs: Any) -> DMSTask:
    """Build a DMS task by name (``dms-location``, ``dms-identity``, ``dms-category``).

    Raises:
        WmgeomError: For another ``dms-...`` name, with close matches and the DMS tasks.
    """
    match = _DMS_NAME.match(str(name))
    if not match or match.group(1) not in FEATURES:
        raise unknown_dms(name)
    return DMSTask(match.group(1), stimuli, **kwargs)


def unknown_dms(name: str) -> WmgeomError:
    known = dms_names()
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return WmgeomError(f"unknown DMS task {name!r}.{hint} DMS tasks: {', '.join(known)}")


def dms_regime_tasks(regime: str, task: str | None = None, n: int | None = None,
                     n_values: tuple[int, ...] = ()) -> list[str]:
    """DMS regimes: STSF one task; MTMF the three features (one distance, so no STMF)."""
    if regime == "STSF":
        if task is None:
            raise WmgeomError("the STSF regime trains one task; pass task=, e.g. 'dms-identity'")
        if task not in dms_names():
            raise unknown_dms(task)
        return [task]
    return dms_names()


DMS = TaskFamily(
    name=PREFIX, label="DMS", pattern=re.compile(r"^dms-"), task_names=dms_names, make_task=make_dms,
    regimes=("STSF", "MTMF"), regime_tasks=dms_regime_tasks,
    task_dim=lambda n_values: len(FEATURES) + 1, stsf_task=dms_name("identity"), run_tag="dms-",
    rolling=False,
    executive="the last frame (the test), where the match decision is due",
    description="delayed match-to-sample: sample at frame 0, distractors, test at the last "
                "frame")
"""The DMS family (registered in :mod:`wmgeom.tasks.registry`)."""
