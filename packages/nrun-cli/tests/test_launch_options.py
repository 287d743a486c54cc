"""What a command line asks of the launch: exports, run.* options, --lazy checks, the record.

Each case is a real program (`python script.py ...`), as a user types it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nrun.exec.experiment import Experiment
from scripts import one_line, run_in_terminal, run_py, write

SCRIPT = """
from dataclasses import dataclass
from nrun import cli


@dataclass
class Model:
    size: int = 128
    layers: int = 2


@cli.entrypoint
def train(model: Model, epochs: int, lr: float = 0.1):
    print(f"train size={model.size} epochs={epochs}")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    write(tmp_path / "script.py", SCRIPT)
    return tmp_path


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# -- exports -----------------------------------------------------------------------------------


def test_an_export_may_leave_required_arguments_unset(script: Path) -> None:
    result = run_py(script, "script.py", "--to-yaml", "part.yaml")
    assert result.returncode == 0, result.stderr
    text = (script / "part.yaml").read_text()
    assert "_partial_: true" in text and "epochs" not in text
    # running the partial file is what needs them
    ran = run_py(script, "script.py", "--yaml", "part.yaml")
    assert ran.returncode == 2
    assert "epochs" in one_line(ran.stderr)
    done = run_py(script, "script.py", "--yaml", "part.yaml", "epochs=3")
    assert done.returncode == 0, done.stderr
    assert "train size=128 epochs=3" in done.stdout


def test_an_export_of_one_section(script: Path) -> None:
    result = run_py(script, "script.py", "model.size=3", "--to-yaml", "model.yaml:model")
    assert result.returncode == 0, result.stderr
    assert (script / "model.yaml").read_text().splitlines() == [
        "_target_: script.Model",
        "size: 3",
        "layers: 2",
    ]
    used = run_py(script, "script.py", "model=@model.yaml", "epochs=1")
    assert "train size=3 epochs=1" in used.stdout, used.stderr


def test_an_export_of_a_section_that_is_not_there(script: Path) -> None:
    result = run_py(script, "script.py", "--to-yaml", "m.yaml:modle")
    assert result.returncode == 2
    assert "'modle'" in one_line(result.stderr)
    assert "m.yaml" not in _files(script)


@pytest.mark.parametrize("flag", ["--to-yaml", "--to-toml", "--to-json"])
def test_an_export_to_an_empty_name_is_refused(script: Path, flag: str) -> None:
    result = run_py(script, "script.py", "epochs=1", flag, "")
    assert result.returncode == 2
    assert "needs a file name" in one_line(result.stderr)
    assert "train size" not in result.stdout


def test_a_dry_run_with_an_export_writes_nothing(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "--dryrun", "--to-yaml", "x.yaml")
    assert result.returncode == 2
    assert "--dryrun" in one_line(result.stderr)
    assert _files(script) == {"script.py"}


# -- the launch ----------------------------------------------------------------------------------


def test_detach_without_an_executor_is_refused(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "--detach")
    assert result.returncode == 2
    assert "run.executor" in one_line(result.stderr)
    assert "train size" not in result.stdout
    assert Experiment.list() == []


@pytest.mark.parametrize("name", ["a/b", "..", "a b", "x\x1b[2J"])
def test_a_name_that_cannot_name_an_experiment(script: Path, name: str) -> None:
    result = run_py(script, "script.py", "epochs=1", "--name", name, "run.executor=local")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "--name" in line and "\x1b" not in line
    assert Experiment.list() == []


def test_a_launch_is_not_called_a_dry_run_and_says_where_it_is_recorded(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.executor=local", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Dry run" not in result.stdout
    assert "Task __main__:train\n" in result.stdout
    [experiment] = Experiment.list()
    assert result.stderr.splitlines()[-1] == f"Recorded: nrun experiment show {experiment['id']}"


def test_a_detached_launch_says_where_it_is_recorded(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.executor=local", "--detach", "--yes")
    assert result.returncode == 0, result.stderr
    [experiment] = Experiment.list()
    assert f"Recorded: nrun experiment show {experiment['id']}" in result.stderr
    Experiment.from_id(experiment["id"]).wait(timeout=60)


def test_a_dry_run_is_called_one(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.executor=local", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert "Dry run for task __main__:train\n" in result.stdout
    assert "Recorded" not in result.stderr
    assert Experiment.list() == []


# -- RunContext options as run.* overrides --------------------------------------------------------


def test_run_dryrun_true_is_a_dry_run(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.dryrun=true")
    assert result.returncode == 0, result.stderr
    assert "Dry run for train:" in result.stdout
    assert "train size" not in result.stdout


def test_run_detach_true_detaches(script: Path) -> None:
    result = run_py(
        script, "script.py", "epochs=1", "run.executor=local", "run.detach=true", "--yes"
    )
    assert result.returncode == 0, result.stderr
    assert "Detached" in result.stderr
    [experiment] = Experiment.list()
    Experiment.from_id(experiment["id"]).wait(timeout=60)


def test_run_skip_confirmation_true_does_not_ask(script: Path) -> None:
    code, out = run_in_terminal(script, "script.py", "epochs=2", "run.skip_confirmation=true")
    assert code == 0, out
    assert "Continue?" not in out
    assert "train size=128 epochs=2" in out


def test_run_name_sets_the_experiment_title(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.executor=local", "run.name=exp1", "-y")
    assert result.returncode == 0, result.stderr
    assert [e["title"] for e in Experiment.list()] == ["exp1"]


def test_a_run_option_of_the_wrong_type(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.detach=maybe")
    assert result.returncode == 2
    assert "run.detach" in one_line(result.stderr)


# -- --lazy checks what it can before anything is launched -----------------------------------------


@pytest.mark.parametrize(
    ("override", "named"),
    [("modle.size=3", "'modle'"), ("model.sise=3", "'sise'"), ("model.size==3", "model.size")],
)
def test_a_lazy_typo_is_refused_at_launch(script: Path, override: str, named: str) -> None:
    result = run_py(
        script, "script.py", "--lazy", "epochs=1", override, "run.executor=local", "--yes"
    )
    assert result.returncode == 2
    assert named in one_line(result.stderr)
    assert Experiment.list() == []


def test_a_lazy_unknown_factory_is_refused_at_launch(script: Path) -> None:
    result = run_py(
        script, "script.py", "--lazy", "--factory", "nope", "run.executor=local", "--yes"
    )
    assert result.returncode == 2
    assert "'nope'" in one_line(result.stderr)
    assert Experiment.list() == []


def test_a_lazy_dry_run_shows_the_tasks_own_arguments(script: Path) -> None:
    result = run_py(script, "script.py", "--lazy", "epochs=1", "model.size=8", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert "Lazy Arguments" in result.stdout
    assert re.search(r"│ model\.size\s+│ 8\s+│", result.stdout), result.stdout
    assert "run_lazy" not in result.stdout and "overrides" not in result.stdout
    assert "Dry run for task __main__:train\n" in result.stdout


def test_a_lazy_run_still_runs(script: Path) -> None:
    result = run_py(
        script, "script.py", "--lazy", "epochs=4", "model.size=8", "run.executor=local", "-y"
    )
    assert result.returncode == 0, result.stderr
    assert "train size=8 epochs=4" in result.stdout


SECRET = """
from dataclasses import dataclass
from nrun import cli


@dataclass
class Creds:
    user: str = "me"
    hf_token: str = "hf_abc123secret"


@cli.entrypoint
def fetch(creds: Creds = Creds(), epochs: int = 1):
    print(epochs)


if __name__ == "__main__":
    cli.main(fetch)
"""


def test_an_export_holding_a_secret_is_owners_only_and_shown_masked(tmp_path: Path) -> None:
    write(tmp_path / "script.py", SECRET)
    result = run_py(tmp_path, "script.py", "--to-yaml", "run.yaml")
    assert result.returncode == 0, result.stderr
    assert "hf_abc123secret" not in result.stdout and "****" in result.stdout
    written = tmp_path / "run.yaml"
    assert "hf_abc123secret" in written.read_text()  # the file is the run's: it keeps the value
    assert written.stat().st_mode & 0o077 == 0


# -- a dry run shows the request itself, secrets masked, and writes nothing -----------------------


def test_a_local_dry_run_shows_the_command(script: Path) -> None:
    result = run_py(
        script,
        "script.py",
        "epochs=1",
        "run.executor=local",
        "run.executor.env_vars.HF_TOKEN=hf_x1",
        "--dryrun",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Command for task train:\n" in out
    assert re.search(r"^\S*python\S* -m nrun\.exec\.task \S+/task\.yaml$", out, flags=re.M), out
    assert "HF_TOKEN='****'" in out and "hf_x1" not in out
    assert Experiment.list() == []


@pytest.mark.executors
def test_a_docker_dry_run_shows_the_container(script: Path) -> None:
    result = run_py(
        script,
        "script.py",
        "epochs=1",
        "run.executor=docker",
        "run.executor.container_image=python:3.12-slim",
        "run.executor.env_vars.DB_PASSWORD=pw_x1",
        "--dryrun",
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},  # nothing is asked of a daemon
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Container for task train:\n" in out
    assert "image: python:3.12-slim" in out
    assert "DB_PASSWORD: '****'" in out and "pw_x1" not in out
    assert "nrun.exec.task" in out
    assert Experiment.list() == []


@pytest.mark.executors
def test_docker_without_an_image_names_the_field(script: Path) -> None:
    result = run_py(script, "script.py", "epochs=1", "run.executor=docker", "--yes")
    assert result.returncode == 2
    assert "run.executor.container_image=IMAGE" in one_line(result.stderr)
    assert Experiment.list() == []


@pytest.mark.executors
def test_a_slurm_dry_run_shows_the_sbatch_script(script: Path) -> None:
    result = run_py(
        script,
        "script.py",
        "epochs=1",
        "run.executor=slurm",
        "run.executor.partition=gpu",
        "run.executor.nodes=2",
        "run.executor.env_vars.WANDB_API_KEY=wb_x1",
        "--dryrun",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    script_text = out[out.index("sbatch script for task train:\n") :]
    assert script_text.splitlines()[1] == "#!/bin/bash"
    for line in ("#SBATCH --partition=gpu", "#SBATCH --nodes=2", "export WANDB_API_KEY='****'"):
        assert line in script_text.splitlines()
    assert "wb_x1" not in out
    assert re.search(r"^srun .*nrun\.exec\.task \S+/task\.yaml$", script_text, flags=re.M)
    assert Experiment.list() == []
