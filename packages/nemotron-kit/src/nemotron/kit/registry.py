"""The artifact registry: `ArtifactRegistry`, `ArtifactEntry`, `ArtifactVersion` from `nemotron.registry`."""

from __future__ import annotations

from nemotron.kit._init import get_registry
from nemotron.registry import ArtifactEntry, ArtifactRegistry, ArtifactVersion

__all__ = ["ArtifactEntry", "ArtifactRegistry", "ArtifactVersion", "get_registry"]
