"""The registry's errors: one base class, each with a one-line message that names the bad value."""

from __future__ import annotations

__all__ = [
    "ArtifactNotFoundError",
    "ArtifactVersionNotFoundError",
    "BackendNotInstalledError",
    "InvalidReferenceError",
    "RegistryError",
    "RegistryStorageError",
]


class RegistryError(Exception):
    """Base of every error the registry raises; `str()` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidReferenceError(RegistryError, ValueError):
    """A name, version, alias, input or `art://` URI that the registry refuses before any write."""


class ArtifactNotFoundError(RegistryError, LookupError):
    """No version of the artifact `name` was ever published to this registry."""

    def __init__(self, name: str, message: str | None = None) -> None:
        super().__init__(message or f"artifact '{name}' not found in the registry")
        self.name = name
        self.version: int | str | None = None


class ArtifactVersionNotFoundError(RegistryError, LookupError):
    """The artifact exists but the asked version or alias does not."""

    def __init__(self, name: str, version: int | str, message: str | None = None) -> None:
        shown = f"v{version}" if isinstance(version, int) else repr(version)
        super().__init__(message or f"artifact '{name}' has no version {shown}")
        self.name = name
        self.version = version


class BackendNotInstalledError(RegistryError, ImportError):
    """A backend or the extra it needs is not installed; the message names the `pip install`."""


class RegistryStorageError(RegistryError, OSError):
    """The storage under the registry failed (disk full, permission, network); names the path."""
