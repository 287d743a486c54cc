"""OmegaConf `${art:…}`: fields of registry artifacts inside configs, resolved once per job.

`${art:name[:version][,field]}` reads the registry `nemotron.kit.init()` opened (else
`$NEMOTRON_REGISTRY`): `${art:blend,path}` is the local path of the latest version's files,
`${art:blend:v3,version}` is `3`; the fields are `path`, `version`, `name`, `type`, `uri`,
`qualified_name`, `metadata` and any metadata key (`total_tokens` or `metadata.total_tokens`).
`register_resolvers(artifacts={"data": "Blends:v3"})` adds logical names: `${art:data,path}`.

In a distributed run (`WORLD_SIZE` > 1) only rank 0 asks the registry; the other ranks read its
answers from files in a folder private to the job (see `register_resolvers`). Every artifact
resolved becomes an input (lineage) of the artifacts this process saves next.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nemotron.kit._init import get_registry
from nemotron.kit.exceptions import ConfigError
from nemotron.kit.trackers import record_used_artifact
from nemotron.registry import (
    ArtifactNotFoundError,
    InvalidReferenceError,
    RegistryError,
    parse_uri,
)
from nrun.config import did_you_mean
from nrun.config.atomic import atomic_write

if TYPE_CHECKING:
    from nemotron.registry import ArtifactRegistry

__all__ = [
    "DIR_ENV",
    "TIMEOUT_ENV",
    "ResolverMode",
    "clear_artifact_cache",
    "register_resolvers",
    "register_resolvers_from_config",
]

ResolverMode = Literal["active_run", "pre_init"]
DIR_ENV = "NEMOTRON_RESOLVER_DIR"
"""A folder every rank of a job can read (on several nodes: a shared file system)."""
TIMEOUT_ENV = "NEMOTRON_RESOLVER_TIMEOUT"
"""Seconds a rank other than 0 waits for rank 0's answer (default 600)."""
FIELDS = ("path", "version", "name", "type", "uri", "qualified_name", "metadata")
# What identifies one job: every rank of it sees the same values, another job other ones.
_JOB_VARS = ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "NRUN_EXPERIMENT_ID", "NRUN_JOB_DIR")
_ATTEMPT_VARS = ("TORCHELASTIC_RESTART_COUNT", "SLURM_STEP_ID", "NRUN_TASK_NAME")

_lock = threading.RLock()
_artifacts: dict[str, str] = {}  # logical name → reference (`name:vN[/path]`)
_cache: dict[str, dict[str, Any]] = {}


# -- registration ------------------------------------------------------------------------------
def register_resolvers(
    artifacts: Mapping[str, str] | None = None,
    *,
    replace: bool = True,
    mode: ResolverMode = "active_run",
    pre_init_patch_http_digest: bool = False,
) -> list[str]:
    """Register the `art` resolver; resolve `artifacts` (logical name → reference) now.

    References are `name`, `name:vN`, `name:alias` or `art://…`; each is pinned to the version
    it names now, so `${art:data,…}` means one version for the whole run. Returns their
    `art://name:vN` URIs. Calling it again adds names (`replace=False` refuses to replace an
    existing `art` resolver). `mode` and `pre_init_patch_http_digest` are accepted for the
    original's W&B modes; the registry resolves the same way in both.

    With `WORLD_SIZE` > 1, rank 0 (`RANK`; `LOCAL_RANK` per node when the answers live in a
    node-local temp folder) resolves and writes each answer atomically (owner-only files) to
    `$NEMOTRON_RESOLVER_DIR`, `$NRUN_JOB_DIR/.nemotron-resolvers`, `$NEMO_RUN_DIR` or the temp
    folder, under a key of the job (`TORCHELASTIC_RUN_ID`, `SLURM_JOB_ID`, nrun's
    `NRUN_EXPERIMENT_ID`/`NRUN_JOB_DIR`, else `MASTER_ADDR:MASTER_PORT`); the other ranks wait
    for them (`$NEMOTRON_RESOLVER_TIMEOUT` seconds, default 600).
    """
    from omegaconf import OmegaConf

    del pre_init_patch_http_digest
    if mode not in ("active_run", "pre_init"):
        raise ConfigError(f"unknown resolver mode {mode!r}: expected 'active_run' or 'pre_init'")
    if not replace and OmegaConf.has_resolver("art"):
        raise ConfigError("an 'art' resolver is already registered (pass replace=True)")
    pinned: dict[str, str] = {}
    uris: list[str] = []
    for key, ref in _check_mapping(artifacts).items():
        info = _info(ref)
        inner = f"/{info['inner']}" if info["inner"] else ""
        pinned[key] = f"{info['name']}:v{info['version']}{inner}"
        uris.append(info["uri"])
    with _lock:
        _artifacts.update(pinned)
    OmegaConf.register_new_resolver("art", _art, replace=True)
    return uris


def register_resolvers_from_config(
    config: Any,
    artifacts_key: str = "run",
    *,
    replace: bool = True,
    mode: ResolverMode = "active_run",
    pre_init_patch_http_digest: bool = False,
) -> list[str]:
    """`register_resolvers` with the artifact references in the config's `artifacts_key` section.

    `config` is a `DictConfig`, a mapping or a YAML path. In `run: {data: Blends:v3, nodes: 2}`,
    `data` is an artifact reference (`art://…`, `name:vN`/`:N`/`:latest`, or a name with
    `Artifact` in it) and `nodes` is not; container images (`nvcr.io/…:25.11`) are not either.
    """
    from omegaconf import DictConfig, OmegaConf

    if isinstance(config, (str, os.PathLike)):
        from nemotron.kit.train_script import load_omegaconf_yaml

        config = load_omegaconf_yaml(config)
    elif not isinstance(config, DictConfig):
        config = OmegaConf.create(dict(config))
    section = OmegaConf.select(config, artifacts_key, default=None)
    found: dict[str, str] = {}
    if isinstance(section, DictConfig):
        plain = OmegaConf.to_container(section, resolve=False)
        assert isinstance(plain, dict)
        found = {str(k): v for k, v in plain.items() if _is_artifact_reference(v)}
    return register_resolvers(
        found, replace=replace, mode=mode, pre_init_patch_http_digest=pre_init_patch_http_digest
    )


def clear_artifact_cache() -> None:
    """Forget resolved answers and logical names (tests; a process that switches registries)."""
    with _lock:
        _artifacts.clear()
        _cache.clear()


def _check_mapping(artifacts: Mapping[str, str] | None) -> dict[str, str]:
    if artifacts is None:
        return {}
    if not isinstance(artifacts, Mapping):
        raise ConfigError(f"artifacts must map names to references, got {artifacts!r}")
    out: dict[str, str] = {}
    for key, ref in artifacts.items():
        if not isinstance(key, str) or not key or "," in key:
            raise ConfigError(f"invalid artifact name {key!r}: expected a word such as 'data'")
        if not isinstance(ref, str):
            raise ConfigError(f"artifacts[{key!r}] must be a reference such as 'Blends:v3'")
        out[key] = _reference(ref, f"artifacts[{key!r}]")
    return out


def _is_artifact_reference(value: Any) -> bool:
    """Whether a `run:` value names an artifact (and not a container image or a word)."""
    if not isinstance(value, str) or "${" in value:
        return False
    if value.startswith("art://"):
        return True
    lowered = value.lower()
    if "://" in value or "nvcr" in lowered or "docker" in lowered or " " in value:
        return False
    name, colon, version = value.rpartition(":")
    if not colon:
        return "Artifact" in value and "/" not in value
    if "." in name.split("/")[0] and "/" in name:
        return False  # a registry host: `ghcr.io/org/image:v1`
    numbered = version.isdigit() or (version[:1] == "v" and version[1:].isdigit())
    return bool(name) and (numbered or version == "latest" or "Artifact" in name)


# -- the resolver ------------------------------------------------------------------------------
def _art(*args: Any) -> Any:
    """`${art:name[:version][,field]}`."""
    text = "${art:" + ",".join(str(a) for a in args) + "}"
    if not 1 <= len(args) <= 2:
        raise ConfigError(f"{text}: expected ${{art:name[:version][,field]}}")
    given = str(args[0]).strip()
    field = str(args[1]).strip() if len(args) == 2 else "path"
    if not given or not field:
        raise ConfigError(f"{text}: expected ${{art:name[:version][,field]}} with a name")
    with _lock:
        mapped = _artifacts.get(given)
        names = list(_artifacts)
    try:
        info = _info(mapped if mapped is not None else _reference(given, text))
    except ArtifactNotFoundError as exc:
        if mapped is None and names:
            hint = did_you_mean(given, names) or f" Known names: {', '.join(names)}."
            raise ConfigError(
                f"{text}: '{given}' is neither a name given to register_resolvers nor an "
                f"artifact in the registry.{hint}"
            ) from exc
        raise
    return _field(info, field, text)


def _reference(text: str, where: str) -> str:
    """`name[:version][/path]` (an `art://` prefix dropped), checked by the registry's rules."""
    ref = text[len("art://") :] if text.startswith("art://") else text
    try:
        parse_uri(f"art://{ref}")
    except InvalidReferenceError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return ref


def _field(info: dict[str, Any], field: str, text: str) -> Any:
    if field == "path":
        inner = f"/{info['inner']}" if info["inner"] else ""
        return _shared("path", f"{info['name']}:v{info['version']}{inner}", _path)["path"]
    if field in ("version", "name", "uri", "type", "metadata"):
        return info[field]
    if field == "qualified_name":
        return f"{info['name']}:v{info['version']}"
    key = field.removeprefix("metadata.")
    node: Any = info["metadata"]
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        return node
    available = [*FIELDS, *info["metadata"]]
    raise ConfigError(
        f"{text}: {info['uri']} has no field '{field}'.{did_you_mean(key, available)} "
        f"Available: {', '.join(dict.fromkeys(available))}"
    )


def _info(ref: str) -> dict[str, Any]:
    info = _shared("info", ref, _lookup)
    record_used_artifact(info["uri"])  # an input of what this process saves next
    return info


def _lookup(registry: ArtifactRegistry, ref: str) -> dict[str, Any]:
    version, inner = registry.split(f"art://{ref}")
    metadata = dict(version.metadata)
    if version.kind == "dir" and "metadata.json" in version.files:
        try:  # what Artifact.save wrote beside the data; the registry's own record wins
            with registry.open(f"{version.uri}/metadata.json") as f:
                written = json.load(f)
        except (OSError, ValueError, RegistryError):
            written = None
        if isinstance(written, dict):
            metadata = {**written, **metadata}
    return {
        "name": version.name,
        "version": version.version,
        "uri": version.uri,
        "type": metadata.get("type"),
        "metadata": metadata,
        "inner": inner,
    }


def _path(registry: ArtifactRegistry, ref: str) -> dict[str, Any]:
    version, inner = registry.split(f"art://{ref}")
    local = registry.download(version.name, version.version)
    if inner:
        local = local / inner
        if not local.exists():
            raise ConfigError(f"{version.uri} has no file '{inner}'")
    return {"path": str(local)}


# -- one answer per job ------------------------------------------------------------------------
Compute = Callable[["ArtifactRegistry", str], dict[str, Any]]


def _shared(kind: str, ref: str, compute: Compute) -> dict[str, Any]:
    """`compute(registry, ref)` here, or (ranks other than 0) rank 0's answer to it."""
    key = f"{kind}:{ref}"
    folder, leader = _job_folder() if _world_size() > 1 else (None, True)
    if not leader:
        assert folder is not None
        with _lock:
            hit = _cache.get(f"|{key}")
        if hit is None:
            hit = _await(folder, key)
            if "error" in hit:
                raise ConfigError(f"rank 0 could not resolve '{ref}': {hit['error']}")
            with _lock:
                _cache[f"|{key}"] = hit
        return hit
    try:
        registry = get_registry()
        scoped = f"{registry.root}|{key}"
        with _lock:
            hit = _cache.get(scoped)
        if hit is not None:
            return hit
        record = compute(registry, ref)
    except Exception as exc:  # the other ranks get the same error, not a timeout
        if folder is not None:
            _publish(folder, key, {"error": str(exc) or type(exc).__name__})
        raise
    if folder is not None:
        _publish(folder, key, record)
    with _lock:
        _cache[scoped] = record
    return record


def _world_size() -> int:
    return _int_env("WORLD_SIZE", 1)


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def _job_folder() -> tuple[Path, bool]:
    """This job's private answer folder, and whether this process is the one that resolves."""
    env = os.environ
    job_dir = env.get("NRUN_JOB_DIR") or env.get("NEMO_RUN_DIR")
    if env.get(DIR_ENV):
        base, shared = Path(env[DIR_ENV]).expanduser(), True
    elif job_dir:
        base, shared = Path(job_dir) / ".nemotron-resolvers", True
    else:  # node-local: each node's LOCAL_RANK 0 resolves for its node
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        base, shared = Path(tempfile.gettempdir()) / f"nemotron-resolvers-{uid}", False
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the resolver folder {base}: {exc.strerror}") from None
    if not shared:
        _private_dir(base)
    folder = _private_dir(base / _job_key())
    rank_var = "RANK" if shared or "LOCAL_RANK" not in env else "LOCAL_RANK"
    if rank_var not in env:
        rank_var = "LOCAL_RANK"
    if rank_var not in env:
        raise ConfigError(
            f"WORLD_SIZE={env['WORLD_SIZE']} but neither RANK nor LOCAL_RANK is set: "
            "cannot tell which rank resolves ${art:…}"
        )
    return folder, _int_env(rank_var, 0) == 0


def _job_key() -> str:
    env = os.environ
    parts = [f"{v}={env[v]}" for v in _JOB_VARS if env.get(v) not in (None, "", "none")]
    if not parts and env.get("MASTER_ADDR") and env.get("MASTER_PORT"):
        parts = [f"MASTER={env['MASTER_ADDR']}:{env['MASTER_PORT']}"]
    if not parts:
        raise ConfigError(
            f"WORLD_SIZE={env.get('WORLD_SIZE')} but nothing identifies the job: set "
            "TORCHELASTIC_RUN_ID, SLURM_JOB_ID or MASTER_ADDR and MASTER_PORT (torchrun sets them)"
        )
    parts += [f"{v}={env[v]}" for v in _ATTEMPT_VARS if env.get(v)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _private_dir(folder: Path) -> Path:
    """`folder` as a folder only this user can enter; refuses anyone else's (or a link)."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
        if hasattr(os, "getuid") and (stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid()):
            raise ConfigError(
                f"refusing the resolver folder {folder}: it is a link or another user's; "
                f"set {DIR_ENV} to a folder of yours"
            )
        if info.st_mode & 0o077:
            os.chmod(folder, 0o700)
    except OSError as exc:
        raise ConfigError(f"cannot use the resolver folder {folder}: {exc.strerror}") from None
    return folder


def _answer_file(folder: Path, key: str) -> Path:
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def _publish(folder: Path, key: str, record: dict[str, Any]) -> None:
    """Write an answer atomically: a 0600 temp file in the folder, renamed into place."""
    target = _answer_file(folder, key)
    try:
        atomic_write(target, json.dumps({"key": key, **record}))
    except OSError as exc:
        raise ConfigError(f"cannot write rank 0's answer {target}: {exc.strerror}") from None


def _await(folder: Path, key: str) -> dict[str, Any]:
    """Rank 0's answer to `key`, once its file appears; one clear line after the timeout."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip() or "600"
    try:
        timeout = float(raw)
    except ValueError:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    file = _answer_file(folder, key)
    deadline, delay = time.monotonic() + timeout, 0.02
    while True:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            record = None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read rank 0's answer {file}: {exc}") from None
        if isinstance(record, dict) and record.get("key") == key:
            return record
        if time.monotonic() >= deadline:
            raise ConfigError(
                f"waited {timeout:g}s for rank 0 to resolve '{key.partition(':')[2]}' "
                f"(answer file {file}) and got none: did rank 0 fail or resolve another "
                f"config? Ranks on several nodes need {DIR_ENV} on a shared file system"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
