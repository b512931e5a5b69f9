"""The one content-addressed disk cache that the stimulus and feature caches share.

An entry is a folder named by a content key (a hash of everything that determines it,
:func:`wmgeom.io.content_key`) holding the entry's files and a ``meta.json`` that records
the size and sha256 of each of them. :meth:`ContentCache.get` returns an entry only when
its metadata is complete and every file matches its record; an entry that does not — a
file missing, truncated or edited, metadata unreadable or incomplete, an entry that is not
a folder — is reported in one logged line and rebuilt by the caller. :meth:`ContentCache.put`
writes an entry atomically (to a temporary name, then renamed), so an interrupted write
never leaves an entry that looks complete; what such a write left behind is removed the
next time the cache is opened.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from wmgeom.io import atomic_path, clean_stale_temporaries, damaged_files, file_record

__all__ = ["META_FILE", "ContentCache", "DamagedEntry"]

META_FILE = "meta.json"
T = TypeVar("T")


class DamagedEntry(Exception):
    """Raised by a cache's loader with what is wrong with an entry (e.g. a wrong shape)."""


@dataclass(frozen=True)
class ContentCache:
    """A folder of content-addressed entries.

    Attributes:
        folder: Where the entries live (one subfolder per key).
        what: How log lines name the cache (``"feature cache"``).
        rebuild: What the caller does with a damaged entry (``"computing it again"``).
        files: The files every entry holds (besides ``meta.json``); an entry whose metadata
            lists others is damaged. Empty: whatever the metadata lists.
        log: The logger of the cache's owner (its damaged entries are reported there).
    """

    folder: Path
    what: str
    rebuild: str
    files: Sequence[str] = ()
    log: logging.Logger = logging.getLogger(__name__)

    def path(self, key: str) -> Path:
        """The folder of the entry ``key``."""
        return Path(self.folder) / key

    def get(self, key: str, load: Callable[[Path, dict[str, Any]], T]) -> T | None:
        """The entry ``key`` loaded by ``load(path, meta)``, or None when there is none or it
        is damaged (then one warning says what is wrong and that it is rebuilt).

        ``load`` raises :class:`DamagedEntry` with a description for a problem it finds; any
        other exception it raises means the entry is unreadable.
        """
        clean_stale_temporaries(self.folder)
        path = self.path(key)
        if not path.exists() and not path.is_symlink():
            return None
        meta, problem = self.read_meta(path)
        if meta is not None:
            try:
                return load(path, meta)
            except DamagedEntry as why:
                problem = str(why)
            except Exception as exc:  # any other failure to read means a damaged entry
                problem = f"it is unreadable ({type(exc).__name__})"
        self.log.warning("%s entry %s is damaged (%s); %s", self.what, path, problem,
                         self.rebuild)
        return None

    def read_meta(self, path: Path) -> tuple[dict[str, Any] | None, str]:
        """An entry's metadata when it and the files it records are intact, else
        ``(None, what is wrong)``."""
        if not path.is_dir():
            return None, "it is not a folder"
        try:
            meta = json.loads((path / META_FILE).read_text())
            records = meta["files"]
        except FileNotFoundError:
            return None, f"{META_FILE} is missing"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return None, f"{META_FILE} is unreadable ({type(exc).__name__})"
        except (KeyError, TypeError):
            return None, f"{META_FILE} lacks its fields"
        problem = damaged_files(path, records)
        if problem is None and self.files and set(records) != set(self.files):
            problem = f"{META_FILE} lists other files"
        return (None, problem) if problem is not None else (meta, "")

    def put(self, key: str, write: Callable[[Path], dict[str, Any]]) -> Path:
        """Write the entry ``key`` atomically and return its folder.

        ``write(folder)`` writes the entry's files into a fresh temporary folder and returns
        the metadata to store beside them; the size and sha256 of every file it wrote are
        added under ``files``.
        """
        path = self.path(key)
        if path.exists() and not path.is_dir():  # a damaged entry that is not even a folder
            path.unlink()
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            meta = dict(write(tmp))
            names = self.files or sorted(p.name for p in tmp.iterdir() if p.is_file())
            meta["files"] = {name: file_record(tmp / name) for name in names}
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        return path
