"""Recording: a trained model + trials → a labelled Activations Dataset.

:func:`~wmgeom.record.nback.record_activations` records the sensory-cognitive model on
N-back trials (Lei et al. 2024); :func:`~wmgeom.record.orientation.record_orientation` the
continuous-time RNN on two-orientation trials (Cueva et al. 2021). Both return an
:class:`xarray.Dataset` that :func:`wmgeom.io.write_dataset` writes as netCDF, readable
with xarray alone (schemas in ``docs/design.md``).
"""

from wmgeom.record.nback import RecordConfig, record_activations
from wmgeom.record.orientation import record_orientation

__all__ = ["RecordConfig", "record_activations", "record_orientation"]
