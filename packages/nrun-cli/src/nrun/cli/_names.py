"""The importable name of a module, `__main__` included: what `--lazy` and help panels print."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["module_name"]


def module_name(module: str) -> str:
    """`module` as users import it: `__main__` is `pkg.mod` under `python -m`, else the stem.

    One function for every path (lazy targets, help panels, type names), so `python -m pkg.mod`
    exports `pkg.mod.fn`, which the machine running the task can import.
    """
    if module != "__main__":
        return module
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name and name != "__main__":
        return name
    return Path(sys.argv[0]).stem or module
