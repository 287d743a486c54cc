"""The artifact registry: `ArtifactRegistry`, `ArtifactEntry` and `ArtifactVersion`, re-exported."""

from __future__ import annotations

from nemotron.kit._init import get_registry
from nemotron.registry import ArtifactEntry, ArtifactRegistry, ArtifactVersion

__all__ = ["ArtifactEntry", "ArtifactRegistry", "ArtifactVersion", "get_registry"]
