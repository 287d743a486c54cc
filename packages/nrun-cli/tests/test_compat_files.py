"""Config files without `_target_` are overrides, as OmegaConf files are; foreign ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import run_py, write

SCRIPT = """
from dataclasses import dataclass, field

from nrun import cli


@dataclass
class Optim:
    lr: float = 0.1
    betas: list = field(default_factory=lambda: [0.9, 0.99])


@dataclass
class Model:
    size: int = 1
    optim: Optim = field(default_factory=Optim)


@cli.entrypoint
def train(model: Model = Model(), epochs: int = 3, tag: str = "t"):
    print(f"size={model.size} lr={model.optim.lr} betas={model.optim.betas} e={epochs} {tag}")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "train.py", SCRIPT)
    write(tmp_path / "over.yaml", "epochs: 9\nmodel:\n  optim:\n    lr: 0.5\n")
    write(tmp_path / "model.yaml", "size: 4\noptim:\n  lr: 0.25\n")
    write(tmp_path / "shell.yaml", "_target_: os.system\n_args_: ['touch ran']\n")
    write(tmp_path / "other.yaml", "_target_: train.other\n_partial_: true\n")
    write(tmp_path / "wrong.yaml", "_target_: os.system\n_args_: ['touch ran']\n")
    return tmp_path


@pytest.mark.parametrize("option", ["--yaml", "--factory"])
def test_a_file_without_target_is_applied_onto_the_defaults(folder: Path, option: str) -> None:
    spec = "over.yaml" if option == "--yaml" else "@over.yaml"
    done = run_py(folder, "train.py", option, spec, "tag=x")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "size=1 lr=0.5 betas=[0.9, 0.99] e=9 x\n"


def test_an_argument_file_without_target_configures_the_argument(folder: Path) -> None:
    done = run_py(folder, "train.py", "model=@model.yaml", "model.optim.betas=[0.1]")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "size=4 lr=0.25 betas=[0.1] e=3 t\n"


@pytest.mark.parametrize("option", ["--yaml", "--factory"])
@pytest.mark.parametrize("name", ["shell.yaml", "other.yaml"])
def test_a_file_of_another_function_is_refused_naming_both(
    folder: Path, option: str, name: str
) -> None:
    spec = name if option == "--yaml" else f"@{name}"
    done = run_py(folder, "train.py", option, spec)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "not the entrypoint train.train" in done.stderr
    assert ("os.system" if name == "shell.yaml" else "train.other") in done.stderr
    assert not (folder / "ran").exists()


def test_an_argument_file_whose_value_is_not_of_the_argument_type_is_refused(folder: Path) -> None:
    done = run_py(folder, "train.py", "model=@wrong.yaml")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'model' expects" in done.stderr
    assert not (folder / "ran").exists()
