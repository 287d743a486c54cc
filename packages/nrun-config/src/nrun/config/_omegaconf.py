"""OmegaConf interop: a `Config` to and from a `DictConfig`, interpolations resolved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from nrun.config._errors import ConfigError
from nrun.config._serialize import from_data, to_data
from nrun.config._text import escape_interpolations

if TYPE_CHECKING:
    from omegaconf import DictConfig

__all__ = ["from_omegaconf", "to_omegaconf"]


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
