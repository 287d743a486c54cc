"""Benchmarks of nrun.exec.local: the launch overhead of one task, and a many-task experiment.

Run: `uv run python benchmarks/exec_local_bench.py [--runs N] [--tasks N]`. Prints tables; asserts
nothing. Everything is recorded in a temporary NRUN_HOME, never in ~/.nrun.

With `--nemo-python PATH` (a Python that can import `nemo_run`; by default this one if it can),
the launch of the same task through NeMo-Run's LocalExecutor is timed too, for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_tasks

from nrun.config import Partial, dump
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

HERE = Path(__file__).resolve().parent

NEMO_SCRIPT = """
import glob, os, sys, time
import nemo_run as run
import bench_tasks

def once():
    with run.Experiment("launch-bench", executor=run.LocalExecutor(), log_level="WARN") as exp:
        exp.add(run.Partial(bench_tasks.stamp), name="stamp")
        start = time.time()
        exp.run(sequential=True)
        returned = time.time()
    waited = time.time()
    for path in glob.glob(os.path.join(exp._exp_dir, "**", "stdout.log"), recursive=True):
        for line in open(path):
            if line.startswith("nrun-bench "):
                _, printed, process = line.split()
                print("RESULT", start, returned, waited, printed, process, flush=True)

if __name__ == "__main__":  # NeMo-Run's task runner imports the launching script again
    for _ in range(int(sys.argv[1])):
        once()
"""


def process_seconds(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a fresh process running `argv` to its end."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def first_line_seconds(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Median time from starting `argv` to its first line of output."""
    times = []
    for _ in range(runs):
        start = time.time()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(float(line.split()[1]) - start)
        proc.communicate()
    return statistics.median(times)


def task_env() -> dict[str, str]:
    """This environment with the benchmark folder first on PYTHONPATH (as LocalExecutor does)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    return env


def launch_once() -> dict[str, float]:
    """Run a one-task experiment; the times of its milestones, in seconds after `run()`."""
    exp = Experiment("launch-bench", executor=LocalExecutor(workdir=str(HERE)))
    start = time.perf_counter()
    exp.add(Partial(bench_tasks.stamp), name="stamp")
    added = time.perf_counter() - start
    called = time.time()
    exp.run()
    returned = time.time()
    task_dir = exp.dir / "tasks" / "stamp"
    record = json.loads((task_dir / "job.json").read_text())
    state = json.loads((task_dir / "state.json").read_text())
    line = next(
        text for text in (task_dir / "output.log").read_text().splitlines() if "nrun-bench" in text
    )
    _, printed, process = line.split()
    return {
        "add()": added,
        "launch() returned": record["launched"] - called,
        "supervisor RUNNING": state["started"] - called,
        "task process started": float(process) - called,
        "first line printed": float(printed) - called,
        "run() returned": returned - called,
    }


def bench_launch(runs: int) -> dict[str, float]:
    """Median of each milestone over `runs` one-task experiments (after one warm-up)."""
    launch_once()  # imports fiddle and nrun.config in this process, warms the caches
    samples = [launch_once() for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def bench_nemo(python: str, runs: int, home: Path) -> dict[str, float] | None:
    """The same launch through NeMo-Run's LocalExecutor, in the Python at `python`."""
    env = task_env()
    # NeMo-Run's LocalExecutor runs `python` from PATH: make it the one that has nemo_run.
    env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
    env["NEMORUN_HOME"] = str(home)
    script = home / "nemo_launch.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(NEMO_SCRIPT)
    done = subprocess.run(
        [python, str(script), str(runs + 1)],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        check=False,
    )
    rows = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or len(rows) < 2:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  NeMo-Run launch failed ({tail}); skipped")
        return None
    samples = []
    for start, returned, waited, printed, process in (map(float, row) for row in rows[1:]):
        samples.append(
            {
                "task process started": process - start,
                "first line printed": printed - start,
                "run() returned": returned - start,
                "experiment finished": waited - start,
            }
        )
    figures = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    figures["import nemo_run (process)"] = process_seconds(
        [python, "-c", "import nemo_run"], min(runs, 3)
    )
    return figures


def disk_usage(folder: Path) -> tuple[int, int, int]:
    """(bytes allocated as du counts them, apparent bytes, files) under `folder`."""
    allocated = apparent = files = 0
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        allocated += info.st_blocks * 512
        apparent += info.st_size if path.is_file() else 0
        files += path.is_file()
    return allocated, apparent, files


def cpu(who: int) -> float:
    """User plus system CPU seconds of this process or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def bench_experiment(tasks: int, concurrent: int) -> dict[str, float]:
    """Run `tasks` trivial tasks `concurrent` at a time; times, CPU and disk of the experiment."""
    exp = Experiment("many-bench", executor=LocalExecutor(workdir=str(HERE)))
    start = time.perf_counter()
    for i in range(tasks):
        exp.add(Partial(bench_tasks.noop, index=i), name=f"noop-{i}")
    added = time.perf_counter() - start
    self_cpu, children_cpu = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    exp.run(max_concurrent=concurrent)
    wall = time.perf_counter() - start
    self_cpu = cpu(resource.RUSAGE_SELF) - self_cpu
    children_cpu = cpu(resource.RUSAGE_CHILDREN) - children_cpu
    start = time.perf_counter()
    states = exp.status()
    status_s = time.perf_counter() - start
    start = time.perf_counter()
    reopened = Experiment.from_id(exp.id)
    from_id_s = time.perf_counter() - start
    start = time.perf_counter()
    reopened.status()
    reopened_status_s = time.perf_counter() - start
    succeeded = sum(state == JobState.SUCCEEDED for state in states.values())
    allocated, apparent, files = disk_usage(exp.dir)
    return {
        "add": added,
        "wall": wall,
        "orchestrator cpu": self_cpu,
        "children cpu": children_cpu,
        "status": status_s,
        "from_id": from_id_s,
        "reopened status": reopened_status_s,
        "succeeded": succeeded,
        "allocated": allocated,
        "apparent": apparent,
        "files": files,
    }


def main() -> None:
    """Run every benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="launches to take the median of")
    parser.add_argument("--tasks", type=int, default=200, help="tasks in the big experiment")
    parser.add_argument("--concurrent", type=int, default=2, help="max_concurrent of the big one")
    parser.add_argument(
        "--nemo-python",
        default=sys.executable if importlib.util.find_spec("nemo_run") else None,
        help="a Python that imports nemo_run, to time NeMo-Run's LocalExecutor beside ours",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nrun-bench-") as tmp:
        os.environ["NRUN_HOME"] = str(Path(tmp) / "home")
        env = task_env()
        config = dump(Partial(bench_tasks.stamp), Path(tmp) / "stamp.yaml")

        print(
            f"python {sys.version.split()[0]} on {os.cpu_count()} cores; median of {args.runs} runs"
        )
        print(f"\n{'floor (fresh process)':<44}{'ms':>10}")
        floors = [
            ("python -c pass", [sys.executable, "-c", "pass"], process_seconds),
            ("python -c 'import fiddle'", [sys.executable, "-c", "import fiddle"], process_seconds),
            (
                "python -c 'import nrun.config'",
                [sys.executable, "-c", "import nrun.config"],
                process_seconds,
            ),
            (
                "python -m nrun.exec.task stamp.yaml",
                [sys.executable, "-m", "nrun.exec.task", str(config)],
                process_seconds,
            ),
            (
                "  ... until its first line",
                [sys.executable, "-m", "nrun.exec.task", str(config)],
                first_line_seconds,
            ),
        ]
        for label, argv, measure in floors:
            print(f"{label:<44}{measure(argv, args.runs, env) * 1000:>10.1f}")

        launch = bench_launch(args.runs)
        print(f"\n{'one local task: Experiment.run() called, then':<44}{'ms':>10}")
        print(f"{'  (add() before it)':<44}{launch.pop('add()') * 1000:>10.1f}")
        for label, seconds in launch.items():
            print(f"{label:<44}{seconds * 1000:>10.1f}")

        if args.nemo_python:
            print(f"\n{'NeMo-Run LocalExecutor: run() called, then':<44}{'ms':>10}")
            nemo = bench_nemo(args.nemo_python, min(args.runs, 5), Path(tmp) / "nemo")
            for label, seconds in (nemo or {}).items():
                print(f"{label:<44}{seconds * 1000:>10.1f}")
        else:
            print("\nNeMo-Run: skipped (nemo_run not importable; pass --nemo-python)")

        many = bench_experiment(args.tasks, args.concurrent)
        n = args.tasks
        print(f"\n{n} trivial tasks, max_concurrent={args.concurrent}")
        rows = [
            (
                "add() them all",
                f"{many['add'] * 1000:.0f} ms ({many['add'] / n * 1000:.1f} ms a task)",
            ),
            ("run() wall", f"{many['wall']:.1f} s ({n / many['wall']:.2f} tasks/s)"),
            ("succeeded", f"{many['succeeded']:.0f} of {n}"),
            (
                "CPU: this process (orchestrating)",
                f"{many['orchestrator cpu']:.1f} s ({many['orchestrator cpu'] / n * 1000:.0f} ms"
                " a task)",
            ),
            (
                "CPU: supervisors and tasks",
                f"{many['children cpu']:.1f} s ({many['children cpu'] / n * 1000:.0f} ms a task)",
            ),
            ("status() when finished", f"{many['status'] * 1000:.0f} ms"),
            ("Experiment.from_id()", f"{many['from_id'] * 1000:.0f} ms"),
            ("status() of the reopened one", f"{many['reopened status'] * 1000:.0f} ms"),
            (
                "store on disk (du)",
                f"{many['allocated'] / 1024:.0f} KiB ({many['allocated'] / n / 1024:.1f} KiB a"
                f" task; {many['apparent'] / 1024:.0f} KiB apparent, {many['files']:.0f} files)",
            ),
        ]
        for label, text in rows:
            print(f"{label:<36}{text}")


if __name__ == "__main__":
    main()
