"""SlurmExecutor on the real cluster, through the local tunnel and through SSH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nrun.config import Partial, dump
from nrun.exec.base import ExecutorError, Job, JobState
from nrun.exec.experiment import Experiment
from nrun.exec.probes import allreduce, echo, fail, print_env, sleep
from nrun.exec.slurm import LocalTunnel, ResourceGroup, SlurmExecutor, SSHTunnel, Tunnel
from nrun.exec.testing import ExecutorTestSuite, wait_final

pytestmark = pytest.mark.usefixtures("cluster")

CLUSTER_PYTHON = "/usr/bin/python3"
"""The cluster's own Python (Debian's), which has nothing of nrun installed."""

INTEGRATION = Path(__file__).resolve().parents[3] / "integration-tests"


class TestLocalTunnel(ExecutorTestSuite):
    """The shared executor behaviours, submitting from this machine (the login node)."""

    @pytest.fixture
    def executor(self, tmp_path: Path) -> SlurmExecutor:
        return SlurmExecutor(job_dir=str(tmp_path / "job"), python=CLUSTER_PYTHON)


class TestSSHTunnel(ExecutorTestSuite):
    """The shared executor behaviours, submitting through the SSH login node."""

    @pytest.fixture
    def executor(self, tmp_path: Path, ssh_tunnel: SSHTunnel) -> SlurmExecutor:
        return SlurmExecutor(
            job_dir=str(tmp_path / "job"), python=CLUSTER_PYTHON, tunnel=ssh_tunnel
        )


@pytest.fixture(params=["local", "ssh"])
def tunnel(request: pytest.FixtureRequest) -> Tunnel:
    """Each scenario runs through both tunnels."""
    if request.param == "local":
        return LocalTunnel()
    return request.getfixturevalue("ssh_tunnel")  # type: ignore[no-any-return]


def _executor(tmp_path: Path, tunnel: Tunnel, **fields: object) -> SlurmExecutor:
    return SlurmExecutor(
        job_dir=str(tmp_path / "job"), python=CLUSTER_PYTHON, tunnel=tunnel, **fields
    )


def _launch(executor: SlurmExecutor, tmp_path: Path, task: Partial) -> str:
    config = dump(task, tmp_path / "task.yaml")
    return executor.launch(Job("probe", config))


def test_failure_is_reported_with_exit_code_and_log_tail(
    tunnel: Tunnel, capsys: pytest.CaptureFixture[str]
) -> None:
    """An experiment whose task fails: FAILED, exit code 3, and the end of its log on stderr."""
    with Experiment("fails", executor=SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel)) as exp:
        exp.add(Partial(fail, code=3, message="the data is gone"), name="train")
        exp.run()
    status = exp.statuses()["train"]
    assert status.state == JobState.FAILED
    assert status.exit_code == 3
    assert status.reason == "exit code 3"
    err = capsys.readouterr().err
    assert "task 'train' FAILED: exit code 3" in err
    assert "| the data is gone" in err


def test_two_nodes_run_one_task_each(tmp_path: Path, tunnel: Tunnel) -> None:
    """nodes=2: srun starts the task on node1 and node2, ranks 0 and 1."""
    executor = _executor(tmp_path, tunnel, nodes=2)
    job_id = _launch(
        executor, tmp_path, Partial(print_env, names=["SLURMD_NODENAME", "SLURM_PROCID"])
    )
    assert wait_final(executor, job_id).state == JobState.SUCCEEDED
    lines = set(executor.logs(job_id))
    assert {"SLURMD_NODENAME=node1", "SLURMD_NODENAME=node2"} <= lines
    assert {"SLURM_PROCID=0", "SLURM_PROCID=1"} <= lines


def test_hetjob_spans_both_resource_groups(tmp_path: Path, tunnel: Tunnel) -> None:
    """Two resource groups become one heterogeneous job; the task runs in both."""
    executor = _executor(
        tmp_path,
        tunnel,
        heterogeneous=[ResourceGroup(nodes=1, cpus_per_task=1), ResourceGroup(nodes=1, mem="100M")],
    )
    job_id = _launch(
        executor, tmp_path, Partial(print_env, names=["SLURM_HET_SIZE", "SLURMD_NODENAME"])
    )
    status = wait_final(executor, job_id)
    assert status.state == JobState.SUCCEEDED, status
    lines = list(executor.logs(job_id))
    assert lines.count("SLURM_HET_SIZE=2") == 2
    assert {"SLURMD_NODENAME=node1", "SLURMD_NODENAME=node2"} <= set(lines)


def test_array_of_four(tmp_path: Path, tunnel: Tunnel) -> None:
    """array='0-3%2': four elements, each with its index; logs marked per element."""
    executor = _executor(tmp_path, tunnel, array="0-3%2")
    job_id = _launch(executor, tmp_path, Partial(print_env, names=["SLURM_ARRAY_TASK_ID"]))
    assert wait_final(executor, job_id).state == JobState.SUCCEEDED
    assert list(executor.logs(job_id)) == [f"[{i}] SLURM_ARRAY_TASK_ID={i}" for i in range(4)]


def test_sweep_as_one_array(tmp_path: Path, tunnel: Tunnel) -> None:
    """launch_array: element i runs the i-th task file; one failing element fails the job."""
    executor = _executor(tmp_path, tunnel)
    configs = [dump(Partial(echo, message=f"point {i}"), tmp_path / f"p{i}.yaml") for i in range(4)]
    job_id = executor.launch_array(Job("sweep", configs[0]), configs)
    assert wait_final(executor, job_id).state == JobState.SUCCEEDED
    assert list(executor.logs(job_id)) == [f"[{i}] point {i}" for i in range(4)]

    configs[2] = dump(Partial(fail, code=4, message="bad point"), tmp_path / "bad.yaml")
    executor.job_dir = str(tmp_path / "job2")
    job_id = executor.launch_array(Job("sweep", configs[0]), configs)
    status = wait_final(executor, job_id)
    assert status.state == JobState.FAILED
    assert status.exit_code == 4
    assert status.reason == "element 2: exit code 4"


def test_afterok_chain_where_the_first_fails(tunnel: Tunnel) -> None:
    """Dependents are submitted at once (Slurm holds them); the first fails, the rest never run."""
    executor = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel)
    with Experiment("chain", executor=executor) as exp:
        exp.add(Partial(sleep, seconds=1.0, lines=1), name="prepare")
        exp.add(Partial(fail, code=2, message="no data"), name="train", dependencies=["prepare"])
        exp.add(Partial(echo, message="evaluated"), name="evaluate", dependencies=["train"])
        exp.run(detach=True)
        deadline = time.monotonic() + 30
        while not all(exp._tasks[n].job_id for n in exp.tasks):
            assert time.monotonic() < deadline, "the chain was not submitted at once"
            time.sleep(0.1)
        # all three are in Slurm while the first still runs
        assert exp.status()["prepare"] in (JobState.PENDING, JobState.RUNNING)
        states = exp.wait(timeout=120)
    assert states == {
        "prepare": JobState.SUCCEEDED,
        "train": JobState.FAILED,
        "evaluate": JobState.CANCELLED,
    }
    assert exp.statuses()["evaluate"].reason == "a dependency failed (never satisfied)"
    assert exp.logs("evaluate") == ""


def test_cancel_of_an_array_stops_every_element(tmp_path: Path, tunnel: Tunnel) -> None:
    """Cancelling an array job cancels all its elements, running and pending."""
    executor = _executor(tmp_path, tunnel, array="0-5%2")
    job_id = _launch(executor, tmp_path, Partial(sleep, seconds=300.0))
    deadline = time.monotonic() + 30
    while executor.status(job_id).state != JobState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    executor.cancel(job_id)
    assert executor.status(job_id).state == JobState.CANCELLED
    done = subprocess.run(
        ["squeue", "--noheader", "--array", f"--jobs={job_id}"], capture_output=True, text=True
    )
    assert done.stdout.strip() == ""


def test_experiment_from_id_in_a_new_process(tunnel: Tunnel, tmp_path: Path) -> None:
    """A detached experiment is followed from another process: status and logs."""
    with Experiment(
        "followed", executor=SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel)
    ) as exp:
        exp.add(Partial(sleep, seconds=1.0, lines=3), name="work")
        exp.run(detach=True)
    probe = (
        "import sys; from nrun.exec.experiment import Experiment; "
        f"exp = Experiment.from_id({exp.id!r}); states = exp.wait(timeout=120); "
        "print(states['work'].value); print(exp.logs('work'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=180
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "SUCCEEDED"
    assert lines[1:] == ["line 0", "line 1", "line 2", "done"]


def _restart_sshd() -> None:
    for script in ("sshd-down.sh", "sshd-up.sh"):
        subprocess.run(["bash", str(INTEGRATION / script)], check=True, capture_output=True)


def test_sshd_restarted_mid_experiment(ssh_tunnel: SSHTunnel) -> None:
    """sshd restarts (its sessions dropped) while an experiment runs: the next call reconnects."""
    executor = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=ssh_tunnel)
    with Experiment("restart", executor=executor) as exp:
        exp.add(Partial(sleep, seconds=4.0, lines=2), name="long")
        runner = threading.Thread(target=exp.run)
        runner.start()
        deadline = time.monotonic() + 30
        while exp.status()["long"] != JobState.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        before = ssh_tunnel.stats.connections
        _restart_sshd()
        runner.join(timeout=120)
    assert not runner.is_alive()
    assert exp.status() == {"long": JobState.SUCCEEDED}
    assert ssh_tunnel.stats.connections > before
    assert "done" in exp.logs("long")


TORCH = Path(os.environ.get("NRUN_IT_CACHE", Path.home() / ".cache" / "nrun-it")) / "torch-2.13.0"


def test_torchrun_across_two_nodes(tmp_path: Path) -> None:
    """launcher='torchrun', 2 nodes x 2 ranks: one agent per node, a gloo all-reduce of 4 ranks."""
    if not (TORCH / "torch").is_dir():
        pytest.skip(f"torch is missing at {TORCH}: integration-tests/docker-up.sh installs it")
    out = tmp_path / "out"
    out.mkdir()
    config = dump(Partial(allreduce, out=str(out)), tmp_path / "allreduce.yaml")
    executor = SlurmExecutor(
        job_dir=str(tmp_path / "job"),
        python=CLUSTER_PYTHON,
        launcher="torchrun",
        nodes=2,
        ntasks_per_node=2,
        env_vars={"PYTHONPATH": str(TORCH), "GLOO_SOCKET_IFNAME": "lo"},
    )
    job_id = executor.launch(Job("allreduce", config))
    status = wait_final(executor, job_id, 240)
    assert status.state == JobState.SUCCEEDED, list(executor.logs(job_id))
    seen = [json.loads((out / f"rank{r}.json").read_text()) for r in range(4)]
    assert {s["sum"] for s in seen} == {10.0}
    assert {s["world"] for s in seen} == {4}
    assert sorted(s["node"] for s in seen) == ["node1", "node1", "node2", "node2"]


def test_a_refused_job_leaves_nothing_on_the_cluster(tmp_path: Path, tunnel: Tunnel) -> None:
    """sbatch refuses the job (no such partition): one line saying why, no job folder left."""
    executor = _executor(tmp_path, tunnel, partition="nosuchpartition")
    with pytest.raises(ExecutorError, match=r"submitting the job failed: .*[Pp]artition"):
        _launch(executor, tmp_path, Partial(echo))
    if isinstance(tunnel, SSHTunnel):
        root = tunnel.resolve(tunnel.job_dir)
        assert [name for name in tunnel.listdir(root) if name != ".nrun"] == []
        assert tunnel.listdir(f"{root}/.nrun/uploads") == []


def test_cancelling_an_experiment_stops_every_job(tunnel: Tunnel) -> None:
    """Experiment.cancel stops running and queued jobs alike (one scancel for all of them)."""
    executor = SlurmExecutor(python=CLUSTER_PYTHON, tunnel=tunnel)
    with Experiment("stop-all", executor=executor) as exp:
        for i in range(3):
            exp.add(Partial(sleep, seconds=300.0), name=f"long-{i}")
        exp.run(detach=True)
        deadline = time.monotonic() + 60
        while exp.status()["long-0"] != JobState.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        while not all(exp._tasks[n].job_id for n in exp.tasks):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        ids = [exp._tasks[n].job_id for n in exp.tasks]
        exp.cancel()
    assert exp.status() == {f"long-{i}": JobState.CANCELLED for i in range(3)}
    queued = subprocess.run(
        ["squeue", "--noheader", f"--jobs={','.join(i or '' for i in ids)}"],
        capture_output=True,
        text=True,
    )
    assert queued.stdout.strip() == ""
