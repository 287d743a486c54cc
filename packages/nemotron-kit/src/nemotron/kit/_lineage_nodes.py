"""The nodes of a lineage page: ids, metrics, metadata, series and configs (secrets masked).

Read from the registry's `Lineage` and, for a version an nrun task made (its producer is
`EXPERIMENT/TASK`), from that task's record in the experiment store.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nemotron.registry import ArtifactRegistry, ArtifactVersion, Lineage

__all__ = [
    "Node",
    "add_history",
    "edge_id",
    "node_id",
    "number",
    "read_nodes",
    "slug",
    "topological",
]

_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")
_LONG = 300
"""Longest metadata value shown whole; longer ones are cut with `…`."""


@dataclass
class Node:
    """One node of the page: an artifact version, a raw input, or an input gone missing."""

    uri: str
    id: str
    kind: str  # "artifact", "raw" or "missing"
    version: ArtifactVersion | None = None
    inputs: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)
    configs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """`name:vN` for a version, else the URI."""
        if self.version is not None:
            return f"{self.version.name}:v{self.version.version}"
        return self.uri.removeprefix("art://")


def slug(text: str) -> str:
    """`text` with every run of characters not safe in an id as one `-`."""
    return _SLUG.sub("-", text).strip("-") or "x"


def node_id(uri: str) -> str:
    """The DOM id of a lineage node: `node-NAME-vN` for `art://NAME:vN`, else `raw-BASE-HASH`."""
    match = re.fullmatch(r"art://(.+):v(\d+)", uri)
    if match:
        return f"node-{slug(match.group(1))}-v{match.group(2)}"
    base = uri.rstrip("/").rsplit("/", 1)[-1]
    return f"raw-{slug(base)}-{hashlib.sha1(uri.encode()).hexdigest()[:8]}"


def edge_id(source: str, target: str) -> str:
    """The DOM id of the edge from node id `source` (an input) to `target` (its consumer)."""
    return f"edge-{source}--{target}"


# -- reading them -------------------------------------------------------------------------------
def read_nodes(graph: Lineage) -> dict[str, Node]:
    """Every node of `graph` by its URI, with its id and what its version recorded."""
    nodes: dict[str, Node] = {}
    used: set[str] = set()
    for uri in sorted(graph.nodes):
        entry = graph.nodes[uri]
        kind = "artifact" if entry.version else ("missing" if entry.missing else "raw")
        ident = node_id(uri)
        if ident in used:  # two names with the same slug (`a/b`, `a-b`)
            ident = f"{ident}-{hashlib.sha1(uri.encode()).hexdigest()[:6]}"
        used.add(ident)
        node = Node(uri=uri, id=ident, kind=kind, version=entry.version, inputs=entry.inputs)
        if entry.version is not None:
            _read_metadata(node, entry.version)
        nodes[uri] = node
    return nodes


def topological(graph: Lineage) -> list[str]:
    """Raw inputs first, the artifact last: each node after everything it was made from."""
    sorter = graphlib.TopologicalSorter({u: n.inputs for u, n in graph.nodes.items()})
    try:
        return [u for u in sorter.static_order() if u in graph.nodes]
    except graphlib.CycleError:  # not from a registry; show it anyway
        return list(graph.nodes)[::-1]


def number(value: Any) -> float | None:
    """`value` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _read_metadata(node: Node, version: ArtifactVersion) -> None:
    meta = _masked(version.metadata)
    for key, value in meta.items():
        found = number(value)
        if found is not None:
            node.metrics[key] = found
        elif key == "config" and isinstance(value, dict):
            node.configs.append(("config (metadata)", _yaml(value)))
        elif (
            isinstance(value, list) and len(value) > 1 and all(number(v) is not None for v in value)
        ):
            node.series[key] = [float(v) for v in value]
        elif key not in ("created_at", "producer") and value is not None:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            node.details[key] = text if len(text) <= _LONG else text[: _LONG - 1] + "…"
    node.configs.extend(_task_configs(version.producer))


def _task_configs(producer: str) -> list[tuple[str, str]]:
    """The config files of the nrun task `EXPERIMENT/TASK` that made a version, when recorded."""
    experiment, slash, task = producer.partition("/")
    if not slash:
        return []
    import yaml

    from nrun.exec.store import ExperimentError, check_name, experiment_dir

    try:
        folder = experiment_dir(experiment) / "tasks" / check_name("task name", task)
        found = []
        for name in ("task.yaml", "executor.yaml"):
            path = folder / name
            if path.is_file():
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
                found.append((f"{name} · nrun task {task} of {experiment}", _yaml(data)))
        return found
    except (ExperimentError, OSError, UnicodeDecodeError, yaml.YAMLError):
        return []


def _masked(value: Any) -> Any:
    """`value` with secrets masked (`nrun.config.secrets`), `KEY=VALUE` strings included."""
    from nrun.config.secrets import MASK, is_secret, mask

    def entries(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: entries(v) for k, v in item.items()}
        if isinstance(item, list):
            return [entries(v) for v in item]
        if isinstance(item, str) and "=" in item:
            key, _, _ = item.partition("=")
            if is_secret(key.strip().lstrip("+~").removeprefix("--")):
                return f"{key}={MASK}"
        return item

    return entries(mask(value))


def _yaml(data: Any) -> str:
    import yaml

    from nrun.config.secrets import mask_text, secret_values

    text = yaml.safe_dump(_masked(data), sort_keys=False, allow_unicode=True, width=88)
    return mask_text(text, secret_values(data))


def add_history(registry: ArtifactRegistry, nodes: dict[str, Node]) -> None:
    """Add each metric of a name with several versions as a series across its versions."""
    names = {n.version.name for n in nodes.values() if n.version is not None}
    for name in sorted(names):
        entry = registry.get(name)
        if entry is None or len(entry.versions) < 2:
            continue
        versions = sorted(entry.versions, key=lambda v: v.version)
        for node in nodes.values():
            if node.version is None or node.version.name != name:
                continue
            for key in node.metrics:
                points = [
                    (v.version, x)
                    for v in versions
                    if (x := number(v.metadata.get(key))) is not None
                ]
                if len(points) > 1:
                    label = f"{key} · v{points[0][0]}…v{points[-1][0]}"
                    node.series[label] = [x for _, x in points]
