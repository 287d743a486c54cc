"""`cli.main`: run an entrypoint (or a group of them) as a typer command line.

The top of the CLI: `main` builds the typer app (`_command`), which runs the command line
through `_run`. Typer is imported when `main` is called, not when `nrun.cli` is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["main"]


def main(
    fn: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    *,
    default_factory: Callable[..., Any] | None = None,
    default_executor: Any = None,
    argv: Sequence[str] | None = None,
    prog: str | None = None,
) -> None:
    """Run `fn` as a command line (`sys.argv` by default); exits with the command's code.

    `fn` may be a mapping (or a typer app) of entrypoints: each becomes a subcommand.
    """
    from nrun.cli._command import build_app, run_fast

    app = build_app(fn, default_factory=default_factory, default_executor=default_executor)
    args = list(sys.argv[1:] if argv is None else argv)
    code = run_fast(app, args)
    if code is None:
        code = _run_typer(app, args, prog)
    sys.exit(code)


def _run_typer(app: Any, args: list[str], prog: str | None) -> int:
    """Typer's parsing (help, completion, the rest); a usage error is one line, exit 2."""
    import importlib

    import typer
    import typer.core
    import typer.main

    # typer 0.2x carries its own copy of click as typer._click; older ones use click itself
    click = getattr(typer.core, "_click", None) or importlib.import_module("click")
    errors = click.exceptions
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False)
    except errors.UsageError as exc:
        print(f"Error: {exc.format_message()}", file=sys.stderr)
        return int(exc.exit_code)
    except errors.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0
