"""Helpers of the test process: poll with a timeout, never sleep a fixed long time."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from nrun.exec._supervisor import process_alive

T = TypeVar("T")
TESTS = Path(__file__).resolve().parent
"""This folder: the tasks' `workdir`, so that `import jobs` works in their subprocesses."""


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
    return until(lambda: path.read_text() if path.exists() else "", timeout, what=f"file {path}")


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


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with an identity of its own; return its output."""
    done = subprocess.run(
        ["git", "-c", "user.name=nrun tests", "-c", "user.email=tests@nrun.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository at `root` holding `files` in one commit."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root
