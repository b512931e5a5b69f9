"""Stimuli: procedural 3D objects, user meshes, renders, splits, canvases and iWISDM I/O.

``load_stimuli(StimulusConfig())`` gives the default set (4 categories × 3 identities ×
72 view angles), rendered once and then read from the cache; with ``source`` set to a mesh
folder it renders those meshes, and with an iWISDM folder it reads its images
(:mod:`wmgeom.stimuli.sources`).
"""

from __future__ import annotations

import os
from pathlib import Path

from wmgeom.io import atomic_path
from wmgeom.stimuli.contact_sheet import contact_sheet
from wmgeom.stimuli.iwisdm import _check_target, export_iwisdm, read_iwisdm, write_iwisdm
from wmgeom.stimuli.shapes import CATEGORIES, DEFAULT_CATEGORIES, make_object
from wmgeom.stimuli.sources import is_iwisdm_folder, load_stimuli
from wmgeom.stimuli.stimset import (
    LOCATION_NAMES,
    StimulusConfig,
    StimulusSet,
    load_mesh_folder,
    load_or_render,
)


def render_to_folder(out: str | os.PathLike, config: StimulusConfig | None = None,
                     progress: bool = True) -> StimulusSet:
    """Render (or load from the cache) a set and write it to ``out`` for people and iWISDM.

    ``out`` receives the iWISDM layout (``train``/``val``/``test`` folders, CSVs and a
    README) and ``contact_sheet.png``; the folder appears complete or not at all. Any
    ``source`` works (:func:`load_stimuli`), so an iWISDM folder can be re-exported at
    another ``image_size`` or with fewer ``categories``.
    """
    out = Path(out)
    _check_target(out)  # before rendering
    stimset = load_stimuli(config or StimulusConfig(), progress=progress)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        write_iwisdm(stimset, tmp)
        contact_sheet(stimset, tmp / "contact_sheet.png")
    return stimset


__all__ = [
    "CATEGORIES",
    "DEFAULT_CATEGORIES",
    "LOCATION_NAMES",
    "StimulusConfig",
    "StimulusSet",
    "contact_sheet",
    "export_iwisdm",
    "is_iwisdm_folder",
    "load_mesh_folder",
    "load_or_render",
    "load_stimuli",
    "make_object",
    "read_iwisdm",
    "render_to_folder",
]
