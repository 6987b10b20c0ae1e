"""Moved: the one DCD parser is :mod:`common.dcd` (analysis reads DCDs too and may not import simulation/).

This module is only an import alias for the modules not yet switched (``simulation/reporters.py``,
``tests/test_simulation_production.py``); delete it once they import :mod:`common.dcd`.
"""

from common.dcd import AKMA_TIME_PS, DcdHeader, read_header, read_positions, truncate  # noqa: F401
