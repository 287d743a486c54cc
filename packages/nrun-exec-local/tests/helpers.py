"""Helpers of the test process: poll with a timeout, never sleep a fixed long time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from nrun.exec._supervisor import process_alive

T = TypeVar("T")


def until(check: Callable[[], T], timeout: float = 20.0, what: str = "the condition") -> T:
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def wait_file(path: Path, timeout: float = 20.0) -> str:
    """The text of `path` once it exists and is not empty."""
    return until(
        lambda: path.read_text() if path.exists() else "", timeout, what=f"file {path}"
    )


def read_json_file(path: Path, timeout: float = 20.0) -> Any:
    """The JSON in `path`, once it has been written whole."""

    def load() -> Any:
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    return until(load, timeout, what=f"JSON in {path}")


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not)."""
    return process_alive(pid, None)


def wait_dead(pid: int, timeout: float = 20.0) -> None:
    """Wait until process `pid` is gone."""
    until(lambda: not alive(pid), timeout, what=f"process {pid} to end")
