"""Training-script configs: a YAML file plus strictly checked `key=value` overrides, as a dataclass.

```python
@dataclass
class MyConfig:
    learning_rate: float = 1e-4
    batch_size: int = 32

config = parse_config_and_overrides(MyConfig, config_file="config.yaml")
# python train.py learning_rate=3e-4 --config other.yaml
```

Overrides use nrun.config's grammar (`a.b=1`, `a=None`, `a=[1,2]`, `a={k: v}`, `a+=1`,
`a=@file.yaml`, `a.list[0]=3`, `--flag`/`--no-flag`); an unknown key, a value that does not fit
the field's type, or a token without `=` is a `ConfigError` of one line naming it. Unlike the
original kit, nothing is silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, TypeVar, overload

from nemotron.kit._config_types import (
    build,
    contains,
    convert,
    fields_of,
    is_dataclass_type,
    is_interpolation,
    is_plain,
    item_type,
    members,
    merge,
    plain_defaults,
)
from nemotron.kit.exceptions import ConfigError, KitError
from nrun.config import did_you_mean

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from nrun.config import Override

__all__ = [
    "apply_hydra_overrides",
    "init_wandb_from_env",
    "load_omegaconf_yaml",
    "omegaconf_to_dataclass",
    "parse_config_and_overrides",
]

T = TypeVar("T")


class _ConfigFileNotFound(ConfigError, FileNotFoundError):
    """A config file that does not exist (also a `FileNotFoundError`, as the original raised)."""


# -- files -------------------------------------------------------------------------------------
def load_omegaconf_yaml(path: str | os.PathLike[str]) -> DictConfig:
    """Load a YAML file as a `DictConfig` (interpolations kept); errors name the file and line."""
    import yaml
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    file = Path(path).expanduser()
    if not os.fspath(path) or file.is_dir():
        raise ConfigError(f"config file '{file}' is a directory; expected a YAML file")
    if not file.is_file():
        raise _ConfigFileNotFound(f"config file not found: {file}")
    try:
        loaded = OmegaConf.load(file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{file}, line {mark.line + 1}" if mark is not None else str(file)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it: {exc.strerror or exc}") from None
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{file}: {_first_line(exc)}") from None
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"{file}: expected a mapping of keys at the top level, got a list")
    return loaded


# -- overrides ---------------------------------------------------------------------------------
def apply_hydra_overrides(
    config: DictConfig | Mapping[str, Any],
    overrides: Sequence[str],
    *,
    schema: type[Any] | None = None,
) -> DictConfig:
    """Apply `key=value` overrides to `config` in order (changed in place) and return it.

    Every token is parsed by nrun.config's grammar. A key must already be in the config (or be
    a field of `schema`, the dataclass the config becomes; a structured config is its own
    schema), and with a schema each value is checked against its field's type. `--flag` and
    `--no-flag` set a boolean key (`--dry-run` is `dry_run=true`). Interpolations in the
    config are kept unresolved; a value may itself be one (`out=${base}/x`).
    """
    from omegaconf import DictConfig, OmegaConf, open_dict

    if not isinstance(config, DictConfig):
        config = OmegaConf.create(dict(config))
    if isinstance(overrides, str):
        raise ConfigError(f"overrides must be a list of 'key=value' strings, got {overrides!r}")
    if schema is None:
        structured = OmegaConf.get_type(config)
        schema = structured if is_dataclass_type(structured) else None
    data = OmegaConf.to_container(config, resolve=False)
    assert isinstance(data, dict)
    touched: dict[Any, None] = {}
    for token in overrides:
        override = _parse(token)
        slot = _slot_type(data, schema, override)
        if token.startswith("--") and "=" not in token and slot is Any:
            _check_flag(data, override)
        value = _apply(data, _typed(override, slot))
        _store(data, override.path, _validate(value, slot, override))
        touched[override.path[0]] = None
    with open_dict(config):  # all or nothing: the config changes only once every token passed
        for top in touched:
            config[top] = data[top]
    return config


def _parse(token: str) -> Override:
    """One token as an nrun.config `Override`: `--flag`, `--no-flag`, `${…}` values included."""
    from nrun.config import ConfigError as NrunConfigError
    from nrun.config import Override, Scalar, parse_override

    if not isinstance(token, str):
        raise ConfigError(f"an override is a 'key=value' string, got {token!r}")
    if token[:1] in ("+", "~"):
        what = "adding" if token[0] == "+" else "deleting"
        raise ConfigError(
            f"Invalid override '{token}': {what} keys ('{token[0]}key') is not supported; "
            "every key must be in the config file or its dataclass"
        )
    text = token
    if token.startswith("--"):
        name, eq, value = token[2:].partition("=")
        if not eq:
            value = "false" if name.startswith("no-") else "true"
            name = name[3:] if name.startswith("no-") else name
        text = f"{name.replace('-', '_')}={value}"
    try:
        parsed = parse_override(text)
    except NrunConfigError as exc:
        name, eq, value = text.partition("=")
        if "${" not in value or value.lstrip()[:1] in ("[", "{"):
            raise ConfigError(str(exc.with_override(token))) from None
        try:  # `out=${base}/x`: the grammar has no `${`; the value is an OmegaConf string
            head = parse_override(f'{name}{eq}""')
        except NrunConfigError:
            raise ConfigError(str(exc.with_override(token))) from None
        parsed = Override(head.path, head.op, Scalar(value, value, quoted=True), token)
    return Override(parsed.path, parsed.op, parsed.value, token)


def _check_flag(data: dict[Any, Any], override: Override) -> None:
    """`--name` only sets a key that holds a boolean (or nothing yet)."""
    try:
        current = _lookup(data, override.path)
    except (KeyError, IndexError, TypeError):
        return  # the applier names what is wrong with the path
    if current is not None and not isinstance(current, bool):
        raise ConfigError(
            f"Invalid override '{override.text}': a flag sets true or false, but "
            f"'{override.dotted}' holds {current!r} ({type(current).__name__}); "
            f"use {override.dotted}=..."
        )


def _slot_type(data: dict[Any, Any], schema: Any, override: Override) -> Any:
    """The annotated type at the override's path (`Any` when unknown); unknown keys refused."""
    node: Any = data
    tp: Any = schema if schema is not None else Any
    where = ""
    for i, key in enumerate(override.path):
        fields = fields_of(tp)
        if isinstance(node, dict):
            names = list(fields) if fields is not None else [str(k) for k in node]
            if (fields is not None and key not in fields) or (fields is None and key not in node):
                what = f"'{where}' has no key '{key}'." if where else f"unknown key '{key}'."
                hint = did_you_mean(str(key), names)
                listed = f" It has: {', '.join(names)}." if names else " It has no keys."
                raise ConfigError(f"Invalid override '{override.text}': {what}{hint or listed}")
            if key not in node and i < len(override.path) - 1 and fields is not None:
                node[key] = {}  # a declared field the file leaves out: its defaults fill it later
            tp = fields.get(str(key), Any) if fields is not None else item_type(tp, value=True)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            tp, node = item_type(tp, value=False), node[key]
        else:
            return Any  # nrun.config's applier names what is wrong (not a container, range)
        where = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip(".")
    return tp


def _apply(data: dict[Any, Any], override: Override) -> Any:
    """Apply one override with nrun.config's applier; the new value at its path, as plain data."""
    from nrun.config import Config, Partial, apply_override, to_data
    from nrun.config import ConfigError as NrunConfigError

    try:
        apply_override(data, override)
    except NrunConfigError as exc:
        raise ConfigError(str(exc)) from None
    value = _lookup(data, override.path)
    if contains(value, lambda v: isinstance(v, (Config, Partial))):
        value = to_data(value)  # `model=pkg.Model(size=3)` → `{_target_: pkg.Model, size: 3}`
    return value


def _typed(override: Override, slot: Any) -> Override:
    """Keep an unquoted literal as typed where the field is text (`version=1.10` is '1.10')."""
    from nrun.config import Override, Scalar

    value = override.value
    kinds = [m for m in members(slot) if m is not type(None)]
    text_only = bool(kinds) and all(
        isinstance(m, type) and issubclass(m, (str, PurePath)) for m in kinds
    )
    if override.op != "=" or not text_only or not isinstance(value, Scalar):
        return override
    if value.quoted or value.value is None:
        return override
    return Override(override.path, override.op, Scalar(value.raw, value.raw, True), override.text)


def _validate(value: Any, slot: Any, override: Override) -> Any:
    """`value` checked against the field's type: the coerced value if plain data, else `value`."""
    if slot is Any or contains(value, is_interpolation):
        return value
    try:
        coerced = convert(value, slot, override.dotted, lenient=True)
    except ConfigError as exc:
        raise ConfigError(f"Invalid override '{override.text}': {exc}") from None
    return coerced if is_plain(coerced) else value


# -- conversion to dataclasses -----------------------------------------------------------------
def omegaconf_to_dataclass(config: DictConfig | Mapping[str, Any], cls: type[T]) -> T:
    """An instance of the dataclass `cls` from `config`, interpolations and `${art:…}` resolved.

    Nested dataclasses, `Path`, `Optional`, unions, `Literal`, enums, `list[...]`, `dict[...]`
    and tuples are converted; keys missing from the config take the field's default. A key
    that is no field, a value that does not fit, or a required field without a value is a
    `ConfigError` naming it.
    """
    if not is_dataclass_type(cls):
        raise TypeError(f"{getattr(cls, '__name__', cls)!r} must be a dataclass")
    data = _resolved(config)
    built = build(cls, data, "", lenient=False)
    return typing.cast("T", built)


def _resolved(config: DictConfig | Mapping[str, Any]) -> dict[Any, Any]:
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    conf = config if isinstance(config, DictConfig) else OmegaConf.create(dict(config))
    if not OmegaConf.has_resolver("art") and "${art:" in str(
        OmegaConf.to_container(conf, resolve=False)
    ):
        _register_from(conf)
    try:
        data = OmegaConf.to_container(conf, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, (KitError, _registry_error())):
            cause = cause.__context__
        reason = str(cause) if cause is not None else _first_line(exc)
        where = f"cannot resolve '{key}'" if key else "cannot resolve the config"
        raise ConfigError(f"{where}: {reason}") from cause
    assert isinstance(data, dict)
    return data


def _register_from(config: Any) -> None:
    """Register `${art:…}` with the artifacts a `run:` section binds; one line if one is unknown."""
    from nemotron.kit.resolvers import register_resolvers_from_config

    try:
        register_resolvers_from_config(config)
    except _registry_error() as exc:
        raise ConfigError(f"cannot bind the config's artifacts: {exc}") from None


def _registry_error() -> type[Exception]:
    from nemotron.registry import RegistryError

    return RegistryError


# -- the script's entry point ------------------------------------------------------------------
@overload
def parse_config_and_overrides(
    cls: type[T],
    config_file: str | os.PathLike[str] | None = "config.yaml",
    argv: Sequence[str] | None = None,
) -> T: ...
@overload
def parse_config_and_overrides(
    cls: None = None,
    config_file: str | os.PathLike[str] | None = "config.yaml",
    argv: Sequence[str] | None = None,
    *,
    default_config: str | os.PathLike[str],
) -> tuple[str, list[str]]: ...
def parse_config_and_overrides(
    cls: type[Any] | None = None,
    config_file: str | os.PathLike[str] | None = "config.yaml",
    argv: Sequence[str] | None = None,
    *,
    default_config: str | os.PathLike[str] | None = None,
) -> Any:
    """The script's config: `config_file` (or `--config PATH`) plus `key=value` overrides.

    `parse_config_and_overrides(MyConfig, config_file="config.yaml")` returns a `MyConfig`
    built from the dataclass's defaults, the file and the overrides in `argv` (default:
    `sys.argv[1:]`). A missing default file means defaults only (it is looked for in the cwd,
    then beside the script); a missing `--config` file is an error. With `argv=None`, an error
    is printed as one line and exits with status 2, as argparse does.

    The original's form, `parse_config_and_overrides(default_config=PATH, argv=...)`, returns
    `(config_path, overrides)` for `load_omegaconf_yaml` and `apply_hydra_overrides`.
    """
    if cls is None:
        if default_config is None:
            raise TypeError("parse_config_and_overrides() needs a dataclass or default_config=")
        explicit, tokens = _split_argv(argv, None)
        return (explicit if explicit is not None else os.fspath(default_config)), tokens
    if not is_dataclass_type(cls):
        raise TypeError(f"{getattr(cls, '__name__', cls)!r} must be a dataclass")
    if default_config is not None:
        config_file = default_config
    explicit, tokens = _split_argv(argv, cls)
    try:
        return _load_and_build(cls, explicit, config_file, tokens)
    except ConfigError as exc:
        if argv is not None:
            raise
        print(f"{Path(sys.argv[0]).name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _load_and_build(
    cls: type[Any],
    explicit: str | None,
    config_file: str | os.PathLike[str] | None,
    tokens: list[str],
) -> Any:
    from omegaconf import OmegaConf

    data: dict[Any, Any] = plain_defaults(cls)
    file = Path(explicit) if explicit is not None else _find_default(config_file)
    if explicit == "":
        raise ConfigError("--config needs the path of a YAML file")
    if file is not None:
        loaded = OmegaConf.to_container(load_omegaconf_yaml(file), resolve=False)
        assert isinstance(loaded, dict)
        data = merge(data, loaded)
    run = data.get("run") if "run" not in {f.name for f in dataclasses.fields(cls)} else None
    if isinstance(run, dict):
        # a recipe's train.yaml: `run:` binds artifact names for `${art:name,...}`
        _register_from({"run": data.pop("run")})
    config = OmegaConf.create(data)
    apply_hydra_overrides(config, tokens, schema=cls)
    return omegaconf_to_dataclass(config, cls)


def _split_argv(argv: Sequence[str] | None, cls: type[Any] | None) -> tuple[str | None, list[str]]:
    """`--config PATH` / `--config=PATH` (the last wins), and every other token as an override."""
    epilog = "overrides: key=value (nested: a.b=1), --flag, --no-flag"
    if cls is not None:
        shown = ", ".join(f.name for f in dataclasses.fields(cls) if f.init)
        epilog += f"\nkeys of {cls.__name__}: {shown}"
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawTextHelpFormatter, allow_abbrev=False, epilog=epilog
    )
    parser.add_argument("--config", default=None, metavar="PATH", help="the YAML config file")
    args, rest = parser.parse_known_args(list(argv) if argv is not None else None)
    return args.config, list(rest)


def _find_default(config_file: str | os.PathLike[str] | None) -> Path | None:
    if config_file is None or not os.fspath(config_file):
        return None
    file = Path(config_file).expanduser()
    if file.exists():
        return file
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if not file.is_absolute() and script is not None and script.is_file():
        beside = script.resolve().parent / file
        if beside.exists():
            return beside
    return None


def init_wandb_from_env(job_type: str = "data-prep") -> None:
    """Start a W&B run from `WANDB_PROJECT`/`WANDB_ENTITY` (as set for remote workers), if any.

    `job_type` names the run's kind in W&B (`data-prep`, `training`, `evaluation`).

    Does nothing without `WANDB_PROJECT`, when a run is active, or when wandb is not installed;
    otherwise the run's tracker records artifact lineage.
    """
    project = os.environ.get("WANDB_PROJECT")
    if not project:
        return
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is None:
        wandb.init(project=project, entity=os.environ.get("WANDB_ENTITY"), job_type=job_type)
        from nemotron.kit.trackers import WandbTracker, set_lineage_tracker

        set_lineage_tracker(WandbTracker())


# -- small helpers -----------------------------------------------------------------------------
def _lookup(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for key in path:
        node = node[key] if not (isinstance(node, dict) and key not in node) else node[str(key)]
    return node


def _store(data: Any, path: tuple[Any, ...], value: Any) -> None:
    parent = _lookup(data, path[:-1])
    key = path[-1]
    if isinstance(parent, dict) and key not in parent and str(key) in parent:
        key = str(key)
    parent[key] = value


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
