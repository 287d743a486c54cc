"""`run.*` overrides: the executor and its fields, plugins and the experiment's name."""

from __future__ import annotations

import os

from nrun import cli
from nrun.cli.testing import run_cli
from nrun.exec.experiment import Experiment
from nrun.exec.plugins import EnvVars


@cli.factory
def hf_env() -> EnvVars:
    return EnvVars(env={"HF_HOME": "/data/hf"})


@cli.entrypoint
def show(label: str = "x") -> None:
    print(f"{label} HF_HOME={os.environ.get('HF_HOME')}")


def test_plugins_by_factory_and_by_import_path() -> None:
    """`run.plugins=[...]` takes registered factories and dotted paths; plugins reach the task."""
    result = run_cli(show, ["run.executor=local", "run.plugins=[hf_env]", "run.name=plugged"])
    assert result.exit_code == 0, result.stderr
    assert "x HF_HOME=/data/hf" in result.stdout
    (recorded,) = Experiment.list("plugged")
    assert recorded["tasks"] == ["show"]
    result = run_cli(
        show,
        [
            "label=y",
            "run.executor=local",
            "run.plugins=[nrun.exec.plugins.EnvVars(env={HF_HOME: /x})]",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "y HF_HOME=/x" in result.stdout


def test_executor_fields_are_overrides() -> None:
    """`run.executor.FIELD=...` sets one field of the executor named before it."""
    result = run_cli(show, ["run.executor=local", "run.executor.env_vars={HF_HOME: /set}"])
    assert result.exit_code == 0, result.stderr
    assert "x HF_HOME=/set" in result.stdout


@cli.entrypoint
def fit(optimizer: EnvVars = EnvVars(), steps: int = 1) -> None:  # noqa: B008 - a config default
    print(f"optimizer {optimizer.env} steps {steps}")


@cli.factory(target=fit, target_arg="optimizer", is_target_default=True)
def tuned() -> EnvVars:
    return EnvVars(env={"LR": "0.5"})


@cli.factory(target=fit, target_arg="optimizer")
def plain() -> EnvVars:
    return EnvVars()


def test_argument_factories_and_their_default() -> None:
    """A factory for one argument of one entrypoint; `is_target_default` makes it the start."""
    assert run_cli(fit, []).stdout == "optimizer {'LR': '0.5'} steps 1\n"
    assert run_cli(fit, ["optimizer=plain"]).stdout == "optimizer {} steps 1\n"
    other = run_cli(show, ["label=plain"])  # another entrypoint's argument is untouched
    assert other.stdout.startswith("plain HF_HOME=")
