"""`nrun experiment list|show|status|logs|cancel` on experiments run by the local executor."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, fail, sleep

Invoke = Callable[..., Result]
TIMEOUT = 60.0


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def finished(home: Path) -> Experiment:
    """A finished experiment: one task succeeded, one failed with exit code 3."""
    experiment = Experiment("apptest", executor=LocalExecutor(cancel_grace=1.0))
    experiment.add(Partial(echo, message="hello app"), name="hello")
    experiment.add(Partial(fail, code=3, message="on purpose"), name="broken")
    experiment.run()
    return experiment


@pytest.fixture
def detached(home: Path) -> Iterator[Callable[..., Experiment]]:
    """Start detached one-task experiments of `probes.sleep`; cancel what is left at the end."""
    started: list[Experiment] = []

    def start(**arguments: float) -> Experiment:
        experiment = Experiment("apptest-live", executor=LocalExecutor(cancel_grace=1.0))
        experiment.add(Partial(sleep, **arguments), name="sleep")
        experiment.run(detach=True)
        started.append(experiment)
        return experiment

    yield start
    for experiment in started:
        experiment.cancel()
        experiment.wait(TIMEOUT)


def test_list(invoke: Invoke, finished: Experiment) -> None:
    result = invoke("experiment", "list")
    assert result.exit_code == 0, result.stderr
    assert "Experiments" in result.stdout
    (row,) = [line for line in result.stdout.splitlines() if finished.id in line]
    assert "apptest" in row
    assert "hello, broken" in row


def test_list_by_title(invoke: Invoke, finished: Experiment) -> None:
    assert finished.id in invoke("experiment", "list", "--title", "apptest").stdout
    other = invoke("experiment", "list", "--title", "other")
    assert (other.exit_code, other.stdout) == (0, "")
    assert other.stderr.startswith("no experiments under ")


def test_list_without_experiments(invoke: Invoke, home: Path) -> None:
    result = invoke("experiment", "list")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"no experiments under '{home / 'experiments'}'\n"


def test_show(invoke: Invoke, finished: Experiment) -> None:
    result = invoke("experiment", "show", finished.id)
    assert result.exit_code == 0, result.stderr
    assert f"Experiment {finished.id}" in result.stdout
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if "│" in line}
    assert "SUCCEEDED" in rows["hello"]
    assert "FAILED" in rows["broken"]
    assert "local" in rows["hello"]


def test_status(invoke: Invoke, finished: Experiment) -> None:
    result = invoke("experiment", "status", finished.id)
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[1]: line.split()[3:] for line in result.stdout.splitlines() if "│" in line}
    assert rows["hello"][:3] == ["SUCCEEDED", "│", "0"]
    assert rows["broken"][:3] == ["FAILED", "│", "3"]


def test_logs(invoke: Invoke, finished: Experiment) -> None:
    result = invoke("experiment", "logs", finished.id, "hello")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "hello app\n", "")
    followed = invoke("experiment", "logs", finished.id, "hello", "-f")
    assert (followed.exit_code, followed.stdout) == (0, "hello app\n")
    broken = invoke("experiment", "logs", finished.id, "broken")
    assert broken.stdout == "on purpose\n"


def test_logs_follow_a_running_task_until_it_ends(
    invoke: Invoke, detached: Callable[..., Experiment]
) -> None:
    experiment = detached(seconds=1.0, lines=3)
    result = invoke("experiment", "logs", experiment.id, "sleep", "--follow")
    assert (result.exit_code, result.stdout) == (0, "line 0\nline 1\nline 2\ndone\n")
    assert experiment.wait(TIMEOUT) == {"sleep": JobState.SUCCEEDED}


def test_cancel_a_running_task(invoke: Invoke, detached: Callable[..., Experiment]) -> None:
    experiment = detached(seconds=60.0, lines=1)
    until(lambda: experiment.logs("sleep") == "line 0", "the task to start")
    result = invoke("experiment", "cancel", experiment.id, "sleep")
    assert result.exit_code == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "│ sleep" in line]
    assert "CANCELLED" in row
    assert Experiment.from_id(experiment.id).wait(TIMEOUT) == {"sleep": JobState.CANCELLED}


def test_cancel_every_unfinished_task(invoke: Invoke, detached: Callable[..., Experiment]) -> None:
    experiment = detached(seconds=60.0, lines=1)
    result = invoke("experiment", "cancel", experiment.id)
    assert result.exit_code == 0, result.stderr
    assert "CANCELLED" in result.stdout
    assert experiment.wait(TIMEOUT) == {"sleep": JobState.CANCELLED}


@pytest.mark.parametrize(
    "args",
    [
        ("show", "nope_20250101-000000_abcdef"),
        ("status", "nope_20250101-000000_abcdef"),
        ("logs", "nope_20250101-000000_abcdef", "hello"),
        ("cancel", "nope_20250101-000000_abcdef"),
    ],
)
def test_an_unknown_id_is_one_line(invoke: Invoke, home: Path, args: tuple[str, ...]) -> None:
    result = invoke("experiment", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"no experiment with id 'nope_20250101-000000_abcdef' under '{home / 'experiments'}'\n"
    )


@pytest.mark.parametrize("command", ["logs", "cancel"])
def test_an_unknown_task_is_one_line(invoke: Invoke, finished: Experiment, command: str) -> None:
    result = invoke("experiment", command, finished.id, "helo")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"experiment '{finished.id}' has no task 'helo'. Did you mean 'hello'?\n"
    )


def test_an_invalid_id_is_one_line(invoke: Invoke) -> None:
    result = invoke("experiment", "show", "../etc")
    assert result.exit_code == 2
    assert result.stderr.startswith("invalid experiment id '../etc'")
    assert result.stderr.count("\n") == 1


def test_experiment_commands_from_the_console_script(
    nrun: Callable[..., subprocess.CompletedProcess[str]], finished: Experiment
) -> None:
    done = nrun("experiment", "logs", finished.id, "hello")
    assert (done.returncode, done.stdout) == (0, "hello app\n")
