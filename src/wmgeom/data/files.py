"""Open a recording or activations file of any supported kind as :class:`TrialData`.

* ``.nc`` — an xarray Dataset in netCDF (:meth:`TrialData.from_xarray`: the time layout of
  :meth:`TrialData.to_xarray`, or a wmgeom Activations Dataset);
* ``.nwb`` — an NWB session (:func:`wmgeom.data.nwb.read_nwb`, needs ``pynwb``);
* ``.npz`` — numpy arrays (``activity`` ``[trial, time, unit]``, optional ``time`` and
  ``perceptual``) plus a CSV trial table (``trials=``, by default the ``.csv`` file of the
  same name beside it), read by :meth:`TrialData.from_arrays`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wmgeom.data.trials import TrialData
from wmgeom.errors import ArgumentError, WmgeomError
from wmgeom.io import open_dataset

__all__ = ["DATA_SUFFIXES", "read_data"]

DATA_SUFFIXES: tuple[str, ...] = (".nc", ".nwb", ".npz")
"""File kinds :func:`read_data` opens."""

_TABLE_OPTIONS = ("items", "onset", "task", "response", "relevant")
_ONLY = {"bin_size": ".nwb", "window": ".nwb", "align": ".nwb", "trials": ".npz"}


def read_data(path: str | Path, **options: Any) -> TrialData:
    """The data in ``path`` (see the module for the kinds), with reading ``options``.

    Args:
        path: A ``.nc``, ``.nwb`` or ``.npz`` file.
        **options: ``features``, ``items``, ``onset``, ``task``, ``response``,
            ``relevant``, ``activity`` (the variable, array or NWB source), ``name``; for
            NWB files ``bin_size``, ``window``, ``align``; for ``.npz`` files ``trials``
            (the CSV table). Options set to None are left at their defaults.

    Raises:
        WmgeomError: If the file is missing or unreadable, or of another kind.
        ArgumentError: If an option does not apply to the file's kind, or the data fail a
            check of :class:`TrialData`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    options = {k: v for k, v in options.items() if v is not None}
    if suffix not in DATA_SUFFIXES:
        raise WmgeomError(f"{path}: unknown kind of file {suffix or '(no suffix)'!r}; wmgeom "
                          f"reads {', '.join(DATA_SUFFIXES)}")
    if not path.is_file():
        raise WmgeomError(f"recording not found: {path}")
    wrong = [k for k in options if k in _ONLY and _ONLY[k] != suffix]
    if wrong:
        raise ArgumentError(f"option {wrong[0]!r} applies to {_ONLY[wrong[0]]} files only, not "
                            f"to {path.name}")
    options.setdefault("name", path.stem)
    if suffix == ".nwb":
        return TrialData.from_nwb(path, **options)
    if suffix == ".nc":
        ds = open_dataset(path, "write it with TrialData.to_xarray() or xarray's to_netcdf")
        return TrialData.from_xarray(ds, **options)
    table_path = Path(options.pop("trials", path.with_suffix(".csv")))
    if not table_path.is_file():
        raise WmgeomError(f"the trial table of {path.name} is not found: {table_path} (one row "
                          "per trial; name it with the trials option)")
    try:
        table = pd.read_csv(table_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise WmgeomError(f"the trial table {table_path} is not a readable CSV file "
                          f"({type(exc).__name__})") from None
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise WmgeomError(f"{path} is not a readable .npz file ({type(exc).__name__})") from None
    with arrays:
        key = options.pop("activity", "activity")
        if key not in arrays:
            raise ArgumentError(f"{path.name} has no array {key!r}; it holds "
                                f"{', '.join(arrays.files) or 'none'} (name the activity "
                                "with the activity option)")
        features = options.pop("features", None)
        unknown = sorted(set(options) - {*_TABLE_OPTIONS, "name"})
        if unknown:
            raise ArgumentError(f"unknown option {unknown[0]!r} for {path.name}; options are "
                                f"features, activity, trials, {', '.join(_TABLE_OPTIONS)}, name")
        if not features:
            raise ArgumentError(f"name the stimulus features of {path.name} (the features "
                                "option): the columns of its trial table that describe "
                                "each item")
        return TrialData.from_arrays(
            arrays[key], table, features=features,
            time=arrays["time"] if "time" in arrays else None,
            perceptual=arrays["perceptual"] if "perceptual" in arrays else None,
            attrs={"source": path.name},
            **{k: options[k] for k in (*_TABLE_OPTIONS, "name") if k in options})
