"""fsspec for `art://` URIs: `fsspec.open("art://name:v3/x")` reads through the kit's registry."""

from __future__ import annotations

from nemotron.registry.filesystem import ArtifactFileSystem

__all__ = ["ArtifactFileSystem"]
