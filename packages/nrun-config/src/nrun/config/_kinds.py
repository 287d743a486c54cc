"""What kind of config a value is, without importing fiddle.

A value can only be a fiddle `Buildable` if fiddle has been imported, so these checks look at
`sys.modules` instead of importing it: code that merely inspects values (the CLI's tables, an
experiment adding a task) stays fast and runs where fiddle is not installed.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["is_buildable", "is_partial"]


def _fiddle_class(name: str) -> type | None:
    fiddle = sys.modules.get("fiddle")
    found = getattr(fiddle, name, None) if fiddle is not None else None
    return found if isinstance(found, type) else None


def is_buildable(value: Any) -> bool:
    """Whether `value` is a config (`Config`, `Partial`, or any fiddle `Buildable`)."""
    cls = _fiddle_class("Buildable")
    return cls is not None and isinstance(value, cls)


def is_partial(value: Any) -> bool:
    """Whether `value` is a `Partial` (or a fiddle `Partial`): it builds to a callable."""
    cls = _fiddle_class("Partial")
    return cls is not None and isinstance(value, cls)
