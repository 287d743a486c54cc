"""nrun's task runner as files to ship where a job runs: a folder for `PYTHONPATH`, or an archive.

The task runner builds tasks with `nrun.config.instantiate`, which needs neither fiddle nor any
compiled library, so copying these pure-Python packages next to a job is enough for any
`python3` of 3.10 or newer (a container image, a cluster's nodes). The task's own libraries must
be there already. Folders, not zips: namespace packages (`nrun.exec`) don't import from zips.

A task module is imported there too, and the CLI guide's one-file script starts with
`from nrun import cli`, `from nrun.config import Config, Partial, autoconvert` and
`from nrun.exec.slurm import SlurmExecutor`: so nrun-cli and every installed `nrun.exec`
module and subpackage (executors) are shipped as well. Their decorators and module imports
need only the standard library; typer, rich, fiddle, paramiko and docker are imported only by
calls that use them, and none is made where the task runs.

Everything written is owner-only (folders 0700, files 0600), whatever the umask: it is shipped
into job folders that are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from nrun.config.atomic import atomic_path, private_dir

__all__ = ["bundle_runtime", "runtime_archive"]

_PACKAGES = ("nrun.config", "nrun.cli", "yaml", "omegaconf", "antlr4")
"""Copied whole when installed: nrun-cli for task modules that are CLI scripts; OmegaConf (and
its parser) only matters for `${` in strings. Finding nrun-cli by its spec imports none of it:
this distribution does not depend on it."""
_NAMESPACE = "nrun.exec"
"""Every installed module and subpackage of it is copied (this package's task runner first)."""
_REQUIRED = ("nrun/exec/task.py", "nrun/exec/probes.py")
_IGNORE = ("__pycache__", "*.pyc", "tests", "testing.py")
"""Test helpers stay home (`nrun.exec.testing` imports pytest)."""
_COMPILED = ("*.so", "*.pyd")
"""A subpackage holding compiled modules is not shipped: they are built for this machine."""
_archives: dict[Path, Path] = {}
"""Archives built by this process, by cache folder: the runtime doesn't change while it runs."""


def _location(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def _compiled(folder: Path) -> bool:
    return any(next(folder.rglob(pattern), None) is not None for pattern in _COMPILED)


def _copy_namespace(dest: Path, name: str) -> None:
    """Copy the modules and subpackages of namespace package `name` from every folder of it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return
    target = dest.joinpath(*name.split("."))
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(*_IGNORE)
    for location in spec.submodule_search_locations:
        folder = Path(location)
        if not folder.is_dir():
            continue
        skipped = ignore(str(folder), os.listdir(folder))
        for entry in sorted(folder.iterdir()):
            there = target / entry.name
            if entry.name in skipped or there.exists():
                continue
            if entry.is_dir():
                if (entry / "__init__.py").is_file() and not _compiled(entry):
                    shutil.copytree(entry, there, ignore=ignore, copy_function=shutil.copyfile)
            elif entry.suffix == ".py" or entry.name == "py.typed":
                shutil.copyfile(entry, there)


def _make_private(folder: Path) -> None:
    os.chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)


def bundle_runtime(dest: Path) -> Path:
    """Copy the task runner and what task modules import into `dest` (a folder for `PYTHONPATH`).

    `dest` and everything in it is owner-only.
    """
    private_dir(dest)
    ignore = shutil.ignore_patterns(*_IGNORE)
    for name in _PACKAGES:
        source = _location(name)
        if source is None or not source.is_dir():
            continue
        target = dest.joinpath(*name.split("."))
        if not target.exists():
            shutil.copytree(source, target, ignore=ignore, copy_function=shutil.copyfile)
    _copy_namespace(dest, _NAMESPACE)
    for required in _REQUIRED:
        if not (dest / required).is_file():
            module = required.removesuffix(".py").replace("/", ".")
            raise RuntimeError(f"cannot find {module} to ship with the job")
    _make_private(dest)
    return dest


def runtime_archive(cache: Path) -> Path:
    """`bundle_runtime` as `cache/runtime-<digest>.tar.gz`, built once per distinct content.

    The digest names the content, so a remote host that already holds an archive of that
    name needs no new copy. The archive and its members are owner-only.
    """
    known = _archives.get(cache)
    if known is not None and known.exists():
        return known
    with tempfile.TemporaryDirectory(prefix="nrun-runtime-") as tmp:
        folder = bundle_runtime(Path(tmp) / "runtime")
        entries = sorted(folder.rglob("*"))
        files = [p for p in entries if p.is_file()]
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
        target = cache / f"runtime-{digest.hexdigest()[:16]}.tar.gz"
        if target.exists():
            _archives[cache] = target
            return target
        private_dir(cache)
        with atomic_path(target, mode=0o600) as partial, tarfile.open(partial, "w:gz") as tar:
            for path in entries:  # folders too, so they unpack owner-only
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    _archives[cache] = target
    return target
