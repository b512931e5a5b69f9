"""Tasks: N-back over objects (Lei et al. 2024) and two-orientation recall (Cueva et al. 2021).

Build tasks by name with :func:`make`; sample them into :class:`TrialBatch` index arrays.
"""

from wmgeom.tasks.nback import (
    NBackTask,
    StimulusSampler,
    TaskMixture,
    batch_feature_values,
    nback_targets,
)
from wmgeom.tasks.registry import (
    REGIMES,
    RegimeConfig,
    make,
    make_regime,
    names,
    regime_tasks,
    register,
)
from wmgeom.tasks.vocabulary import ACTIONS, FEATURES, SPLITS, TrialBatch, task_vector

__all__ = [
    "ACTIONS",
    "FEATURES",
    "REGIMES",
    "RegimeConfig",
    "SPLITS",
    "NBackTask",
    "StimulusSampler",
    "TaskMixture",
    "TrialBatch",
    "batch_feature_values",
    "make",
    "make_regime",
    "names",
    "nback_targets",
    "regime_tasks",
    "register",
    "task_vector",
]
