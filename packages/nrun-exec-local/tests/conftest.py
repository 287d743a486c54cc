"""Fixtures: a private `$NRUN_HOME` per test, and local executors that can import `jobs`.

The tasks the tests launch live in `tests/jobs.py`. The test process imports it through
`sys.path`; the jobs' subprocesses through `PYTHONPATH`, which the LocalExecutor starts with its
`workdir` (this folder).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from helpers import TESTS  # noqa: E402
from nrun.exec.local import LocalExecutor  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test records its experiments under its own `$NRUN_HOME`, never `~/.nrun`."""
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path


@pytest.fixture
def local() -> Callable[..., LocalExecutor]:
    """Make a LocalExecutor that runs in the tests folder (so `jobs` imports), short grace."""

    def make(**fields: Any) -> LocalExecutor:
        fields.setdefault("workdir", str(TESTS))
        fields.setdefault("cancel_grace", 5.0)
        return LocalExecutor(**fields)

    return make
