"""`Config` and `Partial` on fiddle, `build`, and what `autoconvert` calls."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import fiddle as fdl
from fiddle.experimental import auto_config

from nrun.config._errors import ConfigError

__all__ = ["Config", "Partial", "as_partial", "autobuild", "build", "to_buildable"]

T = TypeVar("T")


def _nemo_run_arguments(buildable: fdl.Buildable[Any]) -> None:
    """What NeMo-Run's `Config(...)`/`Partial(...)` do to their arguments, so configs match.

    A dataclass instance given becomes its `Config` (so `model.size=3` reaches inside), and an
    argument left out whose annotation is `Annotated[Optional[X], Config[X]]` starts as `X`.
    """
    from nrun.config._signature import annotated_default, annotated_hints, parameters

    arguments = buildable.__arguments__
    for key, value in list(arguments.items()):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            arguments[key] = to_buildable(value)
    fn = buildable.__fn_or_cls__
    hints = annotated_hints(fn)
    for name, param in parameters(fn).items():
        if name not in arguments and param.default is None:
            value = annotated_default(hints.get(name))
            if isinstance(value, fdl.Buildable):
                setattr(buildable, name, value)


class Config(fdl.Config[T]):
    """A lazily built call `fn(**arguments)`: `build(Config(Model, size=3))` is `Model(size=3)`.

    A fiddle `Config` (so `fdl.build` and fiddle's tools accept it) whose arguments can be set
    with the override grammar and exported to YAML, TOML or JSON. Dataclass instances given as
    arguments are kept as their configs.
    """

    def __init__(self, fn_or_cls: Callable[..., T], /, *args: Any, **kwargs: Any) -> None:
        super().__init__(fn_or_cls, *args, **kwargs)
        _nemo_run_arguments(self)


class Partial(fdl.Partial[T]):
    """Like `Config`, but builds to `functools.partial(fn, **arguments)`: a task to call later."""

    def __init__(self, fn_or_cls: Callable[..., T], /, *args: Any, **kwargs: Any) -> None:
        super().__init__(fn_or_cls, *args, **kwargs)
        _nemo_run_arguments(self)


def build(buildable: Any) -> Any:
    """Build `buildable` (and every config nested in it) into the objects it describes."""
    return fdl.build(buildable)


def _retype(value: Any) -> Any:
    """Turn fiddle's own `Config`/`Partial` nodes into ours, everywhere in `value`."""
    if isinstance(value, fdl.Buildable):
        cls: type[fdl.Buildable[Any]]
        if isinstance(value, (Config, Partial)):
            cls = type(value)
        else:
            cls = Partial if isinstance(value, fdl.Partial) else Config
        new = cls.__new__(cls)
        for key, item in vars(value).items():
            object.__setattr__(new, key, item)
        object.__setattr__(
            new, "__arguments__", {k: _retype(v) for k, v in value.__arguments__.items()}
        )
        return new
    if isinstance(value, list):
        return [_retype(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_retype(v) for v in value)
    if isinstance(value, dict):
        return {k: _retype(v) for k, v in value.items()}
    return value


def to_buildable(value: Any, *, partial: bool = False) -> Any:
    """Turn dataclass instances in `value` into `Config`s (recursively); other values unchanged.

    A dataclass field left at a `default_factory` value is still written out, so the config
    builds the same object.
    """
    if isinstance(value, fdl.Buildable):
        return value if type(value) in (Config, Partial) else _retype(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = Partial if partial else Config
        fields = {
            f.name: to_buildable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init
        }
        return cls(type(value), **fields)
    if isinstance(value, list):
        return [to_buildable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_buildable(v) for v in value)
    if isinstance(value, dict):
        return {k: to_buildable(v) for k, v in value.items()}
    return value


def _as_root(value: Any, partial: bool, fn: Callable[..., Any]) -> Any:
    value = to_buildable(value)
    if isinstance(value, list):
        return [_as_root(v, partial, fn) for v in value]
    if not isinstance(value, fdl.Buildable):
        raise ConfigError(
            f"autoconvert: {fn.__qualname__}() returned {type(value).__name__}, which is not a "
            "call that can become a Config"
        )
    return as_partial(value) if partial else value


def _exempt(fn: Any) -> bool:
    return fn in (Config, Partial, fdl.Config, fdl.Partial) or bool(
        getattr(fn, "__auto_config__", False)
    )


def autobuild(fn: Callable[..., Any], partial: bool, *args: Any, **kwargs: Any) -> Any:
    """Call `fn` traced by fiddle's `auto_config`: its `Config` (a `Partial` if `partial`)."""
    try:
        traced = auto_config.auto_config(
            fn,
            experimental_allow_control_flow=False,
            experimental_allow_dataclass_attribute_access=True,
            experimental_exemption_policy=_exempt,
        )
    except Exception:
        # No source to trace (a lambda, a C function) or control flow: fall back to calling
        # the function and converting what it returns.
        return _as_root(fn(*args, **kwargs), partial, fn)
    return _as_root(traced.as_buildable(*args, **kwargs), partial, fn)


def as_partial(config: Any) -> Any:
    """`config` as a `Partial` of the same call (a `Partial` is returned as it is)."""
    if isinstance(config, fdl.Partial):
        return config
    if not isinstance(config, fdl.Buildable):
        raise TypeError(f"as_partial expects a Config or a Partial, not {type(config).__name__}")
    converted = Partial.__new__(Partial)
    for key, item in vars(config).items():  # arguments, their history and tags: copies
        object.__setattr__(converted, key, copy.copy(item))
    return converted
