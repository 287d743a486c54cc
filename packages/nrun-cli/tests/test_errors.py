"""Every usage error is one clear line naming what was typed, exit 2, no traceback (unless
`--verbose`); an exception raised by the user's function keeps its traceback, exit 1.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nrun import cli
from nrun.cli.testing import CliResult, run_cli
from nrun.config import Config, Partial, autoconvert
from scripts import Runner, run_py, write


@dataclass
class Model:
    hidden_size: int = 256
    num_layers: int = 3


@dataclass
class Optimizer:
    lr: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@cli.factory
@autoconvert
def my_model() -> Model:
    return Model(hidden_size=1024)


@cli.entrypoint
def train(model: Model, optimizer: Optimizer, epochs: int = 10) -> None:
    print(f"hidden={model.hidden_size} layers={model.num_layers} lr={optimizer.lr} e={epochs}")


@cli.factory(target=train)
def train_recipe() -> Partial:
    return Partial(train, model=Config(Model), optimizer=Config(Optimizer), epochs=3)


def one_line(result: CliResult) -> str:
    """The single line a usage error prints: exit 2, nothing on stdout, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert result.exception is None
    return result.stderr.rstrip("\n")


# (arguments, what the line must contain)
USAGE_ERRORS = {
    # typos
    "typo": (["epocks=5"], ["epocks", "Did you mean 'epochs'?"]),
    "nested typo": (
        ["model.hidden_sise=3"],
        ["model.hidden_sise=3", "Did you mean 'hidden_size'?"],
    ),
    "typo in a second config": (["optimizer.lrr=0.2"], ["optimizer.lrr=0.2", "'lr'"]),
    # wrong types
    "text for an int": (["epochs=abc"], ["epochs=abc", "int"]),
    "float for an int": (["epochs=1.5"], ["epochs=1.5", "int"]),
    "empty value for an int": (["epochs="], ["epochs="]),
    "text for a float": (["optimizer.lr=fast"], ["optimizer.lr=fast", "float"]),
    "wrong list items": (["optimizer.betas=[a,b]"], ["optimizer.betas=[a,b]", "float"]),
    "number for a config": (["model=3"], ["model=3", "Model"]),
    # malformed overrides
    "double equals": (["epochs==3"], ["epochs==3"]),
    "unclosed list": (["optimizer.betas=[1,2"], ["optimizer.betas=[1,2"]),
    "no value": (["model.num_layers"], ["model.num_layers"]),
    "no name": (["=5"], ["=5"]),
    "bare word": (["alexnet"], ["alexnet"]),
    "unclosed call": (["model=my_model(hidden_size=3"], ["model=my_model(hidden_size=3"]),
    "unclosed dict": (["model={hidden_size: 3"], ["model={hidden_size: 3"]),
    # missing files
    "missing nested file": (["model=@missing.yaml"], ["model=@missing.yaml", "missing.yaml"]),
    "missing --factory file": (["--factory", "@missing.yaml"], ["missing.yaml"]),
    "missing --yaml file": (["--yaml", "missing.yaml"], ["missing.yaml"]),
    "missing --load record": (["--load", "missing-run"], ["missing-run"]),
    # unknown factories, with the close names
    "unknown argument factory": (
        ["model=my_modle"],
        ["model=my_modle", "Did you mean 'my_model'?"],
    ),
    "unknown factory call": (["model=my_modle(hidden_size=3)"], ["my_modle", "'my_model'"]),
    "unknown entrypoint factory": (
        ["--factory", "trian_recipe"],
        ["trian_recipe", "Did you mean 'train_recipe'?"],
    ),
    "unknown entrypoint factory, none close": (["--factory", "zzz"], ["zzz", "train_recipe"]),
    # executors
    "unknown executor": (["run.executor=kubeflow"], ["run.executor=kubeflow", "kubeflow"]),
    "executor typo": (["run.executor=locl"], ["run.executor=locl", "Did you mean 'local'?"]),
    "run setting typo": (["run.executr=local"], ["run.executr=local", "'executor'"]),
    "executor field typo": (
        ["run.executor=local", "run.executor.nods=2"],
        ["run.executor.nods=2", "'nodes'"],
    ),
    "executor field type": (
        ["run.executor=local", "run.executor.nodes=two"],
        ["run.executor.nodes=two", "int"],
    ),
    "invalid executor field": (["run.executor=local", "run.executor.nodes=2"], ["nodes", "2"]),
    "field of no executor": (["run.executor.nodes=2"], ["run.executor.nodes=2"]),
    # the command line itself
    "two starting configs": (
        ["--factory", "train_recipe", "--yaml", "x.yaml"],
        ["--factory", "--yaml"],
    ),
    "sweep without --multirun": (["epochs=1,2"], ["epochs=1,2", "--multirun"]),
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_error_is_one_line(args: list[str], expected: list[str], runner: Runner) -> None:
    line = one_line(runner(train, args))
    for text in expected:
        assert text in line, (text, line)


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_error_with_verbose_adds_the_traceback(
    args: list[str], expected: list[str], runner: Runner
) -> None:
    quiet = runner(train, args)
    for flag in ("--verbose", "-v"):
        loud = runner(train, [*args, flag])
        assert loud.exit_code == 2
        assert "Traceback (most recent call last)" in loud.stderr
        assert loud.stderr.endswith(quiet.stderr)  # the same line, last


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["run.executor=local", "run.executor.nodes=2"],
            id="invalid executor field",
        ),
        pytest.param(["run.executor=locl"], id="executor typo"),
        pytest.param(["model.hidden_sise=3"], id="nested typo"),
    ],
)
def test_usage_error_names_the_override(args: list[str], runner: Runner) -> None:
    line = one_line(runner(train, args))
    assert args[-1].partition("=")[0] in line, line


MALFORMED_FILES = {
    "yaml syntax": ("bad.yaml", "hidden_size: [1, 2\n", ["bad.yaml"]),
    "json syntax": ("bad.json", '{"hidden_size": }\n', ["bad.json"]),
    "toml syntax": ("bad.toml", "hidden_size = \n", ["bad.toml"]),
    "wrong type inside": ("wrong.yaml", "hidden_size: abc\n", ["wrong.yaml", "hidden_size"]),
    "unknown key inside": (
        "typo.yaml",
        "hidden_sise: 3\n",
        ["typo.yaml", "Did you mean 'hidden_size'?"],
    ),
    "target not importable": (
        "target.yaml",
        "_target_: nosuchmodule.Model\n",
        ["target.yaml", "nosuchmodule"],
    ),
    "not a mapping": ("list.yaml", "- 1\n- 2\n", ["list.yaml"]),
    "unknown extension": ("model.txt", "hidden_size: 3\n", ["model.txt"]),
}


@pytest.mark.parametrize(
    ("name", "text", "expected"), MALFORMED_FILES.values(), ids=MALFORMED_FILES.keys()
)
def test_malformed_nested_file(
    in_tmp: Path, name: str, text: str, expected: list[str], runner: Runner
) -> None:
    (in_tmp / name).write_text(text)
    line = one_line(runner(train, [f"model=@{name}"]))
    assert f"model=@{name}" in line
    for part in expected:
        assert part in line, (part, line)


WHOLE_FILES = {
    "yaml syntax": ("bad.yaml", "_target_: x\nepochs: [1, 2\n"),
    "json syntax": ("bad.json", '{"_target_": }\n'),
    "toml syntax": ("bad.toml", "_target_ = \n"),
    "target not importable": ("target.yaml", "_target_: nosuchmodule.train\n_partial_: true\n"),
    "not a mapping": ("list.yaml", "- 1\n"),
    "empty": ("empty.yaml", ""),
}


@pytest.mark.parametrize("option", ["--factory", "--yaml"])
@pytest.mark.parametrize(("name", "text"), WHOLE_FILES.values(), ids=WHOLE_FILES.keys())
def test_malformed_starting_file(
    in_tmp: Path, option: str, name: str, text: str, runner: Runner
) -> None:
    (in_tmp / name).write_text(text)
    value = f"@{name}" if option == "--factory" else name
    line = one_line(runner(train, [option, value]))
    assert name in line, line


def test_load_of_a_folder_that_is_no_run_record(in_tmp: Path, runner: Runner) -> None:
    (in_tmp / "folder").mkdir()
    line = one_line(runner(train, ["--load", "folder"]))
    assert "folder" in line


def test_export_to_an_unknown_format(in_tmp: Path, runner: Runner) -> None:
    line = one_line(runner(train, ["--to-yaml", "out.txt"]))
    assert "out.txt" in line
    assert not (in_tmp / "out.txt").exists()


def test_export_where_no_file_can_be_written(in_tmp: Path, runner: Runner) -> None:
    (in_tmp / "a-file").write_text("")
    line = one_line(runner(train, ["--to-json", "a-file/out.json"]))
    assert "a-file/out.json" in line


def test_export_of_a_sweep(in_tmp: Path, runner: Runner) -> None:
    line = one_line(runner(train, ["-m", "epochs=1,2", "--to-yaml", "out.yaml"]))
    assert "--multirun" in line or "sweep" in line


# -- executors that are not installed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dist"), [("slurm", "nrun-exec-slurm"), ("docker", "nrun-exec-docker")]
)
def test_executor_not_installed(name: str, dist: str) -> None:
    if importlib.util.find_spec(f"nrun.exec.{name}") is not None:
        pytest.skip(f"{dist} is installed here (tox tests nrun-cli without it)")
    line = one_line(run_cli(train, [f"run.executor={name}"]))
    assert f"executor '{name}' is not installed; pip install {dist}" in line


@pytest.fixture
def only_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """Executor entry points as in an environment where only nrun-exec-local is installed."""
    import nrun.exec.executors as executors

    installed = executors._entry_points()
    monkeypatch.setattr(
        executors, "_entry_points", lambda: {k: v for k, v in installed.items() if k == "local"}
    )


@pytest.mark.parametrize(
    ("name", "dist"), [("slurm", "nrun-exec-slurm"), ("docker", "nrun-exec-docker")]
)
def test_executor_not_installed_simulated(
    only_local: None, name: str, dist: str, runner: Runner
) -> None:
    line = one_line(runner(train, [f"run.executor={name}"]))
    assert f"executor '{name}' is not installed; pip install {dist}" in line
    line = one_line(runner(train, [f"run.executor={name}", "run.executor.nodes=2"]))
    assert f"pip install {dist}" in line


def test_executor_not_installed_with_verbose(only_local: None, runner: Runner) -> None:
    result = runner(train, ["run.executor=slurm", "--verbose"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.endswith(
        "executor 'slurm' is not installed; pip install nrun-exec-slurm\n"
    )


def test_executor_not_installed_names_the_override(only_local: None, runner: Runner) -> None:
    line = one_line(runner(train, ["run.executor=slurm"]))
    assert "run.executor=slurm" in line


# -- errors of the command line's options ----------------------------------------------------------


def test_option_without_its_value(runner: Runner) -> None:
    result = runner(train, ["--name"])
    assert result.exit_code == 2
    assert "--name" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "runner",
    [
        pytest.param(
            "run_cli",
        ),
        "main",
    ],
    indirect=True,
)
def test_option_typo_suggests_the_option(runner: Runner) -> None:
    line = one_line(runner(train, ["--dry-run"]))
    assert "--dry-run" in line
    assert "Did you mean '--dryrun'?" in line


def test_option_typo_is_one_line(runner: Runner) -> None:
    line = one_line(runner(train, ["--dry-run"]))
    assert "--dry-run" in line


def test_unknown_rich_theme(runner: Runner) -> None:
    result = runner(train, ["--rich-theme", "purple"])
    assert result.exit_code == 2
    assert "purple" in result.stderr
    assert "monochrome" in result.stderr


@cli.entrypoint
def needs_name(name: str, epochs: int = 1) -> None:
    print(f"{name} {epochs}")


def test_missing_required_argument_is_a_usage_error(runner: Runner) -> None:
    line = one_line(runner(needs_name, ["epochs=2"]))
    assert "name" in line


# -- `run.` is a whole prefix ----------------------------------------------------------------------


@cli.entrypoint
def prefixed(runtime: int = 1, executor_count: int = 2, run_name: str = "a") -> None:
    print(f"runtime={runtime} executor_count={executor_count} run_name={run_name}")


def test_names_starting_with_run_are_ordinary_arguments(runner: Runner) -> None:
    result = runner(prefixed, ["runtime=5", "executor_count=3", "run_name=b"])
    assert (result.exit_code, result.stdout) == (0, "runtime=5 executor_count=3 run_name=b\n")


def test_names_starting_with_run_beside_run_settings(runner: Runner) -> None:
    result = runner(prefixed, ["runtime=7", "run.name=exp", "--dryrun"])
    assert result.exit_code == 0, result.stderr
    assert "7" in result.stdout


def test_errors_of_names_starting_with_run_are_the_tasks(runner: Runner) -> None:
    line = one_line(runner(prefixed, ["runtime=x"]))
    assert "runtime=x" in line and "int" in line
    line = one_line(runner(prefixed, ["executor_cont=3"]))
    assert "Did you mean 'executor_count'?" in line


def test_run_dot_is_a_run_setting(runner: Runner) -> None:
    line = one_line(runner(prefixed, ["run.runtime=5"]))
    assert "run.runtime=5" in line


# -- the user's exceptions keep their traceback ----------------------------------------------------


def _recurse(n: int) -> None:
    if n == 0:
        raise ValueError("bottom of the stack")
    _recurse(n - 1)


@cli.entrypoint
def failing(depth: int = 0) -> None:
    local_marker = "-".join(["visible", "local"])  # noqa: F841 - shown by --rich-show-locals
    _recurse(depth)


def test_user_exception_keeps_its_traceback(runner: Runner) -> None:
    result = runner(failing, [])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "in failing" in result.stderr and "in _recurse" in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: bottom of the stack")


def test_user_exception_with_verbose_too(runner: Runner) -> None:
    result = runner(failing, ["--verbose"])
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith("ValueError: bottom of the stack")


def test_user_exception_rich(runner: Runner) -> None:
    result = runner(failing, ["--rich-exceptions"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "╭" in result.stderr  # rich's box
    assert "in failing" in result.stderr
    assert "ValueError: bottom of the stack" in result.stderr
    assert "visible-local" in result.stderr  # locals are shown by default


def test_user_exception_rich_hide_locals(runner: Runner) -> None:
    result = runner(failing, ["--rich-exceptions", "--rich-hide-locals"])
    assert result.exit_code == 1
    assert "ValueError: bottom of the stack" in result.stderr
    assert "visible-local" not in result.stderr
    shown = runner(failing, ["--rich-exceptions", "--rich-show-locals"])
    assert "visible-local" in shown.stderr


def test_user_exception_rich_short_and_full(runner: Runner) -> None:
    full = runner(failing, ["depth=30", "--rich-exceptions", "--rich-traceback-full"])
    short = runner(failing, ["depth=30", "--rich-exceptions", "--rich-traceback-short"])
    assert full.exit_code == short.exit_code == 1
    assert full.stderr.count("in _recurse") >= 30
    assert short.stderr.count("in _recurse") < 10
    assert "ValueError: bottom of the stack" in short.stderr


def test_user_exception_plain_when_rich_is_off(runner: Runner) -> None:
    result = runner(failing, ["--no-rich-exceptions"])
    assert result.exit_code == 1
    assert "╭" not in result.stderr
    assert "Traceback (most recent call last)" in result.stderr


def test_user_exception_on_the_local_executor(tmp_path: Path) -> None:
    write(
        tmp_path / "script.py",
        """
        from nrun import cli

        @cli.entrypoint
        def boom(runtime: int = 1):
            print(f"starting {runtime}")
            raise ValueError(f"negative runtime {runtime}")

        if __name__ == "__main__":
            cli.main(boom)
        """,
    )
    result = run_py(tmp_path, "script.py", "runtime=-1", "run.executor=local", timeout=120)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "starting -1" in output
    assert "Traceback (most recent call last)" in output
    assert re.search(r"script\.py\", line \d+, in boom", output)
    assert "ValueError: negative runtime -1" in output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dryrun=1"], "'--dryrun' does not take a value"),
        (["epochs=1", "--name"], "'--name' requires an argument"),
        (["--rich-theme"], "'--rich-theme' requires an argument"),
    ],
)
def test_an_option_typer_refuses_is_one_line(args: list[str], named: str, runner: Runner) -> None:
    assert named in one_line(runner(train, args))
