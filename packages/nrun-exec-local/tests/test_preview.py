"""Dry-run previews: the command a launch would run, shown with secrets masked, writing nothing."""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobs
from nrun.config import Config, Partial, dump
from nrun.exec._supervisor import SPEC
from nrun.exec.base import Executor, ExecutorError, Job, shell_join
from nrun.exec.experiment import ExperimentError, Preview, preview
from nrun.exec.local import LocalExecutor
from nrun.exec.packaging import PatternPackager


@dataclasses.dataclass
class Creds:
    user: str = "me"
    hf_token: str = ""


def train(creds: Any = None, message: str = "hi") -> None:
    """A task whose config holds a nested secret."""


def expected_text(spec: dict[str, Any], masked: dict[str, str]) -> str:
    env = {**spec["env"], **masked}
    lines = [f"cd {shlex.quote(spec['cwd'])}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return "\n".join([*lines, shell_join(spec["command"])]) + "\n"


def test_the_preview_is_the_command_a_launch_runs(
    local: Callable[..., LocalExecutor], tmp_path: Path
) -> None:
    """Same command, folder and variables as the supervisor's spec of a real launch."""
    executor = local(job_dir=str(tmp_path / "job"), env_vars={"HF_TOKEN": "hf-abc", "MODE": "x"})
    job = Job("echo", dump(Partial(jobs.echo), tmp_path / "echo.yaml"), experiment_id="exp-1")
    shown = executor.preview(job)
    assert not (tmp_path / "job").exists()  # nothing written
    executor.launch(job)
    spec = json.loads((tmp_path / "job" / SPEC).read_text())
    assert shown == Preview("echo", "Command", "bash", expected_text(spec, {"HF_TOKEN": "****"}))
    assert "hf-abc" not in shown.text


def test_a_dry_run_of_an_experiment_writes_nothing_and_masks_secrets(
    local: Callable[..., LocalExecutor], home: Path
) -> None:
    task = Partial(train, creds=Config(Creds, hf_token="hf-nested-1"), message="hf-nested-1 too")
    executor = local(env_vars={"WANDB_API_KEY": "wb-2", "EXTRA": "uses wb-2"})
    (first, second) = preview([("a", task), ("b", Partial(jobs.echo))], executor, name="try")
    assert not home.exists()
    assert (first.task, second.task) == ("a", "b")
    assert first.title == "Command" and first.language == "bash"
    for secret in ("hf-nested-1", "wb-2"):
        assert secret not in first.text
    assert "export WANDB_API_KEY='****'" in first.text
    assert "export EXTRA='uses ****'" in first.text
    job_dir = home.resolve() / "experiments" / "try"
    assert f"export NRUN_JOB_DIR={job_dir}/" in first.text
    assert first.text.rstrip().endswith("/tasks/a/task.yaml")
    assert "NRUN_TASK_NAME=b" in second.text


def test_with_a_packager_the_job_runs_from_the_code_unpacked_in_its_job_dir(
    local: Callable[..., LocalExecutor], tmp_path: Path
) -> None:
    executor = local(job_dir=str(tmp_path / "job"), packager=PatternPackager())
    job = Job("echo", tmp_path / "echo.yaml")
    assert executor.preview(job).text.startswith(f"cd {tmp_path / 'job' / 'code'}\n")
    assert not (tmp_path / "job").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"nodes": 2}, "nodes must be 1"), ({"workdir": "/no/such/dir"}, "is not a directory")],
)
def test_a_bad_field_fails_the_preview_as_it_would_the_launch(
    local: Callable[..., LocalExecutor], home: Path, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExecutorError, match=message):
        preview([("echo", Partial(jobs.echo))], local(**fields))
    assert not home.exists()


def test_a_task_missing_an_argument_is_refused(
    local: Callable[..., LocalExecutor], home: Path
) -> None:
    with pytest.raises(ExperimentError, match="missing required argument"):
        preview([("report", Partial(jobs.report))], local())
    assert not home.exists()


def test_the_default_preview_is_the_task_runner_command(tmp_path: Path) -> None:
    """Executors that don't say more show the task runner's command and their variables."""
    executor = LocalExecutor(python="py", env_vars={"A_TOKEN": "t"})
    shown = Executor.preview(executor, Job("t", tmp_path / "t.yaml"))
    assert shown.text == f"export A_TOKEN='****'\npy -m nrun.exec.task {tmp_path / 't.yaml'}\n"
