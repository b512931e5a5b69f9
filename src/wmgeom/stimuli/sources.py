"""Every kind of ``stimuli.source`` behind one function, :func:`load_stimuli`.

``StimulusConfig.source`` names where the images come from:

- ``"procedural"``: the embedded objects, rendered and cached (:func:`load_or_render`);
- a folder of meshes ``<category>/<identity>/<mesh file>``: rendered and cached like the
  procedural objects (:func:`load_or_render`, :mod:`wmgeom.stimuli.meshes`);
- an iWISDM stimulus folder, read as it is (:func:`~wmgeom.stimuli.iwisdm.read_iwisdm`).
  It is recognised by its layout — at least one split folder ``train``, ``val`` or
  ``test`` holding a CSV whose name contains the split, or ``<ref>/image.png`` folders
  with no mesh — or named explicitly as ``"iwisdm:<folder>"``. Any subset of the splits
  may be present (``splits`` of the returned set lists them); ``image_size`` resizes its
  images and ``categories`` selects some of its categories by name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wmgeom.errors import WmgeomError
from wmgeom.io import content_key
from wmgeom.stimuli.iwisdm import SPLIT_FOLDERS, read_iwisdm
from wmgeom.stimuli.meshes import MESH_SUFFIXES
from wmgeom.stimuli.stimset import StimulusConfig, StimulusSet, load_or_render, typed_table

#: The prefix that names an iWISDM folder explicitly: ``iwisdm:<folder>``.
IWISDM_PREFIX = "iwisdm:"

__all__ = ["IWISDM_PREFIX", "is_iwisdm_folder", "load_stimuli", "select_categories",
           "source_kind"]


def _looks_like_iwisdm_split(root: Path, name: str) -> bool:
    folder = root / name
    if not folder.is_dir():
        return False
    if any(name in f.name for f in folder.glob("*.csv")):
        return True
    for child in folder.iterdir():
        if child.is_dir() and (child / "image.png").is_file():
            return not any(f.suffix.lower() in MESH_SUFFIXES for f in child.rglob("*"))
    return False


def is_iwisdm_folder(root: str | os.PathLike) -> bool:
    """Whether ``root`` is laid out as an iWISDM stimulus folder (see the module docstring).

    A mesh folder whose categories happen to be called ``train``/``val``/``test`` is not
    taken for one: its identity folders hold mesh files and no split CSV.
    """
    root = Path(root)
    return root.is_dir() and any(_looks_like_iwisdm_split(root, name)
                                 for name in SPLIT_FOLDERS.values())


def source_kind(source: str) -> tuple[str, Path | None]:
    """``("procedural", None)``, ``("iwisdm", folder)`` or ``("meshes", folder)``.

    Raises:
        WmgeomError: If ``source`` names a folder that does not exist.
    """
    if source == "procedural":
        return "procedural", None
    if source.startswith(IWISDM_PREFIX):
        return "iwisdm", Path(source[len(IWISDM_PREFIX):]).expanduser()
    path = Path(source).expanduser()
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise WmgeomError(
            f"stimulus source {path} {what}; set stimuli.source to 'procedural', to a folder "
            "of meshes (<category>/<identity>/<mesh file>) or to an iWISDM folder "
            "(<split>/<ref>/image.png plus a CSV per split; or iwisdm:<folder>)")
    return ("iwisdm" if is_iwisdm_folder(path) else "meshes"), path


def load_stimuli(config: StimulusConfig | None = None,
                 cache_dir: str | os.PathLike | None = None,
                 progress: bool = True) -> StimulusSet:
    """The stimulus set of ``config``, whatever its ``source``.

    Args:
        config: the set's parameters (default: :class:`StimulusConfig` defaults).
        cache_dir: folder of cached renders (procedural and mesh sources).
        progress: show a progress bar while rendering or reading images.

    Returns:
        A :class:`StimulusSet`; ``stimset.splits`` lists the splits it holds (an iWISDM
        folder may lack ``val_identity``, or ``val_angle``).
    """
    config = config or StimulusConfig()
    kind, path = source_kind(config.source)
    if kind != "iwisdm":
        return load_or_render(config, cache_dir=cache_dir, progress=progress)
    stimset = read_iwisdm(path, image_size=config.image_size, progress=progress)
    if config.categories is not None:
        stimset = select_categories(stimset, config.categories, where=str(path))
    return stimset


def select_categories(stimset: StimulusSet, categories: list[str],
                      where: str = "the stimulus set") -> StimulusSet:
    """The images of some categories (by name, in the given order), relabelled from 0.

    Category codes follow ``categories``; identities are renumbered in their old order.

    Raises:
        WmgeomError: If a name is not a category of the set.
    """
    present = stimset.categories
    unknown = [c for c in categories if c not in present]
    if unknown:
        raise WmgeomError(
            f"stimuli.categories {', '.join(map(repr, unknown))} not in {where}; it has "
            f"{', '.join(present)} (or set categories to null for all of them)")
    names = stimset.table["category_name"].astype(str).to_numpy()
    keep = np.flatnonzero(np.isin(names, categories))
    table = stimset.table.iloc[keep].copy()
    order = {c: k for k, c in enumerate(categories)}
    table["category"] = table["category_name"].map(order).astype(np.int64)
    _, identity = np.unique(table["identity"].to_numpy(), return_inverse=True)
    table["identity"] = identity.ravel().astype(np.int64)
    return StimulusSet(table=typed_table(table), images=stimset.images[keep],
                       key=content_key({"base": stimset.key, "categories": list(categories)}),
                       background_color=stimset.background_color)
