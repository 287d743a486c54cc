"""nrun's task runner as files to ship where a job runs: a folder for `PYTHONPATH`, or an archive.

The task runner builds tasks with `nrun.config.instantiate`, which needs neither fiddle nor any
compiled library, so copying these pure-Python packages next to a job is enough for any
`python3` of 3.10 or newer (a container image, a cluster's nodes). The task's own libraries must
be there already. Folders, not zips: namespace packages (`nrun.exec`) don't import from zips.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

__all__ = ["bundle_runtime", "runtime_archive"]

_PACKAGES = ("nrun.config", "yaml", "omegaconf", "antlr4")
"""Copied whole when installed; OmegaConf (and its parser) only matters for `${` in strings."""
_MODULES = ("nrun.exec.task", "nrun.exec.probes")
_IGNORE = ("__pycache__", "*.pyc", "tests")
_archives: dict[Path, Path] = {}
"""Archives built by this process, by cache folder: the runtime doesn't change while it runs."""


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
    ignore = shutil.ignore_patterns(*_IGNORE)
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
            raise RuntimeError(f"cannot find {name} to ship with the job")
        target = dest.joinpath(*name.split(".")).with_suffix(".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def runtime_archive(cache: Path) -> Path:
    """`bundle_runtime` as `cache/runtime-<digest>.tar.gz`, built once per distinct content.

    The digest names the content, so a remote host that already holds an archive of that
    name needs no new copy.
    """
    known = _archives.get(cache)
    if known is not None and known.exists():
        return known
    with tempfile.TemporaryDirectory(prefix="nrun-runtime-") as tmp:
        folder = bundle_runtime(Path(tmp) / "runtime")
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
        target = cache / f"runtime-{digest.hexdigest()[:16]}.tar.gz"
        if target.exists():
            _archives[cache] = target
            return target
        cache.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".runtime-", suffix=".tar.gz", dir=cache)
        os.close(fd)
        try:
            with tarfile.open(partial, "w:gz") as tar:
                for path in files:
                    tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
            os.chmod(partial, 0o644)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    _archives[cache] = target
    return target
