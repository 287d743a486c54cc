"""`ExecutorTestSuite`: the behaviours every executor must show, shared by their tests.

Subclass it in a test module and give it an `executor` fixture::

    class TestLocal(ExecutorTestSuite):
        @pytest.fixture
        def executor(self, tmp_path):
            return LocalExecutor(job_dir=str(tmp_path / "job"))

The tasks it launches are the functions of `nrun.exec.probes` (`echo`, `fail`, `print_env`,
`sleep`), which need only the standard library, so they run wherever the task runner does.
Needs pytest.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nrun.exec.base import Executor, ExecutorError, Job, JobState, JobStatus
from nrun.exec.probes import echo, fail, print_env, sleep

__all__ = ["ExecutorTestSuite", "echo", "fail", "print_env", "sleep", "wait_final"]


def wait_final(executor: Executor, job_id: str, timeout: float = 60.0) -> JobStatus:
    """Poll until the job is in a final state; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status = executor.status(job_id)
        if status.state.final:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {status.state.value} after {timeout}s")
        time.sleep(0.05)


def _wait_for_line(executor: Executor, job_id: str, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in line for line in executor.logs(job_id)):
            return
        time.sleep(0.05)
    pytest.fail(f"job {job_id} never printed {text!r}")


class ExecutorTestSuite:
    """Behaviours shared by every executor; subclasses provide the `executor` fixture."""

    timeout: float = 60.0
    """Seconds a test waits for a job to finish."""

    @pytest.fixture
    def executor(self, tmp_path: Path) -> Executor:
        """The executor under test, with a fresh `job_dir`; subclasses override this."""
        raise NotImplementedError("subclasses of ExecutorTestSuite provide an executor fixture")

    def launch(self, executor: Executor, fn: Any, /, **kwargs: Any) -> str:
        """Export `Partial(fn, **kwargs)` beside the job dir and launch it."""
        from nrun.config import Partial, dump

        config = dump(Partial(fn, **kwargs), Path(executor.job_dir).parent / f"{fn.__name__}.yaml")
        return executor.launch(Job(fn.__name__, config))

    def test_success(self, executor: Executor) -> None:
        """A task that succeeds: SUCCEEDED, and its output in the logs."""
        job_id = self.launch(executor, echo, message="hello from the suite")
        status = wait_final(executor, job_id, self.timeout)
        assert status.state == JobState.SUCCEEDED, status
        assert status.exit_code in (0, None)
        assert "hello from the suite" in list(executor.logs(job_id))

    def test_failure_reports_exit_code_and_log(self, executor: Executor) -> None:
        """A task that fails: FAILED with its exit code, its message at the end of the log."""
        job_id = self.launch(executor, fail, code=3, message="it broke here")
        status = wait_final(executor, job_id, self.timeout)
        assert status.state == JobState.FAILED, status
        assert status.exit_code == 3
        assert "it broke here" in list(executor.logs(job_id))[-5:]

    def test_env_vars_reach_the_task(self, executor: Executor) -> None:
        """`env_vars` reach the task unchanged, special characters included."""
        executor.env_vars = {"NRUN_SUITE_VAR": "a value; with $pecial 'chars'"}
        job_id = self.launch(executor, print_env, names=["NRUN_SUITE_VAR"])
        assert wait_final(executor, job_id, self.timeout).state == JobState.SUCCEEDED
        assert "NRUN_SUITE_VAR=a value; with $pecial 'chars'" in list(executor.logs(job_id))

    def test_cancel_stops_a_running_job(self, executor: Executor) -> None:
        """Cancel stops a running job (CANCELLED), and again is harmless."""
        job_id = self.launch(executor, sleep, seconds=300.0)
        _wait_for_line(executor, job_id, "line 0", self.timeout)
        executor.cancel(job_id)
        status = wait_final(executor, job_id, self.timeout)
        assert status.state == JobState.CANCELLED, status
        executor.cancel(job_id)  # cancelling a finished job is harmless
        assert executor.status(job_id).state == JobState.CANCELLED

    def test_logs_follow_until_the_end(self, executor: Executor) -> None:
        """Following the logs yields every line as it comes and stops at the end."""
        job_id = self.launch(executor, sleep, seconds=1.0, lines=5)
        lines = list(executor.logs(job_id, follow=True))
        assert [line for line in lines if line.startswith("line ")] == [
            f"line {i}" for i in range(5)
        ]
        assert lines[-1] == "done"
        assert executor.status(job_id).state == JobState.SUCCEEDED

    def test_status_from_a_new_process(self, executor: Executor, tmp_path: Path) -> None:
        """Another process rebuilds the executor from its config and reads the status."""
        from nrun.config import dump, to_buildable

        job_id = self.launch(executor, sleep, seconds=2.0)
        saved = dump(to_buildable(executor), tmp_path / "executor.yaml")
        probe = (
            "import sys; from nrun.config import build, load; "
            f"ex = build(load({str(saved)!r})); print(ex.status({job_id!r}).state.value)"
        )

        def ask() -> str:
            done = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            )
            return done.stdout.strip()

        assert ask() in ("PENDING", "RUNNING")
        wait_final(executor, job_id, self.timeout)
        assert ask() == "SUCCEEDED"

    def test_unknown_job_id_is_a_clear_error(self, executor: Executor) -> None:
        """An unknown job id is one clear line."""
        with pytest.raises(ExecutorError) as info:
            executor.status("999999999")
        assert "\n" not in str(info.value)
