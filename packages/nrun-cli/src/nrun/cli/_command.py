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
from nrun.cli._run import EXIT_USAGE, RunOptions, run_entrypoint
from nrun.config import did_you_mean

__all__ = ["build_app"]

_CONTEXT = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": ["--help", "-h"],
}


def _command_class(
    fn: Callable[..., Any], default_factory: Callable[..., Any] | None
) -> type[typer.core.TyperCommand]:
    class EntrypointCommand(typer.core.TyperCommand):
        """Typer's help, then the panels that list arguments and factories."""

        def collect_usage_pieces(self, ctx: Any) -> list[str]:
            return ["[OPTIONS]", "[ARGUMENTS]"]

        def format_help(self, ctx: Any, formatter: Any) -> None:
            from rich.console import Console

            from nrun.cli._display import help_panels, whole_option_names

            with whole_option_names():
                super().format_help(ctx, formatter)

            console = Console()
            for panel in help_panels(fn, default_factory):
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


Run = Callable[[list[str], RunOptions], int]


def _add(
    app: typer.Typer,
    entry: Entrypoint,
    command_name: str | None,
    default_factory: Callable[..., Any] | None,
    runs: dict[str | None, Run],
) -> None:
    """Register `entry` on `app` as a command with every RunContext option.

    The command calls `runs[command_name]`, as the fast path does: one place both lead to.
    """

    def command(
        ctx: typer.Context,
        name: Annotated[str | None, typer.Option("--name", "-n", help="Name of the run")] = None,
        direct: Annotated[
            bool,
            typer.Option(
                "--direct/--no-direct",
                help="Execute the run directly (default: no)",
                show_default=False,
            ),
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
            bool,
            typer.Option(
                "--tail-logs/--no-tail-logs",
                help="Tail logs after execution (default: no)",
                show_default=False,
            ),
        ] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Enable verbose logging")
        ] = False,
        rich_exceptions: Annotated[
            bool,
            typer.Option(
                "--rich-exceptions/--no-rich-exceptions",
                help="Enable rich exception formatting (default: no)",
                show_default=False,
            ),
        ] = False,
        rich_traceback_short: Annotated[
            bool,
            typer.Option(
                "--rich-traceback-short/--rich-traceback-full",
                help="Control traceback verbosity (default: full)",
                show_default=False,
            ),
        ] = False,
        rich_show_locals: Annotated[
            bool,
            typer.Option(
                "--rich-show-locals/--rich-hide-locals",
                help="Toggle local variables in exceptions (default: show)",
                show_default=False,
            ),
        ] = True,
        rich_theme: Annotated[
            str | None, typer.Option("--rich-theme", help="Color theme: dark, light or monochrome")
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
        values = {k: v for k, v in locals().items() if k not in ("arguments", "ctx")}
        code = _dispatch(runs[command_name], ctx.command, arguments or [], values)
        if code:
            raise typer.Exit(code)

    help_text = f"[Entrypoint] {entry.name}\n\n{entry.help}".strip()
    app.command(
        command_name,
        help=help_text,
        cls=_command_class(entry.fn, default_factory),
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
    runs: dict[str | None, Run] = {}
    members = fn.items() if isinstance(fn, Mapping) else [(None, fn)]
    for name, member in members:
        entry = entrypoint_of(member)
        factory = default_factory if name is None else None
        _add(app, entry, name, factory, runs)
        runs[name] = functools.partial(
            run_entrypoint, entry, default_factory=factory, default_executor=default_executor
        )
    app.nrun_runs = runs  # type: ignore[attr-defined]
    return app


def _dispatch(run: Run, command: Any, arguments: list[str], values: dict[str, Any]) -> int:
    """Run one parsed command line, both paths alike; an option it lacks is one line, exit 2.

    Click hands an unknown option on as an argument (the command ignores unknown options, so
    `-yq` still sets `-y`); no override starts with `-`, so the first such argument is refused.
    """
    for argument in arguments:
        if argument.startswith("-") and argument != "-":
            import sys

            option = argument.partition("=")[0]
            hint = did_you_mean(option, _option_names(command)) or " See --help."
            print(f"No such option: {option}.{hint}", file=sys.stderr)
            return EXIT_USAGE
    return run(arguments, RunOptions(**values))


def _option_names(command: Any) -> list[str]:
    """Every option name of `command` (`--dryrun`, `-y`, `--no-direct`, …)."""
    return [
        name
        for param in command.params
        if getattr(param, "param_type_name", "") == "option"
        for name in (*param.opts, *param.secondary_opts)
    ]


def run_fast(app: typer.Typer, args: list[str]) -> int | None:
    """Run a plain command line without click's parsing; None when typer must do it.

    Typer converts each parameter through pydantic, which costs a third of a second per
    process. Overrides and the RunContext options need none of that, so a command line of
    only those is split here exactly as click would split it (`_parse`); help, completion,
    subcommand groups' help, click's own errors and anything unexpected go through typer.
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
    parsed = _parse(command, args)
    if parsed is None:
        return None
    values, arguments = parsed
    return _dispatch(runs[name], command, arguments, values)


_VALUE = object()  # an option that takes a value
_TYPER = object()  # an option typer handles itself: help, completion


def _option_table(command: Any) -> tuple[dict[str, tuple[str, Any]], dict[str, Any]] | None:
    """(option name -> (parameter, True/False/_VALUE/_TYPER), defaults); None if unsure."""
    helps = (getattr(command, "context_settings", None) or {}).get("help_option_names", ["--help"])
    table: dict[str, tuple[str, Any]] = dict.fromkeys(helps, ("help", _TYPER))
    defaults: dict[str, Any] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option" or param.name is None:
            continue
        names = [*param.opts, *param.secondary_opts]
        if any(not n.startswith("--") and len(n) != 2 for n in names):
            return None  # `-ab` options: click's rules for them are not these
        if param.is_eager or param.expose_value is False:
            table.update(dict.fromkeys(names, (param.name, _TYPER)))
            continue
        if getattr(param, "multiple", False) or getattr(param, "count", False):
            return None
        if param.nargs != 1 or getattr(param, "_flag_needs_value", False):
            return None
        defaults[param.name] = param.default
        kind = True if param.is_flag else _VALUE
        table.update(dict.fromkeys(param.opts, (param.name, kind)))
        table.update(dict.fromkeys(param.secondary_opts, (param.name, False)))
    return table, defaults


def _parse(command: Any, args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """Options and arguments of `args` as click splits them for `command`; None if unsure.

    Click's rules (click.parser, with unknown options ignored): `--` ends the options;
    `--opt=value` and `--opt value`; short flags combine (`-yv`) and a short option takes the
    rest of its word as its value (`-nNAME`, `-n=x` is `=x`); the value of an option is the
    next word whatever it looks like (`--name -1`); an unknown option (`--foo`, `-1`, the `q`
    of `-yq`) is passed on as an argument. Where click would fail (a missing value, a value
    given to a flag) or typer acts (help, completion), None: typer does it, errors included.
    Click's classes are reached by duck typing: typer may bundle its own copy of click.
    """
    found = _option_table(command)
    if found is None:
        return None
    table, values = found
    rest = list(args)
    arguments: list[str] = []
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            arguments.append(arg)
            continue
        option, eq, attached = arg.partition("=")
        if option in table and option.startswith("--"):
            param, kind = table[option]
            if kind is _TYPER or (eq and kind is not _VALUE):
                return None
            if kind is _VALUE:
                if not eq and not rest:
                    return None
                kind = attached if eq else rest.pop(0)
            values[param] = kind
        elif arg.startswith("--"):
            arguments.append(arg)
        else:  # a word of short options
            unknown = []
            for i, letter in enumerate(arg[1:], start=2):
                if f"-{letter}" not in table:
                    unknown.append(letter)
                    continue
                param, kind = table[f"-{letter}"]
                if kind is _TYPER:
                    return None
                if kind is _VALUE:
                    if i < len(arg):
                        values[param] = arg[i:]
                    elif rest:
                        values[param] = rest.pop(0)
                    else:
                        return None
                    break
                values[param] = kind
            if unknown:
                arguments.append("-" + "".join(unknown))
    return values, arguments + rest
