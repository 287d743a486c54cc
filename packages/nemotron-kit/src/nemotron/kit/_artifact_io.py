"""Reading and writing artifact records: the atomic `metadata.json` write and the stdin pipe."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nemotron.kit.exceptions import KitError
from nrun.config.atomic import atomic_write

__all__ = [
    "METADATA_FILE",
    "ArtifactError",
    "ArtifactMetadataNotFoundError",
    "read_stdin_artifact",
    "same_place",
    "write_json_atomic",
]

METADATA_FILE = "metadata.json"


class ArtifactError(KitError, ValueError):
    """An artifact that cannot be saved or loaded as asked; the message is one line."""


class ArtifactMetadataNotFoundError(ArtifactError, FileNotFoundError):
    """A path with no `metadata.json`: not an artifact written by `Artifact.save()`."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as JSON to `path` atomically (`nrun.config.atomic`), world-readable."""
    atomic_write(path, json.dumps(data, indent=2, allow_nan=False) + "\n", mode=0o644)


def same_place(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


_stdin_cache: tuple[int, Any] | None = None


def read_stdin_artifact(type_name: str, key: str | None) -> tuple[Path, str | None]:
    """The path (and URI) of the artifact piped on stdin; stdin is read once per process."""
    global _stdin_cache
    stream = sys.stdin
    if _stdin_cache is None or _stdin_cache[0] != id(stream):
        if stream is None or stream.isatty():
            raise ArtifactError(
                "Artifact.load() got no path and stdin is a terminal: pass a path, or pipe a"
                " step's output in (python step1.py | python step2.py)"
            )
        _stdin_cache = (id(stream), _parse_piped(stream.read()))
    data = _stdin_cache[1]
    if "path" not in data:
        entries = {k: v for k, v in data.items() if isinstance(v, dict) and "path" in v}
        if not entries or len(entries) != len(data):
            raise ArtifactError(
                'stdin JSON has no "path": expected {"path": ...} or print_step_complete\'s'
                ' {"name": {"path": ...}}'
            )
        if key is not None:
            if key not in entries:
                raise ArtifactError(f"stdin has no artifact {key!r}; it holds {', '.join(entries)}")
            data = entries[key]
        elif len(entries) == 1:
            data = next(iter(entries.values()))
        else:
            typed = [v for v in entries.values() if v.get("type") == type_name]
            if len(typed) != 1:
                raise ArtifactError(
                    f"stdin holds several artifacts ({', '.join(entries)}): pass key=, e.g."
                    f" Artifact.load(key={next(iter(entries))!r})"
                )
            data = typed[0]
    if not isinstance(data["path"], str) or not data["path"]:
        raise ArtifactError(f'stdin JSON "path" must be a non-empty string, got {data["path"]!r}')
    uri = data.get("uri")
    return Path(data["path"]), uri if isinstance(uri, str) else None


def _parse_piped(text: str) -> dict[str, Any]:
    """The JSON object piped in: the whole text, else its last line that is one."""
    candidates = [text, *reversed([line for line in text.splitlines() if line.strip()])]
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    shown = text.strip()[:60] + ("…" if len(text.strip()) > 60 else "")
    raise ArtifactError(
        f'stdin is not artifact JSON: expected {{"path": ...}} (as print_step_complete writes),'
        f" got {shown!r}"
    )
