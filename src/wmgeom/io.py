"""Side effects at the edge: atomic writes, the readers of YAML, JSON and netCDF, cache folders.

Every result and checkpoint is written to a temporary name in the same folder and
renamed into place, so an interrupted run never leaves a file that looks complete
(SPEC L2). Every YAML, JSON and netCDF file wmgeom reads goes through one reader here,
which turns a missing or damaged file into one :class:`~wmgeom.errors.WmgeomError` line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wmgeom.errors import WmgeomError


def cache_root() -> Path:
    """Folder for cached stimuli and features (``$WMGEOM_CACHE`` or ``~/.cache/wmgeom``)."""
    root = os.environ.get("WMGEOM_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "wmgeom"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_key(params: Any, length: int = 16) -> str:
    """A stable short hash of JSON-serialisable parameters, used to key caches."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Works for files and folders. On error the temporary is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if path.is_dir() and tmp_path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --------------------------------------------------------------------------- readers


def _unique_key_loader():
    """A safe YAML loader that refuses a mapping listing the same key twice."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise WmgeomError(f"key {key!r} appears twice (lines {seen[key]} and {line}); "
                                  "keep one")
            seen[key] = key_node.start_mark.line + 1
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                    construct_mapping)
    return UniqueKeyLoader


def read_yaml(path: str | os.PathLike, what: str = "config file") -> dict[str, Any]:
    """The mapping in a YAML file (SPEC U2, L1).

    Raises:
        WmgeomError: If the file is missing, is not valid YAML, lists a key twice, or does
            not hold a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"{what} not found: {path}")
    try:
        data = yaml.load(path.read_text(), Loader=_unique_key_loader())  # noqa: S506
    except WmgeomError as exc:
        raise WmgeomError(f"{what} {path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise WmgeomError(f"{what} {path} is not valid YAML{at}: {problem}") from None
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, dict):
        raise WmgeomError(f"{what} {path} must hold a mapping of keys, not "
                          f"{type(data).__name__}")
    return data


def read_json(path: str | os.PathLike, what: str = "file", fix: str = "delete it") -> dict:
    """The object in a JSON file, ``{}`` when the file does not exist.

    Raises:
        WmgeomError: If the file exists but is not a JSON object (the message says ``fix``).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WmgeomError(f"{what} {path} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise WmgeomError(f"{what} {path} does not hold a JSON object; {fix}")
    return data


def write_dataset(ds: Any, path: str | os.PathLike) -> Path:
    """Write an :class:`xarray.Dataset` as netCDF (h5netcdf engine), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def open_dataset(path: str | os.PathLike, fix: str) -> Any:
    """Read a netCDF file written by :func:`write_dataset` into memory.

    Raises:
        WmgeomError: If it is missing or unreadable; the message ends with ``fix``.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise WmgeomError(f"{path} not found; {fix}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except Exception as exc:  # corrupt, truncated or foreign file
        raise WmgeomError(f"{path} is unreadable ({type(exc).__name__}); {fix}") from None


def read_tables(folder: str | os.PathLike) -> dict[str, Any]:
    """Every ``*.csv`` table of a folder, by file stem (pandas DataFrames).

    Raises:
        WmgeomError: If a table cannot be parsed (naming the file and the fix).
    """
    import pandas as pd

    tables = {}
    for csv in sorted(Path(folder).glob("*.csv")):
        try:
            tables[csv.stem] = pd.read_csv(csv)
        except pd.errors.EmptyDataError:
            tables[csv.stem] = pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise WmgeomError(f"table {csv} is damaged ({type(exc).__name__}); delete it and "
                              "run `wmgeom analyze` again") from None
    return tables


def write_table(df: Any, path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV (no index), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path
