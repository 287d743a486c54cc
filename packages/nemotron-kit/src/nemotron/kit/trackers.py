"""Lineage trackers: where `Artifact.save()` records what an artifact was made from.

- `RegistryTracker` records lineage in the artifact registry itself (no W&B needed): it
  publishes the artifact with the `art://` inputs it used.
- `WandbTracker` logs artifacts to the active W&B run (references, input datasets, tokenizer).
- `NoOpTracker` records nothing.

`set_lineage_tracker`/`get_lineage_tracker` hold the process's tracker; `load_tracker(name)`
finds one through the `nemotron.kit.trackers` entry points. The artifacts a process used (loaded
with `Artifact.load`/`from_uri`, or resolved by a tracker) are kept here too, as pinned
`art://name:vN` URIs: `used_artifacts()`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron.kit._init import get_registry
from nemotron.kit._lineage import (
    GROUP,
    InputDatasetInfo,
    LineageTracker,
    TrackedArtifact,
    TrackerError,
    TrackerNotFoundError,
    TrackerNotInstalledError,
    as_input_uri,
    current_run_id,
    get_lineage_tracker,
    record_used_artifact,
    reset_used_artifacts,
    set_lineage_tracker,
    unique,
    used_artifacts,
)
from nemotron.kit._wandb_tracker import WandbTracker, to_wandb_uri, tokenizer_to_uri

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from nemotron.registry import ArtifactRegistry

__all__ = [
    "InputDatasetInfo",
    "LineageTracker",
    "NoOpTracker",
    "RegistryTracker",
    "TrackedArtifact",
    "TrackerError",
    "TrackerNotFoundError",
    "TrackerNotInstalledError",
    "WandbTracker",
    "current_run_id",
    "get_lineage_tracker",
    "load_tracker",
    "record_used_artifact",
    "reset_used_artifacts",
    "set_lineage_tracker",
    "to_wandb_uri",
    "tokenizer_to_uri",
    "tracker_names",
    "used_artifacts",
]


# -- trackers ------------------------------------------------------------------------------------
class NoOpTracker:
    """A tracker that records nothing (`set_lineage_tracker(NoOpTracker())` disables tracking)."""

    def is_active(self) -> bool:
        """Never active."""
        return False

    def use_artifact(self, ref: str, artifact_type: str) -> Path:
        """Refused: a no-op tracker cannot resolve anything."""
        raise TrackerError(f"NoOpTracker cannot resolve {ref!r}: pass a path or an art:// URI")

    def log_artifact(
        self, artifact: TrackedArtifact, name: str, used_refs: list[str]
    ) -> dict[str, Any]:
        """Record nothing; the tracking info is empty."""
        return {
            "artifact_id": None,
            "artifact_type": artifact.type,
            "run_id": None,
            "url": None,
            "used_artifacts": [],
        }

    def get_run_id(self) -> str | None:
        """No run."""
        return None


class RegistryTracker:
    """Lineage in the artifact registry itself: each logged artifact is published with its inputs.

    Args:
        registry: Where to publish; default the registry `nemotron.kit.init()` opened (else the
            one `$NEMOTRON_REGISTRY` names), looked up at each call.
    """

    def __init__(self, registry: ArtifactRegistry | None = None) -> None:
        self._registry = registry

    @property
    def registry(self) -> ArtifactRegistry:
        """The registry it publishes to."""
        return self._registry if self._registry is not None else get_registry()

    def is_active(self) -> bool:
        """Always active."""
        return True

    def use_artifact(self, ref: str, artifact_type: str) -> Path:
        """Resolve `art://name[:vN|:alias][/path]` to local files and record it as used."""
        registry = self.registry
        version, inner = registry.split(ref if ref.startswith("art://") else f"art://{ref}")
        local = registry.download(version.name, version.version)
        record_used_artifact(version.uri)
        return local / inner if inner else local

    def log_artifact(
        self, artifact: TrackedArtifact, name: str, used_refs: list[str]
    ) -> dict[str, Any]:
        """Publish `artifact`'s folder as the next version of `name`, with its lineage.

        The inputs are `used_refs` (pinned to the version each names now) plus the artifact's
        own `get_input_uris()` (source datasets, tokenizer; local paths become `file://`).
        """
        producer = artifact.producer or self.get_run_id()
        inputs = unique([*used_refs, *(as_input_uri(u) for u in artifact.get_input_uris())])
        version = self.registry.publish(
            name,
            artifact.output_dir(),
            metadata=artifact.registry_metadata(),
            inputs=inputs,
            producer=producer,
        )
        return {
            # version 0: an offline W&B registry numbers it when the run is synced
            "artifact_id": version.uri if version.version else None,
            "artifact_type": artifact.type,
            "run_id": producer,
            "url": version.url,
            "used_artifacts": [i for i in version.inputs if i.startswith("art://")],
            "source_uris": [i for i in version.inputs if not i.startswith("art://")],
        }

    def get_run_id(self) -> str:
        """The nrun task or Slurm job of this process, else `"local"`."""
        return current_run_id()


# -- trackers by name ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def tracker_names() -> list[str]:
    """The names of the installed trackers (`nemotron.kit.trackers` entry points), sorted."""
    return sorted(_entry_points())


def load_tracker(name: str, **options: Any) -> LineageTracker:
    """A new tracker of the kind registered as `name` (`noop`, `registry`, `wandb`, …).

    `options` go to its constructor (`load_tracker("registry", registry=r)`). An unknown name
    is one line listing the installed ones.
    """
    found = _entry_points().get(name)
    if found is None:
        names = tracker_names()
        from nrun.config import did_you_mean

        raise TrackerNotFoundError(
            f"unknown tracker {name!r} (installed: {', '.join(names) or 'none'})."
            + did_you_mean(name, names)
        )
    factory = found.load()
    tracker: LineageTracker = factory(**options)
    return tracker
