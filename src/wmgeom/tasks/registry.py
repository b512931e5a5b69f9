"""Tasks by name, as in neurogym: ``make("nback-2-location", stimuli=...)``.

N-back names are ``nback-<N>-<feature>`` for every N of the configured set and every feature
of :data:`~wmgeom.tasks.vocabulary.FEATURES`. ``"two-orientation"`` is the continuous recall task of
Cueva et al. 2021, imported only when it is made. Training regimes (Lei et al. 2024, §3) map
to task lists: STSF one task, STMF one N with all three features, MTMF every N with every
feature.

Task families (:class:`~wmgeom.tasks.family.TaskFamily`) are registered in :data:`FAMILIES`:
``nback`` (Lei et al. 2024), ``dms`` (delayed match-to-sample, :mod:`wmgeom.tasks.dms`) and
``recognition`` (item recognition, Sternberg, :mod:`wmgeom.tasks.recognition`).
A config's ``tasks.family`` chooses one; its regimes, task names and task-vector width come
from the family, so no module tests a family's name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, model_serializer, model_validator

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError
from wmgeom.tasks.dms import DMS
from wmgeom.tasks.family import TaskFamily
from wmgeom.tasks.nback import DEFAULT_LENGTH, NBackTask, StimulusSampler, TaskMixture
from wmgeom.tasks.recognition import RECOGNITION
from wmgeom.tasks.vocabulary import DEFAULT_N_VALUES, FEATURES

REGIMES: tuple[str, ...] = ("STSF", "STMF", "MTMF")
_NBACK_NAME = re.compile(r"^nback-(\d+)-([a-z]+)$")


class RegimeConfig(StrictModel):
    """Which tasks a model trains on (Lei et al. 2024, §3).

    Attributes:
        family: The task family (:data:`FAMILIES`): ``nback`` (default), ``dms`` or
            ``recognition``.
        regime: ``STSF`` (one task), ``STMF`` (one N, all three features) or ``MTMF``
            (every task of the family); a family may define fewer (DMS: STSF and MTMF).
        task: STSF: the task name, e.g. ``nback-2-location`` or ``dms-identity``.
        n: STMF: the N whose three features are trained.
        n_values: The configured N set (fixes the task vector).
        length: Frames per trial (6 in Lei et al. 2024).
        same_category_rate: Fraction of identity-task non-matches that show another identity
            of the same category. Lei et al. 2024 do not say how iWISDM drew them; at
            the default 1/2 the category alone answers at most 75% of an identity task,
            where uniform draws over the other identities (4 categories × 2 identities)
            would let it answer 93%.
    """

    family: str = "nback"
    regime: str = "MTMF"
    task: str | None = Field(None, description="STSF: the task name, e.g. nback-2-location")
    n: int | None = Field(None, description="STMF: the N whose three features are trained")
    n_values: list[int] = Field(default_factory=lambda: [1, 2, 3])
    length: int = Field(6, ge=2)
    same_category_rate: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> RegimeConfig:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown task family {self.family!r}; choose one of "
                             f"{', '.join(FAMILIES)}")
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
        if self.regime == "STMF" and self.n is None and "STMF" in FAMILIES[self.family].regimes:
            raise ValueError("regime STMF needs tasks.n, e.g. 2")
        try:
            self.task_names()
        except WmgeomError as exc:  # an unknown task, or an N outside n_values
            raise ValueError(str(exc)) from None
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> dict[str, Any]:
        # the default family is left out, so an N-back run's config.yaml and its fingerprint
        # (which checkpoints are resumed against) stay those written before task families
        data = handler(self)
        if data.get("family") == NBACK.name:
            data.pop("family")
        return data

    def task_names(self) -> list[str]:
        """The names of the tasks trained together (:func:`regime_tasks`)."""
        return regime_tasks(self.regime, task=self.task, n=self.n, n_values=self.n_values,
                            family=self.family)

    @property
    def task_family(self) -> TaskFamily:
        """The configured :class:`~wmgeom.tasks.family.TaskFamily`."""
        return FAMILIES[self.family]


def _make_two_orientation(stimuli: Any = None, **kwargs: Any) -> Any:
    if stimuli is not None:
        raise WmgeomError("two-orientation generates its own orientation inputs; drop stimuli=")
    from wmgeom.tasks.orientation import TwoOrientationTask

    return TwoOrientationTask(**kwargs)


_FACTORIES: dict[str, Callable[..., Any]] = {"two-orientation": _make_two_orientation}


def register(name: str, factory: Callable[..., Any]) -> None:
    """Register a task factory under ``name`` (called as ``factory(stimuli=..., **kwargs)``).

    Raises:
        WmgeomError: if the name is taken or collides with a task family's names.
    """
    if name in _FACTORIES or family_of(name) is not None:
        raise WmgeomError(f"task name {name!r} is already taken; choose another name")
    _FACTORIES[name] = factory


def nback_name(n: int, feature: str) -> str:
    """The registry name of an N-back task, e.g. ``nback_name(2, "location")``."""
    return f"nback-{n}-{feature}"


def _nback_names(n_values: Sequence[int] = DEFAULT_N_VALUES) -> list[str]:
    return [nback_name(n, f) for n in sorted(n_values) for f in FEATURES]


def names(n_values: Sequence[int] = DEFAULT_N_VALUES) -> list[str]:
    """Every registered task name: N-back tasks first (ordered by N, then feature), then
    the other families' tasks, then single registered tasks."""
    listed = [name for family in FAMILIES.values() for name in family.task_names(n_values)]
    return listed + sorted(_FACTORIES)


def _unknown(name: str, n_values: Sequence[int], nback_only: bool = False) -> WmgeomError:
    known = [nback_name(n, f) for n in sorted(n_values) for f in FEATURES] if nback_only \
        else names(n_values)
    if nback_only and name in _FACTORIES:
        return WmgeomError(f"{name!r} is not an N-back task; the N-back regimes train "
                           f"{', '.join(known)}")
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return WmgeomError(f"unknown task {name!r}.{hint} Known tasks: {', '.join(known)}")


def family_of(name: str) -> TaskFamily | None:
    """The registered family whose task names ``name`` has the form of, or ``None``."""
    return next((f for f in FAMILIES.values() if f.owns(name)), None)


def family_name(tasks: Sequence[str]) -> str:
    """The registered family of the first of ``tasks`` that has one (``""`` if none does):
    what a table's ``task_family`` column holds for a model trained on ``tasks``."""
    found = (family_of(str(t)) for t in tasks)
    return next((f.name for f in found if f is not None), "")


def task_family(name: str) -> TaskFamily:
    """The registered family called ``name`` (``tasks.family``).

    Raises:
        WmgeomError: For an unknown family, with close matches and the known families.
    """
    if name in FAMILIES:
        return FAMILIES[name]
    close = difflib.get_close_matches(str(name), list(FAMILIES), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise WmgeomError(f"unknown task family {name!r}.{hint} Known families: "
                      f"{', '.join(FAMILIES)}")


def register_family(family: TaskFamily) -> None:
    """Register a task family: its tasks become makeable by name, trainable in its regimes
    (``tasks.family: <name>``) and recordable.

    Raises:
        WmgeomError: If the family's name is taken, or one of its task names is another
            family's or a registered task's.
    """
    if family.name in FAMILIES:
        raise WmgeomError(f"task family {family.name!r} is already registered; choose another "
                          "name")
    unknown = [r for r in family.regimes if r not in REGIMES]
    if unknown or not family.regimes:
        raise WmgeomError(f"task family {family.name!r} declares regimes {unknown or []}; "
                          f"use some of {', '.join(REGIMES)}")
    taken = [n for n in family.task_names(DEFAULT_N_VALUES)
             if n in _FACTORIES or family_of(n) is not None or not family.owns(n)]
    if taken:
        raise WmgeomError(f"task family {family.name!r}: task names {taken} are taken or do not "
                          "match the family's pattern; choose other names")
    FAMILIES[family.name] = family


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
    family = family_of(name)
    if family is not None:
        return family.make_task(name, stimuli, **kwargs)
    if name in _FACTORIES:
        return _FACTORIES[name](stimuli=stimuli, **kwargs)
    raise _unknown(name, n_values)


def regime_tasks(regime: str, task: str | None = None, n: int | None = None,
                 n_values: Sequence[int] = DEFAULT_N_VALUES, family: str = "nback"
                 ) -> list[str]:
    """Task names trained together in a regime (Lei et al. 2024, §3).

    Args:
        regime: ``"STSF"`` (one task), ``"STMF"`` (one N, all features) or ``"MTMF"`` (all).
        task: The task of an STSF regime, e.g. ``"nback-1-location"``.
        n: The N of an STMF regime (or taken from ``task``).
        n_values: The configured N set (MTMF uses all of it).
        family: The task family (:data:`FAMILIES`) whose regime this is.

    Raises:
        WmgeomError: for unknown regimes or families, a regime the family does not define,
            or a missing/unknown task or N.
    """
    key = str(regime).upper()
    n_values = tuple(sorted(n_values))
    if key not in REGIMES:
        close = difflib.get_close_matches(key, REGIMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise WmgeomError(f"unknown regime {regime!r}; use one of {', '.join(REGIMES)}.{hint}")
    fam = task_family(family)
    if key not in fam.regimes:
        raise WmgeomError(f"the {fam.name} task family has no {key} regime; use one of "
                          f"{', '.join(fam.regimes)}")
    owner = family_of(task) if task is not None else None
    if owner is not None and owner is not fam:
        raise WmgeomError(f"task {task!r} belongs to the {owner.name} task family; set "
                          f"tasks.family: {owner.name} or choose a {fam.name} task")
    return fam.regime_tasks(key, task, n, n_values)


def _nback_regime_tasks(key: str, task: str | None, n: int | None,
                        n_values: tuple[int, ...]) -> list[str]:
    """N-back regimes (Lei et al. 2024, §3); ``key`` is a checked regime."""
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
                n_locations: int | None = None, same_category_rate: float = 0.5,
                family: str = "nback") -> TaskMixture:
    """The :class:`TaskMixture` of a regime's tasks (of ``family``) over one stimulus set.

    ``same_category_rate`` is the fraction of identity non-matches drawn from the
    reference's own category (:class:`~wmgeom.tasks.nback.StimulusSampler`).
    """
    sampler = StimulusSampler(stimuli, n_locations, same_category_rate)
    names_ = regime_tasks(regime, task=task, n=n, n_values=n_values, family=family)
    return make_mixture(names_, sampler, length=length, n_values=n_values)


def make_mixture(task_names: Sequence[str], sampler: StimulusSampler, length: int,
                 n_values: Sequence[int] = DEFAULT_N_VALUES) -> TaskMixture:
    """The :class:`TaskMixture` of the named tasks (one family) drawn from ``sampler``."""
    return TaskMixture([make(name, None, length=length, n_values=tuple(n_values),
                             sampler=sampler) for name in task_names])


def _make_nback(name: str, stimuli: Any = None, **kwargs: Any) -> NBackTask:
    return make(name, stimuli, **kwargs)


NBACK = TaskFamily(
    name="nback", label="N-back", pattern=_NBACK_NAME, task_names=_nback_names, make_task=_make_nback,
    regimes=REGIMES, regime_tasks=_nback_regime_tasks,
    task_dim=lambda n_values: len(FEATURES) + len(n_values), stsf_task="nback-2-identity",
    rolling=True, executive="frame t >= N, where a match decision is due",
    description="N-back over objects (Lei et al. 2024, Fig. 1a-b)")
"""The N-back family of Lei et al. 2024."""

FAMILIES: dict[str, TaskFamily] = {NBACK.name: NBACK, DMS.name: DMS,
                                   RECOGNITION.name: RECOGNITION}
"""Registered task families by name (``tasks.family``), N-back first."""
