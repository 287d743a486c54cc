"""Secrets are never readable by others: every file nrun writes, here or on a cluster, is private.

An executor's `env_vars` (API keys, tokens) land in `executor.yaml`, job scripts and logs. After a
real run on each executor, with a permissive umask, the test walks `$NRUN_HOME` (and the
cluster's job dir) and lists everything whose mode lets the group or others in.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.base import Executor, JobState
from nrun.exec.experiment import Experiment
from nrun.exec.probes import echo

IT_DIR = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it"))
IMAGE = "nrun-test-python:bookworm"
CLUSTER_PYTHON = "/usr/bin/python3"
SECRET = {"NRUN_TEST_TOKEN": "hunter2-not-for-others"}


@pytest.fixture(autouse=True)
def permissive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh `$NRUN_HOME` and umask 000: the modes are nrun's, not the umask's."""
    home = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(home))
    old = os.umask(0)
    yield home
    os.umask(old)


def open_to_others(root: Path) -> list[str]:
    """Every path under `root` (itself included) that the group or others may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        if mode & 0o077:
            found.append(f"{oct(mode & 0o777)} {path.relative_to(root.parent)}")
    return found


def run_one(executor: Executor, title: str) -> Experiment:
    with Experiment(title, executor=executor) as exp:
        exp.add(Partial(echo, message="private"), name="hello")
        exp.run()
    assert exp.status() == {"hello": JobState.SUCCEEDED}, exp.statuses()
    return exp


def test_a_local_run_leaves_only_owner_only_files(permissive: Path) -> None:
    from nrun.exec.local import LocalExecutor

    exp = run_one(LocalExecutor(env_vars=SECRET), "local")
    assert "private" in exp.logs("hello")
    assert (exp.dir / "tasks" / "hello" / "executor.yaml").is_file()
    assert open_to_others(permissive) == []


def test_a_detached_run_leaves_only_owner_only_files(permissive: Path) -> None:
    from nrun.exec.local import LocalExecutor

    with Experiment("detached", executor=LocalExecutor(env_vars=SECRET)) as exp:
        exp.add(Partial(echo, message="private"), name="hello")
        exp.run(detach=True)
    assert exp.wait(timeout=120) == {"hello": JobState.SUCCEEDED}
    assert (exp.dir / "orchestrator.log").is_file()
    assert open_to_others(permissive) == []


def docker_up() -> None:
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:
        pytest.skip(f"no Docker daemon with {IMAGE} ({exc}); run integration-tests/docker-up.sh")
    client.close()


def test_a_docker_run_leaves_only_owner_only_files(permissive: Path) -> None:
    docker_up()
    from nrun.exec.docker import DockerExecutor

    executor = DockerExecutor(
        container_image=IMAGE, network="none", stop_timeout=2, env_vars=SECRET
    )
    exp = run_one(executor, "docker")
    assert "private" in exp.logs("hello")
    assert open_to_others(permissive) == []


def slurm_up() -> None:
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["sinfo", "--noheader"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"Slurm is not up ({done.stderr.strip()}); run integration-tests/slurm-up.sh")


def test_a_slurm_run_on_the_login_node_leaves_only_owner_only_files(permissive: Path) -> None:
    slurm_up()
    from nrun.exec.slurm import LocalTunnel, SlurmExecutor

    executor = SlurmExecutor(python=CLUSTER_PYTHON, env_vars=SECRET, tunnel=LocalTunnel())
    exp = run_one(executor, "slurm-local")
    assert "private" in exp.logs("hello")
    assert open_to_others(permissive) == []


def test_a_slurm_run_over_ssh_leaves_only_owner_only_files_on_both_ends(
    permissive: Path, tmp_path: Path
) -> None:
    slurm_up()
    key, known = IT_DIR / "sshd" / "id_ed25519", IT_DIR / "sshd" / "known_hosts"
    if not key.exists() or not known.exists():
        pytest.skip("no SSH login node; start it with integration-tests/sshd-up.sh")
    from nrun.exec.slurm import SlurmExecutor, SSHTunnel

    folder = f"nrun-tests/private-{tmp_path.name}"
    tunnel = SSHTunnel(
        host="127.0.0.1",
        port=2222,
        user="nrun",
        identity=str(key),
        known_hosts=str(known),
        job_dir=folder,
    )
    try:
        executor = SlurmExecutor(python=CLUSTER_PYTHON, env_vars=SECRET, tunnel=tunnel)
        exp = run_one(executor, "slurm-ssh")
        assert "private" in exp.logs("hello")
        assert open_to_others(permissive) == []
        # on the login node, as its user sees it: the job dir and everything in it
        listing = tunnel.run(f"find {shlex.quote(folder)} -printf '%m %p\\n'").stdout
        entries = [line.split(" ", 1) for line in listing.splitlines() if line.strip()]
        assert any(path.endswith("executor.yaml") or "sbatch" in path for _, path in entries)
        assert [e for e in entries if int(e[0], 8) & 0o077] == []
    finally:
        tunnel.run(f"rm -rf {shlex.quote(folder)}")
