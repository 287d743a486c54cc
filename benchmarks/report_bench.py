"""Benchmark of `nrun experiment report --html`: the page of a 200-task experiment, size and time.

Run: `uv run python benchmarks/report_bench.py [--tasks N] [--concurrent N] [--runs N]`. Prints
a table; asserts nothing. A real local experiment of `--tasks` trivial tasks
(`bench_tasks.noop`, in a tree: task i waits for task (i-1)//4, so the page draws N-1 arrows) is
run in a temporary NRUN_HOME; then its report is rendered in this process (`experiment_report`,
median of `--runs`, after one warm-up) and by the `nrun` script (a fresh process, imports
included). The same is measured on an experiment of as many tasks recorded but never launched
(all PENDING: nothing to ask an executor).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_tasks

from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.report import experiment_report

HERE = Path(__file__).resolve().parent


def build(tasks: int, *, run: bool, concurrent: int) -> tuple[Experiment, float]:
    """An experiment of `tasks` noops in a 4-ary tree of dependencies; seconds to add (+ run)."""
    exp = Experiment("report-bench", executor=LocalExecutor(workdir=str(HERE)))
    start = time.perf_counter()
    for i in range(tasks):
        deps = [f"noop-{(i - 1) // 4}"] if i else []
        exp.add(Partial(bench_tasks.noop, index=i), name=f"noop-{i}", dependencies=deps)
    if run:
        exp.run(max_concurrent=concurrent)
    return exp, time.perf_counter() - start


def render_seconds(experiment_id: str, runs: int) -> tuple[float, float, int]:
    """(first render, median of `runs` more, page bytes) of `experiment_report` here."""
    start = time.perf_counter()
    page = experiment_report(experiment_id)
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        experiment_report(experiment_id)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), len(page.encode())


def command_seconds(experiment_id: str, out: Path, runs: int) -> float:
    """Median wall time of `nrun experiment report ID --html OUT` in a fresh process."""
    nrun = str(Path(sys.executable).with_name("nrun"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [nrun, "experiment", "report", experiment_id, "--html", str(out)],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Build the experiments, render their reports, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200, help="tasks in each experiment")
    parser.add_argument("--concurrent", type=int, default=4, help="max_concurrent of the run")
    parser.add_argument("--runs", type=int, default=5, help="renders to take the median of")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nrun-report-bench-") as tmp:
        os.environ["NRUN_HOME"] = str(Path(tmp) / "home")
        print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores; {args.tasks} tasks")
        finished, ran = build(args.tasks, run=True, concurrent=args.concurrent)
        states = finished.status().values()
        succeeded = sum(state == JobState.SUCCEEDED for state in states)
        print(f"recorded and ran the experiment in {ran:.1f}s ({succeeded} succeeded)")
        pending, added = build(args.tasks, run=False, concurrent=args.concurrent)
        print(f"recorded the unlaunched one in {added:.1f}s\n")

        header = f"{'experiment':<26}{'page KB':>9}{'gzip KB':>9}"
        print(f"{header}{'first ms':>10}{'median ms':>11}{'nrun cmd ms':>13}")
        done = f"finished ({args.tasks} final)"
        for label, exp in ((done, finished), ("never launched", pending)):
            first, median, size = render_seconds(exp.id, args.runs)
            out = Path(tmp) / f"{exp.id}.html"
            command = command_seconds(exp.id, out, max(1, args.runs // 2))
            packed = len(gzip.compress(out.read_bytes()))
            print(
                f"{label:<26}{size / 1024:>9.1f}{packed / 1024:>9.1f}{first * 1000:>10.0f}"
                f"{median * 1000:>11.0f}{command * 1000:>13.0f}"
            )


if __name__ == "__main__":
    main()
