"""The `nemotron` typer app: `artifact …`, `recipe …` and `kit squash`.

Imported only when the command runs (from `nemotron.app.main`). Each command imports what it
needs in its body, and the recipe group loads the kit and the recipe families only when it is
parsed, so `nemotron --help` imports no recipe, fiddle, fsspec backend, W&B, docker or paramiko.
"""

# no `from __future__ import annotations`: typer reads the commands' annotations at runtime
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer  # noqa: TID253 - this module is the typer app, imported only by main()
import typer.core  # noqa: TID253

from nemotron.app._artifacts import ENV_VAR, artifact_app
from nemotron.app._errors import exit_code_for
from nemotron.app._recipes import RecipeGroup

__all__ = ["DEFAULT_REGISTRY", "app"]

DEFAULT_REGISTRY = "~/.nemotron/registry"


class _App(typer.core.TyperGroup):
    """The root group: the errors users cause become one red line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a registry, kit or executor error exits with one line."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            code = exit_code_for(exc)
            if code is None:
                raise
            if ctx.params.get("verbose"):
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
            typer.secho(str(exc).strip().replace("\n", " "), fg="red", err=True)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="nemotron",
    cls=_App,
    help="Artifacts with lineage, the installed training recipes, and cluster tools.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)
app.add_typer(artifact_app, name="artifact")
recipe_app = typer.Typer(
    cls=RecipeGroup,
    help="Run a recipe of the installed recipe families (-c/-r/-b/-d/--stage, key=value …).",
    no_args_is_help=True,
)
app.add_typer(recipe_app, name="recipe")
kit_app = typer.Typer(help="Cluster tools of the kit: squash.", no_args_is_help=True)
app.add_typer(kit_app, name="kit")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"nemotron {version('nemotron-app')}")
        raise typer.Exit()


def _absolute(root: str) -> str:
    """A local root as an absolute path (the recipes it is passed to may run elsewhere)."""
    if "://" in root:
        return root
    return str(Path(root).expanduser().absolute())


@app.callback()
def _root(
    registry: Annotated[
        str,
        typer.Option(
            "--registry",
            metavar="URL",
            envvar=ENV_VAR,
            show_envvar=True,
            help="The artifact registry: a folder or an fsspec URL (s3://bucket/registry); "
            "exported as NEMOTRON_REGISTRY to recipes.",
        ),
    ] = DEFAULT_REGISTRY,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the traceback of an error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Artifacts with lineage, the installed training recipes, and cluster tools."""
    os.environ[ENV_VAR] = _absolute(registry or DEFAULT_REGISTRY)


@kit_app.command("squash")
def squash(
    profile: Annotated[
        str,
        typer.Argument(metavar="PROFILE", help="A Slurm profile of env.toml.", show_default=False),
    ],
    image: Annotated[
        str,
        typer.Argument(
            metavar="IMAGE",
            help="The container image (nvcr.io/nvidia/pytorch:25.01-py3).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", "-d", help="Print the enroot command; submit nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Squash again even if the file exists.")
    ] = False,
) -> None:
    """Import a container image as an enroot squash file on the cluster (one Slurm job)."""
    from nemotron.kit.cli.squash import squash as run_squash

    raise typer.Exit(run_squash(profile, image, dry_run=dry_run, force=force))
