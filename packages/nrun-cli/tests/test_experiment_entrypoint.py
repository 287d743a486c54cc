"""`@cli.entrypoint(type="experiment")`: NeMo-Run's examples/entrypoint/experiment.py, ported.

The function gets a `RunContext` as `ctx`, builds its own `Experiment` from its arguments and
hands it to `ctx.launch(...)`, which launches it as the command line asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nrun import cli
from nrun.exec.experiment import Experiment
from scripts import one_line, run_py, write

EXAMPLE = """
from dataclasses import dataclass
from typing import List

from nrun import cli
from nrun.config import Partial, autoconvert
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor


@dataclass
class Model:
    hidden_size: int
    num_layers: int
    activation: str


@dataclass
class Optimizer:
    learning_rate: float
    weight_decay: float
    betas: List[float]


@cli.entrypoint
def train_model(model: Model, optimizer: Optimizer, epochs: int = 10, batch_size: int = 32):
    print(f"Model: {model}")
    print(f"Optimizer: {optimizer}")
    print(f"Epochs: {epochs}")
    for epoch in range(epochs):
        print(f"Epoch {epoch + 1}/{epochs}")
    print("Training completed!")


@cli.factory
@autoconvert
def my_model(hidden_size: int = 256, num_layers: int = 3, activation: str = "relu") -> Model:
    return Model(hidden_size=hidden_size, num_layers=num_layers, activation=activation)


@cli.factory
@autoconvert
def my_optimizer(
    learning_rate: float = 0.001, weight_decay: float = 1e-5, betas: List[float] = [0.9, 0.999]
) -> Optimizer:
    return Optimizer(learning_rate=learning_rate, weight_decay=weight_decay, betas=betas)


@cli.factory
@autoconvert
def local_executor() -> LocalExecutor:
    return LocalExecutor()


@cli.entrypoint(type="experiment")
def train_models_experiment(
    ctx: cli.RunContext,
    models: List[Model] = [my_model(), my_model(hidden_size=512)],
    optimizers: List[Optimizer] = [my_optimizer(), my_optimizer(learning_rate=0.01)],
    epochs: int = 10,
    batch_size: int = 32,
    sequential: bool = False,
):
    with Experiment("train_models_experiment") as exp:
        for i, (model, optimizer) in enumerate(zip(models, optimizers)):
            train = Partial(
                train_model, model=model, optimizer=optimizer, epochs=epochs, batch_size=batch_size
            )
            exp.add(train, name=f"train_model_{i}", executor=ctx.executor)
        ctx.launch(exp, sequential=sequential)


if __name__ == "__main__":
    cli.main(train_models_experiment, default_executor=local_executor())
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    write(tmp_path / "experiment.py", EXAMPLE)
    return tmp_path


def test_the_experiment_runs_its_tasks_with_the_command_lines_values(example: Path) -> None:
    result = run_py(example, "experiment.py", "epochs=2", "--yes")
    assert result.returncode == 0, result.stderr
    [record] = Experiment.list()
    assert record["title"] == "train_models_experiment"
    experiment = Experiment.from_id(record["id"])
    assert experiment.tasks == ["train_model_0", "train_model_1"]
    assert set(experiment.status().values()) == {"SUCCEEDED"}
    assert "Epoch 2/2" in experiment.logs("train_model_1")
    assert "hidden_size=512" in experiment.logs("train_model_1")
    assert f"Recorded: nrun experiment show {record['id']}" in result.stderr


def test_the_experiments_dry_run_shows_each_task_and_records_nothing(example: Path) -> None:
    result = run_py(example, "experiment.py", "epochs=2", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert "Dry run for task __main__:train_models_experiment" in result.stdout
    for task in ("train_model_0", "train_model_1"):
        assert task in result.stdout
    assert "Epoch" not in result.stdout
    assert Experiment.list() == []


def test_ctx_is_not_a_command_line_argument(example: Path) -> None:
    result = run_py(example, "experiment.py", "ctx=1")
    assert result.returncode == 2
    assert "'ctx'" in one_line(result.stderr)


def test_an_experiment_entrypoint_needs_ctx() -> None:
    with pytest.raises(ValueError, match="ctx"):

        @cli.entrypoint(type="experiment")
        def no_context(epochs: int = 1) -> None: ...


def test_an_unknown_entrypoint_type() -> None:
    with pytest.raises(ValueError, match="'sweep'"):
        cli.entrypoint(type="sweep")  # type: ignore[call-overload]
