"""`nemotron recipe …`: the commands of every recipe family installed, loaded only when asked.

A recipe family is a `typer.Typer` registered in the entry-point group `nemotron.recipes`
(`tiny = "nemotron.recipes.tiny.cli:app"`); each of its commands becomes `nemotron recipe
<command>`. The group's own options are the kit's global recipe options
(`nemotron.kit.cli.globals.global_callback`: `-c -r -b -d --stage`), so they may come before
the subcommand as well as after it.

Nothing here is imported, and no entry point loaded, until `nemotron recipe` itself is parsed:
`nemotron --help` and `nemotron artifact …` stay fast.
"""

# no `from __future__ import annotations`: typer reads annotations at runtime
from typing import Any

import typer  # noqa: TID253 - imported only by the app's command line, built by main()
import typer.core  # noqa: TID253
import typer.main  # noqa: TID253

from nemotron.app._errors import RecipeLoadError

__all__ = ["ENTRY_POINT_GROUP", "RecipeGroup", "load_recipes"]

ENTRY_POINT_GROUP = "nemotron.recipes"

# the type typer's commands have, whichever click typer uses (its own copy, or click)
Command = Any


def _commands_of(family: object, where: str) -> dict[str, Command]:
    """The commands a recipe family's entry point offers, by name."""
    if isinstance(family, typer.Typer):
        group = typer.main.get_group(family)
        return dict(group.commands)
    commands = getattr(family, "commands", None)  # a click group
    if isinstance(commands, dict):
        return dict(commands)
    raise RecipeLoadError(
        f"recipe family {where} is a {type(family).__name__}, not a typer.Typer of recipes"
    )


def load_recipes() -> dict[str, Command]:
    """Every recipe command of the installed families, by name; a clash is one error."""
    from importlib.metadata import entry_points

    found: dict[str, Command] = {}
    owner: dict[str, str] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        where = f"'{ep.name}' ({ep.value})"
        try:
            family = ep.load()
        except Exception as exc:
            raise RecipeLoadError(
                f"recipe family {where} cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        for name, command in _commands_of(family, where).items():
            if name in found:
                raise RecipeLoadError(
                    f"recipe '{name}' is defined by two recipe families, {owner[name]} and "
                    f"{where}; uninstall one of them"
                )
            found[name] = command
            owner[name] = where
    return found


class RecipeGroup(typer.core.TyperGroup):
    """A typer group whose subcommands (and options) are loaded on first use.

    Its options come from the kit's `global_callback` and its commands from the
    `nemotron.recipes` entry points; a help listing of its parent needs neither.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._options_loaded = False
        self._recipes_loaded = False

    def _load_options(self) -> None:
        if self._options_loaded:
            return
        self._options_loaded = True
        from nemotron.kit.cli.globals import global_callback

        template = typer.main.get_group(typer.Typer(callback=global_callback))
        self.params = [*template.params, *self.params]
        self.callback = template.callback

    def _load_recipes(self) -> None:
        if self._recipes_loaded:
            return
        self._recipes_loaded = True
        self.commands.update(load_recipes())

    def get_params(self, ctx: Any) -> Any:
        """The kit's global recipe options (loaded now), then `--help`."""
        self._load_options()
        return super().get_params(ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the global options; the recipes are loaded for the subcommand or the help."""
        self._load_options()
        self._load_recipes()
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        """Every recipe's name, sorted."""
        self._load_recipes()
        return sorted(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The recipe named `cmd_name`, or None."""
        self._load_recipes()
        return super().get_command(ctx, cmd_name)
