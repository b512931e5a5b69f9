"""NWB sessions as arrays and tables for :meth:`wmgeom.data.TrialData.from_nwb` (needs
``pynwb``: ``pip install "wmgeom[neuro]"``).

A session's trials table gives the trials, their items and features; the activity is
either its units' spike times, counted in bins around an alignment event of every trial
(firing rates in spikes per second), or a ``TimeSeries`` (calcium traces, LFP, a model's
states) averaged over the same bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wmgeom.errors import ArgumentError, WmgeomError

__all__ = ["read_nwb"]

UNITS = "units"
"""The ``activity`` value that bins the spike times of the file's units table."""


def _import_pynwb():
    try:
        import pynwb
    except ImportError:
        raise WmgeomError("reading NWB files needs pynwb: pip install \"wmgeom[neuro]\" (or "
                          "pip install pynwb)") from None
    return pynwb


def bin_edges(align: np.ndarray, window: Sequence[float], bin_size: float) -> np.ndarray:
    """Bin edges ``[trial, n_bins + 1]``: ``align + window[0] + k * bin_size``.

    Raises:
        ArgumentError: For a reversed window or a bin larger than it.
    """
    start, stop = (float(w) for w in window)
    if not start < stop:
        raise ArgumentError(f"window={[start, stop]} must be [start, stop] with start < stop "
                            "(seconds around the alignment event)")
    if not bin_size > 0:
        raise ArgumentError(f"bin_size={bin_size} must be positive (seconds)")
    n_bins = int(np.floor((stop - start) / bin_size + 1e-9))
    if n_bins < 1:
        raise ArgumentError(f"bin_size={bin_size} is longer than the window {[start, stop]}")
    return align[:, None] + start + bin_size * np.arange(n_bins + 1)[None, :]


def spike_rates(spike_times: Sequence[np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Firing rates ``[trial, bin, unit]`` (spikes per second) of each unit's spike times in
    the bins ``edges`` ``[trial, n_bins + 1]``."""
    width = np.diff(edges, axis=1)  # [trial, bin]
    counts = np.stack([np.diff(np.searchsorted(np.sort(np.asarray(s, float)), edges), axis=1)
                       for s in spike_times], -1)
    return counts / width[..., None]


def series_means(timestamps: np.ndarray, values: np.ndarray, edges: np.ndarray,
                 name: str = "the time series") -> np.ndarray:
    """Mean of the samples ``values [time, channel]`` in each bin, ``[trial, bin, channel]``.

    Raises:
        ArgumentError: If a bin holds no sample.
    """
    order = np.argsort(timestamps, kind="stable")
    ts, vals = timestamps[order], values[order]
    cum = np.concatenate([np.zeros((1, vals.shape[1])), np.cumsum(vals, axis=0)])
    # a sample on an edge belongs to the bin it starts, whatever the rounding of either
    idx = np.searchsorted(ts, edges - 1e-9 * np.diff(edges, axis=1).min())  # [trial, bins + 1]
    counts = np.diff(idx, axis=1)
    if (counts == 0).any():
        i, k = np.argwhere(counts == 0)[0]
        raise ArgumentError(f"{name} has no sample in the bin from {edges[i, k]:g} s to "
                            f"{edges[i, k + 1]:g} s (trial {i}); use a bin_size of at least its "
                            "sampling interval and a window inside the recorded span")
    return (cum[idx[:, 1:]] - cum[idx[:, :-1]]) / counts[..., None]


def _series(nwbfile: Any, name: str) -> Any:
    """The TimeSeries called ``name`` in acquisition or any processing module."""
    if name in nwbfile.acquisition:
        return nwbfile.acquisition[name]
    found = []
    for module in nwbfile.processing.values():
        for key, obj in module.data_interfaces.items():
            if key == name:
                return obj
            found.append(key)
    found = list(nwbfile.acquisition) + found
    raise ArgumentError(f"the NWB file has no time series {name!r}; it holds "
                        f"{', '.join(found) or 'none'} (or bin its units with "
                        f"activity={UNITS!r})")


def read_nwb(
    path: str | Path,
    *,
    items: Sequence[str] | None = None,
    activity: str = UNITS,
    bin_size: float = 0.05,
    window: Sequence[float] | None = None,
    align: str = "start_time",
    onset: str = "onset",
) -> dict[str, Any]:
    """The arrays and tables of an NWB session, for :meth:`TrialData.from_nwb
    <wmgeom.data.TrialData.from_nwb>` (which documents the arguments).

    Returns:
        ``activity`` ``[trial, bin, unit]``, ``trials`` (the trials table, onsets relative
        to ``align``), ``time`` (each bin's start relative to ``align``; a bin covers
        ``[t, t + bin_size)``), ``units`` (the units table's scalar columns, or None),
        ``name`` (the session id or the file's stem) and ``attrs``.

    Raises:
        ArgumentError: If the file has no trials table, lacks the alignment column, the
            activity source or a sample in a bin.
        WmgeomError: If the file is missing or unreadable, or pynwb is not installed.
    """
    pynwb = _import_pynwb()
    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"NWB file not found: {path}")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
        nwbfile = io.read()
    except Exception as exc:  # not HDF5, or not NWB
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise WmgeomError(f"{path} is not a readable NWB file ({type(exc).__name__}: "
                          f"{first})") from None
    try:
        if nwbfile.trials is None:
            raise ArgumentError(f"{path.name} has no trials table; add one "
                                "(nwbfile.add_trial) with the items' onsets and features")
        table = nwbfile.trials.to_dataframe().reset_index(drop=True)
        if align not in table:
            raise ArgumentError(f"the trials table has no column {align!r} to align trials to;"
                                f" its columns are {', '.join(map(str, table.columns))}")
        align_t = table[align].to_numpy(float)
        if not np.isfinite(align_t).all():
            raise ArgumentError(f"the alignment column {align!r} is missing (NaN) in "
                                f"{int((~np.isfinite(align_t)).sum())} trials")
        if window is None:
            window = (0.0, float((table["stop_time"].to_numpy(float) - align_t).min()))
        edges = bin_edges(align_t, window, bin_size)
        units = None
        if activity == UNITS:
            if nwbfile.units is None or len(nwbfile.units) == 0:
                raise ArgumentError(f"{path.name} has no units table; name a time series "
                                    "with activity=... instead")
            spikes = [np.asarray(nwbfile.units["spike_times"][i])
                      for i in range(len(nwbfile.units))]
            X = spike_rates(spikes, edges)
            described = nwbfile.units.to_dataframe().drop(columns=["spike_times"],
                                                          errors="ignore")
            scalar = [c for c in described.columns
                      if described[c].map(lambda v: np.ndim(v) == 0).all()]
            units = described[scalar].reset_index()
        else:
            series = _series(nwbfile, activity)
            values = np.asarray(series.data[:], dtype=np.float64)
            values = values[:, None] if values.ndim == 1 else values.reshape(len(values), -1)
            if series.timestamps is not None:
                ts = np.asarray(series.timestamps[:], dtype=np.float64)
            else:
                ts = series.starting_time + np.arange(len(values)) / series.rate
            X = series_means(ts, values, edges, f"time series {activity!r}")
        trials = table.copy()
        for item in items or ("",):
            col = f"{item}_{onset}" if item else onset
            if col in trials:
                trials[col] = trials[col].to_numpy(float) - align_t
        starts = float(window[0]) + bin_size * np.arange(X.shape[1])
        if items is None and onset not in trials:
            trials[onset] = starts[0]
        return {"activity": X, "trials": trials, "time": starts, "units": units,
                "name": str(nwbfile.session_id or path.stem),
                "attrs": {"source": str(path.name), "activity": activity,
                          "bin_size": float(bin_size), "align": align,
                          "session_description": str(nwbfile.session_description)}}
    finally:
        io.close()
