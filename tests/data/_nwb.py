"""An NWB session with planted memory geometry, written by pynwb (the tests' recording).

Each trial shows four items, each for ``EPOCH`` seconds; an item's orientation and colour
are coded in a subspace that rotates with the item's age (the relative chronological
subspaces Lei et al. 2024 find, Fig. 4e, H2; :func:`~wmgeom.analysis.synthetic.
synthetic_memory_activations` with ``mode="age"``), so an item stays decodable at every
later step while a decoder fitted at its encoding step fails there. Units fire as Poisson
processes at ``BASE + GAIN * code`` spikes per second (clipped at zero).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from wmgeom.analysis.synthetic import synthetic_memory_activations

ITEMS = ("first", "second", "third", "fourth")
FEATURES = ("orientation", "color")
FIRST_ONSET = 0.1
EPOCH = 0.4
TRIAL = FIRST_ONSET + EPOCH * len(ITEMS)
GAP = 0.3
BASE, GAIN = 20.0, 5.0


def planted_session(n_trials: int = 160, n_units: int = 40, seed: int = 0):
    """Per-trial codes ``[trial, item, unit]`` (spikes/s), labels and onsets of the session."""
    ds = synthetic_memory_activations(n_trials, len(ITEMS), n_units, mode="age",
                                      features={"location": 4, "category": 4}, seed=seed)
    rates = np.clip(BASE + GAIN * ds["hidden"].values, 0.0, None)
    labels = {"orientation": ds["location"].values, "color": ds["category"].values}
    starts = np.arange(n_trials) * (TRIAL + GAP)
    onsets = starts[:, None] + FIRST_ONSET + EPOCH * np.arange(len(ITEMS))[None, :]
    return rates, labels, starts, onsets


def write_planted_nwb(path: Path, n_trials: int = 160, n_units: int = 40, seed: int = 0,
                      series: bool = False) -> Path:
    """Write the planted session: a trials table (``<item>_onset``, ``<item>_orientation``,
    ``<item>_color``, ``task``, ``response``), the units' spike times, and with ``series``
    the rates themselves as a TimeSeries ``rates`` sampled at 100 Hz."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    rates, labels, starts, onsets = planted_session(n_trials, n_units, seed)
    rng = np.random.default_rng(seed + 1)
    nwb = NWBFile(session_description="planted memory geometry", identifier=f"planted-{seed}",
                  session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
                  session_id="planted")
    for item in ITEMS:
        nwb.add_trial_column(f"{item}_onset", f"onset of the {item} item (s)")
        for f in FEATURES:
            nwb.add_trial_column(f"{item}_{f}", f"{f} of the {item} item")
    nwb.add_trial_column("task", "task name")
    nwb.add_trial_column("response", "the subject's report")
    for t in range(n_trials):
        cols = {}
        for k, item in enumerate(ITEMS):
            cols[f"{item}_onset"] = float(onsets[t, k])
            for f in FEATURES:
                cols[f"{item}_{f}"] = int(labels[f][t, k])
        nwb.add_trial(start_time=float(starts[t]), stop_time=float(starts[t] + TRIAL),
                      task="sequence", response=int(t % 2), **cols)
    # Poisson spikes: baseline before the first item and between trials, planted rates after
    counts = rng.poisson(rates * EPOCH)  # [trial, item, unit]
    for u in range(n_units):
        times = [rng.uniform(0, starts[-1] + TRIAL + GAP,
                             rng.poisson(BASE * (starts[-1] + TRIAL + GAP)))]
        times = [times[0][~_inside(times[0], onsets[:, 0], onsets[:, -1] + EPOCH)]]
        for k in range(len(ITEMS)):
            n = counts[:, k, u]
            times.append(np.repeat(onsets[:, k], n) + rng.uniform(0, EPOCH, n.sum()))
        nwb.add_unit(spike_times=np.sort(np.concatenate(times)))
    if series:
        t = np.arange(round(100 * (starts[-1] + TRIAL + GAP))) / 100.0
        data = np.full((t.size, n_units), BASE)
        for k in range(len(ITEMS)):
            for trial in range(n_trials):
                inside = (t >= onsets[trial, k] - 1e-9) & (t < onsets[trial, k] + EPOCH - 1e-9)
                data[inside] = rates[trial, k]
        nwb.add_acquisition(TimeSeries(name="rates", data=data, unit="spikes/s", rate=100.0,
                                       starting_time=0.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _inside(times: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Whether each time lies in one of the intervals ``[start, stop)``."""
    k = np.searchsorted(start, times, side="right") - 1
    return (k >= 0) & (times < stop[np.clip(k, 0, None)])
