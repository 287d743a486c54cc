"""Moving bytes: copy-with-checksum into the registry, checksum in place, download with progress."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import IO, Any, Literal

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from nemotron.registry.models import FileRecord

__all__ = ["Progress", "SourceFile", "copy_file", "hash_file", "progress", "scan_source"]

CHUNK = 4 * 1024 * 1024
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """One file of a source being published: where it is and where it goes in the artifact."""

    path: str
    relpath: str
    size: int


def scan_source(
    fs: AbstractFileSystem, path: str
) -> tuple[Literal["file", "dir"], list[SourceFile]]:
    """The kind (`"file"`/`"dir"`) of the source at `path` and its files, sorted by relpath."""
    info = fs.info(path)
    if info["type"] != "directory":
        name = path.rstrip("/").rsplit("/", 1)[-1]
        return "file", [SourceFile(path, name, int(info.get("size") or 0))]
    base = path.rstrip("/")
    files: list[SourceFile] = []
    if isinstance(fs, LocalFileSystem):
        for top, dirs, names in os.walk(base):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(top, name)
                rel = os.path.relpath(full, base).replace(os.sep, "/")
                files.append(SourceFile(full, rel, os.path.getsize(full)))
    else:
        for p, detail in sorted(fs.find(base, detail=True).items()):
            files.append(SourceFile(p, p[len(base) + 1 :], int(detail.get("size") or 0)))
    return "dir", files


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return
        yield chunk


def hash_file(
    fs: AbstractFileSystem, path: str, advance: Callable[[int], None] | None = None
) -> FileRecord:
    """Size and SHA-256 of the file at `path`, read once in chunks."""
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as f:
        for chunk in _chunks(f):
            digest.update(chunk)
            size += len(chunk)
            if advance:
                advance(len(chunk))
    return FileRecord(size=size, sha256=digest.hexdigest())


def copy_file(
    src_fs: AbstractFileSystem,
    src: str,
    dst_fs: AbstractFileSystem,
    dst: str,
    advance: Callable[[int], None] | None = None,
) -> FileRecord:
    """Copy `src` to `dst` in one pass, hashing what is written; a failure removes `dst`.

    An `OSError` that names no file (a failed `write`: disk full, EFBIG) gets the one it was
    reading or writing as its `filename`.
    """
    digest = hashlib.sha256()
    size = 0
    local = isinstance(dst_fs, LocalFileSystem)
    target = dst
    if local:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    where = src
    try:
        with src_fs.open(src, "rb") as fin, dst_fs.open(target, "wb") as fout:
            for chunk in _chunks(fin):
                where = dst
                digest.update(chunk)
                fout.write(chunk)
                size += len(chunk)
                if advance:
                    advance(len(chunk))
                where = src
            where = dst
            if local:
                fout.flush()
                os.fsync(fout.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError, NotImplementedError):
            dst_fs.rm_file(target)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = where
        raise
    return FileRecord(size=size, sha256=digest.hexdigest())


class Progress:
    """A byte counter that drives a rich progress bar when one is shown."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar = bar
        self._task = task

    def advance(self, n: int) -> None:
        """Count `n` more bytes."""
        if self._bar is not None:
            self._bar.advance(self._task, n)


def progress(
    description: str, total: int, *, show: bool | None = None
) -> AbstractContextManager[Progress]:
    """A rich progress bar on stderr for `total` bytes, or a silent counter.

    The bar shows when `total` is big (≥ 64 MiB) and stderr is a terminal, or when `show=True`;
    never when rich is not installed (the `[progress]` extra).
    """
    if show is None:
        show = total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    if not show:
        return nullcontext(Progress())
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress
    except ImportError:
        return nullcontext(Progress())
    return _rich_progress(
        RichProgress,
        Console,
        description,
        total,
        (BarColumn, DownloadColumn, TransferSpeedColumn, TimeRemainingColumn),
    )


class _rich_progress(AbstractContextManager[Progress]):
    def __init__(
        self, cls: Any, console: Any, description: str, total: int, columns: tuple[Any, ...]
    ) -> None:
        self._bar = cls(
            "[progress.description]{task.description}",
            *(c() for c in columns),
            console=console(stderr=True),
            transient=True,
        )
        self._description = description
        self._total = total

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return Progress(self._bar, self._bar.add_task(self._description, total=self._total))

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)
