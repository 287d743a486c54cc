"""`Experiment` end to end: real tasks in real subprocesses through the LocalExecutor."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobs
from helpers import TESTS, alive, read_json_file, until, wait_dead, wait_file
from nrun.config import Config, ConfigError, Partial, load
from nrun.exec.base import ExecutorError, JobState
from nrun.exec.experiment import Experiment, ExperimentError
from nrun.exec.local import LocalExecutor
from nrun.exec.store import read_json

Make = Callable[..., LocalExecutor]
TIMEOUT = 30.0


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message
    assert "\n" not in message, message
    return message


def states(exp: Experiment) -> dict[str, str]:
    return {name: state.value for name, state in exp.status().items()}


def record(exp: Experiment, task: str) -> dict[str, Any]:
    found = read_json(exp.dir / "tasks" / task / "job.json")
    assert found is not None
    return found


def first_time(exp: Experiment, task: str, state: str) -> float:
    history = record(exp, task)["states"]
    return float(next(entry["time"] for entry in history if entry["state"] == state))


@pytest.fixture
def executor(local: Make) -> LocalExecutor:
    return local()


# -- running ---------------------------------------------------------------------------------
def test_sequential_runs_one_after_another(executor: LocalExecutor, tmp_path: Path) -> None:
    order = tmp_path / "order"
    with Experiment("seq", executor=executor) as exp:
        for name, delay in (("a", 0.3), ("b", 0.0), ("c", 0.0)):
            exp.add(Partial(jobs.append, path=str(order), text=name, delay=delay), name=name)
        exp.run(sequential=True)
    assert states(exp) == {"a": "SUCCEEDED", "b": "SUCCEEDED", "c": "SUCCEEDED"}
    assert order.read_text() == "a\nb\nc\n"
    assert first_time(exp, "b", "PENDING") < record(exp, "b")["launched"]
    assert record(exp, "b")["launched"] >= first_time(exp, "a", "SUCCEEDED")
    assert record(exp, "c")["launched"] >= first_time(exp, "b", "SUCCEEDED")
    assert exp.logs("a") == "appended a"


def test_concurrent_tasks_run_at_the_same_time(executor: LocalExecutor, tmp_path: Path) -> None:
    # each task waits for the other's file: they can only finish if they run together
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    exp = Experiment("together", executor=executor)
    exp.add(Partial(jobs.rendezvous, mine=one, other=two, timeout=TIMEOUT), name="one")
    exp.add(Partial(jobs.rendezvous, mine=two, other=one, timeout=TIMEOUT), name="two")
    exp.run()
    assert states(exp) == {"one": "SUCCEEDED", "two": "SUCCEEDED"}
    assert exp.logs("one") == exp.logs("two") == "met"


def test_max_concurrent_holds_tasks_back(executor: LocalExecutor, tmp_path: Path) -> None:
    exp = Experiment("limited", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "a")), name="a")
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "b"), release=str(tmp_path)), name="b")
    exp.run(detach=True, max_concurrent=1)
    wait_file(tmp_path / "a")
    for _ in range(10):  # a runs; b must wait for it
        assert record(exp, "b")["job_id"] is None
        assert states(exp)["b"] == "PENDING"
    (tmp_path / "a.release").touch()
    assert exp.wait(TIMEOUT) == {"a": JobState.SUCCEEDED, "b": JobState.SUCCEEDED}
    assert record(exp, "b")["launched"] >= first_time(exp, "a", "SUCCEEDED")


def test_dependencies_run_in_order(executor: LocalExecutor, tmp_path: Path) -> None:
    a, b, c = (str(tmp_path / n) for n in "abc")
    exp = Experiment("deps", executor=executor)
    exp.add(Partial(jobs.append, path=a, text="a", delay=0.2), name="prep-a")
    exp.add(Partial(jobs.append, path=b, text="b"), name="prep-b")
    exp.add(
        Partial(jobs.needs, paths=[a, b], out=c), name="train", dependencies=["prep-a", "prep-b"]
    )
    exp.run()
    assert set(states(exp).values()) == {"SUCCEEDED"}
    assert Path(c).read_text() == "ok"
    assert record(exp, "train")["dependencies"] == ["prep-a", "prep-b"]
    started = record(exp, "train")["launched"]
    assert started >= first_time(exp, "prep-a", "SUCCEEDED")
    assert started >= first_time(exp, "prep-b", "SUCCEEDED")


def test_a_failure_cancels_its_dependents_only(executor: LocalExecutor) -> None:
    exp = Experiment("broken", executor=executor)
    exp.add(Partial(jobs.fail, code=5, message="disk full"), name="prep")
    exp.add(Partial(jobs.echo), name="train", dependencies=["prep"])
    exp.add(Partial(jobs.echo), name="eval", dependencies=["train"])
    exp.add(Partial(jobs.echo, message="independent"), name="other")
    exp.run()
    statuses = exp.statuses()
    assert {name: s.state.value for name, s in statuses.items()} == {
        "prep": "FAILED",
        "train": "CANCELLED",
        "eval": "CANCELLED",
        "other": "SUCCEEDED",
    }
    assert (statuses["prep"].exit_code, statuses["prep"].reason) == (5, "exit code 5")
    assert statuses["train"].reason == "dependency 'prep' failed"
    assert statuses["eval"].reason == "dependency 'train' cancelled"
    assert exp.logs("prep").splitlines()[-1] == "disk full"  # the tail says why
    assert record(exp, "train")["job_id"] is None  # never launched
    assert exp.logs("train") == ""
    assert exp.logs("other") == "independent"


def test_sequential_failure_cancels_the_rest(executor: LocalExecutor) -> None:
    exp = Experiment("seqfail", executor=executor)
    exp.add(Partial(jobs.echo), name="first")
    exp.add(Partial(jobs.crash, message="bad batch"), name="second")
    exp.add(Partial(jobs.echo), name="third")
    exp.run(sequential=True)
    statuses = exp.statuses()
    assert [s.state.value for s in statuses.values()] == ["SUCCEEDED", "FAILED", "CANCELLED"]
    assert statuses["second"].exit_code == 1
    assert exp.logs("second").splitlines()[-1] == "RuntimeError: bad batch"
    assert statuses["third"].reason == "dependency 'second' failed"


def test_task_not_importable_where_it_runs_fails(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a module this process can import, but the job (run in the tests folder) cannot
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "only_here_task.py").write_text("def main(x: int = 1) -> None:\n    print(x)\n")
    monkeypatch.syspath_prepend(str(mine))
    import only_here_task  # type: ignore[import-not-found]

    exp = Experiment("lost", executor=executor)
    exp.add(Partial(only_here_task.main, x=2), name="main")
    exp.add(Partial(jobs.echo), name="after", dependencies=["main"])
    exp.run()
    statuses = exp.statuses()
    assert (statuses["main"].state, statuses["main"].exit_code) == (JobState.FAILED, 2)
    assert statuses["after"].state == JobState.CANCELLED
    output = exp.logs("main")
    assert "\n" not in output
    assert output.startswith("nrun.exec.task: ")
    assert "cannot import 'only_here_task.main'" in output


def test_unwritable_job_dir_fails_the_task_at_launch(local: Make, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    exp = Experiment("nowhere", executor=local(job_dir=str(tmp_path / "file" / "job")))
    exp.add(Partial(jobs.echo), name="echo")
    exp.add(Partial(jobs.echo), name="after", dependencies=["echo"])
    exp.run()
    statuses = exp.statuses()
    assert statuses["echo"].state == JobState.FAILED
    reason = statuses["echo"].reason
    assert "\n" not in reason
    assert reason.startswith("launch failed: job dir ")
    assert str(tmp_path / "file" / "job") in reason
    assert statuses["after"].reason == "dependency 'echo' failed"


def test_tail_logs_prints_each_line_with_its_task(
    executor: LocalExecutor, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = Experiment("tail", executor=executor)
    exp.add(Partial(jobs.lines, count=3, delay=0.05), name="count")
    exp.add(Partial(jobs.echo, message="hi"), name="greet")
    exp.run(tail_logs=True)
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("[count]")] == [
        "[count] line 0",
        "[count] line 1",
        "[count] line 2",
        "[count] done",
    ]
    assert "[greet] hi" in out


def test_default_executor_is_local_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(TESTS)
    exp = Experiment("plain")
    exp.add(Partial(jobs.report, path=str(tmp_path / "seen.json")), name="seen")
    exp.add(jobs.echo)  # a function with defaults only; named after it
    exp.run()
    statuses = exp.statuses()
    assert statuses["seen"].state == JobState.SUCCEEDED
    assert statuses["echo"].state == JobState.SUCCEEDED
    assert exp.logs("echo") == "hello"
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["cwd"] == str(TESTS)
    assert seen["job_dir"] == str(exp.dir / "tasks" / "seen")


# -- what is recorded ------------------------------------------------------------------------
def test_add_records_the_task_and_its_executor(local: Make, home: Path) -> None:
    executor = local(env_vars={"A": "1"})
    task = Partial(jobs.echo, message="recorded")
    exp = Experiment("rec", executor=executor)
    assert exp.add(task) == "echo"
    assert exp.add(task) == "echo-2"
    assert exp.tasks == ["echo", "echo-2"]
    assert exp.dir == home / "experiments" / "rec" / exp.id
    task_dir = exp.dir / "tasks" / "echo"
    assert load(task_dir / "task.yaml") == task
    recorded = load(task_dir / "executor.yaml")
    assert isinstance(recorded, Config)
    assert recorded.env_vars == {"A": "1"}
    assert recorded.job_dir == str(task_dir)
    job = read_json(task_dir / "job.json")
    assert job is not None
    assert (job["name"], job["executor"], job["job_id"]) == ("echo", "local", None)
    assert [s["state"] for s in job["states"]] == ["PENDING"]
    meta = read_json(exp.dir / "experiment.json")
    assert meta is not None
    assert (meta["title"], meta["id"], meta["tasks"]) == ("rec", exp.id, ["echo", "echo-2"])
    # the caller's objects are untouched
    assert executor.job_dir == ""
    assert task.message == "recorded"
    assert repr(exp) == f"Experiment('rec', id='{exp.id}', tasks=['echo', 'echo-2'])"


def test_a_base_job_dir_gets_a_folder_per_experiment_and_task(local: Make, tmp_path: Path) -> None:
    exp = Experiment("based", executor=local(job_dir=str(tmp_path / "jobs")))
    exp.add(Partial(jobs.report, path=str(tmp_path / "seen.json")), name="t")
    exp.run()
    assert states(exp) == {"t": "SUCCEEDED"}
    job_dir = tmp_path / "jobs" / exp.id / "t"
    assert json.loads((tmp_path / "seen.json").read_text())["job_dir"] == str(job_dir)
    assert (job_dir / "output.log").is_file()


def test_show_renders_a_table(local: Make) -> None:
    from rich.console import Console

    exp = Experiment("shown", executor=local())
    exp.add(Partial(jobs.echo), name="ok")
    exp.add(Partial(jobs.fail, code=4), name="bad")
    exp.add(Partial(jobs.echo), name="skipped", dependencies=["bad"])
    exp.add(
        Partial(jobs.echo), name="ranks", executor=local(launcher="torchrun", ntasks_per_node=2)
    )
    exp.run()
    buffer = io.StringIO()
    exp.show(Console(file=buffer, width=200))
    table = buffer.getvalue()
    assert f"Experiment {exp.id}" in table
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.count("│") > 3}
    assert set(rows) == {"ok", "bad", "skipped", "ranks"}
    header = next(line for line in table.splitlines() if "┃" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "task",
        "state",
        "job id",
        "executor",
        "started",
        "duration",
        "exit",
        "reason",
    ]
    assert "SUCCEEDED" in rows["ok"]
    assert str(record(exp, "ok")["job_id"]) in rows["ok"]
    assert " local " in rows["ok"]
    assert "FAILED" in rows["bad"]
    assert " 4 " in rows["bad"]
    assert "exit code 4" in rows["bad"]
    assert "CANCELLED" in rows["skipped"]
    assert "dependency 'bad' failed" in rows["skipped"]
    assert "local torchrun 1x2" in rows["ranks"]


# -- detached, reopened from another process ---------------------------------------------------
FROM_ANOTHER_PROCESS = """
import json, sys
from nrun.exec.experiment import Experiment

exp = Experiment.from_id(sys.argv[1])
seen = {
    "tasks": exp.tasks,
    "before": {name: state.value for name, state in exp.status().items()},
    "logs": {name: exp.logs(name) for name in exp.tasks},
}
exp.cancel("slow")
seen["after"] = {name: state.value for name, state in exp.status().items()}
print(json.dumps(seen))
"""


def test_detach_then_follow_and_cancel_from_a_new_process(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    exp = Experiment("detached", executor=executor)
    exp.add(Partial(jobs.echo, message="quick one"), name="quick")
    exp.add(Partial(jobs.block, pidfile=str(pidfile), timeout=60), name="slow")
    exp.add(Partial(jobs.echo), name="after", dependencies=["slow"])
    exp.run(detach=True)  # returns at once
    task_pid = int(wait_file(pidfile))
    until(lambda: states(exp)["quick"] == "SUCCEEDED", TIMEOUT, what="quick to succeed")

    done = subprocess.run(
        [sys.executable, "-c", FROM_ANOTHER_PROCESS, exp.id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["tasks"] == ["quick", "slow", "after"]
    assert seen["before"] == {"quick": "SUCCEEDED", "slow": "RUNNING", "after": "PENDING"}
    assert seen["logs"] == {"quick": "quick one", "slow": "started", "after": ""}
    assert seen["after"]["quick"] == "SUCCEEDED"
    assert seen["after"]["slow"] == "CANCELLED"
    assert seen["after"]["after"] in ("PENDING", "CANCELLED")  # the launcher may be quicker

    wait_dead(task_pid, timeout=10)
    final = exp.wait(TIMEOUT)
    assert final == {
        "quick": JobState.SUCCEEDED,
        "slow": JobState.CANCELLED,
        "after": JobState.CANCELLED,
    }
    assert exp.statuses()["after"].reason == "dependency 'slow' cancelled"
    reopened = Experiment.from_id(exp.id)
    assert reopened.status() == final
    assert reopened.logs("quick") == "quick one"


INTERRUPTED = """
import signal
import sys
import jobs
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if ignored here
exp = Experiment("interrupted", executor=LocalExecutor())
exp.add(Partial(jobs.block, pidfile=sys.argv[1], timeout=60), name="slow")
exp.add(Partial(jobs.echo), name="after", dependencies=["slow"])
print(exp.id, flush=True)
exp.run()
"""


def test_a_task_killed_with_sigkill_is_failed_not_running(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    exp = Experiment("killed", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "pid"), timeout=60), name="victim")
    exp.add(Partial(jobs.echo), name="after", dependencies=["victim"])
    exp.run(detach=True)
    os.kill(int(wait_file(tmp_path / "pid")), signal.SIGKILL)
    assert exp.wait(TIMEOUT) == {"victim": JobState.FAILED, "after": JobState.CANCELLED}
    status = exp.statuses()["victim"]
    assert (status.exit_code, status.reason) == (137, "killed by SIGKILL")
    assert Experiment.from_id(exp.id).status()["victim"] == JobState.FAILED


def test_ctrl_c_cancels_what_runs(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    with subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(pidfile)],
        cwd=TESTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as script:
        try:
            assert script.stdout is not None
            experiment_id = script.stdout.readline().strip()
            task_pid = int(wait_file(pidfile))
            script.send_signal(signal.SIGINT)  # what Ctrl-C does: the job is in its own session
            _, err = script.communicate(timeout=TIMEOUT)
        finally:
            script.kill()
    assert "KeyboardInterrupt" in err
    wait_dead(task_pid, timeout=10)
    exp = Experiment.from_id(experiment_id)
    assert exp.status() == {"slow": JobState.CANCELLED, "after": JobState.CANCELLED}


def test_a_dead_launcher_leaves_nothing_pending(executor: LocalExecutor, tmp_path: Path) -> None:
    exp = Experiment("orphaned", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "pid")), name="first")
    exp.add(Partial(jobs.echo), name="second", dependencies=["first"])
    exp.run(detach=True)
    wait_file(tmp_path / "pid")
    meta = read_json(exp.dir / "experiment.json")
    assert meta is not None
    launcher = meta["launcher"]["pid"]
    os.kill(launcher, signal.SIGKILL)
    wait_dead(launcher)
    (tmp_path / "pid.release").touch()  # the job itself goes on without its launcher
    assert exp.wait(TIMEOUT) == {"first": JobState.SUCCEEDED, "second": JobState.CANCELLED}
    assert exp.statuses()["second"].reason == f"launcher {launcher} died before launching it"


def test_detached_logs_follow_streams(executor: LocalExecutor, tmp_path: Path) -> None:
    exp = Experiment("follow", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "first")), name="first")
    exp.add(Partial(jobs.lines, count=3, delay=0.05), name="second", dependencies=["first"])
    exp.run(detach=True)
    first = exp.logs("first", follow=True)
    assert next(first) == "started"  # while the task still runs
    assert states(exp)["first"] == "RUNNING"
    second = exp.logs("second", follow=True)  # not launched yet: waits for it
    (tmp_path / "first.release").touch()
    assert list(first) == ["released"]
    assert list(second) == ["line 0", "line 1", "line 2", "done"]
    assert exp.wait(TIMEOUT) == {"first": JobState.SUCCEEDED, "second": JobState.SUCCEEDED}


def test_cancel_everything(executor: LocalExecutor, tmp_path: Path) -> None:
    exp = Experiment("stopall", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "a"), timeout=60), name="a")
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "b"), timeout=60), name="b")
    exp.add(Partial(jobs.echo), name="c", dependencies=["a"])
    exp.run(detach=True)
    pids = [int(wait_file(tmp_path / n)) for n in "ab"]
    exp.cancel()
    assert exp.wait(TIMEOUT) == {n: JobState.CANCELLED for n in "abc"}
    for pid in pids:
        wait_dead(pid, timeout=10)
    assert record(exp, "c")["job_id"] is None
    exp.cancel()  # again: nothing left to do


def test_cancel_while_a_task_is_being_launched(local: Make, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    packager = jobs.GatedPackager(gate=str(gate), include_pattern=["jobs.py"])
    exp = Experiment("racing", executor=local(packager=packager))
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "pid"), timeout=60), name="t")
    runner = threading.Thread(target=exp.run)
    runner.start()
    try:
        until(lambda: Path(f"{gate}.waiting").exists(), TIMEOUT, what="the launch to begin")
        exp.cancel()  # not launched yet: recorded CANCELLED, while the launch goes on
    finally:
        gate.touch()
        runner.join(TIMEOUT)
    assert not runner.is_alive()
    assert states(exp) == {"t": "CANCELLED"}
    # the job that was being launched is known and was stopped: nothing runs untracked
    job_id = record(exp, "t")["job_id"]
    assert isinstance(job_id, str)
    executor = Experiment.from_id(exp.id)._tasks["t"].executor
    assert executor.status(job_id).state == JobState.CANCELLED
    if (tmp_path / "pid").exists():
        wait_dead(int((tmp_path / "pid").read_text()), timeout=10)
    assert not alive(int(job_id))


def test_from_title_and_list(executor: LocalExecutor) -> None:
    older = Experiment("listed", executor=executor)
    older.add(Partial(jobs.echo, message="older"), name="t")
    older.run()
    newer = Experiment("listed", executor=executor)
    newer.add(Partial(jobs.echo, message="newer"), name="t")
    other = Experiment("other", executor=executor)
    other.add(Partial(jobs.echo), name="u")

    latest = Experiment.from_title("listed")
    assert latest.id == newer.id
    assert latest.status() == {"t": JobState.PENDING}  # recorded, not run

    found = Experiment.list()
    assert [e["id"] for e in found] == [other.id, newer.id, older.id]  # newest first
    assert found[2] == {
        "id": older.id,
        "title": "listed",
        "created": pytest.approx(found[2]["created"]),
        "tasks": ["t"],
        "dir": str(older.dir),
    }
    assert [e["id"] for e in Experiment.list("listed")] == [newer.id, older.id]
    assert Experiment.list("never") == []
    assert Experiment.from_id(older.id).logs("t") == "older"


def test_list_with_nothing_recorded() -> None:
    assert Experiment.list() == []
    exp = Experiment("empty")
    assert not exp.dir.exists()  # nothing is written before the first task
    assert Experiment.list() == []


def test_two_experiments_at_once_never_share_files(local: Make, tmp_path: Path) -> None:
    shared = local(job_dir=str(tmp_path / "jobs"))  # the same executor and base job dir
    twins = []
    for n in range(2):
        exp = Experiment("twin", executor=shared)
        exp.add(
            Partial(jobs.report, path=str(tmp_path / f"seen{n}.json"), message=f"twin {n}"),
            name="train",
        )
        exp.add(Partial(jobs.echo, message=f"eval {n}"), name="eval", dependencies=["train"])
        twins.append(exp)
    for exp in twins:
        exp.run(detach=True)
    for exp in twins:
        assert exp.wait(TIMEOUT) == {"train": JobState.SUCCEEDED, "eval": JobState.SUCCEEDED}

    first, second = twins
    assert first.id != second.id
    assert first.dir != second.dir
    assert not first.dir.is_relative_to(second.dir)
    assert not second.dir.is_relative_to(first.dir)
    seen = [read_json_file(tmp_path / f"seen{n}.json") for n in range(2)]
    assert seen[0]["job_dir"] != seen[1]["job_dir"]
    for n, exp in enumerate(twins):
        assert seen[n]["job_dir"] == str(tmp_path / "jobs" / exp.id / "train")
        assert exp.logs("train") == f"message=twin {n}"
        assert exp.logs("eval") == f"eval {n}"
    files = [
        {p for p in (tmp_path / "jobs" / exp.id).rglob("*")} | set(exp.dir.rglob("*"))
        for exp in twins
    ]
    assert files[0] and files[1]
    assert not files[0] & files[1]


# -- user errors: one clear line -------------------------------------------------------------
@pytest.mark.parametrize("title", ["../x", "a/b", "..", "", ".hidden", "with space"])
def test_invalid_titles(title: str) -> None:
    attempts = [lambda: Experiment(title), lambda: Experiment.from_title(title)]
    if title:  # list("") lists every title
        attempts.append(lambda: Experiment.list(title))
    for attempt in attempts:
        with pytest.raises(ExperimentError) as info:
            attempt()
        assert "invalid experiment title" in one_line(info.value)


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", "-x"])
def test_invalid_task_names(name: str, home: Path) -> None:
    exp = Experiment("names")
    with pytest.raises(ExperimentError) as info:
        exp.add(Partial(jobs.echo), name=name)
    assert f"invalid task name {name!r}" in one_line(info.value)
    assert not (home / "x").exists()
    assert exp.tasks == []


def test_unknown_task_names_suggest_the_closest(executor: LocalExecutor) -> None:
    exp = Experiment("typo", executor=executor)
    exp.add(Partial(jobs.echo), name="train")
    exp.add(Partial(jobs.echo), name="evaluate")
    for attempt in (
        lambda: exp.logs("trian"),
        lambda: exp.cancel("trian"),
        lambda: exp.logs("trian", follow=True),
    ):
        with pytest.raises(ExperimentError) as info:
            attempt()
        message = one_line(info.value)
        assert "no task 'trian'" in message
        assert message.endswith("Did you mean 'train'?")
    with pytest.raises(ExperimentError) as info:
        exp.logs("zzz")
    assert one_line(info.value).endswith("Tasks: train, evaluate.")


def test_dependency_that_does_not_exist(executor: LocalExecutor) -> None:
    exp = Experiment("baddep", executor=executor)
    exp.add(Partial(jobs.echo), name="prepare")
    with pytest.raises(ExperimentError) as info:
        exp.add(Partial(jobs.echo), name="train", dependencies=["prepar"])
    message = one_line(info.value)
    assert "'prepar'" in message
    assert "Did you mean 'prepare'?" in message
    assert exp.tasks == ["prepare"]
    assert not (exp.dir / "tasks" / "train").exists()


def test_duplicate_task_name(executor: LocalExecutor) -> None:
    exp = Experiment("dup", executor=executor)
    exp.add(Partial(jobs.echo), name="t")
    with pytest.raises(ExperimentError) as info:
        exp.add(Partial(jobs.echo), name="t")
    assert "'t'" in one_line(info.value)


def test_running_twice_and_adding_after(executor: LocalExecutor) -> None:
    exp = Experiment("twice", executor=executor)
    exp.add(Partial(jobs.echo), name="t")
    exp.run()
    with pytest.raises(ExperimentError) as info:
        exp.run()
    assert "already run" in one_line(info.value)
    with pytest.raises(ExperimentError) as info:
        Experiment.from_id(exp.id).run()
    assert exp.id in one_line(info.value)
    with pytest.raises(ExperimentError) as info:
        exp.add(Partial(jobs.echo), name="late")
    assert "already run" in one_line(info.value)


def test_nothing_to_run_and_bad_limit(executor: LocalExecutor) -> None:
    with pytest.raises(ExperimentError) as info:
        Experiment("empty").run()
    assert "no tasks" in one_line(info.value)
    exp = Experiment("limit", executor=executor)
    exp.add(Partial(jobs.echo), name="t")
    with pytest.raises(ExperimentError) as info:
        exp.run(max_concurrent=0)
    assert "max_concurrent" in one_line(info.value)
    exp.run(max_concurrent=1)  # the bad call did not count as a run
    assert states(exp) == {"t": "SUCCEEDED"}


@pytest.mark.parametrize("name", ["1BAD", "BAD-NAME", "A B"])
def test_bad_env_var_name_at_add(local: Make, name: str) -> None:
    exp = Experiment("env", executor=local())
    with pytest.raises(ExecutorError) as info:
        exp.add(Partial(jobs.echo), name="t", executor=local(env_vars={name: "x"}))
    assert repr(name) in one_line(info.value)
    assert exp.tasks == []
    assert not (exp.dir / "tasks" / "t").exists()


def test_tasks_that_are_not_tasks(executor: LocalExecutor) -> None:
    exp = Experiment("what", executor=executor)
    with pytest.raises(ExperimentError) as info:
        exp.add(42)
    assert "42" in one_line(info.value)

    def local_fn() -> None: ...

    with pytest.raises(ConfigError) as caught:  # cannot be exported: fails here, not at launch
        exp.add(Partial(local_fn), name="inner")
    assert "only module-level functions" in one_line(caught.value)
    assert not (exp.dir / "tasks" / "inner").exists()
    assert exp.tasks == []


def test_unknown_experiment_id() -> None:
    with pytest.raises(ExperimentError) as info:
        Experiment.from_id("ghost_20240101-000000_abcdef")
    assert "'ghost_20240101-000000_abcdef'" in one_line(info.value)
    with pytest.raises(ExperimentError) as info:
        Experiment.from_id("../../etc/passwd")
    one_line(info.value)
    with pytest.raises(ExperimentError) as info:
        Experiment.from_title("ghost")
    assert "'ghost'" in one_line(info.value)


def test_tasks_know_their_experiment_and_name(executor: LocalExecutor, tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    exp = Experiment("named", executor=executor)
    names = ["NRUN_EXPERIMENT_ID", "NRUN_TASK_NAME"]
    exp.add(Partial(jobs.report, path=str(out), names=names), name="look")
    exp.run()
    seen = json.loads(out.read_text())["env"]
    assert seen == {"NRUN_EXPERIMENT_ID": exp.id, "NRUN_TASK_NAME": "look"}


def test_missing_required_arguments_fail_at_add(executor: LocalExecutor) -> None:
    exp = Experiment("incomplete", executor=executor)
    with pytest.raises(ExperimentError) as info:
        exp.add(Partial(jobs.report), name="nopath")
    assert "missing required argument(s): path" in one_line(info.value)
    assert exp.tasks == []


def test_a_lambda_is_refused_for_what_it_is(executor: LocalExecutor) -> None:
    exp = Experiment("lambdas", executor=executor)
    with pytest.raises(ConfigError) as info:
        exp.add(lambda: None)
    assert "only module-level functions" in one_line(info.value)


def test_a_job_whose_records_vanish_ends_failed(executor: LocalExecutor, tmp_path: Path) -> None:
    exp = Experiment("vanishing", executor=executor)
    exp.add(Partial(jobs.block, pidfile=str(tmp_path / "pid")), name="gone")
    exp.run(detach=True)
    wait_file(tmp_path / "pid")
    job_dir = Path(Experiment.from_id(exp.id)._tasks["gone"].executor.job_dir)
    (job_dir / "launched.json").unlink()
    states_now = Experiment.from_id(exp.id).wait(timeout=TIMEOUT)
    assert states_now == {"gone": JobState.FAILED}
    assert "lost track of the job" in record(exp, "gone")["reason"]
    (tmp_path / "pid.release").touch()
    wait_dead(int(wait_file(tmp_path / "pid")))


def test_an_attached_run_reports_each_failure_with_the_end_of_its_log(
    executor: LocalExecutor, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = Experiment("report", executor=executor)
    exp.add(Partial(jobs.fail, code=6, message="the disk is full"), name="bad")
    exp.add(Partial(jobs.echo), name="good")
    exp.run()
    err = capsys.readouterr().err
    assert "task 'bad' FAILED: exit code 6" in err
    assert "  | the disk is full" in err
    assert "'good'" not in err


def test_show_prints_reasons_as_text_not_markup(tmp_path: Path) -> None:
    """A reason holding `[...]` is printed as it is (rich would take it for markup)."""
    from rich.console import Console

    from nrun.exec.probes import fail
    from nrun.exec.store import update_json

    exp = Experiment("markup", executor=LocalExecutor(job_dir=str(tmp_path / "jobs")))
    exp.add(Partial(fail, code=3, message="x"), name="t")
    exp.run()
    update_json(exp.dir / "tasks" / "t" / "job.json", reason="node [bold]1[/bold] died")
    out = io.StringIO()
    Experiment.from_id(exp.id).show(Console(file=out, width=200))
    assert "node [bold]1[/bold] died" in out.getvalue()


def _not_executable(tmp_path: Path) -> str:
    path = tmp_path / "python-but-not-executable"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o644)
    return str(path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (lambda tmp: {"python": ""}, "python must name the interpreter"),
        (lambda tmp: {"python": "   "}, "python must name the interpreter"),
        (lambda tmp: {"python": str(tmp / "nope")}, "python '{tmp}/nope' not found"),
        (lambda tmp: {"python": "no-such-python-here"}, "'no-such-python-here' not found on PATH"),
        (
            lambda tmp: {"python": _not_executable(tmp)},
            "python '{tmp}/python-but-not-executable' is not executable",
        ),
        (lambda tmp: {"workdir": str(tmp / "gone")}, "workdir '{tmp}/gone' is not a directory"),
    ],
)
def test_an_executor_that_cannot_run_is_refused_before_anything_is_recorded(
    local: Make,
    tmp_path: Path,
    home: Path,
    fields: Callable[[Path], dict[str, Any]],
    message: str,
) -> None:
    exp = Experiment("refused", executor=local(**fields(tmp_path)))
    with pytest.raises(ExecutorError) as info:
        exp.add(Partial(jobs.echo), name="t")
    assert message.format(tmp=tmp_path) in one_line(info.value)
    assert exp.tasks == []
    assert not exp.dir.exists()
    assert Experiment.list() == []


def test_an_executor_that_cannot_run_is_refused_beside_good_tasks(
    local: Make, tmp_path: Path
) -> None:
    exp = Experiment("refused", executor=local())
    exp.add(Partial(jobs.echo), name="good")
    with pytest.raises(ExecutorError):
        exp.add(Partial(jobs.echo), name="bad", executor=local(python=str(tmp_path / "x")))
    assert Experiment.from_id(exp.id).tasks == ["good"]
    assert not (exp.dir / "tasks" / "bad").exists()


def test_python_is_found_on_the_path_the_task_gets(local: Make, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "mypython"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    exp = Experiment("onpath", executor=local(python="mypython"))
    with pytest.raises(ExecutorError):
        exp.add(Partial(jobs.echo), name="t")
    path = f"{bin_dir}:{os.environ['PATH']}"
    exp.add(
        Partial(jobs.echo, message="found"),
        name="t",
        executor=local(python="mypython", env_vars={"PATH": path}),
    )
    exp.run()
    assert exp.logs("t") == "found"
