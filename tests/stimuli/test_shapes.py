import numpy as np
import pytest
import trimesh

from wmgeom.errors import WmgeomError
from wmgeom.stimuli.shapes import CATEGORIES, check_category, loft, make_object, normalize_mesh


def d2_descriptor(mesh, n=3000):
    """Shape distribution D2: histogram of distances between random surface points."""
    pts, _ = trimesh.sample.sample_surface(mesh, 2 * n, seed=0)
    d = np.linalg.norm(pts[:n] - pts[n:], axis=1)
    h, _ = np.histogram(d, bins=16, range=(0, 1))
    return h / h.sum()


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_meshes_are_valid_normalized_and_colored(category):
    n_colors = []
    for identity in range(3):
        m = make_object(category, identity)
        assert len(m.faces) > 20 and np.isfinite(m.vertices).all()
        assert m.faces.max() < len(m.vertices)
        center = m.bounds.mean(axis=0)
        np.testing.assert_allclose(center, 0, atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(m.vertices, axis=1).max(), 0.5, atol=1e-9)
        colors = np.asarray(m.visual.face_colors)
        assert colors.shape == (len(m.faces), 4)
        n_colors.append(len(np.unique(colors[:, :3], axis=0)))
        assert m.area > 0.1
    assert max(n_colors) >= 2  # parts carry their own colours


def test_same_seed_same_mesh_and_seed_changes_it():
    a, b = make_object("car", 1, seed=3), make_object("car", 1, seed=3)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.visual.face_colors, b.visual.face_colors)
    c = make_object("car", 1, seed=4)
    assert a.vertices.shape != c.vertices.shape or not np.allclose(a.vertices, c.vertices)


def test_objects_differ_in_shape_across_categories_and_identities():
    objects = {(c, i): d2_descriptor(make_object(c, i)) for c in CATEGORIES for i in range(3)}
    keys = list(objects)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            # shape, not colour: the D2 distributions themselves differ
            assert np.abs(objects[a] - objects[b]).sum() > 0.03, (a, b)


def test_categories_differ_on_average():
    means = {c: np.mean([d2_descriptor(make_object(c, i)) for i in range(3)], axis=0)
             for c in CATEGORIES}
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(means[a] - means[b]).sum() > 0.05, (a, b)


def test_loft_is_closed_and_outward():
    phi = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], -1)
    rings = np.stack([ring, ring + [0, 0, 2.0]])
    m = loft(rings)
    assert m.is_watertight
    # a 16-gon prism of circumradius 1 and height 2
    expected = 2 * 0.5 * 16 * np.sin(2 * np.pi / 16)
    assert m.volume == pytest.approx(expected, rel=1e-6)


def test_normalize_mesh_centers_and_scales():
    m = trimesh.creation.box(extents=(4, 2, 2))
    m.vertices += 10
    normalize_mesh(m)
    np.testing.assert_allclose(m.bounds.mean(0), 0, atol=1e-12)
    assert np.linalg.norm(m.vertices, axis=1).max() == pytest.approx(0.5)


def test_unknown_category_lists_the_known_ones():
    with pytest.raises(WmgeomError, match="unknown stimulus category 'cat'.*chair.*sofa"):
        check_category("cat")
    with pytest.raises(WmgeomError, match="choose from"):
        make_object("spaceship", 0)
