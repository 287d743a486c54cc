"""Shared setup for the integration tests: they build, install and start real things."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds wheels or venvs; takes tens of seconds")
