"""Executors the watch tests count with: real local jobs, every status batch or log read noted.

They are imported by the test process (tests are on `sys.path`) and by a detached launcher
(the tests put this folder on `PYTHONPATH`); each process counts its own calls only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import ClassVar

from nrun.exec.base import Executor, JobStatus
from nrun.exec.local import LocalExecutor


@dataclasses.dataclass(kw_only=True)
class CountedA(LocalExecutor):
    """A LocalExecutor whose kind notes the job ids of each `batch_status` call."""

    batches: ClassVar[list[list[str]]] = []

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Note the call, then answer as a LocalExecutor."""
        cls.batches.append([job_id for _, job_id in jobs])
        return super().batch_status(jobs)


@dataclasses.dataclass(kw_only=True)
class CountedB(CountedA):
    """A second kind: its batches are its own."""

    batches: ClassVar[list[list[str]]] = []


@dataclasses.dataclass(kw_only=True)
class RemoteLogs(LocalExecutor):
    """A LocalExecutor whose logs count as remote (not its file's): each read is noted."""

    reads: ClassVar[list[str]] = []

    def logs(self, job_id: str, follow: bool = False) -> Iterator[str]:
        """Note the read, then read as a LocalExecutor."""
        type(self).reads.append(job_id)
        return super().logs(job_id, follow)
