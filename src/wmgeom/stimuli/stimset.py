"""The stimulus set: configuration, table of object images, canvases and the disk cache.

Embedded and cached sets keyed by their parameters, the three splits (training images, novel
view angles, novel identities), placement on a 2×2 grid of a 224×224 canvas as iWISDM does,
and the larger sets and textured backgrounds of Lei et al. 2024's appendix (Fig. A6). The objects it
holds are described in ``docs/design.md`` (StimulusSet).

Defaults: the 4 categories chair, car, airplane and lamp (as many as Lei et al. 2024 use, and
the four most distinct silhouettes among our families), 2 training identities and 1
held-out identity per category, 24 azimuths × 3 elevations (0°, 15°, 30°), every third
azimuth held out for the novel-angle split — 48 training and 24 novel angles per object.

Splits (S2): ``train`` — training identities at training angles; ``val_angle`` — the same
identities at held-out angles; ``val_identity`` — held-out identities at every angle.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from wmgeom.cache import ContentCache
from wmgeom.config import StrictModel
from wmgeom.errors import ArgumentError, WmgeomError, format_validation_error, validating
from wmgeom.io import (
    cache_root,
    content_key,
    progress_bar,
)
from wmgeom.stimuli.meshes import category_dirs, folder_fingerprint, folder_meshes
from wmgeom.stimuli.render import composite, procedural_textures, render_objects, view_grid
from wmgeom.stimuli.shapes import CATEGORIES, DEFAULT_CATEGORIES, make_object
from wmgeom.tasks.vocabulary import SPLITS
from wmgeom.validation import Seed

log = logging.getLogger(__name__)

#: Bump when the cache layout changes; the key also hashes the mesh and render code.
#: (2: ``meta.json`` records the size and sha256 of every file of an entry.)
RENDER_VERSION = 2
#: The files of a cache entry; ``meta.json`` holds their sizes and checksums.
CACHE_FILES = ("arrays.npz", "table.csv", "config.json")
TABLE_COLUMNS = ("category", "category_name", "identity", "identity_name", "angle", "azimuth",
                 "elevation", "split")
#: Location order on the canvas (row-major over the 2×2 grid).
LOCATION_NAMES = ("top-left", "top-right", "bottom-left", "bottom-right")


class StimulusConfig(StrictModel):
    """Parameters of a stimulus set; all of them key its cache.

    Attributes:
        categories: category names; ``None`` means the default four (chair, car,
            airplane, lamp) for procedural objects, or every category folder of a mesh
            ``source``.
        n_train_identities: identities per category used for training (and novel angles).
        n_heldout_identities: identities per category kept for the novel-identity split.
        azimuths: view azimuths in degrees, or a count spread evenly over 360°.
        elevations: view elevations in degrees, or a count spread evenly over 0–30°.
        heldout_azimuth_every: every k-th azimuth (indices 1, 1+k, 1+2k, ...) is a novel
            angle of the training identities; 0 holds out none.
        image_size: side of an object patch in pixels (the canvas is twice as large).
        supersample: rendering oversampling factor (anti-aliasing).
        background: ``"plain"`` (one colour) or ``"textured"`` (procedural textures, S5).
        background_color: RGB of the plain background (and canvas).
        n_textures: number of procedural textures drawn for textured backgrounds.
        seed: seed of object parameters and textures.
        source: where the images come from (read by
            :func:`wmgeom.stimuli.load_stimuli`): ``"procedural"`` (the embedded objects,
            rendered); a folder of meshes ``<category>/<identity>/<file>`` (rendered); or an
            iWISDM stimulus folder, read as it is — recognised by its layout (split folders
            ``train``/``val``/``test``, each with a CSV whose name contains the split and
            ``<ref>/image.png`` folders; any subset of the splits) or named explicitly as
            ``"iwisdm:<folder>"``. For an iWISDM folder only ``image_size`` (images are
            resized to it) and ``categories`` (a subset of the folder's category names)
            apply; splits, identities and angles come from its CSVs.
        up_axis: the up axis of meshes in a ``source`` folder (``"y"`` for ShapeNet/glTF).
    """

    categories: list[str] | None = None
    n_train_identities: int = Field(2, ge=1)
    n_heldout_identities: int = Field(1, ge=0)
    azimuths: list[float] | int = 24
    elevations: list[float] | int = Field(default_factory=lambda: [0.0, 15.0, 30.0])
    heldout_azimuth_every: int = Field(3, ge=0)
    image_size: int = Field(112, ge=16, le=512)
    supersample: int = Field(2, ge=1, le=4)
    background: Literal["plain", "textured"] = "plain"
    background_color: tuple[int, int, int] = (128, 128, 128)
    n_textures: int = Field(16, ge=1)
    seed: Seed = 0
    source: str = "procedural"
    up_axis: Literal["y", "z"] = "y"

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if validating():  # a section of a run config: the run config names the key
                raise
            raise ArgumentError(format_validation_error(exc, "stimulus config")) from None

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, v):
        if v is None:
            return v
        if not v:
            raise ValueError("needs at least one category (or null for the default)")
        if len(set(v)) != len(v):
            raise ValueError(f"lists a category twice: {v}")
        return v

    @field_validator("azimuths", "elevations")
    @classmethod
    def _check_angles(cls, v, info):
        if isinstance(v, int):
            if v < 1:
                raise ValueError("a count of angles must be at least 1")
            return v
        if not v:
            raise ValueError("needs at least one angle")
        if len(set(v)) != len(v):
            raise ValueError("lists an angle twice")
        if info.field_name == "elevations" and any(abs(e) >= 90 for e in v):
            raise ValueError("elevations must lie strictly between -90 and 90 degrees")
        return v

    @field_validator("source")
    @classmethod
    def _check_source(cls, v: str) -> str:
        if not v.strip():  # an empty path would read the working directory as meshes
            raise ValueError("give 'procedural', a folder of meshes or an iWISDM folder")
        return v

    @field_validator("background_color")
    @classmethod
    def _check_colour(cls, v):
        if any(not 0 <= c <= 255 for c in v):
            raise ValueError("colour channels must lie in 0..255")
        return v

    @model_validator(mode="after")
    def _check_consistency(self):
        if self.source == "procedural" and self.categories is not None:
            unknown = [c for c in self.categories if c not in CATEGORIES]
            if unknown:
                raise ValueError(
                    f"unknown stimulus categor{'y' if len(unknown) == 1 else 'ies'} "
                    f"{', '.join(map(repr, unknown))}; choose from {', '.join(CATEGORIES)}"
                )
        k = self.heldout_azimuth_every
        if k == 1:
            raise ValueError("heldout_azimuth_every = 1 would hold out every azimuth; use 0 "
                             "(none) or at least 2")
        if k and len(self.azimuth_values()) < 2:
            raise ValueError("holding out azimuths needs at least 2 azimuths; add azimuths or "
                             "set heldout_azimuth_every to 0")
        return self

    def azimuth_values(self) -> np.ndarray:
        """Azimuths in degrees."""
        if isinstance(self.azimuths, int):
            return np.arange(self.azimuths) * (360.0 / self.azimuths)
        return np.asarray(self.azimuths, float)

    def elevation_values(self) -> np.ndarray:
        """Elevations in degrees."""
        if isinstance(self.elevations, int):
            return np.linspace(0.0, 30.0, self.elevations) if self.elevations > 1 else np.array(
                [15.0])
        return np.asarray(self.elevations, float)

    def heldout_azimuth(self) -> np.ndarray:
        """Boolean mask over azimuths: True where the azimuth is a novel (val_angle) view."""
        idx = np.arange(len(self.azimuth_values()))
        k = self.heldout_azimuth_every
        return (idx % k == 1) if k else np.zeros(len(idx), bool)


@dataclass
class StimulusSet:
    """Object images with their labels, and the canvases made of them (docs/design.md).

    Attributes:
        table: one row per object image (the row is the *image index*); columns
            ``category, category_name, identity, identity_name, angle, azimuth, elevation,
            split``.
        images: uint8 ``[n_images, S, S, 3]`` object patches (S = 112 by default), the
            object over the plain colour or, for textured sets, over the centre of the
            image's texture.
        key: content hash of the parameters (or files) the set was made from.
        alpha: optional uint8 ``[n_images, S, S]`` object coverage.
        foreground: optional uint8 ``[n_images, S, S, 3]`` object colour over black.
        textures: optional uint8 ``[n_textures, 2S, 2S, 3]`` canvas backgrounds (S5); a
            textured canvas is the image's texture with the object composited at its
            location.
        background_index: optional ``[n_images]`` texture of each image's canvases.
        background_color: RGB of a plain canvas.
        config: the configuration it was rendered from, if any.
    """

    table: pd.DataFrame
    images: np.ndarray
    key: str
    alpha: np.ndarray | None = None
    foreground: np.ndarray | None = None
    textures: np.ndarray | None = None
    background_index: np.ndarray | None = None
    background_color: tuple[int, int, int] = (128, 128, 128)
    config: StimulusConfig | None = field(default=None, repr=False)

    #: Locations on the canvas: a 2×2 grid, ordered top-left, top-right, bottom-left,
    #: bottom-right (:data:`LOCATION_NAMES`).
    n_locations = 4

    def __len__(self) -> int:
        return len(self.table)

    @property
    def categories(self) -> list[str]:
        """Category names, indexed by the ``category`` code."""
        pairs = self.table[["category", "category_name"]].drop_duplicates().sort_values("category")
        return pairs["category_name"].tolist()

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits that hold at least one image, in :data:`~wmgeom.tasks.vocabulary.SPLITS` order.

        A rendered set has all three unless it holds out no identity; an iWISDM folder
        may have only some (e.g. ``train`` and ``val``: no ``val_identity``).
        """
        present = set(self.table["split"].astype(str))
        return tuple(s for s in SPLITS if s in present)

    @property
    def patch_size(self) -> int:
        return int(self.images.shape[1])

    @property
    def canvas_size(self) -> int:
        """Side of the canvas: two patches (224 for 112-pixel patches)."""
        return 2 * self.patch_size

    def location_origins(self) -> np.ndarray:
        """Top-left pixel ``(row, col)`` of each location's patch, ``[4, 2]``.

        Patch centres are at ``S/2`` and ``3S/2`` (56 and 168 px on the 224 canvas).
        """
        s = self.patch_size
        return np.array([[0, 0], [0, s], [s, 0], [s, s]])

    def split_indices(self, split: str) -> np.ndarray:
        """Image indices of one split (``train``, ``val_angle`` or ``val_identity``)."""
        if split not in SPLITS:
            raise WmgeomError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        return np.flatnonzero(self.table["split"].to_numpy() == split)

    def canvas(self, image, location) -> np.ndarray:
        """Place object images on canvases (the 2×2 grid of iWISDM), vectorised over arrays.

        Args:
            image: image indices (any shape).
            location: location indices 0..3 (top-left, top-right, bottom-left,
                bottom-right), broadcast against ``image``.

        Returns:
            uint8 ``[*shape, 2S, 2S, 3]`` canvases (224×224 for 112-pixel patches).
        """
        image, location = np.broadcast_arrays(np.asarray(image), np.asarray(location))
        shape = image.shape
        img, loc = image.ravel().astype(np.int64), location.ravel().astype(np.int64)
        n_img = len(self.images)
        if img.size and (img.min() < -n_img or img.max() >= n_img):
            raise WmgeomError(f"image index out of range: the set has {n_img} images")
        if loc.size and (loc.min() < 0 or loc.max() >= self.n_locations):
            raise WmgeomError(f"location must be in 0..{self.n_locations - 1}, got "
                              f"{loc.min()}..{loc.max()}")
        s, c = self.patch_size, self.canvas_size
        textured = self.textures is not None and self.background_index is not None
        if textured:
            out = self.textures[self.background_index[img]]
        else:
            out = np.empty((len(img), c, c, 3), np.uint8)
            out[:] = np.asarray(self.background_color, np.uint8)
        for k, (r0, c0) in enumerate(self.location_origins()):
            sel = np.flatnonzero(loc == k)
            if not len(sel):
                continue
            if textured and self.alpha is not None and self.foreground is not None:
                region = out[sel, r0:r0 + s, c0:c0 + s]
                out[sel, r0:r0 + s, c0:c0 + s] = composite(
                    self.foreground[img[sel]], self.alpha[img[sel]], region)
            else:
                out[sel, r0:r0 + s, c0:c0 + s] = self.images[img[sel]]
        return out.reshape(*shape, c, c, 3)


# ----------------------------------------------------------------------------- building


def _resolved_categories(config: StimulusConfig) -> list[str]:
    if config.categories is not None:
        return list(config.categories)
    if config.source == "procedural":
        return list(DEFAULT_CATEGORIES)
    return [d.name for d in category_dirs(Path(config.source))]


def stimulus_table(config: StimulusConfig, categories: list[str],
                   identity_names: list[list[str]]) -> pd.DataFrame:
    """The table of a rendered set: objects (category-major) × angles (elevation-major)."""
    views = view_grid(config.azimuth_values(), config.elevation_values())
    n_az = len(config.azimuth_values())
    heldout_angle = np.tile(config.heldout_azimuth(), len(views) // n_az)
    n_train = config.n_train_identities
    cat, names, is_train = [], [], []
    for c, ids in enumerate(identity_names):
        cat += [c] * len(ids)
        names += ids
        is_train += [j < n_train for j in range(len(ids))]
    n_obj, n_views = len(names), len(views)
    obj = np.repeat(np.arange(n_obj), n_views)
    angle = np.tile(np.arange(n_views), n_obj)
    train_obj = np.asarray(is_train)[obj]
    split = np.where(~train_obj, "val_identity", np.where(heldout_angle[angle], "val_angle",
                                                          "train"))
    cat_arr = np.asarray(cat)[obj]
    return typed_table(pd.DataFrame({
        "category": cat_arr.astype(np.int64),
        "category_name": np.asarray(categories, dtype=object)[cat_arr],
        "identity": obj.astype(np.int64),
        "identity_name": np.asarray(names, dtype=object)[obj],
        "angle": angle.astype(np.int64),
        "azimuth": views[angle, 0],
        "elevation": views[angle, 1],
        "split": split.astype(object),
    }))


def _procedural_meshes(config: StimulusConfig, categories: list[str]):
    n = config.n_train_identities + config.n_heldout_identities
    names = [[f"{c}_{j}" for j in range(n)] for c in categories]
    meshes = [make_object(c, j, config.seed) for c in categories for j in range(n)]
    return names, meshes


@functools.cache
def _code_version() -> str:
    """Hash of the code that makes pixels, so a change of geometry invalidates caches."""
    from wmgeom.stimuli import render, shapes

    digest = hashlib.sha256()
    for module in (shapes, render):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _key(config: StimulusConfig) -> str:
    params = {"config": config.model_dump(mode="json"), "version": RENDER_VERSION,
              "code": _code_version()}
    if config.source != "procedural":
        params["files"] = folder_fingerprint(Path(config.source), _resolved_categories(config))
    return content_key(params)


def render_stimulus_set(config: StimulusConfig, progress: bool = True) -> StimulusSet:
    """Build and render the set described by ``config`` (no cache; see :func:`load_or_render`)."""
    categories = _resolved_categories(config)
    if config.source == "procedural":
        names, meshes = _procedural_meshes(config, categories)
    else:
        names, meshes = folder_meshes(
            Path(config.source), categories,
            config.n_train_identities + config.n_heldout_identities, config.up_axis)
    table = stimulus_table(config, categories, names)
    views = view_grid(config.azimuth_values(), config.elevation_values())
    with progress_bar(len(meshes), "rendering objects", "obj", enabled=progress) as bar:
        foreground, alpha = render_objects(meshes, views, config.image_size, config.supersample,
                                           progress=bar.update)
    _refuse_blank_views(alpha, [n for group in names for n in group], views, config.source)
    return _assemble(config, table, foreground, alpha, _key(config))


def _refuse_blank_views(alpha: np.ndarray, names: list[str], views: np.ndarray,
                        source: str) -> None:
    """Refuse a set in which a mesh renders as an empty image (nothing cached).

    Raises:
        WmgeomError: Naming the mesh, a view, and how many of its views are blank.
    """
    blank = alpha.reshape(len(names), len(views), -1).max(axis=2) == 0
    if blank.any():
        o, v = np.argwhere(blank)[0]
        where = "" if source == "procedural" else f" of {source}"
        raise WmgeomError(f"mesh {names[o]}{where} renders as a blank image (azimuth "
                          f"{views[v, 0]:g}°, elevation {views[v, 1]:g}°; {int(blank[o].sum())} "
                          f"of {len(views)} views blank); fix or remove it")


def _assemble(config: StimulusConfig, table: pd.DataFrame, foreground: np.ndarray,
              alpha: np.ndarray, key: str) -> StimulusSet:
    s = config.image_size
    textures = background_index = None
    if config.background == "textured":
        textures = procedural_textures(config.n_textures, 2 * s, config.seed)
        rng = np.random.default_rng([config.seed, 11])
        background_index = rng.integers(config.n_textures, size=len(table))
        patch_bg = textures[background_index, s // 2:s // 2 + s, s // 2:s // 2 + s]
    else:
        patch_bg = np.asarray(config.background_color, np.uint8)
    images = composite(foreground, alpha, patch_bg)
    return StimulusSet(table=table, images=images, key=key, alpha=alpha, foreground=foreground,
                       textures=textures, background_index=background_index,
                       background_color=tuple(config.background_color), config=config)


def load_or_render(config: StimulusConfig | None = None, cache_dir: str | os.PathLike | None = None,
                   progress: bool = True) -> StimulusSet:
    """The stimulus set of ``config``, from the disk cache or rendered once and cached.

    The cache lives in ``cache_dir`` (default ``cache_root()/stimuli``) under the set's
    key, a hash of every parameter; it is written atomically. An entry that cannot be read,
    or whose files do not match the sizes and checksums its ``meta.json`` records, is
    reported in one logged warning and rendered again.

    Args:
        config: the set's parameters (default: :class:`StimulusConfig` defaults).
        cache_dir: folder holding cached sets.
        progress: show a progress bar while rendering.
    """
    config = config or StimulusConfig()
    key = _key(config)
    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "stimuli"
    cache = ContentCache(folder, "stimulus cache", "rendering it again", CACHE_FILES, log)
    stimset = cache.get(key, lambda path, _meta: _load_cached(path, config, key))
    if stimset is not None:
        return stimset
    stimset = render_stimulus_set(config, progress=progress)

    def write(tmp: Path) -> dict:
        np.savez(tmp / "arrays.npz", foreground=stimset.foreground, alpha=stimset.alpha)
        stimset.table.to_csv(tmp / "table.csv", index=False)
        (tmp / "config.json").write_text(json.dumps(config.model_dump(mode="json"), indent=2))
        return {"version": RENDER_VERSION, "n_images": len(stimset)}

    cache.put(key, write)
    return stimset


def _load_cached(path: Path, config: StimulusConfig, key: str) -> StimulusSet:
    with np.load(path / "arrays.npz") as arrays:
        foreground, alpha = arrays["foreground"], arrays["alpha"]
    table = read_table(path / "table.csv")
    s = config.image_size
    if foreground.shape != (len(table), s, s, 3) or alpha.shape != (len(table), s, s):
        raise ValueError(f"arrays {foreground.shape}, {alpha.shape} do not fit {len(table)} rows")
    return _assemble(config, table, foreground, alpha, key)


def read_table(path: Path) -> pd.DataFrame:
    """Read a stimulus table written by ``DataFrame.to_csv`` with the design's dtypes."""
    table = pd.read_csv(path, dtype={"category_name": str, "identity_name": str, "split": str})
    return typed_table(table)


def typed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table's columns in design order with one dtype each (ints, floats, strings)."""
    out = table[list(TABLE_COLUMNS)].copy()
    for c in ("category", "identity", "angle"):
        out[c] = out[c].astype(np.int64)
    for c in ("azimuth", "elevation"):
        out[c] = out[c].astype(np.float64)
    for c in ("category_name", "identity_name", "split"):
        out[c] = out[c].astype(str)
    return out.reset_index(drop=True)


def load_mesh_folder(root: str | os.PathLike, config: StimulusConfig | None = None,
                     cache_dir: str | os.PathLike | None = None,
                     progress: bool = True) -> StimulusSet:
    """Render a folder of user meshes laid out as ``<category>/<identity>/<file>``.

    Identities are taken in sorted order: the first ``n_train_identities`` train, the next
    ``n_heldout_identities`` are held out (see :mod:`wmgeom.stimuli.meshes`). Rendering and
    caching follow :func:`load_or_render` with ``source`` set to ``root``.
    """
    base = (config or StimulusConfig()).model_dump()
    base["source"] = str(Path(root).resolve())
    return load_or_render(StimulusConfig(**base), cache_dir=cache_dir, progress=progress)
