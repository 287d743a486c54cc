"""Applying parsed overrides to a config, in order, with types checked at every step."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import operator
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import fiddle as fdl

from nrun.config._annotations import unresolved_name
from nrun.config._buildable import Config, Partial, to_buildable
from nrun.config._errors import (
    ConfigError,
    ConfigTypeError,
    FactoryError,
    OverrideValueError,
    UnknownArgumentError,
    did_you_mean,
)
from nrun.config._files import decode_file
from nrun.config._grammar import (
    Call,
    DictNode,
    FileRef,
    ListNode,
    Node,
    Override,
    Scalar,
    Sweep,
    Word,
    parse_override,
)
from nrun.config._locate import locate
from nrun.config._serialize import check_name, from_data
from nrun.config._signature import MISSING, child_default, from_signature, parameters, type_hints
from nrun.config._text import load_data
from nrun.config._types import (
    _given,
    coerce,
    is_any,
    strip_annotated,
    type_name,
    union_members,
    unresolved_error,
)

__all__ = ["FactoryLookup", "apply_override", "apply_overrides"]

FactoryLookup = Callable[[str, Any, str], Callable[..., Any] | None]
"""Finds a factory by name: `(name, expected type, path) -> factory or None`."""

Factories = FactoryLookup | Mapping[str, Callable[..., Any]] | None

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add,
    "-=": operator.sub,
    "*=": operator.mul,
    "/=": operator.truediv,
    "|=": operator.or_,
    "&=": operator.and_,
}


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _text_like(tp: Any) -> bool:
    """Whether a bare word given for `tp` means text (never a factory name)."""
    tp = strip_annotated(tp)
    if tp is str or (isinstance(tp, type) and issubclass(tp, (str, Path))):
        return True
    if typing.get_origin(tp) is typing.Literal:
        return True
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _members(tp: Any) -> tuple[Any, ...]:
    return union_members(strip_annotated(tp)) or (tp,)


def _only_text(tp: Any) -> bool:
    members = [m for m in _members(tp) if m is not type(None)]
    return bool(members) and all(_text_like(m) for m in members)


def _wants_object(tp: Any) -> bool:
    """Whether `tp` is filled by objects a factory makes (not by numbers or text)."""
    if _wants_callable(tp):
        return True
    for member in _members(tp):
        member = strip_annotated(member)
        if is_any(member):  # `Any` is a class on Python 3.11+: it asks for nothing in particular
            continue
        if (
            isinstance(member, type)  # on Python 3.10 also `list[int]`: hence the origin check
            and typing.get_origin(member) is None
            and not _text_like(member)
            and member.__module__ != "builtins"
        ):
            return True
    return False


def _slot_type(container: Any, tp: Any, key: Any) -> Any:
    tp = strip_annotated(tp)
    if isinstance(container, fdl.Buildable):
        return type_hints(container.__fn_or_cls__).get(key, Any)
    for member in _members(tp):
        args = typing.get_args(member)
        origin = typing.get_origin(member)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return args[key] if isinstance(key, int) and key < len(args) else Any
        if origin in (list, tuple, set, frozenset) or (
            origin is not None
            and getattr(origin, "__name__", "") in ("Sequence", "MutableSequence")
        ):
            return args[0] if args else Any
        if origin is dict or (origin is not None and getattr(origin, "__name__", "") == "Mapping"):
            return args[1] if len(args) == 2 else Any
    return Any


class _Applier:
    def __init__(self, factories: Factories, base_dir: Path | None):
        self.factories = factories
        self.base_dir = base_dir

    # -- walking -------------------------------------------------------------------------------
    def get(self, node: Any, key: Any, path: str, descend: bool) -> Any:
        """The value at `node[key]`; `MISSING` when it is a leaf argument never set."""
        sub = _join(path, key)
        if isinstance(node, fdl.Buildable):
            if not isinstance(key, str):
                raise OverrideValueError(
                    f"'{path}' is a config of {node.__fn_or_cls__.__qualname__}: "
                    f"address its arguments by name, not [{key}]",
                    path=sub,
                )
            check_name(node.__fn_or_cls__, key, path)
            if key in node.__arguments__:
                return _materialize(node.__arguments__[key])
            value = child_default(node, key)
            if value is MISSING and descend:
                raise OverrideValueError(
                    f"'{sub}' has no value to change inside; set it first (e.g. {sub}=...)",
                    path=sub,
                )
            return value
        if isinstance(node, (list, tuple)):
            if not isinstance(key, int):
                raise OverrideValueError(
                    f"'{path}' is a list: use an index such as {path}[0], not '{key}'", path=sub
                )
            if not -len(node) <= key < len(node):
                raise OverrideValueError(
                    f"index {key} is out of range: '{path}' has {len(node)} items", path=sub
                )
            return _materialize(node[key])
        if isinstance(node, dict):
            if key in node:
                return _materialize(node[key])
            if isinstance(key, int) and str(key) in node:
                return _materialize(node[str(key)])
            if descend:
                keys = f" It has: {', '.join(map(str, node))}." if node else " It has no keys."
                raise UnknownArgumentError(
                    f"'{path}' has no key '{key}'."
                    + (did_you_mean(str(key), map(str, node)) or keys),
                    path=sub,
                )
            return MISSING
        what = "None" if node is None else _given(node)
        raise OverrideValueError(
            f"'{path}' is {what}, which has no '{key}' inside; set '{path}' to a config first",
            path=sub,
        )

    def put(self, node: Any, key: Any, value: Any) -> Any:
        if isinstance(node, fdl.Buildable):
            setattr(node, key, value)
        elif isinstance(node, tuple):
            items = list(node)
            items[key] = value
            return type(node)(items) if type(node) is tuple else type(node)(*items)
        else:
            node[key] = value
        return node

    def update(self, node: Any, tp: Any, keys: tuple[Any, ...], path: str, leaf: Any) -> Any:
        key = _dict_key(node, tp, keys[0]) if isinstance(node, dict) else keys[0]
        sub = _join(path, key)
        slot = _slot_type(node, tp, key)
        current = self.get(node, key, path, descend=len(keys) > 1)
        if len(keys) == 1:
            new = leaf(current, slot, sub)
        else:
            new = self.update(current, slot, keys[1:], sub, leaf)
        return self.put(node, key, new)

    # -- values --------------------------------------------------------------------------------
    def apply(self, root: Any, override: Override) -> Any:
        if override.op == "=":

            def assign(current: Any, tp: Any, path: str) -> Any:
                base = None if current is MISSING else current
                return self.resolve(override.value, tp, path, base)

            return self.update(root, Any, override.path, "", assign)

        def combine(current: Any, tp: Any, path: str) -> Any:
            if current is MISSING or current is None:
                raise OverrideValueError(
                    f"cannot apply '{override.op}' to '{path}': it has no value (None)", path=path
                )
            operand = self.resolve(override.value, self.operand_type(current, tp, override), path)
            try:
                if (
                    isinstance(current, list)
                    and not isinstance(operand, list)
                    and override.op == "+="
                ):
                    result: Any = [*current, operand]
                else:
                    result = _OPS[override.op](current, operand)
            except ZeroDivisionError:
                raise OverrideValueError(
                    f"'{path}' {override.op} 0 divides by zero", path=path
                ) from None
            except TypeError:
                raise OverrideValueError(
                    f"cannot apply '{override.op}' with {_given(operand)} to '{path}', "
                    f"which holds {_given(current)}",
                    path=path,
                ) from None
            return coerce(result, tp, path)

        return self.update(root, Any, override.path, "", combine)

    def operand_type(self, current: Any, tp: Any, override: Override) -> Any:
        if isinstance(current, str):
            return str
        if isinstance(current, list) and isinstance(override.value, ListNode):
            return tp
        if isinstance(current, dict) and isinstance(override.value, DictNode):
            return tp
        if isinstance(current, list):
            return _slot_type(current, tp, 0)
        return Any

    def resolve(self, node: Node, tp: Any, path: str, current: Any = None) -> Any:
        missing = unresolved_name(tp)
        if missing is not None and not (isinstance(node, Scalar) and node.value is None):
            raise unresolved_error(missing, path)
        return from_data(_as_data(node), tp, path, current, leaf=self.leaf)

    def leaf(self, node: Any, tp: Any, path: str, current: Any) -> Any:
        if isinstance(node, Scalar):
            return self.scalar(node, tp, path)
        if isinstance(node, Word):
            return self.word(node.text, tp, path)
        if isinstance(node, Call):
            return self.call(node, tp, path)
        if isinstance(node, FileRef):
            return self.file(node, tp, path, current)
        if isinstance(node, Sweep):
            choices = ", ".join(_text(c) for c in node.choices)
            raise OverrideValueError(
                f"'{path}' is given a sweep ({choices}): expand it with expand_sweeps "
                "(--multirun on the command line), or quote the value if the commas are text",
                path=path,
            )
        raise ConfigTypeError(f"'{path}' got an unexpected value {node!r}", path=path)

    def scalar(self, node: Scalar, tp: Any, path: str) -> Any:
        if node.quoted or node.value is None:
            return coerce(node.value, tp, path)
        exact = any(_exact_scalar(node.value, m) for m in _members(tp))
        if not exact and any(_text_like(m) for m in _members(tp)):
            try:
                return coerce(node.raw, tp, path)
            except ConfigTypeError:
                pass
        return coerce(node.value, tp, path)

    def word(self, text: str, tp: Any, path: str) -> Any:
        if _only_text(tp) or not text:
            return coerce(text, tp, path)
        wants_object = _wants_object(tp)
        factory, registered = self.find(text, tp, path, imports=wants_object)
        if factory is not None:
            return self.make(text, factory, registered, (), (), tp, path)
        try:
            return coerce(text, tp, path)
        except ConfigTypeError:
            if not wants_object:
                raise
        raise FactoryError(
            f"'{text}' is not a factory for '{path}' ({type_name(tp)})."
            + self.suggest(text, tp, path),
            path=path,
        )

    def call(self, node: Call, tp: Any, path: str) -> Any:
        if node.raw and _only_text(tp):  # `name=run(1)` for a str or a Path: the text typed
            return coerce(node.raw, tp, path)
        factory, registered = self.find(node.name, tp, path, imports=True)
        if factory is None:
            raise FactoryError(
                f"'{node.name}' is not a factory for '{path}' ({type_name(tp)})."
                + self.suggest(node.name, tp, path),
                path=path,
            )
        return self.make(node.name, factory, registered, node.args, node.kwargs, tp, path)

    def file(self, node: FileRef, tp: Any, path: str, current: Any) -> Any:
        data, lines, name = load_data(node.path, key=node.key, base_dir=self.base_dir)
        return decode_file(data, lines, name, tp, current, prefix=path)

    # -- factories -----------------------------------------------------------------------------
    def find(self, name: str, tp: Any, path: str, imports: bool) -> tuple[Any, bool]:
        """The factory `name` for `path`, and whether it was registered (else imported)."""
        found: Any = None
        if isinstance(self.factories, Mapping):
            found = self.factories.get(name)
        elif self.factories is not None:
            found = self.factories(name, tp, path)
        if found is not None:
            return found, True
        if imports and "." in name:
            try:
                found = locate(name)
            except ConfigError:
                return None, False
            if callable(found) and not isinstance(found, ModuleType):
                return found, False
        return None, False

    def suggest(self, name: str, tp: Any, path: str) -> str:
        names: Iterable[str] = ()
        if isinstance(self.factories, Mapping):
            names = self.factories.keys()
        elif self.factories is not None:
            names = getattr(self.factories, "names", lambda tp, path: ())(tp, path)
        return did_you_mean(name, names)

    def make(
        self,
        name: str,
        factory: Any,
        registered: bool,
        args: tuple[Node, ...],
        kwargs: tuple[tuple[str, Node], ...],
        tp: Any,
        path: str,
    ) -> Any:
        label = f"{name}()"
        params = list(parameters(factory))
        hints = type_hints(factory)
        if len(args) > len(params):
            raise FactoryError(
                f"'{name}' takes {len(params)} positional arguments, {len(args)} given", path=path
            )
        values: dict[str, Any] = {}
        for pname, arg in zip(params, args, strict=False):
            values[pname] = self.resolve(arg, hints.get(pname, Any), _join(label, pname))
        for key, arg in kwargs:
            check_name(factory, key, label)
            if key in values:
                raise FactoryError(f"'{name}' got two values for '{key}'", path=path)
            values[key] = self.resolve(arg, hints.get(key, Any), _join(label, key))
        if registered or getattr(factory, "__auto_config__", False):
            try:
                result = to_buildable(factory(**values))
            except ConfigError:
                raise
            except Exception as exc:
                reason = (str(exc).strip().splitlines() or [""])[0]
                raise FactoryError(
                    f"factory '{name}' for '{path}' failed: {type(exc).__name__}: {reason}",
                    path=path,
                ) from None
        elif _wants_callable(tp):
            result = Partial(factory, **values)
        elif isinstance(factory, type):
            result = from_signature(factory, partial=False)
            for key, value in values.items():
                setattr(result, key, value)
        else:
            result = Config(factory, **values)
        return coerce(result, tp, path)


def _wants_callable(tp: Any) -> bool:
    """Whether `tp` asks for a callable, so that a named function is passed, not called."""
    for member in _members(tp):
        member = strip_annotated(member)
        if member is typing.Callable or member is cabc.Callable:
            return True
        if typing.get_origin(member) is cabc.Callable:
            return True
    return False


def _materialize(value: Any) -> Any:
    """A dataclass instance met on the way becomes a config, so overrides can change it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_buildable(value)
    return value


def _dict_key(node: dict[Any, Any], tp: Any, key: Any) -> Any:
    """The key of `node` that `key` addresses: `a.0` is the key `"0"` of a dict with str keys."""
    if key in node or not isinstance(key, int):
        return key
    key_types = [typing.get_args(m)[0] for m in _members(tp) if len(typing.get_args(m)) == 2]
    if str(key) in node or any(strip_annotated(k) is str for k in key_types):
        return str(key)
    return key


def _exact_scalar(value: Any, tp: Any) -> bool:
    tp = strip_annotated(tp)
    if is_any(tp):
        return False
    if tp is float:
        return isinstance(value, float)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is bool:
        return isinstance(value, bool)
    if typing.get_origin(tp) is typing.Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(tp))
    return False


def _text(node: Node) -> str:
    if isinstance(node, Scalar):
        return node.raw
    if isinstance(node, Word):
        return node.text
    return type(node).__name__


def _as_data(node: Node) -> Any:
    """Lists and dicts of a parsed value as plain containers; everything else stays a node."""
    if isinstance(node, ListNode):
        return [_as_data(item) for item in node.items]
    if isinstance(node, DictNode):
        out: dict[Any, Any] = {}
        for key, value in node.items:
            plain = (
                key.text if isinstance(key, Word) else key.value if isinstance(key, Scalar) else key
            )
            out[plain] = _as_data(value)
        return out
    return node


def apply_override(
    config: Any,
    override: str | Override,
    *,
    factories: Factories = None,
    base_dir: str | Path | None = None,
) -> Any:
    """Apply one override to `config` (changed in place) and return it.

    `factories` resolves names such as `model=my_model(hidden=3)`: a mapping of names to
    factories, or a `FactoryLookup`; dotted import paths (`pkg.Model(size=3)`) always work for
    arguments that take objects. Relative `@file` paths are read from `base_dir` (default: cwd).
    """
    parsed = parse_override(override) if isinstance(override, str) else override
    applier = _Applier(factories, Path(base_dir) if base_dir is not None else None)
    try:
        return applier.apply(config, parsed)
    except ConfigError as exc:
        raise exc.with_override(parsed.text) from None


def apply_overrides(
    config: Any,
    overrides: Iterable[str | Override],
    *,
    factories: Factories = None,
    base_dir: str | Path | None = None,
) -> Any:
    """Apply overrides to `config` in order (later ones win); see `apply_override`."""
    if not isinstance(config, fdl.Buildable):
        raise ConfigTypeError(
            f"overrides apply to a Config or Partial, got {type(config).__name__}"
        )
    for override in overrides:
        config = apply_override(config, override, factories=factories, base_dir=base_dir)
    return config
