"""Pipelines as one nrun Experiment: steps hand artifacts on, lineage reaches the first input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemotron.kit import PipelineConfig, Step, run_pipeline
from nemotron.registry import ArtifactRegistry

STEP = """
import os, sys
from pathlib import Path
from nemotron.kit import Artifact, InputDatasetInfo, PretrainDataArtifact, print_step_complete

name = "{name}"
if os.environ.get("PIPE_FAIL") == name:
    sys.exit(7)
out = Path(os.environ["PIPE_OUT"]) / name
out.mkdir(parents=True, exist_ok=True)
inputs = []
if {has_input}:
    previous = Artifact.load()
    inputs.append(previous.uri)
    (out / "from.txt").write_text(str(previous.path))
else:
    (out / "raw.txt").write_text("raw data")
meta = {{"step": name, "args": sys.argv[1:]}}
if {has_input}:
    art = Artifact(path=out, metadata=meta)
else:
    source = InputDatasetInfo(uri="file:///corpus.txt", name="corpus")
    art = PretrainDataArtifact(path=out, total_tokens=1, source_datasets=[source], metadata=meta)
art.save(name="pipe-" + name)
print_step_complete(result=art)
"""


@pytest.fixture
def steps_pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Step]:
    pkg = tmp_path / "code" / "pipe_steps"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    names = ["first", "second", "third"]
    for i, name in enumerate(names):
        (pkg / f"{name}.py").write_text(STEP.format(name=name, has_input=bool(i)))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "code"))
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun"))
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("PIPE_OUT", str(tmp_path / "out"))
    monkeypatch.delenv("PIPE_FAIL", raising=False)
    return [Step(name, f"pipe_steps.{name}") for name in names]


def test_steps_hand_on_artifacts_and_lineage_reaches_the_first(
    steps_pkg: list[Step], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code = run_pipeline(PipelineConfig(job_name="pipe-test"), steps_pkg, ["--flag"])
    assert code == 0
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    third = registry.resolve("pipe-third")
    assert third.metadata["args"] == ["--flag"]
    lineage = registry.lineage("pipe-third")
    assert lineage.upstream() == [
        "art://pipe-second:v1",
        "art://pipe-first:v1",
        "file:///corpus.txt",
    ]
    assert registry.resolve("pipe-first").inputs == ["file:///corpus.txt"]
    out = capsys.readouterr().out
    assert "pipe-third:v1" in out and "pipe-first:v1" in out  # the lineage tree
    from nrun.exec.experiment import Experiment

    (listed,) = Experiment.list("pipe-test")
    exp = Experiment.from_id(listed["id"])
    assert {k: str(v) for k, v in exp.status().items()} == dict.fromkeys(
        ["first", "second", "third"], "SUCCEEDED"
    )
    handed = json.loads((Path(exp.dir) / "tasks" / ".steps" / "second.json").read_text())
    assert handed["result"]["uri"] == "art://pipe-second:v1"


def test_a_failed_step_stops_the_ones_after_it(
    steps_pkg: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PIPE_FAIL", "second")
    assert run_pipeline(PipelineConfig(job_name="pipe-fail"), steps_pkg) == 7
    from nrun.exec.experiment import Experiment

    (listed,) = Experiment.list("pipe-fail")
    states = {k: str(v) for k, v in Experiment.from_id(listed["id"]).status().items()}
    assert states == {"first": "SUCCEEDED", "second": "FAILED", "third": "CANCELLED"}
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert registry.list() == ["pipe-first"]


def test_dry_run_records_nothing(
    steps_pkg: list[Step], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_pipeline(PipelineConfig(dry_run=True), steps_pkg) == 0
    err = capsys.readouterr().err
    assert "first → second → third" in err
    assert "python -m pipe_steps.second" in err
    assert not (tmp_path / "nrun").exists() and not (tmp_path / "registry").exists()


@pytest.mark.parametrize(
    ("config", "steps", "message"),
    [
        (PipelineConfig(), [], "a pipeline needs at least one step"),
        (PipelineConfig(), [Step("a", "m"), Step("a", "n")], "two steps are named 'a'"),
        (PipelineConfig(profile="nope"), [Step("a", "m")], "no env.toml found"),
        (
            PipelineConfig(launcher="nemo-run", executor="slurm", tunnel="ssh"),
            [Step("a", "m")],
            'tunnel = "ssh" needs host and user',
        ),
    ],
)
def test_bad_pipelines_are_one_line_and_record_nothing(
    config: PipelineConfig,
    steps: list[Step],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun"))
    assert run_pipeline(config, steps) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "nrun").exists()


def test_step_command_and_module_object():
    import json as module

    step = Step("s", module, torchrun=True)
    assert step.module_name == "json" and step.module_file == module.__file__
    assert step.get_command(2)[2:] == ["torch.distributed.run", "--nproc-per-node=2", "-m", "json"]


def slurm_up() -> None:
    """Skip unless the test cluster (integration-tests/slurm-up.sh) answers with its nodes."""
    import shutil
    import subprocess

    pytest.importorskip("nrun.exec.slurm", reason="nrun-exec-slurm is not installed")
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["sinfo", "-hN", "-o", "%N"], capture_output=True, text=True)
    if done.returncode != 0 or "node2" not in done.stdout:
        pytest.skip("Slurm is not up; start it with integration-tests/slurm-up.sh")


def test_the_pipeline_runs_on_the_slurm_cluster(
    steps_pkg: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Three sbatch jobs chained by afterok on the real cluster; the lineage as locally."""
    import os
    import sys

    slurm_up()
    env = [f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "PIPE_OUT", "NEMOTRON_REGISTRY")]
    config = PipelineConfig(
        launcher="sbatch",
        executor="slurm",
        job_name="pipe-slurm",
        time="00:05:00",
        python=sys.executable,
        env_vars=env,
    )
    assert run_pipeline(config, steps_pkg, ["--on-slurm"]) == 0
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert registry.resolve("pipe-third").metadata["args"] == ["--on-slurm"]
    assert registry.lineage("pipe-third").upstream()[:2] == [
        "art://pipe-second:v1",
        "art://pipe-first:v1",
    ]
    monkeypatch.setenv("PIPE_FAIL", "second")
    assert run_pipeline(config, steps_pkg) != 0
    from nrun.exec.experiment import Experiment

    latest = max(Experiment.list("pipe-slurm"), key=lambda e: e["id"])
    states = {k: str(v) for k, v in Experiment.from_id(latest["id"]).status().items()}
    assert states == {"first": "SUCCEEDED", "second": "FAILED", "third": "CANCELLED"}


def test_the_pipeline_runs_in_docker_containers(
    steps_pkg: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_python: str
):
    """One container per step; the steps' outputs folder is mounted into each."""
    import os

    python = docker_python
    venv = str(Path(python).parents[1])
    env = [f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "PIPE_OUT", "NEMOTRON_REGISTRY")]
    (tmp_path / "env.toml").write_text(
        "[box]\n"
        'executor = "docker"\n'
        'container_image = "nrun-test-python:bookworm"\n'
        'network = "none"\n'
        f'python = "{python}"\n'
        f'mounts = ["{venv}:{venv}:ro", "{tmp_path}:{tmp_path}"]\n'
        f"env_vars = {env!r}\n".replace("'", '"')
    )
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig(job_name="pipe-docker", profile="box")
    assert run_pipeline(config, steps_pkg, ["--in-docker"]) == 0
    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert registry.resolve("pipe-third").metadata["args"] == ["--in-docker"]
    assert registry.lineage("pipe-third").upstream()[:2] == [
        "art://pipe-second:v1",
        "art://pipe-first:v1",
    ]
