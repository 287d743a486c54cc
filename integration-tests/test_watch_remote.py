"""`nrun experiment watch` on Docker and Slurm experiments launched detached by another process.

Services: `integration-tests/docker-up.sh` (a daemon and the image `nrun-test-python:bookworm`)
and `slurm-up.sh` (the loopback cluster, reached with the local tunnel); each test skips with
the reason when its service does not answer. Remote logs are read a few per refresh, so the
last lines come from `Executor.logs` (the daemon, the cluster's files), not from a local file.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from nrun.config import Partial
from nrun.exec.base import Executor
from nrun.exec.experiment import Experiment
from nrun.exec.probes import fail, sleep
from nrun.exec.watch import watch

IMAGE = os.environ.get("NRUN_IT_IMAGE", "nrun-test-python:bookworm")
CLUSTER_PYTHON = "/usr/bin/python3"
EVENT = re.compile(r"\d\d:\d\d:\d\d (\S+) ([A-Z]+)")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path


@pytest.fixture
def docker_daemon() -> None:
    """Skip unless a daemon answers and has the test image."""
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker daemon ({exc}); start one with integration-tests/docker-up.sh")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"image {IMAGE} missing; build it with integration-tests/docker-up.sh")
    finally:
        client.close()


@pytest.fixture
def cluster() -> None:
    """Skip unless the test cluster answers `sinfo` with its two nodes."""
    pytest.importorskip("nrun.exec.slurm")
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    query = ["sinfo", "--noheader", "--Node", "--format=%N"]
    done = subprocess.run(query, capture_output=True, text=True, check=False)
    if done.returncode != 0 or "node2" not in done.stdout:
        pytest.skip("Slurm is not up; start it with integration-tests/slurm-up.sh")


@pytest.fixture
def started() -> Iterator[list[Experiment]]:
    found: list[Experiment] = []
    yield found
    for experiment in found:
        experiment.cancel()
        experiment.wait(120)


def watched(executor: Executor, started: list[Experiment]) -> tuple[int, str, Experiment]:
    """Watch (not on a terminal) a detached experiment: a sleeper, then a task that fails."""
    experiment = Experiment("watched", executor=executor)
    experiment.add(Partial(sleep, seconds=3.0, lines=3), name="sleeper")
    broken = Partial(fail, code=3, message="failed on purpose")
    experiment.add(broken, name="broken", dependencies=["sleeper"])
    experiment.run(detach=True)
    started.append(experiment)
    out = io.StringIO()
    code = watch(experiment.id, console=Console(file=out, width=200), interval=0.5)
    return code, out.getvalue(), experiment


def check(code: int, text: str, last: str) -> None:
    """Exit 1, the changes in order, and the final table with each task's last line."""
    assert code == 1, text
    events = [m.groups() for line in text.splitlines() if (m := EVENT.fullmatch(line))]
    assert events.index(("sleeper", "RUNNING")) < events.index(("sleeper", "SUCCEEDED"))
    assert events.index(("sleeper", "SUCCEEDED")) < events.index(("broken", "FAILED"))
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│")}
    assert "SUCCEEDED" in rows["sleeper"] and "done" in rows["sleeper"], text
    assert "FAILED" in rows["broken"] and "│ 3 " in rows["broken"], text
    assert last in rows["broken"], text


@pytest.mark.usefixtures("docker_daemon")
def test_watch_a_docker_experiment(started: list[Experiment]) -> None:
    from nrun.exec.docker import DockerExecutor

    executor = DockerExecutor(container_image=IMAGE, network="none", stop_timeout=2)
    code, text, _ = watched(executor, started)
    check(code, text, "failed on purpose")
    assert "docker" in text


@pytest.mark.usefixtures("cluster")
def test_watch_a_slurm_experiment(started: list[Experiment]) -> None:
    from nrun.exec.slurm import LocalTunnel, SlurmExecutor
    from nrun.exec.slurm._poller import FIRST, poller

    asked = poller(LocalTunnel()).queries  # this process's: the watch's, not the launcher's
    began = time.monotonic()
    code, text, experiment = watched(SlurmExecutor(python=CLUSTER_PYTHON), started)
    took = time.monotonic() - began
    check(code, text, "Exited with exit code 3")  # srun's line comes last in the job's log
    queries = poller(LocalTunnel()).queries - asked
    print(f"watch: {queries} squeue/sacct queries in {took:.1f} s (refreshing every 0.5 s)")
    assert 1 <= queries <= took / FIRST + 1  # the cluster's poller, never a query per task
    job_ids = [Experiment.from_id(experiment.id)._tasks[n].job_id for n in ("sleeper", "broken")]
    assert all(job_id and job_id in text for job_id in job_ids)  # the Slurm job ids
