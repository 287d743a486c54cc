"""The few storage operations the registry needs, each with the strongest guarantee the backend has.

`create(path, data)` is the one that matters: it must succeed for exactly one of any number of
concurrent callers. Locally that is `link(2)` of a fully written temp file (atomic and exclusive,
like `O_EXCL`, but never visible half-written); on S3 a `PutObject` with `If-None-Match: *`; in
`memory://` a process lock around check-and-set.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from nemotron.registry.errors import BackendNotInstalledError, RegistryStorageError

__all__ = ["Storage", "open_fs"]

_EXTRAS = {"s3": "s3", "s3a": "s3", "wandb": "wandb"}
_MEMORY_LOCK = threading.Lock()


def open_fs(
    url: str, storage_options: dict[str, Any] | None = None
) -> tuple[AbstractFileSystem, str]:
    """`url_to_fs` with listings caches off (another process may have written since).

    A protocol whose package is missing is one line that names the `pip install`.
    """
    options = {"use_listings_cache": False, "skip_instance_cache": True, **(storage_options or {})}
    try:
        fs, path = url_to_fs(url, **options)
        return fs, str(path)
    except ImportError as exc:
        protocol = url.split("://", 1)[0] if "://" in url else "file"
        extra = _EXTRAS.get(protocol)
        fix = (
            f"pip install 'nemotron-registry[{extra}]'"
            if extra
            else f"install the fsspec implementation for '{protocol}://'"
        )
        raise BackendNotInstalledError(f"'{protocol}://' storage is not installed; {fix}") from exc
    except ValueError as exc:
        protocol = url.split("://", 1)[0]
        raise BackendNotInstalledError(
            f"unknown storage {protocol + '://'!r} in {url!r}: no fsspec implementation is"
            " registered for it"
        ) from exc


def _oserror(path: str, exc: BaseException) -> RegistryStorageError:
    what = (
        exc.strerror
        if isinstance(exc, OSError) and exc.strerror
        else str(exc) or type(exc).__name__
    )
    return RegistryStorageError(f"storage error at {path}: {what}")


class Storage:
    """A root on one fsspec filesystem, with exclusive create, atomic replace and tree removal."""

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/") if root not in ("/", "") else root
        self.local = isinstance(fs, LocalFileSystem)
        self.protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        # s3fs's cat_file asks for the size (a HEAD) before each GET, to split big reads over
        # `max_concurrency` ranges; the registry's own files are small: one GET each.
        self._read_options = _one_request(fs)

    def url(self, path: str) -> str:
        """The full URL of `path` (with its protocol, absolute for local files)."""
        return str(self.fs.unstrip_protocol(path))

    # -- reads -------------------------------------------------------------------------------
    def read(self, path: str) -> bytes | None:
        """The bytes at `path`, or None when nothing is there."""
        try:
            if self.local:
                with open(path, "rb") as f:
                    return f.read()
            return bytes(self.fs.cat_file(path, **self._read_options))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _oserror(path, exc) from exc

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        """The bytes at each of `paths` that exists (one batched request where the backend can)."""
        if not paths:
            return {}
        if self.local:
            found = {p: self.read(p) for p in paths}
            return {p: b for p, b in found.items() if b is not None}
        out = self.fs.cat(paths, on_error="return", **self._read_options)
        return {p: bytes(v) for p, v in out.items() if isinstance(v, (bytes, bytearray))}

    def exists(self, path: str) -> bool:
        """Whether a file (or directory) is at `path`."""
        if self.local:
            return os.path.exists(path)
        try:
            return bool(self.fs.exists(path))
        except OSError as exc:
            raise _oserror(path, exc) from exc

    def is_file(self, path: str) -> bool:
        """Whether a file is at `path`, in one request on object stores (a GET), found or not.

        s3fs's `exists` of a missing key costs two: a HEAD, then a listing for a "directory".
        """
        if self.local:
            return os.path.isfile(path)
        return self.read(path) is not None

    def listdir(self, path: str) -> list[str]:
        """Base names in the directory `path` (empty when it does not exist)."""
        try:
            if self.local:
                return os.listdir(path)
            return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _oserror(path, exc) from exc

    def find(self, path: str) -> Iterator[str]:
        """Every file below `path`, as paths relative to it (`/`-separated)."""
        base = path.rstrip("/")
        if self.local:
            for top, dirs, files in os.walk(base):
                dirs.sort()
                rel = os.path.relpath(top, base)
                for name in sorted(files):
                    yield name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
            return
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return
        for p in sorted(found):
            p = p.rstrip("/")
            if p.startswith(base + "/"):
                yield p[len(base) + 1 :]

    # -- writes ------------------------------------------------------------------------------
    def create(self, path: str, data: bytes) -> bool:
        """Write `data` at `path` unless something is there: True for one of many racing callers."""
        try:
            if self.local:
                return self._create_local(path, data)
            if self.protocol == "memory":
                with _MEMORY_LOCK:
                    if self.fs.exists(path):
                        return False
                    self.fs.pipe_file(path, data)
                    return True
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        except OSError as exc:
            raise _oserror(path, exc) from exc

    def _create_local(self, path: str, data: bytes) -> bool:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            self._write_local(tmp, data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            _fsync_dir(directory)
            return True
        finally:
            _unlink(tmp)

    def replace(self, path: str, data: bytes) -> None:
        """Write `data` at `path`, replacing what is there; readers see the old or the new whole."""
        try:
            if self.local:
                directory = os.path.dirname(path)
                os.makedirs(directory, exist_ok=True)
                tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
                try:
                    self._write_local(tmp, data)
                    os.replace(tmp, path)
                finally:
                    _unlink(tmp)
                _fsync_dir(directory)
            else:
                self.fs.pipe_file(path, data)
        except OSError as exc:
            raise _oserror(path, exc) from exc

    @staticmethod
    def _write_local(path: str, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self, path: str) -> bool:
        """Remove the file at `path`; False when nothing was there."""
        try:
            if self.local:
                os.unlink(path)
            else:
                if not self.fs.exists(path):
                    return False
                self.fs.rm_file(path)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _oserror(path, exc) from exc

    def remove_tree(self, path: str) -> None:
        """Remove `path` and everything below it; nothing there is fine."""
        try:
            if self.local:
                import shutil

                shutil.rmtree(path, ignore_errors=False)
            elif self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise _oserror(path, exc) from exc

    def makedirs(self, path: str) -> None:
        """Create the directory `path` where directories are real (locally); a no-op on stores."""
        if self.local:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as exc:
                raise _oserror(path, exc) from exc


def _one_request(fs: AbstractFileSystem) -> dict[str, Any]:
    """The `cat_file` options that read a small file in one request (s3fs: no concurrency)."""
    method = getattr(fs, "_cat_file", None) or getattr(fs, "cat_file", None)
    if method is None:
        return {}
    try:
        takes = "max_concurrency" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return {}
    return {"max_concurrency": 1} if takes else {}


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
