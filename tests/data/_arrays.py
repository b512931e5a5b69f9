"""Activity with planted geometry as arrays plus a trial table (the user's own data).

Each trial shows ``len(ITEMS)`` items, one every ``POINTS`` time points after a short
baseline; during item ``k``'s epoch the units hold frame ``k`` of
:func:`~wmgeom.analysis.synthetic.synthetic_memory_activations` (``mode="age"``: the
relative chronological subspaces of Lei et al. 2024, Fig. 4e), so the frames that
:meth:`~wmgeom.data.TrialData.to_activations` averages equal those planted frames exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wmgeom.analysis.synthetic import synthetic_memory_activations

ITEMS = ("a", "b", "c")
POINTS = 4
BASELINE = 2


def planted_arrays(n_trials: int = 60, n_units: int = 24, seed: int = 0):
    """``(activity [trial, time, unit], table, time, planted Activations Dataset)``."""
    ds = synthetic_memory_activations(n_trials, len(ITEMS), n_units, mode="age",
                                      features={"location": 4, "category": 3}, seed=seed)
    hidden = ds["hidden"].values
    n_time = BASELINE + POINTS * len(ITEMS)
    activity = np.zeros((n_trials, n_time, n_units))
    for k in range(len(ITEMS)):
        start = BASELINE + POINTS * k
        activity[:, start:start + POINTS] = hidden[:, k, None]
    time = 0.1 * np.arange(n_time)
    table = pd.DataFrame({"task": "sequence", "response": np.arange(n_trials) % 2})
    for k, item in enumerate(ITEMS):
        table[f"{item}_onset"] = time[BASELINE + POINTS * k]
        table[f"{item}_orientation"] = ds["location"].values[:, k]
        table[f"{item}_color"] = ds["category"].values[:, k]
    return activity, table, time, ds
