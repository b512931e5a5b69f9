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
