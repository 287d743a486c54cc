"""The README's commands as a user runs them: every `bash` block, in order, in a fresh folder.

The installed `nemotron` script runs them with a home of its own (so the registry is the
default `~/.nemotron/registry`); `pip install` lines are what put it there, and are skipped.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent


def blocks(lang: str) -> list[str]:
    """The fenced blocks whose info string is `lang` (`""`: a bare fence)."""
    found: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in README.read_text().splitlines(keepends=True):
        if current is None and line.startswith("```"):
            current, info = [], line[3:].strip()
        elif current is not None and line.rstrip() == "```":
            if info == lang:
                found.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def commands() -> list[str]:
    """Every `nemotron …` line of the bash blocks (continuations joined)."""
    text = "\n".join(blocks("bash")).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("nemotron ")]


def test_the_readme_shows_every_command() -> None:
    shown = {" ".join(c.split()[:3]) for c in commands()}
    for command in ("list", "show", "lineage", "verify", "alias", "publish"):
        assert f"nemotron artifact {command}" in shown, command
    assert any(c.startswith("nemotron recipe") for c in shown)
    assert "nemotron kit squash" in shown


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Run the README's bash blocks in order in one folder; each block's output."""
    work = tmp_path_factory.mktemp("readme")
    home = work / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "WANDB_", "NRUN_"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
    )
    outputs = []
    for block in blocks("bash"):
        script = "\n".join(line for line in block.splitlines() if not line.startswith("pip "))
        if not script.strip():
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (
            f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        outputs.append(done.stdout + done.stderr)
    return work, outputs


def test_every_bash_block_runs(readme_run: tuple[Path, list[str]]) -> None:
    work, outputs = readme_run
    quick_start, recipes, artifacts, squash = outputs
    lineage = quick_start.split("nemotron artifact lineage", 1)[-1]
    for name in (
        "tiny-eval:v1",
        "tiny-sft:v1",
        "tiny-pretrain:v1",
        "tiny-blends:v1",
        "tiny-tokens",
    ):
        assert name in lineage, name
    assert "corpus" in lineage  # down to the raw text shipped with the recipes
    assert "Compiled configuration" in recipes and "iters: 5" in recipes
    assert "best → art://tiny-pretrain:v1" in artifacts
    assert "published art://tiny-notes:v1 (1 file, " in artifacts
    assert "art://tiny-pretrain:v2: ok (" in artifacts  # v2: made by the recipe block
    page = (work / "lineage.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    graph = html.unescape(page)  # Graphviz writes the ids' dashes as &#45;
    assert re.search(r'<g id="node-tiny-eval-v\d+" class="node artifact root"', graph)
    assert "enroot import --output /lustre/me/jobs/containers/" in squash
    registry = work / "home" / ".nemotron" / "registry"
    assert (registry / "tiny-notes").is_dir()  # the default registry, under the home


def test_the_errors_shown_are_the_app_s(readme_run: tuple[Path, list[str]]) -> None:
    work, _ = readme_run
    shown = blocks("")[-1].splitlines()
    root = (work / "home" / ".nemotron" / "registry").as_uri()
    env = {**os.environ, "HOME": str(work / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("NEMOTRON_REGISTRY", None)
    for prompt, expected in zip(shown[::2], shown[1::2], strict=True):
        args = prompt.removeprefix("$ nemotron ").split()
        done = subprocess.run(
            [str(BIN / "nemotron"), *args],
            cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 2
        assert done.stderr == expected.replace("file:///home/me/.nemotron/registry", root) + "\n"
