"""What the CLI shows: the resolved-arguments table, exported files, and the help panels."""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Callable
from typing import Any

from nrun.cli._factories import Factory, module_name, registry
from nrun.config import is_buildable, strip_annotated

__all__ = ["argument_rows", "describe", "help_panels", "resolved_table", "show_export"]


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


_SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "private_key")


def _mask_secrets(name: str, text: str) -> str:
    """Hide the value of anything whose name says it is a secret."""
    if any(word in name.lower() for word in _SECRET_WORDS):
        return "'****'"
    return text


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
        table.add_row(name, _mask_secrets(name, describe(arguments[name])))
    return table


def executor_line(executor: Any) -> str:
    """The executor as one line for the dry run and the confirmation."""
    if executor is None:
        return "Executor: this process (direct)"
    text = executor.describe() if hasattr(executor, "describe") else type(executor).__name__
    return f"Executor: {text}"


def show_export(console: Any, path: str, text: str, fmt: str) -> None:
    """The exported file, syntax-highlighted in a panel titled with its name."""
    from rich.panel import Panel
    from rich.syntax import Syntax

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


def argument_rows(fn: Callable[..., Any]) -> list[tuple[str, Any, str, str]]:
    """(name, type, type text, default text) of each argument, without importing fiddle."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    rows = []
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        tp = hints.get(name, param.annotation)
        default = "" if param.default is param.empty else _mask_secrets(name, repr(param.default))
        rows.append((name, tp, _type_text(tp) if tp is not param.empty else "", default))
    return rows


def help_panels(fn: Callable[..., Any]) -> list[Any]:
    """The panels after the options: entrypoint factories, arguments, factories per argument."""
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
    rows = argument_rows(fn)
    panels.append(panel("Arguments", [(name, text, default) for name, _, text, default in rows]))
    for name, tp, type_text, _ in rows:
        if tp is inspect.Parameter.empty:
            continue
        found = list(registry.for_argument(fn, name, tp))
        if found:
            panels.append(panel(f"Factory for {name}: {type_text}", listed(found)))
    return panels
