"""YAML, TOML and JSON files in the `_target_` format: safe loading with line numbers, export.

YAML is read with `yaml.safe_load` semantics only; strings holding `${...}` go through OmegaConf
so its interpolations and resolvers work in every format. TOML has no null: None is written as
the inline table `{ _none_ = true }` and read back as None (a key left out keeps its default).
Exports are written to a temporary file beside the target and renamed into place.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nrun.config._errors import ConfigError, ConfigFileError
from nrun.config._grammar import format_path
from nrun.config._omegaconf import escape_interpolations
from nrun.config._serialize import NONE_KEY, from_data, to_data

__all__ = ["FORMATS", "dump", "dumps", "file_format", "load", "load_data", "loads"]

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_Lines = dict[str, int]


def file_format(path: str | os.PathLike[str]) -> str:
    """`yaml`, `toml` or `json` from a file name; `ConfigFileError` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigFileError(
            f"unsupported file type '{suffix or '(none)'}'; expected .yaml, .yml, .toml or .json",
            file=str(path),
        )
    return FORMATS[suffix]


# What OmegaConf's YAML loader (so Hydra) reads as a float, beyond YAML 1.1: `1e-3`, `1_000.5`.
_OMEGACONF_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
    |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


# -- parsing -----------------------------------------------------------------------------------
_MAX_NODES = 1_000_000


def _yaml_lines(node: Any, name: str) -> _Lines:
    """The line of every key path in a composed YAML document; refuses what no config can be.

    Refused: duplicate keys (YAML would keep the last silently), an alias inside the node it
    refers to, and documents whose aliases expand to more than a million nodes.
    """
    import yaml

    lines: _Lines = {}
    budget = _MAX_NODES
    inside: set[int] = set()

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        nonlocal budget
        if not isinstance(node, yaml.CollectionNode):
            return
        budget -= len(node.value)
        if budget < 0:
            raise ConfigFileError(
                f"expands to more than {_MAX_NODES:,} values (through YAML aliases?)", file=name
            )
        if id(node) in inside:  # `a: &x [*x]`: the data would contain itself
            raise ConfigFileError(
                f"a YAML alias at '{format_path(path)}' refers to a node that contains it",
                file=name,
                line=node.start_mark.line + 1,
            )
        inside.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in seen:
                        raise ConfigFileError(
                            f"duplicate key '{key.value}'", file=name, line=key.start_mark.line + 1
                        )
                    seen.add(key.value)
                sub = (*path, key.value)
                lines[format_path(sub)] = key.start_mark.line + 1
                walk(value, sub)
        else:
            for i, value in enumerate(node.value):
                sub = (*path, i)
                lines[format_path(sub)] = value.start_mark.line + 1
                walk(value, sub)
        inside.discard(id(node))

    walk(node, ())
    return lines


@functools.lru_cache(maxsize=1)
def _yaml_loader() -> Any:
    """The safe loader, reading scalars as OmegaConf (so Hydra) does.

    `1e-3` is a float (YAML 1.1 wants a dot), and dates stay text.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _OMEGACONF_FLOAT, list("-+0123456789."))
    return Loader


def _parse_yaml(text: str, name: str) -> tuple[Any, _Lines]:
    import yaml

    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        lines = _yaml_lines(node, name) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        line = mark.line + 1 if mark else None
        raise ConfigFileError(f"malformed YAML: {problem}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"malformed YAML: {exc}", file=name) from None
    finally:
        loader.dispose()
    return data, lines


def _parse_json(text: str, name: str) -> tuple[Any, _Lines]:
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"malformed JSON: {exc.msg}", file=name, line=exc.lineno) from None


def _parse_toml(text: str, name: str) -> tuple[Any, _Lines]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        return tomllib.loads(text), {}
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(found.group(1)) if found else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ConfigFileError(f"malformed TOML: {message}", file=name, line=line) from None


_PARSERS = {"yaml": _parse_yaml, "json": _parse_json, "toml": _parse_toml}


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _interpolate(data: Any, name: str) -> Any:
    """Resolve OmegaConf `${...}` interpolations and resolvers, if the data has any."""
    if not any("${" in s for s in _strings(data)):
        return data
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(OmegaConf.create(data), resolve=True)
    except OmegaConfBaseException as exc:
        first = str(exc).splitlines()[0]
        raise ConfigFileError(f"interpolation failed: {first}", file=name) from None


def _select(data: Any, key: str | None, name: str) -> tuple[Any, tuple[str | int, ...]]:
    """The part of `data` at `key`, and its path (list indices as ints, as lines are keyed)."""
    steps: list[str | int] = []
    if not key:
        return data, ()
    node = data
    for i, part in enumerate(key.split(".")):
        where = ".".join(key.split(".")[:i]) or "the top level"
        if isinstance(node, dict) and part in node:
            node = node[part]
            steps.append(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            steps.append(int(part))
        else:
            keys = ", ".join(map(str, node)) if isinstance(node, dict) else "no keys"
            raise ConfigFileError(
                f"key '{key}' not found: '{part}' is not in {where} (it has {keys})", file=name
            )
    return node, tuple(steps)


def loads(
    text: str, format: str = "yaml", *, key: str | None = None, name: str = "<string>"
) -> tuple[Any, _Lines]:
    """Parse `text` to plain data (interpolations resolved), with the line of each key path."""
    if format not in _PARSERS:
        raise ConfigError(f"unknown format '{format}'; expected yaml, toml or json")
    try:
        data, lines = _PARSERS[format](text, name)
        data, steps = _select(_interpolate(data, name), key, name)
    except RecursionError:
        raise ConfigFileError("nested too deeply to read", file=name) from None
    if steps:
        prefix = format_path(steps)
        lines = {
            k[len(prefix) :].lstrip("."): v
            for k, v in lines.items()
            if k.startswith(prefix) and k[len(prefix) : len(prefix) + 1] in (".", "[")
        }
    return data, lines


def load_data(
    path: str | os.PathLike[str], *, key: str | None = None, base_dir: Path | None = None
) -> tuple[Any, _Lines, str]:
    """Read and parse a config file: (data, lines, the file name to cite in errors)."""
    file = Path(path).expanduser()
    if base_dir is not None and not file.is_absolute():
        file = base_dir / file
    name = str(path)
    fmt = file_format(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError("no such file", file=name) from None
    except IsADirectoryError:
        raise ConfigFileError("is a directory, not a config file", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read: {exc}", file=name) from None
    data, lines = loads(text, fmt, key=key, name=name)
    return data, lines, name


def _line_for(path: str | None, lines: _Lines) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def decode_file(
    data: Any, lines: _Lines, name: str, tp: Any = Any, current: Any = None, prefix: str = ""
) -> Any:
    """`from_data` that cites the file (and line) in any error it raises."""
    if data is None:
        raise ConfigFileError("the file is empty", file=name)
    try:
        return from_data(data, tp, prefix, current)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        relative = exc.path[len(prefix) :].lstrip(".") if exc.path and prefix else exc.path
        line = _line_for(relative, lines)
        raise ConfigFileError(exc.detail, file=name, line=line) from None


def load(
    path: str | os.PathLike[str], *, key: str | None = None, type: Any = Any, base: Any = None
) -> Any:
    """Load a config file (YAML, TOML or JSON) into a `Config`, checked against annotations.

    `key` selects a part of the file (`model.encoder`). A mapping without `_target_` updates
    `base` (a copy of it) or configures the class `type` names.
    """
    data, lines, name = load_data(path, key=key)
    if not isinstance(data, dict) and base is None and type is Any and data is not None:
        raise ConfigFileError(
            f"expected a mapping with _target_ at the top, got {data.__class__.__name__}", file=name
        )
    if isinstance(data, dict) and "_target_" not in data and base is None and type is Any:
        raise ConfigFileError(
            "the top level has no _target_: say what it configures, or load it onto a base config",
            file=name,
        )
    return decode_file(data, lines, name, type, base)


# -- export ------------------------------------------------------------------------------------
def _toml_ready(data: Any) -> Any:
    if data is None:
        return {NONE_KEY: True}
    if isinstance(data, dict):
        return {str(k): _toml_ready(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_toml_ready(v) for v in data]
    return data


def _json_ready(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k) if not isinstance(k, str) else k: _json_ready(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_ready(v) for v in data]
    return data


@functools.lru_cache(maxsize=1)
def _yaml_dumper() -> Any:
    """A safe dumper that also quotes strings OmegaConf would read as floats (`'1e-3'`)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    Dumper.add_implicit_resolver("tag:yaml.org,2002:float", _OMEGACONF_FLOAT, list("-+0123456789."))
    return Dumper


def dumps(config: Any, format: str = "yaml") -> str:
    r"""The text of `config` in `format` (`yaml`, `toml` or `json`).

    Strings are written so that they read back as the same text, also through OmegaConf and
    Hydra: a `${` in them is escaped (`\${`), and `'1e-3'` is quoted in YAML.
    """
    data = escape_interpolations(to_data(config))
    if format == "yaml":
        import yaml

        return str(
            yaml.dump(data, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True, width=100)
        )
    if format == "json":
        return json.dumps(_json_ready(data), indent=2, ensure_ascii=False) + "\n"
    if format == "toml":
        import tomli_w

        if not isinstance(data, dict):
            raise ConfigError("TOML can only hold a mapping at the top; export a config")
        return tomli_w.dumps(_toml_ready(data))
    raise ConfigError(f"unknown format '{format}'; expected yaml, toml or json")


def dump(config: Any, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Write `config` to `path` atomically (format from the suffix unless given); return it."""
    target = Path(path).expanduser()
    text = dumps(config, format or file_format(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
