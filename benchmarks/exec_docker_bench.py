"""Benchmarks of nrun.exec.docker: the launch overhead of one container task, and 20 at once.

Run: `uv run python benchmarks/exec_docker_bench.py [--runs N] [--tasks N]` with a daemon and
the test image up (`integration-tests/docker-up.sh`). Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import bench_tasks

from nrun.config import Partial
from nrun.exec.docker import DockerExecutor
from nrun.exec.experiment import Experiment

HERE = Path(__file__).resolve().parent
IMAGE = "nrun-test-python:bookworm"


def executor() -> DockerExecutor:
    """Containers of the test image with no network, running the code in this folder."""
    return DockerExecutor(container_image=IMAGE, network="none", workdir=str(HERE))


def first_line_after_run() -> tuple[float, float, float]:
    """(first line printed, run() returned, container started) seconds after run() was called."""
    exp = Experiment("docker-launch", executor=executor())
    exp.add(Partial(bench_tasks.stamp), name="stamp")
    start = time.time()
    exp.run()
    returned = time.time() - start
    line = next(line for line in exp.logs("stamp").splitlines() if line.startswith("nrun-bench "))
    _, printed, process = line.split()
    return float(printed) - start, returned, float(process) - start


def concurrent(tasks: int) -> tuple[float, int]:
    """Wall time of `tasks` trivial container tasks launched at once, and how many succeeded."""
    exp = Experiment("docker-many", executor=executor())
    for i in range(tasks):
        exp.add(Partial(bench_tasks.stamp), name=f"t{i}")
    start = time.time()
    exp.run()
    wall = time.time() - start
    return wall, sum(s.value == "SUCCEEDED" for s in exp.status().values())


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["NRUN_HOME"] = home
        floor = []
        for _ in range(args.runs):
            start = time.time()
            subprocess.run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "--init",
                    IMAGE,
                    "python3",
                    "-c",
                    "pass",
                ],
                check=True,
            )
            floor.append(time.time() - start)
        figures = [first_line_after_run() for _ in range(args.runs)]
        print(f"python in {IMAGE}; median of {args.runs} runs on {os.cpu_count()} cores")
        floor_ms = statistics.median(floor) * 1000
        print(f"{'docker run --rm IMAGE python3 -c pass':<44}{floor_ms:>8.0f} ms")
        labels = ["task process started", "first line printed", "run() returned"]
        for label, index in zip(labels, (2, 0, 1), strict=True):
            value = statistics.median(f[index] for f in figures)
            print(f"{label + ' (after run())':<44}{value * 1000:>8.0f} ms")
        wall, ok = concurrent(args.tasks)
        print(
            f"\n{args.tasks} container tasks launched at once: {wall:.1f} s wall, "
            f"{args.tasks / wall:.1f} tasks/s, {ok} of {args.tasks} succeeded"
        )


if __name__ == "__main__":
    main()
