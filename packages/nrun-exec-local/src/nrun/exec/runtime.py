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

import fnmatch
import hashlib
import importlib.util
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from nrun.config.atomic import atomic_path, private_dir

__all__ = ["bundle_runtime", "runtime_archive", "runtime_name"]

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


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in _IGNORE)


def _tree(source: Path, target: str, plan: dict[str, Path]) -> None:
    """Plan the files of folder `source` (links followed, `_IGNORE` left out) under `target`."""
    for root, dirs, files in os.walk(source, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        where = Path(root).relative_to(source)
        for name in sorted(files):
            if not _ignored(name):
                plan[str(PurePosixPath(target, where.as_posix(), name))] = Path(root, name)


def _plan() -> dict[str, Path]:
    """What the runtime holds: its relative path -> the installed file it is a copy of.

    The packages of `_PACKAGES`, then every module and subpackage of `nrun.exec` from each of
    its folders (the first folder that has a name wins; compiled subpackages are left out).
    Reading it writes nothing, so a dry run can name the runtime (`runtime_name`).
    """
    plan: dict[str, Path] = {}
    for name in _PACKAGES:
        source = _location(name)
        if source is not None and source.is_dir():
            _tree(source, name.replace(".", "/"), plan)
    spec = importlib.util.find_spec(_NAMESPACE)
    target = _NAMESPACE.replace(".", "/")
    taken: set[str] = set()
    for location in spec.submodule_search_locations or [] if spec is not None else []:
        folder = Path(location)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if _ignored(entry.name) or entry.name in taken:
                continue
            if entry.is_dir():
                if (entry / "__init__.py").is_file() and not _compiled(entry):
                    taken.add(entry.name)
                    _tree(entry, f"{target}/{entry.name}", plan)
            elif entry.suffix == ".py" or entry.name == "py.typed":
                taken.add(entry.name)
                plan[f"{target}/{entry.name}"] = entry
    for required in _REQUIRED:
        if required not in plan:
            module = required.removesuffix(".py").replace("/", ".")
            raise RuntimeError(f"cannot find {module} to ship with the job")
    return plan


def _make_private(folder: Path) -> None:
    os.chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)


def _copy(plan: dict[str, Path], dest: Path) -> Path:
    """Copy the planned files into `dest`, everything owner-only."""
    private_dir(dest)
    for relative, source in plan.items():
        there = dest / relative
        if not there.exists():
            there.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, there)
    _make_private(dest)
    return dest


def bundle_runtime(dest: Path) -> Path:
    """Copy the task runner and what task modules import into `dest` (a folder for `PYTHONPATH`).

    `dest` and everything in it is owner-only.
    """
    return _copy(_plan(), dest)


def _digest(plan: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for relative in sorted(plan, key=lambda path: path.split("/")):
        digest.update(relative.encode() + b"\0" + plan[relative].read_bytes())
    return digest.hexdigest()[:16]


def runtime_name() -> str:
    """The name `runtime_archive` gives the runtime (`runtime-<digest>`), found writing nothing."""
    return f"runtime-{_digest(_plan())}"


def runtime_archive(cache: Path) -> Path:
    """`bundle_runtime` as `cache/runtime-<digest>.tar.gz`, built once per distinct content.

    The digest names the content, so a remote host that already holds an archive of that
    name needs no new copy. The archive and its members are owner-only.
    """
    known = _archives.get(cache)
    if known is not None and known.exists():
        return known
    plan = _plan()
    target = cache / f"runtime-{_digest(plan)}.tar.gz"
    if target.exists():
        _archives[cache] = target
        return target
    with tempfile.TemporaryDirectory(prefix="nrun-runtime-") as tmp:
        folder = _copy(plan, Path(tmp) / "runtime")
        private_dir(cache)
        with atomic_path(target, mode=0o600) as partial, tarfile.open(partial, "w:gz") as tar:
            for path in sorted(folder.rglob("*")):  # folders too, so they unpack owner-only
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    _archives[cache] = target
    return target
