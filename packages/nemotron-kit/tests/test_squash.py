"""`squash`: squash-file names, the job's script, dry runs, and the no-enroot error on Slurm."""

from __future__ import annotations

import io
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from nemotron.kit.cli.squash import (
    SquashError,
    container_to_sqsh_name,
    enroot_uri,
    squash,
    squash_command,
    squash_path,
)
from nemotron.kit.exceptions import KitError, RunProfileError
from nemotron.kit.run import RunConfig


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root as the cwd, with a private `$NRUN_HOME`."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun-home"))
    for name in ("WANDB_API_KEY", "HF_TOKEN", "NVIDIA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return root


def env_toml(project: Path, text: str) -> None:
    (project / "env.toml").write_text(textwrap.dedent(text))


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, color_system=None), buffer


def experiments(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "nrun-home" / "experiments").glob("*/*"))


# -- names and commands ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("nvcr.io/nvidian/nemo:25.11-nano-v3.rc2", "nvcr_io_nvidian_nemo_25_11_nano_v3_rc2.sqsh"),
        ("rayproject/ray:nightly-extra-py312-cpu", "rayproject_ray_nightly_extra_py312_cpu.sqsh"),
        ("ubuntu", "ubuntu.sqsh"),
        ("docker://ubuntu:22.04", "ubuntu_22_04.sqsh"),
        ("reg:5000/a/b@sha256:abc", "reg_5000_a_b_sha256_abc.sqsh"),
        ("--a__b--", "a_b.sqsh"),
    ],
)
def test_sqsh_names(image: str, name: str):
    assert container_to_sqsh_name(image) == name


def test_an_image_without_letters_has_no_name():
    with pytest.raises(SquashError, match="is not a container image"):
        container_to_sqsh_name(":/:")


@pytest.mark.parametrize(
    ("image", "uri"),
    [
        ("nvcr.io/nvidia/pytorch:24.01-py3", "docker://nvcr.io#nvidia/pytorch:24.01-py3"),
        ("localhost:5000/x:1", "docker://localhost:5000#x:1"),
        ("library/ubuntu:22.04", "docker://library/ubuntu:22.04"),
        ("ubuntu", "docker://ubuntu"),
        ("nvcr.io#nvidia/x", "docker://nvcr.io#nvidia/x"),
        ("docker://ubuntu", "docker://ubuntu"),
    ],
)
def test_enroot_uris(image: str, uri: str):
    assert enroot_uri(image) == uri


def test_the_target_is_under_remote_job_dir_or_home():
    image = "nvcr.io/nvidia/x:1"
    assert squash_path(RunConfig(executor="slurm"), image) == "~/containers/nvcr_io_nvidia_x_1.sqsh"
    config = RunConfig(executor="slurm", remote_job_dir="/lustre/me/jobs/")
    assert squash_path(config, image) == "/lustre/me/jobs/containers/nvcr_io_nvidia_x_1.sqsh"


def test_the_job_script_checks_for_enroot_first_and_quotes_paths():
    script = squash_command("ubuntu:22.04", "/data/my dir/containers/u.sqsh")
    lines = script.splitlines()
    assert lines[0] == "set -e"
    assert lines[1].startswith("command -v enroot >/dev/null 2>&1 || {")
    assert (
        lines[-1] == "enroot import --output '/data/my dir/containers/u.sqsh' docker://ubuntu:22.04"
    )
    assert "rm -f" not in script
    forced = squash_command("ubuntu", "~/containers/u.sqsh", force=True)
    assert 'rm -f "$HOME"/containers/u.sqsh' in forced
    assert 'mkdir -p "$HOME"/containers' in forced
    # the script runs: a shell parses it (dash -n)
    subprocess.run(["/bin/sh", "-n", "-c", forced], check=True)


# -- profiles and dry runs ------------------------------------------------------------------------
SLURM_SSH = """
[far]
executor = "slurm"
tunnel = "ssh"
host = "203.0.113.7"
user = "nobody"
remote_job_dir = "/scratch/nobody/jobs"
account = "acct"

[dev]
executor = "local"
"""


def test_dry_run_prints_the_command_and_submits_nothing(project: Path, tmp_path: Path):
    env_toml(project, SLURM_SSH)
    out, buffer = console()
    # an unreachable host (TEST-NET-3): a dry run never connects
    assert squash("far", "nvcr.io/nvidia/pytorch:24.01-py3", dry_run=True, console=out) == 0
    text = buffer.getvalue()
    target = "/scratch/nobody/jobs/containers/nvcr_io_nvidia_pytorch_24_01_py3.sqsh"
    assert f"Dry run: would squash nvcr.io/nvidia/pytorch:24.01-py3 into\n  {target}" in text
    assert f"enroot import --output {target} 'docker://nvcr.io#nvidia/pytorch:24.01-py3'" in text
    assert experiments(tmp_path) == []


def test_dry_run_with_force_shows_the_removal(project: Path):
    env_toml(project, SLURM_SSH)
    out, buffer = console()
    assert squash("far", "ubuntu", dry_run=True, force=True, console=out) == 0
    assert "rm -f /scratch/nobody/jobs/containers/ubuntu.sqsh" in buffer.getvalue()


@pytest.mark.parametrize(
    ("profile", "image", "error", "expected"),
    [
        ("dev", "ubuntu", RunProfileError, "profile 'dev': squash runs enroot through Slurm"),
        ("nope", "ubuntu", RunProfileError, "no profile 'nope'"),
        ("far", "ubu ntu", SquashError, "'ubu ntu' is not a container image reference"),
        ("far", "-rf", SquashError, "'-rf' is not a container image reference"),
        ("far", "", SquashError, "'' is not a container image reference"),
    ],
)
def test_bad_input_is_one_line(
    project: Path,
    tmp_path: Path,
    profile: str,
    image: str,
    error: type[KitError],
    expected: str,
):
    env_toml(project, SLURM_SSH)
    out, _ = console()
    with pytest.raises(error) as exc:
        squash(profile, image, dry_run=True, console=out)
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)
    assert isinstance(exc.value, KitError)
    assert experiments(tmp_path) == []


# -- on the Slurm test cluster (integration-tests/slurm-up.sh) ------------------------------------
def slurm_is_up() -> None:
    """Skip unless the test cluster answers `sinfo` with its nodes."""
    pytest.importorskip("nrun.exec.slurm", reason="nrun-exec-slurm is not installed")
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["sinfo", "--noheader", "--format=%N"], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        reason = (done.stderr.strip().splitlines() or ["no nodes"])[0]
        pytest.skip(f"Slurm is not up ({reason}); start it with integration-tests/slurm-up.sh")


def login_node_profile(project: Path, remote: Path) -> None:
    env_toml(
        project,
        f"""
        [cluster]
        executor = "slurm"
        tunnel = "local"
        remote_job_dir = "{remote}"
        time = "00:05:00"
        container_image = "nvcr.io/nvidia/nemo:25.01"
        nodes = 2
        """,
    )


def test_an_existing_file_is_kept_without_a_job(project: Path, tmp_path: Path):
    pytest.importorskip("nrun.exec.slurm", reason="nrun-exec-slurm is not installed")
    remote = tmp_path / "remote"
    login_node_profile(project, remote)
    target = remote / "containers" / "ubuntu_22_04.sqsh"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"squashed")
    out, buffer = console()
    assert squash("cluster", "ubuntu:22.04", console=out) == 0
    assert f"{target} is there already" in buffer.getvalue()
    assert experiments(tmp_path) == []


def test_no_enroot_on_the_cluster_is_one_clear_error(project: Path, tmp_path: Path):
    slurm_is_up()
    if shutil.which("enroot") is not None:
        pytest.skip("this cluster has enroot; the test is of one without it")
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment

    remote = tmp_path / "remote"
    login_node_profile(project, remote)
    out, buffer = console()
    with pytest.raises(SquashError) as exc:
        squash("cluster", "ubuntu:22.04", console=out)
    message = str(exc.value)
    assert message.startswith("enroot is not installed on the cluster's compute nodes (node")
    assert "\n" not in message
    assert "experiment squash_" in buffer.getvalue()
    assert not (remote / "containers").exists()  # the check comes first: nothing is made

    # it was one Slurm job of an nrun experiment, recorded as failed
    (record,) = Experiment.list("squash")
    experiment = Experiment.from_id(str(record["id"]))
    assert experiment.tasks == ["enroot-import"]
    assert experiment.status() == {"enroot-import": JobState.FAILED}
    assert "enroot: command not found on node" in experiment.logs("enroot-import")

    # --force on an existing file: the same error, and the file is left alone
    target = remote / "containers" / "ubuntu_22_04.sqsh"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    with pytest.raises(SquashError, match="enroot is not installed"):
        squash("cluster", "ubuntu:22.04", force=True, console=out)
    assert target.read_bytes() == b"old"
