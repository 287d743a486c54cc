"""DockerExecutor against a real daemon: the shared suite, mounts, labels, errors, experiments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nrun.config import Partial, dump
from nrun.exec.base import ExecutorError, Job, JobState
from nrun.exec.docker import DockerExecutor
from nrun.exec.experiment import Experiment
from nrun.exec.packaging import PatternPackager
from nrun.exec.testing import ExecutorTestSuite, wait_final

IMAGE = "nrun-test-python:bookworm"

JOBS = """
import json, os, sys

def read(path):
    print(open(path).read().strip(), flush=True)

def where():
    print(json.dumps({"cwd": os.getcwd(), "job": os.environ.get("NRUN_JOB_DIR"),
                      "task": os.environ.get("NRUN_TASK_NAME"),
                      "experiment": os.environ.get("NRUN_EXPERIMENT_ID")}), flush=True)
"""


def executor_at(tmp_path: Path, **fields: Any) -> DockerExecutor:
    fields.setdefault("job_dir", str(tmp_path / "job"))
    fields.setdefault("network", "none")
    fields.setdefault("stop_timeout", 2)
    return DockerExecutor(container_image=IMAGE, **fields)


def with_jobs(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "dockjobs.py").write_text(JOBS)
    return work


def launch(executor: DockerExecutor, target: str, **kwargs: Any) -> str:
    data = {"_target_": target, "_partial_": True, **kwargs}
    path = Path(executor.job_dir).parent / "task.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return executor.launch(Job("probe", path))


@pytest.mark.usefixtures("daemon")
class TestDockerExecutor(ExecutorTestSuite):
    timeout = 120.0

    @pytest.fixture
    def executor(self, tmp_path: Path) -> DockerExecutor:
        return executor_at(tmp_path)


# -- without a daemon --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"volumes": ["nocolon"]}, "bad volume 'nocolon'"),
        ({"volumes": ["/tmp:relative"]}, "the container path must be absolute"),
        ({"volumes": ["/tmp:/x:rx"]}, "the mode must be 'ro' or 'rw'"),
        ({"volumes": ["/no/such/dir:/x"]}, "'/no/such/dir' does not exist"),
        ({"ulimits": ["nofile"]}, "bad ulimit 'nofile'"),
        ({"num_gpus": 0}, "num_gpus must be -1 (all) or at least 1"),
        ({"nodes": 2}, "needs launcher='torchrun'"),
        ({"ntasks_per_node": 2}, "needs launcher='torchrun'"),
        ({"nodes": 2, "launcher": "torchrun"}, "needs a network the containers share"),
        ({"env_vars": {"1BAD": "x"}}, "invalid environment variable name '1BAD'"),
    ],
)
def test_bad_fields_are_one_line_before_anything_starts(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExecutorError) as info:
        executor_at(tmp_path, **fields).validate()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_unreachable_daemon_is_one_clear_line(tmp_path: Path) -> None:
    executor = executor_at(tmp_path, docker_host="unix:///tmp/nrun-no-daemon-here.sock")
    with pytest.raises(ExecutorError) as info:
        launch(executor, "nrun.exec.probes.echo")
    message = str(info.value)
    assert message.startswith("cannot reach the Docker daemon at unix:///tmp/nrun-no-daemon")
    assert "\n" not in message
    assert not (tmp_path / "job").exists()


def test_registered_as_docker() -> None:
    from nrun.exec.executors import executor_class

    assert executor_class("docker") is DockerExecutor


# -- with the daemon ---------------------------------------------------------------------------
@pytest.mark.usefixtures("daemon")
def test_a_missing_image_fails_before_anything_starts(tmp_path: Path) -> None:
    executor = DockerExecutor(container_image="nrun-no-such-image:1", job_dir=str(tmp_path / "job"))
    with pytest.raises(ExecutorError) as info:
        launch(executor, "nrun.exec.probes.echo")
    assert "image 'nrun-no-such-image:1' is not on the Docker daemon" in str(info.value)
    assert not (tmp_path / "job").exists()


@pytest.mark.usefixtures("daemon")
def test_volumes_and_workdir_are_visible_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "note.txt").write_text("mounted read-only")
    executor = executor_at(tmp_path, workdir=str(with_jobs(tmp_path)), volumes=[f"{data}:/data:ro"])
    job_id = launch(executor, "dockjobs.read", path="/data/note.txt")
    status = wait_final(executor, job_id, 120)
    assert status.state == JobState.SUCCEEDED, list(executor.logs(job_id))
    assert list(executor.logs(job_id)) == ["mounted read-only"]


@pytest.mark.usefixtures("daemon")
def test_labels_tie_the_container_to_its_experiment_and_task(tmp_path: Path) -> None:
    import docker

    executor = executor_at(tmp_path, workdir=str(with_jobs(tmp_path)), cleanup=False)
    exp = Experiment("labelled", executor=executor)
    exp.add(Partial(_where_stub()), name="where")
    exp.run()
    assert exp.status() == {"where": JobState.SUCCEEDED}
    client = docker.from_env()
    try:
        found = client.containers.list(all=True, filters={"label": f"nrun.experiment={exp.id}"})
        assert len(found) == 1
        assert found[0].labels["nrun.task"] == "where"
        seen = json.loads(exp.logs("where"))
        assert seen == {
            "cwd": "/nrun/workdir",
            "job": "/nrun/job",
            "task": "where",
            "experiment": exp.id,
        }
    finally:
        for container in found:
            container.remove(force=True)
        client.close()


def _where_stub() -> Any:
    """`dockjobs.where`, importable here too, so that `Experiment.add` can export it."""
    import importlib

    return importlib.import_module("dockjobs").where


@pytest.fixture(autouse=True)
def _dockjobs_importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(with_jobs(tmp_path)))
    sys.modules.pop("dockjobs", None)


@pytest.mark.usefixtures("daemon")
def test_runs_from_the_packaged_code(tmp_path: Path) -> None:
    work = with_jobs(tmp_path)
    executor = executor_at(tmp_path, workdir=str(work), packager=PatternPackager())
    job_id = launch(executor, "dockjobs.where")
    assert wait_final(executor, job_id, 120).state == JobState.SUCCEEDED
    assert json.loads(next(iter(executor.logs(job_id))))["cwd"] == "/nrun/job/code"


@pytest.mark.usefixtures("daemon")
def test_finished_containers_are_removed_and_their_output_kept(tmp_path: Path) -> None:
    import docker

    executor = executor_at(tmp_path)
    job_id = launch(executor, "nrun.exec.probes.echo", message="kept")
    assert wait_final(executor, job_id, 120).state == JobState.SUCCEEDED
    client = docker.from_env()
    try:
        assert client.containers.list(all=True, filters={"id": job_id}) == []
    finally:
        client.close()
    assert list(executor.logs(job_id)) == ["kept"]
    assert executor.status(job_id).state == JobState.SUCCEEDED


@pytest.mark.usefixtures("daemon")
def test_detached_experiment_followed_from_a_new_process(tmp_path: Path) -> None:
    executor = executor_at(tmp_path, job_dir="")
    exp = Experiment("docked", executor=executor)
    exp.add(Partial(_probe("sleep"), seconds=60.0), name="long")
    exp.run(detach=True)
    probe = (
        "import sys, time\n"
        "from nrun.exec.experiment import Experiment\n"
        "exp = Experiment.from_id(sys.argv[1])\n"
        "deadline = time.time() + 120\n"
        "while exp.status()['long'].value != 'RUNNING' and time.time() < deadline:\n"
        "    time.sleep(0.2)\n"
        "while 'line 0' not in exp.logs('long') and time.time() < deadline:\n"
        "    time.sleep(0.2)\n"
        "print(exp.logs('long'))\n"
        "exp.cancel('long')\n"
        "print(exp.wait(timeout=60)['long'].value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, exp.id], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["line", "0", "CANCELLED"]


def _probe(name: str) -> Any:
    from nrun.exec import probes

    return getattr(probes, name)


def test_the_exported_executor_rebuilds(tmp_path: Path) -> None:
    from nrun.config import build, load, to_buildable

    executor = executor_at(tmp_path, volumes=["/tmp:/host-tmp:ro"], ulimits=["nofile=64:128"])
    again = build(load(dump(to_buildable(executor), tmp_path / "executor.yaml")))
    assert again == executor


TORCH = Path(os.environ.get("NRUN_IT_CACHE", Path.home() / ".cache" / "nrun-it")) / "torch-2.13.0"


@pytest.mark.usefixtures("daemon")
def test_two_nodes_as_two_containers_all_reduce_over_a_private_network(tmp_path: Path) -> None:
    import docker

    if not (TORCH / "torch").is_dir():
        pytest.skip(f"torch for the containers is missing at {TORCH}: run docker-up.sh")
    executor = executor_at(
        tmp_path,
        network=None,
        workdir=str(with_jobs(tmp_path)),
        launcher="torchrun",
        nodes=2,
        volumes=[f"{TORCH}:/opt/torch:ro"],
        env_vars={"PYTHONPATH": "/opt/torch"},
    )
    job_id = launch(executor, "nrun.exec.probes.allreduce", out="/nrun/job")
    status = wait_final(executor, job_id, 180)
    assert status.state == JobState.SUCCEEDED, list(executor.logs(job_id))
    job_dir = Path(executor.job_dir)
    seen = [json.loads((job_dir / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["sum"] for s in seen] == [3.0, 3.0]
    assert [s["world"] for s in seen] == [2, 2]
    assert seen[0]["host"] != seen[1]["host"]  # two containers, not two processes in one
    log = list(executor.logs(job_id))
    assert any("rank 0 of 2: sum 3.0" in line for line in log)
    assert any(line.startswith("[node 1]") and "rank 1 of 2" in line for line in log)
    client = docker.from_env()
    try:  # the containers and their private network are gone
        mine = {"label": f"nrun.job_dir={job_dir.resolve()}"}
        assert client.containers.list(all=True, filters=mine) == []
        assert client.networks.list(filters=mine) == []
    finally:
        client.close()


@pytest.mark.usefixtures("daemon")
def test_two_ranks_in_one_container_through_torchrun(tmp_path: Path) -> None:
    if not (TORCH / "torch").is_dir():
        pytest.skip(f"torch for the containers is missing at {TORCH}: run docker-up.sh")
    executor = executor_at(
        tmp_path,
        workdir=str(with_jobs(tmp_path)),
        launcher="torchrun",
        ntasks_per_node=2,
        volumes=[f"{TORCH}:/opt/torch:ro"],
        # no network but loopback: gloo must be told to use it
        env_vars={"PYTHONPATH": "/opt/torch", "GLOO_SOCKET_IFNAME": "lo"},
    )
    job_id = launch(executor, "nrun.exec.probes.allreduce", out="/nrun/job")
    status = wait_final(executor, job_id, 90)
    assert status.state == JobState.SUCCEEDED, list(executor.logs(job_id))
    seen = [json.loads((Path(executor.job_dir) / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["sum"] for s in seen] == [3.0, 3.0]
    assert seen[0]["host"] == seen[1]["host"]  # one container


@pytest.mark.usefixtures("daemon")
def test_batch_status_is_one_listing_per_daemon_not_a_request_per_job(tmp_path: Path) -> None:
    """What `nrun experiment watch` and `Experiment.wait` ask each refresh: one request for all
    the live jobs of a daemon; a job that ended is inspected once, then answered from its dir."""
    executors = [executor_at(tmp_path / f"j{i}") for i in range(3)]
    sleeper = _probe("sleep")
    ids = []
    for i, executor in enumerate(executors):
        data = {"_target_": f"{sleeper.__module__}.{sleeper.__qualname__}", "_partial_": True}
        data["seconds"] = 0.1 if i == 0 else 60.0
        path = tmp_path / f"task{i}.json"
        path.write_text(json.dumps(data))
        ids.append(executor.launch(Job(f"t{i}", path)))
    pairs = list(zip(executors, ids, strict=True))
    assert wait_final(executors[0], ids[0], 120).state == JobState.SUCCEEDED
    api = executors[0]._client().api
    calls: list[str] = []
    for name in ("containers", "inspect_container"):
        real = getattr(api, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        setattr(api, name, counted)
    try:
        for _ in range(3):
            states = [s.state for s in DockerExecutor.batch_status(pairs)]
            assert states == [JobState.SUCCEEDED, JobState.RUNNING, JobState.RUNNING]
        assert calls == ["containers"] * 3  # the ended job: from its kept outcome
        DockerExecutor.batch_cancel(pairs[1:])
        calls.clear()
        final = [s.state for s in DockerExecutor.batch_status(pairs)]
        assert final == [JobState.SUCCEEDED, JobState.CANCELLED, JobState.CANCELLED]
        assert calls.count("containers") <= 1 and calls.count("inspect_container") <= 2
    finally:
        for name in ("containers", "inspect_container"):
            delattr(api, name)
