"""The experiment store: `$NRUN_HOME/experiments/<title>/<id>/`, one folder per task inside.

Each experiment folder holds `experiment.json` and `tasks/<name>/` with the task's exported
config (`task.yaml`), its executor's (`executor.yaml`), and `job.json`: the job id and the
history of its states. Files are replaced atomically and owner-only (`nrun.config.atomic`),
folders are made 0700, and `job.json` is updated under a lock, so several processes can follow
one experiment and nobody else can read its secrets (`env_vars`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nrun.config.atomic import atomic_write, private_dir, read_json, write_json
from nrun.exec._files import open_private
from nrun.exec.base import ExecutorError, JobState, JobStatus

__all__ = [
    "JOB",
    "META",
    "ExperimentError",
    "check_name",
    "experiment_dir",
    "experiment_summaries",
    "experiments_root",
    "latest_experiment_dir",
    "new_experiment_id",
    "nrun_home",
    "read_json",
    "record_status",
    "record_task",
    "task_record",
    "update_json",
    "write_json",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
JOB = "job.json"
META = "experiment.json"


class ExperimentError(ExecutorError):
    """A user error about an experiment: a bad name, an unknown id or task, a second run."""


def nrun_home() -> Path:
    """`$NRUN_HOME`, or `~/.nrun`."""
    return Path(os.environ.get("NRUN_HOME") or "~/.nrun").expanduser()


def experiments_root() -> Path:
    """Where experiments are recorded."""
    return nrun_home() / "experiments"


def check_name(kind: str, name: str) -> str:
    """Return `name` if it is safe as a folder name, else raise `ExperimentError`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ExperimentError(
            f"invalid {kind} {name!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit; no '/' or '..')"
        )
    return name


def new_experiment_id(title: str) -> str:
    """A fresh id: the title, the time, and random hex so two ids never collide."""
    return f"{title}_{time.strftime('%Y%m%d-%H%M%S')}_{secrets.token_hex(3)}"


# -- queries -------------------------------------------------------------------------------------
def experiment_dir(experiment_id: str) -> Path:
    """The folder of the experiment `experiment_id`; `ExperimentError` if there is none."""
    check_name("experiment id", experiment_id)
    root = experiments_root()
    title = experiment_id.rsplit("_", 2)[0]
    path = root / title / experiment_id
    if (path / META).is_file():
        return path
    for candidate in root.glob(f"*/{experiment_id}"):
        if (candidate / META).is_file():
            return candidate
    raise ExperimentError(f"no experiment with id '{experiment_id}' under '{root}'")


def latest_experiment_dir(title: str) -> Path:
    """The folder of the latest experiment titled `title`; `ExperimentError` if there is none."""
    check_name("experiment title", title)
    created = {
        folder: meta.get("created") or 0
        for folder in (experiments_root() / title).glob("*")
        if (meta := read_json(folder / META)) is not None
    }
    if not created:
        raise ExperimentError(f"no experiment titled '{title}' under '{experiments_root()}'")
    return max(created, key=lambda folder: created[folder])


def experiment_summaries(title: str | None = None) -> list[dict[str, Any]]:
    """Recorded experiments (of `title`, or all), newest first: id, title, created, tasks, dir."""
    pattern = f"{check_name('experiment title', title)}/*" if title else "*/*"
    found = []
    for folder in experiments_root().glob(pattern):
        meta = read_json(folder / META)
        if meta is not None and "id" in meta:
            found.append(
                {
                    "id": meta["id"],
                    "title": meta.get("title", folder.parent.name),
                    "created": meta.get("created"),
                    "tasks": meta.get("tasks", []),
                    "dir": str(folder),
                }
            )
    return sorted(found, key=lambda m: m.get("created") or 0, reverse=True)


# -- records -------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open_private(path.with_name(".lock")) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_json(path: Path, **changes: Any) -> dict[str, Any]:
    """Change some keys of the JSON object in `path` under a lock (others' keys are kept)."""
    with _locked(path):
        data = read_json(path) or {}
        data.update(changes)
        write_json(path, data)
        return data


def task_record(task_dir: Path) -> dict[str, Any]:
    """The `job.json` of a task (its name, executor, job id, states)."""
    record = read_json(task_dir / JOB)
    if record is None:
        raise ExperimentError(f"'{task_dir}' holds no task record")
    return record


def record_status(
    task_dir: Path, status: JobStatus, *, job_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Record a task's status in its `job.json` (a new history entry when it changed)."""
    with _locked(task_dir / JOB):
        record = task_record(task_dir)
        if job_id is not None:
            record["job_id"] = job_id
        record.update(extra)
        states = record.setdefault("states", [])
        last = states[-1]["state"] if states else None
        if last is not None and JobState(last).final:
            # a final state is never overwritten (a cancel won a race); a new job id still counts
            if job_id is not None or extra:
                write_json(task_dir / JOB, record)
            return record
        if last != status.state.value:
            states.append({"state": status.state.value, "time": time.time()})
        if status.exit_code is not None:
            record["exit_code"] = status.exit_code
        if status.reason:
            record["reason"] = status.reason
        write_json(task_dir / JOB, record)
        return record


def record_task(
    experiment: Path,
    name: str,
    files: dict[str, str],
    job: dict[str, Any],
    meta: dict[str, Any],
) -> Path:
    """Record a new task: its `files`, a PENDING `job.json`, and `meta` in `experiment.json`.

    All or nothing: if any write fails (a full disk), the task's folder is removed again (the
    experiment's too when this was its first task) and the error raised.
    """
    task_dir = experiment / "tasks" / name
    first = not experiment.exists()
    if task_dir.exists():
        raise ExperimentError(f"'{task_dir}' exists already: the store holds a stray task")
    try:
        if first:
            _tighten(experiment.parent)
        private_dir(task_dir)
        for filename, text in files.items():
            atomic_write(task_dir / filename, text)
        job = {**job, "job_id": None, "exit_code": None, "reason": ""}
        write_json(task_dir / JOB, {**job, "states": [{"state": "PENDING", "time": time.time()}]})
        with _locked(experiment / META):
            data = read_json(experiment / META) or {"created": time.time()}
            write_json(experiment / META, {**data, **meta})
    except BaseException:
        shutil.rmtree(experiment if first else task_dir, ignore_errors=True)
        raise
    return task_dir


def _tighten(title_dir: Path) -> None:
    """Make the store's folders above an experiment 0700, even if an older nrun made them.

    Only ours: a folder that belongs to someone else is left as it is.
    """
    private_dir(title_dir)
    for folder in (title_dir.parent, title_dir):
        with contextlib.suppress(OSError):
            if folder.stat().st_uid == os.getuid() and folder.stat().st_mode & 0o077:
                os.chmod(folder, 0o700)
