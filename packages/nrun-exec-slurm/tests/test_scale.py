"""Slurm at cluster scale, on the real cluster: one shared backing-off poller, batched launches.

Round trips are counted with `tunnel.stats` (commands and file copies; `LocalTunnel` reads its
files directly and does not count them).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nrun.config import Partial, dump
from nrun.exec.base import ExecutorError, Job, JobState
from nrun.exec.experiment import Experiment
from nrun.exec.probes import echo, print_env, sleep
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel, Tunnel
from nrun.exec.testing import wait_final

pytestmark = pytest.mark.usefixtures("cluster")

CLUSTER_PYTHON = "/usr/bin/python3"
FIRST = 0.5
"""The poll interval after a change: before, every waiter asked this often, all the time."""


def _schedule(seconds: float) -> int:
    """How many queries a backing-off poller sends in `seconds` in which nothing changes:
    0, 0.5, 0.5 + 0.75, ... (each wait 1.5 times the last, at most 60 s)."""
    at, wait, count = 0.0, FIRST, 1
    while at + wait <= seconds:
        at, wait, count = at + wait, min(60.0, wait * 1.5), count + 1
    return count


@pytest.fixture(params=["local", "ssh"])
def tunnel(request: pytest.FixtureRequest) -> Tunnel:
    """Each scenario runs through both tunnels."""
    if request.param == "local":
        return LocalTunnel()
    return request.getfixturevalue("ssh_tunnel")  # type: ignore[no-any-return]


def _job(tmp_path: Path, name: str, task: Partial, **fields: object) -> tuple[SlurmExecutor, Job]:
    executor = SlurmExecutor(job_dir=str(tmp_path / name), python=CLUSTER_PYTHON, **fields)  # type: ignore[arg-type]
    return executor, Job(name, dump(task, tmp_path / f"{name}.yaml"))


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# -- 1. one backing-off query per cluster, shared by every waiter ------------------------------


def test_waiters_of_one_cluster_share_one_query_per_interval(tmp_path: Path) -> None:
    """Five waiters (status, batch_status, wait_final, logs(follow)) of two jobs of one cluster
    cost one squeue+sacct per poller interval in all, not one per waiter every 0.5 s."""
    tunnel = LocalTunnel()
    first = _job(tmp_path, "first", Partial(sleep, seconds=6.0, lines=3), tunnel=tunnel)
    second = _job(tmp_path, "second", Partial(sleep, seconds=6.0), tunnel=tunnel)
    ids = [executor.launch(job) for executor, job in (first, second)]
    pairs = [(first[0], ids[0]), (second[0], ids[1])]
    trips, start = tunnel.stats.round_trips, time.monotonic()
    lines: list[str] = []
    finals: list[JobState] = []

    def status_loop(executor: SlurmExecutor, job_id: str) -> None:
        while not executor.status(job_id).state.final:
            time.sleep(0.05)
        finals.append(executor.status(job_id).state)

    def batch_loop() -> None:
        while not all(s.state.final for s in SlurmExecutor.batch_status(pairs)):
            time.sleep(0.05)

    waiters = [
        threading.Thread(target=status_loop, args=pairs[0]),
        threading.Thread(target=status_loop, args=pairs[1]),
        threading.Thread(target=batch_loop),
        threading.Thread(target=lambda: wait_final(*pairs[1], timeout=120)),
        threading.Thread(target=lambda: lines.extend(first[0].logs(ids[0], follow=True))),
    ]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(timeout=120)
    elapsed = time.monotonic() - start
    sent = tunnel.stats.round_trips - trips
    assert finals == [JobState.SUCCEEDED, JobState.SUCCEEDED]
    assert lines == ["line 0", "line 1", "line 2", "done"]
    # one query per interval for all five: what the schedule allows over the wait, plus one
    # more per reset (each job's start and end is a change of state)
    # (and scontrol for a job that just left squeue but is not in accounting yet)
    assert sent <= _schedule(elapsed) + 6, (sent, elapsed)
    # before, each of the five waiters sent squeue+sacct every 0.5 s (logs(follow) as well)
    assert sent < 5 * elapsed / FIRST / 3, (sent, elapsed)


def test_a_state_change_resets_the_backoff(tmp_path: Path) -> None:
    """While a job just runs the poller asks less and less often; a new job (or any change of
    state) brings it back to 0.5 s, so that job's end shows at once, not a long interval later."""
    from nrun.exec.slurm._poller import poller

    tunnel = LocalTunnel()
    long, job = _job(tmp_path, "long", Partial(sleep, seconds=120.0), tunnel=tunnel)
    long_id = long.launch(job)
    shared = poller(tunnel)
    waiter = threading.Event()

    def follow() -> None:
        while not waiter.is_set() and not long.status(long_id).state.final:
            time.sleep(0.05)

    thread = threading.Thread(target=follow)
    thread.start()
    try:
        _until(lambda: shared.interval >= 3.5, 60, "the poller never backed off")
        quick, job = _job(tmp_path, "quick", Partial(echo, message="quick"), tunnel=tunnel)
        launched = time.monotonic()
        quick_id = quick.launch(job)
        assert wait_final(quick, quick_id, 30).state == JobState.SUCCEEDED
        seen = time.monotonic() - launched
        # the backed-off interval was >= 3.5 s (5.3 s next); after the reset it is 0.5 s
        assert seen < 3.0, seen
        changes = [entry for entry in shared.history if entry[2]]
        assert changes and changes[-1][1] == FIRST
    finally:
        waiter.set()
        thread.join(timeout=60)
        long.cancel(long_id)


# -- 2a. alike jobs become one job array ------------------------------------------------------


def test_alike_jobs_become_one_array_in_one_submission(tmp_path: Path, tunnel: Tunnel) -> None:
    """launch_batch: four jobs differing only in job_dir are one `sbatch --array=0-3`; each
    element runs its own task, logs in its own folder, has its own status; others stay apart."""
    alike = [
        _job(tmp_path, f"point-{i}", Partial(print_env, names=["NRUN_TASK_NAME"]), tunnel=tunnel)
        for i in range(4)
    ]
    other = _job(tmp_path, "other", Partial(echo, message="apart"), tunnel=tunnel, time="5")
    refused = _job(tmp_path, "refused", Partial(echo), tunnel=tunnel, partition="nosuchpartition")
    SlurmExecutor.launch_batch([other])  # the runtime is on the cluster: count the batch alone
    before = tunnel.stats.round_trips
    results = SlurmExecutor.launch_batch([*alike, other, refused])
    # one copy of all the files (over SSH) and one command, whatever the number of jobs
    assert tunnel.stats.round_trips - before == (2 if isinstance(tunnel, SSHTunnel) else 1)
    *elements, apart, error = results
    assert isinstance(error, ExecutorError)
    assert "submitting the job failed" in str(error) and "artition" in str(error)
    array_id = str(elements[0]).partition("_")[0]
    assert elements == [f"{array_id}_{i}" for i in range(4)]
    assert isinstance(apart, str) and apart.isdigit() and apart != array_id
    for i, ((executor, _), job_id) in enumerate(zip(alike, elements, strict=True)):
        assert wait_final(executor, str(job_id), 60).state == JobState.SUCCEEDED
        assert list(executor.logs(str(job_id))) == [f"NRUN_TASK_NAME=point-{i}"]
        remote = executor._record(str(job_id))["remote_dir"]
        assert f"slurm-{job_id}.out" in tunnel.listdir(remote)
    assert wait_final(other[0], apart, 60).state == JobState.SUCCEEDED

    def elements_in_accounting() -> bool:  # it records an array's elements a while after
        names = subprocess.run(
            [
                "sacct",
                "--noheader",
                "--allocations",
                "--parsable2",
                "--format=JobID",
                f"--jobs={array_id}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return sorted(names) == [f"{array_id}_{i}" for i in range(4)]

    _until(elements_in_accounting, 60, "accounting never listed the array's four elements")


def test_cancel_and_status_per_array_element(tmp_path: Path, tunnel: Tunnel) -> None:
    """Cancelling one element of a batched array stops it alone; the others go on."""
    jobs = [
        _job(tmp_path, f"el-{i}", Partial(sleep, seconds=300.0 if i else 1.0), tunnel=tunnel)
        for i in range(3)
    ]
    ids = [str(r) for r in SlurmExecutor.launch_batch(jobs)]
    assert ids[0].endswith("_0")
    (ex0, _), (ex1, _), (ex2, _) = jobs
    _until(lambda: ex1.status(ids[1]).state == JobState.RUNNING, 60, "element 1 never ran")
    ex1.cancel(ids[1])
    assert ex1.status(ids[1]).state == JobState.CANCELLED
    assert ex2.status(ids[2]).state in (JobState.PENDING, JobState.RUNNING)
    assert wait_final(ex0, ids[0], 60).state == JobState.SUCCEEDED
    ex2.cancel(ids[2])
    assert ex2.status(ids[2]).state == JobState.CANCELLED
    live = subprocess.run(
        ["squeue", "--noheader", "--array", f"--jobs={ids[0].partition('_')[0]}"],
        capture_output=True,
        text=True,
    )
    assert live.stdout.strip() == ""


def test_an_experiment_of_alike_tasks_is_one_array(tunnel: Tunnel) -> None:
    """A sweep-like Experiment (identical tasks but their arguments) is one job array."""
    executor = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel)
    with Experiment("sweep", executor=executor) as exp:
        for i in range(3):
            exp.add(Partial(echo, message=f"lr {i}"), name=f"train-{i}")
        exp.add(Partial(echo, message="after"), name="report", dependencies=["train-2"])
        exp.run()
    assert exp.status() == {
        "train-0": JobState.SUCCEEDED,
        "train-1": JobState.SUCCEEDED,
        "train-2": JobState.SUCCEEDED,
        "report": JobState.SUCCEEDED,
    }
    ids = [exp._tasks[f"train-{i}"].job_id or "" for i in range(3)]
    array_id = ids[0].partition("_")[0]
    assert ids == [f"{array_id}_{i}" for i in range(3)]
    assert exp.logs("train-1") == "lr 1"
    assert exp._tasks["report"].job_id != array_id  # it waited on train-2 (afterok:<id>_2)


# -- 2b. many jobs, a constant number of round trips ------------------------------------------


def test_many_distinct_jobs_in_two_round_trips(tmp_path: Path, ssh_tunnel: SSHTunnel) -> None:
    """Twelve jobs that cannot share an array (each its own env) go in one copy and one
    command over SSH, each its own sbatch and its own id."""
    jobs = [
        _job(
            tmp_path,
            f"job-{i}",
            Partial(print_env, names=["WHICH"]),
            tunnel=ssh_tunnel,
            env_vars={"WHICH": str(i)},
        )
        for i in range(12)
    ]
    SlurmExecutor.launch_batch(jobs[:1])  # connect and copy the runtime first
    before = ssh_tunnel.stats.round_trips
    ids = SlurmExecutor.launch_batch(jobs[1:])
    assert ssh_tunnel.stats.round_trips - before == 2
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    assert len(set(ids)) == 11
    for i, ((executor, _), job_id) in enumerate(zip(jobs[1:], ids, strict=True), start=1):
        assert wait_final(executor, str(job_id), 120).state == JobState.SUCCEEDED
        assert list(executor.logs(str(job_id))) == [f"WHICH={i}"]


def test_a_lost_connection_never_submits_twice(tmp_path: Path, ssh_tunnel: SSHTunnel) -> None:
    """The connection drops while the batch's command runs: every job of it fails with "may or
    may not have happened", and the command is not sent again (one sbatch per job at most)."""
    jobs = [
        _job(tmp_path, f"lost-{i}", Partial(echo), tunnel=ssh_tunnel, env_vars={"N": str(i)})
        for i in range(3)
    ]
    SlurmExecutor.launch_batch(jobs[:1])
    original = ssh_tunnel.run
    sent: list[str] = []

    def dropping(command: str, *, idempotent: bool = True) -> object:
        if not idempotent:
            sent.append(command)
            original(command, idempotent=idempotent)  # it ran there, but the answer is lost
            ssh_tunnel.close()
            from nrun.exec.slurm import TunnelError

            raise TunnelError(
                "the connection to nrun@127.0.0.1:2222 broke during 'sh'; "
                "it may or may not have happened"
            )
        return original(command, idempotent=idempotent)

    ssh_tunnel.run = dropping  # type: ignore[method-assign]
    try:
        results = SlurmExecutor.launch_batch(jobs[1:])
    finally:
        del ssh_tunnel.run
    assert len(sent) == 1
    assert all(isinstance(r, ExecutorError) and "may or may not" in str(r) for r in results)
