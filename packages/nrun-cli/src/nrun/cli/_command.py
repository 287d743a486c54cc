"""The typer command of an entrypoint: RunContext options, `[ARGUMENTS]...`, help and completion."""

# no `from __future__ import annotations`: typer reads the command's annotations at runtime, and
# they refer to this function's locals
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer  # noqa: TID253 - imported only when a command line runs (from cli.main)
import typer.core  # noqa: TID253
import typer.main  # noqa: TID253

from nrun.cli._entrypoint import Entrypoint, entrypoint_of
from nrun.cli._run import RunOptions, run_entrypoint
from nrun.config import did_you_mean

__all__ = ["build_app"]

_CONTEXT = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": ["--help", "-h"],
}


def _command_class(fn: Callable[..., Any]) -> type[typer.core.TyperCommand]:
    class EntrypointCommand(typer.core.TyperCommand):
        """Typer's help, then the panels that list arguments and factories."""

        def collect_usage_pieces(self, ctx: Any) -> list[str]:
            return ["[OPTIONS]", "[ARGUMENTS]"]

        def format_help(self, ctx: Any, formatter: Any) -> None:
            super().format_help(ctx, formatter)
            from rich.console import Console

            from nrun.cli._display import help_panels

            console = Console()
            for panel in help_panels(fn):
                console.print(panel)

    return EntrypointCommand


def _completer(fn: Callable[..., Any]) -> Callable[[str], list[str]]:
    """Completes argument paths (`model.`, `epochs=`) and, after `=`, factory names."""

    def complete(incomplete: str) -> list[str]:
        from nrun.cli._factories import registry

        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = {}
        if "=" in incomplete:
            key, _, prefix = incomplete.partition("=")
            top = key.split(".", 1)[0]
            if key == "run.executor":
                from nrun.exec.executors import executor_names

                names = executor_names()
            elif top in hints and "." not in key:
                names = [f.name for f in registry.for_argument(fn, top, hints[top])]
            else:
                names = []
            return [f"{key}={n}" for n in names if n.startswith(prefix)]
        paths = []
        for name in inspect.signature(fn).parameters:
            paths.append(f"{name}=")
            tp = hints.get(name)
            if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
                paths += [f"{name}.{field}=" for field in tp.__dataclass_fields__]
        paths += ["run.executor=", "run.name="]
        return [p for p in paths if p.startswith(incomplete)]

    return complete


def _add(
    app: typer.Typer,
    entry: Entrypoint,
    command_name: str | None,
    default_factory: Callable[..., Any] | None,
    default_executor: Any,
) -> None:
    """Register `entry` on `app` as a command with every RunContext option."""

    def command(
        name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the run")] = None,
        direct: Annotated[
            bool, typer.Option("--direct/--no-direct", help="Execute the run directly")
        ] = False,
        dryrun: Annotated[
            bool, typer.Option("--dryrun", help="Print the resolved task and executor, run nothing")
        ] = False,
        factory: Annotated[
            str | None,
            typer.Option("--factory", "-f", help="Predefined factory to use (a name, or @file)"),
        ] = None,
        load: Annotated[
            str | None,
            typer.Option(
                "--load", "-l", help="Start from a past run's task record (its directory)"
            ),
        ] = None,
        yaml: Annotated[
            str | None, typer.Option("--yaml", help="Path to a YAML file to load")
        ] = None,
        repl: Annotated[bool, typer.Option("--repl", "-r", help="Enter interactive mode")] = False,
        detach: Annotated[bool, typer.Option("--detach", help="Detach from the run")] = False,
        yes: Annotated[
            bool,
            typer.Option("--yes", "--no-confirm", "-y", help="Skip confirmation before execution"),
        ] = False,
        tail_logs: Annotated[
            bool, typer.Option("--tail-logs/--no-tail-logs", help="Tail logs after execution")
        ] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Enable verbose logging")
        ] = False,
        rich_exceptions: Annotated[
            bool,
            typer.Option(
                "--rich-exceptions/--no-rich-exceptions", help="Enable rich exception formatting"
            ),
        ] = False,
        rich_traceback_short: Annotated[
            bool,
            typer.Option(
                "--rich-traceback-short/--rich-traceback-full", help="Control traceback verbosity"
            ),
        ] = False,
        rich_show_locals: Annotated[
            bool,
            typer.Option(
                "--rich-show-locals/--rich-hide-locals", help="Toggle local variables in exceptions"
            ),
        ] = True,
        rich_theme: Annotated[
            str | None, typer.Option("--rich-theme", help="Color theme (dark/light/monochrome)")
        ] = None,
        to_yaml: Annotated[
            str | None, typer.Option("--to-yaml", help="Export config to YAML file")
        ] = None,
        to_toml: Annotated[
            str | None, typer.Option("--to-toml", help="Export config to TOML file")
        ] = None,
        to_json: Annotated[
            str | None, typer.Option("--to-json", help="Export config to JSON file")
        ] = None,
        lazy: Annotated[
            bool,
            typer.Option(
                "--lazy", help="Resolve factories and files at launch, where the task runs"
            ),
        ] = False,
        multirun: Annotated[
            bool,
            typer.Option("--multirun", "-m", help="Run the sweep (a=1,2 b=3,4) as one experiment"),
        ] = False,
        arguments: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="[ARGUMENTS]",
                help="Overrides: a.b=1, model=factory(...), x=@file.yaml, run.executor=NAME",
                autocompletion=_completer(entry.fn),
                show_default=False,
                hidden=True,
            ),
        ] = None,
    ) -> None:
        options = RunOptions(**{k: v for k, v in locals().items() if k != "arguments"})
        code = run_entrypoint(
            entry,
            arguments or [],
            options,
            default_factory=default_factory,
            default_executor=default_executor,
        )
        if code:
            raise typer.Exit(code)

    help_text = f"[Entrypoint] {entry.name}\n\n{entry.help}".strip()
    app.command(
        command_name,
        help=help_text,
        cls=_command_class(entry.fn),
        context_settings=_CONTEXT,
    )(command)


def build_app(
    fn: Callable[..., Any] | Mapping[str, Callable[..., Any]] | typer.Typer,
    *,
    default_factory: Callable[..., Any] | None = None,
    default_executor: Any = None,
) -> typer.Typer:
    """A typer app for one entrypoint, or one subcommand per entrypoint of a mapping."""
    if isinstance(fn, typer.Typer):
        return fn
    app = typer.Typer(add_completion=True, rich_markup_mode="rich", pretty_exceptions_enable=False)
    runs: dict[str | None, Callable[[list[str], RunOptions], int]] = {}
    members = fn.items() if isinstance(fn, Mapping) else [(None, fn)]
    for name, member in members:
        entry = entrypoint_of(member)
        factory = default_factory if name is None else None
        _add(app, entry, name, factory, default_executor)
        runs[name] = functools.partial(
            run_entrypoint, entry, default_factory=factory, default_executor=default_executor
        )
    app.nrun_runs = runs  # type: ignore[attr-defined]
    return app


def run_fast(app: typer.Typer, args: list[str]) -> int | None:
    """Run a plain command line without click's parsing; None when typer must do it.

    Typer converts each parameter through pydantic, which costs a third of a second per
    process. Overrides and the RunContext flags need none of that, so a command line of only
    those is split here, using the options typer declared; help, completion, subcommand
    groups' help and anything unexpected go through typer as usual.
    """
    import os

    runs = getattr(app, "nrun_runs", None)
    if runs is None or any(key.endswith("_COMPLETE") for key in os.environ):
        return None
    command: Any = typer.main.get_command(app)
    name: str | None = None
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict):  # a group of subcommands
        if not args or args[0] not in subcommands:
            return None
        name, args = args[0], args[1:]
        command = subcommands[name]
    if name not in runs:
        return None
    try:
        parsed = _parse(command, args)
    except _UnknownOption as exc:
        import sys

        print(exc, file=sys.stderr)
        return 2
    if parsed is None:
        return None
    values, arguments = parsed
    code: int = runs[name](arguments, RunOptions(**values))
    return code


class _UnknownOption(Exception):
    """An option the command does not have."""


def _parse(command: Any, args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """Options and overrides of `args` by `command`'s declared options; None if unsure.

    Click's classes are reached by duck typing: typer may bundle its own copy of click.
    """
    flags: dict[str, tuple[str, bool | None]] = {}
    typers = {"--help", "-h"}
    values: dict[str, Any] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option" or param.name is None:
            continue
        if param.is_eager or param.expose_value is False:
            typers.update(param.opts)
            continue
        values[param.name] = param.default
        for opt in param.opts:
            flags[opt] = (param.name, True if param.is_flag else None)
        for opt in param.secondary_opts:
            flags[opt] = (param.name, False)
    arguments = []
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            arguments.append(arg)
            continue
        option, eq, text = arg.partition("=")
        if option in typers:
            return None  # help, completion: typer's own
        if option not in flags:
            hint = did_you_mean(option, flags) or " See --help."
            raise _UnknownOption(f"No such option: {option}.{hint}")
        param, flag = flags[option]
        if flag is None:
            value = text if eq else next(rest, None)
            if value is None:
                return None
            values[param] = value
        elif eq:
            return None
        else:
            values[param] = flag
    return values, arguments
