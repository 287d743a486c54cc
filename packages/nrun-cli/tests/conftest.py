"""Each test records experiments under its own `$NRUN_HOME`; a `runner` of the CLI in-process.

The helpers that run scripts as real programs live in `tests/scripts.py`: this folder is put on
`sys.path` (pytest runs with `--import-mode=importlib`) so the test files `from scripts import ...`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from nrun import cli  # noqa: E402
from nrun.cli.testing import CliResult, run_cli  # noqa: E402
from scripts import Runner  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path


@pytest.fixture(params=["run_cli", "main"])
def runner(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Runner:
    """`run_cli`, or `cli.main(fn, argv=...)` in this process: the path a real program takes."""
    if request.param == "run_cli":
        return run_cli

    def run_main(
        fn: Callable[..., Any], args: list[str], *, input: str = "", **main: Any
    ) -> CliResult:
        monkeypatch.setattr(sys, "stdin", io.StringIO(input))
        monkeypatch.setattr(sys, "argv", ["script.py"])
        monkeypatch.setenv("COLUMNS", "120")
        monkeypatch.setenv("NO_COLOR", "1")
        capsys.readouterr()
        try:
            cli.main(fn, argv=args, **main)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run_main


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `executors` run where nrun-exec-docker and -slurm are installed (tox env
    nrun-cli-executors); the nrun-cli env, which has neither, skips them."""
    import importlib.util

    wanted = ("nrun.exec.docker", "nrun.exec.slurm")
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} (tox env nrun-cli-executors)")
    for item in items:
        if "executors" in item.keywords:
            item.add_marker(skip)
