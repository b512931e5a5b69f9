"""Shared tiny stimulus sets: 2 categories, 32-pixel patches, few angles."""

import pytest

from wmgeom.stimuli import StimulusConfig, load_or_render

TINY = dict(categories=["chair", "airplane"], azimuths=6, elevations=[15.0], image_size=32,
            supersample=1, n_train_identities=2, n_heldout_identities=1)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WMGEOM_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="package")
def tiny_config():
    return StimulusConfig(**TINY)


@pytest.fixture(scope="package")
def tiny_set(tiny_config, tmp_path_factory):
    return load_or_render(tiny_config, cache_dir=tmp_path_factory.mktemp("stim"), progress=False)
