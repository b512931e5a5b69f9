"""The feature cache.

The backbone is frozen, so every canvas a model can see — every object image at each
of the four locations — goes through it exactly once. The spatial maps are stored as
float16 on disk, keyed by backbone, weights and stimulus set, and training looks
frames up by flat stimulus index ``image * n_locations + location``.

A cache entry is a folder ``<cache>/features/<key>/`` holding ``maps.npy`` and
``meta.json``; the metadata records the size and sha256 of ``maps.npy``. An entry that
cannot be read or does not match its checksum is reported in one logged line and computed
again; the replacement is written atomically (:class:`wmgeom.cache.ContentCache`, shared
with the stimulus cache).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from wmgeom.cache import META_FILE, ContentCache, DamagedEntry
from wmgeom.io import cache_root, content_key, progress_bar
from wmgeom.models.backbones import Backbone, BackboneSpec
from wmgeom.models.registry import build_backbone
from wmgeom.pca import pca

log = logging.getLogger(__name__)

#: Bump when the layout of an entry changes (2: checksums in ``meta.json``).
CACHE_VERSION = 2
MAPS_FILE = "maps.npy"
CANVAS_SIZE = 224  # the backbones' input size (the 224 × 224 canvas of iWISDM)


@dataclass
class FeatureCache:
    """Backbone maps of every canvas of a stimulus set.

    Attributes:
        maps: float16 array ``[n_images * n_locations, C, h, w]`` (memory-mapped).
        spec: the backbone that produced them.
        n_locations: locations per image.
        key: the cache key.
    """

    maps: np.ndarray
    spec: BackboneSpec
    n_locations: int
    key: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.maps.shape[1:])

    def index(self, image: np.ndarray, location: np.ndarray) -> np.ndarray:
        """Flat stimulus index of (image, location) pairs."""
        return np.asarray(image) * self.n_locations + np.asarray(location)

    def lookup(self, image: np.ndarray, location: np.ndarray) -> np.ndarray:
        """Maps of the given stimuli, shape ``image.shape + (C, h, w)``, float16."""
        idx = self.index(image, location)
        return np.asarray(self.maps[idx.reshape(-1)]).reshape(*idx.shape, *self.shape)

    def to_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """The whole cache as one float16 tensor on ``device`` (for fast gathers)."""
        return torch.from_numpy(np.array(self.maps)).to(device)  # a writable copy of the memmap


def canvas_batches(stimset, batch_size: int):
    """Yield ``(flat_index, canvases uint8 [B, 224, 224, 3])`` over every canvas."""
    n = len(stimset.table) * stimset.n_locations
    for start in range(0, n, batch_size):
        flat = np.arange(start, min(start + batch_size, n))
        yield flat, stimset.canvas(flat // stimset.n_locations, flat % stimset.n_locations)


@torch.no_grad()
def compute_maps(
    stimset,
    backbone: Backbone,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> np.ndarray:
    """Run every canvas through ``backbone`` once; float16 maps ``[N, C, h, w]``.

    Canvases of another size (tiny test sets) are resized to 224×224 first. On a GPU
    this uses bfloat16 autocast and channels-last memory (P4).
    """
    device = torch.device(device)
    backbone = backbone.to(device)
    cuda = device.type == "cuda"
    if cuda:
        backbone = backbone.to(memory_format=torch.channels_last)
    n = len(stimset.table) * stimset.n_locations
    out = np.empty((n, backbone.spec.channels, *backbone.spec.spatial), dtype=np.float16)
    with progress_bar(n, f"features ({backbone.spec.name})", "img", enabled=progress) as bar:
        for flat, canvases in canvas_batches(stimset, batch_size):
            x = torch.from_numpy(canvases).to(device).permute(0, 3, 1, 2).float().div_(255)
            if x.shape[-2:] != (CANVAS_SIZE, CANVAS_SIZE):  # small test sets: resize to 224
                x = torch.nn.functional.interpolate(x, size=(CANVAS_SIZE, CANVAS_SIZE),
                                                    mode="bilinear", align_corners=False)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                maps = backbone(x)
            out[flat] = maps.float().cpu().numpy().astype(np.float16)
            bar.update(len(flat))
    return out


def feature_key(stimset_key: str, backbone: str, weights: str | None) -> str:
    return content_key(
        {"stimuli": stimset_key, "backbone": backbone, "weights": weights or "imagenet",
         "version": CACHE_VERSION}
    )


def load_or_compute_features(
    stimset,
    backbone: str = "efficientnet_lite0",
    weights: str | None = None,
    cache_dir: str | Path | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    progress: bool = True,
) -> FeatureCache:
    """The feature cache for ``stimset``: read from disk, or computed once and stored.

    Args:
        stimset: a :class:`wmgeom.stimuli.StimulusSet`.
        backbone: backbone name (see :data:`wmgeom.models.registry.BACKBONES`).
        weights: ``None`` (ImageNet), a weights file, or ``"random"``.
        cache_dir: defaults to ``cache_root()/features``.
    """
    key = feature_key(stimset.key, backbone, weights)
    cache = _cache(cache_dir)
    found = cache.get(key, lambda path, meta: read_entry(path, meta, key))
    if found is not None:
        return found
    net = build_backbone(backbone, weights)
    maps = compute_maps(stimset, net, batch_size=batch_size, device=device, progress=progress)
    path = write_entry(cache, key, maps, net.spec, stimset)
    return FeatureCache(np.load(path / MAPS_FILE, mmap_mode="r"), net.spec,
                        stimset.n_locations, key)


def _cache(cache_dir: str | Path | None) -> ContentCache:
    folder = Path(cache_dir) if cache_dir else cache_root() / "features"
    return ContentCache(folder, "feature cache", "computing it again", (MAPS_FILE,), log)


def write_entry(cache: ContentCache, key: str, maps: np.ndarray, spec: BackboneSpec,
                stimset) -> Path:
    """Write a cache entry (maps and metadata with their checksum) atomically."""
    def write(folder: Path) -> dict:
        np.save(folder / MAPS_FILE, maps)
        return {"spec": spec.__dict__, "n_locations": stimset.n_locations,
                "stimuli": stimset.key, "n_canvases": int(maps.shape[0]),
                "version": CACHE_VERSION}

    return cache.put(key, write)


def read_entry(path: Path, meta: dict, key: str) -> FeatureCache:
    """The cache entry at ``path`` whose files match ``meta``'s checksums.

    Raises:
        DamagedEntry: If the metadata lacks its fields, or ``maps.npy`` is unreadable or
            does not have the recorded shape.
    """
    try:
        names = {f.name for f in fields(BackboneSpec)}
        raw = meta["spec"]
        if set(raw) != names:
            raise KeyError("spec")
        spec = BackboneSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        n_locations, n_canvases = meta["n_locations"], meta["n_canvases"]
    except (KeyError, TypeError, AttributeError):
        raise DamagedEntry(f"{META_FILE} lacks its fields") from None
    try:
        maps = np.load(path / MAPS_FILE, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise DamagedEntry(f"{MAPS_FILE} is unreadable ({type(exc).__name__})") from None
    expected = (n_canvases, spec.channels, *spec.spatial)
    if maps.shape != expected or maps.dtype != np.float16:
        raise DamagedEntry(f"{MAPS_FILE} holds {maps.dtype} {maps.shape}, expected float16 "
                           f"{expected}")
    return FeatureCache(maps, spec, n_locations, key)


def channel_pca(cache: FeatureCache, n_components: int) -> tuple[FeatureCache, float]:
    """Project every map's channels onto their top principal components.

    A 1×1 convolution on the projected map is a 1×1 convolution on the original map
    restricted to the top-``n_components`` channel subspace, so this is an exact
    reparametrisation when all components are kept and a cheap, documented
    approximation otherwise (the quick profile uses it to train in minutes on a CPU).
    The PCA is fitted on every pixel of every canvas of the stimulus set.

    Returns:
        The projected cache (float16, ``n_components`` channels) and the fraction of
        channel variance it keeps.
    """
    maps = torch.from_numpy(np.asarray(cache.maps, dtype=np.float32))
    c = maps.shape[1]
    if not 0 < n_components <= c:
        from wmgeom.errors import WmgeomError

        raise WmgeomError(
            f"channel_components must be between 1 and the backbone's {c} channels, "
            f"got {n_components}."
        )
    fit = pca(maps.permute(0, 2, 3, 1).reshape(-1, c), n_components, solver="covariance")
    mean = torch.from_numpy(fit.mean)
    basis = torch.from_numpy(np.ascontiguousarray(fit.components.T))
    kept = fit.kept
    projected = torch.einsum("nchw,ck->nkhw", maps - mean.view(1, c, 1, 1), basis)
    spec = BackboneSpec(cache.spec.name, f"{cache.spec.weights}+pca{n_components}",
                        n_components, cache.spec.spatial, cache.spec.mean, cache.spec.std)
    key = content_key({"base": cache.key, "pca": n_components})
    return FeatureCache(projected.numpy().astype(np.float16), spec, cache.n_locations, key), kept
