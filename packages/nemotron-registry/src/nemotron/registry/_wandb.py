"""The W&B backend: versions as W&B artifacts (files by reference or uploaded), lineage in metadata.

`ArtifactRegistry("wandb://ENTITY/PROJECT")` (or `"wandb://PROJECT"`, the default entity)
publishes `nano3/data` as the W&B artifact `nano3.data`: W&B names cannot hold `/`, so each `/`
becomes `.`, and the artifact's metadata keeps the real name (`nemotron_name`, checked when
resolving: two names that map to one W&B name collide), the lineage (`nemotron_inputs`), the
producer and every file's size and SHA-256 (`nemotron_files`), next to the user's own metadata.

Versions: W&B's server numbers each artifact collection v0, v1, …; version N here is W&B's
v(N-1). With `WANDB_MODE=offline` a publish goes into the offline run and has no number until
that run is synced: the returned version is 0 ("assigned when the offline run is synced") and
its `url` names the run directory. Reading (resolve, aliases, list) needs the W&B server:
offline it fails with one line.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from nemotron.registry._backend import Mode
from nemotron.registry._names import check_alias, parse_uri
from nemotron.registry._storage import open_fs
from nemotron.registry._transfer import copy_file, hash_file, progress, scan_source
from nemotron.registry.errors import (
    BackendNotInstalledError,
    InvalidReferenceError,
    RegistryError,
    RegistryStorageError,
)
from nemotron.registry.models import ArtifactVersion, FileRecord, utcnow

__all__ = ["WandbBackend", "wandb_name"]

_PART = re.compile(r"[A-Za-z0-9._-]+")
_REFERENCE_SCHEMES = ("file", "s3", "gs", "http", "https")
_OFFLINE_MODES = ("offline", "dryrun", "disabled")
_KEYS = ("name", "inputs", "producer", "files", "mode", "kind")
MAX_WANDB_NAME = 128
Kind = Literal["dir", "file"]


def _import_wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise BackendNotInstalledError(
            "the W&B registry backend needs wandb; pip install 'nemotron-registry[wandb]'"
        ) from None
    return wandb


def _line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def wandb_name(name: str) -> str:
    """The W&B artifact name of `name`: each `/` becomes `.` (`nano3/data` → `nano3.data`)."""
    return name.replace("/", ".")


class WandbBackend:
    """Versions as W&B artifacts in one project: published through a run, read through `wandb.Api`.

    Args:
        root: `wandb://ENTITY/PROJECT` or `wandb://PROJECT`; anything else needs `project=`.
        storage_options: fsspec options for the storage that referenced files live on.
        project: The W&B project (default: from `root`, else `$WANDB_PROJECT`).
        entity: The W&B entity (default: from `root`, else `$WANDB_ENTITY`, else W&B's default).
    """

    guarantee = (
        "W&B's server allocates versions (sequential v0, v1, … per artifact collection;"
        " version N here is W&B's v(N-1))"
    )

    def __init__(
        self,
        root: str,
        storage_options: dict[str, Any] | None = None,
        *,
        project: str | None = None,
        entity: str | None = None,
    ) -> None:
        self._wandb = _import_wandb()
        self.storage_options = dict(storage_options or {})
        url_entity, url_project = self._parse_root(root)
        for label, given, parsed in (
            ("project", project, url_project),
            ("entity", entity, url_entity),
        ):
            if given is not None and parsed is not None and given != parsed:
                raise InvalidReferenceError(
                    f"W&B registry {root!r} names {label} {parsed!r}, but {label}={given!r}"
                )
        self.project = project or url_project or os.environ.get("WANDB_PROJECT") or ""
        self.entity = entity or url_entity or os.environ.get("WANDB_ENTITY") or None
        for label, value in (("project", self.project), ("entity", self.entity)):
            if value is not None and not _PART.fullmatch(value):
                raise InvalidReferenceError(
                    f"invalid W&B {label} {value!r} for registry {root!r}: expected"
                    " A-Z a-z 0-9 . _ - (use wandb://ENTITY/PROJECT or project=...)"
                )
        self.url = (
            f"wandb://{self.entity}/{self.project}" if self.entity else f"wandb://{self.project}"
        )
        self._prefix = f"{self.entity}/{self.project}/" if self.entity else f"{self.project}/"
        self._api_obj: Any = None
        self._pinned: dict[str, Any] = {}

    @staticmethod
    def _parse_root(root: str) -> tuple[str | None, str | None]:
        if not root.startswith("wandb://"):
            return None, None
        parts = root[len("wandb://") :].strip("/").split("/")
        if len(parts) == 1 and parts[0]:
            return None, parts[0]
        if len(parts) == 2 and all(parts):
            return parts[0], parts[1]
        raise InvalidReferenceError(
            f"invalid W&B registry {root!r}: expected wandb://ENTITY/PROJECT or wandb://PROJECT"
        )

    # -- publishing --------------------------------------------------------------------------
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
        """Log `source` as a new version of the W&B artifact `wandb_name(name)` from a run.

        The active `wandb.run` logs it when there is one (it must be in this registry's
        project); otherwise a `nemotron-publish` run is started and finished around it.
        `mode="reference"` records each file's URL (`file://`, `s3://`, `gs://`, `http(s)://`),
        `"copy"` uploads the files. Offline, the version is 0 until the run is synced.
        """
        wname = wandb_name(name)
        reserved = sorted(k for k in metadata if k.startswith("nemotron_"))
        if reserved:
            raise InvalidReferenceError(
                f"metadata of {name!r} uses {reserved[0]!r}: the W&B backend keeps nemotron_* keys"
            )
        if len(wname) > MAX_WANDB_NAME:
            raise InvalidReferenceError(
                f"invalid artifact name {name!r} for W&B: longer than {MAX_WANDB_NAME} characters"
            )
        kind_of = metadata.get("type", "artifact")
        if not isinstance(kind_of, str) or not _PART.fullmatch(kind_of) or len(kind_of) > 64:
            raise InvalidReferenceError(
                f"invalid W&B artifact type {kind_of!r} (metadata 'type' of {name!r}):"
                " expected A-Z a-z 0-9 . _ - (at most 64)"
            )
        artifact = self._wandb.Artifact(name=wname, type=kind_of, metadata={})
        kind, records = self._add_files(artifact, name, source, mode, show_progress)
        artifact.metadata = {
            **metadata,
            "nemotron_name": name,
            "nemotron_inputs": list(inputs),
            "nemotron_producer": producer,
            "nemotron_files": {rel: r.model_dump() for rel, r in records.items()},
            "nemotron_mode": mode,
            "nemotron_kind": kind,
        }
        number, url = self._log(artifact, wname, inputs)
        return ArtifactVersion(
            name=name, version=number, url=url, producer=producer, metadata=metadata,
            files=records, inputs=list(inputs), mode=mode, kind=kind,
        )  # fmt: skip

    def _add_files(
        self, artifact: Any, name: str, source: str, mode: Mode, show_progress: bool | None
    ) -> tuple[Kind, dict[str, FileRecord]]:
        """Add the files of `source` to `artifact` (references or staged copies) and hash them."""
        src_fs, src_path = open_fs(source)
        try:
            found, files = scan_source(src_fs, src_path)
        except FileNotFoundError:
            raise InvalidReferenceError(
                f"cannot publish {source!r}: no such file or directory"
            ) from None
        except OSError as exc:
            raise RegistryStorageError(f"cannot read {source!r}: {exc}") from exc
        scheme = str(src_fs.unstrip_protocol(src_path)).split("://", 1)[0]
        if mode == "reference" and scheme not in _REFERENCE_SCHEMES:
            raise InvalidReferenceError(
                f"cannot publish {source!r} by reference to W&B: W&B reads only"
                f" {', '.join(s + '://' for s in _REFERENCE_SCHEMES)} references; use mode='copy'"
            )
        local = isinstance(src_fs, LocalFileSystem)
        records: dict[str, FileRecord] = {}
        total = sum(f.size for f in files)
        verb = "checksumming" if mode == "reference" else "staging"
        try:
            with (
                tempfile.TemporaryDirectory(prefix="nemotron-wandb-") as tmp,
                progress(f"{verb} {name} for W&B", total, show=show_progress) as bar,
            ):
                for f in files:
                    if mode == "reference":
                        records[f.relpath] = hash_file(src_fs, f.path, bar.advance)
                        ref = str(src_fs.unstrip_protocol(f.path))
                        artifact.add_reference(ref, name=f.relpath)
                    elif local:
                        records[f.relpath] = hash_file(src_fs, f.path, bar.advance)
                        artifact.add_file(f.path, name=f.relpath, policy="mutable")
                    else:  # W&B adds local files only: copy through a temp dir (it stages a copy)
                        staged = os.path.join(tmp, *f.relpath.split("/"))
                        records[f.relpath] = copy_file(
                            src_fs, f.path, LocalFileSystem(), staged, bar.advance
                        )
                        artifact.add_file(staged, name=f.relpath, policy="mutable")
        except RegistryError:
            raise
        except OSError as exc:
            raise RegistryStorageError(f"cannot read {source!r} for W&B: {_line(exc)}") from exc
        except Exception as exc:  # wandb's own errors (e.g. an S3 reference it cannot stat)
            raise RegistryError(f"W&B refused the files of {source!r}: {_line(exc)}") from exc
        return ("file" if found == "file" else "dir"), records

    def _log(self, artifact: Any, wname: str, inputs: Sequence[str]) -> tuple[int, str]:
        """Log `artifact` from the active run (or one started here); its version and URL."""
        wandb = self._wandb
        run = wandb.run
        started = run is None
        if run is not None:
            self._check_run(run)
        else:
            try:
                run = wandb.init(
                    project=self.project or None, entity=self.entity, job_type="nemotron-publish",
                    settings=wandb.Settings(console="off"),
                )  # fmt: skip
            except Exception as exc:
                raise RegistryError(
                    f"cannot start a W&B run for {self.url}: {_line(exc)}"
                ) from None
        try:
            offline, disabled = bool(run.offline), bool(run.disabled)
            if not (offline or disabled):
                self._use_inputs(run, inputs)
            logged = run.log_artifact(artifact)
            if disabled:
                number, url = 0, f"{self.url}/{wname}?mode=disabled"
            elif offline:
                number, url = 0, f"{self.url}/{wname}?offline_run={run.settings.sync_dir}"
            else:
                logged.wait()
                number = int(str(logged.version).lstrip("v")) + 1
                url = f"wandb://{logged.entity}/{logged.project}/{wname}:{logged.version}"
        except BaseException as exc:
            if started:
                run.finish(exit_code=1)
            if isinstance(exc, Exception) and not isinstance(exc, RegistryError):
                raise RegistryError(f"W&B did not log {wname!r}: {_line(exc)}") from exc
            raise
        if started:
            run.finish()
        return number, url

    def _check_run(self, run: Any) -> None:
        """Refuse an active run that logs to another project than this registry's."""
        if run.disabled:
            return
        entity = run.entity or None
        wrong_entity = self.entity is not None and entity is not None and entity != self.entity
        if (self.project and run.project != self.project) or wrong_entity:
            where = f"{entity}/{run.project}" if entity else run.project
            raise RegistryError(
                f"the active W&B run logs to '{where}', not to {self.url}: finish it first or"
                f" publish through ArtifactRegistry('wandb://{where}')"
            )

    def _use_inputs(self, run: Any, inputs: Sequence[str]) -> None:
        """Mark `art://` inputs that are versions in this project as used by `run` (best effort)."""
        for uri in inputs:
            if not uri.startswith("art://"):
                continue
            parsed = parse_uri(uri)
            if not isinstance(parsed.ref, int):
                continue
            with contextlib.suppress(Exception):  # nemotron_inputs keeps the lineage anyway
                found = self._artifact(parsed.name, f"v{parsed.ref - 1}")
                if found is not None and (found.metadata or {}).get("nemotron_name") == parsed.name:
                    run.use_artifact(found)

    # -- reading (online only) ---------------------------------------------------------------
    def _api(self, what: str) -> Any:
        """A `wandb.Api`, or one line saying why W&B cannot be read now."""
        wandb = self._wandb
        mode = os.environ.get("WANDB_MODE", "").strip().lower()
        run = wandb.run
        if mode not in _OFFLINE_MODES and run is not None and (run.offline or run.disabled):
            mode = "disabled" if run.disabled else "offline"
        if mode in _OFFLINE_MODES:
            raise RegistryError(
                f"the W&B registry cannot resolve {what!r} while WANDB_MODE={mode}: W&B serves"
                " artifacts only online; sync the run (wandb sync) or use an fsspec root"
            )
        if self._api_obj is None:
            overrides = {
                "project": self.project,
                **({"entity": self.entity} if self.entity else {}),
            }
            try:
                self._api_obj = wandb.Api(overrides=overrides)
            except Exception as exc:
                raise RegistryError(
                    f"the W&B registry {self.url} cannot resolve {what!r}: {_line(exc)}"
                ) from None
        return self._api_obj

    def _fetch(self, path: str, what: str) -> Any | None:
        """The W&B artifact at `entity/project/name:ref`, or None when W&B has none."""
        if path in self._pinned:
            return self._pinned[path]
        api = self._api(what)
        try:
            found = api.artifact(path)
        except Exception as exc:
            if "not found" in str(exc).lower():
                return None
            raise RegistryError(f"W&B could not read {path!r}: {_line(exc)}") from None
        if re.search(r":v[0-9]+$", path):
            self._pinned[path] = found  # a version never changes
        return found

    def _artifact(self, name: str, ref: str) -> Any | None:
        return self._fetch(f"{self._prefix}{wandb_name(name)}:{ref}", name)

    def _to_version(self, name: str, art: Any) -> ArtifactVersion:
        """Our record of the W&B artifact `art`, after checking that it holds `name`."""
        meta = dict(art.metadata or {})
        where = f"{art.entity}/{art.project}/{wandb_name(name)}:{art.version}"
        held = meta.get("nemotron_name")
        if held != name:
            raise RegistryError(
                f"W&B artifact {where!r} holds {held!r}, not {name!r}: both map to one W&B name"
                if held
                else f"W&B artifact {where!r} was not published by nemotron.registry"
                " (no nemotron_name in its metadata)"
            )
        ours = {k: meta.pop(f"nemotron_{k}", None) for k in _KEYS}
        try:
            return ArtifactVersion(
                name=name,
                version=int(str(art.version).lstrip("v")) + 1,
                url=f"wandb://{where}",
                created_at=_timestamp(art.created_at),
                producer=ours["producer"] or "wandb",
                metadata=meta,
                files=ours["files"] or {},
                inputs=ours["inputs"] or [],
                mode=ours["mode"] or "reference",
                kind=ours["kind"] or "dir",
            )
        except ValueError as exc:
            raise RegistryError(
                f"unreadable nemotron metadata in W&B artifact {where!r}: {_line(exc)}"
            ) from None

    def latest(self, name: str) -> int | None:
        """W&B's `latest` of the artifact, as our number."""
        art = self._artifact(name, "latest")
        return None if art is None else self._to_version(name, art).version

    def version(self, name: str, version: int) -> ArtifactVersion | None:
        """Version `version` (W&B's `v{version-1}`), or None."""
        art = self._artifact(name, f"v{version - 1}")
        return None if art is None else self._to_version(name, art)

    def versions(self, name: str) -> list[ArtifactVersion]:
        """Every version in the artifact's W&B collection, oldest first."""
        art = self._artifact(name, "latest")
        if art is None:
            return []
        found = [self._to_version(name, a) for a in art.collection.artifacts()]
        return sorted(found, key=lambda v: v.version)

    def aliases(self, name: str) -> dict[str, int]:
        """W&B aliases of the collection that are registry aliases (not `latest`, not `vN`)."""
        out: dict[str, int] = {}
        for art in self._collection_artifacts(name):
            number = int(str(art.version).lstrip("v")) + 1
            for alias in art.aliases:
                try:
                    out[check_alias(alias)] = number
                except InvalidReferenceError:
                    continue
        return dict(sorted(out.items()))

    def _collection_artifacts(self, name: str) -> list[Any]:
        art = self._artifact(name, "latest")
        return [] if art is None else list(art.collection.artifacts())

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Add `alias` to W&B's `v{version-1}` (W&B moves it off any other version)."""
        art = self._artifact(name, f"v{version - 1}")
        if art is None:
            raise RegistryError(f"W&B has no version v{version - 1} of {wandb_name(name)!r}")
        if alias not in art.aliases:
            art.aliases = [*art.aliases, alias]
            self._save(art, name)

    def remove_alias(self, name: str, alias: str) -> bool:
        """Remove `alias` from the version that holds it; False when none does."""
        art = self._artifact(name, alias)
        if art is None or alias not in art.aliases:
            return False
        art.aliases = [a for a in art.aliases if a != alias]
        self._save(art, name)
        return True

    def _save(self, art: Any, name: str) -> None:
        try:
            art.save()
        except Exception as exc:
            raise RegistryError(f"W&B did not save the aliases of {name!r}: {_line(exc)}") from None
        self._pinned.clear()

    def exists(self, name: str) -> bool:
        """Whether W&B has a version of the artifact."""
        return self.latest(name) is not None

    def names(self, prefix: str) -> list[str]:
        """Names (from `nemotron_name`) of the project's collections that start with `prefix`."""
        api = self._api(prefix or self.url)
        start = wandb_name(prefix)
        out: set[str] = set()
        try:
            for kind in api.artifact_types(project=self._prefix.rstrip("/")):
                for collection in kind.collections():
                    if not collection.name.startswith(start):
                        continue
                    art = self._fetch(f"{self._prefix}{collection.name}:latest", collection.name)
                    held = (art.metadata or {}).get("nemotron_name") if art is not None else None
                    if isinstance(held, str) and held.startswith(prefix):
                        out.add(held)
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(
                f"W&B could not list the artifacts of {self.url}: {_line(exc)}"
            ) from None
        return sorted(out)

    def filesystem(self, url: str) -> tuple[AbstractFileSystem, str]:
        """Reference URLs through their own fsspec storage; `wandb://…:vK/file` through W&B.

        A W&B file that is a reference opens where it points; an uploaded one is downloaded
        into W&B's cache first.
        """
        if not url.startswith("wandb://"):
            options = self.storage_options if not url.startswith("file://") else None
            return open_fs(url, options)
        self._api(url)
        head, sep, tail = url[len("wandb://") :].partition(":")
        ref, _, rel = tail.partition("/")
        art = self._fetch(f"{head}:{ref}", url) if sep and ref else None
        if art is None:
            raise FileNotFoundError(f"{url}: no such W&B artifact version")
        entries = art.manifest.entries
        entry = entries.get(rel) if rel else next(iter(entries.values()), None)
        if entry is None:
            raise FileNotFoundError(f"{url}: no such file in the W&B artifact")
        if entry.ref:
            return self.filesystem(str(entry.ref))
        try:
            local = entry.download()
        except Exception as exc:
            raise RegistryStorageError(f"W&B download of {url} failed: {_line(exc)}") from None
        return LocalFileSystem(), str(local)


def _timestamp(value: Any) -> datetime:
    """W&B's `created_at` (ISO text, UTC without an offset) as an aware datetime."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str) and value:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        return utcnow()
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
