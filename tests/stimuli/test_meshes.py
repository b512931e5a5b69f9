"""User mesh folders as a stimulus source."""

import numpy as np
import pytest
import trimesh

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import StimulusConfig, load_mesh_folder
from wmgeom.stimuli.meshes import read_mesh


def write_mesh_folder(root, kinds=("obj", "off", "glb")):
    shapes = {
        "boxes": [trimesh.creation.box(extents=e) for e in ((1, 1, 1), (2, 1, 0.5), (1, 3, 1))],
        "rods": [trimesh.creation.cylinder(radius=r, height=1.5) for r in (0.1, 0.3, 0.6)],
    }
    for cat, meshes in shapes.items():
        for k, (mesh, kind) in enumerate(zip(meshes, kinds, strict=True)):
            mesh.visual.face_colors = [40 * k + 60, 120, 200, 255]
            d = root / cat / f"id{k}" / "models"
            d.mkdir(parents=True)
            mesh.export(d / f"model.{kind}")
    return root


MESH_CFG = dict(azimuths=4, elevations=[20.0], image_size=24, supersample=1)


def test_load_mesh_folder_renders_user_meshes(tmp_path):
    root = write_mesh_folder(tmp_path / "meshes")
    s = load_mesh_folder(root, StimulusConfig(**MESH_CFG), progress=False)
    assert s.categories == ["boxes", "rods"]
    assert list(s.table["identity_name"].unique()) == [f"{c}/id{k}" for c in ("boxes", "rods")
                                                       for k in range(3)]
    assert s.images.shape == (2 * 3 * 4, 24, 24, 3)
    assert (s.alpha > 0).mean(axis=(1, 2)).min() > 0.02
    assert set(s.table.loc[s.table["identity_name"].str.endswith("id2"), "split"]) == {"val_identity"}
    # cached: a second call gives the same key and pixels
    again = load_mesh_folder(root, StimulusConfig(**MESH_CFG), progress=False)
    assert again.key == s.key
    np.testing.assert_array_equal(again.images, s.images)


def test_mesh_folder_errors(tmp_path):
    with pytest.raises(WmgeomError, match="does not exist"):
        load_mesh_folder(tmp_path / "none", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(WmgeomError, match="is empty"):
        load_mesh_folder(tmp_path / "empty", progress=False)
    root = write_mesh_folder(tmp_path / "m")
    with pytest.raises(WmgeomError, match="no category folder\\(s\\) chair; it has boxes, rods"):
        load_mesh_folder(root, StimulusConfig(categories=["chair"], **MESH_CFG).model_copy(),
                         progress=False)
    with pytest.raises(WmgeomError, match="has 3 identity folder\\(s\\) but the config needs 5"):
        load_mesh_folder(root, StimulusConfig(n_train_identities=4, **MESH_CFG), progress=False)
    (root / "rods" / "id1" / "models" / "model.off").unlink()
    with pytest.raises(WmgeomError, match="holds no mesh file"):
        load_mesh_folder(root, StimulusConfig(**MESH_CFG), progress=False)
    (root / "rods" / "id1" / "models" / "model.off").write_text("OFF\ngarbage here\n")
    with pytest.raises(WmgeomError, match="(cannot read mesh|has no faces) .*model.off"):
        load_mesh_folder(root, StimulusConfig(**MESH_CFG), progress=False)


def test_identity_folder_of_images_points_to_the_iwisdm_layout(tmp_path):
    root = write_mesh_folder(tmp_path / "m")
    ident = root / "rods" / "id1"
    (ident / "models" / "model.off").unlink()
    (ident / "image.png").write_bytes(b"png")
    with pytest.raises(WmgeomError) as exc:
        load_mesh_folder(root, StimulusConfig(**MESH_CFG), progress=False)
    assert str(exc.value) == (
        f"identity folder {ident} holds no mesh file (.obj, .glb, .gltf, .off, .ply, .stl); "
        "it holds images — an iWISDM folder needs its train/val/test split folders (each with "
        "<ref>/image.png and a CSV naming the split) at the top of stimuli.source, or name it "
        "iwisdm:<folder>")


def test_read_mesh_keeps_texture_colors_and_turns_y_up_to_z_up(tmp_path):
    from PIL import Image

    box = trimesh.creation.box(extents=(1, 3, 1))  # tall along y, as a y-up file has it
    uv = np.where(box.vertices[:, :2] > 0, 0.9, 0.1)  # left half red, right half blue
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[:, :2] = [255, 0, 0]
    texture[:, 2:] = [0, 0, 255]
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(texture))
    box.export(tmp_path / "box.glb")
    m = read_mesh(tmp_path / "box.glb", up_axis="y")
    np.testing.assert_allclose(m.extents, [1, 1, 3])
    colors = np.unique(np.asarray(m.visual.face_colors)[:, :3], axis=0)
    assert (colors[:, 0] > 200).any() and (colors[:, 2] > 200).any()
    assert np.allclose(read_mesh(tmp_path / "box.glb", up_axis="z").extents, [1, 3, 1])
