"""A contact sheet of a stimulus set: what the model sees (Lei et al. 2024, Fig. A1a).

One row per identity (grouped by category) showing a few view angles, then a row of
example canvases with an object at each of the four locations.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wmgeom.io import atomic_path
from wmgeom.stimuli.stimset import LOCATION_NAMES, StimulusSet


def sheet_angles(stimset: StimulusSet, n_angles: int) -> np.ndarray:
    """Image indices ``[n_identities, n_angles]``: evenly spaced views of every identity."""
    t = stimset.table
    out = []
    for ident in np.unique(t["identity"].to_numpy()):
        rows = np.flatnonzero(t["identity"].to_numpy() == ident)
        rows = rows[np.argsort(t["angle"].to_numpy()[rows], kind="stable")]
        pick = np.linspace(0, len(rows), n_angles, endpoint=False).astype(int)
        out.append(rows[np.minimum(pick, len(rows) - 1)])
    return np.asarray(out)


def contact_sheet(stimset: StimulusSet, path: str | os.PathLike, n_angles: int = 4,
                  dpi: int = 80) -> Path:
    """Draw a labelled PNG grid: categories × identities × ``n_angles`` views, plus canvases.

    Args:
        stimset: the set to show.
        path: PNG file to write (atomically).
        n_angles: views per identity.
        dpi: resolution; at 80 a 112-pixel patch is drawn at about its own size.

    Returns:
        ``path`` as a Path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = stimset.table
    grid = sheet_angles(stimset, n_angles)
    n_rows, n_cols = len(grid) + 1, max(n_angles, stimset.n_locations)
    cell = 1.5
    fig = Figure(figsize=(cell * n_cols + 1.6, cell * n_rows + 0.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    fig.subplots_adjust(left=1.5 / (cell * n_cols + 1.6), right=0.99, top=0.99, bottom=0.01,
                        wspace=0.08, hspace=0.25)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    for r, rows in enumerate(grid):
        first = t.iloc[rows[0]]
        axes[r, 0].set_ylabel(f"{first['category_name']}\n{first['identity_name']}\n"
                              f"({first['split'] if first['split'] == 'val_identity' else 'train'})",
                              rotation=0, ha="right", va="center", fontsize=8)
        for c, i in enumerate(rows):
            ax = axes[r, c]
            ax.imshow(stimset.images[i], interpolation="nearest")
            az, el = t["azimuth"].iat[i], t["elevation"].iat[i]
            label = f"angle {t['angle'].iat[i]}" if np.isnan(az) else f"az {az:.0f}° el {el:.0f}°"
            ax.set_title(label + (" *" if t["split"].iat[i] == "val_angle" else ""), fontsize=6,
                         pad=2)
    # canvases: one object of a different category at each location
    codes = t["category"].to_numpy()
    cats = np.unique(codes)
    pick = [int(np.flatnonzero(codes == cats[k % len(cats)])[0]) for k in
            range(stimset.n_locations)]
    canvases = stimset.canvas(np.asarray(pick), np.arange(stimset.n_locations))
    axes[-1, 0].set_ylabel("canvas\nlocations", rotation=0, ha="right", va="center", fontsize=8)
    for k in range(stimset.n_locations):
        axes[-1, k].imshow(canvases[k], interpolation="bilinear")
        axes[-1, k].set_title(f"location {k}: {LOCATION_NAMES[k]}", fontsize=6, pad=2)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
