"""The real Slurm cluster and SSH login node the tests use, started by `integration-tests/`.

`integration-tests/slurm-up.sh` starts munge, MariaDB, slurmdbd, slurmctld and two slurmd
nodes on loopback; `integration-tests/sshd-up.sh` an sshd on 127.0.0.1:2222 whose user `nrun`
logs in with a key. Tests that need them skip (saying how to start them) when they are down.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrun.exec.slurm import SSHTunnel

IT_DIR = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it"))
SSH_DIR = IT_DIR / "sshd"


@pytest.fixture(scope="session")
def cluster() -> None:
    """Skip unless the test cluster answers `sinfo` with its two nodes."""
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(
        ["sinfo", "--noheader", "--Node", "--format=%N"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or "node2" not in done.stdout:
        reason = (done.stderr.strip().splitlines() or ["node2 missing"])[0]
        pytest.skip(f"Slurm is not up ({reason}); start it with integration-tests/slurm-up.sh")


@pytest.fixture(scope="session")
def login_node(cluster: None) -> dict[str, str | int]:
    """How to reach the SSH login node: skip when sshd-up.sh has not run."""
    key = SSH_DIR / "id_ed25519"
    known = SSH_DIR / "known_hosts"
    if not key.exists() or not known.exists():
        pytest.skip("no SSH login node; start it with integration-tests/sshd-up.sh")
    return {
        "host": "127.0.0.1",
        "port": 2222,
        "user": "nrun",
        "identity": str(key),
        "known_hosts": str(known),
    }


@pytest.fixture
def ssh_tunnel(login_node: dict[str, str | int], tmp_path: Path) -> Iterator[SSHTunnel]:
    """A tunnel to the login node whose jobs go to a folder of this test, removed after it."""
    folder = f"nrun-tests/{tmp_path.name}"
    tunnel = SSHTunnel(job_dir=folder, **login_node)  # type: ignore[arg-type]
    try:
        tunnel.home()
    except Exception as exc:
        pytest.skip(f"the SSH login node does not answer ({exc}); run integration-tests/sshd-up.sh")
    yield tunnel
    tunnel.run(f"rm -rf {shlex.quote(folder)}")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Experiments are recorded under the test's own `$NRUN_HOME`."""
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path
