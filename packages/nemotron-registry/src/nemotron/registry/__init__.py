"""Versioned, checksummed artifacts with lineage, on any fsspec URL (or W&B), with no global index.

`ArtifactRegistry(root)` publishes files or folders as versions 1, 2, 3… of a name, resolves
them by number, `latest` or alias, verifies their checksums, downloads them and walks their
lineage. Concurrent publishers on one root (processes, hosts, an S3 bucket) never lose or
duplicate a version. `art://name:vN/path` URIs open through fsspec in any process.

Importing the package is cheap: pydantic and fsspec load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nemotron.registry._names import ArtURI, format_uri, parse_uri
from nemotron.registry.errors import (
    ArtifactNotFoundError,
    ArtifactVersionNotFoundError,
    BackendNotInstalledError,
    InvalidReferenceError,
    RegistryError,
    RegistryStorageError,
)

if TYPE_CHECKING:
    from nemotron.registry.default import ENV_VAR, get_default_registry, set_default_registry
    from nemotron.registry.models import (
        ArtifactEntry,
        ArtifactVersion,
        FileRecord,
        Lineage,
        LineageNode,
        VerifyReport,
    )
    from nemotron.registry.registry import ArtifactRegistry, cache_dir

_LAZY = {
    "ENV_VAR": "default",
    "get_default_registry": "default",
    "set_default_registry": "default",
    "ArtifactEntry": "models",
    "ArtifactVersion": "models",
    "FileRecord": "models",
    "Lineage": "models",
    "LineageNode": "models",
    "VerifyReport": "models",
    "ArtifactRegistry": "registry",
    "cache_dir": "registry",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nemotron.registry' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"nemotron.registry.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
