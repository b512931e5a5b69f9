"""The task-family interface: what a family of tasks declares so that it can be trained,
recorded and analysed without any module testing its name.

A family (N-back of Lei et al. 2024, delayed match-to-sample, ...) names its tasks, builds
them, maps the training regimes to task lists, fixes the width of the model's task input
and states what the analyses may assume about its trials. Register one with
:func:`wmgeom.tasks.registry.register_family`; adding a family is one module plus that line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskFamily:
    """A family of tasks sampled from one stimulus set into :class:`TrialBatch` es.

    Attributes:
        name: The family's name in configs and on the command line (``tasks.family``,
            ``wmgeom run --grid --tasks``).
        label: Its name in prose and messages (``N-back``, ``DMS``).
        pattern: The task names the family owns (``make`` sends them to ``make_task``).
        task_names: ``n_values -> names``: every task of the family for a configured N set.
        make_task: ``(name, stimuli=None, **kwargs) -> task``; kwargs as for
            :class:`~wmgeom.tasks.nback.NBackTask` (``length``, ``n_values``, ``sampler``,
            ``n_locations``, ``same_category_rate``). Raises ``WmgeomError`` for a name of its
            pattern that is not one of its tasks.
        regimes: The training regimes the family defines (a subset of ``REGIMES``).
        regime_tasks: ``(regime, task, n, n_values) -> names``: the tasks a regime trains
            (the regime is already upper-case and one of ``regimes``).
        task_dim: ``n_values -> width`` of the task vector the model receives.
        stsf_task: The task a grid's STSF models train by default.
        run_tag: What a grid's run folders of the family carry before the regime
            (``gru-128_dms-MTMF_seed0``); empty for N-back, whose folder names predate task
            families. A grid analyses and reports a family with a tag under its own folder.
        rolling: Whether every frame ``t >= N`` compares with frame ``t - N`` (N-back), so
            the analyses that need that structure (several comparisons per trial, N-back
            memory slots) apply; families without it get those analyses skipped.
        executive: What an executive frame is, stored with recordings.
        description: One line for listings.
    """

    name: str
    label: str
    pattern: re.Pattern[str]
    task_names: Callable[[Sequence[int]], list[str]]
    make_task: Callable[..., Any]
    regimes: tuple[str, ...]
    regime_tasks: Callable[[str, str | None, int | None, tuple[int, ...]], list[str]]
    task_dim: Callable[[Sequence[int]], int]
    stsf_task: str
    run_tag: str = ""
    rolling: bool = False
    executive: str = "frame where a response is due"
    description: str = ""

    def owns(self, name: str) -> bool:
        """Whether ``name`` has the form of one of this family's task names."""
        return bool(self.pattern.match(str(name)))
