"""What a container needs to run `python -m nrun.exec.task`: nrun's runner and PyYAML.

The task runner builds tasks with `nrun.config.instantiate`, which needs neither fiddle nor any
compiled library, so copying these pure-Python packages into the job dir (mounted and put on
`PYTHONPATH`) is enough for any image with a `python3` of 3.10 or newer. The user's own
dependencies must be in the image.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

__all__ = ["bundle_runtime"]

_PACKAGES = ("nrun.config", "yaml", "omegaconf", "antlr4")
"""Copied whole when installed; OmegaConf (and its parser) only matters for `${` in strings."""
_MODULES = ("nrun.exec.task", "nrun.exec.probes")


def _location(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def bundle_runtime(dest: Path) -> Path:
    """Copy the task runner and what it imports into `dest` (a folder for `PYTHONPATH`)."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
    for name in _PACKAGES:
        source = _location(name)
        if source is None or not source.is_dir():
            continue
        target = dest.joinpath(*name.split("."))
        if not target.exists():
            shutil.copytree(source, target, ignore=ignore)
    for name in _MODULES:
        source = _location(name)
        if source is None:
            raise RuntimeError(f"cannot find {name} to ship into the container")
        target = dest.joinpath(*name.split(".")).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest
