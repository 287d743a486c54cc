"""`nrun experiment list` shows each experiment's state; `logs ID` of a one-task experiment."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nrun.app._commands import app
from nrun.app._states import experiment_state
from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, fail, sleep

Invoke = Callable[..., Result]
TIMEOUT = 60.0
S, F, R, P, C, U = (
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.RUNNING,
    JobState.PENDING,
    JobState.CANCELLED,
    JobState.UNKNOWN,
)


def _run(title: str, *tasks: tuple[str, object]) -> Experiment:
    experiment = Experiment(title, executor=LocalExecutor(cancel_grace=1.0))
    for name, task in tasks:
        experiment.add(task, name=name)
    experiment.run()
    return experiment


def _state_of(invoke: Invoke, experiment_id: str) -> str:
    result = invoke("experiment", "list")
    assert result.exit_code == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "┃ id" in line)
    assert header.split()[1::2][:3] == ["id", "title", "state"]
    (row,) = [line for line in result.stdout.splitlines() if experiment_id in line]
    return row.split("│")[3].strip()


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([S, S], S),
        ([S, F], F),
        ([F, R], R),
        ([S, P], P),
        ([F, P], F),
        ([S, C], C),
        ([C, F], F),
        ([S, U], U),
        ([], U),
    ],
)
def test_the_state_of_an_experiment_from_its_tasks(
    states: list[JobState], expected: JobState
) -> None:
    assert experiment_state(states) == expected


def test_list_shows_a_failed_experiment_as_failed(invoke: Invoke, home: Path) -> None:
    good = _run("good", ("a", Partial(echo, message="x")), ("b", Partial(echo, message="y")))
    bad = _run("bad", ("a", Partial(echo, message="x")), ("b", Partial(fail, code=3)))
    assert _state_of(invoke, good.id) == "SUCCEEDED"
    assert _state_of(invoke, bad.id) == "FAILED"


def test_the_state_is_coloured_as_in_status_tables(home: Path) -> None:
    bad = _run("bad", ("b", Partial(fail, code=3)))
    env = {"COLUMNS": "200", "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    result = CliRunner().invoke(app, ["experiment", "list"], env=env, color=True)
    (row,) = [line for line in result.stdout.splitlines() if bad.id in line]
    assert "\x1b[31mFAILED" in row  # STATE_COLORS[FAILED] is red


@pytest.fixture
def running(home: Path) -> Iterator[Experiment]:
    experiment = Experiment("live", executor=LocalExecutor(cancel_grace=1.0))
    experiment.add(Partial(sleep, seconds=60.0, lines=1), name="sleep")
    experiment.run(detach=True)
    yield experiment
    experiment.cancel()
    experiment.wait(TIMEOUT)


def test_list_asks_the_executor_about_a_live_experiment(
    invoke: Invoke, running: Experiment
) -> None:
    deadline = time.monotonic() + TIMEOUT
    while Experiment.from_id(running.id).status()["sleep"] != JobState.RUNNING:
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)
    assert _state_of(invoke, running.id) == "RUNNING"
    running.cancel()
    running.wait(TIMEOUT)
    assert _state_of(invoke, running.id) == "CANCELLED"


def test_logs_of_a_one_task_experiment_need_no_task_name(invoke: Invoke, home: Path) -> None:
    one = _run("one", ("hello", Partial(echo, message="just me")))
    result = invoke("experiment", "logs", one.id)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "just me\n", "")
    followed = invoke("experiment", "logs", one.id, "--follow")
    assert (followed.exit_code, followed.stdout) == (0, "just me\n")


def test_logs_of_several_tasks_name_them_in_one_line(invoke: Invoke, home: Path) -> None:
    two = _run("two", ("a", Partial(echo, message="x")), ("b", Partial(echo, message="y")))
    result = invoke("experiment", "logs", two.id)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"experiment '{two.id}' has 2 tasks (a, b): name one, "
        f"e.g. nrun experiment logs {two.id} a\n"
    )
