"""Two-orientation working-memory task (Cueva et al. 2021).

A trial runs: fixation → stimulus θ1 → delay 1 → stimulus θ2 → delay 2 → go cue and report
of both orientations. Orientations have period 180°. Both stimuli reach the network through
*one* shared population of orientation-tuned input units (von Mises tuning in 2θ), plus a
go-cue input. During the report epoch the targets are ``cos 2θ1, sin 2θ1, cos 2θ2, sin 2θ2``
and, optionally, an ordinal output ``sign(θ2 − θ1)`` (difference wrapped to ±90°); every other
time step is masked out of the loss.

Only the abstract of Cueva et al. 2021 is available, so timings, sizes and noise levels are our
choices; they are documented (with rationale) in ``docs/orientation.md`` and all live in
:class:`OrientationTaskConfig`.

Trials in a batch are generated together (no Python loop per trial). Delays may vary from
trial to trial; every trial is padded to the longest possible trial, and the padding after
the report epoch is masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from pydantic import Field, ValidationError, model_validator

from wmgeom.config import StrictModel
from wmgeom.errors import WmgeomError, format_validation_error
from wmgeom.references import REFERENCES

EPOCHS = ("fixation", "stimulus1", "delay1", "stimulus2", "delay2", "report")
"""Epoch names, in trial order."""


def wrap_orientation(delta_deg: np.ndarray | float) -> np.ndarray:
    """Wrap an orientation difference (degrees) to ``[-90, 90)`` (period 180°)."""
    return (np.asarray(delta_deg, dtype=float) + 90.0) % 180.0 - 90.0


class OrientationTaskConfig(StrictModel):
    """Parameters of :class:`TwoOrientationTask`. Durations are in milliseconds.

    Every duration is converted to a whole number of time steps of length ``dt`` (rounded,
    at least one step). Delays are drawn per trial, uniformly over whole steps between their
    minimum and maximum.
    """

    dt: float = Field(20.0, gt=0, description="time step (ms)")
    fixation: float = Field(100.0, ge=0, description="fixation epoch (ms)")
    stimulus: float = Field(100.0, gt=0, description="duration of each stimulus (ms)")
    delay1_min: float = Field(200.0, ge=0, description="shortest delay after θ1 (ms)")
    delay1_max: float = Field(400.0, ge=0, description="longest delay after θ1 (ms)")
    delay2_min: float = Field(200.0, ge=0, description="shortest delay after θ2 (ms)")
    delay2_max: float = Field(400.0, ge=0, description="longest delay after θ2 (ms)")
    report: float = Field(100.0, gt=0, description="go cue and report epoch (ms)")
    n_tuned: int = Field(32, ge=4, description="orientation-tuned input units")
    kappa: float = Field(4.0, gt=0, description="von Mises concentration of the input tuning")
    input_noise: float = Field(0.1, ge=0, description="s.d. of Gaussian noise on every input")
    ordinal: bool = Field(False, description="add the ordinal output sign(θ2 − θ1)")

    @model_validator(mode="after")
    def _delays_ordered(self) -> OrientationTaskConfig:
        for k in (1, 2):
            lo, hi = getattr(self, f"delay{k}_min"), getattr(self, f"delay{k}_max")
            if hi < lo:
                raise ValueError(f"delay{k}_max ({hi}) is below delay{k}_min ({lo})")
        return self


@dataclass
class OrientationBatch:
    """A batch of two-orientation trials (``B`` trials × ``T`` time steps).

    Attributes:
        inputs: float32 ``[B, T, n_inputs]``: tuned population then the go cue.
        targets: float32 ``[B, T, n_outputs]``: ``cos 2θ1, sin 2θ1, cos 2θ2, sin 2θ2``
            (then the ordinal sign if enabled); zero outside the report epoch.
        mask: float32 ``[B, T, n_outputs]``, 1 during the report epoch, else 0.
        theta1, theta2: orientations in degrees, ``[B]``, in ``[0, 180)``.
        epoch_start, epoch_stop: per epoch name, int ``[B]`` time-step bounds
            (``start <= t < stop``).
        dt: time step in ms.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    theta1: np.ndarray
    theta2: np.ndarray
    epoch_start: dict[str, np.ndarray] = field(default_factory=dict)
    epoch_stop: dict[str, np.ndarray] = field(default_factory=dict)
    dt: float = 20.0

    @property
    def n_steps(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def ordinal_target(self) -> np.ndarray:
        """``sign(wrap(θ2 − θ1))`` in {−1, +1} per trial (0 maps to +1)."""
        return np.where(wrap_orientation(self.theta2 - self.theta1) >= 0, 1.0, -1.0)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class TwoOrientationTask:
    """Report two remembered orientations (Cueva et al. 2021).

    Args:
        config: an :class:`OrientationTaskConfig`; keyword overrides are applied on top.
        **overrides: any field of :class:`OrientationTaskConfig`.

    Raises:
        WmgeomError: if a parameter is invalid.

    Example:
        >>> task = TwoOrientationTask(ordinal=True)
        >>> batch = task.sample(8, rng=np.random.default_rng(0))
        >>> batch.inputs.shape[-1] == task.n_inputs
        True
    """

    name: ClassVar[str] = "two-orientation"
    paper: ClassVar[str] = REFERENCES["cueva2021"].full
    tags: ClassVar[tuple[str, ...]] = ("working-memory", "continuous", "two-items")

    def __init__(self, config: OrientationTaskConfig | None = None, **overrides) -> None:
        base = config.model_dump() if config is not None else {}
        try:
            self.config = OrientationTaskConfig(**{**base, **overrides})
        except ValidationError as exc:
            raise WmgeomError(format_validation_error(exc, "two-orientation task")) from None
        c = self.config
        self.preferred_deg = np.arange(c.n_tuned) * 180.0 / c.n_tuned
        self.steps = {
            "fixation": self._steps(c.fixation, allow_zero=True),
            "stimulus": self._steps(c.stimulus),
            "delay1_min": self._steps(c.delay1_min, allow_zero=True),
            "delay1_max": self._steps(c.delay1_max, allow_zero=True),
            "delay2_min": self._steps(c.delay2_min, allow_zero=True),
            "delay2_max": self._steps(c.delay2_max, allow_zero=True),
            "report": self._steps(c.report),
        }

    def _steps(self, ms: float, allow_zero: bool = False) -> int:
        n = int(round(ms / self.config.dt))
        return n if allow_zero else max(n, 1)

    @property
    def n_inputs(self) -> int:
        """Tuned population plus one go-cue unit."""
        return self.config.n_tuned + 1

    @property
    def n_outputs(self) -> int:
        """Four report outputs (cos/sin of 2θ per item), plus one if ordinal."""
        return 4 + int(self.config.ordinal)

    @property
    def output_names(self) -> tuple[str, ...]:
        names = ("cos2theta1", "sin2theta1", "cos2theta2", "sin2theta2")
        return names + (("ordinal",) if self.config.ordinal else ())

    @property
    def n_steps(self) -> int:
        """Length of every batch: the longest possible trial."""
        s = self.steps
        return s["fixation"] + 2 * s["stimulus"] + s["delay1_max"] + s["delay2_max"] + s["report"]

    def tuning(self, theta_deg: np.ndarray) -> np.ndarray:
        """Noise-free response of the tuned population, ``[..., n_tuned]`` in ``[0, 1]``.

        Von Mises tuning in 2θ: ``exp(κ (cos 2(θ − φ_i) − 1))`` for preferred orientations
        ``φ_i`` evenly spaced over 180°.
        """
        theta = np.asarray(theta_deg, dtype=float)[..., None]
        d = np.deg2rad(2.0 * (theta - self.preferred_deg))
        return np.exp(self.config.kappa * (np.cos(d) - 1.0))

    def sample(
        self,
        batch_size: int,
        rng: np.random.Generator | None = None,
        theta1: np.ndarray | None = None,
        theta2: np.ndarray | None = None,
        fixed_delays: bool = False,
        input_noise: bool = True,
    ) -> OrientationBatch:
        """Generate ``batch_size`` trials at once.

        Args:
            batch_size: number of trials ``B``.
            rng: random generator (a fresh unseeded one if ``None``).
            theta1, theta2: orientations in degrees ``[B]`` (uniform on ``[0, 180)`` if
                ``None``).
            fixed_delays: use the longest delays for every trial, so that time steps line
                up across trials (for recording and analysis).
            input_noise: add the configured input noise.

        Returns:
            An :class:`OrientationBatch`.
        """
        if batch_size < 1:
            raise WmgeomError(f"batch_size must be at least 1, got {batch_size}")
        rng = np.random.default_rng() if rng is None else rng
        c, s = self.config, self.steps
        B, T = int(batch_size), self.n_steps
        th1 = self._thetas(theta1, B, rng, "theta1")
        th2 = self._thetas(theta2, B, rng, "theta2")
        if fixed_delays:
            d1 = np.full(B, s["delay1_max"])
            d2 = np.full(B, s["delay2_max"])
        else:
            d1 = rng.integers(s["delay1_min"], s["delay1_max"] + 1, size=B)
            d2 = rng.integers(s["delay2_min"], s["delay2_max"] + 1, size=B)
        lengths = {
            "fixation": np.full(B, s["fixation"]),
            "stimulus1": np.full(B, s["stimulus"]),
            "delay1": d1,
            "stimulus2": np.full(B, s["stimulus"]),
            "delay2": d2,
            "report": np.full(B, s["report"]),
        }
        start, stop, t0 = {}, {}, np.zeros(B, dtype=np.int64)
        for name in EPOCHS:
            start[name] = t0.copy()
            t0 = t0 + lengths[name]
            stop[name] = t0.copy()

        t = np.arange(T)[None, :]

        def during(name: str) -> np.ndarray:
            return (t >= start[name][:, None]) & (t < stop[name][:, None])  # [B, T]

        on1, on2, go = during("stimulus1"), during("stimulus2"), during("report")
        tuned = (
            on1[..., None] * self.tuning(th1)[:, None, :]
            + on2[..., None] * self.tuning(th2)[:, None, :]
        )
        inputs = np.concatenate([tuned, go[..., None].astype(float)], axis=-1)
        if input_noise and c.input_noise > 0:
            inputs = inputs + c.input_noise * rng.standard_normal(inputs.shape)

        r1, r2 = np.deg2rad(2.0 * th1), np.deg2rad(2.0 * th2)
        values = [np.cos(r1), np.sin(r1), np.cos(r2), np.sin(r2)]
        if c.ordinal:
            values.append(np.where(wrap_orientation(th2 - th1) >= 0, 1.0, -1.0))
        values = np.stack(values, axis=-1)  # [B, n_out]
        mask = np.broadcast_to(go[..., None], (B, T, len(values[0]))).astype(np.float32)
        targets = (mask * values[:, None, :]).astype(np.float32)
        return OrientationBatch(
            inputs=inputs.astype(np.float32),
            targets=targets,
            mask=np.ascontiguousarray(mask),
            theta1=th1,
            theta2=th2,
            epoch_start=start,
            epoch_stop=stop,
            dt=c.dt,
        )

    @staticmethod
    def _thetas(theta, B: int, rng: np.random.Generator, name: str) -> np.ndarray:
        if theta is None:
            return rng.uniform(0.0, 180.0, size=B)
        theta = np.asarray(theta, dtype=float).reshape(-1)
        if theta.shape[0] != B:
            raise WmgeomError(
                f"{name} has {theta.shape[0]} values but batch_size is {B}; "
                f"pass one orientation per trial"
            )
        if not np.all(np.isfinite(theta)):
            raise WmgeomError(f"{name} contains non-finite values; pass angles in degrees")
        return theta % 180.0

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """All pairs of ``n`` evenly spaced orientations: ``theta1, theta2`` of length ``n²``."""
        if n < 1:
            raise WmgeomError(f"grid size must be at least 1, got {n}")
        values = np.arange(n) * 180.0 / n
        t1, t2 = np.meshgrid(values, values, indexing="ij")
        return t1.ravel(), t2.ravel()


def decode_orientation(cos2: np.ndarray, sin2: np.ndarray) -> np.ndarray:
    """Orientation (degrees in ``[0, 180)``) from the ``cos 2θ, sin 2θ`` outputs."""
    return (np.rad2deg(np.arctan2(sin2, cos2)) / 2.0) % 180.0


def report_outputs(outputs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Outputs averaged over each trial's report epoch (``mask``): ``[B, n_outputs]``.

    Args:
        outputs: ``[B, T, n_outputs]`` network outputs.
        mask: ``[B, T, n]`` (or ``[B, T, 1]``) report-epoch mask, as
            :attr:`OrientationBatch.mask`.
    """
    m = mask[..., :1]
    return (outputs * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
