import numpy as np
import pandas as pd
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import LOCATION_NAMES, StimulusConfig, StimulusSet, load_or_render
from wmgeom.stimuli import stimset as stimset_module

from .conftest import TINY


def test_default_config_has_enough_angles_per_split():
    cfg = StimulusConfig()
    held = cfg.heldout_azimuth()
    n_el = len(cfg.elevation_values())
    assert len(cfg.azimuth_values()) == 24
    assert (~held).sum() * n_el >= 16 and held.sum() * n_el >= 8
    assert (~held).sum() >= 16 and held.sum() >= 8
    np.testing.assert_allclose(cfg.azimuth_values()[:3], [0, 15, 30])


def test_table_columns_and_splits(tiny_set, tiny_config):
    t = tiny_set.table
    assert list(t.columns) == ["category", "category_name", "identity", "identity_name",
                               "angle", "azimuth", "elevation", "split"]
    assert len(t) == 2 * 3 * 6 and tiny_set.images.shape == (36, 32, 32, 3)
    assert tiny_set.categories == ["chair", "airplane"]
    assert t["identity"].nunique() == 6
    train, val_a, val_i = (t.iloc[tiny_set.split_indices(s)] for s in
                           ("train", "val_angle", "val_identity"))
    # novel angles: same identities, disjoint angles
    assert set(train["identity"]) == set(val_a["identity"])
    assert set(train["angle"]).isdisjoint(val_a["angle"])
    # novel identities: disjoint identities, same categories
    assert set(val_i["identity"]).isdisjoint(train["identity"])
    assert set(val_i["category"]) == set(train["category"])
    assert len(train) + len(val_a) + len(val_i) == len(t)
    # every third azimuth (index 1, 4) is held out
    assert sorted(set(val_a["azimuth"])) == [60.0, 240.0]


def test_splits_lists_the_splits_present_in_order(tiny_set):
    assert tiny_set.splits == ("train", "val_angle", "val_identity")
    only_train = StimulusSet(table=tiny_set.table.assign(split="train"), images=tiny_set.images,
                             key="k")
    assert only_train.splits == ("train",)
    t = tiny_set.table[tiny_set.table["split"] != "val_angle"].iloc[::-1]
    assert StimulusSet(table=t, images=tiny_set.images, key="k").splits == (
        "train", "val_identity")


def test_split_indices_rejects_unknown_split(tiny_set):
    with pytest.raises(WmgeomError, match="unknown split 'test'.*val_angle"):
        tiny_set.split_indices("test")


def test_images_are_non_empty_objects(tiny_set):
    bg = np.asarray(tiny_set.background_color)
    differs = (tiny_set.images != bg).any(-1).mean(axis=(1, 2))
    assert differs.min() > 0.03  # every image shows an object
    assert (tiny_set.alpha[:, 0, :] == 0).all()  # objects do not touch the top edge


def test_cache_hit_loads_equal_arrays(tiny_config, tmp_path, monkeypatch):
    first = load_or_render(tiny_config, progress=False)  # cache in $WMGEOM_CACHE (tmp)
    assert any((tmp_path / "cache" / "stimuli").iterdir())

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered although the set was cached")

    monkeypatch.setattr(stimset_module, "render_objects", no_rendering)
    second = load_or_render(tiny_config, progress=False)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.alpha, second.alpha)
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.key == second.key


def test_same_seed_same_pixels_other_seed_other_objects(tiny_set, tiny_config, tmp_path):
    again = load_or_render(tiny_config, cache_dir=tmp_path / "a", progress=False)
    np.testing.assert_array_equal(again.images, tiny_set.images)
    other = load_or_render(StimulusConfig(**{**TINY, "seed": 1}), cache_dir=tmp_path / "b",
                           progress=False)
    assert other.key != tiny_set.key
    assert not np.array_equal(other.images, tiny_set.images)


def test_key_depends_on_every_parameter(tiny_config):
    base = stimset_module._key(tiny_config)
    for change in ({"image_size": 48}, {"background": "textured"}, {"elevations": [10.0]},
                   {"heldout_azimuth_every": 0}, {"n_heldout_identities": 0}):
        assert stimset_module._key(StimulusConfig(**{**TINY, **change})) != base


def test_canvas_places_patches_in_their_quadrant(tiny_set):
    s, c = tiny_set.patch_size, tiny_set.canvas_size
    assert c == 2 * s
    images = np.array([0, 7, 20, 33])
    canv = tiny_set.canvas(images, np.arange(4))
    assert canv.shape == (4, c, c, 3) and canv.dtype == np.uint8
    bg = np.asarray(tiny_set.background_color)
    for loc, img in enumerate(images):
        r0, c0 = tiny_set.location_origins()[loc]
        np.testing.assert_array_equal(canv[loc, r0:r0 + s, c0:c0 + s], tiny_set.images[img])
        outside = np.ones((c, c), bool)
        outside[r0:r0 + s, c0:c0 + s] = False
        assert (canv[loc][outside] == bg).all()
    # patch centres at S/2 and 3S/2 (56 and 168 px for 112-pixel patches)
    centers = tiny_set.location_origins() + s / 2
    np.testing.assert_allclose(centers, [[s / 2, s / 2], [s / 2, 1.5 * s], [1.5 * s, s / 2],
                                         [1.5 * s, 1.5 * s]])
    assert LOCATION_NAMES == ("top-left", "top-right", "bottom-left", "bottom-right")


def test_canvas_broadcasts_and_checks_ranges(tiny_set):
    out = tiny_set.canvas(np.array([[0, 1, 2]]), np.array([[3], [0]]))
    assert out.shape == (2, 3, 64, 64, 3)
    np.testing.assert_array_equal(out[1, 2], tiny_set.canvas(2, 0))
    with pytest.raises(WmgeomError, match="location must be in 0..3"):
        tiny_set.canvas([0], [4])
    with pytest.raises(WmgeomError, match="image index out of range"):
        tiny_set.canvas([1000], [0])


def test_textured_background_canvas(tmp_path):
    cfg = StimulusConfig(**{**TINY, "categories": ["lamp"], "background": "textured",
                            "n_textures": 3, "n_heldout_identities": 0})
    s = load_or_render(cfg, cache_dir=tmp_path, progress=False)
    assert s.textures.shape == (3, 64, 64, 3)
    canv = s.canvas(np.arange(len(s)), np.full(len(s), 3))
    opaque = s.alpha == 255
    patch = canv[:, 32:, 32:]
    np.testing.assert_array_equal(patch[opaque], s.foreground[opaque])
    empty = s.alpha == 0
    tex = s.textures[s.background_index][:, 32:, 32:]
    np.testing.assert_array_equal(patch[empty], tex[empty])
    np.testing.assert_array_equal(canv[:, :32, :32], s.textures[s.background_index][:, :32, :32])
    assert canv[:, :32, :32].std() > 3


@pytest.mark.parametrize("bad, message", [
    ({"categories": ["chair", "unicorn"]}, "unknown stimulus category 'unicorn'; choose from chair"),
    ({"categories": []}, "needs at least one category"),
    ({"categories": ["car", "car"]}, "twice"),
    ({"colour": 3}, "unknown key 'colour'"),
    ({"heldout_azimuth_every": 1}, "heldout_azimuth_every = 1"),
    ({"azimuths": 1}, "at least 2 azimuths"),
    ({"azimuths": 0}, "at least 1"),
    ({"elevations": [0, 90]}, "strictly between -90 and 90"),
    ({"image_size": 8}, "image_size"),
    ({"background": "stars"}, "background"),
    ({"background_color": (0, 300, 0)}, "0..255"),
    ({"n_train_identities": 0}, "n_train_identities"),
])
def test_config_errors_are_clear(bad, message):
    with pytest.raises(WmgeomError, match=message):
        StimulusConfig(**bad)


def test_config_round_trips_through_json():
    cfg = StimulusConfig(categories=["boat", "sofa"], azimuths=[0.0, 90.0], background="textured")
    again = StimulusConfig(**cfg.model_dump(mode="json"))
    assert again == cfg
    assert stimset_module._key(again) == stimset_module._key(cfg)


def test_stimulus_set_from_arrays_uses_images_on_plain_canvas():
    table = pd.DataFrame({"category": [0], "category_name": ["x"], "identity": [0],
                          "identity_name": ["x_0"], "angle": [0], "azimuth": [0.0],
                          "elevation": [0.0], "split": ["train"]})
    img = np.full((1, 16, 16, 3), 9, np.uint8)
    s = StimulusSet(table=table, images=img, key="k", background_color=(1, 2, 3))
    canv = s.canvas(0, 2)
    np.testing.assert_array_equal(canv[16:, :16], img[0])
    np.testing.assert_array_equal(canv[0, 0], [1, 2, 3])


def test_damaged_cache_entry_is_rendered_again(tiny_config, tmp_path):
    first = load_or_render(tiny_config, cache_dir=tmp_path, progress=False)
    (tmp_path / first.key / "arrays.npz").write_bytes(b"truncated")
    again = load_or_render(tiny_config, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.images, first.images)
    third = load_or_render(tiny_config, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(third.images, first.images)


# --------------------------------------------------------------------------- damaged cache


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _change_a_cell(path):
    path.write_text(path.read_text().replace("chair_0", "chair_9", 1))


STIM_DAMAGE = {
    "truncated arrays": ("arrays.npz", _truncate, "arrays.npz has {half} bytes, expected {size}"),
    "garbage table": ("table.csv", lambda p: p.write_bytes(b"\xff\x00garbage\n" * 3),
                      "table.csv has 30 bytes, expected {table}"),
    "edited table": ("table.csv", _change_a_cell, "table.csv does not match its checksum"),
    "garbage meta": ("meta.json", lambda p: p.write_bytes(b"\xff\xfe"),
                     "meta.json is unreadable (UnicodeDecodeError)"),
    "meta without files": ("meta.json", lambda p: p.write_text("{}"),
                           "meta.json lacks its fields"),
    "missing meta": ("meta.json", lambda p: p.unlink(), "meta.json is missing"),
}


@pytest.fixture(scope="module")
def fresh_stim_entry(tiny_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fresh-stimuli")
    return folder, load_or_render(tiny_config, cache_dir=folder, progress=False)


def _assert_same_set(a, b):
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    np.testing.assert_array_equal(a.foreground, b.foreground)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.key == b.key


@pytest.mark.parametrize("damage", list(STIM_DAMAGE))
def test_damaged_stimulus_cache_entry_is_reported_once_and_rendered_again(
        tiny_config, fresh_stim_entry, tmp_path, caplog, damage):
    import shutil

    folder, fresh = fresh_stim_entry
    shutil.copytree(folder, tmp_path / "c")
    entry = tmp_path / "c" / fresh.key
    name, spoil, why = STIM_DAMAGE[damage]
    sizes = {p.name: p.stat().st_size for p in entry.iterdir()}
    spoil(entry / name)
    with caplog.at_level("WARNING", logger="wmgeom.stimuli.stimset"):
        again = load_or_render(tiny_config, cache_dir=tmp_path / "c", progress=False)
    why = why.format(half=sizes[name] // 2, size=sizes[name], table=sizes["table.csv"])
    assert [r.getMessage() for r in caplog.records] == [
        f"stimulus cache entry {entry} is damaged ({why}); rendering it again"]
    _assert_same_set(again, fresh)
    assert sorted(p.name for p in entry.iterdir()) == ["arrays.npz", "config.json", "meta.json",
                                                       "table.csv"]
    assert [p.name for p in (tmp_path / "c").iterdir()] == [fresh.key]  # no temporary left
    caplog.clear()
    with caplog.at_level("WARNING", logger="wmgeom.stimuli.stimset"):
        third = load_or_render(tiny_config, cache_dir=tmp_path / "c", progress=False)
    assert caplog.records == []
    _assert_same_set(third, fresh)


def test_unreadable_entry_with_matching_checksums_is_rendered_again(
        tiny_config, fresh_stim_entry, tmp_path, caplog):
    import json
    import shutil

    from wmgeom.io import file_record

    folder, fresh = fresh_stim_entry
    shutil.copytree(folder, tmp_path / "c")
    entry = tmp_path / "c" / fresh.key
    _truncate(entry / "arrays.npz")
    meta = json.loads((entry / "meta.json").read_text())
    meta["files"]["arrays.npz"] = file_record(entry / "arrays.npz")  # checksums agree
    (entry / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level("WARNING", logger="wmgeom.stimuli.stimset"):
        again = load_or_render(tiny_config, cache_dir=tmp_path / "c", progress=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"stimulus cache entry {entry} is damaged (it is unreadable (BadZipFile)); rendering it "
        "again"]
    _assert_same_set(again, fresh)


def test_stimulus_cache_entry_that_is_a_file_is_rendered_again(tiny_config, tmp_path, caplog):
    key = stimset_module._key(tiny_config)
    (tmp_path / key).write_text("not a folder")
    with caplog.at_level("WARNING", logger="wmgeom.stimuli.stimset"):
        s = load_or_render(tiny_config, cache_dir=tmp_path, progress=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"stimulus cache entry {tmp_path / key} is damaged (it is not a folder); rendering it "
        "again"]
    assert (tmp_path / key / "arrays.npz").is_file() and len(s) == 36


def test_stale_temporaries_in_the_stimulus_cache_are_removed(tiny_config, tmp_path):
    import os
    import time

    stale = tmp_path / f".{stimset_module._key(tiny_config)}.a1b2c3d4.tmp"
    stale.mkdir()
    (stale / "arrays.npz").write_bytes(b"half")
    for p in (stale / "arrays.npz", stale):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    (tmp_path / "notes.txt").write_text("not ours")
    s = load_or_render(tiny_config, cache_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([s.key, "notes.txt"])


def test_rendering_progress_outside_a_terminal_is_a_few_plain_lines(tiny_config, tmp_path,
                                                                   capsys):
    load_or_render(tiny_config, cache_dir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("rendering objects")]
    assert 1 <= len(lines) <= 21
    assert lines[-1].startswith("rendering objects: 6/6 obj (100%)")
