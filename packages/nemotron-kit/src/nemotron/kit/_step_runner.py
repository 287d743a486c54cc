"""What runs one pipeline step inside its nrun task: its module, its input, its output.

Steps hand artifacts on as the original kit's did through a pipe: a step's
`print_step_complete` JSON is what the next step's `Artifact.load()` reads on stdin. Here the
JSON goes through a file beside the tasks' job dirs (`$NRUN_JOB_DIR/..`, shared by every task
of the experiment, on a cluster too), so the steps may run on different machines and at
different times.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from nemotron.kit.exceptions import KitError

__all__ = ["DIR_ENV", "OUTPUT_ENV", "handoff_file", "run_step"]

OUTPUT_ENV = "NEMOTRON_STEP_OUTPUT"
"""A file `print_step_complete` also writes its JSON to (atomically)."""
DIR_ENV = "NEMOTRON_STEP_DIR"
"""The folder of the steps' outputs, where the tasks' job dirs share no parent (containers)."""


class StepInputError(KitError, RuntimeError):
    """A step's input cannot be found: the step before it wrote no output."""


def handoff_file(step: str, job_dir: str | None = None) -> Path:
    """The file that holds step `step`'s output JSON, for the tasks of this experiment."""
    shared = os.environ.get(DIR_ENV)
    if shared and job_dir is None:
        return Path(shared) / f"{step}.json"
    base = job_dir or os.environ.get("NRUN_JOB_DIR")
    if not base:
        raise StepInputError("a pipeline step runs inside an nrun task ($NRUN_JOB_DIR is unset)")
    return Path(base).parent / ".steps" / f"{step}.json"


def run_step(module: str, name: str, argv: list[str], previous: str | None = None) -> None:
    """Run `module` as `__main__` with `argv`; its stdin is step `previous`'s output JSON."""
    out = handoff_file(name)
    out.parent.mkdir(mode=0o700, exist_ok=True)
    os.environ[OUTPUT_ENV] = str(out)
    stdin = None
    if previous is not None:
        source = handoff_file(previous)
        if not source.is_file():
            raise StepInputError(
                f"step '{name}' has no input: step '{previous}' wrote no output "
                f"({source} is missing; does it call print_step_complete?)"
            )
        stdin = open(source, encoding="utf-8")  # noqa: SIM115 - it is the step's stdin
        sys.stdin = stdin
    sys.argv = [module, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        if stdin is not None:
            stdin.close()
            sys.stdin = sys.__stdin__
