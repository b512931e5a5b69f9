"""Interoperability: the iWISDM stimulus-folder layout.

iWISDM (the task generator used by Lei et al. 2024) reads a stimulus folder as::

    <root>/train/<ref>/image.png     <root>/train/train_metadata.csv
    <root>/val/<ref>/image.png       <root>/val/val_metadata.csv
    <root>/test/<ref>/image.png      <root>/test/test_metadata.csv

Each split's CSV is found by its file name containing the split's name; a row's image is
``<split folder>/<ref>/image.png``. Columns: ``ref`` (integer image id), ``ctg_mod``
(integer category), ``obj_mod`` (integer object within its category), ``ang_mod``
(integer view angle of that object) and optionally ``ctg`` (category name). We map our
splits as ``train`` → ``train``, ``val_angle`` (novel angles) → ``val`` and
``val_identity`` (novel identities) → ``test``; refs are our image indices, so they are
unique over the whole set, and we add the columns ``obj`` (identity name), ``azimuth`` and
``elevation`` (iWISDM ignores extra columns). Note that iWISDM reads images with OpenCV
without converting BGR to RGB; our PNGs are ordinary RGB.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from wmgeom.errors import WmgeomError
from wmgeom.io import atomic_path, check_out_dir, content_key, progress_bar
from wmgeom.stimuli.stimset import StimulusSet, typed_table

#: Our split → iWISDM's split folder.
SPLIT_FOLDERS = {"train": "train", "val_angle": "val", "val_identity": "test"}
REQUIRED_COLUMNS = ("ref", "ctg_mod", "obj_mod", "ang_mod")
MARKER = ".wmgeom-stimuli"

README = """# Stimulus set in iWISDM layout

Written by wmgeom. Object patches ({size}×{size} px), one folder per image:
`<split>/<ref>/image.png`, described by `<split>/<split>_metadata.csv` with columns
`ref, ctg_mod, obj_mod, ang_mod, ctg` (plus `obj`, `azimuth`, `elevation`).

| folder  | wmgeom split   | contents                                              |
|---------|----------------|-------------------------------------------------------|
| `train` | `train`        | training identities at training view angles           |
| `val`   | `val_angle`    | the same identities at novel (held-out) view angles   |
| `test`  | `val_identity` | novel (held-out) identities of the same categories    |

Categories: {categories}. Images: {n_images}. Set key: `{key}`.
Use it with iWISDM as `make(env_id="ShapeNet", dataset_fp=<this folder>)`, or read it back
with `wmgeom.stimuli.read_iwisdm`.
"""


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise WmgeomError(f"{root} is a file; choose a folder to write the stimuli to")
    check_out_dir(root)  # not the cache, the working directory, nor too long a name
    if root.is_dir() and any(root.iterdir()) and not (root / MARKER).exists():
        raise WmgeomError(f"{root} is not empty and holds no earlier wmgeom stimulus export; "
                          "choose a new folder or empty this one")


def export_iwisdm(stimset: StimulusSet, root: str | os.PathLike) -> Path:
    """Write ``stimset`` as an iWISDM stimulus folder, atomically.

    Args:
        stimset: the set to export.
        root: the folder to create (or an earlier export to replace).

    Returns:
        ``root`` as a Path.
    """
    root = Path(root)
    _check_target(root)
    with atomic_path(root) as tmp:
        tmp.mkdir()
        write_iwisdm(stimset, tmp)
    return root


def iwisdm_table(stimset: StimulusSet) -> pd.DataFrame:
    """The iWISDM metadata of every image (``ref`` = image index), with a ``split`` column."""
    t = stimset.table
    obj_mod = t.groupby("category")["identity"].rank(method="dense").astype(np.int64) - 1
    return pd.DataFrame({
        "ref": np.arange(len(t), dtype=np.int64),
        "ctg_mod": t["category"].to_numpy(),
        "obj_mod": obj_mod.to_numpy(),
        "ang_mod": t["angle"].to_numpy(),
        "ctg": t["category_name"].to_numpy(),
        "obj": t["identity_name"].to_numpy(),
        "azimuth": t["azimuth"].to_numpy(),
        "elevation": t["elevation"].to_numpy(),
        "split": t["split"].to_numpy(),
    })


def write_iwisdm(stimset: StimulusSet, folder: Path) -> None:
    """Write the iWISDM layout into an existing (empty) ``folder``."""
    from PIL import Image

    meta = iwisdm_table(stimset)
    for split, name in SPLIT_FOLDERS.items():
        rows = meta[meta["split"] == split].drop(columns="split")
        if rows.empty:
            continue
        split_dir = folder / name
        split_dir.mkdir()
        for ref in rows["ref"].to_numpy():
            (split_dir / str(ref)).mkdir()
            Image.fromarray(stimset.images[ref]).save(split_dir / str(ref) / "image.png",
                                                      compress_level=1)
        rows.to_csv(split_dir / f"{name}_metadata.csv", index=False)
    (folder / "README.md").write_text(README.format(
        size=stimset.patch_size, categories=", ".join(stimset.categories),
        n_images=len(stimset), key=stimset.key))
    (folder / MARKER).write_text(stimset.key + "\n")


def _find_csv(root: Path, split_dir: Path, name: str) -> Path:
    inside = sorted(f for f in split_dir.glob("*.csv") if name in f.name)
    anywhere = sorted(f for f in root.rglob("*.csv") if name in f.name)
    found = inside or anywhere
    if not found:
        raise WmgeomError(
            f"no CSV for split folder {split_dir}: iWISDM needs a CSV whose name contains "
            f"'{name}' (e.g. {split_dir}/{name}_metadata.csv) with columns "
            f"{', '.join(REQUIRED_COLUMNS)}[, ctg]"
        )
    return found[0]


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise WmgeomError(f"cannot read stimulus CSV {path} ({exc}); rewrite it as a CSV with "
                          f"columns {', '.join(REQUIRED_COLUMNS)}[, ctg]") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise WmgeomError(f"stimulus CSV {path} lacks column(s) {', '.join(missing)}; it needs "
                          f"{', '.join(REQUIRED_COLUMNS)}[, ctg]")
    if df.empty:
        raise WmgeomError(f"stimulus CSV {path} lists no images (a header only); add its rows "
                          "or remove the split folder")
    for c in REQUIRED_COLUMNS:
        if not pd.api.types.is_integer_dtype(df[c]):
            raise WmgeomError(f"stimulus CSV {path}: column {c} must hold integers")
    repeated = df["ref"][df["ref"].duplicated()].unique()
    if len(repeated):
        raise WmgeomError(f"stimulus CSV {path} lists ref {repeated[0]} more than once; keep "
                          "one row per image")
    return df


def _one_split_per_view(frames: list[pd.DataFrame], root: Path) -> None:
    """Refuse a view (category, object, angle) listed in two splits: a held-out split
    would then hold an image the model trained on.

    Raises:
        WmgeomError: Naming the view, its refs and the two splits.
    """
    keys = ["ctg_mod", "obj_mod", "ang_mod"]
    both = pd.concat(frames, ignore_index=True)
    dup = both[both.duplicated(keys, keep=False)]
    for _, rows in dup.groupby(keys, sort=False):
        if rows["split"].nunique() > 1:
            first, second = rows.iloc[0], rows[rows["split"] != rows.iloc[0]["split"]].iloc[0]
            raise WmgeomError(
                f"{root}: the view ctg_mod={first['ctg_mod']}, obj_mod={first['obj_mod']}, "
                f"ang_mod={first['ang_mod']} is in two splits ({SPLIT_FOLDERS[first['split']]} "
                f"ref {first['ref']}, {SPLIT_FOLDERS[second['split']]} ref {second['ref']}); "
                "each image belongs to one split: remove one of the rows")


def _read_image(path: Path, size: int, digest) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise WmgeomError(f"missing stimulus image {path}; every CSV row needs "
                          "<split>/<ref>/image.png — restore the file or drop its row")
    data = path.read_bytes()
    digest.update(data)
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode.startswith("I"):  # 16-bit greyscale: scale to 8 bits, not clip
                scaled = np.asarray(im, dtype=np.float64) / 257.0
                im = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
            im = im.convert("RGB")  # palette, greyscale, RGBA (alpha dropped, as iWISDM does)
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise WmgeomError(f"corrupt stimulus image {path} ({exc}); re-render or replace it") \
            from None


def _is_empty(folder: Path) -> bool:
    return not any(p for p in folder.iterdir() if not p.name.startswith("."))


def read_iwisdm(root: str | os.PathLike, image_size: int = 112,
                progress: bool = False) -> StimulusSet:
    """Read an iWISDM stimulus folder (ours, or the ShapeNet renders of Lei et al. 2024).

    Any subset of the split folders may be present (an empty split folder counts as
    absent); ``stimset.splits`` of the result lists those read. Images may have any size
    and mode (RGB, RGBA, greyscale, palette, 16-bit): they are converted to RGB (an alpha
    channel is dropped, as iWISDM's OpenCV reader does) and resized.

    Args:
        root: folder holding ``train``/``val``/``test`` split folders and their CSVs.
        image_size: patch side; images of another size are resized.
        progress: show a progress bar while reading images.

    Returns:
        A StimulusSet; ``val`` maps to ``val_angle`` and ``test`` to ``val_identity``.
        Without our extra columns, identity names are ``<ctg>_<obj_mod>`` and azimuth and
        elevation are NaN. Its key hashes every CSV and image file and ``image_size``.
    """
    root = Path(root)
    if not root.is_dir():
        raise WmgeomError(f"stimulus folder {root} does not exist; pass a folder in iWISDM "
                          "layout (<root>/train|val|test/<ref>/image.png plus CSVs)")
    present = [(s, root / f) for s, f in SPLIT_FOLDERS.items()
               if (root / f).is_dir() and not _is_empty(root / f)]
    if not present:
        raise WmgeomError(f"{root} holds no split folder (train, val or test); it is not an "
                          "iWISDM stimulus folder")
    digest = hashlib.sha256()
    frames = []
    for split, split_dir in present:
        csv = _find_csv(root, split_dir, SPLIT_FOLDERS[split])
        df = _read_csv(csv)
        digest.update(csv.read_bytes())
        df["split"] = split
        frames.append(df)
    _one_split_per_view(frames, root)
    images = []
    with progress_bar(sum(map(len, frames)), f"reading {root.name}", "img",
                      enabled=progress) as bar:
        for (_, split_dir), df in zip(present, frames, strict=True):
            for ref in df["ref"].to_numpy():
                images.append(_read_image(split_dir / str(ref) / "image.png", image_size,
                                          digest))
                bar.update(1)
    meta = pd.concat(frames, ignore_index=True)
    if not len(meta):
        raise WmgeomError(f"the CSVs in {root} list no images; add rows or re-export the set")
    order = np.argsort(meta["ref"].to_numpy(), kind="stable") if meta["ref"].is_unique else \
        np.arange(len(meta))
    meta = meta.iloc[order].reset_index(drop=True)
    stack = np.stack(images)[order]
    table = _table_from_iwisdm(meta)
    key = content_key({"iwisdm": digest.hexdigest(), "image_size": image_size})
    return StimulusSet(table=table, images=stack, key=key, background_color=_corner_color(stack))


def _table_from_iwisdm(meta: pd.DataFrame) -> pd.DataFrame:
    cat_values, category = np.unique(meta["ctg_mod"].to_numpy(), return_inverse=True)
    if "ctg" in meta.columns:
        names = meta.groupby("ctg_mod")["ctg"].first().astype(str)
        cat_names = [names[v] for v in cat_values]
    else:
        cat_names = [f"category{v}" for v in cat_values]
    pairs = np.stack([category, meta["obj_mod"].to_numpy()], axis=1)
    _, identity = np.unique(pairs, axis=0, return_inverse=True)
    identity = identity.ravel()
    category_name = np.asarray(cat_names, dtype=object)[category]
    if "obj" in meta.columns:
        identity_name = meta["obj"].astype(str).to_numpy(dtype=object)
    else:
        identity_name = np.array([f"{c}_{o}" for c, o in zip(category_name, meta["obj_mod"],
                                                              strict=True)], dtype=object)
    nan = np.full(len(meta), np.nan)
    table = pd.DataFrame({
        "category": category.astype(np.int64),
        "category_name": category_name,
        "identity": identity.astype(np.int64),
        "identity_name": identity_name,
        "angle": meta["ang_mod"].to_numpy().astype(np.int64),
        "azimuth": meta["azimuth"].to_numpy(float) if "azimuth" in meta else nan,
        "elevation": meta["elevation"].to_numpy(float) if "elevation" in meta else nan,
        "split": meta["split"].to_numpy(dtype=object),
    })
    return typed_table(table)


def _corner_color(images: np.ndarray) -> tuple[int, int, int]:
    """The images' shared corner colour (their plain background), else black like iWISDM."""
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]].reshape(-1, 3).astype(float)
    if np.ptp(corners, axis=0).max() <= 2:
        return tuple(int(c) for c in np.rint(np.median(corners, axis=0)))
    return (0, 0, 0)
