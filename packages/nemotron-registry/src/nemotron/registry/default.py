"""The process's default registry: what `art://` URIs and `${art:…}` resolve through.

`nemotron.kit.init()` sets it; otherwise it is the root named by `$NEMOTRON_REGISTRY`.
"""

from __future__ import annotations

import os
import threading

from nemotron.registry.errors import RegistryError
from nemotron.registry.registry import ArtifactRegistry

__all__ = ["ENV_VAR", "get_default_registry", "set_default_registry"]

ENV_VAR = "NEMOTRON_REGISTRY"
_lock = threading.Lock()
_default: ArtifactRegistry | None = None
_from_env: tuple[str, ArtifactRegistry] | None = None


def set_default_registry(registry: ArtifactRegistry | None) -> None:
    """Make `registry` the default of this process (None: fall back to `$NEMOTRON_REGISTRY`)."""
    global _default
    with _lock:
        _default = registry


def get_default_registry() -> ArtifactRegistry:
    """The registry set by `set_default_registry` (or `kit.init`), else `$NEMOTRON_REGISTRY`'s."""
    global _from_env
    with _lock:
        if _default is not None:
            return _default
        root = os.environ.get(ENV_VAR, "")
        if not root:
            raise RegistryError(
                "no artifact registry is configured: call nemotron.kit.init(root=...) or set"
                f" {ENV_VAR} to a registry root (a path or a URL such as s3://bucket/registry)"
            )
        if _from_env is None or _from_env[0] != root:
            _from_env = (root, ArtifactRegistry(root))
        return _from_env[1]


def _forget_after_fork() -> None:
    global _from_env
    _from_env = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
