"""The registry's records: versions, entries, verification reports and lineage graphs."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nemotron.registry._names import format_uri

__all__ = [
    "ArtifactEntry",
    "ArtifactVersion",
    "FileRecord",
    "Lineage",
    "LineageNode",
    "VerifyReport",
]


def utcnow() -> datetime:
    """Now, timezone-aware (UTC): what every `created_at` holds."""
    return datetime.now(timezone.utc)


class FileRecord(BaseModel):
    """Size and SHA-256 of one file of a version."""

    model_config = ConfigDict(frozen=True)

    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ArtifactVersion(BaseModel):
    """One published, immutable version of an artifact: where its files are, and what made it."""

    model_config = ConfigDict(extra="ignore")

    name: str
    version: int = Field(ge=0)
    """1, 2, 3…; 0 only for a version published to an offline W&B run (its number is assigned
    when the run is synced)."""
    url: str
    """fsspec URL of the version's files: a folder, or the file itself for a one-file artifact."""
    created_at: datetime = Field(default_factory=utcnow)
    producer: str = "local"
    metadata: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, FileRecord] = Field(default_factory=dict)
    """Relative path (`/`-separated; a one-file artifact lists its name) → size and SHA-256."""
    inputs: list[str] = Field(default_factory=list)
    """Lineage: the `art://name:vN` URIs (or external URLs) this version was made from."""
    aliases: list[str] = Field(default_factory=list)
    mode: Literal["copy", "reference"] = "copy"
    kind: Literal["dir", "file"] = "dir"

    @property
    def uri(self) -> str:
        """This version's `art://name:vN`."""
        return format_uri(self.name, self.version)

    @property
    def total_size(self) -> int:
        """Bytes in all of its files."""
        return sum(f.size for f in self.files.values())

    def file_url(self, relpath: str) -> str:
        """Fsspec URL of one of its files."""
        if self.kind == "file":
            return self.url
        return f"{self.url.rstrip('/')}/{relpath}"


class ArtifactEntry(BaseModel):
    """Every version of one artifact name, and its aliases (`latest` included)."""

    name: str
    versions: list[ArtifactVersion] = Field(default_factory=list)
    aliases: dict[str, int] = Field(default_factory=dict)

    def latest_version(self) -> ArtifactVersion | None:
        """The highest version, or None if there is none."""
        return max(self.versions, key=lambda v: v.version, default=None)

    def get_version(self, version: int) -> ArtifactVersion | None:
        """Version `version`, or None."""
        return next((v for v in self.versions if v.version == version), None)


class VerifyReport(BaseModel):
    """What `verify` found: `ok` when every recorded file is present with its size and checksum."""

    name: str
    version: int
    ok: bool
    checked: int = 0
    missing: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    """Files whose size or SHA-256 differ from the manifest."""
    extra: list[str] = Field(default_factory=list)
    """Files in a copied version's folder that the manifest does not list."""

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        """One line: `ok (3 files)` or what differs."""
        if self.ok:
            return f"art://{self.name}:v{self.version}: ok ({self.checked} files)"
        parts = [
            f"{label}: {', '.join(items)}"
            for label, items in (
                ("missing", self.missing),
                ("changed", self.changed),
                ("extra", self.extra),
            )
            if items
        ]
        return f"art://{self.name}:v{self.version}: FAILED ({'; '.join(parts)})"


class LineageNode(BaseModel):
    """One node of a lineage graph: a registry version, or an external input (`hf://…`)."""

    uri: str
    version: ArtifactVersion | None = None
    """None for an external input, or for an `art://` input missing from this registry."""
    inputs: list[str] = Field(default_factory=list)
    missing: bool = False


class Lineage(BaseModel):
    """The upstream graph of a version: every input, inputs of inputs, down to the raw data."""

    root: str
    nodes: dict[str, LineageNode] = Field(default_factory=dict)

    def edges(self) -> list[tuple[str, str]]:
        """(consumer, input) pairs."""
        return [(uri, i) for uri, node in self.nodes.items() for i in node.inputs]

    def upstream(self, uri: str | None = None) -> list[str]:
        """Every URI upstream of `uri` (default: the root), nearest first, each once."""
        start = uri or self.root
        seen: list[str] = []
        queue = list(self.nodes[start].inputs)
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.append(current)
            node = self.nodes.get(current)
            if node:
                queue.extend(node.inputs)
        return seen

    def render(self) -> str:
        """The graph as an indented text tree (a shared input is expanded once)."""
        lines: list[str] = []
        expanded: set[str] = set()

        def walk(uri: str, prefix: str, last: bool, top: bool) -> None:
            node = self.nodes.get(uri)
            label = uri + (" (missing)" if node is not None and node.missing else "")
            again = uri in expanded and bool(node and node.inputs)
            connector = "" if top else ("└── " if last else "├── ")
            lines.append(prefix + connector + label + (" …" if again else ""))
            if node is None or again:
                return
            expanded.add(uri)
            child_prefix = prefix if top else prefix + ("    " if last else "│   ")
            for i, child in enumerate(node.inputs):
                walk(child, child_prefix, i == len(node.inputs) - 1, False)

        walk(self.root, "", True, True)
        return "\n".join(lines)
