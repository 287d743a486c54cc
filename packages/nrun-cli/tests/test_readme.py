"""The README's example as a user follows it: its script, each command in turn, its errors."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nrun.exec.experiment import Experiment
from scripts import run_py

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SCRIPT = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
COMMANDS = [
    line.split("  #")[0].strip()
    for line in re.findall(r"```bash\n(.*?)```", README, flags=re.S)[1].strip().splitlines()
]
REMOTE = [c for c in COMMANDS if "run.executor=slurm" in c or "run.executor=docker" in c]
ERRORS = re.search(r"## Errors\n.*?```\n(.*?)```", README, flags=re.S)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(SCRIPT)
    return tmp_path


def run(folder: Path, command: str):  # type: ignore[no-untyped-def]
    python, script, *args = shlex.split(command)
    assert (python, script) == ("python", "train.py")
    return run_py(folder, script, *args)


def test_the_commands_run_in_turn(folder: Path) -> None:
    local = [c for c in COMMANDS if c not in REMOTE]
    assert len(local) == 10
    outputs = {}
    for command in local:
        done = run(folder, command)
        assert done.returncode == 0, (command, done.stderr)
        assert "Traceback" not in done.stderr, command
        outputs[command] = done.stdout
    out = iter(outputs.values())
    assert "Model size: 256, layers: 2, epochs 20" in next(out)
    assert "Model size: 1024, layers: 8" in next(out)
    assert "Model size: 1024, layers: 4" in next(out)
    next(out)
    assert (folder / "model.yaml").read_text().splitlines()[1:] == ["size: 64", "layers: 2"]
    assert "Model size: 64, layers: 2" in next(out)
    assert "Resolved Arguments" in next(out)
    next(out)
    assert "Model size: 128, layers: 2, epochs 3" in next(out)
    [sweep, detached] = sorted(Experiment.list(), key=lambda e: e["created"])
    assert len(sweep["tasks"]) == 4
    assert Experiment.from_id(detached["id"]).wait(timeout=120) == {"train": "SUCCEEDED"}


@pytest.mark.executors
@pytest.mark.parametrize("command", REMOTE)
def test_the_remote_dry_runs_show_the_request(folder: Path, command: str) -> None:
    done = run(folder, command)
    assert done.returncode == 0, done.stderr
    shown = "sbatch script for task train:" if "slurm" in command else "Container for task train:"
    assert shown in done.stdout
    assert Experiment.list() == []


def test_the_errors_are_what_is_printed(folder: Path) -> None:
    assert ERRORS is not None
    lines = ERRORS.group(1).strip().splitlines()
    typed = {
        "epocks=5": lines[0],
        "epochs=many": lines[1],
        "model_config=a,b": lines[-1],
    }
    for argument, line in typed.items():
        done = run_py(folder, "train.py", argument)
        assert done.returncode == 2
        assert done.stderr == line + "\n", argument
    kubeflow = run_py(folder, "train.py", "run.executor=kubeflow").stderr
    assert kubeflow.startswith(lines[2].removesuffix("(...)"))


@pytest.mark.executors
def test_the_docker_error_is_what_is_printed(folder: Path) -> None:
    [line] = [line for line in ERRORS.group(1).splitlines() if "container_image" in line]  # type: ignore[union-attr]
    done = run_py(folder, "train.py", "run.executor=docker", "--yes")
    assert (done.returncode, done.stderr) == (2, line + "\n")
