"""Small hand-built stimulus tables following the table contract of docs/design.md."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_table(n_categories: int = 4, train_identities: int = 2, heldout_identities: int = 1,
                    n_angles: int = 6, heldout_angles: int = 2, seed: int = 0) -> pd.DataFrame:
    """A shuffled table with non-contiguous category and identity codes.

    Training identities contribute ``n_angles - heldout_angles`` rows to ``train`` and the rest
    to ``val_angle``; held-out identities contribute all their angles to ``val_identity``.
    """
    rows = []
    for c in range(n_categories):
        for i in range(train_identities + heldout_identities):
            heldout = i >= train_identities
            for a in range(n_angles):
                split = "val_identity" if heldout else (
                    "val_angle" if a >= n_angles - heldout_angles else "train")
                rows.append({"category": 10 + 3 * c, "identity": 100 + 7 * (c * 10 + i),
                             "angle": a, "split": split})
    table = pd.DataFrame(rows)
    order = np.random.default_rng(seed).permutation(len(table))
    return table.iloc[order].reset_index(drop=True)


class FakeStimulusSet:
    """Anything with ``.table`` and ``.n_locations`` is accepted as a stimulus set."""

    def __init__(self, table: pd.DataFrame, n_locations: int = 4) -> None:
        self.table = table
        self.n_locations = n_locations
