"""Planted recordings of training and novel identities (the novel-object analysis's tests)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from wmgeom.analysis.synthetic import synthetic_memory_activations

OBJECTS = {"location": 4, "category": 2, "identity": 4}
TASKS = ("nback-2-location", "nback-2-identity")


def planted_novel_recording(novel_decay: float = 1.0, n_trials: int = 60, seed: int = 0,
                            gain: float = 3.0, novel_objects: dict | None = None,
                            trained_objects: dict | None = None) -> xr.Dataset:
    """A recording of two splits: ``val_angle`` (training identities 0..k-1) and
    ``val_identity`` (novel identities, numbered after them), coded in the same subspaces.

    Both splits share the memory subspaces and feature codes (the same ``seed``; the trials
    differ). The novel identities' codes decay by ``novel_decay`` per step of age, so
    ``novel_decay < 1`` keeps them separable in perception and at encoding and collapses
    them in memory; ``novel_decay=1`` plants no loss.
    """
    kw = {"n_frames": 4, "n_units": 48, "tasks": TASKS, "relevant_gain": gain,
          "irrelevant_gain": gain, "noise": 1.0, "seed": seed}
    trained = synthetic_memory_activations(n_trials, features=trained_objects or OBJECTS,
                                           split="val_angle", **kw)
    novel = synthetic_memory_activations(n_trials + 1, features=novel_objects or OBJECTS,
                                         split="val_identity", decay=novel_decay, **kw)
    novel["identity"] = novel["identity"] + int(trained["identity"].max()) + 1
    ds = xr.concat([trained, novel], dim="trial")
    return ds.assign_coords(trial=np.arange(ds.sizes["trial"]))
