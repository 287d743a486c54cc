"""The executor interface every backend implements, and the states of a job."""

from __future__ import annotations

import abc
import dataclasses
import enum
import re
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from nrun.exec.packaging import Packager

__all__ = [
    "Executor",
    "ExecutorError",
    "Job",
    "JobState",
    "JobStatus",
    "UnknownJobError",
    "shell_join",
]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExecutorError(Exception):
    """A user error an executor reports in one line: a bad field, an unwritable job dir, ..."""


class UnknownJobError(ExecutorError, LookupError):
    """A job id this executor has no record of."""


class JobState(str, enum.Enum):
    """Where a job is in its life; the last three are final."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def final(self) -> bool:
        """Whether the job will not change state any more."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class JobStatus:
    """A job's state with what explains it: the exit code and a reason (`killed by SIGKILL`)."""

    state: JobState
    exit_code: int | None = None
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Job:
    """What an executor launches: a named task whose exported config is a file."""

    name: str
    config: Path
    dependencies: tuple[str, ...] = ()
    """Job ids this one waits for, for executors that hold jobs themselves (Slurm's afterok)."""
    experiment_id: str = ""
    """The experiment it belongs to; executors pass it to the task as `NRUN_EXPERIMENT_ID`."""


@dataclasses.dataclass(kw_only=True)
class Executor(abc.ABC):
    """Where and how a task runs. A dataclass, so `Config(SlurmExecutor, nodes=2)` configures it.

    Every executor runs `<python> -m nrun.exec.task <config file>` where the job lands (through
    torchrun when `launcher="torchrun"`), with `env_vars` set and files under `job_dir`.
    """

    env_vars: dict[str, str] = dataclasses.field(default_factory=dict)
    job_dir: str = ""
    packager: Packager | None = None
    launcher: Literal["torchrun"] | None = None
    nodes: int = 1
    ntasks_per_node: int = 1
    retries: int = 0
    python: str = "python3"

    name: ClassVar[str] = ""
    """The name it is registered under in the `nrun.executors` entry points."""
    supports_dependencies: ClassVar[bool] = False
    """Whether `launch` takes jobs whose dependencies have not finished (the backend holds them)."""
    poll_interval: ClassVar[float] = 0.05
    """Seconds between status checks while following a job (a cluster wants fewer)."""

    @abc.abstractmethod
    def launch(self, job: Job) -> str:
        """Start `job` and return its job id."""

    @abc.abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """The current status of a job launched by an executor configured like this one."""

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """The statuses of many `(executor, job id)` pairs, in order, as a monitor wants them.

        Errors become statuses: an unknown job is FAILED ("lost track"), a backend that does
        not answer UNKNOWN. Backends that can ask about many jobs at once override this.
        """
        results = []
        for executor, job_id in jobs:
            try:
                results.append(executor.status(job_id))
            except UnknownJobError as exc:
                results.append(JobStatus(JobState.FAILED, reason=f"lost track of the job: {exc}"))
            except ExecutorError as exc:
                results.append(JobStatus(JobState.UNKNOWN, reason=str(exc)))
        return results

    @classmethod
    def batch_cancel(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Cancel many `(executor, job id)` pairs at once; return their statuses after.

        The default stops them from several threads, so their grace periods overlap; backends
        that can cancel many jobs with one request override this.
        """

        def stop(pair: tuple[Executor, str]) -> JobStatus:
            executor, job_id = pair
            executor.cancel(job_id)
            return executor.status(job_id)

        if len(jobs) <= 1:
            return [stop(pair) for pair in jobs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
            return list(pool.map(stop, jobs))

    @abc.abstractmethod
    def logs(self, job_id: str, follow: bool = False) -> Iterator[str]:
        """The job's output, line by line; with `follow`, new lines until the job ends."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop the job (and everything it started); a finished job is left as it is."""

    def validate(self) -> None:
        """Raise `ExecutorError` naming the first field a user set wrong."""
        for key, value in self.env_vars.items():
            if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
                raise ExecutorError(
                    f"invalid environment variable name {key!r}: use letters, digits and "
                    "underscores, not starting with a digit"
                )
            if not isinstance(value, str):
                raise ExecutorError(f"environment variable {key} must be a string, got {value!r}")
        if self.launcher not in (None, "torchrun"):
            raise ExecutorError(f"unknown launcher {self.launcher!r}; expected None or 'torchrun'")
        for field in ("nodes", "ntasks_per_node"):
            if getattr(self, field) < 1:
                raise ExecutorError(f"{field} must be at least 1, got {getattr(self, field)}")
        if self.retries < 0:
            raise ExecutorError(f"retries must be 0 or more, got {self.retries}")

    def ensure_job_dir(self) -> Path:
        """The job dir on this machine, made if needed; `ExecutorError` if it can't be written."""
        if not self.job_dir:
            raise ExecutorError(
                f"{type(self).__name__} needs a job_dir (Experiment sets one per task)"
            )
        path = Path(self.job_dir).expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ExecutorError(f"job dir '{path}' cannot be written: {reason}") from None
        return path.resolve()

    def task_command(self, config: str, rendezvous: list[str] | None = None) -> list[str]:
        """The command that runs the task runner on `config`, through torchrun if asked.

        `rendezvous` replaces torchrun's `--standalone` for jobs across nodes.
        """
        runner = ["-m", "nrun.exec.task", config]
        if self.launcher != "torchrun":
            return [self.python, *runner]
        where = rendezvous if rendezvous is not None else ["--standalone"]
        return [
            self.python,
            "-m",
            "torch.distributed.run",
            f"--nnodes={self.nodes}",
            f"--nproc-per-node={self.ntasks_per_node}",
            *where,
            *runner,
        ]

    def describe(self) -> str:
        """One line for tables: the executor's name and what stands out in its fields."""
        parts = [self.name or type(self).__name__]
        if self.launcher:
            parts.append(f"{self.launcher} {self.nodes}x{self.ntasks_per_node}")
        return " ".join(parts)


def shell_join(command: list[str]) -> str:
    """A command as one shell-safe line (every part quoted)."""
    return " ".join(shlex.quote(part) for part in command)
