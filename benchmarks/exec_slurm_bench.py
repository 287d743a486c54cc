"""Benchmarks of nrun.exec.slurm on a real cluster: submitting N tasks, and following them.

Run: `uv run python benchmarks/exec_slurm_bench.py [--tasks N] [--tunnel ssh|local|both]
[--only submit|poll|both] [--watch SECONDS]` with the test cluster and its login node up
(`integration-tests/slurm-up.sh && integration-tests/sshd-up.sh`). Prints tables; asserts
nothing. Records go to a temporary NRUN_HOME; over SSH the jobs' files go to
`~nrun/nrun-bench/<random>`. At the end every job still queued is cancelled and both folders
are removed. Round trips are `tunnel.stats` (commands and file copies; SSH reads count too,
`LocalTunnel` reads its files directly and does not count them).

To measure the package as it was before (one query per waiter every 0.5 s, one submission
per job), put its source first: `PYTHONPATH=<old>/packages/nrun-exec-slurm/src python
benchmarks/exec_slurm_bench.py ...` (`git archive <commit> packages/nrun-exec-slurm/src`);
the Experiment scheduler then launches with the base class' one-by-one `launch_batch`.

Every task is `nrun.exec.probes` (`echo`, `sleep`), run by the cluster's /usr/bin/python3.

submit, per tunnel:
- first launch: one `launch()` on a fresh tunnel, with the once-per-cluster runtime upload.
- N distinct jobs (each its own `env_vars`, so no two can share an array), `launch()` one
  after another: what an Experiment did before; then the same N in one `launch_batch`.
- N alike jobs (only `job_dir` differs) in one `launch_batch`: one job array.
- an `Experiment` of N alike tasks, and one of N distinct tasks: from `run()` until every task
  has its job id, and the round trips until then; then until all have ended.
- batch_status of N final jobs (1 call), and N `status()` calls.

poll, per tunnel: an `Experiment` of N tasks that sleep longer than the watch, run with
`tail_logs=True` (N `logs(follow=True)`; `--no-tail`: without) while another thread `wait()`s
on it: the round trips
over `--watch` seconds once all have job ids (status queries and log reads apart, counted by
the poller where there is one), then the same extrapolated to 5 minutes: the poller's schedule
for the queries (no job changes state: the cluster runs 4 of them, the rest stay queued) and
each follower's read backoff for the reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nrun.config import Partial, dump
from nrun.exec.base import Job, JobState, JobStatus
from nrun.exec.experiment import Experiment
from nrun.exec.plugins import EnvVars
from nrun.exec.probes import echo, sleep
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel, Tunnel

CLUSTER_PYTHON = "/usr/bin/python3"
SSH_DIR = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it")) / "sshd"
TIMEOUT = 1800.0
"""Seconds to wait for a batch of jobs to end before giving up (and cancelling them)."""
FIVE_MINUTES = 300.0

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


def trips(tunnel: Tunnel) -> int:
    return tunnel.stats.round_trips


def wait_final(jobs: list[Pair]) -> list[JobStatus]:
    """Poll `batch_status` until every job has ended (or TIMEOUT); the last statuses."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        statuses = SlurmExecutor.batch_status(jobs)
        if all(s.state.final for s in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(SlurmExecutor.poll_interval)


def row(label: str, text: str) -> None:
    print(f"  {label:<52}{text}", flush=True)


def _poller(tunnel: Tunnel) -> Any:
    """The cluster's shared poller, or None with the package of before (it had none)."""
    try:
        from nrun.exec.slurm._poller import poller
    except ImportError:
        return None
    return poller(tunnel)


def _ids_given(exp: Experiment, called: float) -> float:
    """Seconds from `called` until the last task of `exp` got its job id."""
    launched = [
        json.loads((exp.dir / "tasks" / name / "job.json").read_text()).get("launched")
        for name in exp.tasks
    ]
    return max(t or called for t in launched) - called


def bench_submit(
    kind: str, n: int, tmp: Path, launched: list[Pair], exps: list[Experiment]
) -> None:
    """Submitting N jobs: one by one, in one batch, as an array, through an Experiment."""
    tunnel = make_tunnel(kind, secrets.token_hex(4))
    base = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel, job_name_prefix="nrun-bench-")
    root = tmp / kind
    configs = [
        dump(Partial(echo, message=f"task {i}"), root / "configs" / f"task-{i}.yaml")
        for i in range(n)
    ]

    def executor(name: str, **fields: Any) -> SlurmExecutor:
        return dataclasses.replace(base, job_dir=str(root / "jobs" / name), **fields)

    def distinct(tag: str) -> list[tuple[SlurmExecutor, Job]]:
        return [
            (executor(f"{tag}{i}", env_vars={"N": str(i)}), Job(f"{tag}{i}", configs[i]))
            for i in range(n)
        ]

    print(f"\n{kind} tunnel ({base.describe()}), {n} tasks: submitting")
    before, start = trips(tunnel), time.perf_counter()
    first = executor("first")
    launched.append((first, first.launch(Job("first", configs[0]))))
    row(
        "first launch (connect, upload runtime)",
        f"{(time.perf_counter() - start) * 1000:.0f} ms; {trips(tunnel) - before} round trips",
    )

    def measure(label: str, call: Callable[[], list[Pair]]) -> None:
        before, start = trips(tunnel), time.perf_counter()
        jobs = call()
        wall = time.perf_counter() - start
        sent = trips(tunnel) - before
        launched.extend(jobs)
        row(label, f"{wall:.2f} s ({wall / n * 1000:.1f} ms a job); {sent} round trips")
        statuses = wait_final(jobs)
        done = sum(s.state == JobState.SUCCEEDED for s in statuses)
        row("  ... all final", f"{time.perf_counter() - start:.1f} s ({done} of {n} succeeded)")

    def one_by_one() -> list[Pair]:
        return [(ex, ex.launch(job)) for ex, job in distinct("a")]

    def batch(jobs: list[tuple[SlurmExecutor, Job]]) -> list[Pair]:
        ids = SlurmExecutor.launch_batch(jobs)
        return [(ex, str(i)) for (ex, _), i in zip(jobs, ids, strict=True) if isinstance(i, str)]

    measure(f"{n} distinct jobs, launch() one by one", one_by_one)
    measure(f"{n} distinct jobs, one launch_batch", lambda: batch(distinct("b")))
    alike = [(executor(f"c{i}"), Job(f"c{i}", configs[i])) for i in range(n)]
    measure(f"{n} alike jobs, one launch_batch (a job array)", lambda: batch(alike))

    for label, fields in (("alike", False), ("distinct", True)):
        exp = Experiment(f"slurm-bench-{kind}-{label}", executor=base)
        for i in range(n):
            plugin = [EnvVars(env={"N": str(i)})] if fields else []
            exp.add(Partial(echo, message=f"task {i}"), name=f"t{i}", plugins=plugin)
        exps.append(exp)
        before, called, start = trips(tunnel), time.time(), time.perf_counter()
        exp.run()
        wall = time.perf_counter() - start
        states = list(exp.status().values())
        ok = sum(s == JobState.SUCCEEDED for s in states)
        row(
            f"Experiment of {n} {label} tasks: all have job ids",
            f"{_ids_given(exp, called):.2f} s after run()",
        )
        row(
            "  ... run() returned",
            f"{wall:.1f} s ({ok} of {n} succeeded); {trips(tunnel) - before} round trips in all",
        )

    jobs = launched[-n:]
    before, start = trips(tunnel), time.perf_counter()
    SlurmExecutor.batch_status(jobs)
    row(
        f"batch_status of {n} final jobs",
        f"{(time.perf_counter() - start) * 1000:.0f} ms; {trips(tunnel) - before} round trips",
    )
    before, start = trips(tunnel), time.perf_counter()
    for ex, job_id in jobs:
        ex.status(job_id)
    row(
        f"{n} x status() of final jobs",
        f"{(time.perf_counter() - start) * 1000:.0f} ms; {trips(tunnel) - before} round trips",
    )


def bench_poll(kind: str, n: int, watch: float, exps: list[Experiment], tail: bool) -> None:
    """Round trips while N jobs are followed for `watch` s; extrapolated to five minutes."""
    tunnel = make_tunnel(kind, secrets.token_hex(4))
    base = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel, job_name_prefix="nrun-bench-")
    how = "run(tail_logs=True) and wait()" if tail else "run() and wait()"
    print(f"\n{kind} tunnel, {n} tasks: following them for {watch:.0f} s with {how}")
    exp = Experiment(f"slurm-bench-poll-{kind}", executor=base)
    for i in range(n):
        exp.add(Partial(sleep, seconds=watch + 120, lines=1), name=f"t{i}")
    exps.append(exp)
    runner = threading.Thread(target=lambda: exp.run(tail_logs=tail), daemon=True)
    waiter = threading.Thread(target=lambda: exp.wait(timeout=watch + 60), daemon=True)
    runner.start()
    deadline = time.monotonic() + 300
    while not all(exp._tasks[name].job_id for name in exp.tasks):
        if time.monotonic() > deadline:
            raise RuntimeError("the tasks were not all submitted in 5 minutes")
        time.sleep(0.2)
    waiter.start()
    shared = _poller(tunnel)
    before, queries = trips(tunnel), shared.queries if shared else 0
    start = time.monotonic()
    time.sleep(watch)
    elapsed = time.monotonic() - start
    sent = trips(tunnel) - before
    states = exp.status()
    running = sum(s == JobState.RUNNING for s in states.values())
    row(
        f"{n} followed ({running} running, the rest queued), {elapsed:.0f} s",
        f"{sent} round trips ({sent / elapsed:.1f}/s)",
    )
    if shared is None:
        row("  ... for five minutes, at that rate", f"{sent / elapsed * FIVE_MINUTES:,.0f}")
    else:
        from nrun.exec.slurm._executor import LOG_LONGEST
        from nrun.exec.slurm._poller import schedule

        asked = shared.queries - queries
        row(
            "  ... of which squeue+sacct (the poller's)",
            f"{asked}, now every {shared.interval:.0f} s",
        )
        # from the end of the watch to five minutes: the queries of the poller's schedule
        later = len([t for t in schedule(FIVE_MINUTES + 60) if watch + 60 < t <= FIVE_MINUTES + 60])
        if isinstance(tunnel, LocalTunnel):  # it reads the logs here: no round trips
            row("  ... for five minutes (this + schedule)", f"{asked + later} queries")
        else:
            # and a read per follower of a running job every LOG_LONGEST s (queued: none)
            reads = sent - asked
            more = int(tail * running * (FIVE_MINUTES - elapsed) / LOG_LONGEST)
            row("  ... of which log reads", f"{reads}")
            row(
                "  ... for five minutes (this + schedule)",
                f"{asked + later} queries + {reads + more} reads",
            )
            row(
                f"  ... if all {n} ran (a read each every {LOG_LONGEST:g} s)",
                f"{asked + later} queries + {int(tail * n * FIVE_MINUTES / LOG_LONGEST)} reads",
            )
    exp.cancel()
    runner.join(timeout=120)


def cleanup(launched: list[Pair], exps: list[Experiment]) -> None:
    """Cancel every job not yet final; remove the jobs' folders on the login node."""
    if launched:
        statuses = SlurmExecutor.batch_status(launched)
        live = [pair for pair, s in zip(launched, statuses, strict=True) if not s.state.final]
        if live:
            SlurmExecutor.batch_cancel(live)
    for exp in exps:
        if not all(state.final for state in exp.status().values()):
            exp.cancel()
    tunnels = [ex.tunnel for ex, _ in launched] + [
        getattr(task.executor, "tunnel", None) for exp in exps for task in exp._tasks.values()
    ]
    ssh = {t.key + t.job_dir: t for t in tunnels if isinstance(t, SSHTunnel)}
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
    parser.add_argument("--only", choices=("submit", "poll", "both"), default="both")
    parser.add_argument("--watch", type=float, default=60.0, help="seconds to follow jobs")
    parser.add_argument(
        "--no-tail", action="store_true", help="follow without logs(follow=True) per task"
    )
    args = parser.parse_args()
    kinds = ["ssh", "local"] if args.tunnel == "both" else [args.tunnel]
    nodes = subprocess.run(
        ["sinfo", "--noheader", "--Node", "--format=%N:%c"], capture_output=True, text=True
    ).stdout.split()
    import nrun.exec.slurm

    print(f"cluster: {len(nodes)} nodes ({', '.join(nodes)} CPUs)")
    print(f"package: {Path(nrun.exec.slurm.__file__).parent}")
    launched: list[Pair] = []
    exps: list[Experiment] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nrun-slurm-bench-") as tmp:
        os.environ["NRUN_HOME"] = str(Path(tmp) / "home")
        try:
            for kind in kinds:
                if args.only in ("submit", "both"):
                    bench_submit(kind, args.tasks, Path(tmp), launched, exps)
                if args.only in ("poll", "both"):
                    bench_poll(kind, args.tasks, args.watch, exps, tail=not args.no_tail)
        finally:
            cleanup(launched, exps)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
