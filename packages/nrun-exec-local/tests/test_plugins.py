"""Experiment plugins: they change a task and its executor before it is recorded and launched."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobs
from nrun.config import Partial, load
from nrun.exec.base import Executor, ExecutorError
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.plugins import EnvVars, ExperimentPlugin

Make = Callable[..., LocalExecutor]
NAMES = ["NRUN_FROM_PLUGIN", "NRUN_SET_BY_USER", "NRUN_SHARED"]


@dataclasses.dataclass
class Retag(ExperimentPlugin):
    """Changes the task's `message` and adds a variable to its executor."""

    message: str = "changed by the plugin"

    def setup(self, task: Any, executor: Executor) -> None:
        task.message = self.message
        executor.env_vars["NRUN_FROM_PLUGIN"] = "yes"


@dataclasses.dataclass
class Breaks(ExperimentPlugin):
    """Sets an environment variable no shell accepts."""

    def setup(self, task: Any, executor: Executor) -> None:
        executor.env_vars["NOT-VALID"] = "x"


def test_base_plugin_changes_nothing() -> None:
    task = Partial(jobs.echo, message="same")
    executor = LocalExecutor()
    ExperimentPlugin().setup(task, executor)
    assert task == Partial(jobs.echo, message="same")
    assert executor == LocalExecutor()


def test_env_vars_adds_and_keeps_existing_names() -> None:
    executor = LocalExecutor(env_vars={"NRUN_SHARED": "executor's"})
    EnvVars(env={"NRUN_SHARED": "plugin's", "NRUN_NEW": "1"}).setup(Partial(jobs.echo), executor)
    assert executor.env_vars == {"NRUN_SHARED": "executor's", "NRUN_NEW": "1"}


def test_plugins_change_what_is_recorded_and_what_runs(local: Make, tmp_path: Path) -> None:
    executor = local(env_vars={"NRUN_SET_BY_USER": "user", "NRUN_SHARED": "executor's"})
    task = Partial(jobs.report, path=str(tmp_path / "seen.json"), message="as written", names=NAMES)
    plugins = [Retag(), EnvVars(env={"NRUN_SHARED": "plugin's", "NRUN_SET_BY_USER": "no"})]
    exp = Experiment("plugged", executor=executor, plugins=plugins)
    exp.add(task, name="report")

    recorded = load(exp.dir / "tasks" / "report" / "task.yaml")
    assert recorded.message == "changed by the plugin"
    recorded_executor = load(exp.dir / "tasks" / "report" / "executor.yaml")
    assert recorded_executor.env_vars == {
        "NRUN_SET_BY_USER": "user",
        "NRUN_SHARED": "executor's",
        "NRUN_FROM_PLUGIN": "yes",
    }
    # what the user passed is left alone
    assert task.message == "as written"
    assert executor.env_vars == {"NRUN_SET_BY_USER": "user", "NRUN_SHARED": "executor's"}

    exp.run()
    assert exp.logs("report").splitlines() == [
        "message=changed by the plugin",
        "NRUN_FROM_PLUGIN=yes",
        "NRUN_SET_BY_USER=user",
        "NRUN_SHARED=executor's",
    ]
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["message"] == "changed by the plugin"


def test_plugins_of_one_task(local: Make, tmp_path: Path) -> None:
    exp = Experiment("pertask", executor=local(), plugins=[EnvVars(env={"NRUN_SHARED": "all"})])
    exp.add(Partial(jobs.report, path=str(tmp_path / "a"), names=NAMES), name="plain")
    exp.add(
        Partial(jobs.report, path=str(tmp_path / "b"), names=NAMES),
        name="tagged",
        plugins=[Retag(message="only me")],
    )
    exp.run()
    plain = json.loads((tmp_path / "a").read_text())
    tagged = json.loads((tmp_path / "b").read_text())
    assert plain["message"] == ""
    assert plain["env"] == {
        "NRUN_FROM_PLUGIN": None,
        "NRUN_SET_BY_USER": None,
        "NRUN_SHARED": "all",
    }
    assert tagged["message"] == "only me"
    assert tagged["env"]["NRUN_FROM_PLUGIN"] == "yes"
    assert tagged["env"]["NRUN_SHARED"] == "all"


def test_a_plugin_that_breaks_the_executor_is_caught_at_add(local: Make) -> None:
    exp = Experiment("broken", executor=local(), plugins=[Breaks()])
    with pytest.raises(ExecutorError) as info:
        exp.add(Partial(jobs.echo), name="t")
    assert "'NOT-VALID'" in str(info.value)
    assert "\n" not in str(info.value)
    assert exp.tasks == []
