"""The executor interface every backend implements, the states of a job, and packagers' base.

`Packager` lives here, not in `nrun.exec.packaging`, so the arrow between the two modules points
one way: the packagers import this module, never the reverse.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import enum
import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Literal

from nrun.config.atomic import WriteError, private_dir

__all__ = [
    "STATE_COLORS",
    "Executor",
    "ExecutorError",
    "Job",
    "JobState",
    "JobStatus",
    "Packager",
    "Preview",
    "UnknownJobError",
    "as_executor_error",
    "shell_exports",
    "shell_join",
    "state_hex",
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


STATE_COLORS: dict[JobState, str] = {
    JobState.PENDING: "white",
    JobState.RUNNING: "cyan",
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "red",
    JobState.CANCELLED: "yellow",
    JobState.UNKNOWN: "white",
}
"""The colour (a rich style) every table of job states shows each state in."""

_ON_A_PAGE = {  # the same colours, dark enough to read on a white page
    "green": "#1a7f37",
    "red": "#cf222e",
    "cyan": "#0a8fb5",
    "yellow": "#bf8700",
    "white": "#8c959f",
}


def state_hex(state: JobState) -> str:
    """`state`'s colour on an HTML page: its `STATE_COLORS` colour as hex (grey if unknown)."""
    return _ON_A_PAGE.get(STATE_COLORS[state], "#8c959f")


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


@dataclasses.dataclass(frozen=True)
class Preview:
    """What launching a job would send, as text to show (a dry run): secrets masked.

    `title` says what it is ("Command", "Container", "sbatch script"), `language` how to
    highlight `text` ("bash", "yaml").
    """

    task: str
    title: str
    language: str
    text: str


@dataclasses.dataclass(kw_only=True)
class Packager(abc.ABC):
    """Base of packagers: `package(source, job_dir)` writes `job_dir/code.tar.gz`."""

    @abc.abstractmethod
    def package(self, source: Path, job_dir: Path) -> Path:
        """Write the archive of `source` into `job_dir` and return its path."""


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

    @classmethod
    def launch_batch(cls, jobs: Sequence[tuple[Executor, Job]]) -> list[str | ExecutorError]:
        """Launch many jobs of this kind in one go: a job id, or the error, per job, in order.

        `Experiment` calls it once per kind of executor with every task ready in a round, and
        records the ids and failures itself. The default launches them one by one; any error of
        one job is its entry (an `ExecutorError`), the others go on. Backends that can start
        many jobs with one request (Slurm) override this.
        """
        results: list[str | ExecutorError] = []
        launched: list[tuple[Executor, str]] = []
        try:
            for executor, job in jobs:
                try:
                    job_id = executor.launch(job)
                except Exception as exc:
                    results.append(as_executor_error(exc))
                    continue
                launched.append((executor, job_id))
                results.append(job_id)
        except BaseException:  # Ctrl-C half way: what was launched has no record, so stop it
            for executor, job_id in launched:
                with contextlib.suppress(Exception):
                    executor.cancel(job_id)
            raise
        return results

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
        if not isinstance(self.python, str) or not self.python.strip():
            raise ExecutorError(
                f"python must name the interpreter that runs the task (e.g. 'python3'), "
                f"got {self.python!r}"
            )

    def ensure_job_dir(self) -> Path:
        """The job dir on this machine, made owner-only if new; `ExecutorError` if not writable."""
        if not self.job_dir:
            raise ExecutorError(
                f"{type(self).__name__} needs a job_dir (Experiment sets one per task)"
            )
        path = Path(self.job_dir).expanduser()
        try:
            private_dir(path)
            probe = path / ".write-test"
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            probe.unlink()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
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

    def preview(self, job: Job) -> Preview:
        """What `launch(job)` would run, shown without launching or writing anything.

        The default is the task runner's command line with `env_vars` (secret values masked);
        executors whose launch sends more (a container, a batch script) show that instead.
        """
        lines = [*shell_exports(self.env_vars), shell_join(self.task_command(str(job.config)))]
        return Preview(job.name, "Command", "bash", "\n".join(lines) + "\n")

    def describe(self) -> str:
        """One line for tables: the executor's name and what stands out in its fields."""
        parts = [self.name or type(self).__name__]
        if self.launcher:
            parts.append(f"{self.launcher} {self.nodes}x{self.ntasks_per_node}")
        return " ".join(parts)


def shell_join(command: list[str]) -> str:
    """A command as one shell-safe line (every part quoted)."""
    return " ".join(shlex.quote(part) for part in command)


def shell_exports(env: Mapping[str, str]) -> list[str]:
    """`export NAME=value` lines, each value quoted and those of secret names masked."""
    from nrun.config.secrets import mask

    return [f"export {name}={shlex.quote(str(value))}" for name, value in mask(dict(env)).items()]


def as_executor_error(exc: Exception) -> ExecutorError:
    """An error of one launch as one line: as it is, or with its type when that says more."""
    if isinstance(exc, ExecutorError):
        return exc
    if isinstance(exc, WriteError):  # one line that names the path already
        return ExecutorError(str(exc))
    return ExecutorError(f"{type(exc).__name__}: {exc}")
