"""`--help` (the guide's section 6) and shell completion, run as real programs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nrun import cli
from nrun.cli.testing import run_cli
from scripts import TASK_CONFIGS, write
from scripts import run_py as run_script


def run_py(
    cwd: Path, *args: str, columns: int = 200, **options: Any
) -> subprocess.CompletedProcess[str]:
    """`scripts.run_py`, 200 columns wide unless told: the help panels' rows fit on one line."""
    return run_script(cwd, *args, columns=columns, timeout=120, **options)


# the guide's task module: the shared configs, then its entrypoint
TASK_ENTRYPOINT = '''

@cli.entrypoint
def train_model(model: Model, optimizer: Optimizer, epochs: int = 10, batch_size: int = 32):
    """Train a model using the specified configuration."""
    print("ran")


@cli.factory(target=train_model)
def train_recipe() -> Partial:
    return Partial(train_model, model=Config(Model), optimizer=Config(Optimizer))


if __name__ == "__main__":
    cli.main(train_model)
'''
TASK = TASK_CONFIGS + TASK_ENTRYPOINT

OPTIONS = [
    ("--name", "-n"),
    ("--direct", "--no-direct"),
    ("--dryrun", None),
    ("--factory", "-f"),
    ("--load", "-l"),
    ("--yaml", None),
    ("--repl", "-r"),
    ("--detach", None),
    ("--yes", "-y"),
    ("--no-confirm", None),
    ("--tail-logs", "--no-tail-logs"),
    ("--verbose", "-v"),
    ("--rich-exceptions", "--no-rich-exceptions"),
    ("--rich-traceback-short", "--rich-traceback-full"),
    ("--rich-show-locals", "--rich-hide-locals"),
    ("--rich-theme", None),
    ("--to-yaml", None),
    ("--to-toml", None),
    ("--to-json", None),
    ("--lazy", None),
    ("--multirun", "-m"),
    ("--install-completion", None),
    ("--show-completion", None),
    ("--help", None),
]


def def_lines(source: str, name: str) -> set[int]:
    """The lines of `def name` and of the decorators above it (either is the factory's line)."""
    lines = textwrap.dedent(source).lstrip("\n").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    found = {at + 1}
    while at > 0 and lines[at - 1].startswith("@"):
        at -= 1
        found.add(at + 1)
    return found


def panel(out: str, title: str) -> list[list[str]]:
    """The rows (cells split on runs of 2+ spaces) of the rich panel whose title starts so."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title}"))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("╰"):
            break
        cells = [c for c in re.split(r"\s{2,}", line.strip("│").strip()) if c]
        if cells:
            rows.append(cells)
    return rows


@pytest.fixture(scope="module")
def help_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("help")
    write(folder / "task.py", TASK)
    result = run_py(folder, "task.py", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_help_usage_and_entrypoint(help_text: str) -> None:
    assert re.search(r"Usage: task\.py \[OPTIONS\]", help_text)
    assert "[Entrypoint] train_model" in help_text
    assert "Train a model using the specified configuration." in help_text
    assert "ran" not in help_text.split()


def test_help_usage_line_is_the_guides(help_text: str) -> None:
    assert re.search(r"^\s*Usage: task\.py \[OPTIONS\] \[ARGUMENTS\]\s*$", help_text, re.M)


@pytest.mark.parametrize(("option", "other"), OPTIONS, ids=[o for o, _ in OPTIONS])
def test_help_lists_every_option(help_text: str, option: str, other: str | None) -> None:
    options = panel(help_text, "Options")
    [row] = [r for r in options if option in r[0].split(",")]
    if other is not None:
        assert other in row[0].split(",") + row[1:], row


def test_help_lists_the_entrypoint_factories(help_text: str) -> None:
    [row] = panel(help_text, "Pre-loaded entrypoint factories, run with --factory")
    assert row[:2] == ["train_recipe", "task.train_recipe"]
    assert row[2] in {f"line {n}" for n in def_lines(TASK, "train_recipe")}, row


def test_help_lists_the_arguments_with_types_and_defaults(help_text: str) -> None:
    assert panel(help_text, "Arguments") == [
        ["model", "task.Model"],
        ["optimizer", "task.Optimizer"],
        ["epochs", "int", "10"],
        ["batch_size", "int", "32"],
    ]


@pytest.mark.parametrize(
    ("argument", "type_name", "factory"),
    [("model", "task.Model", "my_model"), ("optimizer", "task.Optimizer", "my_optimizer")],
)
def test_help_lists_the_factories_of_each_argument(
    help_text: str, argument: str, type_name: str, factory: str
) -> None:
    [row] = panel(help_text, f"Factory for {argument}: {type_name}")
    assert row[:2] == [factory, f"task.{factory}"]
    assert row[2] in {f"line {n}" for n in def_lines(TASK, factory)}, row


def test_help_has_no_factory_panel_for_plain_arguments(help_text: str) -> None:
    assert "Factory for epochs" not in help_text
    assert "Factory for batch_size" not in help_text


def test_help_on_an_80_column_terminal_keeps_defaults_and_lines(tmp_path: Path) -> None:
    write(tmp_path / "task.py", TASK)
    result = run_py(tmp_path, "task.py", "--help", columns=80)
    assert result.returncode == 0
    rows = panel(result.stdout, "Arguments")
    assert ["epochs", "int", "10"] in rows
    assert ["batch_size", "int", "32"] in rows
    [row] = panel(result.stdout, "Factory for model")
    assert row[-1].startswith("line ")


def test_short_help_option(tmp_path: Path) -> None:
    write(tmp_path / "task.py", TASK)
    long, short = run_py(tmp_path, "task.py", "--help"), run_py(tmp_path, "task.py", "-h")
    assert short.returncode == 0
    assert short.stdout == long.stdout


def test_help_wins_over_arguments_and_runs_nothing(tmp_path: Path) -> None:
    write(tmp_path / "task.py", TASK)
    result = run_py(tmp_path, "task.py", "epochs=3", "--help")
    assert result.returncode == 0
    assert "[Entrypoint] train_model" in result.stdout
    assert "ran" not in result.stdout.split()


@cli.entrypoint(name="fit", help="Fit something.")
def named(steps: int = 3) -> None:
    print(f"steps={steps}")


def test_help_in_process_uses_the_entrypoints_name_and_help() -> None:
    result = run_cli(named, ["--help"])
    assert result.exit_code == 0
    assert "[Entrypoint] fit" in result.stdout
    assert "Fit something." in result.stdout
    assert ["steps", "int", "3"] in panel(result.stdout, "Arguments")


def test_help_of_a_group_lists_its_commands(tmp_path: Path) -> None:
    write(
        tmp_path / "tool.py",
        """
        from nrun import cli

        @cli.entrypoint
        def train(epochs: int = 1):
            print(f"train {epochs}")

        @cli.entrypoint
        def evaluate(split: str = "val"):
            print(f"evaluate {split}")

        if __name__ == "__main__":
            cli.main({"train": train, "evaluate": evaluate})
        """,
    )
    result = run_py(tmp_path, "tool.py", "--help")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "evaluate" in result.stdout
    ran = run_py(tmp_path, "tool.py", "evaluate", "split=test")
    assert (ran.returncode, ran.stdout) == (0, "evaluate test\n")
    ran = run_py(tmp_path, "tool.py", "train", "epochs=4")
    assert (ran.returncode, ran.stdout) == (0, "train 4\n")
    helped = run_py(tmp_path, "tool.py", "train", "--help")
    assert "[Entrypoint] train" in helped.stdout


# -- completion ------------------------------------------------------------------------------------

SCRIPT = """
from dataclasses import dataclass
from nrun import cli


@dataclass
class ModelConfig:
    size: int = 128
    layers: int = 2


@cli.factory
def small() -> ModelConfig:
    return ModelConfig(size=8)


@cli.factory
def large() -> ModelConfig:
    return ModelConfig(size=4096)


@cli.entrypoint
def train(model_config: ModelConfig, epochs: int = 10):
    print("TRAINING")


if __name__ == "__main__":
    cli.main(train)
"""

NO_DETECTION = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


@pytest.fixture
def script(tmp_path: Path) -> Path:
    write(tmp_path / "script.py", SCRIPT)
    return tmp_path


def complete_var(cwd: Path) -> str:
    """The variable the bash completion script sets (derived from the program's name)."""
    shown = run_py(cwd, "script.py", "--show-completion", "bash", env=NO_DETECTION)
    assert shown.returncode == 0, shown.stderr
    found = re.search(r"(\S+)=complete_bash", shown.stdout)
    assert found, shown.stdout
    return found.group(1)


def complete(cwd: Path, *words: str) -> list[str]:
    """What bash completion offers for the last of `words` (typed after `script.py`)."""
    env = {
        complete_var(cwd): "complete_bash",
        "COMP_WORDS": " ".join(["script.py", *words]),
        "COMP_CWORD": str(len(words)),
    }
    result = run_py(cwd, "script.py", env=env)
    assert result.returncode == 0, result.stderr
    assert "TRAINING" not in result.stdout
    return result.stdout.split()


def test_show_completion_prints_the_bash_script(script: Path) -> None:
    result = run_py(script, "script.py", "--show-completion", "bash", env=NO_DETECTION)
    assert result.returncode == 0
    assert "complete_bash" in result.stdout
    assert re.search(r"complete .*-F \S+ script\.py", result.stdout)
    assert complete_var(script).startswith("_SCRIPT")
    assert complete_var(script).endswith("_COMPLETE")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_show_completion_for_other_shells(script: Path, shell: str) -> None:
    result = run_py(script, "script.py", "--show-completion", shell, env=NO_DETECTION)
    assert result.returncode == 0
    assert f"complete_{shell}" in result.stdout


def test_install_completion_writes_the_script(script: Path, tmp_path: Path) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    result = run_py(
        script,
        "script.py",
        "--install-completion",
        "bash",
        env={**NO_DETECTION, "HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert "completion installed" in result.stdout
    installed = list(home.rglob("script.py*"))
    assert installed, list(home.rglob("*"))
    assert "complete_bash" in installed[0].read_text()
    assert str(installed[0]) in (home / ".bashrc").read_text()


def test_completion_offers_argument_names(script: Path) -> None:
    offered = complete(script, "")
    assert "model_config=" in offered
    assert "epochs=" in offered


def test_completion_offers_nested_argument_paths(script: Path) -> None:
    assert complete(script, "model_config.") == ["model_config.size=", "model_config.layers="]
    assert complete(script, "model_config.s") == ["model_config.size="]


def test_completion_offers_factories_after_the_argument(script: Path) -> None:
    assert sorted(complete(script, "model_config=")) == ["model_config=large", "model_config=small"]
    assert complete(script, "model_config=sm") == ["model_config=small"]


def test_completion_offers_installed_executors(script: Path) -> None:
    assert "run.executor=local" in complete(script, "run.executor=")
    assert "run.executor=" in complete(script, "run.ex")


def test_completion_after_other_arguments(script: Path) -> None:
    assert complete(script, "epochs=3", "model_config.l") == ["model_config.layers="]


def test_completion_of_options(script: Path) -> None:
    assert complete(script, "--dry") == ["--dryrun"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_completion_in_a_real_bash(script: Path, tmp_path: Path) -> None:
    """The script `--show-completion` prints, sourced by bash, completes a nested path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "script.py"
    program.write_text(f"#!{sys.executable}\n" + (script / "script.py").read_text())
    program.chmod(0o755)
    shown = run_py(script, "script.py", "--show-completion", "bash", env=NO_DETECTION)
    function = re.search(r"complete .*-F (\S+) script\.py", shown.stdout)
    assert function
    (tmp_path / "completion.sh").write_text(shown.stdout)
    command = (
        f"source {tmp_path / 'completion.sh'}; "
        "COMP_WORDS=(script.py model_config.); COMP_CWORD=1; "
        f"{function.group(1)} script.py; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", command],
        cwd=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["model_config.size=", "model_config.layers="]
