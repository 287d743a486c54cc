"""`nemotron recipe …`: the commands of every installed recipe family, loaded only when asked.

The families here are real distributions on a path (a module and a `.dist-info` naming its
`nemotron.recipes` entry point), found by `importlib.metadata` as any installed one is.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import Result

Run = Callable[..., subprocess.CompletedProcess[str]]
Invoke = Callable[..., Result]


@pytest.fixture
def site(tmp_path: Path, family: Callable[..., Path]) -> Path:
    """Two families, `fam_a` (hello, bye) and `fam_b` (greet, wave), on one path."""
    path = tmp_path / "site"
    family(path, "fam_a", "hello", "bye")
    family(path, "fam_b", "greet", "wave")
    return path


@pytest.fixture
def env(site: Path, tmp_path: Path) -> dict[str, str]:
    loaded = tmp_path / "loaded"
    loaded.mkdir()
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "LOADED_DIR": str(loaded)}


def test_every_family_s_commands_are_subcommands(nemotron: Run, env: dict[str, str]) -> None:
    done = nemotron("recipe", "--help", env=env)
    assert done.returncode == 0, done.stderr
    for name in ("hello", "bye", "greet", "wave"):
        assert f" {name} " in done.stdout, name
    assert "Say hello from fam_a." in done.stdout, done.stdout
    for option in ("--config", "--run", "--batch", "--dry-run", "--stage"):
        assert option in done.stdout, option
    assert nemotron("recipe", "wave", env=env).stdout == "bye from fam_b\n"


def test_global_options_go_before_the_subcommand(
    nemotron: Run, env: dict[str, str], root: Path
) -> None:
    done = nemotron("recipe", "-c", "tiny", "-d", "hello", "a.b=1", "--mock", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"fam_a tiny None True ['a.b=1', '--mock'] {root}\n"
    done = nemotron("recipe", "--run", "local", "greet", env=env)
    assert done.stdout == f"fam_b None local False [] {root}\n"


def test_the_registry_is_exported_to_recipes_as_an_absolute_path(
    nemotron: Run, env: dict[str, str], tmp_path: Path
) -> None:
    done = nemotron("--registry", "rel/reg", "recipe", "hello", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(tmp_path / "rel" / "reg")
    done = nemotron("--registry", "s3://bucket/reg", "recipe", "hello", env=env)
    assert done.stdout.split()[-1] == "s3://bucket/reg"


def test_families_load_only_for_the_recipe_group(
    nemotron: Run, env: dict[str, str], tmp_path: Path, root: Path
) -> None:
    loaded = Path(env["LOADED_DIR"])
    assert nemotron("--help", env=env).returncode == 0
    assert nemotron("artifact", "list", env=env).returncode == 0
    assert nemotron("artifact", "--help", env=env).returncode == 0
    assert sorted(p.name for p in loaded.iterdir()) == []
    assert nemotron("recipe", "--help", env=env).returncode == 0
    assert sorted(p.name for p in loaded.iterdir()) == ["fam_a", "fam_b"]


def test_an_unknown_recipe_suggests_the_closest(nemotron: Run, env: dict[str, str]) -> None:
    done = nemotron("recipe", "helo", env=env)
    assert done.returncode == 2
    assert "No such command 'helo'. Did you mean 'hello'?" in done.stderr


def test_a_name_clash_between_two_families_is_one_line(
    nemotron: Run, env: dict[str, str], site: Path, family: Callable[..., Path]
) -> None:
    family(site, "fam_c", "hello", "other")
    for args in (("recipe", "--help"), ("recipe", "greet")):
        done = nemotron(*args, env=env)
        assert done.returncode == 2
        assert done.stderr == (
            "recipe 'hello' is defined by two recipe families, 'fam_a' (fam_a:app) and "
            "'fam_c' (fam_c:app); uninstall one of them\n"
        )
    assert nemotron("artifact", "list", env=env).returncode == 0  # the rest still works


def test_a_family_that_cannot_load_is_one_line(
    nemotron: Run, env: dict[str, str], site: Path, family: Callable[..., Path]
) -> None:
    family(site, "fam_d", "x1", "x2", value="fam_missing:app")
    done = nemotron("recipe", "hello", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "recipe family 'fam_d' (fam_missing:app) cannot be loaded: ModuleNotFoundError: "
        "No module named 'fam_missing'\n"
    )
    verbose = nemotron("--verbose", "recipe", "hello", env=env)
    assert "Traceback" in verbose.stderr and verbose.returncode == 2


def test_a_family_that_is_no_typer_app_is_one_line(
    nemotron: Run, env: dict[str, str], site: Path, family: Callable[..., Path]
) -> None:
    family(site, "fam_e", "y1", "y2", value="fam_e:FAMILY_NAME")
    (site / "fam_e.py").write_text('FAMILY_NAME = "not an app"\n')
    done = nemotron("recipe", "--help", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "recipe family 'fam_e' (fam_e:FAMILY_NAME) is a str, not a typer.Typer of recipes\n"
    )


def test_in_process_with_typer_s_runner(
    invoke: Invoke, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(site))
    done = invoke("recipe", "-d", "hello", "x=1")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("fam_a None None True ['x=1'] ")


def test_the_tiny_family_is_installed_with_the_app(nemotron: Run) -> None:
    from nemotron.recipes.tiny.cli import app

    assert isinstance(app, typer.Typer)
    names = sorted(typer.main.get_group(app).commands)
    assert names
    done = nemotron("recipe", "--help")
    assert done.returncode == 0, done.stderr
    for name in names:
        assert f" {name} " in done.stdout, name
