"""The running script's module is named as it is imported, on every path: `python -m pkg.mod`
exports `pkg.mod.fn` and lists `pkg.mod.big`; `python pkg/mod.py` names the stem `mod`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nrun.cli._names import module_name
from nrun.config import load
from scripts import run_py, write
from test_help import panel

MODULE = """
from dataclasses import dataclass
from nrun import cli


@dataclass
class Model:
    size: int = 1


@cli.factory
def big() -> Model:
    return Model(size=100)


@cli.entrypoint
def fn(model: Model, epochs: int = 1):
    print(f"size={model.size} epochs={epochs}")


if __name__ == "__main__":
    cli.main(fn)
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "mod.py", MODULE)
    return tmp_path


def test_a_lazy_export_of_python_m_names_the_package(package: Path) -> None:
    done = run_py(package, "-m", "pkg.mod", "--lazy", "--to-yaml", "out.yaml", "epochs=2")
    assert done.returncode == 0, done.stderr
    assert "target: pkg.mod.fn" in (package / "out.yaml").read_text()
    built = load(package / "out.yaml")
    assert built.target == "pkg.mod.fn"


def test_the_lazy_target_imports_and_runs(package: Path) -> None:
    done = run_py(package, "-m", "pkg.mod", "--lazy", "--to-yaml", "out.yaml", "model=big")
    assert done.returncode == 0, done.stderr
    ran = subprocess.run(
        [sys.executable, "-c", "from nrun.config import build, load; build(load('out.yaml'))()"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ran.returncode, ran.stdout) == (0, "size=100 epochs=1\n"), ran.stderr


def test_help_of_python_m_names_the_package(package: Path) -> None:
    done = run_py(package, "-m", "pkg.mod", "--help", columns=200)
    assert done.returncode == 0, done.stderr
    [row] = panel(done.stdout, "Factory for model: pkg.mod.Model")
    assert row[:2] == ["big", "pkg.mod.big"]
    assert ["model", "pkg.mod.Model"] in panel(done.stdout, "Arguments")


def test_a_script_run_by_path_is_named_by_its_stem(package: Path) -> None:
    done = run_py(package, "pkg/mod.py", "--help", columns=200)
    assert done.returncode == 0, done.stderr
    [row] = panel(done.stdout, "Factory for model: mod.Model")
    assert row[:2] == ["big", "mod.big"]


def test_module_name_of_an_imported_module_is_itself() -> None:
    assert module_name("pkg.mod") == "pkg.mod"
