"""Anyone's activations and recordings, ready for the analyses of Lei et al. 2024.

:class:`TrialData` (trials × time × units with trial, item and unit descriptors) is built
from numpy arrays plus a pandas table, an xarray Dataset or an NWB file, and turned into
the Activations Dataset every N-back analysis reads (:meth:`TrialData.to_activations`).
:func:`read_data` opens a file of any of these kinds.
"""

from wmgeom.data.files import DATA_SUFFIXES, read_data
from wmgeom.data.trials import FRAME_MODES, TrialData

__all__ = ["DATA_SUFFIXES", "FRAME_MODES", "TrialData", "read_data"]
