"""Each test records experiments under its own `$NRUN_HOME`; helpers to run `nrun`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nrun.app._commands import app

# the console script installed beside this interpreter (the tox env's or the workspace's venv)
NRUN = Path(sys.executable).with_name("nrun")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path


@pytest.fixture
def nrun(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `nrun` script in `cwd` (default tmp_path), as a user would."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
        return subprocess.run(
            [str(NRUN), *args],
            cwd=cwd or tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run `nrun` in this process (typer's CliRunner), 200 columns wide, no colours."""

    def run(*args: str) -> Result:
        env = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
        return CliRunner().invoke(app, list(args), env=env)

    return run
