"""`nemotron kit squash PROFILE IMAGE`: the kit's squash, its dry run and its one-line errors."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

ENV_TOML = """
[cluster]
executor = "slurm"
account = "acct"
partition = "batch"
tunnel = "ssh"
host = "login.invalid"
user = "me"
remote_job_dir = "/lustre/me/jobs"

[laptop]
executor = "local"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "env.toml").write_text(ENV_TOML)
    return tmp_path


def test_dry_run_prints_the_job_and_contacts_nothing(nemotron: Run, project: Path) -> None:
    done = nemotron("kit", "squash", "cluster", "nvcr.io/nvidia/pytorch:25.01-py3", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "/lustre/me/jobs/containers/nvcr_io_nvidia_pytorch_25_01_py3.sqsh" in done.stdout
    assert "enroot import --output" in done.stdout
    forced = nemotron("kit", "squash", "cluster", "ubuntu:24.04", "-d", "--force")
    assert forced.returncode == 0 and "rm -f" in forced.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("laptop", "ubuntu:24.04"), "squash runs enroot through Slurm and needs executor"),
        (("clustr", "ubuntu:24.04"), "no profile 'clustr'. Did you mean 'cluster'?"),
        (("cluster", "bad image!", "-d"), "'bad image!' is not a container image reference"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    nemotron: Run, project: Path, args: tuple[str, ...], message: str
) -> None:
    done = nemotron("kit", "squash", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in project.iterdir()) == ["env.toml", "home"]
