"""What the CLI shows: the resolved-arguments table, exported files, and the help panels."""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from nrun.cli._factories import Factory, registry
from nrun.cli._names import module_name
from nrun.config import is_buildable, strip_annotated

__all__ = [
    "argument_rows",
    "describe",
    "help_panels",
    "resolved_table",
    "show_export",
    "show_previews",
    "whole_option_names",
]


def describe(value: Any) -> str:
    """A config value as people read it: `Model(hidden_size=256, num_layers=3)`."""
    if is_buildable(value):
        target = value.__fn_or_cls__
        name = getattr(target, "__name__", repr(target))
        arguments = value.__arguments__
        args = ", ".join(f"{k}={describe(arguments[k])}" for k in in_signature_order(value))
        return f"{name}({args})"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def masked(name: str, value: Any) -> str:
    """`describe(value)` with every secret in it hidden (`name` itself, `creds.hf_token`)."""
    from nrun.config.secrets import mask

    return describe(mask(value, name))


def in_signature_order(config: Any) -> list[str]:
    """The names of a config's arguments in its target's signature order (others after)."""
    try:
        order = list(inspect.signature(config.__fn_or_cls__).parameters)
    except (TypeError, ValueError):
        order = []
    arguments = config.__arguments__
    return [n for n in order if n in arguments] + [n for n in arguments if n not in order]


def resolved_table(config: Any) -> Any:
    """The "Resolved Arguments" table of a task config, in the signature's order."""
    from rich.table import Table

    table = Table(title="Resolved Arguments", title_justify="left")
    table.add_column("Argument Name", style="cyan", no_wrap=True)
    table.add_column("Resolved Value", overflow="fold")
    arguments = config.__arguments__
    for name in in_signature_order(config):
        table.add_row(name, masked(name, arguments[name]))
    return table


def executor_line(executor: Any) -> str:
    """The executor as one line for the dry run and the confirmation."""
    if executor is None:
        return "Executor: this process (direct)"
    text = executor.describe() if hasattr(executor, "describe") else type(executor).__name__
    return f"Executor: {text}"


def show_export(console: Any, path: str, text: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """The exported file, syntax-highlighted in a panel titled with its name.

    The file keeps its values; what is shown has the `secrets` (see
    `nrun.config.secrets.secret_values`) masked.
    """
    from rich.panel import Panel
    from rich.syntax import Syntax

    from nrun.config.secrets import mask_text

    text = mask_text(text, secrets)

    console.print("File contents:")
    console.print(Panel(Syntax(text, fmt, line_numbers=True, word_wrap=True), title=path))
    console.print("Export complete. Skipping execution.")


def _type_text(tp: Any) -> str:
    """`int`, `list[int]`, `task.Model`: a type as help shows it (without importing fiddle)."""
    tp = strip_annotated(tp)
    if isinstance(tp, type) and not typing.get_args(tp):
        if tp.__module__ == "builtins":
            return tp.__qualname__
        return f"{module_name(tp.__module__)}.{tp.__qualname__}"
    return str(tp).replace("typing.", "").replace("__main__.", f"{module_name('__main__')}.")


def _factory_defaults(
    fn: Callable[..., Any], default_factory: Callable[..., Any] | None
) -> tuple[dict[str, Any], str]:
    """The arguments the default factories give `fn` (as a run starts from), and their names.

    Empty when there is no default factory, so help imports no fiddle for plain entrypoints.
    A factory that fails here fails the run too, where it is reported: help shows the
    signature's defaults instead.
    """
    names = [getattr(default_factory, "__name__", "default_factory")] if default_factory else []
    if not names:
        names = [f.name for f in registry.for_entrypoint(fn) if f.is_target_default][:1]
    names += [
        f.name
        for f in registry.factories
        if f.target is fn and f.target_arg and f.is_target_default
    ]
    if not names:
        return {}, ""
    from nrun.cli._resolve import base_config

    try:
        config = base_config(fn, default_factory=default_factory)
    except Exception:
        return {}, ""
    arguments = dict(getattr(config, "__arguments__", {}))
    return arguments, ", ".join(names)


def argument_rows(
    fn: Callable[..., Any],
    default_factory: Callable[..., Any] | None = None,
    *,
    given: dict[str, Any] | None = None,
) -> list[tuple[str, Any, str, str]]:
    """(name, type, type text, default text) of each argument, secrets masked.

    The default is what a run starts from: the default factory's value (`given`, else
    computed), else the signature's.
    """
    if given is None:
        given = _factory_defaults(fn, default_factory)[0]
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    rows = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        tp = hints.get(name, param.annotation)
        if name in given:
            default = masked(name, given[name])
        else:
            default = "" if param.default is param.empty else masked(name, param.default)
        rows.append((name, tp, _type_text(tp) if tp is not param.empty else "", default))
    return rows


@contextlib.contextmanager
def whole_option_names() -> Iterator[None]:
    """While typer prints a command's help, its option names stay whole at 80 columns.

    Typer lays its options out in a rich `Table` that a narrow terminal cuts evenly, names
    included (`--rich-traceback-sh…`); meanwhile its table is `_whole_names_table()`.
    """
    import typer.rich_utils

    utils: Any = typer.rich_utils
    saved = utils.Table
    utils.Table = _whole_names_table()
    try:
        yield
    finally:
        utils.Table = saved


@functools.cache
def _whole_names_table() -> type:
    """A rich `Table` whose columns, all but the last (the help text), never shrink nor wrap."""
    from rich.table import Table

    class WholeNames(Table):
        def add_row(self, *renderables: Any, **options: Any) -> None:
            while len(self.columns) < len(renderables):
                last = len(self.columns) == len(renderables) - 1
                if last:  # the help text: what is left of the width, wrapped
                    self.add_column(ratio=1, overflow="fold")
                else:
                    self.add_column(no_wrap=True)
            super().add_row(*renderables, **options)

    return WholeNames


def help_panels(
    fn: Callable[..., Any], default_factory: Callable[..., Any] | None = None
) -> list[Any]:
    """The panels after the options: entrypoint factories, arguments, factories per argument.

    Argument defaults are those `default_factory` (or a factory registered with
    `is_target_default=True`) gives, the panel's title names it.
    """
    from rich.panel import Panel
    from rich.table import Table

    def grid() -> Any:
        table = Table.grid(padding=(0, 3), expand=True)
        table.add_column(ratio=2, overflow="fold")
        table.add_column(ratio=2, overflow="fold")
        table.add_column(ratio=1, overflow="fold")
        return table

    def panel(title: str, rows: list[tuple[str, str, str]]) -> Any:
        table = grid()
        for row in rows:
            table.add_row(*row)
        return Panel(table, title=title, title_align="left", border_style="dim")

    def listed(entries: list[Factory]) -> list[tuple[str, str, str]]:
        return [
            (entry.name, entry.where[0], f"line {entry.where[1]}" if entry.where[1] else "")
            for entry in entries
        ]

    panels = []
    own = registry.for_entrypoint(fn)
    if own:
        panels.append(panel("Pre-loaded entrypoint factories, run with --factory", listed(own)))
    given, source = _factory_defaults(fn, default_factory)
    rows = argument_rows(fn, given=given)
    title = f"Arguments (defaults from {source})" if source else "Arguments"
    panels.append(panel(title, [(name, text, default) for name, _, text, default in rows]))
    for name, tp, type_text, _ in rows:
        if tp is inspect.Parameter.empty:
            continue
        found = list(registry.for_argument(fn, name, tp))
        if found:
            panels.append(panel(f"Factory for {name}: {type_text}", listed(found)))
    return panels


def show_previews(console: Any, previews: Sequence[Any]) -> None:
    """What an executor would be sent for each task: command, container spec, sbatch script.

    Printed as it would be submitted, unwrapped, so it can be copied and run by hand.
    """
    for view in previews:
        console.print(f"{view.title} for task {view.task}:")
        console.print(view.text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
