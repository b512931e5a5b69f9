"""Folders of user meshes laid out as ``<category>/<identity>/<mesh file>``.

Files may be OBJ, GLB/glTF, OFF, PLY or STL anywhere below the identity folder, so
ShapeNetCore's ``<synset>/<model>/models/model_normalized.obj`` works. A mesh folder is a
``stimuli.source``: :func:`wmgeom.stimuli.load_or_render` renders it like the procedural
objects and caches the result under a key that includes every file's size and time stamp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wmgeom.errors import WmgeomError
from wmgeom.stimuli.shapes import normalize_mesh

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".off", ".ply", ".stl")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

__all__ = ["MESH_SUFFIXES", "category_dirs", "folder_fingerprint", "folder_meshes", "read_mesh"]


def category_dirs(root: Path) -> list[Path]:
    """The category folders of a mesh folder, sorted by name.

    Raises:
        WmgeomError: If the folder is missing or holds no category folder.
    """
    if not root.is_dir():
        raise WmgeomError(f"mesh folder {root} does not exist; point source at a folder laid "
                          "out as <category>/<identity>/<mesh file>")
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not dirs:
        raise WmgeomError(f"mesh folder {root} is empty; it needs <category>/<identity>/<mesh "
                          f"file> with files ending in {', '.join(MESH_SUFFIXES)}")
    return dirs


def folder_fingerprint(root: Path, categories: list[str]) -> list:
    """Relative path, size and modification time of every file of the given categories."""
    out = []
    for c in categories:
        for f in sorted((root / c).rglob("*")):
            if f.is_file():
                st = f.stat()
                out.append([str(f.relative_to(root)), st.st_size, st.st_mtime_ns])
    return out


def folder_meshes(root: Path, categories: list[str], n_identities: int,
                  up_axis: str = "y") -> tuple[list[list[str]], list]:
    """Identity names and normalised meshes of a user mesh folder, category-major.

    Identities are taken in sorted folder order, the first ``n_identities`` of each
    category; identity names are ``<category>/<folder>``.

    Raises:
        WmgeomError: If a category folder is missing, holds too few identities, or an
            identity folder holds no mesh file.
    """
    dirs = {d.name: d for d in category_dirs(root)}
    missing = [c for c in categories if c not in dirs]
    if missing:
        raise WmgeomError(f"mesh folder {root} has no category folder(s) {', '.join(missing)}; "
                          f"it has {', '.join(dirs)}")
    names, meshes = [], []
    for c in categories:
        ids = sorted(d for d in dirs[c].iterdir() if d.is_dir() and not d.name.startswith("."))
        if len(ids) < n_identities:
            raise WmgeomError(
                f"category {c} in {root} has {len(ids)} identity folder(s) but the config "
                f"needs {n_identities} (n_train_identities + n_heldout_identities); add meshes "
                "or lower them"
            )
        names.append([f"{c}/{d.name}" for d in ids[:n_identities]])
        for d in ids[:n_identities]:
            files = sorted(f for f in d.rglob("*") if f.suffix.lower() in MESH_SUFFIXES)
            if not files:
                images = any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.rglob("*"))
                hint = ("; it holds images — an iWISDM folder needs its train/val/test split "
                        "folders (each with <ref>/image.png and a CSV naming the split) at the "
                        "top of stimuli.source, or name it iwisdm:<folder>") if images else \
                    "; add one or remove the folder"
                raise WmgeomError(f"identity folder {d} holds no mesh file "
                                  f"({', '.join(MESH_SUFFIXES)}){hint}")
            meshes.append(normalize_mesh(read_mesh(files[0], up_axis)))
    return names, meshes


def check_vertices(vertices: np.ndarray, name: str) -> None:
    """Refuse vertices that cannot be centred and scaled into an image: NaN or infinite
    coordinates, all at one point, or spread too wide for floating point.

    Raises:
        WmgeomError: Naming the mesh and the fix.
    """
    if not np.isfinite(vertices).all():
        raise WmgeomError(f"mesh {name} has NaN or infinite vertex coordinates; fix or remove "
                          "it")
    with np.errstate(over="ignore", invalid="ignore"):
        span = vertices.max(axis=0) - vertices.min(axis=0)
        centre = (vertices.max(axis=0) + vertices.min(axis=0)) / 2
    if not (np.isfinite(span).all() and np.isfinite(centre).all()):
        raise WmgeomError(f"mesh {name} has coordinates too large to scale (up to "
                          f"{np.abs(vertices).max():.3g}); rescale it or remove it")
    if span.max() <= 1e-12 * max(1.0, float(np.abs(centre).max())):
        raise WmgeomError(f"mesh {name} has all its vertices at one point; it cannot be "
                          "rendered: fix or remove it")


def read_mesh(path: Path, up_axis: str = "y"):
    """A user mesh as one face-coloured, z-up trimesh (textures sampled to face colours)."""
    import trimesh

    try:
        with np.errstate(all="ignore"):  # huge coordinates are refused below, in words
            mesh = trimesh.load(path, force="mesh")
    except ImportError:  # trimesh guessing the text encoding of binary garbage
        raise WmgeomError(f"cannot read mesh {path}: it is not a {path.suffix} mesh file "
                          "(binary data where text was expected); replace or remove it") from None
    except Exception as exc:  # trimesh raises many types for bad files
        raise WmgeomError(f"cannot read mesh {path} ({exc}); replace or remove it") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise WmgeomError(f"mesh {path} has no faces; replace or remove it")
    check_vertices(np.asarray(mesh.vertices, float), str(path))
    faces = np.asarray(mesh.faces)
    try:
        visual = mesh.visual
        if visual.kind == "texture":  # sample the texture at the vertices
            colors = np.asarray(visual.to_color().vertex_colors, float)[faces].mean(axis=1)
        elif visual.kind == "vertex":
            colors = np.asarray(visual.vertex_colors, float)[faces].mean(axis=1)
        else:
            colors = np.asarray(visual.face_colors, float)
        colors = np.rint(colors).astype(np.int64)
    except Exception:  # unusual materials: fall back to a neutral grey
        colors = np.full((len(mesh.faces), 4), 180)
    if len(colors) != len(mesh.faces):
        colors = np.full((len(mesh.faces), 4), 180)
    colors[:, :3] = np.minimum((colors[:, :3] // 32) * 32 + 16, 255)  # few colour groups
    colors[:, 3] = 255
    vertices = np.asarray(mesh.vertices, float)
    if up_axis == "y":
        vertices = np.stack([vertices[:, 0], -vertices[:, 2], vertices[:, 1]], axis=1)
    out = trimesh.Trimesh(vertices, np.asarray(mesh.faces), process=False)
    out.visual = trimesh.visual.ColorVisuals(out, face_colors=colors.astype(np.uint8))
    return out
