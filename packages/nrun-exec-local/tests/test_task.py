"""The task runner, `python -m nrun.exec.task <config file>`, as every executor runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import jobs
from helpers import TESTS
from nrun.config import Config, Partial, dump
from nrun.exec.task import load_task, main, run_data, run_file


def run(*args: str, cwd: Path = TESTS) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-m", "nrun.exec.task", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_partial_is_built_and_called(tmp_path: Path) -> None:
    config = dump(
        Partial(jobs.append, path=str(tmp_path / "out"), text="called"), tmp_path / "t.yaml"
    )
    done = run(str(config))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_text() == "called\n"
    assert done.stdout == "appended called\n"
    assert done.stderr == ""


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_config_is_built_not_called(tmp_path: Path, suffix: str) -> None:
    config = dump(
        Config(jobs.Note, path=str(tmp_path / "note"), text=suffix), tmp_path / f"t{suffix}"
    )
    done = run(str(config))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "note").read_text() == suffix
    assert done.stdout == f"built Note({suffix})\n"


def test_a_task_that_raises_exits_1_with_its_traceback(tmp_path: Path) -> None:
    config = dump(Partial(jobs.crash, message="the model diverged"), tmp_path / "t.yaml")
    done = run(str(config))
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: the model diverged" in done.stderr
    assert "in crash" in done.stderr


def test_sys_exit_code_is_kept(tmp_path: Path) -> None:
    config = dump(Partial(jobs.fail, code=5, message="bye"), tmp_path / "t.yaml")
    done = run(str(config))
    assert done.returncode == 5
    assert done.stderr == "bye\n"
    assert "Traceback" not in done.stderr


def test_missing_file_is_exit_2_one_line(tmp_path: Path) -> None:
    done = run(str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("nrun.exec.task: ")
    assert "nope.yaml" in done.stderr


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("_target_: no_such_module.train\n_partial_: true\n", "no_such_module"),
        ("_target_: jobs.ecko\n_partial_: true\n", "Did you mean 'echo'?"),
        ("_target_: jobs.echo\n_partial_: true\nmessage: [unclosed\n", "malformed YAML"),
        ("just a string\n", "t.yaml"),
        ("message: no target\n", "_target_"),
    ],
)
def test_bad_config_is_exit_2_one_line(tmp_path: Path, text: str, named: str) -> None:
    (tmp_path / "t.yaml").write_text(text)
    done = run(str(tmp_path / "t.yaml"))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert named in done.stderr


def test_the_runner_does_not_import_fiddle(tmp_path: Path) -> None:
    """Jobs start fast: task files are built without fiddle (or OmegaConf)."""
    config = dump(Partial(jobs.imported, names=["fiddle", "omegaconf"]), tmp_path / "t.yaml")
    done = run(str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fiddle: False\nomegaconf: False\n"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag: str) -> None:
    done = run(flag)
    assert done.returncode == 0
    assert done.stderr.startswith("usage: python -m nrun.exec.task <config file")


@pytest.mark.parametrize("args", [(), ("a.yaml", "b.yaml")])
def test_wrong_arguments_are_usage_and_exit_2(args: tuple[str, ...]) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stderr.startswith("usage:")


# -- in process ------------------------------------------------------------------------------
def test_run_file_returns_what_the_task_returns(tmp_path: Path) -> None:
    config = dump(Partial(jobs.returns, value=7), tmp_path / "t.yaml")
    assert load_task(str(config)) == {"_target_": "jobs.returns", "_partial_": True, "value": 7}
    assert run_file(str(config)) == 7
    note = run_data({"_target_": "jobs.Note", "path": str(tmp_path / "n"), "text": "x"})
    assert isinstance(note, jobs.Note)
    assert (tmp_path / "n").read_text() == "x"


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(dump(Partial(jobs.echo, message="hi"), tmp_path / "ok.yaml"))]) == 0
    assert main([str(dump(Partial(jobs.crash), tmp_path / "crash.yaml"))]) == 1
    assert main([str(tmp_path / "missing.yaml")]) == 2
    with pytest.raises(SystemExit) as info:
        main([str(dump(Partial(jobs.fail, code=9), tmp_path / "fail.yaml"))])
    assert info.value.code == 9
    out, err = capsys.readouterr()
    assert out.startswith("hi\n")
    assert "RuntimeError: boom" in err
