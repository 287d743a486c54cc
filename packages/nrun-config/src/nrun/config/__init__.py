"""Typed, overridable, file-backed configs on fiddle.

`Config`/`Partial` describe calls to make later; overrides (`model.size=256`, `lr*=2`,
`model=my_model(hidden=3)`, `data=@data.yaml`) change them with every value checked against its
annotation; `dump`/`load` write and read them as YAML, TOML or JSON in one `_target_` format
that Hydra can instantiate too.

Importing the package is cheap: each name is imported on first use, so a process that only runs
task files (`instantiate_file`) never imports fiddle. Where fiddle is not installed (the runtime
shipped next to a job), every name still imports, and those that need fiddle raise a clear
`ModuleNotFoundError` when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nrun.config._errors import (
    ConfigError,
    ConfigFileError,
    ConfigTypeError,
    FactoryError,
    OverrideSyntaxError,
    OverrideValueError,
    UnknownArgumentError,
    did_you_mean,
)

if TYPE_CHECKING:
    from nrun.config._annotations import (
        strip_annotated,
        type_name,
        union_members,
    )
    from nrun.config._apply import (
        FactoryLookup,
        apply_override,
        apply_overrides,
    )
    from nrun.config._autoconvert import autoconvert
    from nrun.config._buildable import (
        Config,
        Partial,
        as_partial,
        build,
        to_buildable,
    )
    from nrun.config._files import (
        dump,
        dumps,
        load,
    )
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
    from nrun.config._hints import get_hints
    from nrun.config._instantiate import (
        instantiate,
        instantiate_file,
    )
    from nrun.config._kinds import is_buildable, is_partial
    from nrun.config._locate import (
        locate,
    )
    from nrun.config._omegaconf import (
        from_omegaconf,
        to_omegaconf,
    )
    from nrun.config._serialize import (
        from_data,
        target_name,
        to_data,
    )
    from nrun.config._signature import (
        from_signature,
        missing_arguments,
        type_hints,
    )
    from nrun.config._sweeps import (
        expand_sweeps,
        has_sweeps,
    )
    from nrun.config._text import read_file
    from nrun.config._types import coerce

_LAZY = {
    "Call": "_grammar",
    "Config": "_buildable",
    "DictNode": "_grammar",
    "FactoryLookup": "_apply",
    "FileRef": "_grammar",
    "ListNode": "_grammar",
    "Override": "_grammar",
    "Partial": "_buildable",
    "Scalar": "_grammar",
    "Sweep": "_grammar",
    "Word": "_grammar",
    "apply_override": "_apply",
    "apply_overrides": "_apply",
    "as_partial": "_buildable",
    "autoconvert": "_autoconvert",
    "build": "_buildable",
    "coerce": "_types",
    "dump": "_files",
    "dumps": "_files",
    "expand_sweeps": "_sweeps",
    "from_data": "_serialize",
    "from_omegaconf": "_omegaconf",
    "from_signature": "_signature",
    "missing_arguments": "_signature",
    "get_hints": "_hints",
    "has_sweeps": "_sweeps",
    "instantiate": "_instantiate",
    "instantiate_file": "_instantiate",
    "is_buildable": "_kinds",
    "is_partial": "_kinds",
    "read_file": "_text",
    "load": "_files",
    "locate": "_locate",
    "parse_override": "_grammar",
    "parse_overrides": "_grammar",
    "strip_annotated": "_annotations",
    "target_name": "_serialize",
    "to_buildable": "_buildable",
    "to_data": "_serialize",
    "to_omegaconf": "_omegaconf",
    "type_hints": "_signature",
    "type_name": "_annotations",
    "union_members": "_annotations",
}

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
    "as_partial",
    "autoconvert",
    "build",
    "coerce",
    "did_you_mean",
    "dump",
    "dumps",
    "expand_sweeps",
    "from_data",
    "from_omegaconf",
    "from_signature",
    "get_hints",
    "has_sweeps",
    "instantiate",
    "instantiate_file",
    "is_buildable",
    "is_partial",
    "load",
    "locate",
    "missing_arguments",
    "parse_override",
    "parse_overrides",
    "read_file",
    "strip_annotated",
    "target_name",
    "to_buildable",
    "to_data",
    "to_omegaconf",
    "type_hints",
    "type_name",
    "union_members",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nrun.config' has no attribute '{name}'")
    try:
        imported = importlib.import_module(f"nrun.config.{module}")
    except ImportError as exc:
        if not exc.name or exc.name.split(".")[0] == "nrun":
            raise
        from nrun.config._unavailable import unavailable

        return unavailable(name, exc)  # not kept: a later import may find the library
    value = getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
