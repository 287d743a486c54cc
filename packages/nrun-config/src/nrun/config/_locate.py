"""Importing `_target_`s by their dotted path (fiddle-free, so task files load fast)."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from nrun.config._errors import ConfigError, did_you_mean

__all__ = ["locate"]


@functools.lru_cache(maxsize=4096)
def locate(dotted: str) -> Any:
    """Import `pkg.module.Name` (or `pkg.module.Outer.Inner`) and return the object."""
    parts = dotted.split(".")
    if not all(p.isidentifier() for p in parts):
        raise ConfigError(f"'{dotted}' is not a dotted import path")
    error: Exception | None = None
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not module_name.startswith(exc.name):
                raise ConfigError(f"cannot import '{dotted}': {exc}") from None
            error = error or exc
            continue
        except Exception as exc:
            raise ConfigError(f"cannot import '{dotted}': {type(exc).__name__}: {exc}") from None
        for j, attr in enumerate(parts[i:], start=i):
            if not hasattr(obj, attr):
                owner = ".".join(parts[:j])
                hint = did_you_mean(attr, [n for n in dir(obj) if not n.startswith("_")])
                raise ConfigError(f"cannot import '{dotted}': '{owner}' has no '{attr}'.{hint}")
            obj = getattr(obj, attr)
        return obj
    raise ConfigError(f"cannot import '{dotted}': {error}")
