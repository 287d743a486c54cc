"""The executor interface: job states, field checks, the task command, executors by name."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nrun.config import Config, build, dump, load, to_buildable
from nrun.config.atomic import read_json, write_json
from nrun.exec import executors
from nrun.exec._supervisor import describe_exit, process_alive, start_time
from nrun.exec.base import Executor, ExecutorError, Job, JobState, JobStatus, shell_join
from nrun.exec.executors import (
    DISTRIBUTIONS,
    ExecutorNotInstalled,
    executor_class,
    executor_names,
)
from nrun.exec.local import LocalExecutor


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message
    assert "\n" not in message, message
    return message


# -- job states ------------------------------------------------------------------------------
def test_final_states() -> None:
    assert {s for s in JobState if s.final} == {
        JobState.SUCCEEDED,
        JobState.FAILED,
        JobState.CANCELLED,
    }
    assert not JobState.PENDING.final
    assert not JobState.RUNNING.final
    assert not JobState.UNKNOWN.final


def test_states_are_their_names() -> None:
    assert [s.value for s in JobState] == [
        "PENDING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "CANCELLED",
        "UNKNOWN",
    ]
    assert str(JobState.FAILED) == "FAILED"
    assert JobState("RUNNING") is JobState.RUNNING
    assert JobState.RUNNING == "RUNNING"


def test_job_status_defaults() -> None:
    status = JobStatus(JobState.FAILED, 3, "exit code 3")
    assert (status.state, status.exit_code, status.reason) == (JobState.FAILED, 3, "exit code 3")
    assert JobStatus(JobState.PENDING) == JobStatus(JobState.PENDING, None, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.exit_code = 4  # type: ignore[misc]


def test_job_is_a_frozen_record(tmp_path: Path) -> None:
    job = Job("train", tmp_path / "task.yaml")
    assert job.dependencies == ()
    assert Job("eval", tmp_path / "t.yaml", dependencies=("12",)).dependencies == ("12",)


# -- field checks ----------------------------------------------------------------------------
def test_executor_is_abstract() -> None:
    with pytest.raises(TypeError):
        Executor()  # type: ignore[abstract]


@pytest.mark.parametrize("name", ["1ABC", "BAD-NAME", "with space", "", "A=B", "É"])
def test_bad_env_var_name_is_one_line_naming_it(name: str) -> None:
    executor = LocalExecutor(env_vars={name: "x"})
    with pytest.raises(ExecutorError) as info:
        executor.validate()
    message = one_line(info.value)
    assert repr(name) in message
    assert "environment variable" in message


def test_env_var_value_must_be_a_string() -> None:
    with pytest.raises(ExecutorError) as info:
        LocalExecutor(env_vars={"GOOD": 3}).validate()  # type: ignore[dict-item]
    assert "GOOD" in one_line(info.value)
    assert "3" in str(info.value)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"launcher": "mpirun"}, "'mpirun'"),
        ({"nodes": 0}, "nodes"),
        ({"ntasks_per_node": -1}, "ntasks_per_node"),
        ({"retries": -2}, "retries"),
    ],
)
def test_bad_fields_are_one_line_naming_them(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ExecutorError) as info:
        LocalExecutor(**fields).validate()  # type: ignore[arg-type]
    assert named in one_line(info.value)


def test_good_fields_pass() -> None:
    LocalExecutor(
        env_vars={"A_1": "x", "_B": ""}, launcher="torchrun", nodes=1, ntasks_per_node=2
    ).validate()


# -- the command -----------------------------------------------------------------------------
def test_task_command_plain() -> None:
    executor = LocalExecutor(python="/usr/bin/python3")
    assert executor.task_command("/x/task.yaml") == [
        "/usr/bin/python3",
        "-m",
        "nrun.exec.task",
        "/x/task.yaml",
    ]


def test_task_command_torchrun_standalone_and_rendezvous() -> None:
    executor = LocalExecutor(python="py", launcher="torchrun", ntasks_per_node=2)
    assert executor.task_command("t.yaml") == [
        "py",
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc-per-node=2",
        "--standalone",
        "-m",
        "nrun.exec.task",
        "t.yaml",
    ]
    executor.nodes = 2
    command = executor.task_command("t.yaml", rendezvous=["--rdzv-endpoint=host:29500"])
    assert "--standalone" not in command
    assert command[3:6] == ["--nnodes=2", "--nproc-per-node=2", "--rdzv-endpoint=host:29500"]


def test_local_python_defaults_to_this_interpreter() -> None:
    assert LocalExecutor().python == sys.executable


def test_describe() -> None:
    assert LocalExecutor().describe() == "local"
    assert LocalExecutor(launcher="torchrun", ntasks_per_node=2).describe() == "local torchrun 1x2"


def test_shell_join_quotes_every_part() -> None:
    line = shell_join(["echo", "a b", "$HOME", "it's"])
    assert line == "echo 'a b' '$HOME' 'it'\"'\"'s'"
    done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    assert done.stdout == "a b $HOME it's\n"


def test_executor_is_a_config(tmp_path: Path) -> None:
    config = Config(LocalExecutor, ntasks_per_node=2, env_vars={"A": "1"})
    config.retries = 3
    executor = build(config)
    assert isinstance(executor, LocalExecutor)
    assert (executor.ntasks_per_node, executor.retries, executor.env_vars) == (2, 3, {"A": "1"})
    saved = dump(to_buildable(executor), tmp_path / "executor.yaml")
    assert build(load(saved)) == executor


# -- executors by name -----------------------------------------------------------------------
def test_local_is_registered() -> None:
    assert "local" in executor_names()
    assert executor_class("local") is LocalExecutor


@pytest.mark.parametrize("name", ["slurm", "docker"])
def test_known_but_missing_executor_names_the_pip_install(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name in executor_names():  # never in this distribution's own env; in a full workspace
        installed = {n: ep for n, ep in executors._entry_points().items() if n != name}
        monkeypatch.setattr(executors, "_entry_points", lambda: installed)
    with pytest.raises(ExecutorNotInstalled) as info:
        executor_class(name)
    message = one_line(info.value)
    assert message == f"executor '{name}' is not installed; pip install {DISTRIBUTIONS[name]}"


def test_unknown_executor_lists_the_installed_ones() -> None:
    with pytest.raises(ExecutorError) as info:
        executor_class("kubernetes")
    message = one_line(info.value)
    assert "'kubernetes'" in message
    assert "local" in message


# -- the supervisor's helpers ----------------------------------------------------------------
def test_describe_exit() -> None:
    assert describe_exit(0) == (0, "")
    assert describe_exit(3) == (3, "exit code 3")
    assert describe_exit(-signal.SIGKILL) == (137, "killed by SIGKILL")
    assert describe_exit(-signal.SIGTERM) == (143, "killed by SIGTERM")


def test_json_files_are_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert read_json(path) is None
    write_json(path, {"a": 1})
    write_json(path, {"a": 2})
    assert read_json(path) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left over
    path.write_text("{half")
    assert read_json(path) is None
    path.write_text("[1, 2]")
    assert read_json(path) is None


def test_process_alive_tells_reused_pids_and_zombies_apart() -> None:
    me = os.getpid()
    started = start_time(me)
    assert started is not None
    assert process_alive(me, started)
    assert process_alive(me, None)
    assert not process_alive(me, str(int(started) + 1))  # same pid, another process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        while start_time(child.pid) is not None:  # until it is a zombie (not reaped yet)
            time.sleep(0.01)
        assert Path(f"/proc/{child.pid}").exists()  # still there, as a zombie
        assert not process_alive(child.pid, None)
    finally:
        child.wait()
