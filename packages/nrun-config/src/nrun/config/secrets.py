"""Which names hold secrets, and how values are shown without them: `****` at any depth.

A name is a secret when its last dotted component (`creds.hf_token` -> `hf_token`) ends with
a secret word: `token`, `secret`, `password`, `passwd`, `credential(s)`, `api_key`/`apikey`,
`access_key`, `private_key`, `secret_key`, in any case and any of `snake_case`, `kebab-case`,
`SCREAMING_CASE` or `camelCase` (`HF_TOKEN`, `db.password`, `apiKey`). Names that only
mention one (`max_tokens`, `tokenizer`, `pad_token_id`, `api_key_file`) are not secrets, so
ML configs show as written. Standard library only; fiddle configs are read through their
`__arguments__` without importing fiddle.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from nrun.config._kinds import is_buildable

__all__ = ["MASK", "is_secret", "mask", "mask_text", "secret_values"]

MASK = "****"
"""What a secret value is shown as."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_LAST = frozenset(
    {"token", "secret", "secrets", "password", "passwords", "passwd"}
    | {"credential", "credentials", "apikey", "accesskey", "privatekey", "secretkey"}
)
_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")})

T = TypeVar("T")


def is_secret(name: str) -> bool:
    """Whether the value named `name` (a dotted path or an environment variable) is a secret."""
    last = str(name).rsplit(".", 1)[-1]
    words = [w.lower() for w in _WORD.findall(last)]
    if not words:
        return False
    return words[-1] in _LAST or tuple(words[-2:]) in _PAIRS


def mask(value: T, name: str = "") -> T:
    """`value` with every secret-named entry replaced by `MASK`, at any depth; never in place.

    Mapping keys, dataclass fields and config (`Config`/`Partial`) arguments are names; a
    value under a secret name is masked whole (`None` stays `None`: it reveals nothing).
    What holds no secret is returned as it is (not copied); what does is a copy.
    """
    return _Masker().mask(value, name)  # type: ignore[no-any-return]


def secret_values(value: Any, name: str = "") -> list[str]:
    """The secret values found in `value` (as text), at any depth: what `mask_text` removes."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(item: Any, key: str) -> None:
        if key and is_secret(key):
            if item is not None:
                found.extend(_texts(item))
            return
        if id(item) in seen:
            return
        seen.add(id(item))
        for child_name, child in _children(item):
            walk(child, child_name)

    walk(value, name)
    return list(dict.fromkeys(v for v in found if v))


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of the (non-empty) `secrets` replaced by `MASK`, longest first."""
    for secret in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _texts(value: Any) -> Iterator[str]:
    """A secret value as the texts that could show it: scalars, or each leaf of a container."""
    children = list(_children(value))
    if not children and not isinstance(value, (Mapping, list, tuple, set, frozenset)):
        yield str(value)
    for _, child in children:
        if child is not None:
            yield from _texts(child)


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """(name, value) of what `value` holds: names for mappings, fields and arguments."""
    if is_buildable(value):
        yield from ((str(k), v) for k, v in value.__arguments__.items())
    elif isinstance(value, Mapping):
        yield from ((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        yield from (("", v) for v in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield from ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))


class _Masker:
    """One `mask` call: shared sub-values stay shared in the copy, and cycles end."""

    def __init__(self) -> None:
        self.done: dict[int, Any] = {}
        self.keep: list[Any] = []  # the originals stay alive while their ids are keys

    def mask(self, value: Any, name: str) -> Any:
        if name and is_secret(name):
            return value if value is None else MASK
        key = id(value)
        if key in self.done:
            return self.done[key]
        self.done[key] = value  # a cycle back here finds the original
        self.keep.append(value)
        result = self._inside(value)
        self.done[key] = result
        return result

    def _inside(self, value: Any) -> Any:
        if is_buildable(value):
            changed = self._changed(value.__arguments__.items())
            if not changed:
                return value
            masked = copy.copy(value)  # a new `__arguments__`; values shared until replaced
            masked.__arguments__.update(changed)
            return masked
        if isinstance(value, Mapping):
            changed = self._changed(value.items())
            if not changed:
                return value
            if type(value) is dict:
                return {k: changed.get(k, v) for k, v in value.items()}
            masked = copy.copy(value)
            try:
                masked.update(changed)  # type: ignore[attr-defined]
            except AttributeError:  # a read-only mapping: shown as a dict
                return {k: changed.get(k, v) for k, v in value.items()}
            return masked
        if isinstance(value, (list, tuple)):
            items = [self.mask(item, "") for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            if isinstance(value, list):
                return type(value)(items) if type(value) is not list else items
            if hasattr(value, "_fields"):  # a namedtuple
                return type(value)(*items)
            return type(value)(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = [f.name for f in dataclasses.fields(value)]
            changed = self._changed((n, getattr(value, n)) for n in names)
            if not changed:
                return value
            masked = copy.copy(value)
            for field, new in changed.items():
                object.__setattr__(masked, field, new)  # frozen ones too: it is our copy
            return masked
        return value

    def _changed(self, items: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        """The entries whose masked value differs, by key."""
        changed = {}
        for key, item in items:
            masked = self.mask(item, str(key))
            if masked is not item:
                changed[key] = masked
        return changed
