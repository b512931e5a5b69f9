"""Headless CPU rendering of object meshes from a grid of view angles.

Meshes are drawn by pybullet's TinyRenderer in DIRECT mode (no GL libraries, no
display): each group of faces of one colour becomes a visual shape built from the
mesh's arrays in memory, the camera orbits the object on an azimuth × elevation grid,
and a directional light follows the camera (from above its left shoulder), so every view
is lit alike. Images are rendered ``supersample`` times larger and box-filtered down,
which anti-aliases edges; the segmentation mask gives a soft alpha.

Outputs are a *foreground* (object colour premultiplied by alpha, i.e. the object over
black) and an *alpha* coverage map, so any background can be composited afterwards
(:func:`composite`): plain, or procedural textures (:func:`procedural_textures`; Lei
et al. 2024, Fig. A6a, overlay objects on synthesized natural textures).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.sparse as sp
import trimesh
from scipy import ndimage

#: Vertical field of view of the camera, degrees.
FOV_DEG = 30.0
#: Fraction of the patch's half-width that a unit-diameter object's bounding sphere spans.
FILL = 0.98


def view_grid(azimuths: Sequence[float], elevations: Sequence[float]) -> np.ndarray:
    """All (azimuth, elevation) pairs, elevation-major: angle ``k = e * n_az + a``.

    Returns:
        float array ``[n_angles, 2]`` in degrees.
    """
    az, el = np.meshgrid(np.asarray(azimuths, float), np.asarray(elevations, float))
    return np.stack([az.ravel(), el.ravel()], axis=-1)


def camera_direction(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """Unit vector from the object to the camera; azimuth 0 looks at the object's front (+x)."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], axis=-1)


def smooth_normals(vertices: np.ndarray, faces: np.ndarray,
                   crease_deg: float = 35.0) -> np.ndarray:
    """Per-corner normals: area-weighted average over faces sharing the vertex within a crease.

    Curved parts (cylinders, spheres, lofts) shade smoothly while box edges stay sharp.

    Returns:
        float array ``[n_faces, 3, 3]``.
    """
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    fn = cross / np.maximum(area, 1e-12)[:, None]
    m, nv = len(faces), len(vertices)
    corner_vertex = faces.ravel()
    corners = sp.csr_matrix((np.ones(3 * m), (np.arange(3 * m), corner_vertex)), shape=(3 * m, nv))
    incidence = sp.csr_matrix((np.ones(3 * m), (corner_vertex, np.repeat(np.arange(m), 3))),
                              shape=(nv, m))
    pairs = (corners @ incidence).tocoo()
    rows, cols = pairs.row, pairs.col
    keep = np.einsum("ij,ij->i", fn[rows // 3], fn[cols]) > np.cos(np.radians(crease_deg))
    out = np.zeros((3 * m, 3))
    np.add.at(out, rows[keep], fn[cols[keep]] * area[cols[keep], None])
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(norm > 1e-12, out / np.maximum(norm, 1e-12), np.repeat(fn, 3, axis=0))
    return out.reshape(m, 3, 3)


def color_groups(mesh: trimesh.Trimesh) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Split a face-coloured mesh into (vertices, normals, rgba) per distinct colour.

    Vertices are unshared (three per face) so normals can be per corner.
    """
    vertices = np.asarray(mesh.vertices, float)
    faces = np.asarray(mesh.faces)
    normals = smooth_normals(vertices, faces)
    colors = np.asarray(mesh.visual.face_colors)[:, :4]
    unique, inverse = np.unique(colors, axis=0, return_inverse=True)
    groups = []
    for k, rgba in enumerate(unique):
        sel = inverse.ravel() == k
        groups.append((vertices[faces[sel]].reshape(-1, 3), normals[sel].reshape(-1, 3),
                       rgba / 255.0))
    return groups


def render_views(
    mesh: trimesh.Trimesh,
    views: np.ndarray,
    image_size: int = 112,
    supersample: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``mesh`` from every (azimuth, elevation) in ``views`` with TinyRenderer.

    The camera looks at the origin from a distance at which a sphere of diameter 1 (a
    normalised object, :func:`wmgeom.stimuli.shapes.normalize_mesh`) fills the patch.

    Args:
        mesh: face-coloured mesh, z-up, unit diameter around the origin.
        views: ``[n_views, 2]`` azimuth, elevation in degrees (:func:`view_grid`).
        image_size: side of the output patch in pixels.
        supersample: render this many times larger, then average down.

    Returns:
        ``(foreground, alpha)``: uint8 ``[n_views, S, S, 3]`` premultiplied colour and
        uint8 ``[n_views, S, S]`` coverage.
    """
    import pybullet as p

    big = image_size * supersample
    client = p.connect(p.DIRECT)
    try:
        for vertices, normals, rgba in color_groups(mesh):
            shape = p.createVisualShape(
                p.GEOM_MESH, vertices=vertices.tolist(), indices=list(range(len(vertices))),
                normals=normals.tolist(), rgbaColor=rgba.tolist(), physicsClientId=client,
            )
            p.createMultiBody(baseVisualShapeIndex=shape, physicsClientId=client)
        distance = 0.5 / np.sin(np.radians(FOV_DEG / 2)) / FILL
        proj = p.computeProjectionMatrixFOV(FOV_DEG, 1.0, distance - 1.0, distance + 1.0)
        eye_dirs = camera_direction(views[:, 0], views[:, 1])
        s, ss = image_size, supersample
        fg = np.empty((len(views), s, s, 3), np.uint8)
        alpha = np.empty((len(views), s, s), np.uint8)
        for k, eye in enumerate(eye_dirs):
            up = [0.0, 0.0, 1.0] if abs(eye[2]) < 0.99 else [-eye[0], -eye[1], 0.0]
            view = p.computeViewMatrix((eye * distance).tolist(), [0, 0, 0], up)
            right = np.cross(eye, [0.0, 0.0, 1.0]) if abs(eye[2]) < 0.99 else np.array([0, 1.0, 0])
            light = eye + 0.8 * np.array([0, 0, 1.0]) - 0.5 * right
            _, _, px, _, seg = p.getCameraImage(
                big, big, view, proj, renderer=p.ER_TINY_RENDERER, shadow=0,
                lightDirection=light.tolist(), lightColor=[1, 1, 1], lightDistance=10,
                lightAmbientCoeff=0.55, lightDiffuseCoeff=0.55, lightSpecularCoeff=0.05,
                physicsClientId=client,
            )
            mask = np.reshape(seg, (big, big)) >= 0
            rgb = np.reshape(px, (big, big, 4))[..., :3].astype(np.uint32) * mask[..., None]
            fg[k] = (rgb.reshape(s, ss, s, ss, 3).sum((1, 3)) + ss * ss // 2) // (ss * ss)
            cover = mask.reshape(s, ss, s, ss).sum((1, 3)).astype(np.uint32)
            alpha[k] = (cover * 255 + ss * ss // 2) // (ss * ss)
    finally:
        p.disconnect(client)
    return fg, alpha


def _render_job(args):
    vertices, faces, colors, views, image_size, supersample = args
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, face_colors=colors)
    return render_views(mesh, views, image_size, supersample)


def render_objects(
    meshes: Sequence[trimesh.Trimesh],
    views: np.ndarray,
    image_size: int = 112,
    supersample: int = 2,
    workers: int | None = None,
    progress=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render every mesh from every view, in parallel over objects.

    Args:
        meshes: normalised face-coloured meshes.
        views: ``[n_views, 2]`` azimuth, elevation (degrees).
        image_size, supersample: as :func:`render_views`.
        workers: processes; default ``min(len(meshes), cpu count)``; 1 renders in-process.
        progress: optional callable invoked with the number of objects finished.

    Returns:
        ``(foreground [n_objects * n_views, S, S, 3], alpha [n_objects * n_views, S, S])``,
        object-major (row ``o * n_views + v``).
    """
    jobs = [(np.asarray(m.vertices), np.asarray(m.faces), np.asarray(m.visual.face_colors),
             np.asarray(views, float), image_size, supersample) for m in meshes]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(_render_job(job))
            if progress:
                progress(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for out in pool.map(_render_job, jobs):
                results.append(out)
                if progress:
                    progress(1)
    fg = np.concatenate([r[0] for r in results])
    alpha = np.concatenate([r[1] for r in results])
    return fg, alpha


#: Natural colours (foliage, bark, soil, stone, sand, sky, water) for textures.
NATURE = np.array([
    [0.22, 0.36, 0.14], [0.40, 0.52, 0.22], [0.45, 0.30, 0.18], [0.30, 0.20, 0.12],
    [0.52, 0.50, 0.47], [0.30, 0.30, 0.30], [0.76, 0.70, 0.50], [0.55, 0.68, 0.82],
    [0.20, 0.35, 0.45], [0.62, 0.42, 0.30], [0.85, 0.85, 0.80], [0.12, 0.14, 0.10],
])


def procedural_textures(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` natural-looking background textures, uint8 ``[n, size, size, 3]``.

    Kinds alternate between fractal noise (clouds, foliage, stone), oriented stripes
    with noise (wood, bark), and cells (pebbles), each blending two natural colours.
    """
    rng = np.random.default_rng([seed, 7])
    out = np.empty((n, size, size, 3), np.uint8)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for k in range(n):
        kind = k % 3
        noise = _fractal_noise(rng, size)
        if kind == 0:
            field = noise
        elif kind == 1:
            theta, freq = rng.uniform(0, np.pi), rng.uniform(4, 12)
            phase = (np.cos(theta) * xx + np.sin(theta) * yy) * freq + 2.5 * noise
            field = 0.5 + 0.5 * np.sin(2 * np.pi * phase)
        else:
            pts = rng.random((int(rng.integers(12, 40)), 2))
            d = np.linalg.norm(np.stack([xx, yy], -1)[:, :, None] - pts, axis=-1)
            d.sort(axis=-1)
            field = np.clip((d[..., 1] - d[..., 0]) * 8, 0, 1) * 0.7 + 0.3 * noise
        i, j = rng.choice(len(NATURE), size=2, replace=False)
        c0 = np.clip(NATURE[i] + rng.uniform(-0.06, 0.06, 3), 0, 1)
        c1 = np.clip(NATURE[j] + rng.uniform(-0.06, 0.06, 3), 0, 1)
        img = c0 + (c1 - c0) * field[..., None]
        out[k] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return out


def _fractal_noise(rng: np.random.Generator, size: int, octaves: int = 5) -> np.ndarray:
    field = np.zeros((size, size))
    total = 0.0
    for o in range(octaves):
        cells = 2 ** (o + 2)
        grid = rng.random((cells + 1, cells + 1))
        field += ndimage.zoom(grid, size / (cells + 1), order=3)[:size, :size] * 0.5 ** o
        total += 0.5 ** o
    field /= total
    return (field - field.min()) / max(np.ptp(field), 1e-9)


def composite(foreground: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Object over background: ``fg + (1 - alpha) * bg``, uint8, broadcasting over leading dims.

    Args:
        foreground: uint8 ``[..., H, W, 3]`` premultiplied colour.
        alpha: uint8 ``[..., H, W]`` coverage.
        background: uint8 ``[..., H, W, 3]`` or a colour ``[3]``.
    """
    a = alpha[..., None].astype(np.float32) / 255.0
    out = foreground.astype(np.float32) + (1.0 - a) * np.asarray(background, np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
