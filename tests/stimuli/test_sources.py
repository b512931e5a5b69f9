"""Every kind of stimuli.source behind load_stimuli: procedural, mesh folders, iWISDM folders."""

import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import (
    StimulusConfig,
    export_iwisdm,
    is_iwisdm_folder,
    load_or_render,
    load_stimuli,
    read_iwisdm,
)
from wmgeom.stimuli.sources import source_kind

from .test_meshes import MESH_CFG, write_mesh_folder


def _palette_image():
    image = Image.new("P", (48, 48), 3)
    image.putpalette([0, 0, 0] * 3 + [250, 20, 90] + [0, 0, 0] * 252)
    return image


#: One uniform 48-pixel image per (category, object), in each PIL mode a real folder may
#: hold, and the RGB it must read as.
MODES = {
    (0, 0): (Image.new("RGBA", (48, 48), (10, 200, 30, 128)), (10, 200, 30)),
    (0, 1): (Image.new("L", (48, 48), 77), (77, 77, 77)),
    (1, 0): (_palette_image(), (250, 20, 90)),
    (1, 1): (Image.fromarray(np.full((48, 48), 257 * 100, np.uint16)), (100, 100, 100)),
}


def write_two_split_folder(root, with_ctg=True):
    """An iWISDM folder as people have them: train and val only, 2 images per object."""
    ref = 0
    for split, angles in (("train", (0, 1)), ("val", (2,))):
        rows = []
        for (ctg, obj), (image, _) in MODES.items():
            for ang in angles:
                (root / split / str(ref)).mkdir(parents=True)
                image.save(root / split / str(ref) / "image.png")
                rows.append({"ref": ref, "ctg_mod": 5 + ctg, "obj_mod": obj, "ang_mod": ang,
                             **({"ctg": ("mug", "lamp")[ctg]} if with_ctg else {})})
                ref += 1
        pd.DataFrame(rows).to_csv(root / split / f"shapenet_{split}_set.csv", index=False)
    return root


@pytest.fixture
def two_splits(tmp_path):
    return write_two_split_folder(tmp_path / "iw")


def test_iwisdm_folder_with_two_splits_is_a_source(two_splits):
    s = load_stimuli(StimulusConfig(source=str(two_splits), image_size=32), progress=False)
    assert s.splits == ("train", "val_angle")
    assert len(s.split_indices("val_identity")) == 0
    assert s.images.shape == (12, 32, 32, 3) and s.images.dtype == np.uint8
    assert s.categories == ["mug", "lamp"]
    t = s.table
    assert t["identity"].nunique() == 4
    assert sorted(t.loc[t["split"] == "val_angle", "angle"].unique()) == [2]
    assert t["azimuth"].isna().all()  # angles only as ang_mod
    assert len(s.canvas([0, 11], [0, 3])) == 2


def test_images_of_every_mode_and_size_read_as_rgb(two_splits):
    s = load_stimuli(StimulusConfig(source=str(two_splits), image_size=32), progress=False)
    t = s.table
    for (ctg, obj), (_, rgb) in MODES.items():
        rows = np.flatnonzero((t["category"] == ctg).to_numpy() & (
            t["identity_name"] == f"{('mug', 'lamp')[ctg]}_{obj}").to_numpy())
        assert len(rows) == 3
        np.testing.assert_array_equal(s.images[rows], np.broadcast_to(rgb, (3, 32, 32, 3)))


def test_explicit_prefix_reads_the_same_set(two_splits):
    by_layout = load_stimuli(StimulusConfig(source=str(two_splits)), progress=False)
    by_prefix = load_stimuli(StimulusConfig(source=f"iwisdm:{two_splits}"), progress=False)
    pd.testing.assert_frame_equal(by_layout.table, by_prefix.table)
    np.testing.assert_array_equal(by_layout.images, by_prefix.images)
    assert by_layout.key == by_prefix.key
    assert source_kind(f"iwisdm:{two_splits}") == ("iwisdm", two_splits)
    assert source_kind(str(two_splits)) == ("iwisdm", two_splits)


def test_key_depends_on_image_size(two_splits):
    small = load_stimuli(StimulusConfig(source=str(two_splits), image_size=32), progress=False)
    large = load_stimuli(StimulusConfig(source=str(two_splits), image_size=48), progress=False)
    assert small.key != large.key and large.images.shape[1] == 48


def test_folder_without_category_names_and_with_an_empty_test_split(tmp_path):
    root = write_two_split_folder(tmp_path / "iw", with_ctg=False)
    (root / "test").mkdir()  # present but empty: no such split
    s = load_stimuli(StimulusConfig(source=str(root)), progress=False)
    assert s.splits == ("train", "val_angle")
    assert s.categories == ["category5", "category6"]


def test_png_folders_without_a_csv_are_an_iwisdm_folder_with_a_clear_error(two_splits):
    """Before, this layout was taken for a mesh folder: 'identity folder …/train/0 holds no
    mesh file'."""
    for csv in two_splits.rglob("*.csv"):
        csv.unlink()
    assert is_iwisdm_folder(two_splits)
    with pytest.raises(WmgeomError) as exc:
        load_stimuli(StimulusConfig(source=str(two_splits)), progress=False)
    assert str(exc.value).startswith(f"no CSV for split folder {two_splits / 'train'}: iWISDM "
                                     "needs a CSV whose name contains 'train'")


def test_only_some_categories(two_splits):
    s = load_stimuli(StimulusConfig(source=str(two_splits), categories=["lamp"]), progress=False)
    assert s.categories == ["lamp"] and len(s) == 6
    assert sorted(s.table["identity"].unique()) == [0, 1]
    assert set(s.table["category"]) == {0}
    full = load_stimuli(StimulusConfig(source=str(two_splits)), progress=False)
    np.testing.assert_array_equal(s.images, full.images[full.table["category_name"] == "lamp"])
    assert s.key != full.key
    with pytest.raises(WmgeomError) as exc:
        load_stimuli(StimulusConfig(source=str(two_splits), categories=["lamp", "chair"]),
                     progress=False)
    assert str(exc.value) == (f"stimuli.categories 'chair' not in {two_splits}; it has mug, "
                              "lamp (or set categories to null for all of them)")


def test_export_round_trip_with_the_novel_identities_removed(tiny_set, tmp_path):
    root = export_iwisdm(tiny_set, tmp_path / "iw")
    whole = load_stimuli(StimulusConfig(source=str(root), image_size=tiny_set.patch_size),
                         progress=False)
    pd.testing.assert_frame_equal(whole.table, tiny_set.table)
    np.testing.assert_array_equal(whole.images, tiny_set.images)
    assert whole.splits == ("train", "val_angle", "val_identity")

    shutil.rmtree(root / "test")
    part = load_stimuli(StimulusConfig(source=str(root), image_size=tiny_set.patch_size),
                        progress=False)
    kept = tiny_set.table["split"] != "val_identity"
    assert part.splits == ("train", "val_angle")
    np.testing.assert_array_equal(part.images, tiny_set.images[kept.to_numpy()])
    expected = tiny_set.table[kept].reset_index(drop=True)
    for column in ("category", "category_name", "identity_name", "angle", "azimuth",
                   "elevation", "split"):
        pd.testing.assert_series_equal(part.table[column], expected[column])
    assert part.table["identity"].nunique() == expected["identity"].nunique()


def test_procedural_and_mesh_sources_render_as_before(tiny_config, tmp_path):
    a = load_stimuli(tiny_config, cache_dir=tmp_path / "c", progress=False)
    b = load_or_render(tiny_config, cache_dir=tmp_path / "c", progress=False)
    assert a.key == b.key and a.splits == ("train", "val_angle", "val_identity")
    np.testing.assert_array_equal(a.images, b.images)

    root = write_mesh_folder(tmp_path / "meshes")
    assert not is_iwisdm_folder(root) and source_kind(str(root)) == ("meshes", root)
    s = load_stimuli(StimulusConfig(source=str(root), **MESH_CFG), cache_dir=tmp_path / "c",
                     progress=False)
    assert s.categories == ["boxes", "rods"] and len(s) == 24


def test_mesh_folder_with_categories_named_like_splits_is_a_mesh_folder(tmp_path):
    root = write_mesh_folder(tmp_path / "meshes")
    (root / "boxes").rename(root / "train")
    for d in (root / "train").iterdir():
        (d / "image.png").write_bytes(b"a texture")  # beside its mesh
    assert not is_iwisdm_folder(root)
    assert source_kind(str(root))[0] == "meshes"


def test_missing_source_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(WmgeomError) as exc:
        load_stimuli(StimulusConfig(source=str(missing)), progress=False)
    assert str(exc.value) == (
        f"stimulus source {missing} does not exist; set stimuli.source to 'procedural', to a "
        "folder of meshes (<category>/<identity>/<mesh file>) or to an iWISDM folder "
        "(<split>/<ref>/image.png plus a CSV per split; or iwisdm:<folder>)")
    with pytest.raises(WmgeomError, match=f"stimulus folder {missing} does not exist"):
        load_stimuli(StimulusConfig(source=f"iwisdm:{missing}"), progress=False)


def test_reading_progress_outside_a_terminal_is_a_few_plain_lines(two_splits, capsys):
    read_iwisdm(two_splits, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert 1 <= len(lines) <= 21 and lines[-1].startswith("reading iw: 12/12 img (100%)")
