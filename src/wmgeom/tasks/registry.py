"""Tasks by name, as in neurogym: ``make("nback-2-location", stimuli=...)``.

N-back names are ``nback-<N>-<feature>`` for every N of the configured set and every feature
of :data:`~wmgeom.tasks.vocabulary.FEATURES`. ``"two-orientation"`` is the continuous recall task of
Cueva et al. 2021, imported only when it is made. Training regimes (Lei et al. 2024, §3) map
to task lists: STSF one task, STMF one N with all three features, MTMF every N with every
feature.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, model_validator

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError
from wmgeom.tasks.nback import DEFAULT_LENGTH, NBackTask, StimulusSampler, TaskMixture
from wmgeom.tasks.vocabulary import DEFAULT_N_VALUES, FEATURES

REGIMES: tuple[str, ...] = ("STSF", "STMF", "MTMF")
_NBACK_NAME = re.compile(r"^nback-(\d+)-([a-z]+)$")


class RegimeConfig(StrictModel):
    """Which N-back tasks a model trains on (Lei et al. 2024, §3).

    Attributes:
        regime: ``STSF`` (one task), ``STMF`` (one N, all three features) or ``MTMF``.
        task: STSF: the task name, e.g. ``nback-2-location``.
        n: STMF: the N whose three features are trained.
        n_values: The configured N set (fixes the task vector).
        length: Frames per trial (6 in Lei et al. 2024).
        same_category_rate: Fraction of identity-task non-matches that show another identity
            of the same category. Lei et al. 2024 do not say how iWISDM drew them; at
            the default 1/2 the category alone answers at most 75% of an identity task,
            where uniform draws over the other identities (4 categories × 2 identities)
            would let it answer 93%.
    """

    regime: str = "MTMF"
    task: str | None = Field(None, description="STSF: the task name, e.g. nback-2-location")
    n: int | None = Field(None, description="STMF: the N whose three features are trained")
    n_values: list[int] = Field(default_factory=lambda: [1, 2, 3])
    length: int = Field(6, ge=2)
    same_category_rate: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> RegimeConfig:
        if self.regime not in REGIMES:
            raise ValueError(f"regime {self.regime!r} is not one of {', '.join(REGIMES)}")
        if not self.n_values or any(n < 1 for n in self.n_values):
            raise ValueError(f"n_values must be positive integers, got {self.n_values}")
        if max(self.n_values) >= self.length:
            raise ValueError(
                f"every N must be smaller than the sequence length {self.length}, "
                f"got n_values={self.n_values}"
            )
        if self.regime == "STSF" and self.task is None:
            raise ValueError("regime STSF needs tasks.task, e.g. nback-1-location")
        if self.regime == "STMF" and self.n is None:
            raise ValueError("regime STMF needs tasks.n, e.g. 2")
        try:
            self.task_names()
        except WmgeomError as exc:  # an unknown task, or an N outside n_values
            raise ValueError(str(exc)) from None
        return self

    def task_names(self) -> list[str]:
        """The names of the tasks trained together (:func:`regime_tasks`)."""
        return regime_tasks(self.regime, task=self.task, n=self.n, n_values=self.n_values)


def _make_two_orientation(stimuli: Any = None, **kwargs: Any) -> Any:
    if stimuli is not None:
        raise WmgeomError("two-orientation generates its own orientation inputs; drop stimuli=")
    from wmgeom.tasks.orientation import TwoOrientationTask

    return TwoOrientationTask(**kwargs)


_FACTORIES: dict[str, Callable[..., Any]] = {"two-orientation": _make_two_orientation}


def register(name: str, factory: Callable[..., Any]) -> None:
    """Register a task factory under ``name`` (called as ``factory(stimuli=..., **kwargs)``).

    Raises:
        WmgeomError: if the name is taken or collides with the N-back pattern.
    """
    if name in _FACTORIES or _NBACK_NAME.match(name):
        raise WmgeomError(f"task name {name!r} is already taken; choose another name")
    _FACTORIES[name] = factory


def nback_name(n: int, feature: str) -> str:
    """The registry name of an N-back task, e.g. ``nback_name(2, "location")``."""
    return f"nback-{n}-{feature}"


def names(n_values: Sequence[int] = DEFAULT_N_VALUES) -> list[str]:
    """Every registered task name, N-back tasks first (ordered by N, then feature)."""
    nback = [nback_name(n, f) for n in sorted(n_values) for f in FEATURES]
    return nback + sorted(_FACTORIES)


def _unknown(name: str, n_values: Sequence[int], nback_only: bool = False) -> WmgeomError:
    known = [nback_name(n, f) for n in sorted(n_values) for f in FEATURES] if nback_only \
        else names(n_values)
    if nback_only and name in _FACTORIES:
        return WmgeomError(f"{name!r} is not an N-back task; the N-back regimes train "
                           f"{', '.join(known)}")
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return WmgeomError(f"unknown task {name!r}.{hint} Known tasks: {', '.join(known)}")


def make(name: str, stimuli: Any = None, **kwargs: Any) -> Any:
    """Build a task by name.

    Args:
        name: ``"nback-<N>-<feature>"`` or another registered name (see :func:`names`).
        stimuli: StimulusSet or stimulus table (N-back tasks).
        **kwargs: Passed to the task, e.g. ``length``, ``n_values`` for N-back tasks.

    Raises:
        WmgeomError: for unknown names, with close matches and the list of known names.
    """
    n_values = tuple(kwargs.get("n_values", DEFAULT_N_VALUES))
    match = _NBACK_NAME.match(str(name))
    if match:
        n, feature = int(match.group(1)), match.group(2)
        if feature not in FEATURES or n not in n_values:
            if feature in FEATURES:
                raise WmgeomError(f"unknown task {name!r}: N={n} is not in the configured N set "
                                  f"{n_values}; pass n_values including {n}")
            raise _unknown(name, n_values)
        return NBackTask(n, feature, stimuli, **kwargs)
    if name in _FACTORIES:
        return _FACTORIES[name](stimuli=stimuli, **kwargs)
    raise _unknown(name, n_values)


def regime_tasks(regime: str, task: str | None = None, n: int | None = None,
                 n_values: Sequence[int] = DEFAULT_N_VALUES) -> list[str]:
    """Task names trained together in a regime (Lei et al. 2024, §3).

    Args:
        regime: ``"STSF"`` (one task), ``"STMF"`` (one N, all features) or ``"MTMF"`` (all).
        task: The task of an STSF regime, e.g. ``"nback-1-location"``.
        n: The N of an STMF regime (or taken from ``task``).
        n_values: The configured N set (MTMF uses all of it).

    Raises:
        WmgeomError: for unknown regimes or a missing/unknown task or N.
    """
    key = str(regime).upper()
    n_values = tuple(sorted(n_values))
    if key not in REGIMES:
        close = difflib.get_close_matches(key, REGIMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise WmgeomError(f"unknown regime {regime!r}; use one of {', '.join(REGIMES)}.{hint}")
    if task is not None:
        match = _NBACK_NAME.match(task)
        if match and match.group(2) in FEATURES and int(match.group(1)) not in n_values:
            raise WmgeomError(f"task {task!r}: N={match.group(1)} is not in the configured N "
                              f"set {n_values}; add it to tasks.n_values or choose another task")
        if not match or match.group(2) not in FEATURES:
            raise _unknown(task, n_values, nback_only=True)
    if key == "STSF":
        if task is None:
            raise WmgeomError("the STSF regime trains one task; pass task=, e.g. 'nback-1-location'")
        return [task]
    if key == "STMF":
        if n is None and task is not None:
            n = int(_NBACK_NAME.match(task).group(1))
        if n is None:
            raise WmgeomError(f"the STMF regime trains one N with all features; pass n= from {n_values}")
        if isinstance(n, bool) or int(n) < 1:
            raise WmgeomError(f"N={n} is not a valid N; the STMF regime needs tasks.n from the "
                              f"configured N set {n_values}")
        if n not in n_values:
            raise WmgeomError(f"N={n} is not in the configured N set {n_values}; add it to n_values")
        return [nback_name(n, f) for f in FEATURES]
    return [nback_name(v, f) for v in n_values for f in FEATURES]


def make_regime(regime: str, stimuli: Any, task: str | None = None, n: int | None = None,
                n_values: Sequence[int] = DEFAULT_N_VALUES, length: int = DEFAULT_LENGTH,
                n_locations: int | None = None, same_category_rate: float = 0.5
                ) -> TaskMixture:
    """The :class:`TaskMixture` of a regime's tasks over one stimulus set.

    ``same_category_rate`` is the fraction of identity non-matches drawn from the
    reference's own category (:class:`~wmgeom.tasks.nback.StimulusSampler`).
    """
    sampler = StimulusSampler(stimuli, n_locations, same_category_rate)
    tasks = []
    for name in regime_tasks(regime, task=task, n=n, n_values=n_values):
        n_i, feature = _NBACK_NAME.match(name).groups()
        tasks.append(NBackTask(int(n_i), feature, None, length=length, n_values=n_values,
                               sampler=sampler))
    return TaskMixture(tasks)
