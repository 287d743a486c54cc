"""Fixtures for tests that run jobs where only a Python with the kit installed can run them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def kit_venv_python() -> str:
    """The Python that jobs of the test cluster and containers run: the kit installed in it.

    Built by the repository's integration-tests/cluster-venv.sh from Debian's /usr/bin/python3,
    the interpreter of the cluster's nodes and of the test image alike.
    """
    script = ROOT / "integration-tests" / "cluster-venv.sh"
    if not script.is_file() or shutil.which("uv") is None:
        pytest.skip("needs the repository's integration-tests/cluster-venv.sh and uv")
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def docker_python(kit_venv_python: str) -> str:
    """`kit_venv_python`, where a Docker daemon with the test image answers; else skip."""
    pytest.importorskip("nrun.exec.docker", reason="nrun-exec-docker is not installed")
    if shutil.which("docker") is None:
        pytest.skip("no docker client; start the daemon with integration-tests/docker-up.sh")
    image = subprocess.run(
        ["docker", "image", "inspect", "nrun-test-python:bookworm"], capture_output=True
    )
    if image.returncode != 0:
        pytest.skip("no Docker daemon with the test image; run integration-tests/docker-up.sh")
    return kit_venv_python
