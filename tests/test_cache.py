"""The content-addressed cache both disk caches share: checked entries, atomic writes,
damage reported once and rebuilt."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from wmgeom.cache import META_FILE, ContentCache, DamagedEntry

LOG = logging.getLogger("wmgeom.tests.cache")


def _cache(tmp_path, files=("data.txt",)):
    return ContentCache(tmp_path / "entries", "test cache", "building it again", files, LOG)


def _write(folder):
    (folder / "data.txt").write_text("payload")
    return {"version": 1}


def _load(path, meta):
    return (path / "data.txt").read_text(), meta["version"]


def test_put_then_get_reads_the_entry_and_records_every_file(tmp_path):
    cache = _cache(tmp_path)
    assert cache.get("k", _load) is None  # nothing yet, nothing logged
    path = cache.put("k", _write)
    assert path == cache.path("k") and path.is_dir()
    meta = json.loads((path / META_FILE).read_text())
    assert set(meta["files"]) == {"data.txt"} and meta["files"]["data.txt"]["bytes"] == 7
    assert cache.get("k", _load) == ("payload", 1)


@pytest.mark.parametrize("damage, why", [
    (lambda p: (p / "data.txt").write_text("payloaX"), "data.txt does not match its checksum"),
    (lambda p: (p / "data.txt").write_text("pay"), "data.txt has 3 bytes, expected 7"),
    (lambda p: (p / "data.txt").unlink(), "data.txt is missing"),
    (lambda p: (p / META_FILE).unlink(), "meta.json is missing"),
    (lambda p: (p / META_FILE).write_text("{not json"), "meta.json is unreadable (JSONDecodeError)"),
    (lambda p: (p / META_FILE).write_text("{}"), "meta.json lacks its fields"),
    (lambda p: (p / META_FILE).write_text(json.dumps({"files": {"other": {"bytes": 1,
                                                                           "sha256": "x"}}})),
     "other is missing"),
])
def test_a_damaged_entry_is_reported_once_and_not_returned(tmp_path, caplog, damage, why):
    cache = _cache(tmp_path)
    path = cache.put("k", _write)
    damage(path)
    with caplog.at_level("WARNING", logger=LOG.name):
        assert cache.get("k", _load) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"test cache entry {path} is damaged ({why}); building it again"]
    cache.put("k", _write)  # rebuilt over the damaged one
    caplog.clear()
    with caplog.at_level("WARNING", logger=LOG.name):
        assert cache.get("k", _load) == ("payload", 1)
    assert caplog.records == []


def test_an_entry_listing_other_files_or_that_is_a_file_is_damaged(tmp_path, caplog):
    cache = _cache(tmp_path)
    path = ContentCache(cache.folder, "x", "y").put("k", lambda f: (
        (f / "data.txt").write_text("payload"), (f / "extra").write_text("1"), {})[-1])
    assert cache.read_meta(path) == (None, "meta.json lists other files")
    other = cache.path("file")
    other.write_text("not a folder")
    with caplog.at_level("WARNING", logger=LOG.name):
        assert cache.get("file", _load) is None
    assert "(it is not a folder)" in caplog.records[0].getMessage()
    cache.put("file", _write)  # the file is replaced by a folder
    assert cache.get("file", _load) == ("payload", 1)


def test_the_loader_names_what_it_finds_wrong(tmp_path, caplog):
    cache = _cache(tmp_path)
    cache.put("k", _write)

    def picky(path, meta):
        raise DamagedEntry("data.txt holds the wrong payload")

    def broken(path, meta):
        raise ValueError("boom")

    with caplog.at_level("WARNING", logger=LOG.name):
        assert cache.get("k", picky) is None and cache.get("k", broken) is None
    messages = [r.getMessage() for r in caplog.records]
    assert "(data.txt holds the wrong payload)" in messages[0]
    assert "(it is unreadable (ValueError))" in messages[1]


def test_an_interrupted_write_leaves_no_entry_and_its_temporary_is_cleaned(tmp_path):
    cache = _cache(tmp_path)

    def dies(folder):
        (folder / "data.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.put("k", dies)
    assert not cache.path("k").exists()
    # a temporary a killed process left behind is removed once nothing changed in it for a
    # while
    stale = cache.folder / ".k.abcdefgh.tmp"
    stale.mkdir()
    old = time.time() - 7 * 24 * 3600
    os.utime(stale, (old, old))
    cache.get("k", _load)
    assert not stale.exists()
