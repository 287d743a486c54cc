"""Log-tail threads: each launched task's lines printed as they come, `[task name] line`."""

from __future__ import annotations

import threading
from collections.abc import Callable

from nrun.exec._tasks import TaskRecord
from nrun.exec.base import ExecutorError

__all__ = ["tail"]


def tail(task: TaskRecord, write: Callable[[str], object] = print) -> threading.Thread:
    """Start a daemon thread that writes the launched `task`'s lines until its job ends."""
    job_id = task.job_id
    if job_id is None:
        raise ValueError(f"task '{task.name}' has not been launched")

    def follow() -> None:
        try:
            for line in task.executor.logs(job_id, follow=True):
                write(f"[{task.name}] {line}")
        except ExecutorError as exc:
            write(f"[{task.name}] cannot follow the logs: {exc}")

    thread = threading.Thread(target=follow, name=f"tail-{task.name}", daemon=True)
    thread.start()
    return thread
