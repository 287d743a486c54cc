"""OmegaConf interop: a `Config` to and from a `DictConfig`, interpolations resolved."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from nrun.config._errors import ConfigError
from nrun.config._serialize import from_data, to_data

if TYPE_CHECKING:
    from omegaconf import DictConfig

__all__ = ["escape_interpolations", "from_omegaconf", "to_omegaconf"]

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


def to_omegaconf(config: Any) -> DictConfig:
    """A `DictConfig` of `config` in the `_target_` format, as `hydra.utils.instantiate` reads."""
    from omegaconf import OmegaConf

    return cast("DictConfig", OmegaConf.create(escape_interpolations(to_data(config))))


def from_omegaconf(conf: Any, type: Any = Any, base: Any = None) -> Any:
    """A `Config` from a `DictConfig` (or `ListConfig`), resolving interpolations and resolvers."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        data = OmegaConf.to_container(conf, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(
            f"cannot resolve the OmegaConf config: {str(exc).splitlines()[0]}"
        ) from None
    return from_data(data, type, "", base)
