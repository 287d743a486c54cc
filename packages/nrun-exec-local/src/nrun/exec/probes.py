"""Small tasks that probe what an executor gives a job: output, exit codes, env vars, time.

`ExecutorTestSuite` launches these; they import nothing but the standard library, so they run
wherever nrun's task runner does (a container, a cluster node).
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["echo", "fail", "print_env", "sleep"]


def echo(message: str = "hello from nrun") -> None:
    """Print `message`."""
    print(message, flush=True)


def fail(code: int = 3, message: str = "task failed on purpose") -> None:
    """Print `message` to stderr and exit with `code`."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(code)


def print_env(names: list[str]) -> None:
    """Print `NAME=value` for each of `names`."""
    for name in names:
        print(f"{name}={os.environ.get(name)}", flush=True)


def sleep(seconds: float = 60.0, lines: int = 1) -> None:
    """Print `lines` numbered lines spread over `seconds`."""
    for i in range(lines):
        print(f"line {i}", flush=True)
        time.sleep(seconds / lines)
    print("done", flush=True)
