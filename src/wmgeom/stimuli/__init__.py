"""Stimuli: procedural 3D objects, user meshes, renders, splits, canvases and iWISDM I/O (SPEC S1–S5).

``load_or_render(StimulusConfig())`` gives the default set (4 categories × 3 identities ×
72 view angles), rendered once and then read from the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from wmgeom.io import atomic_path
from wmgeom.stimuli.contact_sheet import contact_sheet
from wmgeom.stimuli.iwisdm import _check_target, export_iwisdm, read_iwisdm, write_iwisdm
from wmgeom.stimuli.shapes import CATEGORIES, DEFAULT_CATEGORIES, make_object
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
    README) and ``contact_sheet.png``; the folder appears complete or not at all.
    """
    out = Path(out)
    stimset = load_or_render(config or StimulusConfig(), progress=progress)
    _check_target(out)
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
    "load_mesh_folder",
    "load_or_render",
    "make_object",
    "read_iwisdm",
    "render_to_folder",
]
