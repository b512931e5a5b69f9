import numpy as np
import pytest
import torch

from wmgeom.errors import WmgeomError
from wmgeom.models.features import channel_pca, load_or_compute_features
from wmgeom.stimuli import StimulusConfig, load_or_render


@pytest.fixture(scope="module")
def stimset(tmp_path_factory):
    cfg = StimulusConfig(categories=["chair"], n_train_identities=1, n_heldout_identities=0,
                         azimuths=3, elevations=[15.0], heldout_azimuth_every=0, image_size=32)
    return load_or_render(cfg, cache_dir=tmp_path_factory.mktemp("stim"), progress=False)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("features")


def test_every_canvas_once_then_cached(stimset, cache_dir):
    cache = load_or_compute_features(stimset, cache_dir=cache_dir, progress=False)
    n = len(stimset.table) * stimset.n_locations
    assert cache.maps.shape == (n, 1280, 7, 7) and cache.maps.dtype == np.float16
    again = load_or_compute_features(stimset, cache_dir=cache_dir, progress=False)
    assert again.key == cache.key
    np.testing.assert_array_equal(np.asarray(again.maps), np.asarray(cache.maps))
    # a lookup by (image, location) reads the canvas at that flat index
    img, loc = np.array([[0, 2]]), np.array([[3, 1]])
    np.testing.assert_array_equal(cache.lookup(img, loc)[0, 1], cache.maps[2 * 4 + 1])
    # other weights → another key
    other = load_or_compute_features(stimset, weights="random", cache_dir=cache_dir,
                                     progress=False)
    assert other.key != cache.key


def test_features_depend_on_location(stimset, cache_dir):
    cache = load_or_compute_features(stimset, cache_dir=cache_dir, progress=False)
    maps = np.asarray(cache.maps, dtype=np.float32)
    # the same image at two locations: activation mass moves to that quadrant
    energy = np.abs(maps[0:4]).sum(1)  # image 0 at locations 0..3 → [4, 7, 7]
    assert energy[0, :3, :3].sum() > energy[0, 4:, 4:].sum()
    assert energy[3, 4:, 4:].sum() > energy[3, :3, :3].sum()


def test_channel_pca_is_exact_with_all_components(stimset, cache_dir):
    cache = load_or_compute_features(stimset, cache_dir=cache_dir, progress=False)
    small, kept = channel_pca(cache, 8)
    assert small.maps.shape[1] == 8 and 0 < kept < 1
    full, kept_all = channel_pca(cache, 1280)
    assert kept_all == pytest.approx(1.0, abs=1e-6)
    # an orthonormal change of channel basis keeps every pairwise distance
    a = torch.from_numpy(np.asarray(cache.maps[:6], dtype=np.float32)).flatten(1)
    b = torch.from_numpy(np.asarray(full.maps[:6], dtype=np.float32)).flatten(1)
    torch.testing.assert_close(torch.cdist(a, a), torch.cdist(b, b), rtol=2e-2, atol=0.5)
    with pytest.raises(WmgeomError, match="channel_components must be between 1 and"):
        channel_pca(cache, 5000)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[-7] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated maps": ("maps.npy", _truncate, "maps.npy has {half} bytes, expected {size}"),
    "garbage meta": ("meta.json", lambda p: p.write_bytes(b"\xff\xfe{garbage"),
                     "meta.json is unreadable (UnicodeDecodeError)"),
    "not JSON meta": ("meta.json", lambda p: p.write_text("{\"spec\": "),
                      "meta.json is unreadable (JSONDecodeError)"),
    "meta without fields": ("meta.json", lambda p: p.write_text("{\"spec\": {}}"),
                            "meta.json lacks its fields"),
    "missing meta": ("meta.json", lambda p: p.unlink(), "meta.json is missing"),
    "flipped byte": ("maps.npy", _flip_a_byte, "maps.npy does not match its checksum"),
}


@pytest.fixture(scope="module")
def fresh_entry(stimset, tmp_path_factory):
    """A freshly computed cache folder and its maps (read into memory)."""
    folder = tmp_path_factory.mktemp("fresh")
    cache = load_or_compute_features(stimset, cache_dir=folder, progress=False)
    return folder, np.array(cache.maps), cache.spec, cache.key


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_reported_once_and_rebuilt(stimset, fresh_entry, tmp_path, caplog,
                                                    damage):
    import shutil

    folder, expected, spec, key = fresh_entry
    shutil.copytree(folder, tmp_path / "a")
    entry = tmp_path / "a" / key
    name, spoil, why = DAMAGE[damage]
    size = (entry / "maps.npy").stat().st_size
    spoil(entry / name)
    with caplog.at_level("WARNING", logger="wmgeom.models.features"):
        again = load_or_compute_features(stimset, cache_dir=tmp_path / "a", progress=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"feature cache entry {entry} is damaged ({why.format(half=size // 2, size=size)}); "
        "computing it again"]
    np.testing.assert_array_equal(np.asarray(again.maps), expected)
    assert again.spec == spec and again.key == key
    assert sorted(p.name for p in entry.iterdir()) == ["maps.npy", "meta.json"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == [key]  # no temporary left
    caplog.clear()
    with caplog.at_level("WARNING", logger="wmgeom.models.features"):
        third = load_or_compute_features(stimset, cache_dir=tmp_path / "a", progress=False)
    assert caplog.records == []  # the rebuilt entry reads cleanly
    np.testing.assert_array_equal(np.asarray(third.maps), expected)


def test_entry_that_is_a_file_is_rebuilt(stimset, tmp_path, caplog):
    from wmgeom.models.features import feature_key

    key = feature_key(stimset.key, "efficientnet_lite0", None)
    (tmp_path / key).write_text("not a folder")
    with caplog.at_level("WARNING", logger="wmgeom.models.features"):
        cache = load_or_compute_features(stimset, cache_dir=tmp_path, progress=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"feature cache entry {tmp_path / key} is damaged (it is not a folder); computing it "
        "again"]
    assert (tmp_path / key / "maps.npy").is_file() and cache.maps.shape[0] == 12


def test_stale_temporaries_in_the_cache_folder_are_removed(stimset, tmp_path):
    import os
    import time

    stale = tmp_path / ".0123456789abcdef.k3_9xq2a.tmp"
    stale.mkdir()
    (stale / "maps.npy").write_bytes(b"half")
    for p in (stale / "maps.npy", stale):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    cache = load_or_compute_features(stimset, cache_dir=tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == [cache.key]


def test_progress_outside_a_terminal_is_a_few_plain_lines(stimset, tmp_path, capsys):
    load_or_compute_features(stimset, cache_dir=tmp_path, batch_size=1, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert 1 <= len(lines) <= 21
    assert lines[-1].startswith("features (efficientnet_lite0): 12/12 img (100%)")
