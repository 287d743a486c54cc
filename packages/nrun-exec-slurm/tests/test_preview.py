"""Dry-run previews: the sbatch script a launch would submit, asking the cluster nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nrun.config import Partial, dump
from nrun.exec.base import ExecutorError, Job, JobState
from nrun.exec.experiment import preview
from nrun.exec.probes import echo
from nrun.exec.runtime import runtime_name
from nrun.exec.slurm import LocalTunnel, ScriptPaths, SlurmExecutor, SSHTunnel, Tunnel
from nrun.exec.slurm._submit import SCRIPT
from nrun.exec.testing import wait_final

CLUSTER_PYTHON = "/usr/bin/python3"


def train(lr: float = 0.1, password: str = "") -> None:
    """A task whose config holds a secret."""


def unreachable() -> SSHTunnel:
    """A login node nobody listens on: connecting would fail the test at once."""
    return SSHTunnel(host="127.0.0.1", port=9, user="nobody", retries=0, connect_timeout=1)


def test_the_script_is_rendered_without_connecting_or_writing(home: Path) -> None:
    tunnel = unreachable()
    executor = SlurmExecutor(
        partition="debug",
        env_vars={"HF_TOKEN": "hf-1", "MODE": "a b"},
        tunnel=tunnel,
        python=CLUSTER_PYTHON,
    )
    (shown,) = preview([("train", Partial(train, password="pw-in-config"))], executor, name="dry")
    assert not home.exists()
    assert (tunnel.stats.connections, tunnel.stats.round_trips) == (0, 0)
    assert (shown.task, shown.title, shown.language) == ("train", "sbatch script", "bash")
    assert "hf-1" not in shown.text and "pw-in-config" not in shown.text
    assert "export HF_TOKEN='****'\n" in shown.text
    assert "export MODE='a b'\n" in shown.text
    assert "#SBATCH --partition=debug\n" in shown.text
    # the home folder is not known before connecting: it shows as <home>
    run = shown.text.rsplit("\n", 2)[-2]
    assert run.startswith(f"srun {CLUSTER_PYTHON} -m nrun.exec.task '<home>/nrun/jobs/dry_")
    assert run.endswith("/train/task.yaml'")
    assert f"<home>/nrun/jobs/.nrun/{runtime_name()}" in shown.text


def test_the_script_is_the_renderer_s_for_the_paths_a_launch_uses(
    home: Path, tmp_path: Path
) -> None:
    """An absolute job_dir on the cluster: every path is known without asking."""
    tunnel = unreachable()
    tunnel.job_dir = "/scratch/jobs"
    executor = SlurmExecutor(tunnel=tunnel, job_dir=str(tmp_path / "local"), time="10")
    job = Job("t", tmp_path / "t.yaml", experiment_id="exp-1")
    remote = "/scratch/jobs/exp-1/t"
    paths = ScriptPaths(
        remote, f"{remote}/task.yaml", f"/scratch/jobs/.nrun/{runtime_name()}", remote
    )
    assert executor.preview(job).text == executor._script(job, paths)
    assert not (tmp_path / "local").exists() and not home.exists()
    assert tunnel.stats.connections == 0


def test_a_bad_field_fails_the_preview_as_it_would_the_launch(home: Path) -> None:
    executor = SlurmExecutor(time="soon", tunnel=unreachable())
    with pytest.raises(ExecutorError, match="time='soon' is not a Slurm time"):
        preview([("train", Partial(train))], executor)
    assert not home.exists()


@pytest.fixture(params=["local", "ssh"])
def tunnel(request: pytest.FixtureRequest) -> Tunnel:
    """Both ways to a cluster (the SSH one has found its home folder, as a launch does)."""
    request.getfixturevalue("cluster")
    if request.param == "local":
        return LocalTunnel()
    return request.getfixturevalue("ssh_tunnel")  # type: ignore[no-any-return]


def test_the_preview_is_the_script_a_real_launch_submits(tmp_path: Path, tunnel: Tunnel) -> None:
    secret = "hf-secret-9"
    executor = SlurmExecutor(
        job_dir=str(tmp_path / "job"),
        python=CLUSTER_PYTHON,
        tunnel=tunnel,
        env_vars={"HF_TOKEN": secret, "MODE": "a b"},
        setup_lines=["echo setting up"],
        retries=1,
    )
    config = dump(Partial(echo, message="hi"), tmp_path / "echo.yaml")
    job = Job("echo", config, experiment_id="e1")
    shown = executor.preview(job)
    assert not (tmp_path / "job").exists()
    job_id = executor.launch(job)
    assert wait_final(executor, job_id, timeout=120).state == JobState.SUCCEEDED
    submitted = (tmp_path / "job" / SCRIPT).read_text()
    assert secret in submitted
    assert shown.text == submitted.replace(f"HF_TOKEN={secret}\n", "HF_TOKEN='****'\n")
    assert os.path.isabs(shown.text.split("--output=")[1].split("/slurm-")[0])
