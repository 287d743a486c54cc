"""`LocalExecutor`: the shared executor suite, then what only the local executor does.

Every job here is a real supervisor process running the real task runner in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobs
from helpers import TESTS, alive, make_repo, read_json_file, until, wait_dead, wait_file
from nrun.config import Partial, dump
from nrun.config.atomic import read_json
from nrun.exec import local as local_module
from nrun.exec.base import ExecutorError, Job, JobState, UnknownJobError
from nrun.exec.local import LocalExecutor
from nrun.exec.packaging import GitArchivePackager, PackagingError, PatternPackager
from nrun.exec.testing import ExecutorTestSuite, wait_final

Make = Callable[..., LocalExecutor]


class TestLocalExecutor(ExecutorTestSuite):
    """The behaviours every executor shows, for the local one."""

    timeout = 30.0

    @pytest.fixture
    def executor(self, tmp_path: Path) -> LocalExecutor:
        return LocalExecutor(job_dir=str(tmp_path / "job"), cancel_grace=5.0)


def launch(executor: LocalExecutor, fn: Any, /, **kwargs: Any) -> str:
    config = dump(Partial(fn, **kwargs), Path(executor.job_dir).parent / f"{fn.__name__}.yaml")
    return executor.launch(Job(fn.__name__, config))


def log(executor: LocalExecutor, job_id: str) -> list[str]:
    return list(executor.logs(job_id))


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message
    assert "\n" not in message, message
    return message


@pytest.fixture
def executor(tmp_path: Path, local: Make) -> LocalExecutor:
    return local(job_dir=str(tmp_path / "job"))


# -- what a job leaves behind ----------------------------------------------------------------
def test_job_runs_in_workdir_with_its_job_dir_and_env(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.env_vars = {"NRUN_TEST_A": "1"}
    out = tmp_path / "seen.json"
    job_id = launch(executor, jobs.report, path=str(out), names=["NRUN_TEST_A", "PYTHONPATH"])
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code, status.reason) == (JobState.SUCCEEDED, 0, "")
    seen = json.loads(out.read_text())
    job_dir = Path(executor.job_dir).resolve()
    assert seen["cwd"] == str(TESTS)
    assert seen["job_dir"] == str(job_dir)
    assert seen["env"]["NRUN_TEST_A"] == "1"
    assert seen["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(TESTS)
    # the job id is the supervisor's pid; its files are in the job dir
    state = read_json(job_dir / "state.json")
    assert state is not None and state["pid"] == int(job_id)
    assert {"supervisor.json", "state.json", "result.json", "output.log"} <= {
        p.name for p in job_dir.iterdir()
    }
    assert read_json(job_dir / "result.json") == {
        "state": "SUCCEEDED",
        "exit_code": 0,
        "reason": "",
        "finished": pytest.approx(time.time(), abs=60),
    }


def test_status_is_pending_or_running_then_final(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    job_id = launch(executor, jobs.block, pidfile=str(pidfile))
    assert executor.status(job_id).state in (JobState.PENDING, JobState.RUNNING)
    wait_file(pidfile)
    assert executor.status(job_id).state == JobState.RUNNING
    (tmp_path / "pid.release").touch()
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED
    assert log(executor, job_id) == ["started", "released"]
    assert int(job_id) not in local_module._children  # the supervisor was reaped


def test_relaunch_in_the_same_job_dir_starts_afresh(executor: LocalExecutor) -> None:
    first = launch(executor, jobs.fail, code=3)
    assert wait_final(executor, first, 30).state == JobState.FAILED
    second = launch(executor, jobs.echo, message="second run")
    assert second != first
    assert wait_final(executor, second, 30).state == JobState.SUCCEEDED
    assert log(executor, second) == ["second run"]
    with pytest.raises(UnknownJobError) as info:
        executor.status(first)
    assert first in one_line(info.value)


def test_failure_keeps_the_exit_code_and_the_end_of_the_log(executor: LocalExecutor) -> None:
    job_id = launch(executor, jobs.fail, code=7, message="out of memory at step 12")
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code, status.reason) == (JobState.FAILED, 7, "exit code 7")
    assert log(executor, job_id)[-1] == "out of memory at step 12"


def test_a_raising_task_fails_with_its_traceback(executor: LocalExecutor) -> None:
    job_id = launch(executor, jobs.crash, message="nan loss")
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code) == (JobState.FAILED, 1)
    lines = log(executor, job_id)
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: nan loss"


# -- retries ---------------------------------------------------------------------------------
def test_retry_after_a_failure_succeeds(executor: LocalExecutor, tmp_path: Path) -> None:
    executor.retries = 1
    counter = tmp_path / "runs"
    job_id = launch(executor, jobs.flaky, counter=str(counter), failures=1)
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code) == (JobState.SUCCEEDED, 0)
    assert counter.read_text() == "2"
    assert log(executor, job_id) == [
        "run 1",
        "flaky failure",
        "[nrun] attempt 2 of 2",
        "run 2",
        "flaky success",
    ]


def test_retries_run_out(executor: LocalExecutor, tmp_path: Path) -> None:
    executor.retries = 2
    counter = tmp_path / "runs"
    job_id = launch(executor, jobs.flaky, counter=str(counter), failures=10)
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code) == (JobState.FAILED, 1)
    assert counter.read_text() == "3"
    lines = log(executor, job_id)
    assert "[nrun] attempt 3 of 3" in lines
    assert "[nrun] attempt 4 of 3" not in lines


# -- processes dying -------------------------------------------------------------------------
def test_task_killed_with_sigkill_fails(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    job_id = launch(executor, jobs.block, pidfile=str(pidfile))
    task_pid = int(wait_file(pidfile))
    assert task_pid != int(job_id)
    os.kill(task_pid, signal.SIGKILL)
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code, status.reason) == (
        JobState.FAILED,
        137,
        "killed by SIGKILL",
    )


def test_supervisor_killed_takes_the_task_with_it(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    job_id = launch(executor, jobs.block, pidfile=str(pidfile), timeout=60)
    task_pid = int(wait_file(pidfile))
    os.kill(int(job_id), signal.SIGKILL)
    wait_dead(task_pid, timeout=10)  # PR_SET_PDEATHSIG
    status = wait_final(executor, job_id, 10)
    assert status.state == JobState.FAILED
    assert "supervisor died" in status.reason
    assert executor.status(job_id).state == JobState.FAILED  # and it stays so


def test_cancel_kills_the_whole_process_tree(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    job_id = launch(executor, jobs.spawn_grandchild, pidfile=str(pidfile), timeout=60)
    pids = read_json_file(pidfile)
    assert alive(pids["task"])
    assert alive(pids["grandchild"])
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.CANCELLED
    wait_dead(pids["task"], timeout=5)
    wait_dead(pids["grandchild"], timeout=5)
    assert not alive(int(job_id))
    result = read_json(Path(executor.job_dir) / "result.json")
    assert result is not None and result["state"] == "CANCELLED"


def test_cancel_kills_a_grandchild_that_ignores_sigterm(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.cancel_grace = 0.5
    pidfile = tmp_path / "pids"
    job_id = launch(executor, jobs.spawn_grandchild, pidfile=str(pidfile), stubborn=True)
    pids = read_json_file(pidfile)
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.CANCELLED
    wait_dead(pids["task"], timeout=5)
    wait_dead(pids["grandchild"], timeout=5)


def test_cancel_escalates_to_sigkill_after_the_grace(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    executor.cancel_grace = 0.5
    pidfile = tmp_path / "pid"
    job_id = launch(executor, jobs.ignore_sigterm, pidfile=str(pidfile), timeout=60)
    task_pid = int(wait_file(pidfile))
    start = time.monotonic()
    executor.cancel(job_id)
    assert time.monotonic() - start < 10
    wait_dead(task_pid, timeout=5)
    status = executor.status(job_id)
    assert (status.state, status.reason) == (JobState.CANCELLED, "cancelled")


def test_cancel_right_after_launch(executor: LocalExecutor, tmp_path: Path) -> None:
    executor.cancel_grace = 20.0
    start = time.monotonic()
    job_id = launch(executor, jobs.block, pidfile=str(tmp_path / "pid"), timeout=60)
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.CANCELLED
    assert time.monotonic() - start < 10  # SIGTERM did it: the grace was not waited out
    until(lambda: not alive(int(job_id)), 10, what="the supervisor to end")


def test_cancel_of_a_finished_job_leaves_it(executor: LocalExecutor) -> None:
    job_id = launch(executor, jobs.echo)
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.SUCCEEDED
    assert not (Path(executor.job_dir) / "cancel").exists()


# -- logs ------------------------------------------------------------------------------------
def test_logs_follow_streams_while_the_job_runs(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    job_id = launch(executor, jobs.block, pidfile=str(pidfile))
    lines = executor.logs(job_id, follow=True)
    assert next(lines) == "started"  # while the task is still blocked
    assert executor.status(job_id).state == JobState.RUNNING
    (tmp_path / "pid.release").touch()
    assert list(lines) == ["released"]
    assert executor.status(job_id).state == JobState.SUCCEEDED


def test_logs_keep_a_last_line_without_newline(executor: LocalExecutor, tmp_path: Path) -> None:
    job_id = launch(executor, jobs.echo, message="no newline\nat the end")
    wait_final(executor, job_id, 30)
    (Path(executor.job_dir) / "output.log").write_text("first\nsecond without newline")
    assert log(executor, job_id) == ["first", "second without newline"]
    assert list(executor.logs(job_id, follow=True)) == ["first", "second without newline"]


# -- user errors: one line each --------------------------------------------------------------
def test_task_that_is_not_importable_fails_with_exit_2(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    config = tmp_path / "task.yaml"
    config.write_text("_target_: no_such_module.train\n_partial_: true\nlr: 0.1\n")
    job_id = executor.launch(Job("train", config))
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code) == (JobState.FAILED, 2)
    lines = log(executor, job_id)
    assert len(lines) == 1, lines
    assert lines[0].startswith("nrun.exec.task: ")
    assert "cannot import 'no_such_module.train'" in lines[0]


@pytest.mark.parametrize("name", ["1BAD", "BAD-NAME", "A B"])
def test_bad_env_var_name_at_launch(executor: LocalExecutor, name: str, tmp_path: Path) -> None:
    executor.env_vars = {name: "1"}
    with pytest.raises(ExecutorError) as info:
        launch(executor, jobs.echo)
    assert repr(name) in one_line(info.value)
    assert not (Path(executor.job_dir) / "supervisor.json").exists()


def test_job_dir_that_cannot_be_written(local: Make, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    executor = local(job_dir=str(tmp_path / "file" / "job"))
    config = dump(Partial(jobs.echo), tmp_path / "task.yaml")
    with pytest.raises(ExecutorError) as info:
        executor.launch(Job("echo", config))
    message = one_line(info.value)
    assert str(tmp_path / "file" / "job") in message
    assert "cannot be written" in message


def test_job_dir_is_needed(local: Make, tmp_path: Path) -> None:
    config = dump(Partial(jobs.echo), tmp_path / "task.yaml")
    with pytest.raises(ExecutorError) as info:
        local().launch(Job("echo", config))
    assert "job_dir" in one_line(info.value)


def test_workdir_must_be_a_folder(local: Make, tmp_path: Path) -> None:
    config = dump(Partial(jobs.echo), tmp_path / "task.yaml")
    executor = local(job_dir=str(tmp_path / "job"), workdir=str(tmp_path / "nowhere"))
    with pytest.raises(ExecutorError) as info:
        executor.launch(Job("echo", config))
    assert str(tmp_path / "nowhere") in one_line(info.value)


@pytest.mark.parametrize("job_id", ["424242", "not-a-pid", ""])
@pytest.mark.parametrize("method", ["status", "cancel", "logs"])
def test_unknown_job_id(executor: LocalExecutor, job_id: str, method: str) -> None:
    with pytest.raises(UnknownJobError) as info:
        result = getattr(executor, method)(job_id)
        if method == "logs":
            list(result)
    assert repr(job_id) in one_line(info.value) or f"job {job_id} " in str(info.value)


def test_only_the_launched_id_is_the_jobs_even_before_it_starts(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    job_id = launch(executor, jobs.block, pidfile=str(tmp_path / "pid"))
    # at once, before the supervisor has written anything: a wrong id must never be taken for
    # this job (cancel would signal that process group)
    for wrong in ("1", str(os.getpid())):
        for method in (executor.status, executor.cancel):
            with pytest.raises(UnknownJobError):
                method(wrong)
    assert executor.status(job_id).state in (JobState.PENDING, JobState.RUNNING)
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.CANCELLED


def test_unknown_job_id_beside_a_real_job(executor: LocalExecutor) -> None:
    job_id = launch(executor, jobs.echo)
    wait_final(executor, job_id, 30)
    with pytest.raises(UnknownJobError) as info:
        executor.cancel(str(int(job_id) + 1))
    assert str(int(job_id) + 1) in one_line(info.value)


def test_python_that_does_not_exist_is_refused_at_launch(local: Make, tmp_path: Path) -> None:
    executor = local(job_dir=str(tmp_path / "job"), python=str(tmp_path / "no-python"))
    with pytest.raises(ExecutorError) as info:
        launch(executor, jobs.echo)
    assert one_line(info.value) == f"python '{tmp_path / 'no-python'}' not found"
    assert not (tmp_path / "job").exists()


def test_python_that_cannot_start(local: Make, tmp_path: Path) -> None:
    broken = tmp_path / "not-a-program"  # executable, but neither a binary nor a script
    broken.write_bytes(b"\x00\x01\x02")
    broken.chmod(0o755)
    executor = local(job_dir=str(tmp_path / "job"), python=str(broken))
    job_id = launch(executor, jobs.echo)
    status = wait_final(executor, job_id, 30)
    assert (status.state, status.exit_code) == (JobState.FAILED, 127)
    assert "cannot start" in status.reason
    assert log(executor, job_id)[0].startswith(f"[nrun] cannot start {broken}")


# -- packaged code ---------------------------------------------------------------------------
PROJECT_TASK = """\
import json, os
from pathlib import Path

VERSION = {version}


def main(out):
    Path(out).write_text(json.dumps({{"file": __file__, "cwd": os.getcwd(), "v": VERSION}}))
"""


def _task_file(tmp_path: Path, module: str, out: Path) -> Path:
    """A task file naming `module.main`, written by hand: this process never imports it."""
    config = tmp_path / "task.yaml"
    config.write_text(f"_target_: {module}.main\n_partial_: true\nout: {out}\n")
    return config


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from a folder that holds none of the code."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def test_runs_from_the_git_package(tmp_path: Path, elsewhere: Path, local: Make) -> None:
    project = make_repo(tmp_path / "project", {"gitpkg_task.py": PROJECT_TASK.format(version=1)})
    (project / "gitpkg_task.py").write_text(PROJECT_TASK.format(version=2))  # not committed
    out = tmp_path / "seen.json"
    executor = local(
        job_dir=str(tmp_path / "job"), workdir=str(project), packager=GitArchivePackager()
    )
    job_id = executor.launch(Job("t", _task_file(tmp_path, "gitpkg_task", out)))
    shutil.rmtree(project)  # the job needs nothing but its package
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED, log(executor, job_id)
    seen = json.loads(out.read_text())
    code = (tmp_path / "job" / "code").resolve()
    assert seen == {"file": str(code / "gitpkg_task.py"), "cwd": str(code), "v": 1}
    assert (tmp_path / "job" / "code.tar.gz").is_file()


def test_runs_from_the_pattern_package(tmp_path: Path, elsewhere: Path, local: Make) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "sub" / "patpkg_task.py").write_text(PROJECT_TASK.format(version=3))
    out = tmp_path / "seen.json"
    packager = PatternPackager(include_pattern=["*.py"], relative_path="sub")
    executor = local(job_dir=str(tmp_path / "job"), workdir=str(project), packager=packager)
    job_id = executor.launch(Job("t", _task_file(tmp_path, "patpkg_task", out)))
    shutil.rmtree(project)
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED, log(executor, job_id)
    code = (tmp_path / "job" / "code").resolve()
    assert json.loads(out.read_text())["file"] == str(code / "patpkg_task.py")


def test_runs_in_place_without_a_packager(tmp_path: Path, elsewhere: Path, local: Make) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "inplace_task.py").write_text(PROJECT_TASK.format(version=4))
    out = tmp_path / "seen.json"
    executor = local(job_dir=str(tmp_path / "job"), workdir=str(project))
    job_id = executor.launch(Job("t", _task_file(tmp_path, "inplace_task", out)))
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED, log(executor, job_id)
    seen = json.loads(out.read_text())
    assert seen == {"file": str(project / "inplace_task.py"), "cwd": str(project), "v": 4}
    assert not (tmp_path / "job" / "code").exists()


def test_default_workdir_is_where_it_was_launched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(TESTS)
    executor = LocalExecutor(job_dir=str(tmp_path / "job"))
    job_id = launch(executor, jobs.report, path=str(tmp_path / "seen.json"))
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED
    assert json.loads((tmp_path / "seen.json").read_text())["cwd"] == str(TESTS)


def test_packaging_error_at_launch(tmp_path: Path, elsewhere: Path, local: Make) -> None:
    executor = local(
        job_dir=str(tmp_path / "job"), workdir=str(elsewhere), packager=GitArchivePackager()
    )
    with pytest.raises(PackagingError) as info:
        launch(executor, jobs.echo)
    assert "not inside a git repository" in one_line(info.value)


# -- the supervisor on its own ---------------------------------------------------------------
def _supervise(job_dir: Path, command: list[str], retries: int = 0) -> int:
    job_dir.mkdir(exist_ok=True)
    spec = {"command": command, "cwd": str(job_dir), "env": dict(os.environ), "retries": retries}
    (job_dir / "supervisor.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-m", "nrun.exec._supervisor", str(job_dir)], timeout=60, check=False
    )
    return done.returncode


def test_supervisor_starts_nothing_once_cancelled(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "cancel").write_text("0")
    marker = tmp_path / "ran"
    _supervise(job_dir, ["touch", str(marker)], retries=2)
    assert not marker.exists()
    assert read_json(job_dir / "result.json") == {
        "state": "CANCELLED",
        "exit_code": None,
        "reason": "cancelled",
        "finished": pytest.approx(time.time(), abs=60),
    }
    assert (job_dir / "output.log").read_text() == ""


def test_supervisor_exit_code_is_the_tasks(tmp_path: Path) -> None:
    assert _supervise(tmp_path / "job", ["sh", "-c", "echo out; echo err >&2; exit 6"]) == 6
    assert (tmp_path / "job" / "output.log").read_text() == "out\nerr\n"
    result = read_json(tmp_path / "job" / "result.json")
    assert result is not None
    assert (result["state"], result["exit_code"]) == ("FAILED", 6)


def test_the_launching_environment_is_inherited_not_written_down(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRUN_TEST_SECRET_TOKEN", "s3cr3t-value")
    executor.env_vars = {"NRUN_GIVEN": "given"}
    out = tmp_path / "seen.json"
    job_id = launch(executor, jobs.report, path=str(out), names=["NRUN_TEST_SECRET_TOKEN"])
    assert wait_final(executor, job_id, 30).state == JobState.SUCCEEDED
    assert json.loads(out.read_text())["env"] == {"NRUN_TEST_SECRET_TOKEN": "s3cr3t-value"}
    spec = Path(executor.job_dir) / "supervisor.json"
    assert "s3cr3t-value" not in spec.read_text()
    assert json.loads(spec.read_text())["env"]["NRUN_GIVEN"] == "given"
    assert spec.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nodes": 2}, "nodes must be 1, got 2"),
        ({"ntasks_per_node": 2}, "ntasks_per_node=2 needs launcher='torchrun'"),
        ({"cancel_grace": -1.0}, "cancel_grace must be 0 or more"),
    ],
)
def test_what_one_machine_cannot_do_is_refused(
    local: Make, tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    executor = local(job_dir=str(tmp_path / "job"), **fields)
    with pytest.raises(ExecutorError) as info:
        launch(executor, jobs.echo)
    assert message in one_line(info.value)
