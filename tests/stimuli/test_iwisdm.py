import numpy as np
import pandas as pd
import pytest
import trimesh

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import StimulusConfig, export_iwisdm, load_mesh_folder, read_iwisdm


def test_export_layout_matches_iwisdm_reader(tiny_set, tmp_path):
    root = export_iwisdm(tiny_set, tmp_path / "iw")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["test", "train", "val"]
    assert "novel" in (root / "README.md").read_text()
    for split, folder in (("train", "train"), ("val_angle", "val"), ("val_identity", "test")):
        csvs = list((root / folder).glob("*.csv"))
        assert len(csvs) == 1 and folder in csvs[0].name
        # iWISDM picks a split's CSV by its name containing the split; no other CSV may match
        others = [p for p in root.rglob("*.csv") if folder in p.name]
        assert others == csvs
        df = pd.read_csv(csvs[0])
        assert list(df.columns[:5]) == ["ref", "ctg_mod", "obj_mod", "ang_mod", "ctg"]
        assert len(df) == len(tiny_set.split_indices(split))
        for ref in df["ref"]:
            assert (root / folder / str(ref) / "image.png").is_file()
        # iWISDM groups refs by category → object → view angle
        assert df.groupby(["ctg_mod", "obj_mod", "ang_mod"]).size().max() == 1
    test = pd.read_csv(root / "test" / "test_metadata.csv")
    train = pd.read_csv(root / "train" / "train_metadata.csv")
    assert set(test["obj_mod"]).isdisjoint(train["obj_mod"])  # novel identities


def test_round_trip_gives_the_same_set(tiny_set, tmp_path):
    root = export_iwisdm(tiny_set, tmp_path / "iw")
    back = read_iwisdm(root, image_size=tiny_set.patch_size)
    pd.testing.assert_frame_equal(back.table, tiny_set.table)
    np.testing.assert_array_equal(back.images, tiny_set.images)
    assert back.background_color == tiny_set.background_color
    np.testing.assert_array_equal(back.canvas([3, 4], [1, 2]), tiny_set.canvas([3, 4], [1, 2]))
    # reading twice gives the same key; re-export replaces an earlier export
    assert read_iwisdm(root, image_size=32).key == back.key
    export_iwisdm(tiny_set, root)


def test_reads_paper_style_folder_without_extra_columns(tmp_path):
    from PIL import Image

    root = tmp_path / "shapenet"
    rng = np.random.default_rng(0)
    for folder, objs in (("train", (0, 1)), ("test", (2,))):
        rows = []
        for ctg in (3, 7):
            for obj in objs:
                for ang in range(2):
                    ref = len(rows)
                    (root / folder / str(ref)).mkdir(parents=True)
                    img = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
                    Image.fromarray(img).save(root / folder / str(ref) / "image.png")
                    rows.append((ref, ctg, obj, ang, {3: "car", 7: "lamp"}[ctg]))
        pd.DataFrame(rows, columns=["ref", "ctg_mod", "obj_mod", "ang_mod", "ctg"]).to_csv(
            root / folder / f"{folder}_set.csv", index=False)
    s = read_iwisdm(root)
    assert s.images.shape == (12, 112, 112, 3)
    assert s.categories == ["car", "lamp"]
    assert s.table["identity"].nunique() == 6
    assert set(s.table["split"]) == {"train", "val_identity"}
    assert s.table["azimuth"].isna().all()
    assert s.background_color == (0, 0, 0)


def test_export_refuses_a_foreign_non_empty_folder(tiny_set, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(WmgeomError, match="not empty.*choose a new folder"):
        export_iwisdm(tiny_set, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_failed_export_leaves_nothing(tiny_set, tmp_path):
    broken = type(tiny_set)(table=tiny_set.table, images=tiny_set.images[:5], key="x")
    with pytest.raises(IndexError):
        export_iwisdm(broken, tmp_path / "half")
    assert not (tmp_path / "half").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def exported(tiny_set, tmp_path):
    return export_iwisdm(tiny_set, tmp_path / "iw")


def test_error_missing_folder(tmp_path):
    with pytest.raises(WmgeomError, match="does not exist"):
        read_iwisdm(tmp_path / "nowhere")


def test_error_empty_folder(tmp_path):
    with pytest.raises(WmgeomError, match="holds no split folder"):
        read_iwisdm(tmp_path)


def test_error_missing_csv(exported):
    (exported / "val" / "val_metadata.csv").unlink()
    with pytest.raises(WmgeomError, match="no CSV for split folder .*'val'"):
        read_iwisdm(exported, image_size=32)


def test_error_csv_missing_columns(exported):
    path = exported / "train" / "train_metadata.csv"
    pd.read_csv(path).drop(columns=["obj_mod", "ang_mod"]).to_csv(path, index=False)
    with pytest.raises(WmgeomError, match="lacks column\\(s\\) obj_mod, ang_mod"):
        read_iwisdm(exported, image_size=32)


def test_error_corrupt_image(exported):
    ref = pd.read_csv(exported / "test" / "test_metadata.csv")["ref"].iloc[0]
    (exported / "test" / str(ref) / "image.png").write_bytes(b"not a png")
    with pytest.raises(WmgeomError, match=f"corrupt stimulus image .*{ref}.*image.png"):
        read_iwisdm(exported, image_size=32)


def test_error_missing_image(exported):
    ref = pd.read_csv(exported / "train" / "train_metadata.csv")["ref"].iloc[2]
    (exported / "train" / str(ref) / "image.png").unlink()
    with pytest.raises(WmgeomError, match="missing stimulus image"):
        read_iwisdm(exported, image_size=32)


# ----------------------------------------------------------------------------- mesh folders


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


def test_read_mesh_keeps_texture_colours_and_turns_y_up_to_z_up(tmp_path):
    from PIL import Image

    from wmgeom.stimuli.iwisdm import read_mesh

    box = trimesh.creation.box(extents=(1, 3, 1))  # tall along y, as a y-up file has it
    uv = np.where(box.vertices[:, :2] > 0, 0.9, 0.1)  # left half red, right half blue
    texture = np.zeros((4, 4, 3), np.uint8)
    texture[:, :2] = [255, 0, 0]
    texture[:, 2:] = [0, 0, 255]
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(texture))
    box.export(tmp_path / "box.glb")
    m = read_mesh(tmp_path / "box.glb", up_axis="y")
    np.testing.assert_allclose(m.extents, [1, 1, 3])
    colours = np.unique(np.asarray(m.visual.face_colors)[:, :3], axis=0)
    assert (colours[:, 0] > 200).any() and (colours[:, 2] > 200).any()
    assert np.allclose(read_mesh(tmp_path / "box.glb", up_axis="z").extents, [1, 3, 1])
