"""From a command line to a task: the base config, the overrides, and the `run.*` settings.

Nothing here prints or asks: `_run` does that with what these functions return.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nrun.cli._factories import Factory, find_entrypoint_factory, fits, registry, return_type
from nrun.config import ConfigError, did_you_mean, is_buildable
from nrun.exec.base import Executor, ExecutorError
from nrun.exec.plugins import ExperimentPlugin

__all__ = [
    "CLIError",
    "RunSettings",
    "base_config",
    "check_name",
    "resolve_run",
    "resolve_task",
    "split_run",
    "unknown_factory",
]


class CLIError(Exception):
    """A usage error the CLI reports in one line (exit code 2)."""


if TYPE_CHECKING:
    _Plugins = list[ExperimentPlugin]
else:  # overrides may give one plugin (`run.plugins=my_plugin`); __post_init__ makes it a list
    _Plugins = list[ExperimentPlugin] | ExperimentPlugin


@dataclasses.dataclass(kw_only=True)
class RunSettings:
    """What `run.*` overrides configure: where and how the task is launched.

    Besides the executor, plugins and name, every RunContext option may be given as an override
    (`run.detach=true`, `run.skip_confirmation=true`, as NeMo-Run accepts); None means "not
    given", so the command-line flag applies. `skip_confirmation` is NeMo-Run's name of `yes`.
    """

    executor: Executor | None = None
    plugins: _Plugins = dataclasses.field(default_factory=list)
    name: str | None = None
    direct: bool | None = None
    dryrun: bool | None = None
    detach: bool | None = None
    yes: bool | None = None
    skip_confirmation: bool | None = None
    tail_logs: bool | None = None
    verbose: bool | None = None
    repl: bool | None = None
    lazy: bool | None = None
    multirun: bool | None = None
    factory: str | None = None
    load: str | None = None
    yaml: str | None = None
    to_yaml: str | None = None
    to_toml: str | None = None
    to_json: str | None = None
    rich_exceptions: bool | None = None
    rich_traceback_short: bool | None = None
    rich_show_locals: bool | None = None
    rich_theme: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.plugins, list):  # `run.plugins=one_plugin`: a list of one
            self.plugins = [self.plugins]


def check_name(value: str, what: str) -> None:
    """Raise `CLIError` unless `value` is a safe experiment name (`--name`, `run.name`).

    The rules are the store's (a name is a folder): letters, digits, `.`, `_`, `-`; no `/`,
    `..`, spaces or control characters. The value is echoed escaped.
    """
    from nrun.exec.store import check_name as store_check

    try:
        store_check(what, value)
    except ExecutorError as exc:
        raise CLIError(str(exc)) from None


def unknown_factory(fn: Callable[..., Any], name: str) -> CLIError:
    """The error for `--factory NAME` when `fn` has no entrypoint factory of that name."""
    names = [f.name for f in registry.for_entrypoint(fn)]
    hint = did_you_mean(name, names) or f" Factories: {', '.join(names) or 'none'}."
    return CLIError(f"unknown factory '{name}' for {fn.__name__}.{hint}")


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
    """A `FactoryLookup` for one entrypoint: registered factories for each argument's path.

    Also, as NeMo-Run: `default` names the `is_target_default=True` factory of the argument,
    and a plain function of the entrypoint's own module (no `@cli.factory`) is a factory when
    its return annotation says it makes the argument's type (checked before it is called).
    """

    def __init__(
        self, target: Callable[..., Any] | None, extra: Callable[[str, Any], Any] | None = None
    ):
        self.target = target
        self.extra = extra

    def _candidates(self, tp: Any, path: str) -> list[Factory]:
        arg = path.split(".", 1)[0].split("[", 1)[0]
        return list(registry.for_argument(self.target, arg, tp))

    def __call__(self, name: str, tp: Any, path: str) -> Any:
        candidates = self._candidates(tp, path)
        for entry in reversed(candidates):
            if entry.name == name:
                return entry.fn
        if name == "default":
            for entry in reversed(candidates):
                if entry.is_target_default:
                    return entry.fn
        if self.extra is not None:
            return self.extra(name, tp)
        return self._module_function(name, tp)

    def _module_function(self, name: str, tp: Any) -> Any:
        """`name` as a function of the entrypoint's module whose return annotation fits `tp`."""
        if self.target is None or not name.isidentifier():
            return None
        if any(entry.name == name for entry in registry.factories):
            return None  # registered, for another type: not this one
        module = sys.modules.get(getattr(self.target, "__module__", "") or "")
        found = getattr(module, name, None) if module is not None else None
        if (
            not inspect.isfunction(found)
            or found is self.target
            or found.__module__ != module.__name__  # type: ignore[union-attr]
        ):
            return None
        returns = return_type(found)
        if returns is None or not fits(returns, tp):
            return None
        return found

    def names(self, tp: Any, path: str) -> list[str]:
        names = [entry.name for entry in self._candidates(tp, path)]
        if self.extra is not None:
            names += list(getattr(self.extra, "names", lambda: [])())
        return names


def _load_file(spec: str, what: str, fn: Callable[..., Any], base: Callable[[], Any]) -> Any:
    """The config of a file: a `_target_` that must be `fn`, or overrides onto `base()`.

    A mapping without `_target_` (an OmegaConf-style file) sets the entrypoint's arguments,
    nested mappings their fields; a file naming another function is refused, never run.
    """
    from nrun.config import load, read_file, target_name

    path = spec.removeprefix("@")
    data = read_file(path)
    if isinstance(data, dict) and "_target_" not in data:
        return load(path, base=base())
    if isinstance(data, dict) and isinstance(data.get("_target_"), str):
        named = data["_target_"]
        try:
            expected = target_name(fn)
        except ConfigError:
            expected = f"{getattr(fn, '__module__', '?')}.{fn.__qualname__}"
        if named != expected and named != f"{fn.__module__}.{fn.__qualname__}":
            raise CLIError(
                f"{what} '{path}' configures {named}, not the entrypoint {expected}: "
                "give a file of this entrypoint, or one without _target_ (its arguments)"
            )
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
    """Where overrides start: `--load`, `--yaml`, `--factory`, a default factory, or defaults.

    `--factory default` names the default factory (`default_factory`, or the one registered
    with `is_target_default=True`) unless a factory is called `default`.
    """
    from nrun.config import as_partial, from_signature, to_buildable

    def defaults() -> Any:
        default = default_factory or next(
            (f.fn for f in registry.for_entrypoint(fn) if f.is_target_default), None
        )
        config = to_buildable(default(), partial=True) if default else from_signature(fn)
        for entry in registry.factories:  # argument defaults: target_arg + is_target_default
            if entry.target is fn and entry.target_arg and entry.is_target_default:
                setattr(config, entry.target_arg, to_buildable(entry.fn()))
        return config

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
        config = _load_record(str(path))
    elif yaml:
        config = _load_file(yaml, "--yaml", fn, defaults)
    elif factory and factory.startswith("@"):
        config = _load_file(factory, "--factory", fn, defaults)
    elif factory:
        entry = find_entrypoint_factory(fn, factory)
        if entry is None and factory == "default":
            config = defaults()
        elif entry is None:
            raise unknown_factory(fn, factory)
        else:
            config = to_buildable(entry.fn(), partial=True)
    else:
        config = defaults()
    if is_buildable(config) and config.__fn_or_cls__ is fn:
        config = as_partial(config)  # the entrypoint is called later, with these arguments
    return config


def _load_record(path: str) -> Any:
    from nrun.config import load

    config = load(path)
    if not is_buildable(config):
        raise CLIError(f"--load '{path}' holds no config (expected a mapping with _target_)")
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
    """Build the `run.*` settings: `run.executor=NAME`, `run.executor.FIELD=...`, `run.name=...`.

    Every RunContext option is accepted too (`run.detach=true`); an executor missing a
    required field is one line naming it (`run.executor=docker needs
    run.executor.container_image=...`).
    """
    from nrun.config import Config, apply_overrides, build, to_buildable

    root = Config(_Root, run=Config(RunSettings))
    if default_executor is not None:
        root.run.executor = to_buildable(default_executor)
    lookup = _Lookup(None, _Executors())
    for override in overrides:
        try:
            apply_overrides(root, [override], factories=lookup)
        except ExecutorError as exc:  # e.g. an executor that is not installed
            raise CLIError(f"Invalid override '{override}': {exc}") from None
    _check_executor(root, overrides)
    try:
        built = build(root.run)
    except (ExecutorError, TypeError, ValueError) as exc:
        reason = (str(exc.args[0] if exc.args else exc).strip().splitlines() or [""])[0]
        raise CLIError(f"Invalid run.* settings ({' '.join(overrides)}): {reason}") from None
    assert isinstance(built, RunSettings)
    if built.name is not None:
        check_name(built.name, "run.name")
    return built


def _check_executor(root: Any, overrides: Sequence[str]) -> None:
    """Refuse an executor config missing required fields, naming them as overrides to give."""
    from nrun.config import missing_arguments

    executor = root.run.__arguments__.get("executor")
    if not is_buildable(executor):
        return
    missing = missing_arguments(executor)
    if missing:
        given = next(
            (o.partition("=")[2] for o in reversed(overrides) if o.startswith("run.executor=")),
            getattr(executor.__fn_or_cls__, "__name__", "the executor"),
        )
        wanted = " ".join(f"run.executor.{name}=..." for name in missing)
        raise CLIError(f"run.executor={given} needs {wanted}")
