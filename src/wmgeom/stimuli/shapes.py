"""Procedural ShapeNet-like 3D objects.

Every category is a parametric family composed of primitives (boxes, cylinders, cones
and frusta, ellipsoids, lofted and extruded profiles). An *identity* is one seeded draw
of the family's parameters: proportions, part presence and counts, leg style, colours.
Consecutive identities of a category take consecutive main styles of the family (from a
seeded offset), so identities of one category are visibly different objects, while categories
differ in shape, not only in colour.

Meshes are z-up with the object's front facing +x, centred on their bounding box and
scaled so that every vertex lies within 0.5 of the centre (unit diameter). Colours are
per face (``mesh.visual.face_colors``).

The stand-in for the ShapeNet renders of Lei et al. 2024 (Fig. A1a).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import trimesh

from wmgeom.errors import WmgeomError

Color = tuple[float, float, float]

# ----------------------------------------------------------------------------- palettes

WOOD = [(0.55, 0.35, 0.18), (0.70, 0.50, 0.30), (0.40, 0.25, 0.12), (0.82, 0.66, 0.45),
        (0.30, 0.18, 0.10)]
FABRIC = [(0.70, 0.15, 0.15), (0.15, 0.30, 0.60), (0.25, 0.50, 0.30), (0.85, 0.75, 0.55),
          (0.45, 0.45, 0.50), (0.90, 0.55, 0.20), (0.50, 0.25, 0.55), (0.20, 0.55, 0.60)]
METAL = [(0.75, 0.75, 0.78), (0.25, 0.25, 0.28), (0.55, 0.55, 0.60), (0.80, 0.70, 0.40)]
PAINT = [(0.80, 0.10, 0.10), (0.10, 0.25, 0.70), (0.92, 0.92, 0.92), (0.15, 0.15, 0.17),
         (0.95, 0.75, 0.10), (0.20, 0.55, 0.30), (0.60, 0.62, 0.66), (0.95, 0.45, 0.10)]
GLASS = (0.12, 0.16, 0.22)
RUBBER = (0.08, 0.08, 0.08)


def _pick(rng: np.random.Generator, palette: list[Color]) -> Color:
    return palette[int(rng.integers(len(palette)))]


# ----------------------------------------------------------------------------- primitives


class _Parts:
    """Accumulates coloured primitive meshes; ``mesh()`` joins them with face colours."""

    def __init__(self) -> None:
        self.meshes: list[trimesh.Trimesh] = []
        self.colors: list[Color] = []

    def add(self, mesh: trimesh.Trimesh, color: Color) -> None:
        self.meshes.append(mesh)
        self.colors.append(color)

    def box(self, size, center, color, rot_z: float = 0.0, rot_y: float = 0.0,
            rot_x: float = 0.0) -> None:
        """Axis-aligned box of ``size`` at ``center``, optionally rotated (radians)."""
        t = trimesh.transformations.euler_matrix(rot_x, rot_y, rot_z, "sxyz")
        t[:3, 3] = center
        self.add(trimesh.creation.box(extents=size, transform=t), color)

    def cyl(self, p0, p1, radius: float, color, sections: int = 20) -> None:
        """Cylinder between points ``p0`` and ``p1``."""
        self.frustum(p0, p1, radius, radius, color, sections)

    def frustum(self, p0, p1, r0: float, r1: float, color, sections: int = 24) -> None:
        """Closed truncated cone from ``p0`` (radius ``r0``) to ``p1`` (radius ``r1``)."""
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        axis = p1 - p0
        u, v = _orthonormal(axis)
        phi = np.linspace(0, 2 * np.pi, sections, endpoint=False)
        ring = np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v
        rings = np.stack([p0 + max(r0, 1e-4) * ring, p1 + max(r1, 1e-4) * ring])
        self.add(loft(rings), color)

    def sphere(self, center, radii, color, subdivisions: int = 2) -> None:
        """Ellipsoid with semi-axes ``radii`` at ``center``."""
        m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
        m.vertices = m.vertices * np.asarray(radii, float) + np.asarray(center, float)
        self.add(m, color)

    def prism(self, profile, axis: int, lo: float, hi: float, color) -> None:
        """Extrude a star-shaped 2D ``profile`` along coordinate ``axis`` from lo to hi.

        The profile's two columns are the other two coordinates in cyclic order
        (axis 0: (y, z); axis 1: (x, z); axis 2: (x, y)).
        """
        profile = np.asarray(profile, float)
        others = {0: (1, 2), 1: (0, 2), 2: (0, 1)}[axis]
        rings = np.zeros((2, len(profile), 3))
        for k, at in enumerate((lo, hi)):
            rings[k][:, others[0]] = profile[:, 0]
            rings[k][:, others[1]] = profile[:, 1]
            rings[k][:, axis] = at
        self.add(loft(rings), color)

    def mesh(self) -> trimesh.Trimesh:
        vertices, faces, colors, offset = [], [], [], 0
        for m, c in zip(self.meshes, self.colors, strict=True):
            vertices.append(np.asarray(m.vertices, float))
            faces.append(np.asarray(m.faces) + offset)
            rgba = np.array([*(np.clip(c, 0, 1) * 255), 255], dtype=np.uint8)
            colors.append(np.broadcast_to(rgba, (len(m.faces), 4)))
            offset += len(m.vertices)
        out = trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=False)
        out.visual = trimesh.visual.ColorVisuals(out, face_colors=np.concatenate(colors))
        return out


def _orthonormal(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    axis = axis / np.linalg.norm(axis)
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def loft(rings: np.ndarray) -> trimesh.Trimesh:
    """Closed mesh through a sequence of rings ``[n_rings, n_points, 3]``.

    Consecutive rings are joined by quads; both end rings are capped by a fan around
    their centroid (so each end ring must be star-shaped around it). Faces are oriented
    outwards.
    """
    rings = np.asarray(rings, float)
    s, n = rings.shape[:2]
    idx = np.arange(s * n).reshape(s, n)
    a, b = idx[:-1], np.roll(idx[:-1], -1, axis=1)
    c, d = idx[1:], np.roll(idx[1:], -1, axis=1)
    side = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3),
                           np.stack([a, d, c], -1).reshape(-1, 3)])
    centers = np.stack([rings[0].mean(0), rings[-1].mean(0)])
    c0, c1 = s * n, s * n + 1
    ring0, ring1 = idx[0], idx[-1]
    cap0 = np.stack([np.full(n, c0), np.roll(ring0, -1), ring0], -1)
    cap1 = np.stack([np.full(n, c1), ring1, np.roll(ring1, -1)], -1)
    mesh = trimesh.Trimesh(np.concatenate([rings.reshape(-1, 3), centers]),
                           np.concatenate([side, cap0, cap1]), process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _ring(y_half: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A closed (y, z) profile symmetric about y=0 from one half (bottom to top)."""
    return np.concatenate([np.stack([y_half, z], -1), np.stack([-y_half, z], -1)[::-1]])


# ----------------------------------------------------------------------------- families


def _chair(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    w, d = rng.uniform(0.42, 0.56), rng.uniform(0.40, 0.52)
    t, h = rng.uniform(0.03, 0.07), rng.uniform(0.40, 0.50)
    frame = _pick(rng, WOOD if rng.random() < 0.7 else METAL)
    seat = frame if rng.random() < 0.4 else _pick(rng, FABRIC)
    p.box((d, w, t), (0, 0, h), seat)
    legs = ["square", "round", "pedestal", "splayed"][style % 4]
    lw = rng.uniform(0.03, 0.05)
    corners = np.array([[sx * (d / 2 - lw), sy * (w / 2 - lw)] for sx in (1, -1) for sy in (1, -1)])
    if legs == "square":
        for x, y in corners:
            p.box((lw, lw, h), (x, y, h / 2), frame)
        if rng.random() < 0.6:  # stretchers
            for y in (w / 2 - lw, -(w / 2 - lw)):
                p.box((d - 2 * lw, lw * 0.6, lw * 0.6), (0, y, h * 0.25), frame)
    elif legs in ("round", "splayed"):
        splay = 0.06 if legs == "splayed" else 0.0
        for x, y in corners:
            p.cyl((x + np.sign(x) * splay, y + np.sign(y) * splay, 0), (x, y, h - t / 2),
                  lw * 0.55, frame, sections=12)
    else:  # office chair: column, five-star base, casters
        metal = _pick(rng, METAL)
        p.cyl((0, 0, 0.06), (0, 0, h - t / 2), 0.03, metal, sections=12)
        reach = rng.uniform(0.26, 0.32)
        for a in np.linspace(0, 2 * np.pi, 5, endpoint=False) + 0.3:
            end = np.array([np.cos(a), np.sin(a)]) * reach
            p.box((reach, 0.04, 0.03), (*(end / 2), 0.06), metal, rot_z=a)
            p.sphere((*end, 0.03), (0.03, 0.03, 0.03), RUBBER, subdivisions=1)
    back = ["panel", "slats", "rails"][int(rng.integers(3)) if legs != "pedestal" else 0]
    bh, bt = rng.uniform(0.35, 0.6), rng.uniform(0.03, 0.06)
    tilt = rng.uniform(0.0, 0.2)
    bx = -d / 2 + bt / 2
    top = h + bh
    if back == "panel":
        p.box((bt, w * rng.uniform(0.85, 1.0), bh), (bx - np.sin(tilt) * bh / 2, 0, h + bh / 2),
              seat, rot_y=-tilt)
    else:
        for y in (w / 2 - lw / 2, -(w / 2 - lw / 2)):
            p.box((lw, lw, bh), (bx, y, h + bh / 2), frame)
        p.box((bt, w, bh * 0.18), (bx, 0, top - bh * 0.09), frame)
        n = int(rng.integers(2, 6))
        if back == "slats":
            for y in np.linspace(-w / 2, w / 2, n + 2)[1:-1]:
                p.box((bt * 0.6, w / (3 * n), bh * 0.8), (bx, y, h + bh * 0.42), frame)
        else:
            for z in np.linspace(h, top, n + 2)[1:-1]:
                p.box((bt * 0.6, w, bh * 0.07), (bx, 0, z), frame)
    if rng.random() < 0.4 or legs == "pedestal":  # armrests
        az = h + rng.uniform(0.18, 0.25)
        for y in (w / 2 + 0.02, -(w / 2 + 0.02)):
            p.box((d * 0.8, 0.05, 0.03), (0, y, az), frame if legs != "pedestal" else RUBBER)
            p.box((0.03, 0.03, az - h), (d * 0.2, y, (az + h) / 2), frame)
    return p


def _table(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    wood, top_c = _pick(rng, WOOD), _pick(rng, WOOD + [(0.9, 0.9, 0.88), (0.2, 0.2, 0.2)])
    h = rng.choice([rng.uniform(0.35, 0.45), rng.uniform(0.68, 0.78)])
    t = rng.uniform(0.03, 0.07)
    kind = ["four", "pedestal", "trestle", "round4"][style % 4]
    if kind in ("pedestal",) and rng.random() < 0.7 or kind == "round4":
        r = rng.uniform(0.4, 0.6)
        p.cyl((0, 0, h - t), (0, 0, h), r, top_c, sections=40)
        L = W = r * 1.4
    else:
        L, W = rng.uniform(0.9, 1.6), rng.uniform(0.5, 0.9)
        p.box((L, W, t), (0, 0, h - t / 2), top_c)
    lw = rng.uniform(0.04, 0.08)
    if kind in ("four", "round4"):
        round_legs = kind == "round4" or rng.random() < 0.5
        for sx in (1, -1):
            for sy in (1, -1):
                x, y = sx * (L / 2 - 1.5 * lw), sy * (W / 2 - 1.5 * lw)
                if round_legs:
                    p.frustum((x, y, 0), (x, y, h - t), lw * 0.35, lw * 0.6, wood, sections=12)
                else:
                    p.box((lw, lw, h - t), (x, y, (h - t) / 2), wood)
        if kind == "four" and rng.random() < 0.6:  # apron
            p.box((L - 3 * lw, 0.02, 0.08), (0, W / 2 - 1.5 * lw, h - t - 0.04), wood)
            p.box((L - 3 * lw, 0.02, 0.08), (0, -(W / 2 - 1.5 * lw), h - t - 0.04), wood)
        if rng.random() < 0.4:  # lower shelf
            p.box((L - 2 * lw, W - 2 * lw, 0.02), (0, 0, h * 0.25), top_c)
    elif kind == "pedestal":
        p.cyl((0, 0, 0.03), (0, 0, h - t), rng.uniform(0.04, 0.08), wood, sections=16)
        if rng.random() < 0.5:
            p.cyl((0, 0, 0), (0, 0, 0.04), rng.uniform(0.2, 0.3), wood, sections=32)
        else:
            for a in (0.0, np.pi / 2):
                p.box((0.55, 0.06, 0.05), (0, 0, 0.025), wood, rot_z=a)
    else:  # trestle: two end frames and a stretcher
        for sx in (1, -1):
            x = sx * (L / 2 - 0.12)
            p.box((0.06, 0.06, h - t), (x, 0, (h - t) / 2), wood)
            p.box((0.08, W * 0.85, 0.05), (x, 0, 0.025), wood)
            p.box((0.06, W * 0.8, 0.05), (x, 0, h - t - 0.025), wood)
        p.box((L - 0.24, 0.05, 0.06), (0, 0, h * 0.35), wood)
    return p


def _car(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["sedan", "suv", "pickup", "sports", "hatch"][style % 5]
    L = 1.0
    W = rng.uniform(0.40, 0.48)
    paint = _pick(rng, PAINT)
    c = rng.uniform(0.06, 0.09) if kind != "suv" else rng.uniform(0.10, 0.13)
    r = rng.uniform(0.075, 0.095) + (0.02 if kind in ("suv", "pickup") else 0)
    body_h = {"sedan": 0.17, "suv": 0.23, "pickup": 0.20, "sports": 0.12, "hatch": 0.18}[kind]
    body_h *= rng.uniform(0.9, 1.1)
    zb, zt = c, c + body_h
    nose = rng.uniform(0.03, 0.07)
    lower = [(-L / 2, zb + 0.02), (-L / 2 + 0.03, zb), (L / 2 - 0.05, zb), (L / 2, zb + 0.03),
             (L / 2, zt - nose), (L / 2 - 0.1, zt), (-L / 2 + 0.03, zt), (-L / 2, zt - 0.03)]
    p.prism(lower, 1, -W / 2, W / 2, paint)
    # cabin (greenhouse): trapezoid profile, dark glass, with a roof in body colour
    ch = {"sedan": 0.14, "suv": 0.17, "pickup": 0.15, "sports": 0.10, "hatch": 0.15}[kind]
    ch *= rng.uniform(0.9, 1.1)
    if kind == "sedan":
        x0, x1, rake_f, rake_r = -0.28, 0.18, 0.15, 0.12
    elif kind == "suv":
        x0, x1, rake_f, rake_r = -0.47, 0.2, 0.12, 0.03
    elif kind == "pickup":
        x0, x1, rake_f, rake_r = -0.08, 0.22, 0.08, 0.01
    elif kind == "sports":
        x0, x1, rake_f, rake_r = -0.25, 0.1, 0.2, 0.17
    else:
        x0, x1, rake_f, rake_r = -0.44, 0.2, 0.16, 0.05
    shift = rng.uniform(-0.04, 0.04)
    x0, x1 = x0 + shift, x1 + shift
    cabin = [(x0, zt), (x1, zt), (x1 - rake_f, zt + ch), (x0 + rake_r, zt + ch)]
    cw = W * 0.86
    p.prism(cabin, 1, -cw / 2, cw / 2, GLASS)
    p.box((x1 - rake_f - x0 - rake_r + 0.02, cw + 0.01, 0.015), ((x1 - rake_f + x0 + rake_r) / 2, 0,
                                                                 zt + ch), paint)
    # B-pillar in body colour
    p.box((0.025, cw + 0.01, ch), ((x0 + x1) / 2 - 0.02, 0, zt + ch / 2), paint)
    if kind == "pickup":  # bed walls
        for y in (W / 2 - 0.015, -(W / 2 - 0.015)):
            p.box((L / 2 + x0 - 0.03, 0.03, 0.06), ((-L / 2 + x0) / 2, y, zt + 0.03), paint)
        p.box((0.03, W, 0.06), (-L / 2 + 0.015, 0, zt + 0.03), paint)
    wb = rng.uniform(0.58, 0.66)
    for x in (wb / 2, -wb / 2):
        for sy in (1, -1):
            y0 = sy * (W / 2 - 0.06)
            p.cyl((x, y0, r), (x, sy * (W / 2 + 0.01), r), r, RUBBER, sections=20)
            p.cyl((x, sy * (W / 2 + 0.01), r), (x, sy * (W / 2 + 0.015), r), r * 0.6,
                  _pick(rng, METAL[:1] + METAL[2:3]), sections=16)
    for sy in (1, -1):
        p.box((0.02, 0.08, 0.035), (L / 2, sy * (W / 2 - 0.07), zt - nose - 0.02),
              (1.0, 0.95, 0.7))
        p.box((0.02, 0.08, 0.03), (-L / 2, sy * (W / 2 - 0.07), zt - 0.05), (0.8, 0.05, 0.05))
    return p


def _airplane(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["airliner", "turboprop", "fighter", "glider"][style % 4]
    body = _pick(rng, [(0.93, 0.93, 0.93), (0.85, 0.86, 0.88), (0.6, 0.63, 0.66),
                       (0.35, 0.40, 0.35)] if kind == "fighter" else
                 [(0.95, 0.95, 0.95), (0.88, 0.88, 0.9), (0.95, 0.95, 0.85)])
    accent = _pick(rng, PAINT)
    L = 1.0
    R = {"airliner": 0.06, "turboprop": 0.05, "fighter": 0.045, "glider": 0.035}[kind]
    R *= rng.uniform(0.9, 1.15)
    xs = np.linspace(-L / 2, L / 2, 14)
    u = (xs + L / 2) / L  # 0 at tail, 1 at nose
    radius = R * np.clip(np.minimum(np.sqrt(np.clip((1 - u) / 0.12, 0, 1)), 0.25 + 0.75 * np.clip(
        u / 0.3, 0, 1)), 0.05, 1)
    zc = np.where(u < 0.3, (0.3 - u) / 0.3 * R * 0.8, 0.0)
    phi = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    rings = np.stack([np.stack([np.full_like(phi, x), r * np.cos(phi), z + r * np.sin(phi)], -1)
                      for x, r, z in zip(xs, radius, zc, strict=True)])
    p.add(loft(rings), body)

    def wing(x_root, root, tip, span, sweep, z, thick, color, dihedral=0.0, vertical=False):
        for side in ((1,) if vertical else (1, -1)):
            planform = [(x_root, 0), (x_root - sweep, span), (x_root - sweep - tip, span),
                        (x_root - root, 0)]
            pts = np.array([(x, side * s) for x, s in planform])
            if vertical:
                p.prism(pts, 1, -thick / 2, thick / 2, color)
                p.meshes[-1].vertices[:, 2] += z
            else:
                p.prism(pts, 2, z - thick / 2, z + thick / 2, color)
                if dihedral:
                    v = p.meshes[-1].vertices
                    v[:, 2] += np.abs(v[:, 1]) * np.tan(dihedral)

    if kind == "airliner":
        span = rng.uniform(0.42, 0.52)
        xw, zw = rng.uniform(0.08, 0.15), -R * 0.5
        wing(xw, 0.26, 0.07, span, rng.uniform(0.2, 0.28), zw, 0.02, body, dihedral=0.08)
        n_eng = int(rng.choice([2, 4]))
        for s in (np.array([0.35]) if n_eng == 2 else np.array([0.3, 0.62])):
            for side in (1, -1):
                y = side * s * span
                x = xw - 0.04 - s * 0.23
                p.cyl((x + 0.09, y, zw - 0.05 + s * span * 0.08), (x - 0.06, y, zw - 0.05 +
                      s * span * 0.08), 0.035, (0.7, 0.7, 0.72), sections=16)
        wing(-0.36, 0.13, 0.05, 0.17, 0.08, zc[1] + 0.01, 0.015, body)
        wing(-0.33, 0.16, 0.07, 0.16, 0.11, zc[1], 0.015, accent, vertical=True)
    elif kind == "turboprop":
        span = rng.uniform(0.5, 0.6)
        zw = R * 0.9
        wing(0.12, 0.15, 0.08, span, 0.02, zw, 0.02, body)
        for side in (1, -1):
            y = side * span * 0.35
            p.cyl((0.2, y, zw - 0.015), (-0.02, y, zw - 0.015), 0.032, accent, sections=16)
            p.box((0.01, 0.005, 0.22), (0.205, y, zw - 0.015), RUBBER, rot_x=0.3)
            p.box((0.01, 0.005, 0.22), (0.205, y, zw - 0.015), RUBBER, rot_x=0.3 + np.pi / 2)
        wing(-0.35, 0.1, 0.06, 0.2, 0.06, zc[1] + 0.02, 0.015, accent, vertical=True)
        wing(-0.39, 0.09, 0.05, 0.16, 0.03, zc[1] + 0.2, 0.012, body)  # T-tail
    elif kind == "fighter":
        span = rng.uniform(0.28, 0.36)
        wing(0.18, 0.5, 0.05, span, 0.42, 0.0, 0.02, body)
        wing(-0.28, 0.18, 0.06, 0.14, 0.12, zc[1] - 0.01, 0.015, body)
        for side in ((1, -1) if rng.random() < 0.5 else (0,)):
            wing(-0.26, 0.2, 0.07, 0.16, 0.13, zc[1], 0.012, accent, vertical=True)
            p.meshes[-1].vertices[:, 1] += side * 0.05
        p.sphere((0.2, 0, R * 0.8), (0.12, 0.035, 0.04), GLASS)
    else:  # glider: long thin straight wings
        span = rng.uniform(0.7, 0.85)
        wing(0.12, 0.09, 0.04, span, 0.03, R * 0.6, 0.012, body, dihedral=0.05)
        wing(-0.42, 0.07, 0.05, 0.12, 0.02, zc[1] + 0.17, 0.01, accent)
        wing(-0.38, 0.12, 0.06, 0.17, 0.07, zc[1], 0.012, accent, vertical=True)
        p.sphere((0.28, 0, R * 0.7), (0.1, 0.03, 0.035), GLASS)
    if kind in ("airliner", "turboprop"):  # cockpit windows
        p.box((0.02, 0.06, 0.02), (0.445, 0, R * 0.35), GLASS, rot_y=0.6)
    return p


def _lamp(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["table", "floor", "desk", "tripod", "globe"][style % 5]
    metal = _pick(rng, METAL)
    shade = _pick(rng, [(0.95, 0.92, 0.8), (0.9, 0.9, 0.9), (0.8, 0.2, 0.2), (0.2, 0.4, 0.6),
                        (0.95, 0.8, 0.3), (0.3, 0.6, 0.4)])
    if kind == "table":
        hb = rng.uniform(0.15, 0.3)
        if rng.random() < 0.5:  # vase body
            p.frustum((0, 0, 0), (0, 0, hb), rng.uniform(0.08, 0.13), rng.uniform(0.03, 0.05),
                      _pick(rng, FABRIC + WOOD))
        else:
            p.sphere((0, 0, hb / 2), (0.1, 0.1, hb / 2), _pick(rng, FABRIC + WOOD))
        top = hb + rng.uniform(0.15, 0.3)
        p.cyl((0, 0, hb), (0, 0, top), 0.012, metal)
        sh = rng.uniform(0.16, 0.25)
        p.frustum((0, 0, top - sh * 0.6), (0, 0, top + sh * 0.4), rng.uniform(0.16, 0.22),
                  rng.uniform(0.08, 0.13), shade, sections=32)
    elif kind == "floor":
        p.cyl((0, 0, 0), (0, 0, 0.03), rng.uniform(0.12, 0.18), metal, sections=32)
        top = rng.uniform(1.2, 1.6)
        p.cyl((0, 0, 0.03), (0, 0, top), 0.015, metal)
        sh = rng.uniform(0.2, 0.3)
        r0 = rng.uniform(0.15, 0.22)
        p.frustum((0, 0, top - sh * 0.7), (0, 0, top + sh * 0.3), r0,
                  r0 * rng.uniform(0.6, 1.0), shade, sections=32)
    elif kind == "desk":
        p.box((0.22, 0.16, 0.03), (0, 0, 0.015), metal)
        a1, a2 = rng.uniform(0.3, 0.5), rng.uniform(0.25, 0.4)
        t1, t2 = rng.uniform(-0.35, 0.0), rng.uniform(0.9, 1.4)
        j0 = np.array([-0.05, 0, 0.03])
        j1 = j0 + a1 * np.array([np.sin(-t1) * -1, 0, np.cos(t1)])
        j2 = j1 + a2 * np.array([np.sin(t2), 0, np.cos(t2)])
        p.cyl(j0, j1, 0.012, metal)
        p.cyl(j1, j2, 0.012, metal)
        p.sphere(j1, (0.025, 0.025, 0.025), metal)
        head_dir = np.array([0.5, 0, -1.0])
        head_dir /= np.linalg.norm(head_dir)
        p.frustum(j2, j2 + 0.14 * head_dir, 0.03, rng.uniform(0.08, 0.11), shade)
    elif kind == "tripod":
        top = rng.uniform(0.9, 1.3)
        for a in np.linspace(0, 2 * np.pi, 3, endpoint=False):
            p.cyl((0.25 * np.cos(a), 0.25 * np.sin(a), 0), (0, 0, top * 0.8), 0.015,
                  _pick(rng, WOOD))
        p.cyl((0, 0, top * 0.75), (0, 0, top), 0.012, metal)
        r0 = rng.uniform(0.18, 0.25)
        p.frustum((0, 0, top - 0.1), (0, 0, top + 0.15), r0, r0, shade, sections=32)
    else:  # globe
        p.frustum((0, 0, 0), (0, 0, 0.05), 0.12, 0.08, metal, sections=32)
        top = rng.uniform(0.2, 0.45)
        p.cyl((0, 0, 0.05), (0, 0, top), 0.015, metal)
        rad = rng.uniform(0.12, 0.2)
        p.sphere((0, 0, top + rad * 0.9), (rad, rad, rad), shade, subdivisions=3)
    return p


def _bench(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["park", "plank", "panel", "metal"][style % 4]
    L, d, h = rng.uniform(1.2, 1.8), rng.uniform(0.35, 0.5), rng.uniform(0.4, 0.48)
    wood, frame = _pick(rng, WOOD), _pick(rng, METAL[1:] + WOOD[4:])
    if kind == "park":
        n = int(rng.integers(3, 6))
        for y in np.linspace(-d / 2, d / 2, n):
            p.box((L, d / n * 0.8, 0.03), (0, y * 0.9, h), wood)
        back_h = rng.uniform(0.3, 0.45)
        for k in range(int(rng.integers(2, 4))):
            z = h + 0.12 + k * back_h / 3
            p.box((L, 0.025, back_h / 4), (0, -d / 2 - 0.02 - k * 0.02, z), wood, rot_x=0.2)
        for x in (L / 2 - 0.1, -(L / 2 - 0.1)):
            p.box((0.05, 0.05, h), (x, d / 2 - 0.05, h / 2), frame)
            p.box((0.05, 0.05, h + back_h + 0.1), (x, -d / 2 - 0.02, (h + back_h + 0.1) / 2),
                  frame, rot_x=0.1)
            p.box((0.04, d + 0.05, 0.04), (x, 0, h - 0.03), frame)
            p.box((0.04, d * 0.8, 0.04), (x, 0, h + 0.2), frame)  # armrest
    elif kind == "plank":
        t = rng.uniform(0.05, 0.09)
        p.box((L, d, t), (0, 0, h - t / 2), wood)
        for sx in (1, -1):
            for sy in (1, -1):
                p.box((0.06, 0.06, h - t), (sx * (L / 2 - 0.1), sy * (d / 2 - 0.06), (h - t) / 2),
                      wood)
        p.box((L - 0.2, 0.04, 0.05), (0, 0, h * 0.3), wood)
    elif kind == "panel":
        t = rng.uniform(0.04, 0.08)
        p.box((L, d, t), (0, 0, h - t / 2), wood)
        for x in (L / 2 - t / 2 - 0.05, -(L / 2 - t / 2 - 0.05)):
            p.box((t, d, h - t), (x, 0, (h - t) / 2), wood)
        if rng.random() < 0.5:
            p.box((L, 0.04, rng.uniform(0.2, 0.35)), (0, -d / 2 + 0.02, h + 0.15), wood)
    else:  # metal frame with seat and tube legs
        cushion = _pick(rng, FABRIC)
        p.box((L, d, 0.06), (0, 0, h - 0.03), cushion)
        for x in (L / 2 - 0.08, -(L / 2 - 0.08)):
            for sy in (1, -1):
                p.cyl((x, sy * (d / 2 - 0.04), 0), (x, sy * (d / 2 - 0.04), h - 0.06), 0.02,
                      frame, sections=12)
            p.cyl((x, d / 2 - 0.04, 0.02), (x, -(d / 2 - 0.04), 0.02), 0.02, frame, sections=12)
        if rng.random() < 0.5:
            p.box((L, 0.05, 0.25), (0, -d / 2, h + 0.18), cushion, rot_x=0.15)
    return p


def _boat(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["sail", "motor", "tug", "ship", "row"][style % 5]
    L = 1.0
    B = rng.uniform(0.26, 0.36) * (0.85 if kind == "row" else 1.0)
    D = rng.uniform(0.1, 0.15)
    hull = _pick(rng, PAINT + [(0.1, 0.15, 0.3)])
    xs = np.linspace(-L / 2, L / 2, 16)
    u = (xs + L / 2) / L  # 0 stern, 1 bow
    beam = B / 2 * np.where(u < 0.55, 1 - 0.25 * (0.55 - u) ** 2 / 0.3,
                            np.sqrt(np.clip(1 - ((u - 0.55) / 0.45) ** 2, 0.0004, 1)))
    sheer = D + 0.06 * np.clip((u - 0.6) / 0.4, 0, 1) ** 2
    vee = np.where(kind == "row", 0.6, 1.0)
    rings = []
    for x, b, s in zip(xs, beam, sheer, strict=True):
        half_y = np.array([0.0, 0.55, 0.9, 1.0]) * b
        half_z = np.array([-D * 0.35 * vee, -D * 0.28, -0.05 * D, s - D])
        half_z = half_z + D * 0.35
        ring = _ring(half_y, half_z)
        rings.append(np.column_stack([np.full(len(ring), x), ring]))
    p.add(loft(np.stack(rings)), hull)
    deck_z = D * 0.35
    deck = _pick(rng, WOOD + [(0.95, 0.95, 0.95)])
    p.box((L * 0.62, B * 0.8, 0.01), (-0.15, 0, deck_z), deck)
    white = (0.95, 0.95, 0.95)
    if kind == "sail":
        mast_x, mast_h = rng.uniform(0.0, 0.12), rng.uniform(0.7, 1.0)
        p.cyl((mast_x, 0, deck_z), (mast_x, 0, deck_z + mast_h), 0.012, METAL[0])
        sail = _pick(rng, [white, (0.95, 0.9, 0.75), (0.8, 0.2, 0.2)])
        main = [(mast_x - 0.01, deck_z + 0.08), (mast_x - 0.01, deck_z + mast_h * 0.95),
                (mast_x - rng.uniform(0.3, 0.42), deck_z + 0.08)]
        p.prism(main, 1, -0.004, 0.004, sail)
        if rng.random() < 0.7:  # jib
            jib = [(mast_x + 0.01, deck_z + mast_h * 0.85), (L / 2 - 0.04, deck_z + 0.06),
                   (mast_x + 0.01, deck_z + 0.06)]
            p.prism(jib, 1, -0.004, 0.004, sail)
        p.box((0.2, B * 0.5, 0.06), (-0.15, 0, deck_z + 0.03), white)
    elif kind == "motor":
        cl = rng.uniform(0.25, 0.35)
        cab = [(-0.2, deck_z), (-0.2 + cl, deck_z), (-0.2 + cl - 0.1, deck_z + 0.1),
               (-0.2, deck_z + 0.1)]
        p.prism(cab, 1, -B * 0.35, B * 0.35, white)
        p.prism([(-0.2 + cl - 0.02, deck_z + 0.02), (-0.2 + cl - 0.1, deck_z + 0.1),
                 (-0.2 + cl - 0.1, deck_z + 0.02)], 1, -B * 0.36, B * 0.36, GLASS)
        p.box((0.06, 0.08, 0.1), (-L / 2 - 0.02, 0, deck_z - 0.02), RUBBER)  # outboard
    elif kind == "tug":
        wx = rng.uniform(-0.05, 0.15)
        p.box((0.3, B * 0.7, 0.1), (wx - 0.05, 0, deck_z + 0.05), white)
        p.box((0.16, B * 0.55, 0.1), (wx, 0, deck_z + 0.15), white)
        p.box((0.165, B * 0.56, 0.035), (wx, 0, deck_z + 0.17), GLASS)
        p.cyl((wx - 0.15, 0, deck_z + 0.1), (wx - 0.15, 0, deck_z + 0.3), 0.035,
              _pick(rng, PAINT))
    elif kind == "ship":
        p.box((0.5, B * 0.8, 0.07), (-0.12, 0, deck_z + 0.035), white)
        p.box((0.25, B * 0.6, 0.07), (-0.18, 0, deck_z + 0.105), white)
        p.box((0.252, B * 0.61, 0.02), (-0.18, 0, deck_z + 0.12), GLASS)
        funnel = _pick(rng, PAINT)
        for k in range(int(rng.integers(1, 4))):
            x = 0.02 - k * 0.12
            p.frustum((x, 0, deck_z + 0.07), (x - 0.02, 0, deck_z + 0.25), 0.035, 0.03, funnel)
    else:  # rowboat: seats and oars
        for x in (-0.2, 0.05, 0.25):
            p.box((0.06, B * 0.8, 0.015), (x, 0, deck_z + 0.02), _pick(rng, WOOD))
        for side in (1, -1):
            p.cyl((0.2, side * B * 0.3, deck_z + 0.05), (-0.3, side * B * 1.1, deck_z - 0.05),
                  0.008, WOOD[1])
    return p


def _sofa(rng: np.random.Generator, style: int) -> _Parts:
    p = _Parts()
    kind = ["box", "rolled", "armless", "chaise"][style % 4]
    n = int(rng.integers(1, 4))
    seat_w = rng.uniform(0.5, 0.65)
    L, D = n * seat_w + 0.3, rng.uniform(0.8, 0.95)
    fabric = _pick(rng, FABRIC)
    cushion = fabric if rng.random() < 0.6 else _pick(rng, FABRIC)
    legs_h = rng.choice([0.0, 0.05, 0.12])
    base_h = rng.uniform(0.18, 0.26)
    arm_w = 0.0 if kind == "armless" else rng.uniform(0.12, 0.2)
    inner = L - 2 * arm_w
    z0 = legs_h
    p.box((D, L, base_h), (0, 0, z0 + base_h / 2), fabric)
    back_t, back_h = rng.uniform(0.15, 0.22), rng.uniform(0.35, 0.5)
    p.box((back_t, L, base_h + back_h), (-D / 2 + back_t / 2, 0, z0 + (base_h + back_h) / 2),
          fabric)
    ct = rng.uniform(0.08, 0.14)
    cw = inner / n
    for k in range(n):
        y = -inner / 2 + cw * (k + 0.5)
        p.box((D - back_t - 0.02, cw - 0.015, ct), ((back_t + 0.02) / 2, y, z0 + base_h + ct / 2),
              cushion)
        if rng.random() < 0.7:
            p.box((0.12, cw - 0.03, back_h * 0.7), (-D / 2 + back_t + 0.06, y,
                  z0 + base_h + ct + back_h * 0.35), cushion, rot_y=-0.15)
    if kind != "armless":
        arm_h = base_h + rng.uniform(0.12, 0.22)
        for sy in (1, -1):
            y = sy * (L / 2 - arm_w / 2)
            p.box((D, arm_w, arm_h), (0, y, z0 + arm_h / 2), fabric)
            if kind == "rolled":
                p.cyl((D / 2, y, z0 + arm_h), (-D / 2, y, z0 + arm_h), arm_w * 0.6, fabric)
    if kind == "chaise":
        y = L / 2 - arm_w - cw / 2
        p.box((0.6, cw, base_h), (D / 2 + 0.3, y, z0 + base_h / 2), fabric)
        p.box((0.6, cw - 0.015, ct), (D / 2 + 0.3, y, z0 + base_h + ct / 2), cushion)
    if legs_h > 0:
        wood = _pick(rng, WOOD)
        for sx in (1, -1):
            for sy in (1, -1):
                p.frustum((sx * (D / 2 - 0.06), sy * (L / 2 - 0.06), 0),
                          (sx * (D / 2 - 0.06), sy * (L / 2 - 0.06), legs_h), 0.015, 0.025, wood,
                          sections=10)
    return p


Builder = Callable[[np.random.Generator, int], _Parts]

#: Registry of procedural categories: name → family builder ``(rng, style) -> parts``.
CATEGORIES: dict[str, Builder] = {
    "chair": _chair,
    "table": _table,
    "car": _car,
    "airplane": _airplane,
    "lamp": _lamp,
    "bench": _bench,
    "boat": _boat,
    "sofa": _sofa,
}

#: The default set's categories (4 of them, as in Lei et al. 2024).
DEFAULT_CATEGORIES: tuple[str, ...] = ("chair", "car", "airplane", "lamp")


def check_category(name: str) -> str:
    """Return ``name`` if it is a known category, else raise a WmgeomError listing them."""
    if name not in CATEGORIES:
        raise WmgeomError(
            f"unknown stimulus category {name!r}; choose from {', '.join(CATEGORIES)}"
        )
    return name


def make_object(category: str, identity: int, seed: int = 0) -> trimesh.Trimesh:
    """Build identity ``identity`` of ``category`` as a normalised, face-coloured mesh.

    Args:
        category: a name in :data:`CATEGORIES`.
        identity: index of the draw within the category (0, 1, ...).
        seed: the stimulus set's seed; the same (category, identity, seed) gives the
            same mesh on every machine.

    Returns:
        A z-up mesh, front towards +x, centred, every vertex within 0.5 of the centre.
    """
    builder = CATEGORIES[check_category(category)]
    tag = zlib.crc32(category.encode())
    offset = int(np.random.default_rng([seed, tag]).integers(1000))
    rng = np.random.default_rng([seed, tag, identity, 1])
    return normalize_mesh(builder(rng, offset + identity).mesh())


def normalize_mesh(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Centre ``mesh`` on its bounding box and scale it to unit diameter (in place)."""
    lo, hi = mesh.bounds
    center = (lo + hi) / 2
    radius = np.linalg.norm(mesh.vertices - center, axis=1).max()
    mesh.vertices = (mesh.vertices - center) / (2 * max(radius, 1e-9))
    return mesh
