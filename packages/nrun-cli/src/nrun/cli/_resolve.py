"""From a command line to a task: the base config, the overrides, and the `run.*` settings.

Nothing here prints or asks: `_run` does that with what these functions return.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nrun.cli._factories import Factory, find_entrypoint_factory, registry
from nrun.config import did_you_mean, is_buildable
from nrun.exec.base import Executor
from nrun.exec.plugins import ExperimentPlugin

__all__ = ["CLIError", "RunSettings", "base_config", "resolve_run", "resolve_task", "split_run"]


class CLIError(Exception):
    """A usage error the CLI reports in one line (exit code 2)."""


@dataclasses.dataclass(kw_only=True)
class RunSettings:
    """What `run.*` overrides configure: where and how the task is launched."""

    executor: Executor | None = None
    plugins: list[ExperimentPlugin] = dataclasses.field(default_factory=list)
    name: str | None = None


def split_run(arguments: Sequence[str]) -> tuple[list[str], list[str]]:
    """Task overrides and `run.*` ones (`run.` as a whole prefix: `runtime=1` is the task's)."""
    task: list[str] = []
    run: list[str] = []
    for argument in arguments:
        (run if argument.startswith("run.") else task).append(argument)
    return task, run


@dataclasses.dataclass(kw_only=True)
class _Root:
    """Holds `run`, so `run.*` overrides are applied (and reported) with their full path."""

    run: RunSettings = dataclasses.field(default_factory=RunSettings)


class _Lookup:
    """A `FactoryLookup` for one entrypoint: registered factories for each argument's path."""

    def __init__(
        self, target: Callable[..., Any] | None, extra: Callable[[str, Any], Any] | None = None
    ):
        self.target = target
        self.extra = extra

    def _candidates(self, tp: Any, path: str) -> list[Factory]:
        arg = path.split(".", 1)[0].split("[", 1)[0]
        return list(registry.for_argument(self.target, arg, tp))

    def __call__(self, name: str, tp: Any, path: str) -> Any:
        for entry in reversed(self._candidates(tp, path)):
            if entry.name == name:
                return entry.fn
        if self.extra is not None:
            return self.extra(name, tp)
        return None

    def names(self, tp: Any, path: str) -> list[str]:
        names = [entry.name for entry in self._candidates(tp, path)]
        if self.extra is not None:
            names += list(getattr(self.extra, "names", lambda: [])())
        return names


def _load_file(spec: str, what: str) -> Any:
    from nrun.config import load

    path = spec.removeprefix("@")
    config = load(path)
    if not is_buildable(config):
        raise CLIError(f"{what} '{path}' holds no config (expected a mapping with _target_)")
    return config


def base_config(
    fn: Callable[..., Any],
    *,
    factory: str | None = None,
    yaml: str | None = None,
    load: str | None = None,
    default_factory: Callable[..., Any] | None = None,
) -> Any:
    """Where overrides start: `--load`, `--yaml`, `--factory`, a default factory, or defaults."""
    from nrun.config import as_partial, from_signature, to_buildable

    chosen = [
        name
        for name, value in (("--factory", factory), ("--yaml", yaml), ("--load", load))
        if value
    ]
    if len(chosen) > 1:
        raise CLIError(f"{' and '.join(chosen)} both set the starting config; give only one")
    if load:
        folder = Path(load)
        path = folder / "task.yaml" if folder.is_dir() else folder
        if not path.is_file():
            raise CLIError(f"--load '{load}' is not a task record (no {path.name} there)")
        config = _load_file(str(path), "--load")
    elif yaml:
        config = _load_file(yaml, "--yaml")
    elif factory and factory.startswith("@"):
        config = _load_file(factory, "--factory")
    elif factory:
        entry = find_entrypoint_factory(fn, factory)
        if entry is None:
            names = [f.name for f in registry.for_entrypoint(fn)]
            hint = did_you_mean(factory, names) or f" Factories: {', '.join(names) or 'none'}."
            raise CLIError(f"unknown factory '{factory}' for {fn.__name__}.{hint}")
        config = to_buildable(entry.fn(), partial=True)
    else:
        default = default_factory or next(
            (f.fn for f in registry.for_entrypoint(fn) if f.is_target_default), None
        )
        config = to_buildable(default(), partial=True) if default else from_signature(fn)
        for entry in registry.factories:  # argument defaults: target_arg + is_target_default
            if entry.target is fn and entry.target_arg and entry.is_target_default:
                setattr(config, entry.target_arg, to_buildable(entry.fn()))
    if is_buildable(config) and config.__fn_or_cls__ is fn:
        config = as_partial(config)  # the entrypoint is called later, with these arguments
    return config


def resolve_task(fn: Callable[..., Any], config: Any, overrides: Sequence[str]) -> Any:
    """Apply the task's overrides with the factories registered for `fn`'s arguments."""
    from nrun.config import apply_overrides

    return apply_overrides(config, overrides, factories=_Lookup(fn))


class _Executors:
    """Executor names for `run.executor=NAME`: installed `nrun.executors` entry points."""

    def __call__(self, name: str, tp: Any) -> Any:
        from nrun.exec.executors import DISTRIBUTIONS, executor_class, executor_names

        if name not in executor_names() and name not in DISTRIBUTIONS:
            return None
        cls = executor_class(name)  # a known name not installed: one line saying what to install
        return _config_factory(cls)

    def names(self) -> list[str]:
        from nrun.exec.executors import executor_names

        return executor_names()


def _config_factory(cls: type) -> Callable[..., Any]:
    """A factory making `Config(cls)` with its defaults, so fields can be set one by one after."""
    from nrun.config import from_signature

    @functools.wraps(
        cls, assigned=("__module__", "__name__", "__qualname__", "__doc__"), updated=()
    )
    def make(**values: Any) -> Any:
        config = from_signature(cls, partial=False)
        for key, value in values.items():
            setattr(config, key, value)
        return config

    make.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    return make


def resolve_run(overrides: Sequence[str], default_executor: Any = None) -> RunSettings:
    """Build the `run.*` settings: `run.executor=NAME`, `run.executor.FIELD=...`, `run.name=...`."""
    from nrun.config import Config, apply_overrides, build, to_buildable

    root = Config(_Root, run=Config(RunSettings))
    if default_executor is not None:
        root.run.executor = to_buildable(default_executor)
    from nrun.exec.base import ExecutorError

    lookup = _Lookup(None, _Executors())
    for override in overrides:
        try:
            apply_overrides(root, [override], factories=lookup)
        except ExecutorError as exc:  # e.g. an executor that is not installed
            raise CLIError(f"Invalid override '{override}': {exc}") from None
    built = build(root.run)
    assert isinstance(built, RunSettings)
    return built
