"""nemotron.kit: typed path-centric artifacts with lineage, strict configs, trackers, run profiles.

- Artifacts (`Artifact`, `PretrainBlendsArtifact`, `ModelArtifact`, …): a path plus typed
  metadata in `metadata.json`; `save()` publishes to the registry `init()` opened, with the
  artifacts this process loaded as lineage.
- Configuration (`parse_config_and_overrides`, …): YAML through OmegaConf plus `key=value`
  overrides, checked strictly by nrun.config's grammar.
- Execution (`RunConfig`, `load_run_profile`, `build_executor`): `env.toml` profiles that become
  nrun executors (local, Docker, Slurm).
- Registry and tracking (`init`, `ArtifactRegistry`, `WandbTracker`, …).
- Pipelines (`Step`, `PipelineConfig`, `run_pipeline`): steps as one nrun `Experiment`; the
  recipe CLI (`@recipe`) is `nemotron.kit.cli`, packagers `nemotron.kit.packaging`.

Importing the package is cheap: each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nemotron.kit._init import KitConfig, get_config, init, is_initialized

if TYPE_CHECKING:
    from nemotron.kit.artifact import (
        Artifact,
        ArtifactError,
        DataBlendsArtifact,
        InputDatasetInfo,
        ModelArtifact,
        PretrainBlendsArtifact,
        PretrainDataArtifact,
        ScaleError,
        SFTDataArtifact,
        SplitJsonlDataArtifact,
        TrackingInfo,
        apply_scale,
        print_step_complete,
    )
    from nemotron.kit.exceptions import (
        ArtifactNotFoundError,
        ArtifactVersionNotFoundError,
        ConfigError,
        KitError,
        RegistryError,
        RunProfileError,
    )
    from nemotron.kit.pipeline import PipelineConfig, run_pipeline
    from nemotron.kit.registry import ArtifactEntry, ArtifactRegistry, ArtifactVersion
    from nemotron.kit.resolvers import register_resolvers, register_resolvers_from_config
    from nemotron.kit.run import RunConfig, build_executor, load_run_profile
    from nemotron.kit.step import Step
    from nemotron.kit.trackers import (
        LineageTracker,
        NoOpTracker,
        RegistryTracker,
        WandbTracker,
        get_lineage_tracker,
        load_tracker,
        set_lineage_tracker,
        to_wandb_uri,
        tokenizer_to_uri,
        tracker_names,
    )
    from nemotron.kit.train_script import (
        apply_hydra_overrides,
        load_omegaconf_yaml,
        omegaconf_to_dataclass,
        parse_config_and_overrides,
    )
    from nemotron.kit.wandb import (
        WandbConfig,
        add_wandb_tags,
        finish_wandb,
        init_wandb_if_configured,
        log_wandb_config,
    )

_LAZY = {
    "Artifact": "artifact",
    "ArtifactError": "artifact",
    "DataBlendsArtifact": "artifact",
    "InputDatasetInfo": "artifact",
    "ModelArtifact": "artifact",
    "PretrainBlendsArtifact": "artifact",
    "PretrainDataArtifact": "artifact",
    "SFTDataArtifact": "artifact",
    "ScaleError": "artifact",
    "SplitJsonlDataArtifact": "artifact",
    "TrackingInfo": "artifact",
    "apply_scale": "artifact",
    "print_step_complete": "artifact",
    "ArtifactNotFoundError": "exceptions",
    "ArtifactVersionNotFoundError": "exceptions",
    "ConfigError": "exceptions",
    "KitError": "exceptions",
    "RegistryError": "exceptions",
    "RunProfileError": "exceptions",
    "PipelineConfig": "pipeline",
    "run_pipeline": "pipeline",
    "Step": "step",
    "ArtifactEntry": "registry",
    "ArtifactRegistry": "registry",
    "ArtifactVersion": "registry",
    "register_resolvers": "resolvers",
    "register_resolvers_from_config": "resolvers",
    "RunConfig": "run",
    "build_executor": "run",
    "load_run_profile": "run",
    "LineageTracker": "trackers",
    "NoOpTracker": "trackers",
    "RegistryTracker": "trackers",
    "WandbTracker": "trackers",
    "get_lineage_tracker": "trackers",
    "load_tracker": "trackers",
    "set_lineage_tracker": "trackers",
    "to_wandb_uri": "trackers",
    "tokenizer_to_uri": "trackers",
    "tracker_names": "trackers",
    "apply_hydra_overrides": "train_script",
    "load_omegaconf_yaml": "train_script",
    "omegaconf_to_dataclass": "train_script",
    "parse_config_and_overrides": "train_script",
    "WandbConfig": "wandb",
    "add_wandb_tags": "wandb",
    "finish_wandb": "wandb",
    "init_wandb_if_configured": "wandb",
    "log_wandb_config": "wandb",
}

__all__ = [
    "Artifact",
    "ArtifactEntry",
    "ArtifactError",
    "ArtifactNotFoundError",
    "ArtifactRegistry",
    "ArtifactVersion",
    "ArtifactVersionNotFoundError",
    "ConfigError",
    "DataBlendsArtifact",
    "InputDatasetInfo",
    "KitConfig",
    "KitError",
    "LineageTracker",
    "ModelArtifact",
    "NoOpTracker",
    "PipelineConfig",
    "PretrainBlendsArtifact",
    "PretrainDataArtifact",
    "RegistryError",
    "RegistryTracker",
    "RunConfig",
    "RunProfileError",
    "SFTDataArtifact",
    "ScaleError",
    "SplitJsonlDataArtifact",
    "Step",
    "TrackingInfo",
    "WandbConfig",
    "WandbTracker",
    "add_wandb_tags",
    "apply_hydra_overrides",
    "apply_scale",
    "build_executor",
    "finish_wandb",
    "get_config",
    "get_lineage_tracker",
    "init",
    "init_wandb_if_configured",
    "is_initialized",
    "load_omegaconf_yaml",
    "load_run_profile",
    "load_tracker",
    "log_wandb_config",
    "omegaconf_to_dataclass",
    "parse_config_and_overrides",
    "print_step_complete",
    "register_resolvers",
    "register_resolvers_from_config",
    "run_pipeline",
    "set_lineage_tracker",
    "to_wandb_uri",
    "tokenizer_to_uri",
    "tracker_names",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nemotron.kit' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"nemotron.kit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
