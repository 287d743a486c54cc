"""The Docker daemon and image the tests need, started by `integration-tests/docker-up.sh`."""

from __future__ import annotations

from pathlib import Path

import pytest

IMAGE = "nrun-test-python:bookworm"


@pytest.fixture(scope="session")
def daemon() -> None:
    """Skip (saying how to start one) when no daemon answers or the test image is missing."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        pytest.skip(f"no Docker daemon ({exc}); start one with integration-tests/docker-up.sh")
    try:
        client.images.get(IMAGE)
    except ImageNotFound:
        pytest.skip(f"image {IMAGE} missing; build it with integration-tests/docker-up.sh")
    finally:
        client.close()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Experiments are recorded under the test's own `$NRUN_HOME`."""
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path
