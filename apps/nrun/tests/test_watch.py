"""`nrun experiment watch [ID]` when stdout is not a terminal: plain lines, the table, the code."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, fail, sleep

Invoke = Callable[..., Result]
Run = Callable[..., subprocess.CompletedProcess[str]]
EVENT = re.compile(r"\d\d:\d\d:\d\d (\S+) ([A-Z]+)")


def test_watch_a_detached_experiment_to_its_end(nrun: Run, home: Path) -> None:
    """The installed script, piped: a line per change, then the table; 1 as a task failed."""
    experiment = Experiment("watched", executor=LocalExecutor(cancel_grace=1.0))
    experiment.add(Partial(sleep, seconds=1.0, lines=2), name="first")
    experiment.add(Partial(fail, code=3, message="on purpose"), name="then", dependencies=["first"])
    experiment.run(detach=True)
    done = nrun("experiment", "watch", experiment.id)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout
    events = [m.groups() for line in done.stdout.splitlines() if (m := EVENT.fullmatch(line))]
    assert ("first", "RUNNING") in events
    assert events.index(("first", "SUCCEEDED")) < events.index(("then", "FAILED"))
    rows = {line.split()[1]: line for line in done.stdout.splitlines() if line.startswith("│")}
    assert "SUCCEEDED" in rows["first"] and "done" in rows["first"]
    assert "FAILED" in rows["then"] and "on purpose" in rows["then"]


def test_watch_without_an_id_follows_the_newest(invoke: Invoke, home: Path) -> None:
    older = Experiment("older", executor=LocalExecutor())
    older.add(Partial(fail), name="broken")
    older.run()
    newer = Experiment("newer", executor=LocalExecutor())
    newer.add(Partial(echo, message="all good"), name="fine")
    newer.run(detach=True)
    result = invoke("experiment", "watch")
    assert result.exit_code == 0, result.stderr
    assert f"Experiment {newer.id}" in result.stdout
    assert "all good" in result.stdout
    assert older.id not in result.stdout


def test_watch_an_unknown_experiment_is_one_line(invoke: Invoke, home: Path) -> None:
    result = invoke("experiment", "watch", "nope_20250101-000000_abcdef")
    assert result.exit_code == 2
    assert result.stderr == (
        f"no experiment with id 'nope_20250101-000000_abcdef' under '{home / 'experiments'}'\n"
    )
    nothing = invoke("experiment", "watch")
    assert (nothing.exit_code, nothing.stderr) == (
        2,
        f"no experiments under '{home / 'experiments'}'\n",
    )


def test_watch_is_in_the_help(invoke: Invoke) -> None:
    result = invoke("experiment", "--help")
    assert "watch" in result.stdout
    assert "Follow an experiment live" in invoke("experiment", "watch", "--help").stdout
