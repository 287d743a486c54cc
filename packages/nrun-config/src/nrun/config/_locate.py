"""Importing `_target_`s by their dotted path (fiddle-free, so task files load fast)."""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path
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
    script = _running_script(parts[0])
    for i in range(1 if script else len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = script or importlib.import_module(module_name)
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


def _running_script(module_name: str) -> Any:
    """The `__main__` module when `module_name` names the running script (`train` for train.py).

    Exports name a script's functions `<script stem>.<name>`; importing that module again would
    make a second copy whose classes differ from those the script already holds.
    """
    if module_name in sys.modules or "." in module_name:
        return None
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    # `python -m pkg.mod` has a spec naming its real module: only a script run by path counts
    if path and getattr(main, "__spec__", None) is None and Path(path).stem == module_name:
        return main
    return None
