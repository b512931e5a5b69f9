import numpy as np
import pytest
import trimesh

from wmgeom.stimuli.render import (
    camera_direction,
    composite,
    procedural_textures,
    render_objects,
    render_views,
    smooth_normals,
    view_grid,
)
from wmgeom.stimuli.shapes import make_object, normalize_mesh


def colored_box(extents=(1, 1, 1), color=(200, 30, 30)):
    m = normalize_mesh(trimesh.creation.box(extents=extents))
    m.visual = trimesh.visual.ColorVisuals(m, face_colors=np.tile([*color, 255], (12, 1)))
    return m


def test_view_grid_is_elevation_major():
    v = view_grid([0, 90, 180], [0, 30])
    np.testing.assert_array_equal(v, [[0, 0], [90, 0], [180, 0], [0, 30], [90, 30], [180, 30]])


def test_camera_direction_conventions():
    np.testing.assert_allclose(camera_direction(np.array(0.0), np.array(0.0)), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(camera_direction(np.array(90.0), np.array(0.0)), [0, 1, 0],
                               atol=1e-12)
    np.testing.assert_allclose(camera_direction(np.array(0.0), np.array(90.0)), [0, 0, 1],
                               atol=1e-12)


def test_render_gives_centered_object_of_the_right_size():
    views = view_grid([0, 45, 90, 200], [0, 30])
    fg, alpha = render_views(colored_box(), views, image_size=40, supersample=2)
    assert fg.shape == (8, 40, 40, 3) and fg.dtype == np.uint8
    assert alpha.shape == (8, 40, 40) and alpha.dtype == np.uint8
    yy, xx = np.mgrid[0:40, 0:40]
    for a in alpha.astype(float):
        covered = (a > 0).mean()
        assert 0.2 < covered < 0.9  # a cube of unit diagonal fills much of the patch
        cy, cx = (a * yy).sum() / a.sum(), (a * xx).sum() / a.sum()
        assert abs(cy - 19.5) < 2.5 and abs(cx - 19.5) < 2.5
        assert a[0].max() == 0 and a[-1].max() == 0  # nothing touches the border
    # object colour is red-dominant, background (alpha 0) is black in the foreground
    inside = alpha == 255
    assert (fg[inside][:, 0] > fg[inside][:, 1]).all()
    assert fg[alpha == 0].max() == 0


def test_rendering_is_deterministic():
    m = make_object("lamp", 0)
    views = view_grid([0, 120], [15])
    a = render_views(m, views, image_size=24)
    b = render_views(m, views, image_size=24)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_render_objects_in_parallel_matches_serial():
    meshes = [colored_box(), colored_box((1, 2, 0.5), (20, 200, 40))]
    views = view_grid([0, 60], [20])
    fg1, a1 = render_objects(meshes, views, image_size=20, supersample=1, workers=1)
    fg2, a2 = render_objects(meshes, views, image_size=20, supersample=1, workers=2)
    assert fg1.shape == (4, 20, 20, 3)
    np.testing.assert_array_equal(fg1, fg2)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1[0], a1[2])  # the two objects look different


def test_smooth_normals_keep_box_edges_sharp_and_sphere_smooth():
    box = trimesh.creation.box()
    n = smooth_normals(np.asarray(box.vertices), np.asarray(box.faces))
    np.testing.assert_allclose(n, np.repeat(box.face_normals[:, None], 3, axis=1), atol=1e-9)
    sphere = trimesh.creation.icosphere(subdivisions=2)
    n = smooth_normals(np.asarray(sphere.vertices), np.asarray(sphere.faces))
    radial = sphere.vertices[sphere.faces]
    cos = np.einsum("fkd,fkd->fk", n, radial / np.linalg.norm(radial, axis=-1, keepdims=True))
    assert cos.min() > 0.995


def test_composite_planted_values():
    fg = np.zeros((1, 2, 2, 3), np.uint8)
    fg[0, 0, 0] = [100, 0, 0]
    alpha = np.zeros((1, 2, 2), np.uint8)
    alpha[0, 0, 0] = 255
    alpha[0, 1, 1] = 51  # 20 % covered by a black object
    out = composite(fg, alpha, np.array([50, 100, 200]))
    np.testing.assert_array_equal(out[0, 0, 0], [100, 0, 0])
    np.testing.assert_array_equal(out[0, 0, 1], [50, 100, 200])
    np.testing.assert_array_equal(out[0, 1, 1], [40, 80, 160])


def test_procedural_textures_are_seeded_and_varied():
    t = procedural_textures(4, 32, seed=1)
    assert t.shape == (4, 32, 32, 3) and t.dtype == np.uint8
    np.testing.assert_array_equal(t, procedural_textures(4, 32, seed=1))
    assert not np.array_equal(t, procedural_textures(4, 32, seed=2))
    assert all(t[k].std() > 3 for k in range(4))  # textured, not flat
    assert not np.array_equal(t[0], t[1])


@pytest.mark.parametrize("category", ["car", "boat"])
def test_categories_render_non_empty(category):
    fg, alpha = render_views(make_object(category, 0), view_grid([30], [15]), image_size=32)
    assert (alpha > 0).mean() > 0.05
