"""Validation of artifact names, versions, aliases and `art://` URIs, before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nemotron.registry.errors import InvalidReferenceError

__all__ = [
    "ArtURI",
    "check_alias",
    "check_name",
    "format_uri",
    "parse_uri",
    "parse_version",
]

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_VERSION = re.compile(r"v?([1-9][0-9]*)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
MAX_NAME = 200
MAX_ALIAS = 64
RESERVED_ALIASES = frozenset({"latest"})


def check_name(name: object) -> str:
    """Return `name` if it is `/`-joined segments of `[A-Za-z0-9._-]`, else raise naming it."""
    if not isinstance(name, str):
        raise InvalidReferenceError(
            f"invalid artifact name {name!r}: expected a string, got {type(name).__name__}"
        )
    why = _name_problem(name)
    if why:
        raise InvalidReferenceError(f"invalid artifact name {name!r}: {why}")
    return name


def _name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    if name.startswith("/"):
        return "absolute paths are not names"
    for segment in name.split("/"):
        if not segment:
            return "empty segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return f"'{segment}' segments are not allowed"
        if not _SEGMENT.fullmatch(segment):
            bad = next(c for c in segment if not _SEGMENT.fullmatch(c))
            return (
                f"character {bad!r} is not allowed (use segments of A-Z a-z 0-9 . _ - joined by /)"
            )
    return None


def check_alias(alias: object) -> str:
    """Return a user alias (a letter, then `[A-Za-z0-9._-]`, not `latest` or `vN`), else raise."""
    if not isinstance(alias, str):
        raise InvalidReferenceError(
            f"invalid alias {alias!r}: expected a string, got {type(alias).__name__}"
        )
    if alias in RESERVED_ALIASES:
        raise InvalidReferenceError(
            f"invalid alias {alias!r}: 'latest' is kept by the registry (the newest version)"
        )
    if _VERSION.fullmatch(alias) or re.fullmatch(r"v?[0-9]+", alias):
        raise InvalidReferenceError(f"invalid alias {alias!r}: it reads as a version number")
    if len(alias) > MAX_ALIAS or not _ALIAS.fullmatch(alias):
        raise InvalidReferenceError(
            f"invalid alias {alias!r}: expected a letter then letters, digits, '.', '_' or '-'"
            f" (at most {MAX_ALIAS})"
        )
    return alias


def parse_version(version: object) -> int | str | None:
    """Normalise a version reference: `None`/`"latest"` → None, `3`/`"3"`/`"v3"` → 3, else alias."""
    if version is None or version == "latest":
        return None
    if isinstance(version, bool):
        raise InvalidReferenceError(f"invalid version {version!r}: expected a positive int")
    if isinstance(version, int):
        if version < 1:
            raise InvalidReferenceError(f"invalid version {version!r}: versions start at 1")
        return version
    if not isinstance(version, str):
        raise InvalidReferenceError(
            f"invalid version {version!r}: expected an int, 'vN', 'latest' or an alias"
        )
    match = _VERSION.fullmatch(version)
    if match:
        return int(match.group(1))
    if re.fullmatch(r"v?-?[0-9]+", version):
        raise InvalidReferenceError(
            f"invalid version {version!r}: expected 1, 2, … or v1, v2, … (versions start at 1)"
        )
    try:
        return check_alias(version)
    except InvalidReferenceError as exc:
        raise InvalidReferenceError(
            f"invalid version {version!r}: expected an int, 'vN', 'latest' or an alias"
        ) from exc


def check_external_uri(uri: str) -> str:
    """Return a non-`art://` lineage input (`hf://…`, `s3://…`, `https://…`) if it is a URL."""
    if not _SCHEME.match(uri) or any(ord(c) < 32 or c == "\x7f" or c.isspace() for c in uri):
        raise InvalidReferenceError(
            f"invalid input {uri!r}: expected an art:// URI or a URL such as hf://org/dataset"
        )
    return uri


@dataclass(frozen=True)
class ArtURI:
    """A parsed `art://name[:ref][/path]`; `ref` is None (latest), an int or an alias."""

    name: str
    ref: int | str | None = None
    path: str = ""
    explicit_ref: bool = False

    def __str__(self) -> str:
        return format_uri(self.name, self.ref, self.path)


def format_uri(name: str, ref: int | str | None = None, path: str = "") -> str:
    """The `art://` URI of a version (`art://name:v3`), an alias or latest, with an inner path."""
    text = f"art://{name}"
    if isinstance(ref, int):
        text += f":v{ref}"
    elif ref is not None:
        text += f":{ref}"
    return f"{text}/{path}" if path else text


def parse_uri(uri: object) -> ArtURI:
    """Parse `art://name[:vN|:N|:latest|:alias][/path/in/artifact]`, refusing anything else.

    Without a `:`, the whole path is the name (the caller may look for the longest registered
    prefix, see `ArtifactRegistry.split_path`); with one, the name ends at the `:`.
    """
    if not isinstance(uri, str):
        raise InvalidReferenceError(f"invalid art:// URI {uri!r}: expected a string")
    if not uri.startswith("art://"):
        raise InvalidReferenceError(f"invalid art:// URI {uri!r}: it must start with 'art://'")
    rest = uri[len("art://") :]
    if any(ord(c) < 32 or c == "\x7f" for c in rest):
        raise InvalidReferenceError(f"invalid art:// URI {uri!r}: control characters")
    if ":" not in rest:
        name, path, ref, explicit = rest.rstrip("/"), "", None, False
    else:
        name, _, tail = rest.partition(":")
        ref_text, _, path = tail.partition("/")
        if not ref_text:
            raise InvalidReferenceError(f"invalid art:// URI {uri!r}: empty version after ':'")
        try:
            ref = parse_version(ref_text)
        except InvalidReferenceError as exc:
            raise InvalidReferenceError(f"invalid art:// URI {uri!r}: {exc.message}") from exc
        explicit = True
    try:
        check_name(name)
    except InvalidReferenceError as exc:
        raise InvalidReferenceError(f"invalid art:// URI {uri!r}: {exc.message}") from exc
    path = path.rstrip("/")
    if path:
        check_inner_path(path, uri)
    return ArtURI(name, ref, path, explicit)


def check_inner_path(path: str, where: str) -> str:
    """Refuse a path inside an artifact that could leave it (`..`, absolute, control chars)."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise InvalidReferenceError(
            f"invalid path {path!r} in {where!r}: expected a relative path inside the artifact"
        )
    return path
