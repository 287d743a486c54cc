"""Weights & Biases configuration: `WandbConfig` in a step's config turns W&B tracking on.

`init_wandb_if_configured(cfg.wandb)` points the kit's registry at W&B (`init(backend="wandb")`)
and starts a run, so each `artifact.save()` is logged there. Every function imports `wandb`
only when called, and does nothing when there is no run (or no config).

Example:
    >>> @dataclass
    ... class MyConfig:
    ...     wandb: WandbConfig | None = None
    >>> def main(cfg: MyConfig) -> None:
    ...     init_wandb_if_configured(cfg.wandb, job_type="training", tags=["pretrain"])
    ...     ...
    ...     finish_wandb(exit_code=0)
"""

# `import wandb` in this module (nemotron.kit.wandb) is the W&B library: imports are absolute.
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from nemotron.kit import _init
from nemotron.kit._lineage import WANDB_PIP, TrackerNotInstalledError

__all__ = [
    "WandbConfig",
    "add_wandb_tags",
    "finish_wandb",
    "init_wandb_if_configured",
    "log_wandb_config",
]


@dataclass
class WandbConfig:
    """W&B settings of a run; tracking is on when `project` is set.

    Example CLI usage: `... wandb.project=my-project wandb.entity=my-team`.
    """

    project: str | None = None
    """W&B project (required to enable tracking)."""
    entity: str | None = None
    """W&B entity (team or user)."""
    run_name: str | None = None
    """Run name (W&B generates one if unset)."""
    tags: tuple[str, ...] = ()
    """Tags for filtering runs."""
    notes: str | None = None
    """Notes about the run."""

    @property
    def enabled(self) -> bool:
        """Whether W&B is configured (a project is set)."""
        return self.project is not None


def _wandb() -> Any | None:
    try:
        import wandb
    except ImportError:
        return None
    return wandb


def init_wandb_if_configured(
    wandb_config: WandbConfig | None,
    job_type: str = "data-prep",
    tags: list[str] | None = None,
) -> None:
    """Point the kit at W&B and start a run, when `wandb_config` has a project; else nothing.

    Calls `nemotron.kit.init(backend="wandb", …)`, then `wandb.init` unless a run is active,
    with the config's tags plus `tags`.
    """
    if wandb_config is None or not wandb_config.enabled:
        return
    wandb = _wandb()
    if wandb is None:
        raise TrackerNotInstalledError(f"W&B tracking needs wandb; {WANDB_PIP}")
    _init.init(
        backend="wandb",
        wandb_project=wandb_config.project,
        wandb_entity=wandb_config.entity,
    )
    if wandb.run is None:
        all_tags = list(dict.fromkeys([*wandb_config.tags, *(tags or [])]))
        wandb.init(
            project=wandb_config.project,
            entity=wandb_config.entity,
            name=wandb_config.run_name,
            tags=all_tags or None,
            notes=wandb_config.notes,
            job_type=job_type,
        )


def add_wandb_tags(tags: list[str]) -> None:
    """Add `tags` to the active run's (each once, in order); nothing when there is no run."""
    wandb = _wandb()
    if wandb is None or wandb.run is None or not tags:
        return
    existing = list(wandb.run.tags or ())
    wandb.run.tags = tuple(dict.fromkeys([*existing, *tags]))


def log_wandb_config(cfg: object) -> None:
    """Record a dataclass (or mapping) config in the active run's config (paths as strings)."""
    wandb = _wandb()
    if wandb is None or wandb.run is None:
        return
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        data: Any = dataclasses.asdict(cfg)
    elif isinstance(cfg, Mapping):
        data = dict(cfg)
    else:
        raise TypeError(
            f"log_wandb_config takes a dataclass or a mapping, not {type(cfg).__name__}"
        )
    wandb.config.update(_plain(data), allow_val_change=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (Path, PurePath)):
        return str(value)
    return value


def finish_wandb(exit_code: int = 0) -> None:
    """Finish the active run with `exit_code` (non-zero marks it failed); nothing without one."""
    wandb = _wandb()
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=exit_code)
