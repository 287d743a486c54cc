"""`nrun run MODULE:FUNCTION`: any importable function through nrun.cli, and bad targets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment

Nrun = Callable[..., subprocess.CompletedProcess[str]]

TRAIN = textwrap.dedent(
    """
    import dataclasses


    @dataclasses.dataclass
    class Model:
        size: int = 128
        layers: int = 2


    def train(model: Model, epochs: int = 10) -> None:
        \"\"\"Train a model.\"\"\"
        print(f"size {model.size}, layers {model.layers}, epochs {epochs}")


    def crash() -> None:
        raise RuntimeError("boom")
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding `train.py`, where `nrun` runs (as a user's project would)."""
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def test_runs_a_function_of_the_current_directory_with_overrides(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:train", "model.size=256", "epochs*=2", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "size 256, layers 2, epochs 20\n",
        "",
    )


def test_module_dot_function_works_too(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train.train", "epochs=1", cwd=project)
    assert (done.returncode, done.stdout) == (0, "size 128, layers 2, epochs 1\n")


def test_dryrun_shows_the_resolved_arguments_and_runs_nothing(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:train", "--dryrun", "model.layers=4", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Resolved Arguments" in done.stdout
    assert "Model(size=128, layers=4)" in done.stdout
    assert "epochs" in done.stdout
    assert "size 128" not in done.stdout  # the function never ran


def test_export_to_yaml(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:train", "epochs=3", "--to-yaml", "run.yaml", cwd=project)
    assert done.returncode == 0, done.stderr
    text = (project / "run.yaml").read_text()
    assert "_target_: train.train" in text
    assert "epochs: 3" in text
    again = nrun("run", "train:train", "--yaml", "run.yaml", cwd=project)
    assert (again.returncode, again.stdout) == (0, "size 128, layers 2, epochs 3\n")


def test_help_is_the_functions_command_line(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:train", "--help", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "nrun run train:train" in done.stdout
    assert "Train a model." in done.stdout
    for name in ("--dryrun", "--to-yaml", "--yes", "model", "epochs"):
        assert name in done.stdout


def test_nrun_cli_errors_pass_through(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:train", "epocks=5", cwd=project)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Did you mean 'epochs'?" in done.stderr


def test_an_exception_in_the_function_keeps_its_traceback(nrun: Nrun, project: Path) -> None:
    done = nrun("run", "train:crash", cwd=project)
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "RuntimeError: boom" in done.stderr


def test_through_the_local_executor_the_run_is_an_experiment(
    nrun: Nrun, project: Path, home: Path
) -> None:
    done = nrun("run", "train:train", "epochs=2", "run.executor=local", "--yes", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "size 128, layers 2, epochs 2" in done.stdout
    (summary,) = Experiment.list()
    experiment = Experiment.from_id(summary["id"])
    assert experiment.status() == {"train": JobState.SUCCEEDED}
    assert experiment.logs("train") == "size 128, layers 2, epochs 2"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nosuch:fn", "cannot import 'nosuch:fn': No module named 'nosuch'"),
        ("nosuch.fn", "cannot import 'nosuch.fn': No module named 'nosuch'"),
        ("nosuch.sub.fn", "cannot import 'nosuch.sub.fn': No module named 'nosuch'"),
        ("train:nope", "cannot import 'train:nope': 'train' has no attribute 'nope'"),
        ("train.nope", "cannot import 'train.nope': 'train' has no attribute 'nope'"),
        (
            "train:Model.nope",
            "cannot import 'train:Model.nope': 'train.Model' has no attribute 'nope'",
        ),
        ("broken:fn", "cannot import 'broken:fn': No module named 'nosuchdependency'"),
        ("broken.fn", "cannot import 'broken.fn': No module named 'nosuchdependency'"),
        ("train:dataclasses", "cannot run 'train:dataclasses': it is a module, not a function"),
        ("train", "cannot import 'train': expected module:function or module.function"),
        ("train:", "cannot import 'train:': expected module:function"),
        (
            "train.py:train",
            "cannot import 'train.py:train': give a module, not a file (e.g. train:main, run "
            "from its directory)",
        ),
    ],
)
def test_a_target_that_cannot_be_imported_is_one_line(
    nrun: Nrun, project: Path, target: str, message: str
) -> None:
    (project / "broken.py").write_text("import nosuchdependency\n\ndef fn() -> None: ...\n")
    done = nrun("run", target, "epochs=1", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")


def test_run_in_process(invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # `run` puts the cwd first
    result = invoke("run", "nrun.exec.probes:echo", "message=hi from the app")
    assert (result.exit_code, result.stdout) == (0, "hi from the app\n")


def test_run_needs_a_target(nrun: Nrun) -> None:
    done = nrun("run")
    assert done.returncode == 2
    assert "MODULE:FUNCTION" in done.stdout + done.stderr


def test_top_level_help_imports_no_fiddle(tmp_path: Path) -> None:
    check = (
        "import sys\n"
        "from nrun.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('fiddle', 'libcst'))\n"
        "assert not heavy, heavy\n"
        "assert 'nrun.cli' not in sys.modules and 'nrun.exec.experiment' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    for command in ("run", "experiment", "executors"):
        assert command in done.stdout


def test_python_dash_m_and_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nrun.app", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout) == (0, "nrun 0.1.0\n")
