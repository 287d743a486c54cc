"""The factory registry: `@cli.factory` functions found by name, by return type or by target.

A factory is a function whose result configures an argument (`model=my_model`) or a whole
entrypoint (`--factory train_recipe`). It is registered for its return type (every argument of
that type, at any depth, may use it), or for one entrypoint (`target=`), or for one argument of
one entrypoint (`target=` and `target_arg=`). Installed packages add factories through the
`nrun.factories` entry points, loaded the first time a name is looked up.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from nrun.cli._names import module_name
from nrun.config import strip_annotated, union_members

__all__ = [
    "Factory",
    "configured_type",
    "factory",
    "find_entrypoint_factory",
    "fits",
    "module_name",
    "registry",
    "return_type",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Factory:
    """One registered factory and where it applies."""

    name: str
    fn: Callable[..., Any]
    returns: Any = None
    target: Callable[..., Any] | None = None
    target_arg: str | None = None
    is_target_default: bool = False

    @property
    def where(self) -> tuple[str, int | None]:
        """The factory's module-qualified name and its line, for help panels."""
        fn = inspect.unwrap(self.fn)
        module = getattr(fn, "__module__", "?")
        try:
            line: int | None = inspect.getsourcelines(fn)[1]
        except (OSError, TypeError):
            line = None
        return f"{module_name(module)}.{getattr(fn, '__qualname__', self.name)}", line


class _Registry:
    """Every factory this process knows, in registration order."""

    def __init__(self) -> None:
        self.factories: list[Factory] = []
        self._plugins_loaded = False

    def add(self, entry: Factory) -> None:
        self.factories = [
            f
            for f in self.factories
            if not (
                f.name == entry.name
                and f.target == entry.target
                and f.target_arg == entry.target_arg
                and f.returns == entry.returns
            )
        ]
        self.factories.append(entry)

    def _load_plugins(self) -> None:
        """Import the modules named by `nrun.factories` entry points (they register on import)."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group="nrun.factories"):
            point.load()

    def for_argument(
        self, target: Callable[..., Any] | None, arg: str, tp: Any
    ) -> Iterator[Factory]:
        """Factories usable for argument `arg` of `target` (or a nested one) of type `tp`."""
        self._load_plugins()
        for entry in self.factories:
            if entry.target is not None:
                if (
                    entry.target_arg is None
                    or entry.target is not target
                    or entry.target_arg != arg
                ):
                    continue
                yield entry
            elif entry.returns is not None and fits(resolved_returns(entry), tp):
                yield entry

    def for_entrypoint(self, target: Callable[..., Any]) -> list[Factory]:
        """Factories that configure the whole entrypoint `target` (`--factory NAME`)."""
        self._load_plugins()
        return [f for f in self.factories if f.target is target and f.target_arg is None]


registry = _Registry()


def fits(returns: Any, tp: Any) -> bool:
    """Whether a factory returning `returns` may fill a slot annotated `tp`."""
    tp = strip_annotated(tp)
    members = union_members(tp)
    if members is not None:
        return any(fits(returns, m) for m in members if m is not type(None))
    origin = typing.get_origin(returns) or returns
    wanted = typing.get_origin(tp) or tp
    if returns == tp:
        return True
    try:
        return isinstance(origin, type) and isinstance(wanted, type) and issubclass(origin, wanted)
    except TypeError:
        return False


def return_type(fn: Callable[..., Any]) -> Any:
    """What `fn` configures: its return annotation, `T` for `-> Config[T]` / `-> Partial[T]`.

    A forward reference that cannot be resolved yet (a name imported under `TYPE_CHECKING`)
    stays as written; `resolved_returns` resolves it when a factory is looked up.
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = getattr(fn, "__annotations__", {})
    returns = hints.get("return")
    return configured_type(returns) if returns is not None else None


def resolved_returns(entry: Factory) -> Any:
    """`entry.returns`, a forward reference in it resolved where the factory was written."""
    returns = entry.returns
    if not _forward(returns):
        return returns
    from nrun.config import get_hints

    hint = get_hints(inspect.unwrap(entry.fn)).get("return")
    return configured_type(hint) if hint is not None else None


def _forward(tp: Any) -> bool:
    if isinstance(tp, (str, typing.ForwardRef)):
        return True
    return any(_forward(arg) for arg in typing.get_args(tp) if not isinstance(arg, (list, tuple)))


def configured_type(annotation: Any) -> Any:
    """`T` for `Config[T]`/`Partial[T]` (and fiddle's own, or subclasses); else the annotation.

    Without importing fiddle: an annotation that names a fiddle class means fiddle is imported.
    """
    annotation = strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    fiddle = sys.modules.get("fiddle")
    buildable = getattr(fiddle, "Buildable", None) if fiddle is not None else None
    if isinstance(origin, type) and isinstance(buildable, type) and issubclass(origin, buildable):
        args = typing.get_args(annotation)
        return strip_annotated(args[0]) if args else None
    return annotation


@overload
def factory(fn: F, /) -> F: ...
@overload
def factory(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    target: Callable[..., Any] | None = None,
    target_arg: str | None = None,
    is_target_default: bool = False,
) -> Callable[[F], F]: ...
def factory(
    fn: F | None = None,
    /,
    *,
    name: str | None = None,
    target: Callable[..., Any] | None = None,
    target_arg: str | None = None,
    is_target_default: bool = False,
) -> F | Callable[[F], F]:
    """Register a factory: for its return type, or for `target` (and its argument `target_arg`).

    `is_target_default=True` makes it the starting point of `target` when no `--factory`,
    `--yaml` or `--load` is given (for an argument: that argument's default).
    """

    def register(fn: F) -> F:
        if target_arg is not None and target is None:
            raise ValueError(
                "`target_arg` cannot be used without specifying a `target`: "
                "factory(target_arg=...) needs target= (the entrypoint)"
            )
        returns = None if target is not None else return_type(fn)
        if target is None and returns is None:
            raise TypeError(
                f"factory {getattr(fn, '__name__', fn)!r} needs a return annotation "
                "(the type it configures) or target="
            )
        entry = Factory(
            name=name or str(getattr(fn, "__name__", "factory")),
            fn=fn,
            returns=returns,
            target=inspect.unwrap(target) if target is not None else None,
            target_arg=target_arg,
            is_target_default=is_target_default,
        )
        registry.add(entry)
        return fn

    return register(fn) if fn is not None else register


def find_entrypoint_factory(target: Callable[..., Any], name: str) -> Factory | None:
    """The entrypoint factory `name` registered for `target`."""
    for entry in registry.for_entrypoint(target):
        if entry.name == name:
            return entry
    return None
