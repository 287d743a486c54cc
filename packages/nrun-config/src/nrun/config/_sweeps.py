"""Sweeps: `lr=1e-3,1e-4 batch=8,16` expanded into the cartesian product of override lists."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from nrun.config._grammar import Override, Sweep, parse_override

__all__ = ["expand_sweeps", "has_sweeps"]


def _parsed(overrides: Iterable[str | Override]) -> list[Override]:
    return [parse_override(o) if isinstance(o, str) else o for o in overrides]


def has_sweeps(overrides: Iterable[str | Override]) -> bool:
    """Whether any override has a sweep value (`a=1,2`)."""
    return any(isinstance(o.value, Sweep) for o in _parsed(overrides))


def expand_sweeps(overrides: Iterable[str | Override]) -> Iterator[list[Override]]:
    """Yield one list of plain overrides per point of the sweep, in order.

    `["a=1,2", "b=x,y", "c=3"]` yields `[a=1, b=x, c=3]`, `[a=1, b=y, c=3]`, `[a=2, b=x, c=3]`,
    `[a=2, b=y, c=3]`: the last sweep varies fastest, like nested loops. Without sweeps it
    yields the overrides once.
    """
    parsed = _parsed(overrides)
    choices = [
        [o.with_value(c) for c in o.value.choices] if isinstance(o.value, Sweep) else [o]
        for o in parsed
    ]
    for point in itertools.product(*choices):
        yield list(point)
