"""The kit's one global configuration: which registry artifacts publish to and resolve through."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nemotron.registry.errors import RegistryError

if TYPE_CHECKING:
    from nemotron.registry import ArtifactRegistry

__all__ = ["KitConfig", "get_config", "get_registry", "init", "is_initialized", "reset"]

Backend = Literal["fsspec", "wandb"]
_lock = threading.Lock()
_config: KitConfig | None = None


@dataclass(frozen=True)
class KitConfig:
    """What `init()` was given, and the registry it opened."""

    backend: Backend
    root: str | None
    wandb_project: str | None
    wandb_entity: str | None
    registry: ArtifactRegistry


def init(
    backend: Backend = "fsspec",
    root: str | os.PathLike[str] | None = None,
    wandb_project: str | None = None,
    wandb_entity: str | None = None,
    **storage_options: Any,
) -> KitConfig:
    """Open the registry that artifacts publish to and `art://`/`${art:…}` resolve through.

    `backend="fsspec"` needs `root` (a path or any fsspec URL, e.g. `s3://bucket/registry`;
    extra keyword arguments are its `storage_options`); `backend="wandb"` needs
    `wandb_project`. Calling it again replaces the configuration: there is only one.
    """
    global _config
    from nemotron.registry import ArtifactRegistry, set_default_registry

    if backend == "fsspec":
        if root is None or not os.fspath(root):
            raise RegistryError("init(backend='fsspec') needs root= (a path or an fsspec URL)")
        text = os.fspath(root)
        if "://" not in text:
            text = str(Path(text).expanduser().resolve())
        registry = ArtifactRegistry(text, storage_options=storage_options or None)
    elif backend == "wandb":
        if not wandb_project:
            raise RegistryError("init(backend='wandb') needs wandb_project=")
        target = f"{wandb_entity}/{wandb_project}" if wandb_entity else wandb_project
        registry = ArtifactRegistry(f"wandb://{target}")
        text = None
    else:
        raise RegistryError(f"unknown kit backend {backend!r}: expected 'fsspec' or 'wandb'")
    config = KitConfig(backend, text, wandb_project, wandb_entity, registry)
    with _lock:
        _config = config
        set_default_registry(registry)
    return config


def get_config() -> KitConfig | None:
    """The configuration `init()` set, or None before it ran."""
    return _config


def is_initialized() -> bool:
    """Whether `init()` ran in this process."""
    return _config is not None


def get_registry() -> ArtifactRegistry:
    """The registry `init()` opened, else the one `$NEMOTRON_REGISTRY` names; else one line."""
    if _config is not None:
        return _config.registry
    from nemotron.registry import get_default_registry

    return get_default_registry()


def has_registry() -> bool:
    """Whether artifacts publish somewhere: `init()` ran, or `$NEMOTRON_REGISTRY` is set."""
    return _config is not None or bool(os.environ.get("NEMOTRON_REGISTRY"))


DEFAULT_ROOT = "~/.nemotron/registry"
"""Where artifacts go when neither `init()` nor `$NEMOTRON_REGISTRY` names a registry."""


def registry_root() -> str:
    """The registry jobs publish to: `init()`'s, else `$NEMOTRON_REGISTRY`, else `DEFAULT_ROOT`.

    Commands that start jobs pass it on to them as `$NEMOTRON_REGISTRY`.
    """
    if _config is not None and _config.root:
        return _config.root
    return os.environ.get("NEMOTRON_REGISTRY") or str(Path(DEFAULT_ROOT).expanduser())


def jobs_registry() -> ArtifactRegistry:
    """The registry of `registry_root()`: the one `init()` opened, or one opened on the root."""
    if _config is not None:
        return _config.registry
    from nemotron.registry import ArtifactRegistry

    return ArtifactRegistry(registry_root())


def reset() -> None:
    """Forget the configuration (tests, and processes that switch registries)."""
    global _config
    from nemotron.registry import set_default_registry

    with _lock:
        _config = None
        set_default_registry(None)
