"""`RunConfig`, one resolved run profile, and the checks every profile passes.

The checks are shared: `RunConfig(...)` runs them when made, `load_run_profile` runs them on
the merged `extends` chain (to name the profile that set a bad key), and `build_executor` runs
them again on a config changed since.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from nemotron.kit._secrets import mask_entry
from nemotron.kit.exceptions import RunProfileError
from nrun.config import did_you_mean

__all__ = [
    "DEFAULTS",
    "Executor",
    "ExecutorKind",
    "RunConfig",
    "field_types",
    "first_problem",
    "location",
    "resolve_partition",
    "settings",
    "shown",
    "type_ok",
    "type_text",
]

ExecutorKind = Literal["local", "docker", "slurm"]
"""The executors nrun ships; others registered in `nrun.executors` work too."""
Executor = ExecutorKind
"""The original kit's name for `ExecutorKind`."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_NRUN = {"skypilot", "dgxcloud", "lepton"}


@dataclasses.dataclass(repr=False)
class RunConfig:
    """Where and how a recipe runs: one resolved profile of `env.toml`.

    The original kit's fields (NeMo-Run's), mapped onto nrun's executors by `build_executor`,
    plus nrun's own (`secrets`, `launcher`, `retries`, `network`, `port`, `known_hosts`,
    `accept_new_host_keys`, `startup_commands`, `python`). Values are checked when it is made:
    a wrong type, an unknown executor, or a field the chosen executor does not use is one line.
    """

    executor: str = "local"
    """`local`, `docker`, `slurm`, or another name registered in `nrun.executors`."""
    nproc_per_node: int | None = None
    """Processes per node: torchrun ranks locally and in Docker, srun tasks on Slurm."""
    nodes: int | None = None
    container_image: str | None = None
    mounts: list[str] = dataclasses.field(default_factory=list)
    """`host:container[:ro|rw]`: Docker volumes, or pyxis container mounts on Slurm."""
    account: str | None = None
    partition: str | None = None
    run_partition: str | None = None
    """The partition for attached runs (`detach = false`), instead of `partition`."""
    batch_partition: str | None = None
    """The partition for detached runs (`detach = true`), instead of `partition`."""
    time: str = "04:00:00"
    job_name: str = "nemo-run"
    """The title of the nrun `Experiment` the run is recorded under."""
    ntasks_per_node: int | None = None
    gpus_per_node: int | None = None
    """GPUs per node on Slurm; in Docker the GPUs given to the container (0: none)."""
    mem: str | None = None
    exclusive: bool | None = None
    cpus_per_task: int | None = None
    cpus_per_gpu: int | None = None
    gpus_per_task: int | None = None
    mem_per_gpu: str | None = None
    mem_per_cpu: str | None = None
    qos: str | None = None
    constraint: str | None = None
    exclude: str | None = None
    gres: str | None = None
    array: str | None = None
    tunnel: Literal["local", "ssh"] = "local"
    host: str | None = None
    user: str | None = None
    identity: str | None = None
    remote_job_dir: str | None = None
    runtime: str | None = None
    ipc_mode: str | None = None
    shm_size: str | None = None
    env_vars: list[str] = dataclasses.field(default_factory=list)
    """`KEY=VALUE` entries (in `env.toml` also a table `{KEY = "VALUE"}`)."""
    dry_run: bool = False
    detach: bool = False
    secrets: list[str] = dataclasses.field(default_factory=list)
    """More names, besides `DEFAULT_SECRETS`, whose values come from the launching environment."""
    launcher: Literal["torchrun"] | None = None
    """`torchrun`; unset, local and Docker runs with `nproc_per_node > 1` use it anyway."""
    retries: int = 0
    network: str | None = None
    """The Docker network (`none`, `host`, or a network's name)."""
    port: int = 22
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    startup_commands: list[str] = dataclasses.field(default_factory=list)
    """Shell lines run before the task on Slurm (the sbatch script's setup lines)."""
    python: str | None = None
    """The Python that runs the job where it lands (nrun's default: `python3` on its PATH)."""
    _profile: str | None = dataclasses.field(default=None, compare=False)
    _source: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        problem = first_problem(settings(self))
        if problem is not None:
            raise RunProfileError(f"{location(self)}: {problem[1]}")

    def __repr__(self) -> str:
        shown = [f"executor={self.executor!r}"]
        for key, value in settings(self).items():
            if key != "executor" and value != DEFAULTS[key]:
                if key == "env_vars":
                    value = [mask_entry(entry, self.secrets) for entry in value]
                shown.append(f"{key}={value!r}")
        return f"RunConfig({', '.join(shown)})"


def resolve_partition(config: RunConfig, is_launch: bool) -> str | None:
    """The partition for a detached run (`is_launch`: `batch_partition`) or an attached one."""
    if is_launch and config.batch_partition is not None:
        return config.batch_partition
    if not is_launch and config.run_partition is not None:
        return config.run_partition
    return config.partition


# -- the fields and what they hold -------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def field_types() -> dict[str, Any]:
    """The type of each setting of `RunConfig` (its fields but `_profile` and `_source`)."""
    hints = get_type_hints(RunConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunConfig) if f.name[0] != "_"}


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


DEFAULTS: dict[str, Any] = {f.name: _default(f) for f in dataclasses.fields(RunConfig)}
"""Each field's default value."""
_SLURM = {
    "ntasks_per_node", "account", "partition", "run_partition", "batch_partition", "time",
    "mem", "exclusive", "cpus_per_task", "cpus_per_gpu", "gpus_per_task", "mem_per_gpu",
    "mem_per_cpu", "qos", "constraint", "exclude", "gres", "array", "tunnel", "remote_job_dir",
    "startup_commands", "container_image", "mounts", "gpus_per_node",
}  # fmt: skip
_SSH = {"host", "user", "identity", "port", "known_hosts", "accept_new_host_keys"}
_DOCKER = {"container_image", "mounts", "runtime", "ipc_mode", "shm_size", "network"}
_USES = {"local": set(), "docker": _DOCKER | {"gpus_per_node"}, "slurm": _SLURM | _SSH}
"""Fields only some executors use (the rest apply to all)."""


def settings(config: RunConfig) -> dict[str, Any]:
    """The settings of `config` by name, in field order."""
    return {key: getattr(config, key) for key in field_types()}


def location(config: RunConfig) -> str:
    """Where `config` came from, to start its errors: the file and profile, or `RunConfig`."""
    if config._profile is not None:
        return f"{config._source or 'env.toml'}: profile '{config._profile}'"
    return "RunConfig"


# -- checking values ---------------------------------------------------------------------------
def type_text(tp: Any) -> str:
    """What a field of type `tp` holds, in words ("an integer or unset")."""
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return "a list of strings"
    names = {str: "a string", int: "an integer", bool: "true or false"}
    args = [a for a in get_args(tp) if a is not type(None)]
    if args:
        return f"{type_text(args[0])} or unset"
    return names.get(tp, str(tp))


def type_ok(value: Any, tp: Any) -> bool:
    """Whether `value` (as TOML reads it) is of the field type `tp`; `True` is no integer."""
    origin = get_origin(tp)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in get_args(tp))
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if origin is Union or origin is types.UnionType:
        return any(type_ok(value, a) for a in get_args(tp))
    if tp is type(None):
        return value is None
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def shown(key: str, value: Any) -> str:
    """A wrong value for an error message; `env_vars` values may be secrets: only their type."""
    return f"a {type(value).__name__}" if key == "env_vars" else repr(value)


def _kinds() -> list[str]:
    from nrun.exec.executors import DISTRIBUTIONS, executor_names

    return sorted({*DISTRIBUTIONS, *executor_names()})


def first_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first `(key, message)` wrong in fully resolved values, or None."""
    hints = field_types()
    for key, value in values.items():
        if not type_ok(value, hints[key]):
            return key, f"'{key}' must be {type_text(hints[key])}, got {shown(key, value)}"
    kind = values["executor"]
    if kind not in _kinds():
        if kind in _NOT_NRUN:
            why = f"'{kind}' is a NeMo-Run executor nrun does not have"
            return "executor", f"{why} (executors: {', '.join(_kinds())})"
        hint = did_you_mean(kind, _kinds())
        return "executor", f"unknown executor '{kind}' (expected {', '.join(_kinds())}).{hint}"
    for key in ("nodes", "nproc_per_node", "ntasks_per_node", "cpus_per_task", "port"):
        if values[key] is not None and values[key] < 1:
            return key, f"'{key}' must be at least 1, got {values[key]}"
    for key in ("gpus_per_node", "cpus_per_gpu", "gpus_per_task", "retries"):
        if values[key] is not None and values[key] < 0:
            return key, f"'{key}' must be 0 or more, got {values[key]}"
    for entry in values["env_vars"]:
        name, eq, _ = entry.partition("=")
        if not eq:
            return "env_vars", f"env_vars entry {entry!r} is not NAME=VALUE"
        if not _ENV_NAME.fullmatch(name):
            return "env_vars", f"env_vars entry '{name}=…' does not start with a variable name"
    for name in values["secrets"]:
        if not _ENV_NAME.fullmatch(name):
            return "secrets", f"secrets entry {name!r} is not an environment variable name"
    nproc, ntasks = values["nproc_per_node"], values["ntasks_per_node"]
    if nproc is not None and ntasks is not None and nproc != ntasks:
        return "ntasks_per_node", f"nproc_per_node={nproc} and ntasks_per_node={ntasks} disagree"
    used = _USES.get(kind, set())
    for key, value in values.items():
        if value == DEFAULTS[key] or not any(key in keys for keys in _USES.values()):
            continue
        if key not in used:
            owners = " and ".join(k for k, keys in _USES.items() if key in keys)
            return key, f"'{key}' is not used by the {kind} executor (it is a {owners} setting)"
        if key in _SSH and values["tunnel"] != "ssh":
            return key, f"'{key}' is used only with tunnel = \"ssh\""
    return None
