"""Plain config data to typed dataclasses, by nrun.config's coercion rules (train_script's core)."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from nemotron.kit.exceptions import ConfigError, KitError
from nrun.config import did_you_mean

__all__ = [
    "build",
    "contains",
    "convert",
    "fields_of",
    "hints",
    "is_dataclass_type",
    "is_interpolation",
    "is_plain",
    "item_type",
    "members",
    "merge",
    "plain_defaults",
    "type_name",
]


def convert(value: Any, tp: Any, path: str, *, lenient: bool) -> Any:
    """`value` coerced to `tp` by nrun.config's rules, mappings to dataclasses by `build`.

    With `lenient` (checking an override), values holding `${…}` pass unchecked and
    dataclasses are only checked, not made.
    """
    from nrun.config import ConfigError as NrunConfigError
    from nrun.config import coerce

    if lenient and contains(value, is_interpolation):
        return value

    def from_mapping(cls: Any, mapping: Any, sub: str) -> Any:
        if is_dataclass_type(cls):
            return build(cls, dict(mapping), sub, lenient=lenient)
        raise ConfigError(f"'{sub}' expects {type_name(cls)}, got a mapping")

    try:
        return coerce(value, tp, path, from_mapping=from_mapping)
    except NrunConfigError as exc:
        raise ConfigError(exc.detail) from None


def build(cls: type[Any], mapping: dict[Any, Any], path: str, *, lenient: bool) -> Any:
    """An instance of `cls` (with `lenient`, only checked: the mapping is returned)."""
    types = hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in mapping:
        if key not in fields:
            where = f"'{path}' ({cls.__name__})" if path else cls.__name__
            hint = did_you_mean(str(key), fields) or f" Expected one of: {', '.join(fields)}."
            raise ConfigError(f"{where} has no field '{key}'.{hint}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if name in mapping and mapping[name] != "???":
            kwargs[name] = convert(mapping[name], types.get(name, Any), sub, lenient=lenient)
        elif missing and not lenient:
            raise ConfigError(
                f"no value for '{sub}' ({type_name(types.get(name, Any))}): set it in the "
                f"config file or with {sub}=..."
            )
    if lenient:
        return mapping
    try:
        return cls(**kwargs)
    except KitError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or cls.__name__}: {cls.__name__} refused it: {exc}") from None


def plain_defaults(cls: type[Any]) -> dict[str, Any]:
    """The dataclass's defaults as plain data (a default that is no plain data is left out)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue
        plain = _to_plain(value)
        if plain is not _NOT_PLAIN:
            out[f.name] = plain
    return out


_NOT_PLAIN = object()


def _to_plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _defaults_of_instance(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_to_plain(v) for v in value]
        return _NOT_PLAIN if any(i is _NOT_PLAIN for i in items) else items
    if isinstance(value, dict):
        pairs = {str(k): _to_plain(v) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in pairs.values()) else pairs
    return _NOT_PLAIN


def _defaults_of_instance(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        if f.init:
            plain = _to_plain(getattr(value, f.name))
            if plain is not _NOT_PLAIN:
                out[f.name] = plain
    return out


def merge(base: dict[Any, Any], top: dict[Any, Any]) -> dict[Any, Any]:
    """`top` over `base`, mappings merged key by key (what a file does to the defaults)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def is_dataclass_type(tp: Any) -> bool:
    """Whether `tp` is a dataclass (the class, not an instance)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved annotations of `cls`; a `TypeError` naming it when they cannot be read."""
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:
        raise TypeError(f"cannot read the type hints of {cls.__qualname__}: {exc}") from None


def members(tp: Any) -> tuple[Any, ...]:
    """The members of a union (`Optional[X]` → `(X, None)`), else `(tp,)`."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return typing.get_args(tp)
    return (tp,)


def fields_of(tp: Any) -> dict[str, Any] | None:
    """Field types of the one dataclass `tp` names (also inside `Optional`), else None."""
    classes = [m for m in members(tp) if is_dataclass_type(m)]
    if len(classes) != 1:
        return None
    types = hints(classes[0])
    return {f.name: types.get(f.name, Any) for f in dataclasses.fields(classes[0]) if f.init}


def item_type(tp: Any, *, value: bool) -> Any:
    """The type of an item of `tp`: a list's element, or (with `value`) a mapping's value."""
    for member in members(tp):
        origin, args = typing.get_origin(member), typing.get_args(member)
        if value and origin in (dict, Mapping, typing.Mapping) and len(args) == 2:
            return args[1]
        if not value and origin in (list, Sequence, typing.Sequence) and args:
            return args[0]
        if not value and origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return args[0]
    return Any


def type_name(tp: Any) -> str:
    """nrun.config's readable name of an annotation (`int`, `list[str]`, `Path | None`)."""
    from nrun.config import type_name as name_of

    return name_of(tp)


def contains(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether `value`, or anything in its lists and mappings, passes `test`."""
    if test(value):
        return True
    if isinstance(value, dict):
        return any(contains(v, test) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains(v, test) for v in value)
    return False


def is_interpolation(value: Any) -> bool:
    """Whether `value` is a string holding an OmegaConf `${…}`."""
    return isinstance(value, str) and "${" in value


def is_plain(value: Any) -> bool:
    """Whether `value` is data YAML holds as is (None, bools, numbers, str, lists, str maps)."""
    if isinstance(value, enum.Enum):
        return False
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False
