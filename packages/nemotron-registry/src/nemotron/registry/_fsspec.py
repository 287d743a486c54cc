"""The default backend: versions as folders on any fsspec URL, allocated without a global index.

Layout under the root, for an artifact `nano3/data` (segments never hold `@`, so the registry's
own entries cannot collide with a name):

    nano3/data/@versions/7.claim    marker: version 7 is taken (exclusive create, never removed)
    nano3/data/@versions/7/...      the copied files (absent for mode="reference")
    nano3/data/@versions/7.json     the manifest, written last: version 7 exists once it does
    nano3/data/@latest              a hint: some claimed version (speeds up finding the newest)
    nano3/data/@aliases/prod        {"version": 7}
    @names/nano3/data/@             the name, for `list()` (written after the first commit)

Claims are dense (a publisher claims one past the highest claim it saw), so the newest claim is
found from the hint with a few `exists` probes, and the newest version by stepping down from it
to the first manifest: no listing of versions, however many there are.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from fsspec import AbstractFileSystem

from nemotron.registry._backend import Mode
from nemotron.registry._storage import Storage, open_fs
from nemotron.registry._transfer import copy_file, hash_file, progress, scan_source
from nemotron.registry.errors import InvalidReferenceError, RegistryError, RegistryStorageError
from nemotron.registry.models import ArtifactVersion, FileRecord, utcnow

__all__ = ["FsspecBackend"]

_GUARANTEES = {
    "file": "exclusive link(2) of a complete temp file (POSIX; NFSv3+ included)",
    "memory": "a process lock (memory:// is one process's)",
    "s3": "conditional PutObject (If-None-Match: *)",
}


class FsspecBackend:
    """Versions, aliases and names as files under `root` on any fsspec filesystem."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        self.storage_options = dict(storage_options or {})
        fs, path = open_fs(root, self.storage_options)
        if (isinstance(fs.protocol, tuple) and "file" in fs.protocol) or fs.protocol == "file":
            path = os.path.abspath(path)
        self.store = Storage(fs, path)
        self.url = self.store.url(self.store.root)
        self.guarantee = _GUARANTEES.get(
            "file" if self.store.local else self.store.protocol,
            f"{type(fs).__name__}.pipe_file(mode='create') (whatever it guarantees)",
        )
        self._manifests: dict[tuple[str, int], ArtifactVersion] = {}
        self._marked: set[str] = set()  # names whose marker is known written (never removed)

    # -- paths -------------------------------------------------------------------------------
    def _dir(self, name: str) -> str:
        return f"{self.store.root}/{name}"

    def _claim(self, name: str, n: int) -> str:
        return f"{self._dir(name)}/@versions/{n}.claim"

    def _manifest(self, name: str, n: int) -> str:
        return f"{self._dir(name)}/@versions/{n}.json"

    def _data(self, name: str, n: int) -> str:
        return f"{self._dir(name)}/@versions/{n}"

    def _alias(self, name: str, alias: str) -> str:
        return f"{self._dir(name)}/@aliases/{alias}"

    def _marker(self, name: str) -> str:
        return f"{self.store.root}/@names/{name}/@"

    def filesystem(self, url: str) -> tuple[AbstractFileSystem, str]:
        """Read URLs under the root through the root's filesystem, others through their own."""
        root = self.url.rstrip("/")
        if url == root or url.startswith(root + "/"):
            return self.store.fs, self.store.root + url[len(root) :]
        same = url.split("://", 1)[0] == self.url.split("://", 1)[0]
        return open_fs(url, self.storage_options if same else None)

    # -- reading -----------------------------------------------------------------------------
    def version(self, name: str, version: int) -> ArtifactVersion | None:
        """The manifest of `version` (immutable once written, so kept once read)."""
        key = (name, version)
        if key in self._manifests:
            return self._manifests[key]
        raw = self.store.read(self._manifest(name, version))
        if raw is None:
            return None
        parsed = self._parse(raw, self._manifest(name, version))
        self._manifests[key] = parsed
        return parsed

    @staticmethod
    def _parse(raw: bytes, where: str) -> ArtifactVersion:
        try:
            return ArtifactVersion.model_validate_json(raw)
        except ValueError as exc:
            raise RegistryError(f"unreadable manifest {where}: {str(exc).splitlines()[0]}") from exc

    def versions(self, name: str) -> list[ArtifactVersion]:
        """Every committed version, read in one batch."""
        folder = f"{self._dir(name)}/@versions"
        numbers = sorted(
            int(entry[:-5])
            for entry in self.store.listdir(folder)
            if entry.endswith(".json") and entry[:-5].isdigit()
        )
        paths = {self._manifest(name, n): n for n in numbers}
        found = self.store.read_many(list(paths))
        return [self._parse(found[p], p) for p in paths if p in found]

    def _hint(self, name: str) -> int:
        raw = self.store.read(f"{self._dir(name)}/@latest")
        try:
            return max(int(raw or b"0"), 0)
        except ValueError:
            return 0

    def _top_claim(self, name: str, start: int | None = None) -> int:
        """The highest claimed version (0 if none): gallop up from the hint, then bisect."""
        lo = self._hint(name) if start is None else start
        if lo and not self.store.is_file(self._claim(name, lo)):
            lo = 0
        step, hi = 1, lo + 1
        while self.store.is_file(self._claim(name, hi)):
            lo, step = hi, step * 2
            hi = lo + step
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.store.is_file(self._claim(name, mid)):
                lo = mid
            else:
                hi = mid
        return lo

    def latest(self, name: str) -> int | None:
        """The highest version with a manifest, stepping down from the highest claim."""
        n = self._top_claim(name)
        while n > 0:
            if self.version(name, n) is not None:
                return n
            n -= 1
        return None

    def exists(self, name: str) -> bool:
        """Whether `name` was ever committed (its name marker, else a scan down from the top)."""
        return self.store.exists(self._marker(name)) or self.latest(name) is not None

    def names(self, prefix: str) -> list[str]:
        """Names with a marker under `@names/`, filtered by `prefix`."""
        base = f"{self.store.root}/@names"
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = f"{base}/{folder}" if folder else base
        out = []
        for rel in self.store.find(start):
            if rel == "@" or rel.endswith("/@"):
                name = f"{folder}/{rel[:-2]}".strip("/") if rel != "@" else folder
                if name.startswith(prefix):
                    out.append(name)
        return sorted(out)

    def aliases(self, name: str) -> dict[str, int]:
        """User aliases → versions."""
        folder = f"{self._dir(name)}/@aliases"
        entries = [e for e in self.store.listdir(folder) if ".tmp-" not in e]
        found = self.store.read_many([f"{folder}/{e}" for e in entries])
        out: dict[str, int] = {}
        for path, raw in found.items():
            try:
                out[path.rsplit("/", 1)[-1]] = int(json.loads(raw)["version"])
            except (ValueError, KeyError, TypeError):
                continue
        return dict(sorted(out.items()))

    # -- writing -----------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point `alias` at `version` (replacing any earlier target)."""
        self.store.replace(self._alias(name, alias), json.dumps({"version": version}).encode())

    def remove_alias(self, name: str, alias: str) -> bool:
        """Remove `alias`; False when it was not set."""
        return self.store.remove(self._alias(name, alias))

    def _claim_next(self, name: str, token: str) -> int:
        """Take the next free version number: exclusive create, one past the highest claim seen."""
        body = json.dumps(
            {
                "token": token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "pid_start": _pid_start(os.getpid()),
                "claimed_at": utcnow().isoformat(),
            }
        ).encode()
        n = self._top_claim(name) + 1
        while not self.store.create(self._claim(name, n), body):
            n = self._top_claim(name, n) + 1
        return n

    def publish(
        self,
        name: str,
        source: str,
        *,
        metadata: dict[str, Any],
        inputs: Sequence[str],
        mode: Mode,
        producer: str,
        show_progress: bool | None = None,
    ) -> ArtifactVersion:
        """Claim a version, copy (or checksum) the files, then commit the manifest, last."""
        src_fs, src_path = open_fs(source)
        try:
            kind, files = scan_source(src_fs, src_path)
        except FileNotFoundError:
            raise InvalidReferenceError(
                f"cannot publish {source!r}: no such file or directory"
            ) from None
        except OSError as exc:
            raise RegistryStorageError(f"cannot read {source!r}: {exc}") from exc
        token = uuid.uuid4().hex
        n = self._claim_next(name, token)
        self._reap_below(name, n)
        data = self._data(name, n)
        try:
            records = self._store_files(src_fs, files, data, kind, mode, name, n, show_progress)
            if mode == "copy":
                url = self.store.url(data if kind == "dir" else f"{data}/{files[0].relpath}")
            else:
                url = str(src_fs.unstrip_protocol(src_path))
            version = ArtifactVersion(
                name=name,
                version=n,
                url=url,
                producer=producer,
                metadata=metadata,
                files=records,
                inputs=list(inputs),
                mode=mode,
                kind=kind,
            )
            body = version.model_dump_json(exclude={"aliases"}, indent=1).encode()
            if not self.store.create(self._manifest(name, n), body):
                raise RegistryError(f"version {n} of {name!r} was committed by someone else")
        except BaseException as exc:
            self._abort(name, n, token)
            if isinstance(exc, OSError) and not isinstance(exc, RegistryError):
                raise RegistryStorageError(
                    f"publishing {name!r} v{n} failed: {exc.strerror or exc}"
                    + (f" ({exc.filename})" if getattr(exc, "filename", None) else "")
                ) from exc
            raise
        # what `version()` would read back (the manifest is immutable): no GET for it later
        self._manifests[(name, n)] = self._parse(body, self._manifest(name, n))
        self._after_commit(name, n)
        return version

    def _store_files(
        self,
        src_fs: AbstractFileSystem,
        files: list[Any],
        data: str,
        kind: Literal["file", "dir"],
        mode: Mode,
        name: str,
        n: int,
        show_progress: bool | None,
    ) -> dict[str, FileRecord]:
        records: dict[str, FileRecord] = {}
        total = sum(f.size for f in files)
        verb = "publishing" if mode == "copy" else "checksumming"
        with progress(f"{verb} {name}:v{n}", total, show=show_progress) as bar:
            if mode == "copy":
                self.store.makedirs(data)
                for f in files:
                    dst = f"{data}/{f.relpath}"
                    records[f.relpath] = copy_file(src_fs, f.path, self.store.fs, dst, bar.advance)
            else:
                for f in files:
                    records[f.relpath] = hash_file(src_fs, f.path, bar.advance)
        return records

    def _after_commit(self, name: str, n: int) -> None:
        """Best-effort bookkeeping after the commit: the newest-claim hint and the name marker."""
        try:
            if self._hint(name) < n:
                self.store.replace(f"{self._dir(name)}/@latest", str(n).encode())
            if name not in self._marked and not self.store.is_file(self._marker(name)):
                self.store.replace(self._marker(name), b"")
            self._marked.add(name)
        except RegistryError:
            pass  # the version is committed; hints and markers are rebuilt by the next publish

    def _abort(self, name: str, n: int, token: str) -> None:
        """Undo an uncommitted version: its files go, its claim stays (numbers are never reused)."""
        try:
            self.store.remove_tree(self._data(name, n))
            self.store.replace(
                self._claim(name, n),
                json.dumps({"token": token, "aborted": True, "at": utcnow().isoformat()}).encode(),
            )
        except (RegistryError, OSError):
            pass

    def _reap_below(self, name: str, n: int) -> None:
        """Remove the files of uncommitted versions just below `n` whose publisher died here."""
        k = n - 1
        while k > 0:
            raw = self.store.read(self._claim(name, k))
            if raw is None or self.version(name, k) is not None:
                return
            try:
                claim = json.loads(raw)
            except ValueError:
                claim = {}
            if not claim.get("aborted") and _dead_here(claim):
                self._abort(name, k, str(claim.get("token", "")))
            k -= 1


def _pid_start(pid: int) -> str | None:
    """The start time of process `pid` (field 22 of /proc/PID/stat), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _dead_here(claim: dict[str, Any]) -> bool:
    """Whether the claim's publisher ran on this host and is gone."""
    if claim.get("host") != socket.gethostname() or not isinstance(claim.get("pid"), int):
        return False
    pid = claim["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return claim.get("pid_start") is not None and _pid_start(pid) != claim.get("pid_start")
