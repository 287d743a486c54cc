"""Type hints of a callable with forward references resolved where its module can see them.

`typing.get_type_hints` fails on the whole signature when one name is missing. Here a missing
name is looked up, in order, in the function's closure, then among the imports of the module's
`if TYPE_CHECKING:` blocks (imported now, as NeMo-Run does); a name found nowhere becomes an
`Unresolved` stand-in, so that a value given for it is refused with the name, never accepted
as text. Standard library only.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any

from nrun.config._annotations import unresolved

__all__ = ["get_hints"]

_MAX_NAMES = 50


def get_hints(target: Any, owner: Any = None, *, include_extras: bool = False) -> dict[str, Any]:
    """`typing.get_type_hints(target)`, each name it cannot find resolved as described above.

    `owner` is where the annotations were written (a class for its `__init__`); default `target`.
    """
    owner = target if owner is None else owner
    try:
        return typing.get_type_hints(target, include_extras=include_extras)
    except Exception:
        pass
    globalns = _globals(owner)
    localns: dict[str, Any] = dict(vars(owner)) if isinstance(owner, type) else {}
    localns.update(_closure(target))
    for _ in range(_MAX_NAMES):
        try:
            return typing.get_type_hints(
                target, globalns=globalns, localns=localns, include_extras=include_extras
            )
        except NameError as exc:
            name = getattr(exc, "name", None)
            if not name or name in localns:
                break
            localns[name] = _type_checking_import(owner, name)
        except Exception:
            break
    return _one_by_one(target, globalns, localns)


def _globals(owner: Any) -> dict[str, Any]:
    """The names `owner`'s annotations were written among.

    For a class, each class of its MRO contributes the globals its own functions see (the
    module that defined it, even when `__module__` names the package that re-exports it).
    """
    if not isinstance(owner, type):
        found = getattr(inspect.unwrap(owner), "__globals__", None)
        if isinstance(found, dict):
            return found
        module = sys.modules.get(getattr(owner, "__module__", "") or "")
        return dict(vars(module)) if module is not None else {}
    merged: dict[str, Any] = {}
    for cls in reversed(owner.__mro__):
        module = sys.modules.get(getattr(cls, "__module__", "") or "")
        if module is not None:
            merged.update(vars(module))
        for value in vars(cls).values():
            fn = getattr(value, "__func__", value)
            found = getattr(inspect.unwrap(fn), "__globals__", None) if callable(fn) else None
            if isinstance(found, dict):
                merged.update(found)
                break
    return merged


def _closure(fn: Any) -> dict[str, Any]:
    """The variables a nested function closes over (a local class its body uses)."""
    try:
        return dict(inspect.getclosurevars(inspect.unwrap(fn)).nonlocals)
    except Exception:
        return {}


def _type_checking_import(owner: Any, name: str) -> Any:
    """What `name` is in the module's `if TYPE_CHECKING:` imports (imported now), or a stand-in."""
    path = _type_checking_imports(_source_file(owner)).get(name)
    if path is not None:
        module, _, attr = path.rpartition(".")
        try:
            if not module:
                return __import__(attr)
            found = __import__(module, fromlist=[attr])
            return getattr(found, attr)
        except Exception:
            pass
    return unresolved(name)


def _source_file(owner: Any) -> str | None:
    try:
        return inspect.getsourcefile(inspect.unwrap(owner))
    except (TypeError, OSError):
        return None


@functools.lru_cache(maxsize=64)
def _type_checking_imports(path: str | None) -> dict[str, str]:
    """Names bound by the imports of `if TYPE_CHECKING:` blocks of a source file: name -> path."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.If) or not _is_type_checking(node.test):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    found[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
                for alias in stmt.names:
                    found[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _one_by_one(target: Any, globalns: dict[str, Any], localns: dict[str, Any]) -> dict[str, Any]:
    """Last resort: each annotation evaluated alone; one that fails is `Unresolved` (its text)."""
    annotations: dict[str, Any] = {}
    fn: Callable[..., Any] = inspect.unwrap(target)
    raw = getattr(fn, "__annotations__", None)
    if isinstance(raw, dict):
        annotations = dict(raw)
    hints: dict[str, Any] = {}
    for name, annotation in annotations.items():
        if isinstance(annotation, str):
            try:
                hints[name] = eval(annotation, globalns, localns)
            except Exception:
                hints[name] = unresolved(annotation)
        else:
            hints[name] = annotation
    return hints
