"""The kit's errors: the registry's, plus configuration and run-profile errors."""

from __future__ import annotations

from nemotron.registry import (
    ArtifactNotFoundError,
    ArtifactVersionNotFoundError,
    BackendNotInstalledError,
    InvalidReferenceError,
    RegistryError,
    RegistryStorageError,
)

__all__ = [
    "ArtifactNotFoundError",
    "ArtifactVersionNotFoundError",
    "BackendNotInstalledError",
    "ConfigError",
    "InvalidReferenceError",
    "KitError",
    "RegistryError",
    "RegistryStorageError",
    "RunProfileError",
]


class KitError(Exception):
    """Base of the kit's own errors; `str()` is one line for the user."""


class ConfigError(KitError, ValueError):
    """A config file or an override that the kit refuses (unknown key, bad value, bad syntax)."""


class RunProfileError(KitError, ValueError):
    """A bad `env.toml`, an unknown profile, an `extends` cycle or an unknown key in a profile."""
