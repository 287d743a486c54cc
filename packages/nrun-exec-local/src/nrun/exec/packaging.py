"""Packagers: the user's code as a tarball in the job dir, so a job runs what was launched.

Archives are written whole or not at all and owner-only (`nrun.config.atomic.atomic_path`);
`extract` unpacks them owner-only too. `Packager`, their base, is in `nrun.exec.base`.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tarfile
from pathlib import Path

from nrun.config.atomic import atomic_path, private_dir
from nrun.exec.base import ExecutorError, Packager

__all__ = ["GitArchivePackager", "Packager", "PackagingError", "PatternPackager", "extract"]

ARCHIVE = "code.tar.gz"


class PackagingError(ExecutorError):
    """The code cannot be packaged (not a git repository, nothing matched, ...)."""


def _git(source: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise PackagingError("GitArchivePackager needs git, which is not installed") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise PackagingError(f"git {args[0]} failed in '{source}': {first}")
    return done.stdout.strip()


def _kind(root: Path, obj: str) -> str:
    """The type of a git object (`tree`, `blob`, ...), or "" when there is none."""
    try:
        return _git(root, "cat-file", "-t", obj)
    except PackagingError:
        return ""


@dataclasses.dataclass(kw_only=True)
class GitArchivePackager(Packager):
    """The git repository around the source at `ref` (`git archive`).

    With `include_uncommitted`, changes to tracked files that are not committed yet go in too
    (through `git stash create`, which touches neither the work tree nor the stash list);
    untracked files never do. `subpath` packages one folder of the repository as the root.
    """

    ref: str = "HEAD"
    include_uncommitted: bool = False
    subpath: str = ""

    def package(self, source: Path, job_dir: Path) -> Path:
        """Archive the repository into `job_dir/code.tar.gz`."""
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
        )
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            raise PackagingError(
                f"GitArchivePackager: '{source}' is not inside a git repository; "
                "use PatternPackager or no packager"
            )
        root = Path(_git(source, "rev-parse", "--show-toplevel"))
        treeish = self.ref
        if self.include_uncommitted:
            if self.ref != "HEAD":
                raise PackagingError(
                    f"GitArchivePackager: include_uncommitted adds the work tree's changes to "
                    f"HEAD, so it cannot package ref={self.ref!r}"
                )
            treeish = _git(root, "stash", "create") or self.ref
        subpath = self.subpath.strip("/")
        tree = f"{treeish}:{subpath}" if subpath else treeish
        # name what is wrong ourselves: `rev-parse --quiet` and `archive` would not
        try:
            _git(root, "rev-parse", "--verify", "--quiet", f"{treeish}^{{commit}}")
        except PackagingError:
            raise PackagingError(
                f"GitArchivePackager: ref {self.ref!r} is not a commit in '{root}'"
            ) from None
        if subpath and _kind(root, tree) != "tree":
            raise PackagingError(
                f"GitArchivePackager: subpath {self.subpath!r} is not a folder at {self.ref} "
                f"in '{root}'"
            )
        with atomic_path(job_dir / ARCHIVE) as tmp:
            _git(root, "archive", "--format=tar.gz", "-o", str(tmp), tree)
        return job_dir / ARCHIVE


@dataclasses.dataclass(kw_only=True)
class PatternPackager(Packager):
    """The files under `relative_path` (of the source) that match any of the glob patterns."""

    include_pattern: list[str] = dataclasses.field(default_factory=lambda: ["**/*.py"])
    relative_path: str = "."

    def package(self, source: Path, job_dir: Path) -> Path:
        """Archive the matching files into `job_dir/code.tar.gz`."""
        base = (source / self.relative_path).resolve()
        if not base.is_dir():
            raise PackagingError(f"PatternPackager: '{base}' is not a directory")
        files: set[Path] = set()
        for pattern in self.include_pattern:
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise PackagingError(f"PatternPackager: pattern {pattern!r} leaves '{base}'")
            files.update(p for p in base.glob(pattern) if p.is_file())
        if not files:
            patterns = ", ".join(self.include_pattern)
            raise PackagingError(f"PatternPackager: nothing under '{base}' matches {patterns}")
        unreadable = sorted(p for p in files if not os.access(p, os.R_OK))
        if unreadable:  # said here: an error while archiving would name the archive instead
            raise PackagingError(f"PatternPackager: cannot read '{unreadable[0]}'")

        with atomic_path(job_dir / ARCHIVE) as tmp, tarfile.open(tmp, "w:gz") as archive:
            for path in sorted(files):
                archive.add(path, arcname=str(path.relative_to(base)), recursive=False)
        return job_dir / ARCHIVE


def extract(archive: Path, dest: Path) -> Path:
    """Unpack a packaged archive into `dest`, refusing members that would land outside it.

    What it unpacks is owner-only, like everything in a job dir: folders 0700, files keep only
    their owner's bits (and stay readable and writable by the owner).
    """
    private_dir(dest)
    root = dest.resolve()
    with tarfile.open(archive, "r:*") as tar:
        for member in tar.getmembers():
            target = (root / member.name).resolve()
            if not target.is_relative_to(root) or member.issym() or member.islnk():
                if member.issym() or member.islnk():
                    continue
                raise PackagingError(f"refusing archive member {member.name!r}: outside {dest}")
        members = [m for m in tar.getmembers() if not (m.issym() or m.islnk())]
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Python before 3.10.12 / 3.11.4: the members were checked above
            tar.extractall(dest, members=members)
    _owner_only(dest)
    return dest


def _owner_only(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, (os.stat(path).st_mode & 0o700) | 0o600)
