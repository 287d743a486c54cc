"""Benchmarks of nrun.exec.slurm on a real cluster: submitting, following and sweeping N tasks.

Run: `uv run python benchmarks/exec_slurm_bench.py [--tasks N] [--tunnel ssh|local|both]
[--runs N]` with the test cluster and its login node up (`integration-tests/slurm-up.sh &&
integration-tests/sshd-up.sh`). Prints tables; asserts nothing. Records go to a temporary
NRUN_HOME; over SSH the jobs' files go to `~nrun/nrun-bench/<random>`. At the end every job
still queued is cancelled (`executor.cancel`) and both folders are removed.

Every task is `nrun.exec.probes.echo`, run by the cluster's /usr/bin/python3. For each tunnel
(SSHTunnel as user nrun, LocalTunnel as this user on the login node):
- first launch: one `launch()` on a fresh tunnel, with the once-per-cluster runtime upload.
- N direct launches: `executor.launch(Job)` N times in a row: wall time, launches/s, and the
  SSH connections opened and round trips (commands and file copies) counted by `tunnel.stats`.
- batch_status, jobs queued: one `SlurmExecutor.batch_status` of the N jobs right after they
  were launched (most still queued): median wall of --runs calls, round trips per call.
- direct jobs all final: from the first direct launch until all N have ended.
- batch_status vs N x status(), jobs final: the same call once they have all ended, against N
  single `status()` calls (median of 2 rounds of N); round trips per call or round.
- experiment: an `Experiment` of N tasks, `run()` until all have ended: when the last one got
  its job id, when run() returned, how many succeeded, connections and round trips (its
  polling included).
- sweep array: `launch_array` of N task files as one job array: wall time to submit, its
  round trips, and the time from submitting until the array is final.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nrun.config import Partial, dump
from nrun.exec.base import Job, JobState, JobStatus
from nrun.exec.experiment import Experiment
from nrun.exec.probes import echo
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel, Tunnel

CLUSTER_PYTHON = "/usr/bin/python3"
SSH_DIR = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it")) / "sshd"
TIMEOUT = 1800.0
"""Seconds to wait for a batch of jobs to end before giving up (and cancelling them)."""

Pair = tuple[SlurmExecutor, str]


def make_tunnel(kind: str, run_id: str) -> Tunnel:
    """The local tunnel, or the SSH login node of integration-tests/sshd-up.sh."""
    if kind == "local":
        return LocalTunnel()
    return SSHTunnel(
        host="127.0.0.1",
        port=2222,
        user="nrun",
        identity=str(SSH_DIR / "id_ed25519"),
        known_hosts=str(SSH_DIR / "known_hosts"),
        job_dir=f"nrun-bench/{run_id}",
    )


def counts(tunnel: Tunnel) -> tuple[int, int]:
    """(connections, round trips) of the tunnel so far."""
    return tunnel.stats.connections, tunnel.stats.round_trips


def since(tunnel: Tunnel, before: tuple[int, int]) -> str:
    """Connections and round trips since `before`, as text."""
    connections, trips = (now - then for now, then in zip(counts(tunnel), before, strict=True))
    return f"{connections} connections, {trips} round trips"


def wait_final(jobs: list[Pair]) -> list[JobStatus]:
    """Poll `batch_status` until every job has ended (or TIMEOUT); the last statuses."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        statuses = SlurmExecutor.batch_status(jobs)
        if all(s.state.final for s in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(SlurmExecutor.poll_interval)


def succeeded(statuses: list[JobStatus]) -> int:
    return sum(s.state == JobState.SUCCEEDED for s in statuses)


def row(label: str, text: str) -> None:
    print(f"  {label:<40}{text}", flush=True)


def bench(
    kind: str, n: int, runs: int, tmp: Path, launched: list[Pair], exps: list[Experiment]
) -> None:
    """Every benchmark through one tunnel; prints a row as each is measured."""
    tunnel = make_tunnel(kind, secrets.token_hex(4))
    base = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel, job_name_prefix="nrun-bench-")
    root = tmp / kind
    configs = [
        dump(Partial(echo, message=f"task {i}"), root / "configs" / f"task-{i}.yaml")
        for i in range(n)
    ]

    def executor(name: str) -> SlurmExecutor:
        return dataclasses.replace(base, job_dir=str(root / "jobs" / name))

    print(f"\n{kind} tunnel ({base.describe()}), {n} tasks")

    before, start = counts(tunnel), time.perf_counter()
    first = executor("first")
    launched.append((first, first.launch(Job("first", configs[0]))))
    row(
        "first launch (connect, upload runtime)",
        f"{(time.perf_counter() - start) * 1000:.0f} ms; {since(tunnel, before)}",
    )

    jobs: list[Pair] = []
    before, start = counts(tunnel), time.perf_counter()
    for i, config in enumerate(configs):
        job_executor = executor(f"t{i}")
        jobs.append((job_executor, job_executor.launch(Job(f"t{i}", config))))
        launched.append(jobs[-1])
    wall = time.perf_counter() - start
    row(
        f"{n} direct launches",
        f"{wall:.2f} s ({n / wall:.1f} launches/s, {wall / n * 1000:.0f} ms each); "
        f"{since(tunnel, before)}",
    )

    def timed(label: str, call: Callable[[], object], repeat: int) -> None:
        times, before = [], counts(tunnel)
        for _ in range(repeat):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        trips = (counts(tunnel)[1] - before[1]) / repeat
        row(label, f"{statistics.median(times) * 1000:.0f} ms; {trips:g} round trips")

    def batch() -> object:
        return SlurmExecutor.batch_status(jobs)

    timed("batch_status, jobs queued (1 call)", batch, runs)
    statuses = wait_final(jobs)
    row(
        "direct jobs all final",
        f"{time.perf_counter() - start:.1f} s after the first launch "
        f"({succeeded(statuses)} of {n} succeeded)",
    )
    timed("batch_status, jobs final (1 call)", batch, runs)
    timed(f"{n} x status(), jobs final", lambda: [e.status(j) for e, j in jobs], 2)

    exp = Experiment(f"slurm-bench-{kind}", executor=base)
    for i in range(n):
        exp.add(Partial(echo, message=f"task {i}"), name=f"t{i}")
    exps.append(exp)
    before, called, start = counts(tunnel), time.time(), time.perf_counter()
    exp.run()
    wall = time.perf_counter() - start
    submitted = max(
        json.loads((exp.dir / "tasks" / name / "job.json").read_text()).get("launched") or called
        for name in exp.tasks
    )
    states = list(exp.status().values())
    row("experiment: all have job ids", f"{submitted - called:.2f} s after run() was called")
    row(
        "experiment: run() returned",
        f"{wall:.1f} s ({sum(s == JobState.SUCCEEDED for s in states)} of {n} succeeded); "
        f"{since(tunnel, before)}",
    )

    sweep = executor("sweep")
    before, start = counts(tunnel), time.perf_counter()
    sweep_id = sweep.launch_array(Job("sweep", configs[0]), configs)
    submit = time.perf_counter() - start
    launched.append((sweep, sweep_id))
    row(f"sweep array of {n}: submit", f"{submit * 1000:.0f} ms; {since(tunnel, before)}")
    (status,) = wait_final([(sweep, sweep_id)])
    row(
        f"sweep array of {n}: final",
        f"{time.perf_counter() - start:.1f} s after submitting ({status.state.value})",
    )


def cleanup(launched: list[Pair], exps: list[Experiment]) -> None:
    """Cancel every job not yet final; remove the jobs' folders on the login node."""
    if launched:
        statuses = SlurmExecutor.batch_status(launched)
        for (executor, job_id), status in zip(launched, statuses, strict=True):
            if not status.state.final:
                executor.cancel(job_id)
    for exp in exps:
        if not all(state.final for state in exp.status().values()):
            exp.cancel()
    ssh = {ex.tunnel.key: ex.tunnel for ex, _ in launched if isinstance(ex.tunnel, SSHTunnel)}
    for tunnel in ssh.values():
        folder = tunnel.resolve(tunnel.job_dir)
        q = shlex.quote
        tunnel.run(f"rm -rf {q(folder)}; rmdir {q(os.path.dirname(folder))} 2>/dev/null; true")
        tunnel.close()


def main() -> None:
    """Run the benchmarks through the tunnels asked for and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100, help="tasks in each benchmark")
    parser.add_argument("--tunnel", choices=("ssh", "local", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5, help="status calls to take the median of")
    args = parser.parse_args()
    kinds = ["ssh", "local"] if args.tunnel == "both" else [args.tunnel]
    nodes = subprocess.run(
        ["sinfo", "--noheader", "--Node", "--format=%N:%c"], capture_output=True, text=True
    ).stdout.split()
    print(f"cluster: {len(nodes)} nodes ({', '.join(nodes)} CPUs); median of {args.runs} runs")
    launched: list[Pair] = []
    exps: list[Experiment] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nrun-slurm-bench-") as tmp:
        os.environ["NRUN_HOME"] = str(Path(tmp) / "home")
        try:
            for kind in kinds:
                bench(kind, args.tasks, args.runs, Path(tmp), launched, exps)
        finally:
            cleanup(launched, exps)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
