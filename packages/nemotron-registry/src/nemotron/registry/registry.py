"""`ArtifactRegistry`: publish, resolve, alias, verify, download and trace versioned artifacts."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nemotron.registry._backend import Backend, Mode, load_backend
from nemotron.registry._names import (
    check_alias,
    check_external_uri,
    check_inner_path,
    check_name,
    format_uri,
    parse_uri,
    parse_version,
)
from nemotron.registry._transfer import copy_file, hash_file
from nemotron.registry._transfer import progress as progress_bar
from nemotron.registry.errors import (
    ArtifactNotFoundError,
    ArtifactVersionNotFoundError,
    InvalidReferenceError,
    RegistryError,
    RegistryStorageError,
)
from nemotron.registry.models import (
    ArtifactEntry,
    ArtifactVersion,
    Lineage,
    LineageNode,
    VerifyReport,
)

__all__ = ["ArtifactRegistry", "cache_dir"]

VersionRef = int | str | None


def cache_dir() -> Path:
    """Where downloads from remote roots are kept: `$NEMOTRON_CACHE_DIR`, else the XDG cache."""
    env = os.environ.get("NEMOTRON_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nemotron" / "registry"


class ArtifactRegistry:
    """Named, numbered, checksummed artifact versions with lineage, on any fsspec URL or W&B.

    Every call reads the storage afresh, so other instances and processes on the same root see
    each publish and alias at once. Versions are 1, 2, 3… per name; `latest` is the newest.

    Example:
        >>> registry = ArtifactRegistry("/data/registry")  # or "s3://bucket/prefix", "memory://r"
        >>> v = registry.publish("nano3/data", "/tmp/blend", metadata={"tokens": 10})
        >>> registry.resolve("nano3/data", "latest").version
        1
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        storage_options: dict[str, Any] | None = None,
        backend: str | None = None,
        **backend_options: Any,
    ) -> None:
        text = os.fspath(root)
        if not text:
            raise InvalidReferenceError("invalid registry root '': expected a path or a URL")
        if backend is None:
            backend = "wandb" if text.startswith("wandb://") else "fsspec"
        cls = load_backend(backend)
        self.backend_name = backend
        self._backend: Backend = cls(text, storage_options, **backend_options)  # type: ignore[call-arg]

    @property
    def root(self) -> str:
        """The registry's URL (absolute, with its protocol)."""
        return self._backend.url

    @property
    def guarantee(self) -> str:
        """What makes concurrent publishes safe on this root's storage."""
        return self._backend.guarantee

    def __repr__(self) -> str:
        return f"ArtifactRegistry({self.root!r})"

    # -- publishing --------------------------------------------------------------------------
    def publish(
        self,
        name: str,
        source: str | os.PathLike[str],
        *,
        metadata: dict[str, Any] | None = None,
        inputs: Iterable[str | ArtifactVersion] = (),
        mode: Mode = "copy",
        producer: str | None = None,
        progress: bool | None = None,
    ) -> ArtifactVersion:
        """Publish a file or a directory tree as the next version of `name`.

        `mode="copy"` copies the files under the registry; `"reference"` records the source's
        URL and checksums without copying. `inputs` (`art://` URIs, pinned to the version they
        name now, or external URLs) become the version's lineage. The version is visible whole
        or not at all: data first, its manifest last.
        """
        check_name(name)
        if mode not in ("copy", "reference"):
            raise InvalidReferenceError(f"invalid mode {mode!r}: expected 'copy' or 'reference'")
        meta = dict(metadata or {})
        try:
            json.dumps(meta, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidReferenceError(f"metadata of {name!r} is not JSON: {exc}") from None
        src = os.fspath(source)
        if not src:
            raise InvalidReferenceError("cannot publish '': expected a file or directory")
        pinned = [self._pin(i) for i in inputs]
        version = self._backend.publish(
            name,
            src,
            metadata=meta,
            inputs=list(dict.fromkeys(pinned)),
            mode=mode,
            producer=producer or "local",
            show_progress=progress,
        )
        # version 0: numbered later (an offline W&B run), so not known to be the latest
        latest = version.version and self._backend.latest(name) == version.version
        version.aliases = ["latest"] if latest else []
        return version

    def _pin(self, ref: str | ArtifactVersion) -> str:
        """An input as recorded in lineage: `art://name:vN` of the version it names now."""
        if isinstance(ref, ArtifactVersion):
            return ref.uri
        if not isinstance(ref, str):
            raise InvalidReferenceError(f"invalid input {ref!r}: expected an art:// URI or a URL")
        if not ref.startswith("art://"):
            return check_external_uri(ref)
        parsed = parse_uri(ref)
        if parsed.explicit_ref and isinstance(parsed.ref, int):
            pinned = format_uri(parsed.name, parsed.ref)
            try:
                found = self._backend.version(parsed.name, parsed.ref)
            except RegistryError:
                if self.backend_name == "fsspec":
                    raise
                return pinned  # a backend that cannot look it up now (W&B offline) keeps the pin
            if found is None:
                raise ArtifactVersionNotFoundError(parsed.name, parsed.ref)
            return pinned
        version, _ = self.split(ref)
        return version.uri

    # -- resolving ---------------------------------------------------------------------------
    def resolve(self, name: str, version: VersionRef = None) -> ArtifactVersion:
        """Version `version` of `name`: None/`"latest"` (newest), `3`, `"v3"`, `"3"` or an alias."""
        check_name(name)
        ref = parse_version(version)
        backend = self._backend
        latest = backend.latest(name)
        if ref is None:
            if latest is None:
                raise ArtifactNotFoundError(name)
            number = latest
        elif isinstance(ref, int):
            number = ref
        else:
            target = backend.aliases(name).get(ref)
            if target is None:
                self._require(name, latest)
                raise ArtifactVersionNotFoundError(
                    name, ref, f"artifact '{name}' has no alias '{ref}'"
                )
            number = target
        found = backend.version(name, number)
        if found is None:
            self._require(name, latest)
            raise ArtifactVersionNotFoundError(name, number)
        return self._with_aliases(found, latest)

    def _require(self, name: str, latest: int | None) -> None:
        if latest is None and not self._backend.exists(name):
            raise ArtifactNotFoundError(name)

    def _with_aliases(self, version: ArtifactVersion, latest: int | None) -> ArtifactVersion:
        aliases = [
            a for a, n in self._backend.aliases(version.name).items() if n == version.version
        ]
        if latest == version.version:
            aliases.insert(0, "latest")
        return version.model_copy(update={"aliases": aliases})

    def split(self, uri: str) -> tuple[ArtifactVersion, str]:
        """Resolve `art://name[:ref][/path]` to its version and the path inside it.

        Without a `:ref`, the name is the longest registered prefix of the path (latest version).
        """
        if not isinstance(uri, str) or ("://" in uri and not uri.startswith("art://")):
            raise InvalidReferenceError(f"invalid art:// URI {uri!r}: it must start with 'art://'")
        parsed = parse_uri(uri if uri.startswith("art://") else f"art://{uri}")
        if parsed.explicit_ref:
            return self.resolve(parsed.name, parsed.ref), parsed.path
        segments = parsed.name.split("/")
        for cut in range(len(segments), 0, -1):
            name = "/".join(segments[:cut])
            if self._backend.exists(name):
                path = "/".join(segments[cut:])
                if path:
                    check_inner_path(path, uri)
                return self.resolve(name), path
        raise ArtifactNotFoundError(parsed.name)

    def get(self, name: str) -> ArtifactEntry | None:
        """Every version and alias of `name`, or None when it was never published."""
        check_name(name)
        versions = self._backend.versions(name)
        if not versions:
            return None
        aliases = self._backend.aliases(name)
        latest = max(v.version for v in versions)
        by_version: dict[int, builtins.list[str]] = {}
        for alias, n in aliases.items():
            by_version.setdefault(n, []).append(alias)
        by_version.setdefault(latest, []).insert(0, "latest")
        versions = [
            v.model_copy(update={"aliases": by_version.get(v.version, [])}) for v in versions
        ]
        return ArtifactEntry(name=name, versions=versions, aliases={"latest": latest, **aliases})

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Names of published artifacts that start with `prefix`, sorted."""
        if not isinstance(prefix, str) or any(ord(c) < 32 for c in prefix) or ".." in prefix:
            raise InvalidReferenceError(f"invalid prefix {prefix!r}: expected the start of a name")
        if prefix.startswith("/"):
            raise InvalidReferenceError(f"invalid prefix {prefix!r}: names are relative")
        return self._backend.names(prefix)

    # -- aliases -----------------------------------------------------------------------------
    def alias(self, name: str, alias: str, version: int | str) -> ArtifactVersion:
        """Point `alias` (`prod`, `best`…; not `latest`) at an existing version of `name`."""
        check_name(name)
        check_alias(alias)
        target = self.resolve(name, version)
        self._backend.set_alias(name, alias, target.version)
        return self.resolve(name, target.version)

    def remove_alias(self, name: str, alias: str) -> None:
        """Remove a user alias; an alias that is not set is an error naming it."""
        check_name(name)
        check_alias(alias)
        if not self._backend.remove_alias(name, alias):
            self._require(name, self._backend.latest(name))
            raise ArtifactVersionNotFoundError(
                name, alias, f"artifact '{name}' has no alias '{alias}'"
            )

    # -- checking and reading ----------------------------------------------------------------
    def verify(self, name: str, version: VersionRef = None) -> VerifyReport:
        """Recompute every file's size and SHA-256; the report's `ok` and what differs."""
        v = self.resolve(name, version)
        report = VerifyReport(name=name, version=v.version, ok=True)
        for rel, record in v.files.items():
            fs, path = self._backend.filesystem(v.file_url(rel))
            try:
                got = hash_file(fs, path)
            except FileNotFoundError:
                report.missing.append(rel)
                continue
            report.checked += 1
            if got != record:
                report.changed.append(rel)
        if v.mode == "copy" and v.kind == "dir":
            fs, base = self._backend.filesystem(v.url)
            base = base.rstrip("/")
            try:
                present = {p.rstrip("/")[len(base) + 1 :] for p in fs.find(base)}
            except FileNotFoundError:
                present = set()
            report.extra = sorted(present - set(v.files))
        report.ok = not (report.missing or report.changed or report.extra)
        return report

    def download(
        self,
        name: str,
        version: VersionRef = None,
        dest: str | os.PathLike[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> Path:
        """Local files of a version: copied into `dest`, or (no `dest`) where they already are.

        A local root's copied version is read in place; a remote one goes to a local cache
        (`cache_dir()`) first, checked against its checksums, and is reused by later calls.
        Returns the directory (or, for a one-file artifact, the file) to read.
        """
        v = self.resolve(name, version)
        local = self._local_path(v)
        if local is None:
            local = self._cached(v, progress)
        if dest is None:
            return local
        target = Path(dest)
        self._copy_local(v, local, target)
        return target / next(iter(v.files)) if v.kind == "file" else target

    def _local_path(self, v: ArtifactVersion) -> Path | None:
        if v.url.startswith("file://"):
            return Path(v.url[len("file://") :])
        return None

    def _cached(self, v: ArtifactVersion, show: bool | None) -> Path:
        key = hashlib.sha256(self.root.encode()).hexdigest()[:16]
        folder = cache_dir() / key / v.name / f"v{v.version}"
        done = folder / ".complete"
        if not done.exists():
            partial = folder.with_name(f".v{v.version}.partial-{os.getpid()}")
            shutil.rmtree(partial, ignore_errors=True)
            from fsspec.implementations.local import LocalFileSystem

            local = LocalFileSystem()
            try:
                with progress_bar(
                    f"downloading {v.name}:v{v.version}", v.total_size, show=show
                ) as bar:
                    for rel, record in v.files.items():
                        fs, path = self._backend.filesystem(v.file_url(rel))
                        got = copy_file(fs, path, local, str(partial / rel), bar.advance)
                        if got != record:
                            raise RegistryError(
                                f"art://{v.name}:v{v.version}/{rel} does not match its checksum;"
                                f" run verify"
                            )
                (partial / ".complete").write_text(v.model_dump_json())
                folder.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(partial, folder)
                except OSError:
                    if not done.exists():
                        raise
            except OSError as exc:
                raise RegistryStorageError(f"download of {v.uri} failed: {exc}") from exc
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        return folder / next(iter(v.files)) if v.kind == "file" else folder

    def _copy_local(self, v: ArtifactVersion, src: Path, dest: Path) -> None:
        base = src.parent if v.kind == "file" else src
        try:
            for rel in v.files:
                out = dest / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(f".{out.name}.part-{os.getpid()}")
                try:
                    shutil.copyfile(base / rel, tmp)
                    os.replace(tmp, out)
                finally:
                    tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise RegistryStorageError(f"download of {v.uri} into {dest} failed: {exc}") from exc

    def open(self, uri: str, mode: str = "rb") -> Any:
        """Open a file inside a version by its `art://` URI, read-only."""
        if any(c in mode for c in "wax+"):
            raise InvalidReferenceError(
                f"art:// files are read-only; cannot open with mode {mode!r}"
            )
        v, path = self.split(uri)
        if not path:
            if v.kind != "file":
                raise IsADirectoryError(f"{uri} is a directory; name a file inside it")
            path = next(iter(v.files))
        if path not in v.files:
            raise FileNotFoundError(f"{uri}: no file {path!r} in {v.uri}")
        fs, real = self._backend.filesystem(v.file_url(path))
        return fs.open(real, mode)

    # -- lineage -----------------------------------------------------------------------------
    def lineage(self, name: str, version: VersionRef = None) -> Lineage:
        """The upstream graph of a version: its inputs, their inputs, down to external data."""
        start = self.resolve(name, version)
        graph = Lineage(root=start.uri)
        queue = [start]
        graph.nodes[start.uri] = LineageNode(uri=start.uri, version=start, inputs=start.inputs)
        while queue:
            current = queue.pop(0)
            for uri in current.inputs:
                if uri in graph.nodes:
                    continue
                if not uri.startswith("art://"):
                    graph.nodes[uri] = LineageNode(uri=uri)
                    continue
                parsed = parse_uri(uri)
                found = (
                    self._backend.version(parsed.name, parsed.ref)
                    if isinstance(parsed.ref, int)
                    else None
                )
                if found is None:
                    graph.nodes[uri] = LineageNode(uri=uri, missing=True)
                    continue
                graph.nodes[uri] = LineageNode(uri=uri, version=found, inputs=found.inputs)
                queue.append(found)
        return graph
