"""Tracking configuration: the same one global configuration as `nemotron.kit.init` (not a second).

`track.init(backend, output_root)` is `kit.init(backend, root=output_root)`; `get_config()` is
the kit's. `STAGE_DIRS` names the stage folders recipes write under.
"""

from __future__ import annotations

import os
from typing import Literal

from nemotron.kit._init import KitConfig, get_config
from nemotron.kit._init import init as _kit_init

__all__ = ["STAGE_DIRS", "KitConfig", "get_config", "init"]

STAGE_DIRS = {"pretrain": "stage0_pretrain", "sft": "stage1_sft", "rl": "stage2_rl"}


def init(
    backend: Literal["fsspec", "wandb"] = "fsspec",
    output_root: str | os.PathLike[str] | None = None,
    wandb_project: str | None = None,
    wandb_entity: str | None = None,
) -> KitConfig:
    """`nemotron.kit.init` under its tracking name; `output_root` defaults to `./output`."""
    root = output_root if output_root is not None or backend != "fsspec" else "./output"
    return _kit_init(backend, root, wandb_project=wandb_project, wandb_entity=wandb_entity)
