"""Versioned, checksummed artifacts with lineage, on any fsspec URL (or W&B), with no global index.

`ArtifactRegistry(root)` publishes files or folders as versions 1, 2, 3… of a name, resolves
them by number, `latest` or alias, verifies their checksums, downloads them and walks their
lineage. Concurrent publishers on one root (processes, hosts, an S3 bucket) never lose or
duplicate a version. `art://name:vN/path` URIs open through fsspec in any process.
"""

from __future__ import annotations

from nemotron.registry._names import ArtURI, format_uri, parse_uri
from nemotron.registry.default import ENV_VAR, get_default_registry, set_default_registry
from nemotron.registry.errors import (
    ArtifactNotFoundError,
    ArtifactVersionNotFoundError,
    BackendNotInstalledError,
    InvalidReferenceError,
    RegistryError,
    RegistryStorageError,
)
from nemotron.registry.models import (
    ArtifactEntry,
    ArtifactVersion,
    FileRecord,
    Lineage,
    LineageNode,
    VerifyReport,
)
from nemotron.registry.registry import ArtifactRegistry, cache_dir

__all__ = [
    "ENV_VAR",
    "ArtURI",
    "ArtifactEntry",
    "ArtifactNotFoundError",
    "ArtifactRegistry",
    "ArtifactVersion",
    "ArtifactVersionNotFoundError",
    "BackendNotInstalledError",
    "FileRecord",
    "InvalidReferenceError",
    "Lineage",
    "LineageNode",
    "RegistryError",
    "RegistryStorageError",
    "VerifyReport",
    "cache_dir",
    "format_uri",
    "get_default_registry",
    "parse_uri",
    "set_default_registry",
]
