"""Config files as text: YAML, TOML and JSON parsed safely, with the line of every key.

YAML is read with the safe loader only, scalars as OmegaConf reads them; strings holding `${...}`
go through OmegaConf, so its interpolations and resolvers work in every format. Nothing here
imports fiddle, so reading a task file stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nrun.config._errors import ConfigError, ConfigFileError

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "OMEGACONF_FLOAT",
    "check_depth",
    "escape_interpolations",
    "file_format",
    "format_path",
    "load_data",
    "loads",
    "read_file",
]

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_Lines = dict[str, int]


def format_path(path: tuple[str | int, ...]) -> str:
    """`("a", "b", 0, "c")` → `a.b[0].c`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


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
OMEGACONF_FLOAT = re.compile(
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
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", OMEGACONF_FLOAT, list("-+0123456789."))
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


MAX_DEPTH = 100
"""How deep lists and mappings may nest, in a file or an override (deeper: refused)."""


def check_depth(data: Any, name: str) -> None:
    """Refuse data nested deeper than `MAX_DEPTH` (no config is; recursion would fail later)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ConfigFileError(
                    f"lists or mappings nested deeper than {MAX_DEPTH} levels", file=name
                )
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _digits(exc: ValueError) -> str:
    found = re.search(r"value has (\d+) digits", str(exc))
    limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
    given = f"{found.group(1)} digits" if found else "too many digits"
    return f"an integer of {given}, more than the {limit} Python reads"


def loads(
    text: str, format: str = "yaml", *, key: str | None = None, name: str = "<string>"
) -> tuple[Any, _Lines]:
    """Parse `text` to plain data (interpolations resolved), with the line of each key path."""
    if format not in _PARSERS:
        raise ConfigError(f"unknown format '{format}'; expected yaml, toml or json")
    try:
        data, lines = _PARSERS[format](text, name)
        check_depth(data, name)
        data, steps = _select(_interpolate(data, name), key, name)
    except RecursionError:
        raise ConfigFileError(  # the parser's own recursion ran out first (deeper still)
            f"lists or mappings nested deeper than {MAX_DEPTH} levels", file=name
        ) from None
    except ValueError as exc:  # an integer longer than Python converts (sys.int_info)
        if "digits" not in str(exc):
            raise
        raise ConfigFileError(f"a number is too long to read: {_digits(exc)}", file=name) from None
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


_INTERPOLATION = re.compile(r"(\\*)\$\{")


def escape_interpolations(data: Any) -> Any:
    r"""`data` with each `${` in a string escaped, so OmegaConf reads the text back unchanged.

    A config's strings are values, not interpolations: `"${x}"` is written `"\${x}"` (and a
    backslash before it doubled), which OmegaConf and `hydra.utils.instantiate` read as `"${x}"`.
    """
    if isinstance(data, str):
        if "${" not in data:
            return data
        return _INTERPOLATION.sub(lambda m: m.group(1) * 2 + "\\${", data)
    if isinstance(data, dict):
        return {k: escape_interpolations(v) for k, v in data.items()}
    if isinstance(data, list):
        return [escape_interpolations(v) for v in data]
    return data


def read_file(path: str | os.PathLike[str], key: str | None = None) -> Any:
    """The plain data of a config file (interpolations resolved; `key` selects a part)."""
    data, _, _ = load_data(path, key=key)
    return data
