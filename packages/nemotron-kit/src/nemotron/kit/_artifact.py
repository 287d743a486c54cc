"""`Artifact`: a path plus typed metadata, saved atomically, published with its lineage."""

from __future__ import annotations

import builtins
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from nemotron.kit import _init
from nemotron.kit._artifact_io import (
    METADATA_FILE,
    ArtifactError,
    ArtifactMetadataNotFoundError,
    read_stdin_artifact,
    same_place,
    write_json_atomic,
)
from nemotron.kit.trackers import (
    LineageTracker,
    RegistryTracker,
    WandbTracker,
    current_run_id,
    get_lineage_tracker,
    record_used_artifact,
    used_artifacts,
)
from nemotron.registry import RegistryError, format_uri, parse_uri

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Artifact", "TrackingInfo"]

_BASE_FIELDS = frozenset({"path", "type", "metadata", "created_at", "producer", "tracking", "name"})


class TrackingInfo(BaseModel):
    """Where an artifact was recorded: its `art://` URI (or tracker id), run and inputs."""

    model_config = ConfigDict(extra="allow")

    artifact_id: str | None = None
    artifact_type: str | None = None
    run_id: str | None = None
    url: str | None = None
    used_artifacts: list[str] = Field(default_factory=list)


def _now() -> str:
    return datetime.now().astimezone().isoformat()


class Artifact(BaseModel):
    """A path (a folder, or a file in one) with typed metadata.

    Use it as is (`Artifact(path=p, metadata={"step": 10})`) or subclass it with typed fields;
    `type` is the class name. Typed fields are stored once, as fields; `metadata` holds only
    untyped extras.

    Example:
        >>> class ModelArtifact(Artifact):
        ...     step: int
        >>> model = ModelArtifact(path=Path("/data/model"), step=10000)
        >>> model.save(name="nano3/model")  # metadata.json; after init(): art://nano3/model:v1
    """

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The artifact's folder, or a file in it")
    type: str = Field(default="", description="Artifact type (the class name)")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Untyped extras only")
    created_at: str = Field(default_factory=_now, description="ISO 8601 time, with its zone")
    producer: str | None = Field(default=None, description="Run id, or 'local'")
    tracking: TrackingInfo | None = Field(default=None, description="Where it was recorded")
    name: str | None = Field(default=None, description="Name, e.g. nano3/pretrain/data")

    _path_is_file: ClassVar[bool] = False
    """True for classes whose `path` is a file (`blend.json`): metadata.json goes beside it."""
    _name: str | None = PrivateAttr(default=None)
    _version: int | None = PrivateAttr(default=None)
    _origin: Path | None = PrivateAttr(default=None)

    @classmethod
    def _typed_fields(cls) -> list[str]:
        """The subclass's own fields, in declaration order."""
        return [k for k in cls.model_fields if k not in _BASE_FIELDS]

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """Default `type` to the class name; typed fields given inside `metadata` move out."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("type") or data["type"] == "artifact":
            data["type"] = cls.__name__
        meta = data.get("metadata")
        typed = [k for k in cls._typed_fields() if isinstance(meta, dict) and k in meta]
        if isinstance(meta, dict) and typed:
            meta = dict(meta)
            for key in typed:
                value = meta.pop(key)
                data.setdefault(key, value)
            data["metadata"] = meta
        return data

    @field_validator("created_at", mode="before")
    @classmethod
    def _zoned(cls, value: Any) -> Any:
        """Accept a datetime or an ISO string; a time without a zone gets the local one."""
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"created_at {value!r} is not an ISO 8601 time") from None
            if parsed.tzinfo is not None:
                return value
            value = parsed
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.astimezone()).isoformat()
        return value

    # -- what it is --------------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, float]:
        """Numeric typed fields and numeric metadata (not bools), as floats, for logging."""
        values = [(k, getattr(self, k)) for k in type(self)._typed_fields()]
        values += list(self.metadata.items())
        return {
            k: float(v)
            for k, v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }

    @property
    def uri(self) -> str | None:
        """`art://name:vN` once published (saved after `init()`, or loaded from the registry)."""
        if self._name is not None and self._version is not None:
            return format_uri(self._name, self._version)
        return None

    @property
    def art_path(self) -> str:
        """What downstream steps should use: `uri`, else `art://name`, else `art://` + the path."""
        if self.uri is not None:
            return self.uri
        if self.name is not None:
            return f"art://{self.name}"
        return f"art://{self.path.resolve()}"

    def output_dir(self) -> Path:
        """The folder holding the data and `metadata.json` (the path's folder if it is a file)."""
        if self._path_is_file or self.path.is_file():
            return self.path.parent
        return self.path

    def get_input_uris(self) -> list[str]:
        """External inputs for lineage (`hf://…`, `s3://…`, paths); subclasses add theirs."""
        return []

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """(local path, name) of the small files W&B uploads: `metadata.json`."""
        meta = self.output_dir() / METADATA_FILE
        return [(str(meta), METADATA_FILE)] if meta.exists() else []

    def get_wandb_references(self) -> list[tuple[str, str]]:
        """(URI, name) of the data W&B references without uploading: the artifact's folder."""
        return [(self.output_dir().resolve().as_uri(), "output")]

    def _record(self) -> dict[str, Any]:
        """`metadata.json`'s content; refuses non-JSON values and extras that shadow a field."""
        clash = sorted(self.metadata.keys() & set(type(self).model_fields))
        if clash:
            raise ArtifactError(
                f"metadata key {clash[0]!r} of {self.type} is also one of its fields: set"
                f" artifact.{clash[0]}, not artifact.metadata[{clash[0]!r}]"
            )
        try:
            data = self.model_dump(mode="json")
            json.dumps(data, allow_nan=False)
        except (PydanticSerializationError, TypeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"{self.type} at {self.path} is not JSON: {reason}") from None
        return data

    def registry_metadata(self) -> dict[str, Any]:
        """The fields as one flat mapping (extras beside typed fields), as published."""
        record = self._record()
        extras = record.pop("metadata")
        record.pop("tracking")
        return {**record, **extras}

    # -- saving ------------------------------------------------------------------------------
    def save(self, name: str | None = None) -> None:
        """Write `metadata.json`; publish as `name` (or `self.name`, or the type) to the registry.

        The registry is the one `init()` opened, else the one `$NEMOTRON_REGISTRY` names;
        with neither, only `metadata.json` is written.

        The published version's lineage is every artifact this process loaded plus
        `get_input_uris()`. The active lineage tracker logs it too, unless it would publish
        the same thing twice (a `RegistryTracker` on the same registry, or a `WandbTracker`
        when the kit's registry is W&B).
        """
        out = self.output_dir()
        if self._origin is not None and same_place(out, self._origin):
            raise ArtifactError(
                f"{out} is the registry's copy of {self.uri}: save to a path of your own"
            )
        tracker = get_lineage_tracker()
        active = tracker is not None and tracker.is_active()
        if self.producer is None:
            run_id = tracker.get_run_id() if tracker is not None and active else None
            self.producer = run_id or _wandb_run_id() or current_run_id()
        self.tracking, self._name, self._version, self._origin = None, None, None, None
        record = self._record()
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / METADATA_FILE, record)

        used = used_artifacts()
        target = name or self.name or self.type
        info: dict[str, Any] | None = None
        if _init.has_registry():
            info = RegistryTracker(_init.get_registry()).log_artifact(self, target, used)
            self._published(target, info)
        if tracker is not None and active and not _publishes_again(tracker):
            logged = tracker.log_artifact(self, target, used)
            if info is None:
                info = logged
                if isinstance(tracker, RegistryTracker):
                    self._published(target, logged)
            else:
                info = {**info, "tracker": logged}
        if info is not None:
            self.tracking = TrackingInfo(**info)
            write_json_atomic(out / METADATA_FILE, self._record())

    def _published(self, name: str, info: dict[str, Any]) -> None:
        self._name, self._version = name, None
        artifact_id = info.get("artifact_id")
        if isinstance(artifact_id, str) and artifact_id.startswith("art://"):
            parsed = parse_uri(artifact_id)
            if isinstance(parsed.ref, int):
                self._name, self._version = parsed.name, parsed.ref

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        tracked_artifact: str | None = None,
        *,
        key: str | None = None,
    ) -> Self:
        """Load from a folder (or a file in it), a tracked reference, or JSON piped on stdin.

        Args:
            path: The artifact's folder, its file, or its `metadata.json`.
            tracked_artifact: An `art://` URI (as `from_uri`), or a reference the active
                tracker resolves (W&B: `entity/project/name:v1`).
            key: Which artifact of a `print_step_complete` mapping on stdin to load, when
                it holds several.

        The loaded artifact joins this process's inputs: what it saves next has it as lineage.
        """
        uri: str | None = None
        if tracked_artifact:
            if tracked_artifact.startswith("art://"):
                return cls.from_uri(tracked_artifact)
            tracker = get_lineage_tracker()
            if tracker is None or not tracker.is_active():
                raise ArtifactError(
                    f"cannot load tracked artifact {tracked_artifact!r}: no active lineage"
                    " tracker (set_lineage_tracker), and it is not an art:// URI"
                )
            path = tracker.use_artifact(tracked_artifact, cls.__name__.lower())
        elif path is None:
            path, uri = read_stdin_artifact(cls.__name__, key)
        artifact = cls._from_location(Path(path))
        tracking = artifact.tracking
        if (
            uri is None
            and tracking is not None
            and (tracking.artifact_id or "").startswith("art://")
        ):
            uri = tracking.artifact_id
        if uri is not None and uri.startswith("art://"):
            pinned = _pin(uri)
            parsed = parse_uri(pinned)
            if isinstance(parsed.ref, int):
                artifact._name, artifact._version = parsed.name, parsed.ref
            record_used_artifact(pinned)
        return artifact

    @classmethod
    def from_uri(cls, uri: str) -> Self:
        """Load `art://name[:vN|:latest|:alias]` through the kit's registry (its local copy).

        The recorded version is always the number the reference resolved to.
        """
        registry = _init.get_registry()
        version, inner = registry.split(uri)
        if inner:
            raise ArtifactError(
                f"{uri!r} names a file inside an artifact; from_uri takes art://name[:version]"
            )
        local = registry.download(version.name, version.version)
        folder = local if local.is_dir() else local.parent
        artifact = cls._from_location(folder)
        artifact._name, artifact._version, artifact._origin = version.name, version.version, folder
        record_used_artifact(version.uri)
        return artifact

    @classmethod
    def _from_location(cls, location: Path) -> Self:
        if location.is_dir():
            meta_file = location / METADATA_FILE
        elif location.name == METADATA_FILE:
            meta_file = location
        elif location.exists():
            meta_file = location.parent / METADATA_FILE
        else:
            raise ArtifactMetadataNotFoundError(f"no artifact at {location}: it does not exist")
        if not meta_file.is_file():
            raise ArtifactMetadataNotFoundError(
                f"no {METADATA_FILE} in {meta_file.parent}: not an artifact saved by"
                " Artifact.save()"
            )
        try:
            data = json.loads(meta_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{meta_file} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ArtifactError(f"{meta_file} holds {type(data).__name__}, not a JSON object")
        given = location if location.is_file() and location != meta_file else None
        return cls._from_record(data, meta_file, given)

    @classmethod
    def _from_record(cls, data: dict[str, Any], meta_file: Path, given: Path | None) -> Self:
        target = cls._class_for(data.get("type"), meta_file)
        fields = target.model_fields
        extras = {k: data.pop(k) for k in list(data) if k not in fields}
        if extras:  # keys no field holds (a newer writer, or a class not imported): keep them
            data["metadata"] = {**extras, **(data.get("metadata") or {})}
        folder = meta_file.parent
        stored = Path(data["path"]) if isinstance(data.get("path"), str) else None
        new_path = target._located(stored, folder, given)
        if stored is not None and new_path != stored:
            old_dir = stored.parent if new_path != folder else stored
            prefix = f"{old_dir}{os.sep}"
            for key in target._typed_fields():
                value = data.get(key)
                if isinstance(value, str) and value.startswith(prefix):
                    data[key] = str(folder / value[len(prefix) :])
        data["path"] = str(new_path)
        try:
            artifact = target.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            raise ArtifactError(
                f"{meta_file} is not a valid {target.__name__}: {problems}"
            ) from None
        return artifact  # type: ignore[return-value]  # a subclass of cls

    @classmethod
    def _class_for(cls, type_name: Any, where: Path) -> builtins.type[Artifact]:
        """The class a record's `type` names, when it is `cls` or one of its subclasses."""
        if not isinstance(type_name, str) or type_name == cls.__name__:
            return cls
        known = [c for c in _subclasses(Artifact) if c.__name__ == type_name]
        matching = [c for c in known if issubclass(c, cls)]
        if matching:
            return matching[0]
        if known:
            raise ArtifactError(f"{where} holds a {type_name}, not a {cls.__name__}")
        return cls

    @classmethod
    def _located(cls, stored: Path | None, folder: Path, given: Path | None) -> Path:
        """The artifact's path now: where its `metadata.json` was found, not where it was made."""
        if given is not None:
            return given
        if stored is None:
            return folder
        is_file = cls._path_is_file or stored.is_file()
        if same_place(stored.parent if is_file else stored, folder):
            return stored
        if cls._path_is_file or (stored.name != METADATA_FILE and (folder / stored.name).is_file()):
            return folder / stored.name
        return folder

    # -- the pipe protocol -------------------------------------------------------------------
    def to_json(self) -> str:
        """`{"path", "type", "uri"}` as one line of JSON: what the next step's `load()` reads."""
        return json.dumps({"path": str(self.path.absolute()), "type": self.type, "uri": self.uri})

    def __str__(self) -> str:
        return self.to_json()


def _subclasses(cls: type[Artifact]) -> list[type[Artifact]]:
    found: list[type[Artifact]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _wandb_run_id() -> str | None:
    """The active W&B run's id when the kit's registry is W&B (wandb is then imported)."""
    config = _init.get_config()
    wandb = sys.modules.get("wandb")
    if config is None or config.backend != "wandb" or wandb is None:
        return None
    run = getattr(wandb, "run", None)
    return str(run.id) if run is not None else None


def _publishes_again(tracker: LineageTracker) -> bool:
    """Whether the tracker would log what the kit's registry already published."""
    config = _init.get_config()
    if config is None:
        return False
    if isinstance(tracker, RegistryTracker):
        return tracker.registry.root == config.registry.root
    return isinstance(tracker, WandbTracker) and config.backend == "wandb"


def _pin(uri: str) -> str:
    """`art://name:vN` for an `art://` reference (resolved through the registry if needed)."""
    parsed = parse_uri(uri)
    if isinstance(parsed.ref, int):
        return format_uri(parsed.name, parsed.ref)
    try:
        return _init.get_registry().resolve(parsed.name, parsed.ref).uri
    except RegistryError:
        return format_uri(parsed.name, parsed.ref)
