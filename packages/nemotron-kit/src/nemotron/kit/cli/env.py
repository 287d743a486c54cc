"""`env.toml`, the project's file of run profiles, as the recipe CLI reads it.

The original kit's names over `nemotron.kit.run`: profiles resolve `extends` and are checked
there, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nemotron.kit.run import (
    RunConfig,
    find_env_toml,
    list_run_profiles,
    load_run_profile,
    load_wandb_config,
)

__all__ = [
    "find_env_file",
    "get_wandb_config",
    "list_run_profiles",
    "load_env_file",
    "load_env_profile",
]


def find_env_file(start_dir: Path | None = None) -> Path | None:
    """The `env.toml` that applies here: from `start_dir` (default: cwd) up to the project root."""
    return find_env_toml(start_dir)


def load_env_file(config_path: Path | None = None) -> dict[str, Any]:
    """Every table of `env.toml` as plain data (`{}` when there is none)."""
    from nemotron.kit._profiles import read_env_toml

    path = config_path or find_env_toml()
    return read_env_toml(path) if path is not None and path.is_file() else {}


def load_env_profile(name: str, config_path: Path | None = None) -> RunConfig:
    """The run profile `name`, `extends` resolved and every value checked."""
    return load_run_profile(name, config_path)


def get_wandb_config(config_path: Path | None = None) -> Any:
    """The `[wandb]` table of `env.toml` as a `WandbConfig`, or None."""
    return load_wandb_config(config_path)
