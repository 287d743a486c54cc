"""Tasks launched by `exec_local_bench.py`; a module of their own so the task runner imports them.

The benchmark runs them with `LocalExecutor(workdir=<this folder>)`, which puts this folder first
on the task's `PYTHONPATH`.
"""

from __future__ import annotations

import os
import time


def process_start() -> float:
    """When this process started, in seconds since the epoch (Linux, 10 ms steps), or 0."""
    try:
        with open("/proc/self/stat") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def stamp() -> None:
    """Print, at once, the time now and when this process started."""
    print(f"nrun-bench {time.time():.6f} {process_start():.6f}", flush=True)


def noop(index: int = 0) -> None:
    """A trivial task: one line of output."""
    print(f"task {index}", flush=True)
