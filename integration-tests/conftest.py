"""Shared setup for the integration tests: they build, install and start real things."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the tests' own helpers beside them (browser.py): `import browser`
    sys.path.insert(0, HERE)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds wheels or venvs; takes tens of seconds")


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Builds every workspace member as users get it: sdist, then a wheel from it, no sources."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["uv", "build", "--all-packages", "--no-sources", "-o", str(out)], cwd=ROOT, check=True
    )
    return {path.name.split("-")[0]: path for path in out.glob("*.whl")}
