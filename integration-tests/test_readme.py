"""The root README's commands, as a user types them at the repository's root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def bash_lines() -> list[str]:
    return [
        line
        for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)
        for line in block.strip().splitlines()
    ]


def inline_commands() -> list[str]:
    return re.findall(r"`(uv run nemotron [^`]+)`", README)


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment with nemotron's and nrun's state in a fresh folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "NRUN_HOME"))}
    env.update(NEMOTRON_REGISTRY=str(tmp_path / "registry"), NRUN_HOME=str(tmp_path / "nrun"))
    # a user's shell: no test venv first on PATH (its python3 has no pip; `uv run` uses the
    # workspace's own venv)
    venv = env.pop("VIRTUAL_ENV", None)
    ours = {str(Path(sys.prefix) / "bin"), *([str(Path(venv) / "bin")] if venv else [])}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p not in ours)
    return env


def shell(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_main_job_ends_with_the_lineage_tree(user_env: dict[str, str], tmp_path: Path):
    (main,) = [line for line in bash_lines() if "nemotron recipe pipe" in line]
    done = shell(main, user_env)
    assert done.returncode == 0, done.stderr[-3000:]
    tree = done.stdout[done.stdout.rindex("Lineage of") :]
    for name in ("tiny-eval:v1", "tiny-sft:v1", "tiny-pretrain:v1", "tiny-tokens:v1"):
        assert name in tree
    assert "Traceback" not in done.stderr
    lineage, dry_run, helped = inline_commands()
    assert lineage == "uv run nemotron artifact lineage tiny-sft"
    shown = shell(lineage, user_env)
    assert shown.returncode == 0 and shown.stdout.startswith("tiny-sft:v1"), shown.stderr
    planned = shell(dry_run, user_env)
    assert planned.returncode == 0 and "iters: 50" in planned.stderr + planned.stdout
    listed = shell(helped, user_env)
    assert listed.returncode == 0
    for step in ("tokenize", "blend", "pretrain", "sft", "eval", "pipe"):
        assert step in listed.stdout


def test_the_pipeline_on_the_test_cluster_through_ssh(user_env: dict[str, str]):
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("with-services.sh starts the services as root with apt")
    (line,) = [line for line in bash_lines() if "on-the-test-cluster.sh" in line]
    done = shell(line, user_env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "via ssh://nrun@127.0.0.1:2222" in done.stderr
    tree = done.stdout[done.stdout.rindex("Lineage of") :]
    assert "tiny-eval:v" in tree and "tiny-tokens:v" in tree
    assert "/tmp/nrun-it/kit-venv/" in tree  # the corpus as the cluster's jobs read it


def test_nrun_examples_run(user_env: dict[str, str]):
    lines = [line for line in bash_lines() if line.startswith("uv run examples/")]
    runs = [line for line in lines if "--dryrun" not in line]
    assert len(runs) == 2
    for line in runs:
        done = shell(line, user_env)
        assert done.returncode == 0, (line, done.stderr[-3000:])
        assert "Traceback" not in done.stderr
        # the last line says where the launch is recorded, and that command shows it
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("Recorded: nrun experiment show "), (line, done.stderr[-2000:])
        shown = shell(f"uv run {last.removeprefix('Recorded: ')}", user_env)
        assert shown.returncode == 0 and "SUCCEEDED" in shown.stdout, shown.stderr[-2000:]


def test_nrun_dry_runs_show_the_request_and_launch_nothing(user_env: dict[str, str]):
    lines = [line for line in bash_lines() if line.startswith("uv run examples/")]
    dry = [line for line in lines if "--dryrun" in line]
    shows = ["Command for task train:", "Container for task train:", "sbatch script for task"]
    assert len(dry) == len(shows)
    for line, request in zip(dry, shows, strict=True):
        done = shell(line, user_env)
        assert done.returncode == 0, (line, done.stderr[-3000:])
        assert request in done.stdout, (line, done.stdout[-3000:])
        assert "Dry run for task task:train" in done.stdout
        assert not (Path(user_env["NRUN_HOME"]) / "experiments").exists()
    # the first executor a newcomer tries, without the field the README shows: one line
    no_image = shell(dry[1].replace(" run.executor.container_image=python:3.12-slim", ""), user_env)
    assert no_image.returncode == 2
    assert (
        no_image.stderr.strip()
        .splitlines()[-1]
        .endswith("container_image is required: set run.executor.container_image=IMAGE")
    ), no_image.stderr
    assert "Traceback" not in no_image.stderr
