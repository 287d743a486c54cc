"""`nrun.exec.watch` on real experiments launched detached (by another process) on this machine."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

import jobs
import watch_helpers
from helpers import TESTS, alive, until
from nrun.config import Partial
from nrun.exec._lastline import LastLines, last_line
from nrun.exec.base import JobState, JobStatus
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, fail, sleep
from nrun.exec.store import ExperimentError, record_status
from nrun.exec.watch import Watcher, elapsed_text, newest_experiment_id, watch

Make = Callable[..., LocalExecutor]
EVENT = re.compile(r"\d\d:\d\d:\d\d (\S+) ([A-Z]+)")


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A detached launcher imports the executors of `watch_helpers` from this folder."""
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


@pytest.fixture
def started() -> Iterator[list[Experiment]]:
    """Experiments a test started; whatever of them still runs is cancelled after it."""
    found: list[Experiment] = []
    yield found
    for experiment in found:
        experiment.cancel()
        experiment.wait(30)


def plain() -> tuple[Console, io.StringIO]:
    """A console that is not a terminal (as when piped), wide enough for whole rows."""
    out = io.StringIO()
    return Console(file=out, width=200), out


def blockers(tmp_path: Path, names: list[str]) -> tuple[list[Partial], Path]:
    """Tasks that run until `release` exists (their pid files say they started)."""
    release = tmp_path / "release"
    tasks = [
        Partial(jobs.block, pidfile=str(tmp_path / f"{name}.pid"), release=str(release))
        for name in names
    ]
    return tasks, release


def test_plain_lines_per_change_then_the_final_table(local: Make, started: list) -> None:
    """Not a terminal: `<time> <task> <STATE>` once per change, the table, exit 1 (a failure)."""
    exp = Experiment("watched", executor=local(cancel_grace=1.0))
    exp.add(Partial(sleep, seconds=1.0, lines=2), name="sleeper")
    exp.add(
        Partial(fail, code=3, message="broke on purpose"), name="broken", dependencies=["sleeper"]
    )
    exp.run(detach=True)
    started.append(exp)
    console, out = plain()
    assert watch(exp.id, console=console, interval=0.1) == 1
    text = out.getvalue()
    assert "\x1b" not in text  # no colours, no cursor moves
    lines = text.splitlines()
    assert lines[0] == f"watching experiment {exp.id}"
    events = [m.groups() for line in lines if (m := EVENT.fullmatch(line))]
    assert len(events) == len(set(events)), "a state is told once"
    order = [events.index(e) for e in (("sleeper", "RUNNING"), ("sleeper", "SUCCEEDED"))]
    assert order == sorted(order)
    assert events.index(("sleeper", "SUCCEEDED")) < events.index(("broken", "FAILED"))
    table = text[text.index(f"Experiment {exp.id}") :].splitlines()
    broken = next(row for row in table if "broken" in row)
    assert "FAILED" in broken and "│ 3 " in broken and "broke on purpose" in broken
    assert "done" in next(row for row in table if "sleeper" in row)
    assert "1 FAILED · 1 SUCCEEDED" in text


def test_without_an_id_the_newest_and_0_when_all_succeed(local: Make, started: list) -> None:
    older = Experiment("older", executor=local())
    older.add(Partial(echo, message="old"), name="old")
    older.run()
    newer = Experiment("newer", executor=local())
    newer.add(Partial(sleep, seconds=0.5), name="nap")
    newer.add(Partial(echo, message="after the nap"), name="after", dependencies=["nap"])
    newer.run(detach=True)
    started.append(newer)
    assert newest_experiment_id() == newer.id
    console, out = plain()
    assert watch(console=console, interval=0.1) == 0
    assert f"Experiment {newer.id}" in out.getvalue()
    assert "after the nap" in out.getvalue()
    assert older.id not in out.getvalue()


def test_one_status_query_per_kind_per_refresh(tmp_path: Path, started: list) -> None:
    """Each refresh asks each kind once about all its live jobs; nothing once all have ended."""
    kinds = {
        "a": watch_helpers.CountedA(workdir=str(TESTS), cancel_grace=1.0),
        "b": watch_helpers.CountedB(workdir=str(TESTS), cancel_grace=1.0),
        "c": LocalExecutor(workdir=str(TESTS), cancel_grace=1.0),
    }
    names = ["a1", "a2", "a3", "b1", "b2", "c1"]
    tasks, release = blockers(tmp_path, names)
    exp = Experiment("counted")
    for name, task in zip(names, tasks, strict=True):
        exp.add(task, name=name, executor=kinds[name[0]])
    exp.run(detach=True)
    started.append(exp)
    for name in names:
        until(lambda n=name: (tmp_path / f"{n}.pid").exists(), what=f"{name} to start")
    watcher = Watcher(exp.id)
    until(
        lambda: all(s.state == JobState.RUNNING for s in watcher.refresh().values()),
        what="every task RUNNING in the record",
    )
    watch_helpers.CountedA.batches.clear()
    watch_helpers.CountedB.batches.clear()
    for _ in range(5):
        watcher.refresh()
    assert watcher.experiment is not None
    job_ids = {name: watcher.experiment._tasks[name].job_id for name in names}
    assert [sorted(b) for b in watch_helpers.CountedA.batches] == [
        sorted(job_ids[n] for n in ("a1", "a2", "a3"))  # type: ignore[type-var]
    ] * 5
    assert [sorted(b) for b in watch_helpers.CountedB.batches] == [
        sorted(job_ids[n] for n in ("b1", "b2"))  # type: ignore[type-var]
    ] * 5
    release.touch()
    until(lambda: watcher.refresh() and watcher.done, what="every task to end")
    watch_helpers.CountedA.batches.clear()
    watcher.refresh()
    assert watch_helpers.CountedA.batches == []  # ended tasks are read from their records


def test_ctrl_c_stops_watching_and_the_job_keeps_running(
    local: Make, tmp_path: Path, started: list
) -> None:
    """SIGINT: exit 130, one line saying the jobs keep running; the job still runs after."""
    (task,), release = blockers(tmp_path, ["blocker"])
    exp = Experiment("interrupted", executor=local(cancel_grace=1.0))
    exp.add(task, name="blocker")
    exp.run(detach=True)
    started.append(exp)
    code = (
        # as in a terminal, even where this test runs with SIGINT ignored (a background job)
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"from nrun.exec.watch import watch; sys.exit(watch({exp.id!r}, interval=0.1))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.rstrip().endswith("blocker RUNNING"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (seen, out, err)
    assert (
        err.strip() == f"stopped watching; the jobs keep running: nrun experiment cancel {exp.id}"
    )
    pid = int((tmp_path / "blocker.pid").read_text())
    assert alive(pid)
    assert exp.status() == {"blocker": JobState.RUNNING}
    release.touch()
    assert exp.wait(30) == {"blocker": JobState.SUCCEEDED}


def test_last_line_of_a_log() -> None:
    assert last_line(b"first\nsecond\n\n  \n") == "second"
    assert last_line(b"loss 1.0\n 10%|#  \r 50%|#####  \r 90%|######### ") == " 90%|#########"
    assert last_line(b"") == ""
    assert last_line("température\n".encode()) == "température"
    assert last_line(b"\xff\xfe ok") == "\ufffd\ufffd ok"
    assert last_line(b"\x00\x00a\x07b\tc\x1b[31mred\x1b[0m\n\x00\n") == "ab\tc\x1b[31mred\x1b[0m"


def test_a_local_log_is_read_from_its_end_and_only_when_it_changed(local: Make) -> None:
    """A 4 GiB log (sparse): its last line at once; untouched, it is not read again."""
    exp = Experiment("tail", executor=local())
    exp.add(Partial(echo), name="big")
    task = exp._tasks["big"]
    record_status(task.dir, JobStatus(JobState.RUNNING), job_id="1")
    log = Path(task.executor.job_dir) / "output.log"
    with open(log, "wb") as handle:
        handle.truncate(4 << 30)
        handle.seek(0, os.SEEK_END)
        handle.write(b"epoch 3: loss 0.100\n")
    running = {"big": JobStatus(JobState.RUNNING)}
    lines = LastLines()
    begin = time.perf_counter()
    lines.update(exp._tasks, running)
    assert lines.get("big") == "epoch 3: loss 0.100"
    assert time.perf_counter() - begin < 5  # reading 4 GiB would take far longer
    stat = log.stat()
    with open(log, "r+b") as handle:  # same size and time: seen as unchanged
        handle.seek(-6, os.SEEK_END)
        handle.write(b"999\n\n\n"[:6])
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    lines.update(exp._tasks, running)
    assert lines.get("big") == "epoch 3: loss 0.100"
    with open(log, "ab") as handle:
        handle.write(b"epoch 4: loss 0.050\n")
    lines.update(exp._tasks, running)
    assert lines.get("big") == "epoch 4: loss 0.050"


def test_remote_logs_are_read_a_few_per_refresh_in_rotation(tmp_path: Path, started: list) -> None:
    """Logs not on this machine: 2 per refresh, the least recently read first, once at the end."""
    executor = watch_helpers.RemoteLogs(workdir=str(TESTS), cancel_grace=1.0)
    names = [f"t{i}" for i in range(5)]
    tasks, release = blockers(tmp_path, names)
    exp = Experiment("remote", executor=executor)
    for name, task in zip(names, tasks, strict=True):
        exp.add(task, name=name)
    exp.run(detach=True)
    started.append(exp)
    for name in names:
        until(lambda n=name: (tmp_path / f"{n}.pid").exists(), what=f"{name} to start")
    opened = Experiment.from_id(exp.id)
    until(
        lambda: all(s.state == JobState.RUNNING for s in opened.statuses().values()),
        what="every task RUNNING in the record",
    )
    reads = watch_helpers.RemoteLogs.reads
    reads.clear()
    lines = LastLines(reads=2, every=60.0)
    counts = []
    for _ in range(4):
        lines.update(opened._tasks, opened.statuses())
        counts.append(len(reads))
    assert counts == [2, 4, 5, 5]  # each once, then none: all were read less than 60 s ago
    assert len(set(reads)) == 5
    assert {lines.get(n) for n in names} == {"started"}
    release.touch()
    until(lambda: all(s.state.final for s in opened.statuses().values()), what="the end")
    reads.clear()
    for _ in range(4):
        lines.update(opened._tasks, opened.statuses())
    assert len(reads) == 5 and len(set(reads)) == 5  # once more each, after the end, then never
    assert {lines.get(n) for n in names} == {"released"}


def test_a_short_terminal_shows_the_unfinished_and_failed_first(local: Make) -> None:
    exp = Experiment("many", executor=local())
    for i in range(6):
        exp.add(Partial(echo, message=f"echo {i}"), name=f"ok{i}")
    exp.add(Partial(fail, code=2), name="bad")
    exp.run()
    watcher = Watcher(exp.id)
    watcher.refresh()
    out = io.StringIO()
    Console(file=out, width=120).print(watcher.view(height=11))  # room for 3 rows
    text = out.getvalue()
    rows = [line.split()[1] for line in text.splitlines() if line.startswith("│")]
    assert rows == ["ok0", "ok1", "bad"]
    assert "4 more not shown (4 SUCCEEDED)" in text
    assert "6 SUCCEEDED · 1 FAILED" not in text and "1 FAILED · 6 SUCCEEDED" in text


def test_elapsed_text() -> None:
    assert [elapsed_text(s) for s in (0.04, 59.9, 65, 3600 * 2 + 185)] == [
        "0.0s",
        "59.9s",
        "1m05s",
        "2h03m",
    ]


def test_the_first_frame_comes_from_the_records_alone(local: Make) -> None:
    """`glance` reads `job.json` only: it works where no executor can be rebuilt."""
    exp = Experiment("glanced", executor=local())
    exp.add(Partial(echo, message="hi"), name="hello")
    exp.add(Partial(fail, code=4), name="broken")
    exp.run()
    for name in exp.tasks:
        (exp.dir / "tasks" / name / "executor.yaml").write_text("_target_: no.such.Executor\n")
    watcher = Watcher(exp.id)
    statuses = watcher.glance()
    assert {n: (s.state, s.exit_code) for n, s in statuses.items()} == {
        "hello": (JobState.SUCCEEDED, 0),
        "broken": (JobState.FAILED, 4),
    }
    out = io.StringIO()
    Console(file=out, width=120).print(watcher.table())
    assert "local" in out.getvalue() and "1 FAILED · 1 SUCCEEDED" in out.getvalue()
    with pytest.raises(ExperimentError, match="cannot rebuild its executor"):
        watcher.refresh()


def test_an_experiment_without_tasks_is_refused_at_once() -> None:
    experiment = Experiment("empty")
    experiment.dir.mkdir(parents=True)
    (experiment.dir / "experiment.json").write_text('{"tasks": []}')
    with pytest.raises(ExperimentError, match="has no tasks"):
        watch(experiment.id, console=Console(file=io.StringIO()))
