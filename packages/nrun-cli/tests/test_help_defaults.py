"""`--help` shows what a run starts from (the default factory's values), secrets masked, and
every option name whole on an 80-column terminal."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import typer.main

from nrun.cli._command import build_app
from scripts import run_py, write
from test_help import panel

HEADER = """
from dataclasses import dataclass
from nrun import cli
from nrun.config import Config, Partial


@dataclass
class Creds:
    user: str = "me"
    hf_token: str = "sig-token"


@dataclass
class Model:
    size: int = 1
    layers: int = 2


@cli.entrypoint
def train(
    model: Model,
    creds: Creds = Creds(),
    epochs: int = 10,
    api_key: str = "sig-key",
    lr: float = 0.1,
):
    print("ran")
"""


def help_of(tmp_path: Path, body: str, columns: int = 200) -> str:
    write(tmp_path / "task.py", HEADER + body)
    done: subprocess.CompletedProcess[str] = run_py(
        tmp_path, "task.py", "--help", columns=columns, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "ran" not in done.stdout.split()
    return done.stdout


def arguments(text: str) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in panel(text, "Arguments")}


MAIN_FACTORY = """

def recipe():
    return Partial(train, model=Config(Model, size=512), epochs=99,
                   creds=Config(Creds, hf_token="sig-nested"))


if __name__ == "__main__":
    cli.main(train, default_factory=recipe)
"""


def test_help_shows_the_default_factorys_values(tmp_path: Path) -> None:
    text = help_of(tmp_path, MAIN_FACTORY)
    assert "╭─ Arguments (defaults from recipe) " in text
    rows = arguments(text)
    assert rows["model"] == ["task.Model", "Model(size=512)"]
    assert rows["epochs"] == ["int", "99"]
    assert rows["lr"] == ["float", "0.1"]  # not given by the factory: the signature's


def test_help_masks_secrets_in_the_defaults_at_any_depth(tmp_path: Path) -> None:
    text = help_of(tmp_path, MAIN_FACTORY)
    rows = arguments(text)
    assert rows["creds"] == ["task.Creds", "Creds(hf_token='****')"]
    assert rows["api_key"] == ["str", "'****'"]
    assert "sig-" not in text


TARGET_DEFAULT = """

@cli.factory(target=train, is_target_default=True)
def recipe() -> Partial:
    return Partial(train, model=Config(Model, size=7), epochs=3)


@cli.factory(target=train, target_arg="model", is_target_default=True)
def deep_model() -> Model:
    return Model(size=64, layers=48)


if __name__ == "__main__":
    cli.main(train)
"""


def test_help_shows_a_registered_default_and_argument_defaults(tmp_path: Path) -> None:
    text = help_of(tmp_path, TARGET_DEFAULT)
    assert "╭─ Arguments (defaults from recipe, deep_model) " in text
    rows = arguments(text)
    assert rows["model"] == ["task.Model", "Model(size=64, layers=48)"]
    assert rows["epochs"] == ["int", "3"]
    assert rows["creds"][0] == "task.Creds"
    assert "sig-token" not in text


def test_help_without_a_default_factory_shows_the_signature(tmp_path: Path) -> None:
    text = help_of(tmp_path, '\n\nif __name__ == "__main__":\n    cli.main(train)\n')
    assert "╭─ Arguments ─" in text
    rows = arguments(text)
    assert rows["epochs"] == ["int", "10"]
    assert rows["api_key"] == ["str", "'****'"]
    assert rows["creds"] == ["task.Creds", "Creds(user='me', hf_token='****')"]


def test_help_survives_a_failing_default_factory(tmp_path: Path) -> None:
    body = """

def recipe():
    raise RuntimeError("no recipe today")


if __name__ == "__main__":
    cli.main(train, default_factory=recipe)
"""
    rows = arguments(help_of(tmp_path, body))
    assert rows["epochs"] == ["int", "10"]


def _option_names() -> list[str]:
    def fn(x: int = 1) -> None: ...

    command = typer.main.get_command(build_app(fn))
    options = [p for p in command.params if p.param_type_name == "option"]
    names = [n for p in options for n in (*p.opts, *p.secondary_opts)]
    return [*names, "--help"]


@pytest.mark.parametrize("columns", [80, 100])
def test_no_option_name_is_cut_at_80_columns(tmp_path: Path, columns: int) -> None:
    text = help_of(tmp_path, '\n\nif __name__ == "__main__":\n    cli.main(train)\n', columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    assert "…" not in panel_text(text, "Options")
    names = _option_names()
    assert "--rich-traceback-short" in names and "--rich-traceback-full" in names
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), name


def panel_text(text: str, title: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title}"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    return "\n".join(lines[start:end])
