"""The backend protocol; backends are found through the `nemotron.registry.backends` group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from fsspec import AbstractFileSystem

from nemotron.registry.errors import BackendNotInstalledError
from nemotron.registry.models import ArtifactVersion

__all__ = ["Backend", "load_backend"]

Mode = Literal["copy", "reference"]
_GROUP = "nemotron.registry.backends"
_PIP = {"fsspec": "nemotron-registry", "wandb": "'nemotron-registry[wandb]'"}
_entry_points: dict[str, Any] | None = None


class Backend(Protocol):
    """Storage of versions, aliases and names; `ArtifactRegistry` validates before calling it."""

    url: str
    guarantee: str
    """One line: what makes version allocation race-free on this storage."""

    def publish(
        self,
        name: str,
        source: str,
        *,
        metadata: dict[str, Any],
        inputs: Sequence[str],
        mode: Mode,
        producer: str,
        show_progress: bool | None,
    ) -> ArtifactVersion:
        """Allocate the next version of `name`, store `source` under it, commit its manifest."""
        ...

    def latest(self, name: str) -> int | None:
        """The highest committed version of `name`, or None."""
        ...

    def version(self, name: str, version: int) -> ArtifactVersion | None:
        """Version `version` of `name` (its manifest, without aliases), or None."""
        ...

    def versions(self, name: str) -> list[ArtifactVersion]:
        """Every committed version of `name`, in order."""
        ...

    def aliases(self, name: str) -> dict[str, int]:
        """User aliases of `name` (not `latest`)."""
        ...

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point `alias` of `name` at `version` (which exists)."""
        ...

    def remove_alias(self, name: str, alias: str) -> bool:
        """Remove `alias` of `name`; False when it was not set."""
        ...

    def exists(self, name: str) -> bool:
        """Whether `name` has a committed version."""
        ...

    def names(self, prefix: str) -> list[str]:
        """Names that start with `prefix`, sorted."""
        ...

    def filesystem(self, url: str) -> tuple[AbstractFileSystem, str]:
        """The filesystem and path to read a version's `url` (or one of its files) through."""
        ...


def load_backend(name: str) -> type[Backend]:
    """The backend class registered under `name`; a missing one names its `pip install`."""
    global _entry_points
    if _entry_points is None:
        from importlib.metadata import entry_points

        _entry_points = {ep.name: ep for ep in entry_points(group=_GROUP)}
    ep = _entry_points.get(name)
    if ep is None:
        known = ", ".join(sorted(_entry_points)) or "none"
        fix = _PIP.get(name, f"a package that registers '{name}' in the {_GROUP} entry points")
        raise BackendNotInstalledError(
            f"registry backend {name!r} is not installed (installed: {known}); pip install {fix}"
        )
    cls: type[Backend] = ep.load()
    return cls
