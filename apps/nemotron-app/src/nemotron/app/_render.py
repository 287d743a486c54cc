"""Rich renderings of registry records: the artifact table and one version's details."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from nemotron.registry import ArtifactEntry, ArtifactVersion

__all__ = ["artifacts_table", "human_size", "version_details"]

# files listed one by one in `show`; the rest are counted
MAX_FILES_SHOWN = 20


def human_size(size: int) -> str:
    """`1.2 kB`, `3.4 MB`…: decimal units, as `ls -h --si` shows them."""
    from rich.filesize import decimal

    return decimal(size)


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _type_of(version: ArtifactVersion) -> str:
    kind = version.metadata.get("type") or version.metadata.get("artifact_type") or ""
    return str(kind)


def _user_aliases(entry: ArtifactEntry) -> str:
    pairs = sorted((v, a) for a, v in entry.aliases.items() if a != "latest")
    return ", ".join(f"{a}→v{v}" for v, a in pairs)


def artifacts_table(entries: Sequence[ArtifactEntry]) -> Table:
    """One row per artifact: name, latest version, aliases, type, created."""
    from rich.table import Table

    table = Table()
    table.add_column("name", style="bold", overflow="fold")
    table.add_column("latest", justify="right", style="yellow", no_wrap=True)
    table.add_column("aliases", overflow="fold")
    table.add_column("type", style="magenta", overflow="fold")
    table.add_column("created", no_wrap=True)
    for entry in entries:
        latest = entry.latest_version()
        if latest is None:  # listed, but no version is committed yet
            table.add_row(entry.name, "-", "", "", "")
            continue
        table.add_row(
            entry.name,
            f"v{latest.version}",
            _user_aliases(entry),
            _type_of(latest),
            _when(latest.created_at),
        )
    return table


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def version_details(version: ArtifactVersion) -> list[RenderableType]:
    """What `nemotron artifact show` prints: the version, its metadata, files and inputs."""
    from rich.markup import escape
    from rich.table import Table

    head = Table.grid(padding=(0, 2))
    head.add_column(style="cyan", no_wrap=True)
    head.add_column(overflow="fold")
    rows = [
        ("uri", version.uri),
        ("name", version.name),
        ("version", f"v{version.version}"),
        ("aliases", ", ".join(version.aliases) or "-"),
        ("type", _type_of(version) or "-"),
        ("created", _when(version.created_at)),
        ("producer", version.producer),
        ("stored", f"{version.mode} ({version.kind})"),
        ("url", version.url),
        ("files", f"{len(version.files)} ({human_size(version.total_size)})"),
    ]
    for key, text in rows:
        head.add_row(key, escape(text))
    shown: list[RenderableType] = [head]

    if version.metadata:
        meta = Table(title="metadata", title_justify="left", show_header=False)
        meta.add_column(style="cyan", overflow="fold")
        meta.add_column(overflow="fold")
        for key in sorted(version.metadata):
            meta.add_row(escape(key), escape(_value(version.metadata[key])))
        shown.append(meta)

    files = Table(title=f"checksums (sha256 of {len(version.files)} files)", title_justify="left")
    files.add_column("file", overflow="fold")
    files.add_column("size", justify="right", no_wrap=True)
    files.add_column("sha256", no_wrap=True, style="dim")
    for rel in sorted(version.files)[:MAX_FILES_SHOWN]:
        record = version.files[rel]
        files.add_row(escape(rel), human_size(record.size), record.sha256[:16] + "…")
    hidden = len(version.files) - MAX_FILES_SHOWN
    if hidden > 0:
        files.add_row(f"… and {hidden} more", "", "")
    shown.append(files)

    inputs = Table(title="lineage inputs", title_justify="left", show_header=False)
    inputs.add_column(overflow="fold")
    for uri in version.inputs:
        inputs.add_row(escape(uri))
    if not version.inputs:
        inputs.add_row("[dim](none: raw source)[/dim]")
    shown.append(inputs)
    return shown
