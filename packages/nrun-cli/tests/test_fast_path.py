"""The fast command-line path splits every command line exactly as typer (click) does.

One table of command lines goes through both: `run_fast` (no click parsing) and typer's
command (`typer.main.get_command(app).main`). Both end in the app's `nrun_runs` entry, which
records what it was given instead of running; the options and arguments must be equal, or
the same one-line error. Lines only typer handles (help, click's own errors) must make the
fast path step aside (None) rather than guess.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main

from nrun.cli._command import build_app, run_fast
from nrun.cli._run import RunOptions
from scripts import run_py, write


def train(model: str = "a", epochs: int = 10, lr: float = 0.1) -> None:
    print(f"{model} {epochs} {lr}")


Recorded = tuple[int, list[tuple[list[str], dict[str, Any]]], str]


def _app(group: bool) -> tuple[Any, list[tuple[list[str], dict[str, Any]]]]:
    """The entrypoint's app (or a group of two), recording each run instead of running it."""
    app = build_app({"train": train, "other": train} if group else train)
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def record(arguments: list[str], options: RunOptions) -> int:
        calls.append((list(arguments), vars(options)))
        return 0

    for name in app.nrun_runs:
        app.nrun_runs[name] = record
    return app, calls


def fast(
    args: list[str], capsys: pytest.CaptureFixture[str], group: bool = False
) -> Recorded | None:
    app, calls = _app(group)
    code = run_fast(app, list(args))
    if code is None:
        assert calls == []
        return None
    return code, calls, capsys.readouterr().err


def slow(args: list[str], capsys: pytest.CaptureFixture[str], group: bool = False) -> Recorded:
    app, calls = _app(group)
    code = typer.main.get_command(app).main(list(args), prog_name="t", standalone_mode=False)
    return code or 0, calls, capsys.readouterr().err


# command lines both paths take: what each gets must be the same
SAME = [
    [],
    ["epochs=3"],
    ["-y", "epochs=3"],
    ["-yv", "epochs=3"],
    ["-vy"],
    ["-yvm", "epochs=1,2"],
    ["-nNAME"],
    ["-n", "NAME"],
    ["-n=NAME"],  # click: the value of -n is `=NAME`
    ["-ynNAME", "epochs=3"],
    ["-yn", "NAME", "epochs=3"],
    ["-fmy_recipe", "-lpast"],
    ["--name=NAME"],
    ["--name", "NAME"],
    ["--name="],
    ["--name", "-1"],  # a value that looks like a negative number or an option is a value
    ["--name", "--dryrun"],
    ["-n", "-y"],
    ["--name=a=b"],
    ["--rich-theme=dark", "--no-direct", "--direct"],
    ["--direct", "--no-direct"],
    ["--yes", "--no-confirm", "-y"],
    ["--rich-hide-locals", "--rich-traceback-short", "--no-tail-logs", "--tail-logs"],
    ["--to-yaml", "x.yaml", "epochs=3", "--to-json=y.json", "--to-toml", "z.toml"],
    ["--name", "a", "--name", "b"],
    ["epochs=3", "--dryrun", "model=b"],  # options among the arguments
    ["--", "epochs=3"],
    ["--dryrun", "--", "epochs=3", "lr=1"],
    ["--", "--name", "x"],  # after `--`, options are arguments (refused: no such override)
    ["--", "-y"],
    ["--", "--"],
    ["epochs=-1"],
    ["lr=-1e-3", "lr=-.5"],
    ["-1"],
    ["-1e5"],
    ["--foo"],
    ["--foo=1", "epochs=2"],
    ["--dryru"],
    ["--name-x", "y"],
    ["-yq"],  # -y set, -q unknown
    ["-qy"],
    ["-"],
    ["model=-", "model=--x"],
    ["--lazy", "--multirun", "--repl", "--detach", "--verbose", "--dryrun"],
    ["--factory", "@f.yaml", "--yaml", "c.yaml", "--load", "d"],
]

# command lines typer must handle: help, completion, and click's own usage errors
TYPERS = [
    ["--help"],
    ["-h"],
    ["-yh"],
    ["epochs=3", "--help"],
    ["--dryrun=1"],
    ["--yes=true"],
    ["--name"],
    ["-yn"],
    ["epochs=3", "-n"],
    ["--show-completion", "bash"],
]


@pytest.mark.parametrize("args", SAME, ids=[" ".join(a) or "(none)" for a in SAME])
def test_the_fast_path_splits_as_typer_does(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    got = fast(args, capsys)
    assert got is not None, "the fast path stepped aside"
    assert got == slow(args, capsys)


@pytest.mark.parametrize("args", SAME[:12], ids=[" ".join(a) or "(none)" for a in SAME[:12]])
def test_the_fast_path_of_a_subcommand_splits_as_typer_does(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    got = fast(["other", *args], capsys, group=True)
    assert got is not None, "the fast path stepped aside"
    assert got == slow(["other", *args], capsys, group=True)


@pytest.mark.parametrize("args", TYPERS, ids=[" ".join(a) for a in TYPERS])
def test_the_fast_path_leaves_help_and_click_errors_to_typer(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert fast(args, capsys) is None


def test_what_the_table_proves(capsys: pytest.CaptureFixture[str]) -> None:
    """A few rows spelled out: the table compares, this says what the answers are."""
    code, [(arguments, options)], _ = fast(["-yvnNAME", "--", "epochs=3"], capsys) or (0, [], "")
    assert (code, arguments) == (0, ["epochs=3"])
    assert (options["yes"], options["verbose"], options["name"]) == (True, True, "NAME")
    code, calls, err = fast(["-yq"], capsys) or (0, [], "")
    assert (code, calls, err) == (2, [], "No such option: -q. See --help.\n")
    code, calls, err = fast(["--dryru"], capsys) or (0, [], "")
    assert (code, calls, err) == (2, [], "No such option: --dryru. Did you mean '--dryrun'?\n")
    code, [(arguments, options)], _ = fast(["--name", "-1", "lr=-1"], capsys) or (0, [], "")
    assert (options["name"], arguments) == ("-1", ["lr=-1"])


SCRIPT = """
from nrun import cli

@cli.entrypoint
def train(model: str = "a", epochs: int = 10):
    print(f"{model} {epochs}")

if __name__ == "__main__":
    cli.main(train)
"""


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["-yv", "epochs=3"], "a 3\n"),
        (["-nrun1", "--", "model=b"], "b 10\n"),
        (["--name=run1", "epochs=-1"], "a -1\n"),
    ],
)
def test_combined_and_attached_options_run(tmp_path: Path, args: list[str], out: str) -> None:
    write(tmp_path / "task.py", SCRIPT)
    done: subprocess.CompletedProcess[str] = run_py(tmp_path, "task.py", *args)
    assert (done.returncode, done.stdout, done.stderr) == (0, out, "")


def test_an_unknown_option_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / "task.py", SCRIPT)
    done = run_py(tmp_path, "task.py", "-yq", "epochs=3")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "No such option: -q. See --help.\n"
