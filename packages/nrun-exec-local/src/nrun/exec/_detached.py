"""The detached launcher: `python -m nrun.exec.experiment <experiment dir>` runs this.

`Experiment.run(detach=True)` starts it in its own session (output in `orchestrator.log`); it
records itself as the experiment's launcher, launches the tasks and follows them to the end.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nrun.config.atomic import WriteError
from nrun.exec._launcher import me
from nrun.exec._scheduler import run_tasks
from nrun.exec._tasks import open_tasks
from nrun.exec.store import META, ExperimentError, read_json, update_json

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the detached experiment in `argv[0]`; a user or disk error is one line, exit 1."""
    if len(argv) != 1:
        print("usage: python -m nrun.exec.experiment <experiment dir>", file=sys.stderr)
        return 2
    directory = Path(argv[0])
    meta = read_json(directory / META)
    if meta is None:
        print(f"nrun.exec.experiment: '{directory}' holds no experiment", file=sys.stderr)
        return 2
    os.environ.setdefault("NRUN_EXPERIMENT_ID", meta["id"])
    try:
        update_json(directory / META, launcher=me())
        run_tasks(directory, meta["id"], open_tasks(directory, meta.get("tasks", [])))
    except (ExperimentError, WriteError) as exc:
        print(f"nrun.exec.experiment: {exc}", file=sys.stderr)
        return 1
    return 0
