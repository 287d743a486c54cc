"""`nemotron --help` is fast: no recipe, fiddle, fsspec backend, W&B, docker or paramiko."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

HEAVY = (
    "wandb",
    "s3fs",
    "fiddle",
    "libcst",
    "docker",
    "paramiko",
    "omegaconf",
    "numpy",
    "nrun.config",
    "nemotron.recipes",
    "nemotron.kit.cli.recipe",
)

# runs `nemotron ARGS` in a fresh interpreter and prints the modules it imported, as JSON
PROBE = """
import json, sys
from nemotron.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(*args: str, cwd: Path) -> set[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return set(json.loads(done.stderr.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [("--help",), (), ("artifact", "--help"), ("kit", "--help"), ("--version",)],
    ids=repr,
)
def test_help_imports_nothing_heavy(args: tuple[str, ...], tmp_path: Path) -> None:
    modules = imported(*args, cwd=tmp_path)
    assert "nemotron.app._commands" in modules
    assert heavy(modules) == []
    assert "nemotron.kit" not in modules  # not even the kit's package


def test_artifact_commands_load_no_recipe_nor_backend(tmp_path: Path) -> None:
    modules = imported("artifact", "list", cwd=tmp_path)
    assert "nemotron.registry.registry" in modules
    assert heavy(modules) == []


def test_help_by_import_time(tmp_path: Path) -> None:
    """The same with `-X importtime`: what `python -m nemotron.app --help` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nemotron.app", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "typer" in names and "nemotron.app._commands" in names
    assert heavy(names) == []
