"""`--to-yaml`, `--to-toml`, `--to-json`: what they show, what they write, and that the files
come back: through `--factory @file` and `--yaml`, and (YAML) through `hydra.utils.instantiate`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nrun.config import read_file
from nrun.exec.experiment import Experiment
from scripts import run_py, write

TASK = '''
import enum
from dataclasses import dataclass, field
from pathlib import Path

from nrun import cli
from nrun.config import autoconvert


class Activation(enum.Enum):
    RELU = "relu"
    GELU = "gelu"


@dataclass
class Model:
    hidden_size: int = 256
    num_layers: int = 3
    activation: Activation = Activation.RELU
    dims: tuple[int, ...] = (2, 4)


@dataclass
class Optimizer:
    learning_rate: float = 0.001
    weight_decay: float = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@cli.factory
@autoconvert
def my_model() -> Model:
    return Model(hidden_size=1024, num_layers=12, activation=Activation.GELU)


@cli.entrypoint
def train_model(
    model: Model,
    optimizer: Optimizer,
    epochs: int = 10,
    batch_size: int = 32,
    data: Path = Path("/data/train"),
    note: str | None = None,
):
    """Train a model using the specified configuration."""
    print(f"model={model}")
    print(f"optimizer={optimizer}")
    print(f"epochs={epochs} batch_size={batch_size} data={data} note={note}")


if __name__ == "__main__":
    cli.main(train_model)
'''

OVERRIDES = [
    "model=my_model",
    "model.num_layers=5",
    "model.dims=[8,16,32]",
    "optimizer.betas=[0.8,0.99]",
    "epochs=3",
    "data=/scratch/x",
    "note=hello",
]

FORMATS = ["yaml", "toml", "json"]


@pytest.fixture
def task(tmp_path: Path) -> Path:
    write(tmp_path / "task.py", TASK)
    return tmp_path


@pytest.fixture
def expected(task: Path) -> str:
    """What the task prints run directly with OVERRIDES."""
    result = run_py(task, "task.py", *OVERRIDES)
    assert result.returncode == 0, result.stderr
    assert "num_layers=5" in result.stdout and "GELU" in result.stdout
    return result.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_shows_the_file_and_skips_execution(task: Path, fmt: str) -> None:
    result = run_py(task, "task.py", *OVERRIDES, f"--to-{fmt}", f"out.{fmt}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "File contents:"
    assert f" out.{fmt} " in lines[1]
    assert lines[-1] == "Export complete. Skipping execution."
    assert "model=" not in result.stdout  # not run
    assert Experiment.list() == []
    text = (task / f"out.{fmt}").read_text()
    for line in text.splitlines():
        if line.strip():
            assert line.strip() in result.stdout, line


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("option", "prefix"), [("--factory", "@"), ("--yaml", "")])
def test_export_reloaded(task: Path, expected: str, fmt: str, option: str, prefix: str) -> None:
    """Through `--factory @out.FMT` or `--yaml out.FMT`."""
    exported = run_py(task, "task.py", *OVERRIDES, f"--to-{fmt}", f"out.{fmt}")
    assert exported.returncode == 0, exported.stderr
    result = run_py(task, "task.py", option, f"{prefix}out.{fmt}")
    assert (result.returncode, result.stdout) == (0, expected), result.stderr


def test_export_reloaded_then_overridden(task: Path) -> None:
    exported = run_py(task, "task.py", *OVERRIDES, "--to-yaml", "out.yaml")
    assert exported.returncode == 0, exported.stderr
    result = run_py(task, "task.py", "--yaml", "out.yaml", "model.num_layers=7", "note=None")
    assert result.returncode == 0, result.stderr
    assert "num_layers=7" in result.stdout and "note=None" in result.stdout
    assert "hidden_size=1024" in result.stdout  # the rest as exported


def test_export_of_an_export_is_the_same_file(task: Path) -> None:
    for fmt in FORMATS:
        first = run_py(task, "task.py", *OVERRIDES, f"--to-{fmt}", f"a.{fmt}")
        assert first.returncode == 0, first.stderr
        again = run_py(task, "task.py", "--factory", f"@a.{fmt}", f"--to-{fmt}", f"b.{fmt}")
        assert again.returncode == 0, again.stderr
        assert (task / f"a.{fmt}").read_text() == (task / f"b.{fmt}").read_text()


def test_every_format_holds_the_same_config(task: Path) -> None:
    for fmt in FORMATS:
        result = run_py(task, "task.py", *OVERRIDES, f"--to-{fmt}", f"out.{fmt}")
        assert result.returncode == 0, result.stderr
    yaml, toml, json = (read_file(str(task / f"out.{fmt}")) for fmt in FORMATS)
    assert yaml == toml == json


def test_export_to_several_formats_at_once(task: Path) -> None:
    result = run_py(
        task,
        "task.py",
        *OVERRIDES,
        "--to-yaml",
        "x.yaml",
        "--to-toml",
        "x.toml",
        "--to-json",
        "x.json",
    )
    assert result.returncode == 0, result.stderr
    assert all((task / f"x.{fmt}").is_file() for fmt in FORMATS)


def test_export_of_a_factory(task: Path) -> None:
    result = run_py(task, "task.py", "model=my_model", "--to-yaml", "out.yaml")
    assert result.returncode == 0, result.stderr
    data = read_file(str(task / "out.yaml"))
    assert data["model"]["hidden_size"] == 1024
    assert data["model"]["num_layers"] == 12


def test_export_of_none_survives_toml(task: Path) -> None:
    write(
        task / "nullable.py",
        """
        from nrun import cli

        @cli.entrypoint
        def train(limit: int | None = 5):
            print(f"limit={limit}")

        if __name__ == "__main__":
            cli.main(train)
        """,
    )
    exported = run_py(task, "nullable.py", "limit=None", "--to-toml", "n.toml")
    assert exported.returncode == 0, exported.stderr
    result = run_py(task, "nullable.py", "--factory", "@n.toml")
    assert (result.returncode, result.stdout) == (0, "limit=None\n")


# -- Hydra -----------------------------------------------------------------------------------------

HYDRA = """
import sys

from hydra.utils import instantiate
from omegaconf import OmegaConf

from nrun.config import build, load

task = instantiate(OmegaConf.load(sys.argv[1]))
task()
ours = build(load(sys.argv[1]))
assert task.func is ours.func, (task.func, ours.func)
assert task.keywords == ours.keywords, (task.keywords, ours.keywords)
model = instantiate(OmegaConf.load(sys.argv[1]).model)
print(type(model).__module__, type(model).__name__, model.activation, model.dims)
"""


def test_yaml_export_is_instantiated_by_hydra(task: Path, expected: str) -> None:
    pytest.importorskip("hydra")
    exported = run_py(task, "task.py", *OVERRIDES, "--to-yaml", "out.yaml")
    assert exported.returncode == 0, exported.stderr
    write(task / "hydra_check.py", HYDRA)
    result = run_py(task, "hydra_check.py", "out.yaml")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "\n".join(lines[:3]) + "\n" == expected  # the task ran with the exported values
    assert lines[3] == "task Model Activation.GELU (8, 16, 32)"


def test_yaml_export_of_defaults_is_instantiated_by_hydra(task: Path) -> None:
    pytest.importorskip("hydra")
    exported = run_py(task, "task.py", "--to-yaml", "defaults.yaml")
    assert exported.returncode == 0, exported.stderr
    write(task / "hydra_check.py", HYDRA)
    result = run_py(task, "hydra_check.py", "defaults.yaml")
    assert result.returncode == 0, result.stderr
    assert "epochs=10 batch_size=32 data=/data/train note=None" in result.stdout
    assert result.stdout.splitlines()[-1] == "task Model Activation.RELU (2, 4)"
