"""Dry-run previews of containers: the spec a launch would start, rendered with no daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nrun.config import Partial
from nrun.exec.base import ExecutorError, Job
from nrun.exec.docker import DockerExecutor
from nrun.exec.experiment import Experiment, preview

IMAGE = "nrun-test-python:bookworm"


def echo(message: str = "hi", api_key: str = "") -> None:
    print(message)


@pytest.fixture
def no_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any attempt to reach a daemon would fail: a preview must not try."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-daemon.sock'}")


@pytest.mark.usefixtures("no_daemon")
def test_the_container_spec_is_rendered_without_a_daemon_and_writes_nothing(
    tmp_path: Path, home: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    executor = DockerExecutor(
        container_image=IMAGE,
        workdir=str(tmp_path),
        volumes=[f"{data}:/data:ro"],
        env_vars={"HF_TOKEN": "hf-1", "MODE": "fast"},
        num_gpus=2,
        shm_size="1g",
    )
    task = Partial(echo, api_key="key-in-config-2", message="key-in-config-2")
    (shown,) = preview([("echo", task)], executor, name="look")
    assert not home.exists()
    assert (shown.task, shown.title, shown.language) == ("echo", "Container", "yaml")
    assert "hf-1" not in shown.text and "key-in-config-2" not in shown.text
    spec = yaml.safe_load(shown.text)
    assert spec["image"] == IMAGE
    assert spec["command"][-3:] == ["-m", "nrun.exec.task", "/nrun/job/task.yaml"]
    assert spec["working_dir"] == "/nrun/workdir"
    job_dir = spec["labels"]["nrun.job_dir"]
    assert job_dir.startswith(f"{home.resolve()}/experiments/look/look_")
    assert spec["mounts"] == [
        f"{job_dir}:/nrun/job:rw",
        f"{tmp_path.resolve()}:/nrun/workdir:rw",
        f"{data}:/data:ro",
    ]
    assert spec["environment"]["HF_TOKEN"] == "****"
    assert spec["environment"]["MODE"] == "fast"
    assert spec["environment"]["NRUN_TASK_NAME"] == "echo"
    assert (spec["num_gpus"], spec["shm_size"]) == (2, "1g")


@pytest.mark.parametrize("image", ["", "  "])
def test_a_missing_image_is_one_line_saying_how_to_set_it(image: str, home: Path) -> None:
    executor = DockerExecutor() if not image else DockerExecutor(container_image=image)
    with pytest.raises(ExecutorError) as info:
        executor.validate()
    assert str(info.value) == "container_image is required: set run.executor.container_image=IMAGE"
    with pytest.raises(ExecutorError):
        preview([("echo", Partial(echo))], executor)
    assert not home.exists()


@pytest.mark.usefixtures("daemon")
def test_the_preview_is_the_container_a_launch_starts(tmp_path: Path) -> None:
    """Image, command, folder, mounts and variables match the container the daemon ran."""
    import docker

    executor = DockerExecutor(
        container_image=IMAGE,
        workdir=str(tmp_path),
        network="none",
        cleanup=False,
        env_vars={"MODE": "fast"},
    )
    with Experiment("same", executor=executor) as exp:
        exp.add(Partial(echo), name="echo")
    task = exp._tasks["echo"]
    job = Job("echo", task.dir / "task.yaml", experiment_id=exp.id)
    spec = yaml.safe_load(task.executor.preview(job).text)
    exp.run()
    known = json.loads((Path(task.executor.job_dir) / "container.json").read_text())
    client = docker.from_env()
    container = client.containers.get(known["id"])
    try:
        config = container.attrs["Config"]
        assert config["Image"] == spec["image"]
        assert config["Cmd"] == spec["command"]
        assert config["WorkingDir"] == spec["working_dir"]
        assert config["Labels"] == spec["labels"]
        env = dict(item.split("=", 1) for item in config["Env"])
        assert {k: env[k] for k in spec["environment"]} == spec["environment"]
        binds = sorted(container.attrs["HostConfig"]["Binds"])
        assert binds == sorted(spec["mounts"])
        assert container.name.startswith(spec["name"].removesuffix("<id>"))
    finally:
        container.remove(force=True)
        client.close()
