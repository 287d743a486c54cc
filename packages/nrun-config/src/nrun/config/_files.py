"""Configs to and from YAML, TOML and JSON files in the `_target_` format.

TOML has no null: None is written as the inline table `{ _none_ = true }` and read back as None
(a key left out keeps its default). Exports are written to a temporary file beside the target
and renamed into place.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

from nrun.config._errors import ConfigError, ConfigFileError
from nrun.config._serialize import NONE_KEY, from_data, to_data
from nrun.config._text import OMEGACONF_FLOAT, escape_interpolations, file_format, load_data

__all__ = ["decode_file", "dump", "dumps", "load"]

_Lines = dict[str, int]


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
def _string_keys(data: Any, none: Any) -> Any:
    """`data` for formats whose keys are strings (and, for TOML, with no null).

    A dict with other keys is written as `{_target_: builtins.dict, _args_: [[[key, value],
    ...]]}`, so its keys come back as they were, with or without an annotation.
    """
    if data is None:
        return none
    if isinstance(data, dict):
        if all(isinstance(k, str) for k in data):
            return {k: _string_keys(v, none) for k, v in data.items()}
        items = [[_string_keys(k, none), _string_keys(v, none)] for k, v in data.items()]
        return {"_target_": "builtins.dict", "_args_": [items]}
    if isinstance(data, list):
        return [_string_keys(v, none) for v in data]
    return data


def _json_floats(data: Any) -> Any:
    """NaN and infinities, which JSON cannot hold, as `{_target_: builtins.float, _args_: [inf]}`.

    `json.dumps` would write `NaN`/`Infinity`, which is not JSON; this form is, and `load`,
    `instantiate` and Hydra all turn it back into the float.
    """
    if isinstance(data, float) and not math.isfinite(data):
        return {"_target_": "builtins.float", "_args_": [str(data)]}
    if isinstance(data, dict):
        return {key: _json_floats(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_json_floats(value) for value in data]
    return data


@functools.lru_cache(maxsize=1)
def _yaml_dumper() -> Any:
    """A safe dumper that also quotes strings OmegaConf would read as floats (`'1e-3'`)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    Dumper.add_implicit_resolver("tag:yaml.org,2002:float", OMEGACONF_FLOAT, list("-+0123456789."))
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
        plain = _string_keys(_json_floats(data), None)
        return json.dumps(plain, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if format == "toml":
        import tomli_w

        if not isinstance(data, dict):
            raise ConfigError("TOML can only hold a mapping at the top; export a config")
        return tomli_w.dumps(_string_keys(data, {NONE_KEY: True}))
    raise ConfigError(f"unknown format '{format}'; expected yaml, toml or json")


def dump(
    config: Any,
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    mode: int | None = None,
) -> Path:
    """Write `config` to `path` atomically (format from the suffix unless given); return it.

    `mode` is the file's permission bits; by default what a plain write gives (0666 less the
    umask). Records that may hold secrets pass 0o600.
    """
    from nrun.config.atomic import atomic_write

    target = Path(path).expanduser()
    text = dumps(config, format or file_format(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, text, mode=mode)
