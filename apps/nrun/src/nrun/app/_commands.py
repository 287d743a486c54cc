"""The `nrun` typer app: `run`, `experiment list|show|status|watch|logs|cancel|report`, `executors`.

Imported only when the command runs (from `nrun.app.main`); each command imports what it needs
(nrun.cli, nrun.exec.experiment, rich) in its body, so `nrun --help` imports neither fiddle
nor any executor.
"""

# no `from __future__ import annotations`: typer reads the commands' annotations at runtime
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer  # noqa: TID253 - this module is the typer app, imported only by main()

__all__ = ["app"]

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130

# extras of this distribution that install an executor (`nrun executors` suggests them)
_EXTRAS = {"docker": "nrun[docker]", "slurm": "nrun[slurm]"}

app = typer.Typer(
    name="nrun",
    help="Run any Python function with nested overrides on any executor, and follow the "
    "experiments it records.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)
experiment_app = typer.Typer(
    help="Reopen recorded experiments (under $NRUN_HOME, default ~/.nrun): list, show, status, "
    "watch, logs, cancel, report.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    print(message, file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Experiment, executor and disk errors as one line: exit 2 for a user's mistake, else 1.

    A user's mistake is an unknown experiment id, task or executor; an executor that cannot
    answer (a daemon or cluster that is down) and a record that cannot be written (a full
    disk: the message names the file) exit 1.
    """
    from nrun.config.atomic import WriteError
    from nrun.exec.base import ExecutorError
    from nrun.exec.executors import ExecutorNotInstalled
    from nrun.exec.store import ExperimentError

    try:
        yield
    except (ExperimentError, ExecutorNotInstalled) as exc:
        _fail(str(exc))
    except (ExecutorError, WriteError) as exc:
        _fail(str(exc), EXIT_FAILED)


def _console() -> Any:
    from rich.console import Console

    return Console()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"nrun {version('nrun')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Run any Python function with nested overrides on any executor, and follow experiments."""


@app.command(
    # everything after the target is the function's command line, `--help` included
    context_settings={"allow_interspersed_args": False},
    options_metavar="",
    no_args_is_help=True,
)
def run(
    target: Annotated[
        str,
        typer.Argument(
            metavar="MODULE:FUNCTION",
            help="The function (module:function or module.function), importable from here.",
            show_default=False,
        ),
    ],
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="ARGS",
            help="The function's command line: nrun.cli's options and overrides (--dryrun, "
            "--yes, --to-yaml FILE, a.b=1, run.executor=NAME …); nrun run MODULE:FUNCTION "
            "--help lists them.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a function as `cli.main(function)` would: overrides, options, executors.

    The current directory is importable (as for `python -m`): `nrun run train:main epochs=3`
    runs `main` of `./train.py`.
    """
    from nrun import cli
    from nrun.app._target import TargetError, import_target

    try:
        fn = import_target(target)
    except TargetError as exc:
        _fail(str(exc))
    cli.main(fn, argv=arguments or [], prog=f"nrun run {target}")


@experiment_app.command("list")
def list_experiments(
    title: Annotated[
        str | None, typer.Option("--title", "-t", help="Only experiments with this title.")
    ] = None,
) -> None:
    """List recorded experiments, newest first."""
    from nrun.app._states import experiment_states
    from nrun.app._tables import experiments_table
    from nrun.exec.experiment import Experiment
    from nrun.exec.store import experiments_root

    with _one_line_errors():
        found = Experiment.list(title)
    if not found:
        print(f"no experiments under '{experiments_root()}'", file=sys.stderr)
        return
    _console().print(experiments_table(found, experiment_states(found)))


ExperimentId = Annotated[
    str, typer.Argument(metavar="ID", help="The experiment's id (see nrun experiment list).")
]


@experiment_app.command("show")
def show(experiment_id: ExperimentId) -> None:
    """Show an experiment's tasks: state, job id, executor, times, exit code."""
    from nrun.exec.experiment import Experiment

    with _one_line_errors():
        Experiment.from_id(experiment_id).show(_console())


@experiment_app.command("status")
def status(experiment_id: ExperimentId) -> None:
    """Show the state of each task of an experiment, asking the executors about live jobs."""
    from nrun.app._tables import status_table
    from nrun.exec.experiment import Experiment

    with _one_line_errors():
        experiment = Experiment.from_id(experiment_id)
        _console().print(status_table(experiment.id, experiment.statuses()))


@experiment_app.command("logs")
def logs(
    experiment_id: ExperimentId,
    task: Annotated[
        str | None,
        typer.Argument(
            metavar="[TASK]",
            help="The task's name (not needed when the experiment has one task).",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print new lines until the task ends.")
    ] = False,
) -> None:
    """Print a task's output."""
    from nrun.exec.experiment import Experiment

    with _one_line_errors():
        experiment = Experiment.from_id(experiment_id)
        if task is None:
            task = _only_task(experiment.id, experiment.tasks)
        if not follow:
            text = experiment.logs(task)
            if text:
                print(text)
            return
        try:
            for line in experiment.logs(task, follow=True):
                print(line, flush=True)
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None


@experiment_app.command("watch")
def watch(
    experiment_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="The experiment's id (default: the newest one).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Follow an experiment live until every task has ended; exit 1 if any failed.

    Ctrl-C stops watching; the jobs keep running.
    """
    from nrun.exec.watch import watch as follow

    with _one_line_errors():
        code = follow(experiment_id, console=_console())
    raise typer.Exit(code)


def _only_task(experiment_id: str, tasks: list[str]) -> str:
    """The experiment's one task; with none or several, the line that says which to name."""
    if len(tasks) == 1:
        return tasks[0]
    if not tasks:
        _fail(f"experiment '{experiment_id}' has no tasks")
    _fail(
        f"experiment '{experiment_id}' has {len(tasks)} tasks ({', '.join(tasks)}): "
        f"name one, e.g. nrun experiment logs {experiment_id} {tasks[0]}"
    )


@experiment_app.command("cancel")
def cancel(
    experiment_id: ExperimentId,
    task: Annotated[
        str | None,
        typer.Argument(metavar="TASK", help="Only this task (default: every unfinished one)."),
    ] = None,
) -> None:
    """Cancel an experiment's unfinished tasks (or one of them); show the states after."""
    from nrun.app._tables import status_table
    from nrun.exec.experiment import Experiment

    with _one_line_errors():
        experiment = Experiment.from_id(experiment_id)
        experiment.cancel(task)
        statuses = experiment.statuses()
        shown = statuses if task is None else {task: statuses[task]}
        _console().print(status_table(experiment.id, shown))


@experiment_app.command("report")
def report(
    experiment_id: ExperimentId,
    html: Annotated[
        Path,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the report to FILE: one HTML page that opens offline.",
            show_default=False,
        ),
    ],
) -> None:
    """Write an experiment's report: a timeline of its tasks and their configs, in one file."""
    from nrun.app._report import write_report

    with _one_line_errors():
        print(write_report(experiment_id, html))


@app.command("executors")
def executors(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Only this executor.", show_default=False),
    ] = None,
) -> None:
    """List the installed executors (run.executor=NAME) and the fields each one takes."""
    from nrun.app._tables import executor_table
    from nrun.exec.executors import DISTRIBUTIONS, executor_class, executor_names

    console = _console()
    if name is not None:
        with _one_line_errors():
            cls = executor_class(name)
        console.print(executor_table(name, cls))
        return
    installed = executor_names()
    for number, each in enumerate(installed):
        if number:
            console.print()
        try:
            cls = executor_class(each)
        except Exception as exc:  # a broken plugin must not hide the others
            console.print(f"{each}: cannot load: {type(exc).__name__}: {exc}", markup=False)
            continue
        console.print(executor_table(each, cls))
    missing = [n for n in DISTRIBUTIONS if n not in installed]
    if missing:
        console.print()
    for each in missing:
        fix = _EXTRAS.get(each, DISTRIBUTIONS[each])
        line = f"{each}: not installed; pip install '{fix}'"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
