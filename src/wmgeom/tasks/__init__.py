"""Tasks: N-back over objects (Lei et al. 2024), delayed match-to-sample and item recognition
(Sternberg) over the same objects, and two-orientation recall (Cueva et al. 2021).

Build tasks by name with :func:`make`; sample them into :class:`TrialBatch` index arrays.
Task families (:class:`TaskFamily`, :data:`FAMILIES`) say what a config's ``tasks.family``
trains.
"""

from wmgeom.tasks.dms import DMSTask
from wmgeom.tasks.family import TaskFamily
from wmgeom.tasks.nback import (
    NBackTask,
    StimulusSampler,
    TaskMixture,
    batch_feature_values,
    nback_targets,
)
from wmgeom.tasks.recognition import RecognitionTask
from wmgeom.tasks.registry import (
    FAMILIES,
    REGIMES,
    RegimeConfig,
    make,
    make_mixture,
    make_regime,
    names,
    regime_tasks,
    register,
    register_family,
    task_family,
)
from wmgeom.tasks.vocabulary import ACTIONS, FEATURES, SPLITS, TrialBatch, task_vector

__all__ = [
    "ACTIONS",
    "DMSTask",
    "FAMILIES",
    "FEATURES",
    "REGIMES",
    "RegimeConfig",
    "SPLITS",
    "NBackTask",
    "RecognitionTask",
    "StimulusSampler",
    "TaskFamily",
    "TaskMixture",
    "TrialBatch",
    "batch_feature_values",
    "make",
    "make_mixture",
    "make_regime",
    "names",
    "nback_targets",
    "regime_tasks",
    "register",
    "register_family",
    "task_family",
    "task_vector",
]
