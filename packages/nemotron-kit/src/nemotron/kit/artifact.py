"""Path-centric artifacts: a path plus typed metadata, saved as `metadata.json` beside the data.

`save()` writes `metadata.json` atomically (each field once: typed fields as fields, only
untyped extras in `metadata`); after `nemotron.kit.init()` it also publishes the artifact's
folder to the registry, with the artifacts this process loaded (`load`, `from_uri`) and the
artifact's own `get_input_uris()` as lineage, and logs it to the active lineage tracker.
Steps compose through pipes: `print_step_complete` writes the artifacts' JSON to stdout when
stdout is not a terminal, and `Artifact.load()` with no path reads it from stdin.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from nemotron.kit._artifact import Artifact, TrackingInfo
from nemotron.kit._artifact_io import ArtifactError, ArtifactMetadataNotFoundError
from nemotron.kit._artifact_types import (
    DataBlendsArtifact,
    ModelArtifact,
    PretrainBlendsArtifact,
    PretrainDataArtifact,
    SFTDataArtifact,
    SplitJsonlDataArtifact,
)
from nemotron.kit.exceptions import KitError
from nemotron.kit.trackers import InputDatasetInfo

__all__ = [
    "Artifact",
    "ArtifactError",
    "ArtifactMetadataNotFoundError",
    "DataBlendsArtifact",
    "InputDatasetInfo",
    "ModelArtifact",
    "PretrainBlendsArtifact",
    "PretrainDataArtifact",
    "SFTDataArtifact",
    "ScaleError",
    "SplitJsonlDataArtifact",
    "TrackingInfo",
    "apply_scale",
    "print_step_complete",
]


class ScaleError(KitError, ValueError):
    """An unknown `apply_scale` scale."""


_SCALES = {"tiny": 0.01, "small": 0.10, "medium": 0.30, "full": 1.0}


def apply_scale(count: int, scale: str) -> int:
    """Scale `count` for fast iteration: tiny 1% (1 to 10,000), small 10%, medium 30%, full.

    Example:
        >>> apply_scale(100_000, "tiny")
        1000
    """
    factor = _SCALES.get(scale)
    if factor is None:
        raise ScaleError(f"invalid scale {scale!r}: expected one of {', '.join(_SCALES)}")
    result = max(1, int(count * factor))
    return min(result, 10_000) if scale == "tiny" else result


def _format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:,.0f}" if v > 100 else f"{k}={v:.2f}" for k, v in metrics.items())


def print_step_complete(
    *args: dict[str, Artifact],
    title: str = "Complete",
    **artifacts: Artifact,
) -> None:
    """Show a step's artifacts: rich panels on stderr, their JSON on stdout when it is piped.

    The JSON is one object mapping each name to `{"path", "type", "uri"}`, which the next
    step's `Artifact.load()` reads from stdin (`python step1.py | python step2.py`).

    Example:
        >>> print_step_complete(data=data_artifact, model=model_artifact)
    """
    if args and isinstance(args[0], dict):  # the original's dict form
        artifacts = {**args[0], **artifacts}
    payload = {name: json.loads(art.to_json()) for name, art in artifacts.items()}
    stdout = sys.stdout
    if stdout is not None and not stdout.isatty():
        print(json.dumps(payload), file=stdout, flush=True)
    handoff = os.environ.get("NEMOTRON_STEP_OUTPUT")
    if handoff:  # a pipeline step: the next step reads it (nemotron.kit.pipeline)
        from nrun.config.atomic import atomic_write

        Path(handoff).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(handoff, json.dumps(payload) + "\n")

    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    console = Console(file=sys.stderr)
    console.print(f"\n[bold green]✓ {title}[/bold green]")
    for name, artifact in artifacts.items():
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        table.add_row("URI", f"[bold yellow]{artifact.art_path}[/bold yellow]")
        table.add_row("Path", f"[blue]{artifact.path.resolve()}[/blue]")
        if artifact.metrics:
            table.add_row("Metrics", f"[green]{_format_metrics(artifact.metrics)}[/green]")
        if artifact.tracking is not None and artifact.tracking.url:
            table.add_row("Tracked", artifact.tracking.url)
        title_text = f"[bold cyan]{name}[/bold cyan] [dim]({artifact.type})[/dim]"
        console.print(Panel(table, title=title_text, title_align="left", border_style="green"))
