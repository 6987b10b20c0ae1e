"""Shared fixtures and the tiering of the test suite (unit / integration / slow / gpu)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    skip_slow = pytest.mark.skip(reason="slow test: run with -m slow")
    run_slow = "slow" in (config.getoption("-m") or "")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
