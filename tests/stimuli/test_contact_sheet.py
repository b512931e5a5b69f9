import numpy as np
import pytest
from PIL import Image

from wmgeom.errors import WmgeomError
from wmgeom.stimuli import StimulusConfig, contact_sheet, read_iwisdm, render_to_folder
from wmgeom.stimuli.contact_sheet import sheet_angles

from .conftest import TINY


def test_sheet_angles_are_evenly_spaced_views_of_every_identity(tiny_set):
    grid = sheet_angles(tiny_set, 3)
    assert grid.shape == (6, 3)
    t = tiny_set.table
    for rows in grid:
        assert t["identity"].iloc[rows].nunique() == 1
        np.testing.assert_array_equal(t["angle"].iloc[rows], [0, 2, 4])


def test_contact_sheet_writes_a_png(tiny_set, tmp_path):
    path = contact_sheet(tiny_set, tmp_path / "sheet.png", n_angles=3)
    with Image.open(path) as im:
        w, h = im.size
        pixels = np.asarray(im.convert("RGB"))
    assert h > w  # one row per identity plus a canvas row
    assert pixels.std() > 10


def test_render_to_folder_writes_layout_and_sheet(tmp_path):
    out = tmp_path / "stimuli"
    s = render_to_folder(out, StimulusConfig(**TINY), progress=False)
    assert (out / "contact_sheet.png").is_file()
    assert (out / "README.md").is_file()
    back = read_iwisdm(out, image_size=32)
    np.testing.assert_array_equal(back.images, s.images)
    # writing again into its own earlier output is allowed; into a foreign folder is not
    render_to_folder(out, StimulusConfig(**TINY), progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(WmgeomError, match="not empty"):
        render_to_folder(tmp_path / "other", StimulusConfig(**TINY), progress=False)
