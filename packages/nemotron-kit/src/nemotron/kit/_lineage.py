"""What every tracker shares: the protocols, errors, dataset records and the process's state.

The process's tracker (`set_lineage_tracker`) and the artifacts it used (`used_artifacts()`,
pinned `art://name:vN` URIs, in order) live here, below both the artifacts and the trackers.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from nemotron.kit.exceptions import KitError

__all__ = [
    "GROUP",
    "WANDB_PIP",
    "InputDatasetInfo",
    "LineageTracker",
    "TrackedArtifact",
    "TrackerError",
    "TrackerNotFoundError",
    "TrackerNotInstalledError",
    "as_input_uri",
    "current_run_id",
    "get_lineage_tracker",
    "record_used_artifact",
    "reset_used_artifacts",
    "set_lineage_tracker",
    "unique",
    "used_artifacts",
]

GROUP = "nemotron.kit.trackers"
WANDB_PIP = "pip install 'nemotron-kit[wandb]'"


class TrackerError(KitError, RuntimeError):
    """A tracker that cannot do what was asked (no active run, offline, …); one line."""


class TrackerNotFoundError(TrackerError, LookupError):
    """A tracker name that no installed distribution registers."""


class TrackerNotInstalledError(KitError, ImportError):
    """A tracker whose library is missing; the message names the `pip install`."""


class InputDatasetInfo(BaseModel):
    """A source dataset of an artifact: its URI plus what the blend said about it."""

    uri: str
    """The source URI (`hf://…`, `s3://…`, `file://…` or a local path)."""
    name: str | None = None
    weight: float = 1.0
    split: str | None = None
    subset: str | None = None
    text_field: str = "text"
    num_rows: int | None = None
    size_bytes: int | None = None
    num_files: int | None = None


@runtime_checkable
class TrackedArtifact(Protocol):
    """What a tracker reads from an artifact (`nemotron.kit.Artifact` is one)."""

    path: Path
    type: str
    created_at: str
    producer: str | None

    @property
    def metrics(self) -> dict[str, float]:
        """Numeric metadata, for logging."""
        ...

    def output_dir(self) -> Path:
        """The folder holding the artifact's files and its `metadata.json`."""
        ...

    def registry_metadata(self) -> dict[str, Any]:
        """The artifact's fields as one flat JSON mapping."""
        ...

    def get_input_uris(self) -> list[str]:
        """External inputs (datasets, tokenizer) for lineage."""
        ...

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """(local path, name) of the small files to upload to W&B."""
        ...

    def get_wandb_references(self) -> list[tuple[str, str]]:
        """(URI, name) of the data W&B should reference without uploading."""
        ...


class LineageTracker(Protocol):
    """A lineage backend (W&B, the registry, your own): implement these four methods."""

    def is_active(self) -> bool:
        """Whether the tracker records anything now."""
        ...

    def use_artifact(self, ref: str, artifact_type: str) -> Path:
        """Mark `ref` as an input of this run and return the local path of its files."""
        ...

    def log_artifact(
        self, artifact: TrackedArtifact, name: str, used_refs: list[str]
    ) -> dict[str, Any]:
        """Record `artifact` under `name`, made from `used_refs`; return its tracking info."""
        ...

    def get_run_id(self) -> str | None:
        """The current run's id, or None."""
        ...


# -- the process's tracker and the artifacts it used ----------------------------------------------
_tracker: LineageTracker | None = None
_used: list[str] = []
_used_lock = threading.Lock()


def set_lineage_tracker(tracker: LineageTracker | None) -> None:
    """Set the tracker every `Artifact.save()` logs to (None: none)."""
    global _tracker
    _tracker = tracker


def get_lineage_tracker() -> LineageTracker | None:
    """The tracker `set_lineage_tracker` set, or None."""
    return _tracker


def record_used_artifact(uri: str) -> None:
    """Record `uri` (`art://name:vN`) as an input of what this process saves next."""
    with _used_lock:
        if uri not in _used:
            _used.append(uri)


def used_artifacts() -> list[str]:
    """The `art://name:vN` URIs this process used so far, in order, each once."""
    with _used_lock:
        return list(_used)


def reset_used_artifacts() -> None:
    """Forget the used artifacts (tests, and long-lived processes between steps)."""
    with _used_lock:
        _used.clear()


def current_run_id() -> str:
    """This run's id from its environment: the nrun task, the Slurm job, else `"local"`."""
    env = os.environ
    experiment, task = env.get("NRUN_EXPERIMENT_ID"), env.get("NRUN_TASK_NAME")
    if experiment or task:
        return "/".join(part for part in (experiment, task) if part)
    job = env.get("SLURM_JOB_ID")
    if job:
        array = env.get("SLURM_ARRAY_TASK_ID")
        return f"slurm-{job}" + (f"_{array}" if array else "")
    return env.get("NEMO_EXPERIMENT_ID") or "local"


def as_input_uri(uri: str) -> str:
    """A lineage input as a URL: a local path becomes `file:///abs/path`."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", uri):
        return uri
    return Path(uri).expanduser().resolve().as_uri()


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
