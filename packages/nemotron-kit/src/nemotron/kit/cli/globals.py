"""The options every recipe takes, before or after its subcommand: `-c -r -b -d --stage`.

`global_callback` reads them where they come before the subcommand (a typer callback);
`split_unknown_args` finds them after it, among the `key=value` overrides and the arguments
passed through to the script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import typer  # noqa: TID253 - the global options are typer options

from nemotron.kit.exceptions import ConfigError

__all__ = [
    "GLOBAL_OPTIONS",
    "GlobalContext",
    "RecipeUsageError",
    "global_callback",
    "split_unknown_args",
]

Mode = Literal["local", "run", "batch"]


class RecipeUsageError(ConfigError):
    """A recipe's command line is wrong: conflicting options, a missing profile, a bad override."""


@dataclass
class GlobalContext:
    """The global options of one recipe command line, and its overrides and pass-through args."""

    config: str | None = None
    """Config name (a file of the recipe's config dir, without `.yaml`) or path (`-c`)."""
    run: str | None = None
    """Run profile of `env.toml`, attached: wait for the job and stream its logs (`-r`)."""
    batch: str | None = None
    """Run profile of `env.toml`, detached: submit and return (`-b`)."""
    dry_run: bool = False
    """Print the merged config (secrets masked); run nothing, write nothing (`-d`)."""
    stage: bool = False
    """Write the job's files where the profile runs them, and print how to start it (`--stage`)."""
    force_squash: bool = False
    dotlist: list[str] = field(default_factory=list)
    passthrough: list[str] = field(default_factory=list)

    @property
    def mode(self) -> Mode:
        """`run` (attached), `batch` (detached) or `local` (no profile)."""
        if self.run:
            return "run"
        if self.batch:
            return "batch"
        return "local"

    @property
    def profile(self) -> str | None:
        """The run profile's name, from `--run` or `--batch`."""
        return self.run or self.batch

    def check(self) -> None:
        """Raise `RecipeUsageError` for options that cannot go together."""
        if self.run and self.batch:
            raise RecipeUsageError(
                f"--run {self.run} and --batch {self.batch} cannot both be given: --run waits "
                "for the job, --batch submits it and returns"
            )
        if self.stage and not self.profile:
            raise RecipeUsageError("--stage needs a profile to stage for: add --run or --batch")


GLOBAL_OPTIONS: dict[str, str] = {
    "-c": "config",
    "--config": "config",
    "-r": "run",
    "--run": "run",
    "-b": "batch",
    "--batch": "batch",
    "-d": "dry_run",
    "--dry-run": "dry_run",
    "--stage": "stage",
    "--force-squash": "force_squash",
}
_FLAGS = {"dry_run", "stage", "force_squash"}


def split_unknown_args(
    args: list[str], global_ctx: GlobalContext | None = None
) -> tuple[list[str], list[str], GlobalContext]:
    """Split a recipe's extra arguments into overrides, pass-through args and global options.

    `key=value` tokens (no leading `-`) are dotlist overrides; global options (also
    `--run=NAME` and attached `-rNAME`) update `global_ctx`; the rest goes to the script.
    After `--`, everything is passed through.
    """
    ctx = global_ctx if global_ctx is not None else GlobalContext()
    dotlist: list[str] = []
    passthrough: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            passthrough.extend(args[i:])
            break
        name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if not eq and len(arg) > 2 and arg[:2] in ("-c", "-r", "-b") and arg[1] != "-":
            name, attached, eq = arg[:2], arg[2:], "="
        attr = GLOBAL_OPTIONS.get(name)
        if attr is None:
            (dotlist if "=" in arg and not arg.startswith("-") else passthrough).append(arg)
        elif attr in _FLAGS:
            if eq:
                raise RecipeUsageError(f"{name} takes no value, got {arg!r}")
            setattr(ctx, attr, True)
        elif eq:
            setattr(ctx, attr, attached)
        elif i < len(args) and not args[i].startswith("-"):
            setattr(ctx, attr, args[i])
            i += 1
        else:
            raise RecipeUsageError(f"{name} needs a value")
    return dotlist, passthrough, ctx


def global_callback(
    ctx: typer.Context,
    config: str | None = typer.Option(
        None, "-c", "--config", help="Config name (in the recipe's config dir) or path."
    ),
    run: str | None = typer.Option(
        None, "-r", "--run", help="Run on this env.toml profile and wait (attached)."
    ),
    batch: str | None = typer.Option(
        None, "-b", "--batch", help="Submit to this env.toml profile and return (detached)."
    ),
    dry_run: bool = typer.Option(
        False, "-d", "--dry-run", help="Print the merged config; run and write nothing."
    ),
    stage: bool = typer.Option(
        False, "--stage", help="Stage the job's files on the profile's cluster; do not run."
    ),
    force_squash: bool = typer.Option(
        False, "--force-squash", help="Re-squash the container image even if it exists."
    ),
) -> None:
    """Global recipe options; they may also come after the subcommand."""
    ctx.obj = GlobalContext(
        config=config,
        run=run,
        batch=batch,
        dry_run=dry_run,
        stage=stage,
        force_squash=force_squash,
    )
