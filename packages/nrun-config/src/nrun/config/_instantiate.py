"""Building objects straight from `_target_` data, without fiddle: how task files are run.

`instantiate` does for data what `build(load(...))` does for a config, as Hydra's
`instantiate` would: each mapping with `_target_` is called (or wrapped in `functools.partial`
with `_partial_: true`) with its arguments built first. Values are used as written — the types
were checked when the config was exported — so this is for files that nrun wrote; `load` is
the checked way in. It imports neither fiddle nor OmegaConf (unless the file interpolates).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from nrun.config._errors import ConfigError
from nrun.config._locate import locate
from nrun.config._text import load_data

__all__ = ["instantiate", "instantiate_file"]

_RESERVED = {"_target_", "_partial_", "_args_", "_recursive_", "_convert_"}


def instantiate(data: Any, path: str = "") -> Any:
    """The object that `_target_` data describes (plain data passes through, built inside)."""
    if isinstance(data, list):
        return [instantiate(item, f"{path}[{i}]") for i, item in enumerate(data)]
    if not isinstance(data, dict):
        return data
    if "_none_" in data and len(data) == 1:
        return None
    if "_target_" not in data:
        return {key: instantiate(value, _join(path, key)) for key, value in data.items()}
    target = data["_target_"]
    if not isinstance(target, str):
        raise ConfigError(f"'{_join(path, '_target_')}' must be a dotted import path")
    fn = locate(target)
    args = [
        instantiate(a, f"{_join(path, '_args_')}[{i}]")
        for i, a in enumerate(data.get("_args_", []))
    ]
    kwargs = {
        key: instantiate(value, _join(path, key))
        for key, value in data.items()
        if key not in _RESERVED
    }
    if data.get("_partial_") is True:
        return functools.partial(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def instantiate_file(path: str | os.PathLike[str]) -> Any:
    """`instantiate` the contents of a YAML, TOML or JSON file written by `dump`."""
    data, _, _ = load_data(path)
    return instantiate(data)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
