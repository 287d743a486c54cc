"""Typed, overridable, file-backed configs on fiddle.

`Config`/`Partial` describe calls to make later; overrides (`model.size=256`, `lr*=2`,
`model=my_model(hidden=3)`, `data=@data.yaml`) change them with every value checked against its
annotation; `dump`/`load` write and read them as YAML, TOML or JSON in one `_target_` format
that Hydra can instantiate too.
"""

from nrun.config._apply import FactoryLookup, apply_override, apply_overrides
from nrun.config._buildable import Config, Partial, autoconvert, build, to_buildable
from nrun.config._errors import (
    ConfigError,
    ConfigFileError,
    ConfigTypeError,
    FactoryError,
    OverrideSyntaxError,
    OverrideValueError,
    UnknownArgumentError,
)
from nrun.config._files import dump, dumps, load
from nrun.config._grammar import (
    Call,
    DictNode,
    FileRef,
    ListNode,
    Override,
    Scalar,
    Sweep,
    Word,
    parse_override,
    parse_overrides,
)
from nrun.config._omegaconf import from_omegaconf, to_omegaconf
from nrun.config._serialize import from_data, to_data
from nrun.config._signature import from_signature, type_hints
from nrun.config._sweeps import expand_sweeps, has_sweeps
from nrun.config._types import coerce, type_name

__all__ = [
    "Call",
    "Config",
    "ConfigError",
    "ConfigFileError",
    "ConfigTypeError",
    "DictNode",
    "FactoryError",
    "FactoryLookup",
    "FileRef",
    "ListNode",
    "Override",
    "OverrideSyntaxError",
    "OverrideValueError",
    "Partial",
    "Scalar",
    "Sweep",
    "UnknownArgumentError",
    "Word",
    "apply_override",
    "apply_overrides",
    "autoconvert",
    "build",
    "coerce",
    "dump",
    "dumps",
    "expand_sweeps",
    "from_data",
    "from_omegaconf",
    "from_signature",
    "has_sweeps",
    "load",
    "parse_override",
    "parse_overrides",
    "to_buildable",
    "to_data",
    "to_omegaconf",
    "type_hints",
    "type_name",
]
