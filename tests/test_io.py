"""wmgeom.io: atomic writes, content keys, and the one reader of YAML, JSON, netCDF and CSV."""

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wmgeom import io as wmio
from wmgeom.errors import WmgeomError
from wmgeom.io import (
    PlainProgress,
    atomic_path,
    cache_root,
    clean_stale_temporaries,
    content_key,
    damaged_files,
    file_record,
    open_dataset,
    progress_bar,
    read_json,
    read_tables,
    read_yaml,
    write_dataset,
    write_json_atomic,
    write_table,
    write_text_atomic,
)


def names(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden temporaries included."""
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- atomic_path


def test_atomic_file_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert not tmp.exists()  # a free name, for the block to create
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the rename
    assert target.read_text() == "new"
    assert names(tmp_path) == ["result.txt"]


def test_atomic_file_untouched_and_no_temporary_on_error(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert names(tmp_path) == ["result.txt"]


def test_atomic_new_file_not_created_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new.txt") as tmp:
            tmp.write_text("half written")
            raise RuntimeError("interrupted")
    assert names(tmp_path) == []


def test_atomic_folder_replaces_the_whole_folder(tmp_path):
    target = tmp_path / "figures"
    target.mkdir()
    (target / "stale.png").write_text("old")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "fresh.png").write_text("new")
        assert names(target) == ["stale.png"]
    assert names(target) == ["fresh.png"]
    assert (target / "fresh.png").read_text() == "new"
    assert names(tmp_path) == ["figures"]


def test_atomic_folder_untouched_and_no_temporary_on_error(tmp_path):
    target = tmp_path / "figures"
    target.mkdir()
    (target / "kept.png").write_text("old")
    with pytest.raises(ValueError, match="bad figure"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "partial.png").write_text("new")
            raise ValueError("bad figure")
    assert names(target) == ["kept.png"]
    assert (target / "kept.png").read_text() == "old"
    assert names(tmp_path) == ["figures"]


def test_atomic_path_creates_missing_parents(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("x")
    assert target.read_text() == "x"
    assert names(target.parent) == ["c.txt"]


def test_write_text_atomic_overwrites(tmp_path):
    target = tmp_path / "t.txt"
    write_text_atomic(target, "first\n")
    write_text_atomic(str(target), "second\n")  # a str path works too
    assert target.read_text() == "second\n"
    assert names(tmp_path) == ["t.txt"]


def test_write_json_atomic_numpy_and_paths(tmp_path):
    target = tmp_path / "summary.json"
    write_json_atomic(target, {
        "f32": np.float32(1.5),
        "i64": np.int64(3),
        "flag": np.bool_(True),
        "array": np.arange(3),
        "matrix": np.eye(2),
        "path": Path("runs") / "a",
        "nested": {"x": [np.int32(7)]},
    })
    text = target.read_text()
    assert text.endswith("}\n")
    back = json.loads(text)
    assert back == {"f32": 1.5, "i64": 3, "flag": True, "array": [0, 1, 2],
                    "matrix": [[1.0, 0.0], [0.0, 1.0]], "path": str(Path("runs") / "a"),
                    "nested": {"x": [7]}}
    assert isinstance(back["i64"], int) and isinstance(back["flag"], bool)
    assert list(back) == ["f32", "i64", "flag", "array", "matrix", "path", "nested"]  # order kept


def test_write_json_atomic_refuses_unknown_objects_and_writes_nothing(tmp_path):
    target = tmp_path / "summary.json"
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_json_atomic(target, {"a": object()})
    assert names(tmp_path) == []


# --------------------------------------------------------------------------- content_key


def test_content_key_stable_across_dict_order():
    a = {"model": {"hidden": 32, "arch": "gru"}, "seed": 0, "tasks": ["a", "b"]}
    b = {"seed": 0, "tasks": ["a", "b"], "model": {"arch": "gru", "hidden": 32}}
    assert content_key(a) == content_key(b)
    assert re.fullmatch(r"[0-9a-f]{16}", content_key(a))
    assert content_key(a, length=8) == content_key(a)[:8]


@pytest.mark.parametrize("change", [
    {"seed": 1},
    {"model": {"hidden": 33, "arch": "gru"}},
    {"model": {"hidden": 32, "arch": "lstm"}},
    {"tasks": ["b", "a"]},  # list order matters
    {"seed": "0"},  # a string is not the number
])
def test_content_key_differs_when_a_value_differs(change):
    base = {"model": {"hidden": 32, "arch": "gru"}, "seed": 0, "tasks": ["a", "b"]}
    assert content_key({**base, **change}) != content_key(base)


# --------------------------------------------------------------------------- read_yaml


def test_read_yaml_mapping_and_empty_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hidden_size: 32\nseed: 3\n")
    assert read_yaml(path) == {"model": {"hidden_size": 32}, "seed": 3}
    path.write_text("")
    assert read_yaml(path) == {}


def test_read_yaml_missing_file_names_what_and_path(tmp_path):
    path = tmp_path / "none.yaml"
    with pytest.raises(WmgeomError) as exc:
        read_yaml(path, "run config")
    assert str(exc.value) == f"run config not found: {path}"


def test_read_yaml_invalid_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(WmgeomError) as exc:
        read_yaml(path)
    assert str(exc.value).startswith(f"config file {path} is not valid YAML at line 2, "
                                     "column 1: ")


def test_read_yaml_undecodable_bytes(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(WmgeomError, match="is not valid YAML: 'utf-8' codec can't decode"):
        read_yaml(path)


def test_read_yaml_invalid_yaml_message_is_one_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(WmgeomError) as exc:
        read_yaml(path)
    assert "\n" not in str(exc.value)


def test_read_yaml_duplicate_key_names_key_and_both_lines(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 0\nlr: 0.1\nmodel: {}\nlr: 0.2\n")
    with pytest.raises(WmgeomError) as exc:
        read_yaml(path)
    assert str(exc.value) == (f"config file {path}: key 'lr' appears twice (lines 2 and 4); "
                              "keep one")


def test_read_yaml_duplicate_nested_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hidden_size: 1\n  arch: gru\n  hidden_size: 2\n")
    with pytest.raises(WmgeomError, match=r"key 'hidden_size' appears twice \(lines 2 and 4\)"):
        read_yaml(path)


def test_read_yaml_same_key_in_two_sections_is_fine(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a:\n  size: 1\nb:\n  size: 2\n")
    assert read_yaml(path) == {"a": {"size": 1}, "b": {"size": 2}}


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just text\n", "str"),
                                        ("3\n", "int")])
def test_read_yaml_refuses_a_document_that_is_not_a_mapping(tmp_path, text, kind):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(WmgeomError) as exc:
        read_yaml(path, "run config")
    assert str(exc.value) == f"run config {path} must hold a mapping of keys, not {kind}"


@pytest.mark.parametrize("text", ["[]\n", "0\n", "false\n"])
def test_read_yaml_refuses_a_falsy_document_that_is_not_a_mapping(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(WmgeomError, match="must hold a mapping of keys"):
        read_yaml(path)


# --------------------------------------------------------------------------- read_json


def test_read_json_missing_file_is_empty(tmp_path):
    assert read_json(tmp_path / "none.json") == {}


def test_read_json_object(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"a": 1, "b": [1, 2]}')
    assert read_json(path) == {"a": 1, "b": [1, 2]}


def test_read_json_garbage_gives_the_fix(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{garbage")
    with pytest.raises(WmgeomError) as exc:
        read_json(path, "summary", fix="run `wmgeom analyze` again")
    msg = str(exc.value)
    assert msg.startswith(f"summary {path} is not valid JSON (")
    assert msg.endswith("); run `wmgeom analyze` again")
    assert "\n" not in msg


def test_read_json_not_an_object(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("[1, 2]")
    with pytest.raises(WmgeomError) as exc:
        read_json(path)
    assert str(exc.value) == f"file {path} does not hold a JSON object; delete it"


# --------------------------------------------------------------------------- netCDF


@pytest.fixture
def dataset():
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {
            "hidden": (("trial", "frame", "unit"), rng.normal(size=(4, 3, 5))),
            "rates": (("trial", "unit"), rng.random((4, 5)).astype(np.float32)),
            "task": ("trial", np.array(["a", "b", "a", "b"])),
            "n": ("trial", np.array([1, 2, 1, 2])),
        },
        coords={"trial": np.arange(4), "frame": [0, 1, 2], "action": ["x", "y"]},
        attrs={"architecture": "gru", "seed": 3},
    )
    ds["hidden"].attrs["units"] = "a.u."
    return ds


def test_dataset_round_trip(tmp_path, dataset):
    path = tmp_path / "acts.nc"
    assert write_dataset(dataset, path) == path
    assert names(tmp_path) == ["acts.nc"]
    back = open_dataset(path, fix="record again")
    xr.testing.assert_identical(back, dataset)
    np.testing.assert_array_equal(back["hidden"].values, dataset["hidden"].values)
    assert back["rates"].dtype == np.float32
    assert back.attrs == {"architecture": "gru", "seed": 3}
    assert back["hidden"].attrs == {"units": "a.u."}
    path.unlink()  # read into memory: the file is not held open
    assert float(back["hidden"].sum()) == pytest.approx(float(dataset["hidden"].sum()))


def test_open_dataset_missing_file(tmp_path):
    path = tmp_path / "none.nc"
    with pytest.raises(WmgeomError) as exc:
        open_dataset(path, fix="run `wmgeom record` first")
    assert str(exc.value) == f"{path} not found; run `wmgeom record` first"


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_open_dataset_damaged_file_one_line(tmp_path, dataset, damage):
    path = tmp_path / "acts.nc"
    write_dataset(dataset, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not netcdf at all")
    with pytest.raises(WmgeomError) as exc:
        open_dataset(path, fix="delete it and run `wmgeom record` again")
    msg = str(exc.value)
    assert re.fullmatch(re.escape(str(path)) + r" is unreadable \(\w+\); delete it and run "
                        r"`wmgeom record` again", msg)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


# --------------------------------------------------------------------------- CSV tables


def test_write_table_and_read_tables_round_trip(tmp_path):
    df = pd.DataFrame({"task": ["a", "b"], "acc": [0.5, 0.75], "n": [1, 2]}, index=[10, 20])
    assert write_table(df, tmp_path / "scores.csv") == tmp_path / "scores.csv"
    (tmp_path / "notes.txt").write_text("not a table")
    assert (tmp_path / "scores.csv").read_text().splitlines()[0] == "task,acc,n"  # no index
    tables = read_tables(tmp_path)
    assert list(tables) == ["scores"]
    pd.testing.assert_frame_equal(tables["scores"], df.reset_index(drop=True))


def test_read_tables_empty_csv(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    tables = read_tables(tmp_path)
    assert sorted(tables) == ["empty", "header"]
    assert tables["empty"].empty and list(tables["empty"].columns) == []
    assert len(tables["header"]) == 0 and list(tables["header"].columns) == ["a", "b"]


def test_read_tables_empty_folder(tmp_path):
    assert read_tables(tmp_path) == {}


@pytest.mark.parametrize("content, kind", [
    (b"a,b\n1,2\n3,4,5,6\n", "ParserError"),
    (b"a,b\n\xff\xfe,1\n", "UnicodeDecodeError"),
])
def test_read_tables_damaged_csv_message(tmp_path, content, kind):
    (tmp_path / "good.csv").write_text("a\n1\n")
    path = tmp_path / "scores.csv"
    path.write_bytes(content)
    with pytest.raises(WmgeomError) as exc:
        read_tables(tmp_path)
    assert str(exc.value) == (f"table {path} is damaged ({kind}); delete it and run "
                              "`wmgeom analyze` again")


# --------------------------------------------------------------------------- cache_root


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache" / "here"))
    root = cache_root()
    assert root == tmp_path / "cache" / "here"
    assert root.is_dir()


# --------------------------------------------------------------------------- temporaries


def age(path: Path, seconds: float) -> None:
    """Make ``path`` (and everything in it) look last changed ``seconds`` ago."""
    when = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (when, when))


def test_a_killed_atomic_write_leaves_a_temporary_the_next_run_removes(tmp_path):
    script = ("import os, sys\n"
              "from wmgeom.io import atomic_path\n"
              "with atomic_path(sys.argv[1]) as tmp:\n"
              "    tmp.mkdir()\n"
              "    (tmp / 'half.npy').write_bytes(b'x' * 100)\n"
              "    os._exit(9)\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "entry")], check=False)
    left = names(tmp_path)
    assert len(left) == 1 and re.fullmatch(r"\.entry\.[a-z0-9_]{8}\.tmp", left[0])
    assert clean_stale_temporaries(tmp_path) == []  # fresh: perhaps a writer still at work
    age(tmp_path / left[0], 3600)
    assert clean_stale_temporaries(tmp_path) == [tmp_path / left[0]]
    assert names(tmp_path) == []


def test_clean_stale_temporaries_touches_nothing_else(tmp_path):
    keep = ["result.csv", ".hidden", "notes.tmp", ".x.tmp", ".x.ABCDEFGH.tmp", ".x.abc.tmp",
            "x.abcdefgh.tmp"]
    for name in keep:
        (tmp_path / name).write_text("keep")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".r.abcdefgh.tmp").write_text("not at the top level")
    (tmp_path / ".old.k3_9xq2a.tmp").write_text("stale")
    (tmp_path / ".dir.abcdefgh.tmp").mkdir()
    (tmp_path / ".dir.abcdefgh.tmp" / "part").write_text("stale")
    (tmp_path / ".busy.abcdefgh.tmp").mkdir()
    (tmp_path / ".busy.abcdefgh.tmp" / "old").write_text("old")
    (tmp_path / ".link.abcdefgh.tmp").symlink_to(tmp_path / "result.csv")
    for p in tmp_path.iterdir():
        age(p, 7200)
    (tmp_path / ".busy.abcdefgh.tmp" / "new").write_text("a writer is still at work")
    removed = clean_stale_temporaries(tmp_path, older_than_s=600)
    assert sorted(p.name for p in removed) == [".dir.abcdefgh.tmp", ".old.k3_9xq2a.tmp"]
    assert names(tmp_path) == sorted([*keep, "sub", ".busy.abcdefgh.tmp", ".link.abcdefgh.tmp"])
    assert (tmp_path / "sub" / ".r.abcdefgh.tmp").exists()
    assert (tmp_path / "result.csv").read_text() == "keep"


def test_clean_stale_temporaries_of_a_missing_folder(tmp_path):
    assert clean_stale_temporaries(tmp_path / "nowhere") == []


# --------------------------------------------------------------------------- checksums


def test_file_record_and_damaged_files(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"0123456789")
    records = {"a.bin": file_record(tmp_path / "a.bin")}
    assert records["a.bin"]["bytes"] == 10 and len(records["a.bin"]["sha256"]) == 64
    assert damaged_files(tmp_path, records) is None
    (tmp_path / "a.bin").write_bytes(b"01234")
    assert damaged_files(tmp_path, records) == "a.bin has 5 bytes, expected 10"
    (tmp_path / "a.bin").write_bytes(b"0123456780")
    assert damaged_files(tmp_path, records) == "a.bin does not match its checksum"
    (tmp_path / "a.bin").unlink()
    assert damaged_files(tmp_path, records) == "a.bin is missing"
    assert damaged_files(tmp_path, None) == "its metadata lists no file checksums"
    assert damaged_files(tmp_path, {"a.bin": {"bytes": "x"}}) == (
        "its metadata for a.bin is unusable")


# --------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_to_a_file_writes_a_bounded_number_of_lines():
    out = io.StringIO()
    with progress_bar(1000, "train", "it", file=out) as bar:
        assert isinstance(bar, PlainProgress)
        for i in range(1000):
            bar.update(1)
            if i % 10 == 0:
                bar.set_postfix(loss=f"{1 / (i + 1):.4f}")
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 25
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("train: 50/1000 it (5%), 00:00 elapsed")
    assert lines[-1].startswith("train: 1000/1000 it (100%), 00:00 elapsed, ")
    assert lines[-1].endswith(", loss=0.0010")


def test_progress_to_a_file_prints_every_half_minute_and_on_close(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(wmio.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = progress_bar(10_000, "features (resnet50)", "img", file=out)
    for _ in range(30):  # 30 slow updates, 0.3% of the total, 10 s each
        clock[0] += 10
        bar.update(1)
    bar.close()
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "features (resnet50): 3/10000 img (0%), 00:30 elapsed, 10.0 s/img",
        "features (resnet50): 6/10000 img (0%), 01:00 elapsed, 10.0 s/img",
        "features (resnet50): 9/10000 img (0%), 01:30 elapsed, 10.0 s/img",
        "features (resnet50): 12/10000 img (0%), 02:00 elapsed, 10.0 s/img",
        "features (resnet50): 15/10000 img (0%), 02:30 elapsed, 10.0 s/img",
        "features (resnet50): 18/10000 img (0%), 03:00 elapsed, 10.0 s/img",
        "features (resnet50): 21/10000 img (0%), 03:30 elapsed, 10.0 s/img",
        "features (resnet50): 24/10000 img (0%), 04:00 elapsed, 10.0 s/img",
        "features (resnet50): 27/10000 img (0%), 04:30 elapsed, 10.0 s/img",
        "features (resnet50): 30/10000 img (0%), 05:00 elapsed, 10.0 s/img",
    ]


def test_progress_to_a_file_resumed_and_stopped_early():
    out = io.StringIO()
    bar = progress_bar(100, "train", "it", initial=40, file=out)
    bar.update(3)
    bar.close()  # stopped at 43: one last line
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train: 43/100 it (43%), 00:00 elapsed, ")
    quiet = io.StringIO()
    progress_bar(100, "train", "it", initial=100, file=quiet).close()
    assert quiet.getvalue() == ""


def test_progress_to_a_file_with_a_label_of_the_current_step():
    out = io.StringIO()
    bar = progress_bar(4, "analysis", "step", file=out)
    for label in ("decoders", "orthogonality", "procrustes", "causal"):
        bar.set_postfix_str(label, refresh=False)
        bar.update(1)
    bar.update(bar.total - bar.n)
    bar.close()
    assert [line.split(", ")[-1] for line in out.getvalue().splitlines()] == [
        "decoders", "orthogonality", "procrustes", "causal"]


def test_progress_in_a_terminal_is_a_live_bar():
    from tqdm.std import tqdm

    out = Terminal()
    with progress_bar(1000, "train", "it", file=out) as bar:
        assert isinstance(bar, tqdm)
        for _ in range(1000):
            bar.update(1)
    text = out.getvalue()
    assert "\r" in text and "100%|" in text and "1000/1000" in text


def test_progress_disabled_prints_nothing(capsys):
    out = io.StringIO()
    with progress_bar(10, "train", "it", enabled=False, file=out) as bar:
        bar.update(10)
        bar.set_postfix(loss="1")
    assert out.getvalue() == ""
    assert capsys.readouterr().err == ""


def test_progress_in_a_notebook_is_tqdm_widget(monkeypatch):
    import tqdm.autonotebook

    class Widget:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    monkeypatch.setattr(tqdm.autonotebook, "tqdm", Widget)
    bar = progress_bar(10, "train", "it")
    assert isinstance(bar, Widget) and bar.kwargs["desc"] == "train"
