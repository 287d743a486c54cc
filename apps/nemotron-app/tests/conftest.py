"""A real local registry per test, recipe families on a path, and two ways to run `nemotron`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nemotron.app._commands import app
from nemotron.registry import ArtifactRegistry

Run = Callable[..., subprocess.CompletedProcess[str]]
Invoke = Callable[..., Result]

QUIET = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own (`~/.nemotron/registry`, `~/.nrun`), and the registry in the env."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.setenv("NRUN_HOME", str(path / ".nrun"))
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(tmp_path / "registry"))
    for name in list(os.environ):
        if name.startswith("WANDB_"):
            monkeypatch.delenv(name)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
def registry(root: Path) -> ArtifactRegistry:
    """A registry holding a small pipeline: raw text → tokens (v1, v2) → blend → model."""
    reg = ArtifactRegistry(root)
    src = root.parent / "src"
    for folder, files in {
        "raw": {"corpus.txt": "the quick brown fox\n", "LICENSE": "CC-BY\n"},
        "tokens": {"tokens.bin": "0123456789", "vocab.json": '{"a": 1}'},
        "blend": {"blend.json": '{"weights": [0.7, 0.3]}'},
        "model": {"model.npz": "weights", "config.json": "{}"},
    }.items():
        for rel, text in files.items():
            (src / folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / folder / rel).write_text(text)
    reg.publish(
        "tiny/raw",
        src / "raw",
        metadata={"type": "RawTextArtifact"},
        inputs=["https://example.com/corpus.txt"],
    )
    reg.publish("tiny/tokens", src / "tokens", metadata={"type": "TokensArtifact", "n": 10})
    reg.publish(
        "tiny/tokens",
        src / "tokens",
        metadata={"type": "TokensArtifact", "n": 10},
        inputs=["art://tiny/raw:v1"],
    )
    reg.publish(
        "tiny/blend",
        src / "blend" / "blend.json",
        metadata={"type": "DataBlendsArtifact"},
        inputs=["art://tiny/tokens:latest", "art://tiny/raw:v1"],
    )
    reg.publish(
        "tiny/model",
        src / "model",
        metadata={"type": "ModelArtifact", "loss": 1.25},
        inputs=["art://tiny/blend"],
    )
    reg.alias("tiny/tokens", "prod", 1)
    return reg


@pytest.fixture
def nemotron(tmp_path: Path) -> Run:
    """Run `python -m nemotron.app` in a real process, in `cwd` (default tmp_path)."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nemotron.app", *args],
            cwd=cwd or tmp_path,
            env={**os.environ, **QUIET, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


@pytest.fixture
def invoke() -> Invoke:
    """Run `nemotron` in this process (typer's CliRunner), 200 columns wide, no colours."""

    def run(*args: str, color: bool = False) -> Result:
        return CliRunner().invoke(app, list(args), env=QUIET, color=color)

    return run


def _tree(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.fixture
def files() -> Callable[[Path], dict[str, bytes]]:
    """Every file under a folder and its bytes: to check that a failed command wrote nothing."""
    return _tree


FAMILY = """
import os
import pathlib

import typer

if os.environ.get("LOADED_DIR"):  # a trace that the family was imported
    pathlib.Path(os.environ["LOADED_DIR"], "{module}").touch()

app = typer.Typer()


@app.command(context_settings={{"allow_extra_args": True, "ignore_unknown_options": True}})
def {first}(ctx: typer.Context) -> None:
    \"\"\"Say hello from {module}.\"\"\"
    obj = ctx.obj
    print("{module}", obj.config, obj.run, obj.dry_run, ctx.args, os.environ["NEMOTRON_REGISTRY"])


@app.command()
def {second}() -> None:
    \"\"\"Say bye from {module}.\"\"\"
    print("bye from {module}")
"""


def _add_family(site: Path, module: str, first: str, second: str, value: str = "") -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(
        textwrap.dedent(FAMILY.format(module=module, first=first, second=second))
    )
    info = site / f"{module}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        f"[nemotron.recipes]\n{module} = {value or f'{module}:app'}\n"
    )
    return site


@pytest.fixture
def family() -> Callable[..., Path]:
    """Install a recipe family in a folder: a module and a dist-info naming its entry point."""
    return _add_family
