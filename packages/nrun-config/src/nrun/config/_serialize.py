"""Configs to and from plain data in the `_target_` format shared by YAML, TOML and JSON.

A config is a mapping with `_target_` (the dotted import path of what it calls), `_partial_:
true` for a `Partial`, `_args_` for positional arguments, and one key per argument. Enums and
paths, tuples and sets are written as `{_target_: pkg.Color, _args_: [red]}` so that
`hydra.utils.instantiate` rebuilds the same objects; on loading, plain values (`red`, a list) are
also accepted where the annotation says what they are. `{_none_: true}` stands for None where
a format has no null (TOML).
"""

from __future__ import annotations

import copy
import enum
import pathlib
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any

import fiddle as fdl

from nrun.config._annotations import Unresolved
from nrun.config._buildable import Config, Partial, to_buildable
from nrun.config._errors import ConfigError, ConfigTypeError, UnknownArgumentError, did_you_mean
from nrun.config._grammar import Scalar
from nrun.config._locate import locate
from nrun.config._signature import accepts_kwargs, from_signature, parameters, type_hints
from nrun.config._types import (
    coerce,
    is_dataclass_type,
    per_callable,
    strip_annotated,
    union_members,
)

__all__ = ["NONE_KEY", "Leaf", "from_data", "locate", "target_name", "to_data"]

NONE_KEY = "_none_"
_HYDRA_KEYS = {"_recursive_", "_convert_"}
_RESERVED = {"_target_", "_partial_", "_args_", NONE_KEY, *_HYDRA_KEYS}
_VALUE_TYPES = (enum.Enum, pathlib.PurePath, tuple, set, frozenset)

Leaf = Callable[[Any, Any, str, Any], Any]
"""Resolves a leaf that is not plain data (a parsed override value): (leaf, type, path, current)."""


@per_callable
def target_name(fn: Any) -> str:
    """The dotted path that imports `fn` back; refuses lambdas and local functions."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if isinstance(fn, type) and issubclass(fn, pathlib.PurePath):
        # `pathlib._local` on 3.13: name the public class, and `Path` for the concrete one, so
        # the file loads on any Python and any OS.
        return "pathlib.Path" if issubclass(fn, pathlib.Path) else f"pathlib.{fn.__name__}"
    if not module or not qualname or "<" in qualname:
        raise ConfigError(
            f"{fn!r} cannot be exported: only module-level functions and classes can be a _target_"
        )
    if module == "__main__":
        return _main_target(fn, qualname)
    name = f"{module}.{qualname}"
    try:
        found = locate(name)
    except ConfigError:
        found = None
    if found is not fn and getattr(found, "__wrapped__", None) is not fn:
        raise ConfigError(f"{fn!r} cannot be exported: '{name}' does not import it back")
    return name


def _main_target(fn: Any, qualname: str) -> str:
    """The import path of something defined in the script being run (`python train.py`).

    `__main__` means nothing to another process; the script is importable there by its own
    name (`train`), with its folder on the path, so that is what is written.
    """
    main = sys.modules["__main__"]
    found: Any = main
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not fn and getattr(found, "__wrapped__", None) is not fn:
        raise ConfigError(f"{fn!r} cannot be exported: '__main__.{qualname}' is something else")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in ("__main__", None):
        return f"{spec.name.removesuffix('.__main__')}.{qualname}"
    file = getattr(main, "__file__", None)
    if not file:
        return f"__main__.{qualname}"  # an interactive session: loadable in this process only
    stem = pathlib.Path(file).stem
    if not stem.isidentifier():
        raise ConfigError(
            f"{qualname} cannot be exported: the script '{pathlib.Path(file).name}' is not "
            "importable by its name; rename it, or move the function into a module"
        )
    return f"{stem}.{qualname}"


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def to_data(value: Any, path: str = "") -> Any:
    """Plain data (dicts, lists, scalars) for `value`, in the `_target_` format."""
    if isinstance(value, fdl.Buildable):
        data: dict[Any, Any] = {"_target_": target_name(value.__fn_or_cls__)}
        if isinstance(value, fdl.Partial):
            data["_partial_"] = True
        args = fdl.ordered_arguments(value)
        positional = [to_data(v, _join(path, k)) for k, v in args.items() if isinstance(k, int)]
        if positional:
            data["_args_"] = positional
        for key, item in args.items():
            if not isinstance(key, int):
                data[key] = to_data(item, _join(path, key))
        return data
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, enum.Enum):
            return {"_target_": target_name(type(value)), "_args_": [value.value]}
        return value
    if isinstance(value, enum.Enum):
        return {"_target_": target_name(type(value)), "_args_": [to_data(value.value, path)]}
    if isinstance(value, pathlib.PurePath):
        return {"_target_": target_name(type(value)), "_args_": [str(value)]}
    if isinstance(value, list):
        return [to_data(v, _join(path, i)) for i, v in enumerate(value)]
    if type(value) in (tuple, set, frozenset):
        items = [to_data(v, _join(path, i)) for i, v in enumerate(value)]
        return {"_target_": f"builtins.{type(value).__name__}", "_args_": [items]}
    if isinstance(value, Mapping):
        return {k: to_data(v, _join(path, k)) for k, v in value.items()}
    converted = to_buildable(value)
    if converted is not value:
        return to_data(converted, path)
    raise ConfigError(
        f"'{path or 'value'}' cannot be exported: a {type(value).__name__} is not a config, "
        "a plain value, a list or a dict",
        path=path or None,
    )


def _is_class_like(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and typing.get_origin(tp) is None  # `dict[str, int]` is a type on Python 3.10
        and tp is not Any  # a class on Python 3.11+, yet it configures nothing
        and not issubclass(tp, (Mapping, list, tuple, set, frozenset, str, bytes, int, float))
        and not issubclass(tp, _VALUE_TYPES)
        and not issubclass(tp, Unresolved)  # a name nobody defined configures nothing
        and (is_dataclass_type(tp) or tp.__module__ != "builtins")
    )


def _mapping_target(tp: Any) -> Any:
    """The class a plain mapping should configure when given for `tp`, if any."""
    tp = strip_annotated(tp)
    members = union_members(tp)
    if members is not None:
        classes = [m for m in members if _is_class_like(m)]
        return classes[0] if len(classes) == 1 else None
    return tp if _is_class_like(tp) else None


class _Decoder:
    def __init__(self, leaf: Leaf | None):
        self.leaf = leaf

    def decode(self, data: Any, tp: Any, path: str, current: Any = None) -> Any:
        if self.leaf is not None and not isinstance(
            data, (Mapping, list, str, int, float, bool, type(None))
        ):
            return self.leaf(data, tp, path, current)
        if isinstance(data, Mapping):
            return self.mapping(data, tp, path, current)
        if isinstance(data, list):
            return coerce(self.sequence(data, tp, path), tp, path, from_mapping=self.configure)
        return coerce(data, tp, path, from_mapping=self.configure)

    def sequence(self, data: list[Any], tp: Any, path: str) -> list[Any]:
        tp = strip_annotated(tp)
        members = union_members(tp)
        if members is not None:
            seqs = [m for m in members if typing.get_origin(m) in (list, tuple, set, frozenset)]
            tp = seqs[0] if len(seqs) == 1 else Any
        args = typing.get_args(tp)
        origin = typing.get_origin(tp)
        types: list[Any]
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            types = list(args) + [Any] * max(0, len(data) - len(args))
        else:
            types = [args[0] if args else Any] * len(data)
        return [
            self.decode(v, t, _join(path, i))
            for i, (v, t) in enumerate(zip(data, types, strict=False))
        ]

    def mapping(self, data: Mapping[Any, Any], tp: Any, path: str, current: Any) -> Any:
        if NONE_KEY in data:
            if len(data) != 1 or _plain(data[NONE_KEY]) is not True:
                raise ConfigError(
                    f"'{path or 'value'}': {NONE_KEY} must stand alone as true", path=path or None
                )
            return coerce(None, tp, path)
        if "_target_" in data:
            return self.target(data, tp, path)
        if isinstance(current, fdl.Buildable):
            return self.update(copy.deepcopy(current), data, path)
        cls = _mapping_target(tp)
        if cls is not None:
            return self.configure(cls, data, path)
        tp = strip_annotated(tp)
        args = typing.get_args(tp) if typing.get_origin(tp) in (dict, Mapping) else ()
        kt, vt = args if len(args) == 2 else (Any, Any)
        out = {
            self.decode(k, kt, f"{path}.<key>"): self.decode(v, vt, _join(path, k))
            for k, v in data.items()
        }
        return coerce(out, tp, path, from_mapping=self.configure)

    def configure(self, cls: Any, data: Mapping[Any, Any], path: str) -> Any:
        """A new config of `cls` (its defaults filled in) updated with `data`."""
        return self.update(from_signature(cls, partial=False), data, path)

    def update(self, buildable: Any, data: Mapping[Any, Any], path: str) -> Any:
        fn = buildable.__fn_or_cls__
        hints = type_hints(fn)
        for key, raw in data.items():
            key = self._key(key, path)
            if key in _HYDRA_KEYS:
                continue
            check_name(fn, key, path)
            sub = _join(path, key)
            current = buildable.__arguments__.get(key)
            setattr(buildable, key, self.decode(raw, hints.get(key, Any), sub, current))
        return buildable

    def _key(self, key: Any, path: str) -> str:
        if self.leaf is not None and not isinstance(key, str):
            key = getattr(key, "text", getattr(key, "value", key))
        if not isinstance(key, str):
            where = f"'{path}': " if path else ""
            raise ConfigTypeError(f"{where}argument names are strings, got {key!r}", path=path)
        if key in _RESERVED - _HYDRA_KEYS:
            where = _join(path, key)
            raise ConfigError(f"'{where}': {key} is only valid beside _target_", path=where)
        return key

    def target(self, data: Mapping[Any, Any], tp: Any, path: str) -> Any:
        name = data["_target_"]
        name = getattr(name, "text", getattr(name, "value", name))
        where = _join(path, "_target_")
        if not isinstance(name, str):
            raise ConfigTypeError(
                f"'{where}' must be a dotted import path, got {name!r}", path=where
            )
        try:
            fn = locate(name)
        except ConfigError as exc:
            raise ConfigError(str(exc), path=where) from None
        partial = _plain(data.get("_partial_", False))
        if not isinstance(partial, bool):
            where = _join(path, "_partial_")
            raise ConfigTypeError(f"'{where}' must be true or false", path=where)
        args = data.get("_args_", [])
        if not isinstance(args, list):
            where = _join(path, "_args_")
            raise ConfigTypeError(f"'{where}' must be a list", path=where)
        decoded = [self.decode(a, Any, _join(_join(path, "_args_"), i)) for i, a in enumerate(args)]
        if _is_value_type(fn):
            named = [k for k in data if k not in _RESERVED]
            if fn is dict:
                values = {k: self.decode(data[k], Any, _join(path, k)) for k in named}
                return coerce(dict(*decoded, **values), tp, path, from_mapping=self.configure)
            if named:
                where = _join(path, named[0])
                raise UnknownArgumentError(
                    f"'{where}': {name} is made from _args_ alone, not named arguments", path=where
                )
            try:
                value = fn(*decoded)
            except Exception as exc:
                raise ConfigTypeError(
                    f"'{path or 'value'}': {name}{tuple(decoded)}: {exc}"
                ) from None
            return coerce(value, tp, path)
        if not callable(fn):
            raise ConfigError(f"'{where}': {name} is not callable", path=where)
        cls = Partial if partial else Config
        try:
            buildable = cls(fn, *decoded)
        except TypeError as exc:
            raise ConfigTypeError(f"'{path or 'value'}': {exc}", path=path or None) from None
        rest = {k: v for k, v in data.items() if k not in ("_target_", "_partial_", "_args_")}
        self.update(buildable, rest, path)
        return coerce(buildable, tp, path)


def _is_value_type(fn: Any) -> bool:
    """Whether a `_target_` names a value made on loading: an enum, a path, a container, a float.

    (`builtins.float` holds the NaN and infinities of a JSON file, which has no literal for them.)

    Subclasses of tuple (a `NamedTuple`) are configured like any other class.
    """
    return isinstance(fn, type) and (
        fn in (tuple, set, frozenset, dict, float) or issubclass(fn, (enum.Enum, pathlib.PurePath))
    )


def _plain(value: Any) -> Any:
    """The Python value of an override's literal (`true` in `{_partial_: true}`); else `value`."""
    return value.value if isinstance(value, Scalar) else value


def check_name(fn: Any, name: str, path: str) -> None:
    """Raise `UnknownArgumentError` unless `fn` takes an argument called `name`."""
    params = parameters(fn)
    if name in params or accepts_kwargs(fn):
        return
    where = f" for '{path}'" if path else ""
    hint = did_you_mean(name, params) or f" Expected one of: {', '.join(params) or 'nothing'}."
    raise UnknownArgumentError(
        f"Unknown argument '{name}'{where}.{hint}",
        path=_join(path, name),
    )


def from_data(
    data: Any, tp: Any = Any, path: str = "", current: Any = None, *, leaf: Leaf | None = None
) -> Any:
    """Configs and values from plain data in the `_target_` format, checked against `tp`.

    A mapping with `_target_` becomes a `Config` (or `Partial`); one without updates `current`
    when that is a config, or configures the class `tp` names; every value is checked against
    the annotation of the argument it goes to.
    """
    return _Decoder(leaf).decode(data, tp, path, current)
