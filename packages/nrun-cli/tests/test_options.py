"""Every RunContext option of the command line, and when a launch asks for confirmation.

Runs that go through an executor, read stdin as a program or need a terminal are real
subprocesses (`sys.executable script.py ...`); the rest run in-process with `run_cli`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nrun import cli
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from scripts import Runner, one_line, run_in_terminal, run_py, write

SCRIPT = """
import os
from nrun import cli


@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    write(tmp_path / "script.py", SCRIPT)
    return tmp_path


# -- in-process options ----------------------------------------------------------------------------


@cli.entrypoint
def train(model: str, epochs: int = 10) -> None:
    print(f"Training {model} for {epochs} epochs")


@cli.factory(target=train)
def resnet_recipe() -> Partial:
    return Partial(train, model="resnet", epochs=90)


@cli.factory(target=train)
def vit_recipe() -> Partial:
    return Partial(train, model="vit", epochs=300)


def test_dryrun_runs_nothing(runner: Runner) -> None:
    result = runner(train, ["model=alexnet", "--dryrun"])
    assert result.exit_code == 0, result.stderr
    assert "Dry run for task" in result.stdout
    assert "'alexnet'" in result.stdout
    assert "Training" not in result.stdout


def test_dryrun_with_an_executor_runs_and_records_nothing(runner: Runner) -> None:
    result = runner(train, ["model=alexnet", "run.executor=local", "--dryrun"])
    assert result.exit_code == 0, result.stderr
    assert "local" in result.stdout
    assert "Training" not in result.stdout
    assert Experiment.list() == []


@pytest.mark.parametrize("flag", ["--factory", "-f"])
def test_factory_by_name(flag: str, runner: Runner) -> None:
    result = runner(train, [flag, "vit_recipe"])
    assert (result.exit_code, result.stdout) == (0, "Training vit for 300 epochs\n")


def test_overrides_after_a_factory(runner: Runner) -> None:
    result = runner(train, ["--factory", "resnet_recipe", "epochs=3"])
    assert (result.exit_code, result.stdout) == (0, "Training resnet for 3 epochs\n")


@cli.entrypoint
def evaluate(split: str = "val", limit: int = 0) -> None:
    print(f"evaluating {split} limit={limit}")


@cli.factory(target=evaluate, is_target_default=True)
def evaluate_defaults() -> Partial:
    return Partial(evaluate, split="test", limit=100)


def test_a_target_default_factory_is_the_starting_point(runner: Runner) -> None:
    result = runner(evaluate, [])
    assert (result.exit_code, result.stdout) == (0, "evaluating test limit=100\n")
    result = runner(evaluate, ["limit=5"])
    assert result.stdout == "evaluating test limit=5\n"


def test_main_default_factory(runner: Runner) -> None:
    result = runner(train, ["epochs=2"], default_factory=resnet_recipe)
    assert (result.exit_code, result.stdout) == (0, "Training resnet for 2 epochs\n")


def test_repl_in_process(runner: Runner) -> None:
    result = runner(train, ["model=alexnet", "--repl"], input="config.epochs = 3\nrun()\n")
    assert result.exit_code == 0, result.stderr
    assert "Training alexnet for 3 epochs" in result.stdout


# -- --name, --direct, --detach, --tail-logs: runs through the local executor ---------------------


@pytest.mark.parametrize("flag", ["--name", "-n"])
def test_name_titles_the_experiment(script: Path, flag: str) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local", flag, "my-run")
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 10 epochs" in result.stdout
    [recorded] = Experiment.list()
    assert recorded["title"] == "my-run"
    assert Experiment.list(title="my-run") == [recorded]


def test_without_name_the_experiment_is_titled_by_the_entrypoint(script: Path) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local")
    assert result.returncode == 0, result.stderr
    [recorded] = Experiment.list()
    assert (recorded["title"], recorded["tasks"]) == ("train", ["train"])
    experiment = Experiment.from_id(recorded["id"])
    assert {s.value for s in experiment.status().values()} == {"SUCCEEDED"}
    assert experiment.logs("train") == "Training alexnet for 10 epochs"


def test_direct_runs_here_even_with_an_executor(script: Path) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local", "--direct")
    assert (result.returncode, result.stdout) == (0, "Training alexnet for 10 epochs\n")
    assert Experiment.list() == []


def test_no_direct_goes_through_the_executor(script: Path) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local", "--no-direct")
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 10 epochs" in result.stdout
    assert len(Experiment.list()) == 1


def test_detach_returns_and_the_run_goes_on(tmp_path: Path) -> None:
    write(
        tmp_path / "script.py",
        """
        import time
        from nrun import cli

        @cli.entrypoint
        def train(model: str, seconds: float = 1.0):
            time.sleep(seconds)
            print(f"Trained {model}")

        if __name__ == "__main__":
            cli.main(train)
        """,
    )
    result = run_py(tmp_path, "script.py", "model=alexnet", "run.executor=local", "--detach")
    assert result.returncode == 0, result.stderr
    assert "Trained" not in result.stdout
    [recorded] = Experiment.list()
    assert recorded["id"] in result.stdout + result.stderr  # says how to follow it
    experiment = Experiment.from_id(recorded["id"])
    states = experiment.wait(timeout=60)
    assert {s.value for s in states.values()} == {"SUCCEEDED"}
    assert experiment.logs("train") == "Trained alexnet"


def test_tail_logs_prints_the_output_once(script: Path) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local", "--tail-logs")
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("Training alexnet for 10 epochs") == 1


def test_no_tail_logs_prints_the_output_at_the_end(script: Path) -> None:
    result = run_py(script, "script.py", "model=alexnet", "run.executor=local", "--no-tail-logs")
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("Training alexnet for 10 epochs") == 1


# -- --load and --yaml -----------------------------------------------------------------------------


def _record(script: Path) -> Path:
    result = run_py(script, "script.py", "model=resnet", "epochs=3", "run.executor=local")
    assert result.returncode == 0, result.stderr
    [recorded] = Experiment.list()
    return Path(recorded["dir"]) / "tasks" / "train"


@pytest.mark.parametrize("flag", ["--load", "-l"])
def test_load_a_past_run(script: Path, flag: str) -> None:
    folder = _record(script)
    result = run_py(script, "script.py", flag, str(folder))
    assert (result.returncode, result.stdout) == (0, "Training resnet for 3 epochs\n")
    result = run_py(script, "script.py", flag, str(folder), "epochs=4")
    assert (result.returncode, result.stdout) == (0, "Training resnet for 4 epochs\n")


def test_load_a_past_runs_task_file(script: Path) -> None:
    folder = _record(script)
    result = run_py(script, "script.py", "--load", str(folder / "task.yaml"), "model=vit")
    assert (result.returncode, result.stdout) == (0, "Training vit for 3 epochs\n")


def test_yaml_loads_a_task_file(script: Path) -> None:
    write(script / "task.yaml", "_target_: script.train\n_partial_: true\nmodel: bert\n")
    result = run_py(script, "script.py", "--yaml", "task.yaml", "epochs=2")
    assert (result.returncode, result.stdout) == (0, "Training bert for 2 epochs\n")


# -- --repl through a pipe -------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--repl", "-r"])
def test_repl_through_a_pipe(script: Path, flag: str) -> None:
    commands = "print(config.model, config.epochs)\nconfig.epochs = 3\nrun()\n"
    result = run_py(script, "script.py", flag, "model=alexnet", input=commands)
    assert result.returncode == 0, result.stderr
    assert "alexnet 10" in result.stdout
    assert "Training alexnet for 3 epochs" in result.stdout
    assert "Training alexnet for 10 epochs" not in result.stdout  # only run() runs it


def test_repl_runs_as_often_as_asked(script: Path) -> None:
    commands = "run()\nconfig.model = 'vit'\nrun()\n"
    result = run_py(script, "script.py", "--repl", "model=alexnet", input=commands)
    assert result.returncode == 0, result.stderr
    first = result.stdout.index("Training alexnet for 10 epochs")
    assert result.stdout.index("Training vit for 10 epochs") > first


def test_repl_ends_at_the_end_of_its_input(script: Path) -> None:
    result = run_py(script, "script.py", "--repl", "model=alexnet", input="")
    assert result.returncode == 0, result.stderr
    assert "Training" not in result.stdout


def test_repl_starts_from_a_file(script: Path) -> None:
    write(script / "task.yaml", "_target_: script.train\n_partial_: true\nmodel: bert\n")
    result = run_py(script, "script.py", "--repl", "--yaml", "task.yaml", input="run()\n")
    assert result.returncode == 0, result.stderr
    assert "Training bert for 10 epochs" in result.stdout


def test_repl_survives_an_error_in_the_task(tmp_path: Path) -> None:
    write(
        tmp_path / "script.py",
        """
        from nrun import cli

        @cli.entrypoint
        def train(fail: bool = True):
            if fail:
                raise RuntimeError("first try fails")
            print("second try works")

        if __name__ == "__main__":
            cli.main(train)
        """,
    )
    result = run_py(tmp_path, "script.py", "--repl", input="run()\nconfig.fail = False\nrun()\n")
    assert "RuntimeError: first try fails" in result.stderr
    assert "second try works" in result.stdout


# -- --multirun ------------------------------------------------------------------------------------

SWEEP = """
from nrun import cli


@cli.entrypoint
def train(a: int = 0, b: int = 0, tag: str = "x"):
    print(f"a={a} b={b} tag={tag}")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.mark.parametrize("flag", ["--multirun", "-m"])
def test_multirun_is_one_experiment_of_every_combination(tmp_path: Path, flag: str) -> None:
    write(tmp_path / "script.py", SWEEP)
    result = run_py(tmp_path, "script.py", flag, "a=1,2", "b=3,4")
    assert result.returncode == 0, result.stderr
    for a in (1, 2):
        for b in (3, 4):
            assert f"a={a} b={b} tag=x" in result.stdout
    [recorded] = Experiment.list()
    assert len(recorded["tasks"]) == 4
    experiment = Experiment.from_id(recorded["id"])
    assert {s.value for s in experiment.status().values()} == {"SUCCEEDED"}
    outputs = sorted(experiment.logs(name) for name in experiment.tasks)
    assert outputs == ["a=1 b=3 tag=x", "a=1 b=4 tag=x", "a=2 b=3 tag=x", "a=2 b=4 tag=x"]
    for name in experiment.tasks:
        job = json.loads((Path(recorded["dir"]) / "tasks" / name / "job.json").read_text())
        assert job["executor"] == "local"


def test_multirun_dry_run_shows_every_task_and_runs_nothing(tmp_path: Path) -> None:
    write(tmp_path / "script.py", SWEEP)
    result = run_py(tmp_path, "script.py", "-m", "a=1,2", "b=3,4", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Resolved Arguments") == 4
    assert "a=1 b=3" not in result.stdout
    assert Experiment.list() == []


def test_multirun_keeps_quoted_commas(tmp_path: Path) -> None:
    write(tmp_path / "script.py", SWEEP)
    result = run_py(tmp_path, "script.py", "-m", "a=1,2", 'tag="p,q"')
    assert result.returncode == 0, result.stderr
    assert "a=1 b=0 tag=p,q" in result.stdout and "a=2 b=0 tag=p,q" in result.stdout
    [recorded] = Experiment.list()
    assert len(recorded["tasks"]) == 2


def test_multirun_failure_of_one_task_fails_the_command(tmp_path: Path) -> None:
    write(
        tmp_path / "script.py",
        """
        from nrun import cli

        @cli.entrypoint
        def train(a: int = 0):
            if a == 2:
                raise ValueError("a=2 is bad")
            print(f"a={a} fine")

        if __name__ == "__main__":
            cli.main(train)
        """,
    )
    result = run_py(tmp_path, "script.py", "-m", "a=1,2,3")
    assert result.returncode == 1
    assert "a=1 fine" in result.stdout and "a=3 fine" in result.stdout
    assert "ValueError: a=2 is bad" in result.stdout + result.stderr


# -- --rich-theme ----------------------------------------------------------------------------------

COLOR = re.compile(r"\x1b\[(3[0-7]|9[0-7]|38;)")


@pytest.mark.parametrize("theme", ["dark", "light", "monochrome"])
def test_rich_theme_is_accepted(script: Path, theme: str) -> None:
    result = run_py(script, "script.py", "model=alexnet", "--rich-theme", theme)
    assert (result.returncode, result.stdout) == (0, "Training alexnet for 10 epochs\n")


def test_rich_theme_monochrome_prints_no_colour(script: Path) -> None:
    colour = {"FORCE_COLOR": "1", "NO_COLOR": "", "TERM": "xterm-256color"}
    coloured = run_py(script, "script.py", "model=alexnet", "--dryrun", env=colour)
    plain = run_py(
        script, "script.py", "model=alexnet", "--dryrun", "--rich-theme", "monochrome", env=colour
    )
    assert COLOR.search(coloured.stdout)
    assert plain.returncode == 0
    assert not COLOR.search(plain.stdout)


def test_rich_theme_monochrome_applies_to_tracebacks(tmp_path: Path) -> None:
    write(
        tmp_path / "script.py",
        """
        from nrun import cli

        @cli.entrypoint
        def train():
            raise ValueError("boom")

        if __name__ == "__main__":
            cli.main(train)
        """,
    )
    colour = {"FORCE_COLOR": "1", "NO_COLOR": "", "TERM": "xterm-256color"}
    result = run_py(
        tmp_path, "script.py", "--rich-exceptions", "--rich-theme", "monochrome", env=colour
    )
    assert result.returncode == 1
    assert "ValueError" in result.stderr
    assert not COLOR.search(result.stderr)


# -- confirmation: asked on a terminal only --------------------------------------------------------

REMOTE = '''
import dataclasses
from typing import ClassVar

from nrun import cli
from nrun.config import autoconvert
from nrun.exec.base import Executor
from nrun.exec.local import LocalExecutor


@dataclasses.dataclass(kw_only=True)
class FarAway(Executor):
    """A remote executor (it is not `local`) that runs its jobs through a LocalExecutor."""

    name: ClassVar[str] = "faraway"

    def _here(self):
        return LocalExecutor(job_dir=self.job_dir, env_vars=self.env_vars)

    def launch(self, job):
        return self._here().launch(job)

    def status(self, job_id):
        return self._here().status(job_id)

    def logs(self, job_id, follow=False):
        return self._here().logs(job_id, follow)

    def cancel(self, job_id):
        self._here().cancel(job_id)


@cli.factory
@autoconvert
def faraway() -> Executor:
    return FarAway()


@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")


@cli.entrypoint(require_confirmation=False)
def quick(model: str):
    print(f"Quick {model}")


@cli.entrypoint(skip_confirmation=True)
def skipping(model: str):
    print(f"Skipping {model}")


if __name__ == "__main__":
    import sys

    entry = {"quick": quick, "skipping": skipping}.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if entry is not None:
        cli.main(entry, argv=sys.argv[2:])
    else:
        cli.main(train)
'''


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    write(tmp_path / "script.py", REMOTE)
    return tmp_path


def test_remote_without_a_terminal_refuses_and_asks_for_yes(remote: Path) -> None:
    result = run_py(remote, "script.py", "model=alexnet", "run.executor=faraway")
    assert result.returncode != 0
    assert "--yes" in one_line(result.stderr)
    assert "Training" not in result.stdout
    assert Experiment.list() == []


@pytest.mark.parametrize("flag", ["--yes", "-y", "--no-confirm"])
def test_remote_without_a_terminal_runs_with_yes(remote: Path, flag: str) -> None:
    result = run_py(remote, "script.py", "model=alexnet", "run.executor=faraway", flag)
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 10 epochs" in result.stdout
    [recorded] = Experiment.list()
    assert recorded["tasks"] == ["train"]


def test_local_executor_without_a_terminal_proceeds(remote: Path) -> None:
    result = run_py(remote, "script.py", "model=alexnet", "run.executor=local")
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 10 epochs" in result.stdout
    assert "Continue?" not in result.stdout + result.stderr


def test_direct_run_without_a_terminal_proceeds(remote: Path) -> None:
    result = run_py(remote, "script.py", "model=alexnet")
    assert (result.returncode, result.stdout) == (0, "Training alexnet for 10 epochs\n")


def test_remote_dry_run_without_a_terminal_needs_no_yes(remote: Path) -> None:
    result = run_py(remote, "script.py", "model=alexnet", "run.executor=faraway", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert "faraway" in result.stdout


# a direct run, one through the local executor and one through a remote one
ASKING = pytest.mark.parametrize(
    "args",
    [
        ["model=alexnet"],
        ["model=alexnet", "run.executor=local"],
        ["model=alexnet", "run.executor=faraway"],
    ],
    ids=["direct", "local", "remote"],
)


@ASKING
def test_a_terminal_is_asked_and_yes_runs(remote: Path, args: list[str]) -> None:
    code, out = run_in_terminal(remote, "script.py", *args, answers={"Continue? [y/N]: ": "y\n"})
    assert code == 0, out
    asked = out.index("Continue? [y/N]: y")
    assert out.index("Training alexnet for 10 epochs", asked) > asked


@ASKING
def test_a_terminal_answering_no_runs_nothing(remote: Path, args: list[str]) -> None:
    code, out = run_in_terminal(remote, "script.py", *args, answers={"Continue? [y/N]: ": "n\n"})
    assert code != 0
    assert "Continue? [y/N]: n" in out
    assert "Training alexnet" not in out
    assert Experiment.list() == []


@pytest.mark.parametrize("flag", ["--yes", "-y", "--no-confirm"])
def test_yes_skips_the_question_on_a_terminal(remote: Path, flag: str) -> None:
    code, out = run_in_terminal(remote, "script.py", "model=alexnet", "run.executor=faraway", flag)
    assert code == 0, out
    assert "Continue?" not in out
    assert "Training alexnet for 10 epochs" in out


def test_dry_run_on_a_terminal_asks_nothing(remote: Path) -> None:
    code, out = run_in_terminal(remote, "script.py", "model=alexnet", "--dryrun")
    assert code == 0, out
    assert "Continue?" not in out
    assert "Training" not in out


@pytest.mark.parametrize(("command", "printed"), [("quick", "Quick"), ("skipping", "Skipping")])
def test_entrypoints_that_need_no_confirmation(remote: Path, command: str, printed: str) -> None:
    code, out = run_in_terminal(remote, "script.py", command, "model=alexnet")
    assert code == 0, out
    assert "Continue?" not in out
    assert f"{printed} alexnet" in out
