"""`CodePackager`: the recipe's git repository as an archive, plus a `main.py` that runs the script.

The archive holds the repository's tracked files and its untracked ones that `.gitignore` does
not ignore (or, for a script in no repository, the tree of the script's folder), the job's
config as `config.yaml`, and `main.py`. Archives are cached by a digest of everything in them
under `$NRUN_HOME/kit-code/`, so a job whose code and config did not change reuses the last
archive (hard-linked into the job dir) instead of compressing the repository again.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from nemotron.kit.packaging._archive import (
    ARCHIVE,
    CONFIG,
    LAUNCHER,
    add_text,
    check_inputs,
    prelude,
)
from nrun.config.atomic import atomic_path
from nrun.exec.packaging import Packager, PackagingError
from nrun.exec.store import nrun_home

__all__ = ["CodePackager"]

KIND = "CodePackager"
CACHE_KEEP = 16
"""How many cached archives `$NRUN_HOME/kit-code/` keeps (the most recently used)."""
_SKIPPED = {
    "__pycache__",
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "node_modules",
}
"""Folders never packaged from a script's folder that is in no git repository."""


def cache_dir() -> Path:
    """Where archives are cached: `$NRUN_HOME/kit-code`."""
    return nrun_home() / "kit-code"


@dataclasses.dataclass(kw_only=True)
class CodePackager(Packager):
    """The git repository around `script_path`, with a `main.py` launcher and `config.yaml`.

    `main.py`, run as `runpy.run_module("main", run_name="__main__", alter_sys=True)` with the
    unpacked archive first on `PYTHONPATH`, puts the script's folder, `src/` (when the
    repository has one) and the archive's root first on `sys.path`, sets
    `sys.argv = [<script>, "--config", <abs path of config.yaml>, *argv]` and runs the script
    as `__main__`, in the working directory the executor chose.

    Args:
        script_path: The recipe script (absolute, or relative to the packaged source).
        train_path: The job's config, shipped as `config.yaml`.
        argv: Arguments passed on to the script after `--config`.
        exclude_dirs: Folders left out, relative to the repository root (or absolute).
    """

    script_path: str
    train_path: str
    argv: list[str] = dataclasses.field(default_factory=list)
    exclude_dirs: tuple[str, ...] = ()

    def package(self, source: Path, job_dir: Path) -> Path:
        """Write `job_dir/code.tar.gz`, reusing the cached archive when nothing changed."""
        script, train = check_inputs(KIND, self.script_path, self.train_path, Path(source))
        job_dir = Path(job_dir)
        job_dir.mkdir(parents=True, exist_ok=True)
        root, in_git = _repo_root(script)
        files = self._files(root, job_dir, in_git)
        if not script.is_relative_to(root):  # a symlink out of the repository
            raise PackagingError(f"{KIND}: script '{script}' is not inside '{root}'")
        rel_script = script.relative_to(root)
        if rel_script.as_posix() not in files:
            raise PackagingError(
                f"{KIND}: script '{script}' is excluded from the archive (exclude_dirs or "
                ".gitignore); it must be packaged to run"
            )
        paths = [rel_script.parent.as_posix() or ".", *(["src"] if (root / "src").is_dir() else [])]
        launcher = _launcher(rel_script.as_posix(), [*paths, "."], self.argv)
        digest = _digest(root, files, launcher, train)
        cached = cache_dir() / f"{digest}.tar.gz"

        def write(tmp: Path) -> None:
            _write(tmp, root, files, launcher, train)

        if cached.is_file():
            os.utime(cached)
        else:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached, mode=0o644) as tmp:
                write(tmp)
        _prune(cached.parent)
        return _place(cached, job_dir / ARCHIVE, write)

    def _files(self, root: Path, job_dir: Path, in_git: bool) -> dict[str, Path]:
        """The files to archive, by their path in the archive (POSIX, relative to `root`)."""
        listed = _git_files(root) if in_git else _tree_files(root)
        skipped = [job_dir.resolve(), cache_dir().resolve()]
        excluded = [
            Path(d) if Path(d).is_absolute() else root / d for d in self.exclude_dirs if d.strip()
        ]
        files: dict[str, Path] = {}
        for rel in listed:
            path = root / rel
            if any(path.is_relative_to(e) for e in excluded):
                continue
            if not path.is_file():  # deleted but tracked, a submodule, a dangling link
                continue
            if any(path.resolve().is_relative_to(s) for s in skipped):
                continue
            files[Path(rel).as_posix()] = path
        for name in (LAUNCHER, CONFIG):
            if name in files:
                raise PackagingError(
                    f"{KIND}: '{root / name}' would be replaced by the archive's own {name}; "
                    "rename it or leave it out with exclude_dirs"
                )
        return files


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, env=env, check=False
    )


def _failed(root: Path, args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> str:
    first = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
    return f"{KIND}: git {args[0]} failed in '{root}': {first}"


def _repo_root(script: Path) -> tuple[Path, bool]:
    """The top of the git work tree holding `script` (and True), else the script's folder."""
    folder = script.parent
    args = ("rev-parse", "--show-toplevel")
    try:
        done = _git(folder, *args)
    except FileNotFoundError:
        if any((p / ".git").exists() for p in (folder, *folder.parents)):
            raise PackagingError(
                f"{KIND}: '{folder}' is in a git repository, but git is not installed"
            ) from None
        return folder, False
    if done.returncode == 0:
        return Path(done.stdout.strip()).resolve(), True
    if "not a git repository" in done.stderr:
        return folder, False
    raise PackagingError(_failed(folder, args, done))


def _git_files(root: Path) -> list[str]:
    args = ("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    try:
        done = _git(root, *args)
    except FileNotFoundError:  # removed since rev-parse ran
        raise PackagingError(f"{KIND}: git is not installed") from None
    if done.returncode != 0:
        raise PackagingError(_failed(root, args, done))
    return sorted({name for name in done.stdout.split("\0") if name})


def _tree_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        base = Path(folder).relative_to(root)
        found += [(base / n).as_posix() for n in names if not n.endswith((".pyc", ".pyo"))]
    return sorted(found)


def _launcher(script: str, paths: list[str], argv: list[str]) -> str:
    return (
        f'"""Made by nemotron.kit\'s CodePackager: runs {script} with this job\'s {CONFIG}."""\n'
        "\n\n"
        f"{prelude(list(dict.fromkeys(paths)), script, argv)}"
        "\n\n"
        'if __name__ == "__main__":\n'
        "    import runpy\n"
        "\n"
        '    runpy.run_path(__nemotron_kit_launch__(), run_name="__main__")\n'
    )


def _digest(root: Path, files: dict[str, Path], launcher: str, train: Path) -> str:
    """A digest of what the archive holds: names, executable bits and contents."""
    total = hashlib.sha256(b"nemotron.kit CodePackager 1\0")
    total.update(launcher.encode() + b"\0" + train.read_bytes() + b"\0")
    for rel, path in files.items():
        one = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                one.update(chunk)
        executable = os.access(path, os.X_OK)
        total.update(f"{rel}\0{int(executable)}\0{one.hexdigest()}\0".encode())
    return total.hexdigest()[:32]


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.mode & 0o111 else 0o644
    return info


def _write(tmp: Path, root: Path, files: dict[str, Path], launcher: str, train: Path) -> None:
    with tarfile.open(tmp, "w:gz", compresslevel=6, dereference=True) as archive:
        add_text(archive, LAUNCHER, launcher)
        archive.add(train, arcname=CONFIG, recursive=False, filter=_normalized)
        for rel, path in files.items():
            archive.add(path, arcname=rel, recursive=False, filter=_normalized)


def _place(cached: Path, target: Path, write: Callable[[Path], None]) -> Path:
    """Hard-link (else copy) the cached archive to `target`; rebuild if it vanished meanwhile."""

    def link(tmp: Path) -> None:
        tmp.unlink()
        try:
            os.link(cached, tmp)
        except OSError:
            shutil.copyfile(cached, tmp)

    try:
        with atomic_path(target, mode=0o644) as tmp:
            link(tmp)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        with atomic_path(target, mode=0o644) as tmp:  # pruned by another process meanwhile
            write(tmp)
    return target


def _prune(folder: Path) -> None:
    """Keep the `CACHE_KEEP` most recently used archives."""
    entries = []
    for path in folder.glob("*.tar.gz"):
        try:
            entries.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    for _, path in sorted(entries, reverse=True)[CACHE_KEEP:]:
        path.unlink(missing_ok=True)
