"""`@recipe` commands through typer's CliRunner and as real processes: config, artifacts, runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nemotron.registry import ArtifactRegistry

SCRIPT = """
import json, os, sys
from dataclasses import dataclass, field
from pathlib import Path
from nemotron.kit import Artifact
from nemotron.kit.train_script import parse_config_and_overrides


@dataclass
class Train:
    iters: int = 1
    lr: float = 0.1
    data_path: str | None = None
    out: str = "out"
    api_token: str = ""


argv = [a for a in sys.argv[1:] if a != "--extra-flag"]  # the script's own flag
cfg = parse_config_and_overrides(Train, config_file=None, argv=argv)
report = {"iters": cfg.iters, "lr": cfg.lr, "data_path": cfg.data_path, "argv": sys.argv[1:]}
Path(os.environ["RECIPE_REPORT"]).write_text(json.dumps(report))
out = Path(cfg.out)
out.mkdir(parents=True, exist_ok=True)
(out / "model.txt").write_text(str(cfg.iters))
Artifact(path=out).save(name="recipe-model")
"""

APP = '''
import typer
from nemotron.kit.cli import RECIPE_CONTEXT_SETTINGS, global_callback, recipe

app = typer.Typer(callback=global_callback)


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe("demo/train", script_path="train.py", config_dir="config",
        artifacts={"data": "recipe-data:latest"}, torchrun=False)
def train(ctx: typer.Context) -> None:
    """Train the demo model."""


@app.command()
def other() -> None:
    """Another command, so typer keeps subcommands."""


if __name__ == "__main__":
    app()
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    (root / "train.py").write_text(SCRIPT)
    (root / "recipe_app.py").write_text(APP)
    (root / "config" / "default.yaml").write_text(
        "iters: 2\nlr: 0.5\napi_token: none\ndata_path: ${art:data,path}\nout: "
        + str(tmp_path / "out")
        + "\n"
    )
    (root / "config" / "tiny.yaml").write_text(
        "iters: 1\nlr: 0.5\ndata_path: ${art:data,path}\nout: " + str(tmp_path / "out") + "\n"
    )
    (root / "env.toml").write_text(
        textwrap.dedent(
            """
            [here]
            executor = "local"
            env_vars = ["TEAM_API_TOKEN=tok-secret-123", "GREETING=hi"]
            """
        )
    )
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun"))
    monkeypatch.setenv("RECIPE_REPORT", str(tmp_path / "report.json"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "tokens.txt").write_text("1 2 3")
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    registry.publish("recipe-data", data, metadata={"type": "Artifact"})
    registry.publish("recipe-data", data, metadata={"type": "Artifact"})
    return root


def app():  # the project's app, imported fresh for each test
    import importlib

    sys.modules.pop("recipe_app", None)
    return importlib.import_module("recipe_app").app


def report(tmp_path: Path) -> dict[str, object]:
    import json

    return json.loads((tmp_path / "report.json").read_text())


def job_dirs(project: Path) -> list[Path]:
    jobs = project / ".nemotron" / "jobs"
    return sorted(jobs.iterdir()) if jobs.exists() else []


def test_local_run_writes_provenance_and_binds_the_latest_artifact(project: Path, tmp_path: Path):
    result = CliRunner().invoke(app(), ["train", "iters=3", "--extra-flag"])
    assert result.exit_code == 0, result.output
    got = report(tmp_path)
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    v2 = registry.download("recipe-data", 2)
    assert got["iters"] == 3 and got["lr"] == 0.5
    assert Path(str(got["data_path"])) == v2
    assert got["argv"][-1] == "--extra-flag"  # type: ignore[index]
    (job,) = job_dirs(project)
    assert oct(job.stat().st_mode & 0o777) == "0o700"
    job_yaml = yaml.safe_load((job / "job.yaml").read_text())
    train_yaml = yaml.safe_load((job / "train.yaml").read_text())
    assert train_yaml["run"] == {"data": "recipe-data:v2"}
    assert train_yaml["iters"] == 3 and "cli" not in train_yaml["run"]
    assert job_yaml["run"]["recipe"]["name"] == "demo/train"
    assert job_yaml["run"]["mode"] == "local" and job_yaml["run"]["data"] == "recipe-data:v2"
    assert job_yaml["run"]["cli"]["dotlist"] == ["iters=3"]
    for name in ("job.yaml", "train.yaml"):
        assert oct((job / name).stat().st_mode & 0o777) == "0o600"
    model = registry.resolve("recipe-model")
    assert model.inputs == ["art://recipe-data:v2"]


def test_options_after_the_subcommand_and_rebinding(project: Path, tmp_path: Path):
    runner = CliRunner()
    assert runner.invoke(app(), ["train", "-c", "tiny", "run.data=recipe-data:v1"]).exit_code == 0
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert Path(str(report(tmp_path)["data_path"])) == registry.download("recipe-data", 1)
    assert report(tmp_path)["iters"] == 1
    result = runner.invoke(app(), ["-c", "tiny", "train", "--art.data", "recipe-data:v1"])
    assert result.exit_code == 0, result.output
    assert registry.resolve("recipe-model").inputs == ["art://recipe-data:v1"]


def test_dry_run_masks_secrets_and_writes_nothing(project: Path, tmp_path: Path):
    result = CliRunner().invoke(
        app(), ["train", "-d", "--run", "here", "api_token=tok-cli-456", "iters=9"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "iters: 9" in out and "TEAM_API_TOKEN=****" in out and "api_token: '****'" in out
    assert "tok-secret-123" not in out and "tok-cli-456" not in out
    assert job_dirs(project) == [] and not (tmp_path / "report.json").exists()
    assert not (tmp_path / "nrun").exists()


BAD = [
    (["train", "--run", "here", "--batch", "here"], "cannot both be given"),
    (["train", "--stage"], "--stage needs a profile"),
    (["train", "-c", "tiyn"], "unknown config 'tiyn'"),
    (["train", "-c", "tiyn"], "Did you mean 'tiny'?"),
    (["train", "--run", "nowhere"], "nowhere"),
    (["train", "run.data=no-such-data:latest"], "no artifact named 'no-such-data'"),
    (["train", "run.data=recipe-data:v9"], "recipe-data"),
    (["train", "run.dta=recipe-data:v1"], "Did you mean 'data'?"),
    (["train", "itres=3"], "Did you mean 'iters'?"),
    (["train", "--config"], "--config needs a value"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_command_lines_are_one_line_and_write_nothing(
    project: Path, tmp_path: Path, argv: list[str], message: str
):
    result = CliRunner().invoke(app(), argv)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert job_dirs(project) == [] and not (tmp_path / "nrun").exists()


def test_a_profile_runs_the_script_as_an_nrun_experiment(project: Path, tmp_path: Path):
    result = CliRunner().invoke(app(), ["train", "--run", "here", "iters=4"])
    assert result.exit_code == 0, result.output
    assert report(tmp_path)["iters"] == 4
    from nrun.exec.experiment import Experiment

    (listed,) = Experiment.list("demo-train")
    exp = Experiment.from_id(listed["id"])
    assert {k: str(v) for k, v in exp.status().items()} == {"train": "SUCCEEDED"}
    (job,) = job_dirs(project)  # the kit's records mask it (nrun's store: issue 12)
    assert "tok-secret-123" not in (job / "job.yaml").read_text()
    assert "TEAM_API_TOKEN=****" in (job / "job.yaml").read_text()


def test_a_failing_script_gives_its_exit_code_as_a_real_process(project: Path, tmp_path: Path):
    (project / "train.py").write_text("import sys\nsys.exit(5)\n")
    done = subprocess.run(
        [sys.executable, "recipe_app.py", "train"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project)},
        check=False,
    )
    assert done.returncode == 5, done.stderr
    done = subprocess.run(
        [sys.executable, "recipe_app.py", "train", "-b", "here", "-r", "here"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot both be given" in done.stderr


def test_a_docker_profile_runs_the_recipe_in_a_container(
    project: Path, tmp_path: Path, docker_python: str
):
    python = docker_python
    venv = str(Path(python).parents[1])
    (project / "env.toml").write_text(
        textwrap.dedent(
            f"""
            [box]
            executor = "docker"
            container_image = "nrun-test-python:bookworm"
            network = "none"
            python = "{python}"
            mounts = ["{venv}:{venv}:ro", "{tmp_path}:{tmp_path}"]
            env_vars = ["RECIPE_REPORT={tmp_path / "report.json"}"]
            """
        )
    )
    result = CliRunner().invoke(app(), ["train", "--run", "box", "iters=6"])
    assert result.exit_code == 0, result.output
    assert report(tmp_path)["iters"] == 6
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert registry.resolve("recipe-model").inputs == ["art://recipe-data:v2"]
    from nrun.exec.experiment import Experiment

    (listed,) = Experiment.list("demo-train")
    exp = Experiment.from_id(listed["id"])
    assert {k: str(v) for k, v in exp.status().items()} == {"train": "SUCCEEDED"}
    executor = (Path(exp.dir) / "tasks" / "train" / "executor.yaml").read_text()
    assert "DockerExecutor" in executor


def test_stage_puts_the_job_on_the_cluster_and_it_runs_there(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kit_venv_python: str
):
    """`--stage` on an SSH profile: the files land on the login node; the command shown runs."""
    import re
    import shlex
    import shutil
    import uuid

    pytest.importorskip("nrun.exec.slurm", reason="nrun-exec-slurm is not installed")
    ssh = Path("/tmp/nrun-it/sshd")
    if not (ssh / "id_ed25519").exists():
        pytest.skip("no SSH login node; start it with integration-tests/sshd-up.sh")
    python = kit_venv_python
    # the job runs as the login node's user: its registry and outputs are that user's
    home = Path("/home/nrun") / f"stage-test-{uuid.uuid4().hex[:8]}"
    registry = home / "registry"
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(registry))
    (tmp_path / "data.txt").write_text("tokens")
    ArtifactRegistry(str(registry)).publish("recipe-data", tmp_path / "data.txt")
    shutil.chown(home, "nrun", "nrun")
    for path in home.rglob("*"):
        shutil.chown(path, "nrun", "nrun")
    (project / "env.toml").write_text(
        textwrap.dedent(
            f"""
            [login]
            executor = "slurm"
            tunnel = "ssh"
            host = "127.0.0.1"
            port = 2222
            user = "nrun"
            identity = "{ssh / "id_ed25519"}"
            known_hosts = "{ssh / "known_hosts"}"
            python = "{python.strip()}"
            """
        )
    )
    try:
        argv = ["train", "--stage", "--run", "login", "iters=2", f"out={home / 'out'}"]
        result = CliRunner().invoke(app(), argv)
        assert result.exit_code == 0, result.output
        found = re.search(r"under srun --pty\): (.+)$", result.output, re.M)
        assert found is not None, result.output
        command = found.group(1).strip()
        assert "/home/nrun/nrun/jobs/staged/" in command
        assert not (tmp_path / "report.json").exists()  # staged, not run
        from nrun.exec.slurm import SSHTunnel

        tunnel = SSHTunnel(
            host="127.0.0.1",
            user="nrun",
            port=2222,
            identity=str(ssh / "id_ed25519"),
            known_hosts=str(ssh / "known_hosts"),
        )
        report_file = home / "report.json"
        ran = tunnel.run(f"export RECIPE_REPORT={shlex.quote(str(report_file))}; {command}")
        assert ran.returncode == 0, ran.stderr
        assert json.loads(report_file.read_text())["iters"] == 2
        assert ArtifactRegistry(str(registry)).resolve("recipe-model").inputs == [
            "art://recipe-data:v1"
        ]
    finally:
        shutil.rmtree(home, ignore_errors=True)
