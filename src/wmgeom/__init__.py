"""wmgeom: recurrent-network models of working memory and the geometry of their memories.

Stages follow the data flow: :mod:`wmgeom.stimuli` → :mod:`wmgeom.models` (feature
cache) → :mod:`wmgeom.tasks` → :mod:`wmgeom.models` → :mod:`wmgeom.train` →
:mod:`wmgeom.record` → :mod:`wmgeom.analysis` → :mod:`wmgeom.report`.
"""

from wmgeom.errors import WmgeomError

__version__ = "0.1.0"

__all__ = ["WmgeomError", "__version__"]
