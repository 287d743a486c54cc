"""An experiment's overall state from its tasks', for `nrun experiment list`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nrun.exec.base import JobState

__all__ = ["experiment_state", "experiment_states"]

# the first of these any task is in is the experiment's; SUCCEEDED only when all tasks are
_PRECEDENCE = ("RUNNING", "FAILED", "PENDING", "CANCELLED", "UNKNOWN")


def experiment_state(states: Iterable[JobState]) -> JobState:
    """RUNNING if any task runs, else FAILED if any failed, …; SUCCEEDED when all succeeded.

    An experiment without tasks is UNKNOWN: nothing says it did anything.
    """
    from nrun.exec.base import JobState

    found = {state.value for state in states}
    for name in _PRECEDENCE:
        if name in found:
            return JobState(name)
    return JobState.SUCCEEDED if found else JobState.UNKNOWN


def _recorded(summary: Mapping[str, Any]) -> list[JobState] | None:
    """The tasks' recorded states when all are final (no executor to ask), else None."""
    from nrun.exec.base import JobState
    from nrun.exec.store import task_record

    states = []
    for task in summary.get("tasks", []):
        record = task_record(Path(summary["dir"]) / "tasks" / task)
        state = JobState(record["states"][-1]["state"])
        if not state.final:
            return None
        states.append(state)
    return states


def experiment_states(summaries: Sequence[Mapping[str, Any]]) -> dict[str, JobState]:
    """Each listed experiment's state; live ones ask their executors (one batch each).

    Finished experiments are read from their records alone. One that cannot be read (a
    damaged record, an executor no longer installed) is UNKNOWN rather than hiding the list.
    """
    from nrun.exec.base import ExecutorError, JobState
    from nrun.exec.experiment import Experiment

    found = {}
    for summary in summaries:
        try:
            states = _recorded(summary)
            if states is None:
                states = [s.state for s in Experiment.from_id(summary["id"]).statuses().values()]
        except (ExecutorError, KeyError, ValueError, OSError):
            states = [JobState.UNKNOWN]
        found[summary["id"]] = experiment_state(states)
    return found
