"""Recording a continuous-time RNN on two-orientation trials (Cueva et al. 2021).

The Dataset holds, per trial × time step × unit, the firing rates, the outputs, the inputs
and targets, both orientations, the epoch boundaries of every trial and the recurrent
weight matrix (post × pre), so every two-orientation analysis reads it without the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from wmgeom.models.ctrnn import CTRNN, run_trials
from wmgeom.tasks.orientation import EPOCHS, OrientationBatch, TwoOrientationTask

__all__ = ["record_orientation"]


def record_orientation(
    model: CTRNN,
    task: TwoOrientationTask,
    batch: OrientationBatch,
    noise: bool,
    seed: int = 0,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Activations of ``model`` on ``batch`` as a self-describing xarray Dataset.

    Dims ``trial``, ``time`` (ms), ``unit``, ``unit_pre``, ``output``, ``input``; variables
    ``rates``, ``outputs``, ``inputs``, ``targets``, ``theta1``, ``theta2`` (degrees),
    ``<epoch>_start`` / ``<epoch>_stop`` (time steps) and ``recurrent_weight``
    (``[unit, unit_pre]``, post × pre).

    Args:
        model: A trained :class:`~wmgeom.models.ctrnn.CTRNN`.
        task: The task the batch was drawn from (time step, output names).
        batch: The trials to run.
        noise: Add firing-rate noise (behaviour) or not (noise-free manifold states).
        seed: Seed of the rate noise.
        attrs: Run attributes stored on the Dataset.
    """
    res = run_trials(model, batch.inputs, noise=noise, seed=seed)
    B, T, N = res["rates"].shape
    ds = xr.Dataset(
        {
            "rates": (("trial", "time", "unit"), res["rates"]),
            "outputs": (("trial", "time", "output"), res["outputs"]),
            "inputs": (("trial", "time", "input"), batch.inputs),
            "targets": (("trial", "time", "output"), batch.targets),
            "theta1": ("trial", batch.theta1),
            "theta2": ("trial", batch.theta2),
            "recurrent_weight": (
                ("unit", "unit_pre"),
                model.recurrent.weight.detach().cpu().numpy(),
            ),
            **{f"{e}_start": ("trial", batch.epoch_start[e]) for e in EPOCHS},
            **{f"{e}_stop": ("trial", batch.epoch_stop[e]) for e in EPOCHS},
        },
        coords={
            "trial": np.arange(B),
            "time": np.arange(T) * task.config.dt,
            "unit": np.arange(N),
            "unit_pre": np.arange(N),
            "output": list(task.output_names),
        },
        attrs={"noise": int(noise), "dt_ms": task.config.dt, **(attrs or {})},
    )
    ds["theta1"].attrs["units"] = ds["theta2"].attrs["units"] = "degrees"
    ds["time"].attrs["units"] = "ms"
    return ds
