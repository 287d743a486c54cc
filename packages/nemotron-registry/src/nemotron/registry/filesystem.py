"""`art://name[:vN|:latest|:alias][/path]` as a read-only fsspec filesystem.

Registered through the `fsspec.specs` entry point, so `fsspec.open("art://data:latest/x.json")`
works in any process; it reads through the default registry (`nemotron.kit.init()`, else
`$NEMOTRON_REGISTRY`). Listings and sizes come from the version's manifest, bytes from its files.
"""

from __future__ import annotations

from typing import Any

from fsspec import AbstractFileSystem

from nemotron.registry.errors import RegistryError
from nemotron.registry.models import ArtifactVersion
from nemotron.registry.registry import ArtifactRegistry

__all__ = ["ArtifactFileSystem"]


class ArtifactFileSystem(AbstractFileSystem):
    """Read-only view of registry versions; writes raise `PermissionError`."""

    protocol = "art"
    root_marker = ""
    cachable = False

    def __init__(self, registry: ArtifactRegistry | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._registry = registry

    @property
    def registry(self) -> ArtifactRegistry:
        """The registry read through: the one given, else the process default."""
        if self._registry is not None:
            return self._registry
        from nemotron.registry.default import get_default_registry

        return get_default_registry()

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        path = path[len("art://") :] if path.startswith("art://") else path
        return path.rstrip("/")

    def unstrip_protocol(self, name: str) -> str:
        """`art://` + path."""
        return f"art://{self._strip_protocol(name)}"

    def _locate(self, path: str) -> tuple[ArtifactVersion, str]:
        try:
            return self.registry.split(self._strip_protocol(path))
        except RegistryError as exc:
            raise FileNotFoundError(exc.message) from exc

    def _entries(self, version: ArtifactVersion, inner: str) -> list[dict[str, Any]]:
        base = version.uri[len("art://") :]
        if inner and inner in version.files:
            return [self._file_info(base, inner, version)]
        prefix = f"{inner}/" if inner else ""
        seen: dict[str, dict[str, Any]] = {}
        for rel in version.files:
            if not rel.startswith(prefix):
                continue
            head, _, rest = rel[len(prefix) :].partition("/")
            key = f"{prefix}{head}"
            if rest:
                seen.setdefault(key, {"name": f"{base}/{key}", "size": 0, "type": "directory"})
            else:
                seen[key] = self._file_info(base, key, version)
        if inner and not seen:
            raise FileNotFoundError(f"art://{base}/{inner}: no such file in {version.uri}")
        return [seen[k] for k in sorted(seen)]

    @staticmethod
    def _file_info(base: str, rel: str, version: ArtifactVersion) -> dict[str, Any]:
        record = version.files[rel]
        return {
            "name": f"{base}/{rel}",
            "size": record.size,
            "type": "file",
            "sha256": record.sha256,
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Files and folders of a version (from its manifest)."""
        version, inner = self._locate(path)
        if not inner and version.kind == "file":
            inner = next(iter(version.files))
        entries = self._entries(version, inner)
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Name, size and type of a file or folder inside a version."""
        version, inner = self._locate(path)
        if not inner:
            if version.kind == "file":
                return self._file_info(version.uri[6:], next(iter(version.files)), version)
            return {"name": version.uri[6:], "size": version.total_size, "type": "directory"}
        if inner in version.files:
            return self._file_info(version.uri[6:], inner, version)
        self._entries(version, inner)  # raises when nothing is below `inner`
        return {"name": f"{version.uri[6:]}/{inner}", "size": 0, "type": "directory"}

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> Any:
        if mode != "rb":
            raise PermissionError(f"art:// is read-only: cannot open {path!r} with mode {mode!r}")
        version, inner = self._locate(path)
        if not inner and version.kind == "file":
            inner = next(iter(version.files))
        if inner not in version.files:
            raise FileNotFoundError(
                f"art://{self._strip_protocol(path)}: not a file of {version.uri}"
            )
        fs, real = self.registry._backend.filesystem(version.file_url(inner))
        return fs.open(real, "rb", **kwargs)

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(
            "art:// is read-only: publish new versions with ArtifactRegistry.publish"
        )

    mkdir = makedirs = rm = rm_file = rmdir = pipe_file = put_file = cp_file = mv = touch = _refuse
