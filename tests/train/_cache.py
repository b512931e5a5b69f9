"""A synthetic feature cache over a hand-built stimulus table (no rendering, no backbone)."""

from __future__ import annotations

import numpy as np
from tasks._synthetic import FakeStimulusSet, synthetic_table

from wmgeom.models.backbones import BackboneSpec
from wmgeom.models.features import FeatureCache

CHANNELS = 8


def synthetic_cache(seed: int = 0) -> tuple[FakeStimulusSet, FeatureCache]:
    """Maps ``[n_images * 4, 8, 7, 7]`` that code category, identity and location."""
    stimset = FakeStimulusSet(synthetic_table())
    table = stimset.table
    rng = np.random.default_rng(seed)
    _, identity = np.unique(table["identity"], return_inverse=True)
    _, category = np.unique(table["category"], return_inverse=True)
    ident = rng.normal(size=(identity.max() + 1, CHANNELS))
    cat = rng.normal(size=(category.max() + 1, CHANNELS))
    maps = np.zeros((len(table) * 4, CHANNELS, 7, 7), dtype=np.float16)
    for image in range(len(table)):
        for loc in range(4):
            code = ident[identity[image]] + cat[category[image]] + 0.1 * rng.normal(
                size=CHANNELS)
            maps[image * 4 + loc, :, 3 * (loc // 2), 3 * (loc % 2)] = code
    spec = BackboneSpec("efficientnet_lite0", "synthetic", CHANNELS, (7, 7), (0.5,) * 3,
                        (0.5,) * 3)
    return stimset, FeatureCache(maps, spec, 4, "synthetic")
