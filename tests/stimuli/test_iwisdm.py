import numpy as np
import pandas as pd
import pytest

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import export_iwisdm, read_iwisdm


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
