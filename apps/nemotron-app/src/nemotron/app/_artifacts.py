"""`nemotron artifact list|show|lineage|verify|alias|publish`: the registry from a shell.

Every command works on the registry the root command chose (`--registry`, else
`$NEMOTRON_REGISTRY`, else `~/.nemotron/registry`), which it exported as `NEMOTRON_REGISTRY`.
"""

# no `from __future__ import annotations`: typer reads the commands' annotations at runtime
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer  # noqa: TID253 - imported only by the app's command line, built by main()

from nemotron.app._errors import EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from nemotron.registry import ArtifactRegistry

__all__ = ["artifact_app"]

ENV_VAR = "NEMOTRON_REGISTRY"

artifact_app = typer.Typer(
    help="Versioned artifacts of the registry: list, show, lineage, verify, alias, publish.",
    no_args_is_help=True,
)

Ref = Annotated[
    str,
    typer.Argument(
        metavar="NAME[:VERSION]",
        help="An artifact (latest version), or one version of it: name:v3, name:3, name:prod.",
        show_default=False,
    ),
]


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _registry() -> "ArtifactRegistry":
    from nemotron.registry import ArtifactRegistry

    return ArtifactRegistry(os.environ[ENV_VAR])


def _split(ref: str) -> tuple[str, str | None]:
    """`name[:version]` (also `art://name[:version]`) → name and version (None: latest)."""
    from nemotron.registry import InvalidReferenceError

    text = ref[len("art://") :] if ref.startswith("art://") else ref
    name, colon, version = text.partition(":")
    if colon and (not version or "/" in version):
        raise InvalidReferenceError(
            f"invalid artifact reference {ref!r}: expected NAME or NAME:VERSION (v3, 3, an alias)"
        )
    return name, version if colon else None


@contextmanager
def _suggesting(registry: "ArtifactRegistry") -> Iterator[None]:
    """Name the registry, and the closest name or the versions it has, in a not-found error."""
    from nemotron.registry import ArtifactNotFoundError, ArtifactVersionNotFoundError
    from nrun.config import did_you_mean

    try:
        yield
    except ArtifactVersionNotFoundError as exc:
        entry = registry.get(exc.name)
        if entry is None or not entry.versions:
            raise
        numbers = sorted(v.version for v in entry.versions)
        have = f"v{numbers[0]}" if len(numbers) == 1 else f"v{numbers[0]}..v{numbers[-1]}"
        aliases = ", ".join(sorted(entry.aliases))
        hint = did_you_mean(str(exc.version), entry.aliases) if isinstance(exc.version, str) else ""
        message = f"{exc.message}.{hint} It has {have}; aliases: {aliases}"
        raise ArtifactVersionNotFoundError(exc.name, exc.version or 0, message) from exc
    except ArtifactNotFoundError as exc:
        hint = did_you_mean(exc.name, registry.list())
        message = f"artifact '{exc.name}' not found in registry '{registry.root}'.{hint}"
        raise ArtifactNotFoundError(exc.name, message) from exc


@artifact_app.command("list")
def list_artifacts(
    prefix: Annotated[
        str,
        typer.Argument(
            metavar="[PREFIX]", help="Only names that start with it.", show_default=False
        ),
    ] = "",
) -> None:
    """List the artifacts: name, latest version, aliases, type, created."""
    from nemotron.app._render import artifacts_table

    registry = _registry()
    names = registry.list(prefix)
    if not names:
        where = f" starting with '{prefix}'" if prefix else ""
        print(f"no artifacts{where} in registry '{registry.root}'", file=sys.stderr)
        return
    entries = [e for e in (registry.get(n) for n in names) if e is not None]
    console = _console()
    console.print(f"artifacts in {registry.root}", markup=False, soft_wrap=True)
    console.print(artifacts_table(entries))


@artifact_app.command("show")
def show(ref: Ref) -> None:
    """Show one version: metadata, files and checksums, lineage inputs, where it is stored."""
    from nemotron.app._render import version_details

    registry = _registry()
    name, version = _split(ref)
    with _suggesting(registry):
        found = registry.resolve(name, version)
    console = _console()
    for part in version_details(found):
        console.print(part)


@artifact_app.command("lineage")
def lineage(
    ref: Ref,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the lineage as one self-contained HTML page (a graph, each node's "
            "metadata, metrics and config) instead of printing the tree.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the lineage tree of a version: its inputs, their inputs, down to the raw sources."""
    registry = _registry()
    name, version = _split(ref)
    with _suggesting(registry):
        pinned = registry.resolve(name, version)
    if html is None:
        from nemotron.kit.cli.display import lineage_tree

        _console().print(lineage_tree(registry, f"{pinned.name}:v{pinned.version}"))
        return
    from nemotron.kit.lineage_html import lineage_report
    from nrun.config.atomic import WriteError, atomic_write

    page = lineage_report(registry, f"{pinned.name}:v{pinned.version}")
    try:
        written = atomic_write(html, page, mode=None)  # a page to share: the umask's mode
    except WriteError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    print(written.absolute())


@artifact_app.command("verify")
def verify(ref: Ref) -> None:
    """Recompute every file's size and SHA-256; exit 1, naming the files, when one differs."""
    registry = _registry()
    name, version = _split(ref)
    with _suggesting(registry):
        report = registry.verify(name, version)
    if report.ok:
        print(report.summary())
        return
    typer.secho(report.summary(), fg="red", err=True)
    raise typer.Exit(EXIT_FAILED)


@artifact_app.command("alias")
def alias(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The artifact.", show_default=False)],
    version: Annotated[
        str,
        typer.Argument(
            metavar="VERSION", help="The version: 3, v3, latest or an alias.", show_default=False
        ),
    ],
    alias_name: Annotated[
        str,
        typer.Argument(
            metavar="ALIAS",
            help="The alias to point at it (prod, best…; not latest or vN).",
            show_default=False,
        ),
    ],
) -> None:
    """Point an alias at a version (moving it if it pointed elsewhere)."""
    from nemotron.registry.errors import InvalidReferenceError

    registry = _registry()
    if ":" in name:
        raise InvalidReferenceError(
            f"invalid artifact name {name!r}: give the version as its own argument"
        )
    with _suggesting(registry):
        target = registry.alias(name, alias_name, version)
    print(f"{alias_name} → {target.uri}")


def _metadata(pairs: list[str], kind: str) -> dict[str, Any]:
    """`key=value` pairs (values read as JSON where they parse, else as text) plus the type."""
    from nemotron.registry import InvalidReferenceError

    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key or key.strip() != key:
            raise InvalidReferenceError(f"invalid metadata {pair!r}: expected KEY=VALUE")
        if key in metadata or key == "type":
            why = "use --type" if key == "type" else "given twice"
            raise InvalidReferenceError(f"invalid metadata {pair!r}: {key!r} {why}")
        try:
            metadata[key] = json.loads(text)
        except ValueError:
            metadata[key] = text
    return {"type": kind, **metadata}


@artifact_app.command("publish")
def publish(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="The file or folder to publish.", show_default=False),
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE",
            help="Its artifact type (PretrainBlendsArtifact…).",
            show_default=False,
        ),
    ],
    name: Annotated[
        str,
        typer.Option(
            "--name", "-n", metavar="NAME", help="The artifact name (a/b/c).", show_default=False
        ),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="URI",
            help="What it was made from (art://name:v3, hf://org/data…); repeatable.",
            show_default=False,
        ),
    ] = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            "-m",
            metavar="KEY=VALUE",
            help="Metadata (a JSON value or text); repeatable.",
            show_default=False,
        ),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference", help="Record its location and checksums without copying the files."
        ),
    ] = False,
) -> None:
    """Publish a file or folder as the next version of an artifact, with its lineage."""
    from nemotron.app._render import human_size
    from nemotron.registry import InvalidReferenceError

    fields = _metadata(metadata or [], kind)
    if not kind.strip():
        raise InvalidReferenceError("invalid --type '': expected an artifact type name")
    registry = _registry()
    with _suggesting(registry):
        version = registry.publish(
            name,
            path,
            metadata=fields,
            inputs=inputs or [],
            mode="reference" if reference else "copy",
        )
    size = human_size(version.total_size)
    files = "1 file" if len(version.files) == 1 else f"{len(version.files)} files"
    print(f"published {version.uri} ({files}, {size})")
