"""Small helpers the recipe CLI shares: plain config data, `${run.…}` substitution, files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["plain", "resolve_run_interpolations"]

_RUN_REF = re.compile(r"\$\{run\.([A-Za-z0-9_.]+)\}")


def plain(config: Any) -> dict[str, Any]:
    """A `DictConfig` or mapping as plain nested dicts and lists, interpolations kept."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(config, DictConfig):
        data = OmegaConf.to_container(config, resolve=False)
        assert isinstance(data, dict)
        return {str(k): v for k, v in data.items()}
    return {k: plain(v) if isinstance(v, Mapping) else v for k, v in dict(config).items()}


def _lookup(run: Mapping[str, Any], dotted: str) -> Any:
    node: Any = run
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def resolve_run_interpolations(obj: Any, run_data: Mapping[str, Any]) -> Any:
    """`obj` with `${run.x.y}` replaced by the `run:` section's values (others kept).

    The script's `train.yaml` holds no full `run:` section, so what refers to it (the
    recipe's name, W&B settings) is filled in when the job is built.
    """
    if isinstance(obj, Mapping):
        return {k: resolve_run_interpolations(v, run_data) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_run_interpolations(v, run_data) for v in obj]
    if not isinstance(obj, str) or "${run." not in obj:
        return obj
    whole = _RUN_REF.fullmatch(obj)
    if whole is not None:
        try:
            return _lookup(run_data, whole.group(1))
        except KeyError:
            return obj

    def one(match: re.Match[str]) -> str:
        try:
            return str(_lookup(run_data, match.group(1)))
        except KeyError:
            return match.group(0)

    return _RUN_REF.sub(one, obj)
