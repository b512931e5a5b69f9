"""The core interface: any sequence model that maps per-frame encodings to per-frame states.

The sensory-cognitive model (:class:`~wmgeom.models.SensoryCognitiveModel`) feeds its
encodings ``[B, T, H]`` to a *core* and reads its actions from the core's states ``[B, T, H]``.
A core is one :class:`Core` subclass registered with :func:`register_core`; its class
attributes are the properties the rest of wmgeom asks about (never its name):

* ``state_kind`` — what the recorded state at a frame is (stored with every recording);
* ``no_recurrent_state`` — None when the recorded state is the state the core carries from
  one frame to the next (then it implements :meth:`Core.rollout` and :meth:`Core.step`,
  and the causal perturbation and the fixed points are defined); otherwise the reason they
  are not, which the report's "skipped" table quotes;
* ``family`` — what findings compare (:data:`VANILLA_RNN` against :data:`GATED_RNN` in
  Lei et al. 2024), ``gated``, ``has_cell_state``, ``paper_hidden_size``;
* :meth:`Core.parameters_at` — the parameter count at a hidden size (size matching).

Adding a core is one module that defines and registers the class, and its test::

    @register_core
    class MyCore(Core):
        name, label, family = "mine", "Mine", "my family"
        state_kind = "what my state at frame t is"
        no_recurrent_state = "why nothing can be perturbed and run on"
        def __init__(self, hidden_size): ...
        def forward(self, encodings): ...  # [B, T, H] -> [B, T, H], causal
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from wmgeom.errors import WmgeomError

__all__ = ["CORES", "GATED_RNN", "VANILLA_RNN", "Core", "architecture_label", "core", "gru_parameters",
           "matched_width", "register_core", "unregister_core"]

VANILLA_RNN = "vanilla RNN"
"""Family of gateless recurrent networks (Lei et al. 2024's vanilla RNN)."""
GATED_RNN = "gated RNN"
"""Family of recurrent networks with gates on their state (GRU, LSTM)."""

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class Core(nn.Module):
    """A sequence core: per-frame encodings ``[B, T, H]`` → per-frame states ``[B, T, H]``.

    Subclasses set the class attributes below, take ``hidden_size`` (the width of the
    encodings and of the recorded state) as their first constructor argument, and implement
    :meth:`forward`, causally: the state at frame ``t`` depends on frames ``≤ t`` only.

    Attributes:
        name: Registry name (the config's ``model.architecture``).
        label: Name in figures and reports.
        family: What findings compare (:data:`VANILLA_RNN`, :data:`GATED_RNN`, or the
            core's own, e.g. ``"transformer"``); findings never test names.
        gated: Whether the core has multiplicative gates.
        state_kind: What the recorded state (``hidden``) at a frame is, in words.
        has_cell_state: Whether the carried state is ``(h, c)``, ``c`` recorded as ``cell``.
        paper_hidden_size: Units of the models Lei et al. 2024 analyse; None for a core the
            paper does not train.
        no_recurrent_state: None when the recorded state is the state carried from frame to
            frame (:meth:`rollout`, :meth:`step` defined); otherwise why it is not, as the
            analyses that perturb or step that state report it.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[str]
    gated: ClassVar[bool] = False
    state_kind: ClassVar[str]
    has_cell_state: ClassVar[bool] = False
    paper_hidden_size: ClassVar[int | None] = None
    no_recurrent_state: ClassVar[str | None] = None

    def __init__(self, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size

    # --- properties ---------------------------------------------------------------
    recurrent: ClassVar[bool] = True
    """Whether the recorded state is the state carried to the next frame (derived from
    ``no_recurrent_state`` for every subclass)."""
    in_paper: ClassVar[bool] = False
    """Whether Lei et al. 2024 train this core (derived from ``paper_hidden_size``; the
    paper grid's default)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.recurrent = cls.no_recurrent_state is None
        cls.in_paper = cls.paper_hidden_size is not None

    @classmethod
    def state_size(cls, hidden_size: int) -> int:
        """Length of the state :meth:`step` maps: ``2H`` for ``(h, c)``, else ``H``."""
        return 2 * hidden_size if cls.has_cell_state else hidden_size

    @classmethod
    def parameters_at(cls, hidden_size: int, **kwargs: Any) -> int:
        """Parameters of the core built at ``hidden_size`` (counted on the meta device:
        no memory is allocated)."""
        return count_parameters(lambda: cls(hidden_size, **kwargs))

    # --- computation --------------------------------------------------------------
    def forward(self, encodings: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """States ``[B, T, H]`` of encodings ``[B, T, H]``; what the readout reads."""
        raise NotImplementedError

    def states(self, encodings: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """The recorded states: ``hidden`` ``[B, T, H]``, ``cell`` (None without one) and,
        when the readout reads something else than ``hidden``, ``output`` (:meth:`forward`)."""
        return {"hidden": self(encodings), "cell": None}

    def _undefined(self, what: str) -> WmgeomError:
        return WmgeomError(f"the {self.label} core has no {what}: {self.no_recurrent_state}")

    def rollout(self, state0: State, encodings: torch.Tensor) -> torch.Tensor:
        """Run on from a state after some frame over ``encodings`` ``[B, T', H]``; the
        states ``[B, T', H]``. Only for cores with a recurrent state."""
        raise self._undefined("state to run on from")

    def step(self, state: torch.Tensor, encoding: torch.Tensor) -> torch.Tensor:
        """One frame as a pure function of the carried state, ``F(state, encoding)``,
        transformable by :mod:`torch.func`. Only for cores with a recurrent state."""
        raise self._undefined("recurrent map to step")


def count_parameters(build: Callable[[], nn.Module]) -> int:
    """Parameters of the module ``build()`` returns, built on the meta device."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())


def gru_parameters(hidden_size: int) -> int:
    """Parameters of a one-layer GRU from ``H`` inputs to ``H`` units, the size the new cores
    are matched to by default: three blocks of ``W_ih``, ``W_hh`` and two biases,
    ``3 (2H² + 2H)``."""
    return 3 * (2 * hidden_size * hidden_size + 2 * hidden_size)


def matched_width(build: Callable[[int], nn.Module], target: int) -> int:
    """The width ``w ≥ 1`` whose module ``build(w)`` has the parameter count closest to
    ``target``, for a module whose count is affine in ``w`` (a feed-forward width, a number
    of state channels)."""
    one, two = count_parameters(lambda: build(1)), count_parameters(lambda: build(2))
    slope = two - one
    return max(1, round(1 + (target - one) / slope))


CORES: dict[str, type[Core]] = {}
"""Registered cores by name, in registration order."""

_REQUIRED = ("name", "label", "family", "state_kind")


def register_core(cls: type[Core]) -> type[Core]:
    """Register a :class:`Core` subclass under its ``name`` (a class decorator).

    Raises:
        WmgeomError: If it is not a core, lacks a required property, takes a name already
            registered, or has no recurrent state but does not say why.
    """
    if not (isinstance(cls, type) and issubclass(cls, Core)):
        raise WmgeomError(f"{cls!r} is not a subclass of wmgeom.models.cores.Core")
    missing = [a for a in _REQUIRED if not isinstance(getattr(cls, a, None), str)
               or not getattr(cls, a)]
    if missing:
        raise WmgeomError(f"core {cls.__name__} does not declare {', '.join(missing)}; set "
                          "them as class attributes")
    if cls.name in CORES and CORES[cls.name] is not cls:
        raise WmgeomError(f"a core named '{cls.name}' is registered already "
                          f"({CORES[cls.name].__name__}); choose another name")
    if cls.no_recurrent_state is None and (cls.rollout is Core.rollout
                                           or cls.step is Core.step):
        raise WmgeomError(f"core {cls.__name__} implements no rollout and step; implement "
                          "both, or say in no_recurrent_state why its state cannot be "
                          "perturbed and stepped")
    CORES[cls.name] = cls
    return cls


def unregister_core(name: str) -> None:
    """Remove the core ``name`` from the registry (a test's toy core)."""
    CORES.pop(name, None)


def architecture_label(name: str) -> str:
    """How reports name an architecture: its core's ``label`` (``"Transformer"``), or the
    name in capitals for a model that is no registered core (anyone's network)."""
    key = str(name)
    return CORES[key].label if key in CORES else key.upper()


def core(name: str) -> type[Core]:
    """The registered core ``name``.

    Raises:
        WmgeomError: For an unknown name, listing the registered ones.
    """
    if name not in CORES:
        raise WmgeomError(f"unknown architecture '{name}'; choose one of "
                          f"{', '.join(CORES)}.")
    return CORES[name]
