"""Benchmark of `nrun experiment watch` on a many-task local experiment: first paint, queries.

Run: `uv run python benchmarks/watch_bench.py [--tasks 200] [--seconds 60] [--interval 1]`.
Starts a detached experiment of `--tasks` tasks that sleep `--seconds`, then measures
1. the command: `nrun experiment watch ID` in a pseudo-terminal (120x40), from its start to the
   first frame written, then Ctrl-C (exit 130, the jobs keep running);
2. in this process, `nrun.exec.watch.watch` to the end: its first frame, and how many status
   queries it made (`batch_status` calls of the executor's kind, counted by a LocalExecutor
   subclass) per minute, with the number of jobs each asked about.
Prints a table; asserts nothing. Everything is recorded in a temporary NRUN_HOME.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from nrun.exec.base import Executor, JobStatus
from nrun.exec.local import LocalExecutor

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(kw_only=True)
class CountingLocal(LocalExecutor):
    """A LocalExecutor whose kind counts its status queries in this process."""

    queries: ClassVar[list[int]] = []  # the number of jobs each query asked about

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Count, then answer as a LocalExecutor."""
        cls.queries.append(len(jobs))
        return super().batch_status(jobs)


class FirstWrite:
    """A terminal-like file that notes when it was first written to."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.frames = 0

    def write(self, text: str) -> int:
        if self.first is None and text:
            self.first = time.perf_counter()
        self.frames += 1
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True


def start(tasks: int, seconds: float) -> str:
    """A detached experiment of `tasks` sleeping tasks; its id once all of them run."""
    from nrun.config import Partial
    from nrun.exec.experiment import Experiment
    from nrun.exec.probes import sleep

    experiment = Experiment("watchbench", executor=CountingLocal(workdir=str(HERE), cancel_grace=2))
    for i in range(tasks):
        experiment.add(Partial(sleep, seconds=seconds, lines=int(seconds)), name=f"t{i:03d}")
    began = time.perf_counter()
    experiment.run(detach=True)
    while any(s.value == "PENDING" for s in experiment.status().values()):
        time.sleep(0.5)
    print(f"# {tasks} tasks launched in {time.perf_counter() - began:.1f} s", flush=True)
    return experiment.id


def command_first_paint(experiment_id: str) -> tuple[float, int]:
    """Seconds from starting `nrun experiment watch ID` in a 120x40 pty to its first frame."""
    import fcntl
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("nrun")), "experiment", "watch", experiment_id],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    first = None
    while b"Experiment " not in seen:  # the title: the first frame is on its way
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        seen += os.read(leader, 65536)
        first = first or time.perf_counter()
    painted = time.perf_counter() - began
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                os.read(leader, 65536)
            except OSError:
                break
    code = proc.wait(30)
    os.close(leader)
    return painted, code


def refresh_seconds(experiment_id: str, runs: int = 5) -> float:
    """Median seconds of one refresh (the status query, the records, the logs) and its frame."""
    import io
    import statistics

    from rich.console import Console

    from nrun.exec.watch import Watcher

    watcher = Watcher(experiment_id)
    console = Console(file=io.StringIO(), force_terminal=True, width=120, height=40)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        watcher.refresh()
        console.print(watcher.view(40))
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each task sleeps")
    parser.add_argument("--interval", type=float, default=1.0, help="watch's refresh interval")
    args = parser.parse_args(argv)
    from rich.console import Console

    from nrun.exec.watch import watch

    with tempfile.TemporaryDirectory() as home:
        os.environ["NRUN_HOME"] = home
        # the detached launcher imports CountingLocal from this folder
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
        )
        experiment_id = start(args.tasks, args.seconds)
        painted, code = command_first_paint(experiment_id)
        refresh = refresh_seconds(experiment_id)
        out = FirstWrite()
        console = Console(file=out, force_terminal=True, width=120, height=40)  # type: ignore[arg-type]
        CountingLocal.queries.clear()
        began = time.perf_counter()
        result = watch(experiment_id, console=console, interval=args.interval)
        took = time.perf_counter() - began
        queries = CountingLocal.queries
        asked = sum(queries) / len(queries) if queries else 0.0
        rows = [
            ("tasks", f"{args.tasks}"),
            ("nrun experiment watch: first frame (pty, 120x40)", f"{painted:.2f} s"),
            ("  its exit code after Ctrl-C", f"{code}"),
            ("watch() in-process: first frame", f"{(out.first or began) - began:.3f} s"),
            ("  followed to the end", f"{took:.1f} s, exit {result}"),
            ("  status queries (batch_status calls)", f"{len(queries)}"),
            ("  status queries per minute", f"{len(queries) / took * 60:.1f}"),
            ("  jobs asked about per query (mean)", f"{asked:.1f}"),
            ("  one query per task would be, per minute", f"{sum(queries) / took * 60:.0f}"),
            ("one refresh + frame, all tasks running (median)", f"{refresh * 1000:.1f} ms"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
