"""`LocalExecutor`: run a task in a subprocess on this machine, trackable from any process."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nrun.config.atomic import WriteError, atomic_write, read_json, write_json
from nrun.exec._files import open_private
from nrun.exec._supervisor import (
    CANCEL,
    OUTPUT,
    RESULT,
    SPEC,
    STATE,
    Background,
    process_alive,
    start_time,
)
from nrun.exec.base import (
    Executor,
    ExecutorError,
    Job,
    JobState,
    JobStatus,
    Preview,
    UnknownJobError,
    shell_exports,
    shell_join,
)
from nrun.exec.packaging import extract

__all__ = ["LocalExecutor"]

LAUNCHED = "launched.json"
"""The supervisor's pid as the launcher saw it: only that id is this job's."""

_children: dict[int, Background] = {}
"""Supervisors this process started, reaped as their status is read."""


def _forget_children() -> None:
    _children.clear()  # a forked child did not start them and cannot wait for them


os.register_at_fork(after_in_child=_forget_children)


def _script_dir() -> list[str]:
    """The folder of the script being run, where tasks it defines are imported from."""
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    return [str(Path(file).resolve().parent)] if file and spec is None else []


def _reap(finished: int | None = None) -> None:
    """Collect the supervisors that have exited; `finished` has written its result, so wait."""
    if finished in _children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            _children[finished].wait(timeout=5)
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


@dataclasses.dataclass(kw_only=True)
class LocalExecutor(Executor):
    """Run the task runner in a subprocess of this machine.

    Each job gets a supervisor process leading its own session: the job's output goes to
    `output.log` in the job dir (and to the terminal when tailing), its state to files there,
    so `status`, `logs` and `cancel` work from any process; `cancel` stops the whole process
    tree. With a `packager`, the job runs from an unpacked copy of the code in the job dir;
    without, in place (`workdir`, default the directory it was launched from).
    """

    python: str = dataclasses.field(default_factory=lambda: sys.executable)
    workdir: str | None = None
    cancel_grace: float = 10.0
    """Seconds between SIGTERM and SIGKILL when cancelling."""

    name = "local"

    def validate(self) -> None:
        """The common checks, what one machine can do, and that `python` and `workdir` exist.

        One machine is one node, and several ranks need torchrun. `python` must be found (on
        the `PATH` the task gets) and executable; a `workdir`, if given, must be a folder.
        """
        super().validate()
        if self.workdir is not None and not Path(self.workdir).expanduser().is_dir():
            raise ExecutorError(f"workdir '{self.workdir}' is not a directory")
        self._check_python()
        if self.nodes != 1:
            raise ExecutorError(
                f"LocalExecutor runs on one machine: nodes must be 1, got {self.nodes}"
            )
        if self.ntasks_per_node > 1 and self.launcher != "torchrun":
            raise ExecutorError(
                f"ntasks_per_node={self.ntasks_per_node} needs launcher='torchrun' on one machine"
            )
        if self.cancel_grace < 0:
            raise ExecutorError(f"cancel_grace must be 0 or more seconds, got {self.cancel_grace}")

    def _check_python(self) -> None:
        """`python` is a program the task's process can start, on its PATH or as a path.

        A relative path is read from where the task runs, as `subprocess` reads it.
        """
        if os.sep not in self.python:
            path = self.env_vars.get("PATH", os.environ.get("PATH"))
            if shutil.which(self.python, path=path) is None:
                raise ExecutorError(f"python '{self.python}' not found on PATH")
            return
        where = Path(self.workdir or os.getcwd()).expanduser() if self.packager is None else None
        program = Path(self.python) if where is None else where / self.python
        if not program.is_file():
            raise ExecutorError(f"python '{self.python}' not found")
        if not os.access(program, os.X_OK):
            raise ExecutorError(f"python '{self.python}' is not executable")

    # -- launching -----------------------------------------------------------------------------
    def _workdir(self, job_dir: Path) -> Path:
        if self.packager is not None:
            source = Path(self.workdir or os.getcwd())
            archive = self.packager.package(source, job_dir)
            return extract(archive, job_dir / "code")
        workdir = Path(self.workdir or os.getcwd()).expanduser()
        if not workdir.is_dir():
            raise ExecutorError(f"workdir '{workdir}' is not a directory")
        return workdir.resolve()

    def _spec(self, job: Job, job_dir: Path, workdir: Path) -> dict[str, Any]:
        """What the supervisor runs: the command, where, with which variables, how many tries.

        Only what changes is written down: the supervisor inherits this process's environment,
        so secrets in it never land on disk.
        """
        env = dict(self.env_vars)
        paths = [
            str(workdir),
            *_script_dir(),
            env.get("PYTHONPATH", os.environ.get("PYTHONPATH", "")),
        ]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
        env["NRUN_JOB_DIR"] = str(job_dir)
        env["NRUN_TASK_NAME"] = job.name
        if job.experiment_id:
            env["NRUN_EXPERIMENT_ID"] = job.experiment_id
        return {
            "command": self.task_command(str(Path(job.config).resolve())),
            "cwd": str(workdir),
            "env": env,
            "retries": self.retries,
        }

    def preview(self, job: Job) -> Preview:
        """The command line `launch(job)` would run, with its folder and variables; no writes.

        With a packager, the folder is where the code would be unpacked in the job dir.
        """
        self.validate()
        job_dir = Path(self.job_dir or "<job_dir>").expanduser()
        job_dir = job_dir.resolve() if self.job_dir else job_dir
        if self.packager is not None:
            workdir = job_dir / "code"
        else:
            workdir = Path(self.workdir or os.getcwd()).expanduser().resolve()
        spec = self._spec(job, job_dir, workdir)
        lines = [f"cd {shlex.quote(spec['cwd'])}", *shell_exports(spec["env"])]
        if self.retries:
            lines.append(f"# tried again up to {self.retries} time(s) while it fails")
        lines.append(shell_join(spec["command"]))
        return Preview(job.name, "Command", "bash", "\n".join(lines) + "\n")

    def launch(self, job: Job) -> str:
        """Start the job's supervisor; the job id is its pid."""
        self.validate()
        job_dir = self.ensure_job_dir()
        for stale in (LAUNCHED, STATE, RESULT, CANCEL, OUTPUT):
            (job_dir / stale).unlink(missing_ok=True)
        workdir = self._workdir(job_dir)
        spec = self._spec(job, job_dir, workdir)
        write_json(job_dir / SPEC, spec)
        with open_private(job_dir / "supervisor.log") as errors:
            proc = Background(
                [sys.executable, "-m", "nrun.exec._supervisor", str(job_dir)],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
                start_new_session=True,
            )
        _children[proc.pid] = proc
        write_json(job_dir / LAUNCHED, {"pid": proc.pid, "start": start_time(proc.pid)})
        return str(proc.pid)

    # -- tracking ------------------------------------------------------------------------------
    def _files(self, job_id: str) -> tuple[Path, int, str | None]:
        """The job dir, the supervisor's pid and its start time, if `job_id` is this job's."""
        try:
            pid = int(job_id)
        except ValueError:
            raise UnknownJobError(f"'{job_id}' is not a local job id (a process id)") from None
        job_dir = Path(self.job_dir).expanduser()
        launched = read_json(job_dir / LAUNCHED)
        if launched is None or launched.get("pid") != pid:
            raise UnknownJobError(f"no local job {job_id} in '{job_dir}'")
        return job_dir, pid, launched.get("start")

    def status(self, job_id: str) -> JobStatus:
        """The job's state, from the files its supervisor keeps."""
        _reap()
        job_dir, pid, started = self._files(job_id)
        result = read_json(job_dir / RESULT)
        if result is not None:
            _reap(pid)
            return JobStatus(JobState(result["state"]), result.get("exit_code"), result["reason"])
        state = read_json(job_dir / STATE)
        if process_alive(pid, started):
            return JobStatus(JobState.RUNNING if state else JobState.PENDING)
        if (job_dir / CANCEL).exists():
            return JobStatus(JobState.CANCELLED, reason="cancelled")
        result = read_json(job_dir / RESULT)  # it may have finished between the two reads
        if result is not None:
            return JobStatus(JobState(result["state"]), result.get("exit_code"), result["reason"])
        return JobStatus(JobState.FAILED, reason="the job's supervisor died without a result")

    def logs(self, job_id: str, follow: bool = False) -> Iterator[str]:
        """Lines of `output.log`; with `follow`, new ones as they come until the job ends."""
        job_dir, _, _ = self._files(job_id)
        path = job_dir / OUTPUT
        while follow and not path.exists() and not self.status(job_id).state.final:
            time.sleep(0.05)
        if not path.exists():
            return
        with open(path, encoding="utf-8", errors="replace") as handle:
            partial = ""
            while True:
                chunk = handle.readline()
                if chunk:
                    partial += chunk
                    if partial.endswith("\n"):
                        yield partial.rstrip("\n")
                        partial = ""
                    continue
                if not follow or self.status(job_id).state.final:
                    yield from (partial + handle.read()).splitlines()
                    return
                time.sleep(0.05)

    def cancel(self, job_id: str) -> None:
        """SIGTERM the job's process group, SIGKILL after `cancel_grace` seconds."""
        job_dir, pid, started = self._files(job_id)
        if self.status(job_id).state.final:
            return
        unwritten: WriteError | None = None
        try:
            atomic_write(job_dir / CANCEL, str(time.time()))
        except WriteError as exc:  # stop it all the same: the supervisor hears the signal too
            unwritten = exc
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.cancel_grace
        while process_alive(pid, started) and time.monotonic() < deadline:
            _reap()
            time.sleep(0.05)
        # the group outlives its leader when something in it ignored SIGTERM: kill what is left
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _reap()
        if read_json(job_dir / RESULT) is None:
            write_json(
                job_dir / RESULT,
                {
                    "state": "CANCELLED",
                    "exit_code": None,
                    "reason": "cancelled",
                    "finished": time.time(),
                },
            )
        if unwritten is not None:
            raise unwritten
