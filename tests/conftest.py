"""Test-suite wide setup: the tests folder is importable (shared helpers in ``_runs``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
