"""The object a `module:function` (or `module.function`) target names, imported as `-m` would.

The current directory comes first on `sys.path`, as for `python -m`, so `nrun run train:main`
finds `./train.py`. An import that fails is one line (`TargetError`); an exception raised by the
module's own code while it is imported keeps its traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

__all__ = ["TargetError", "import_target"]


class TargetError(Exception):
    """A target that cannot be imported or run, in one line."""


def _cwd_first() -> None:
    """Make the current directory importable, first, as `python -m` does."""
    cwd = os.getcwd()
    if not sys.path or sys.path[0] not in (cwd, ""):
        sys.path.insert(0, cwd)


def _missing_is(module: str, exc: ModuleNotFoundError) -> bool:
    """Whether `exc` says `module` itself (or a parent package) does not exist."""
    return exc.name is not None and (module == exc.name or module.startswith(exc.name + "."))


def _import_module(target: str) -> tuple[ModuleType, list[str]]:
    """The module a target names and the attribute path after it."""
    module, colon, attributes = target.partition(":")
    if colon:
        if not module or not attributes:
            raise TargetError(f"cannot import '{target}': expected module:function")
        try:
            return importlib.import_module(module), attributes.split(".")
        except ImportError as exc:
            raise TargetError(f"cannot import '{target}': {exc}") from None
    parts = target.split(".")
    if len(parts) < 2 or not all(parts):
        raise TargetError(f"cannot import '{target}': expected module:function or module.function")
    error: ImportError | None = None
    # the longest importable prefix is the module: `pkg.mod.Class.method` works too
    for end in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:end])
        try:
            return importlib.import_module(name), parts[end:]
        except ModuleNotFoundError as exc:
            if not _missing_is(name, exc):  # the module exists; something it imports does not
                raise TargetError(f"cannot import '{target}': {exc}") from None
            error = exc
        except ImportError as exc:
            raise TargetError(f"cannot import '{target}': {exc}") from None
    raise TargetError(f"cannot import '{target}': {error}")


def import_target(target: str) -> Any:
    """The function (or mapping of functions) `target` names; `TargetError` says why not."""
    if "/" in target or target.partition(":")[0].endswith(".py"):
        stem = target.rsplit("/", 1)[-1].partition(":")[0].removesuffix(".py")
        raise TargetError(
            f"cannot import '{target}': give a module, not a file (e.g. {stem}:main, run from "
            "its directory)"
        )
    _cwd_first()
    module, attributes = _import_module(target)
    found: Any = module
    for depth, attribute in enumerate(attributes):
        try:
            found = getattr(found, attribute)
        except AttributeError:
            owner = ".".join([module.__name__, *attributes[:depth]])
            raise TargetError(
                f"cannot import '{target}': '{owner}' has no attribute '{attribute}'"
            ) from None
    if not callable(found) and not isinstance(found, Mapping):
        raise TargetError(f"cannot run '{target}': it is a {type(found).__name__}, not a function")
    return found
