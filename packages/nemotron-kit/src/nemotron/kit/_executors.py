"""A `RunConfig` made into nrun's executor, with its secrets; and shown, with them masked.

The executor class comes from the `nrun.executors` entry points, so a missing distribution is
one line naming its `pip install`. Secrets go from the launching environment into the
executor's `env_vars`, whose `repr` masks them; `describe` shows only their names and state.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron.kit._profiles import find_env_toml, read_env_toml
from nemotron.kit._run_config import (
    DEFAULTS,
    RunConfig,
    first_problem,
    location,
    resolve_partition,
    settings,
)
from nemotron.kit._secrets import DEFAULT_SECRETS, MASK, SecretEnv, mask_entry
from nemotron.kit.exceptions import RunProfileError

if TYPE_CHECKING:
    from rich.table import Table

    from nrun.exec.base import Executor as NrunExecutor
    from nrun.exec.packaging import Packager

__all__ = ["build_executor", "describe", "job_executor"]


def _secret_names(config: RunConfig) -> list[str]:
    return list(dict.fromkeys([*DEFAULT_SECRETS, *config.secrets]))


def _environment(
    config: RunConfig, extra: Mapping[str, str] | None, environ: Mapping[str, str], local: bool
) -> SecretEnv:
    """The job's variables: the profile's, `extra`, W&B's project, and the secrets."""
    env = SecretEnv(entry.split("=", 1) for entry in config.env_vars)
    env.update(extra or {})
    source = Path(config._source) if config._source else find_env_toml()
    wandb = (
        read_env_toml(source).get("wandb", {}) if source is not None and source.is_file() else {}
    )
    for key in ("project", "entity"):
        if isinstance(wandb.get(key), str):
            env.setdefault(f"WANDB_{key.upper()}", wandb[key])
    for name in _secret_names(config):
        value = environ.get(name)
        if name in env:
            continue
        if value is None:
            if name in config.secrets:
                raise RunProfileError(
                    f"{location(config)}: secret {name} is listed in 'secrets' but not set "
                    "in the environment"
                )
            continue
        if local and os.environ.get(name) == value:
            continue  # the local task inherits it: nothing is written down
        env[name] = value
    env.secret_names = frozenset(_secret_names(config))
    return env


def _executor_class(config: RunConfig) -> type[NrunExecutor]:
    from nrun.exec.executors import DISTRIBUTIONS, ExecutorNotInstalled, executor_class

    kind = config.executor
    try:
        return executor_class(kind)
    except ExecutorNotInstalled as exc:
        raise RunProfileError(f"{location(config)}: {exc}") from None
    except ImportError as exc:
        fix = DISTRIBUTIONS.get(kind, f"the distribution that registers '{kind}'")
        reason = " ".join(str(exc).split())
        raise RunProfileError(
            f"{location(config)}: executor '{kind}' cannot be imported ({reason}); "
            f"pip install {fix}"
        ) from None


def _slurm_fields(config: RunConfig, cls: type[Any]) -> dict[str, Any]:
    module = importlib.import_module(cls.__module__)
    if config.tunnel == "ssh":
        ssh: dict[str, Any] = {"host": config.host, "user": config.user, "port": config.port}
        ssh.update(identity=config.identity, accept_new_host_keys=config.accept_new_host_keys)
        if config.remote_job_dir:
            ssh["job_dir"] = config.remote_job_dir
        if config.known_hosts:
            ssh["known_hosts"] = config.known_hosts
        tunnel = module.SSHTunnel(**ssh)
    else:
        tunnel = module.LocalTunnel(job_dir=config.remote_job_dir or "")
    extra = {
        key: getattr(config, key)
        for key in ("cpus_per_gpu", "gpus_per_task", "mem_per_gpu", "mem_per_cpu", "exclude")
        if getattr(config, key) is not None
    }
    return {
        "account": config.account,
        "partition": resolve_partition(config, config.detach),
        "qos": config.qos,
        "time": config.time,
        "cpus_per_task": config.cpus_per_task,
        "gpus_per_node": config.gpus_per_node,
        "gres": config.gres,
        "mem": config.mem,
        "exclusive": bool(config.exclusive),
        "constraint": config.constraint,
        "array": config.array,
        "container_image": config.container_image,
        "container_mounts": list(config.mounts),
        "setup_lines": list(config.startup_commands),
        "additional_parameters": extra,
        "ntasks_per_node": config.ntasks_per_node or config.nproc_per_node or 1,
        "launcher": config.launcher,
        "tunnel": tunnel,
    }


def _fields(config: RunConfig, cls: type[Any]) -> dict[str, Any]:
    """The executor's fields for `config` (besides `env_vars`, `packager`, `retries`, `nodes`)."""
    ranks = config.nproc_per_node or 1
    auto = {"ntasks_per_node": ranks, "launcher": config.launcher or (None, "torchrun")[ranks > 1]}
    if config.executor == "slurm":
        return _slurm_fields(config, cls)
    if config.executor != "docker":
        return auto
    gpus = config.gpus_per_node if config.gpus_per_node is not None else config.nproc_per_node
    return {
        **auto,
        "container_image": config.container_image,
        "volumes": list(config.mounts),
        "num_gpus": gpus or None,
        "runtime": config.runtime,
        "ipc_mode": config.ipc_mode,
        "shm_size": config.shm_size,
        "network": config.network,
    }


def build_executor(
    config: RunConfig,
    env_vars: Mapping[str, str] | None = None,
    *,
    packager: Packager | None = None,
    environ: Mapping[str, str] | None = None,
) -> NrunExecutor:
    """Nrun's executor for `config`: a `LocalExecutor`, `DockerExecutor` or `SlurmExecutor`.

    The class comes from the `nrun.executors` entry points. Its `env_vars` are the profile's,
    then `env_vars`, then `WANDB_PROJECT`/`WANDB_ENTITY` from `[wandb]`, then the secrets
    (`DEFAULT_SECRETS` and the profile's `secrets`) taken from `environ` (default
    `os.environ`); a local task inherits this process's environment, so secrets it would
    inherit are not copied. The executor's `repr` masks the secrets' values. `packager`
    (an `nrun.exec.packaging` packager) says how the code travels; None runs it in place.

    Raises:
        RunProfileError: one line naming the profile: a bad value, a missing executor
            (with its `pip install`), a missing secret, or what the executor's `validate` refused.
    """
    from nrun.exec.base import ExecutorError

    problem = first_problem(settings(config))
    if problem is None and config.executor == "docker" and not config.container_image:
        problem = "container_image", "the docker executor needs container_image"
    if problem is None and config.tunnel == "ssh" and not (config.host and config.user):
        problem = "tunnel", 'tunnel = "ssh" needs host and user'
    if problem is not None:
        raise RunProfileError(f"{location(config)}: {problem[1]}")
    cls = _executor_class(config)
    environment = _environment(
        config, env_vars, os.environ if environ is None else environ, config.executor == "local"
    )
    fields = {
        "env_vars": environment,
        "retries": config.retries,
        "nodes": config.nodes or 1,
        **_fields(config, cls),
    }
    if packager is not None:
        fields["packager"] = packager
    if config.python:
        fields["python"] = config.python
    elif config.executor == "local":
        fields["python"] = sys.executable  # the Python with this project's packages
    try:
        executor = cls(**fields)
        executor.validate()
    except (ExecutorError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise RunProfileError(f"{location(config)}: {config.executor} executor: {reason}") from None
    return executor


def job_executor(config: RunConfig, defaults: Mapping[str, str]) -> NrunExecutor:
    """`build_executor` with `defaults` (the job's registry, …) where the profile sets none."""
    given = {entry.split("=", 1)[0] for entry in config.env_vars}
    return build_executor(config, {k: v for k, v in defaults.items() if k not in given})


# -- showing -----------------------------------------------------------------------------------
def _rows(config: RunConfig, environ: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    yield "executor", config.executor
    for key, value in settings(config).items():
        if key in ("executor", "env_vars", "secrets") or value == DEFAULTS[key]:
            continue
        yield key, ", ".join(value) if isinstance(value, list) else str(value)
    for entry in config.env_vars:
        name, _, _ = entry.partition("=")
        yield f"env {name}", mask_entry(entry, config.secrets).partition("=")[2]
    for name in _secret_names(config):
        if name not in environ:
            state = "not set" if name in DEFAULT_SECRETS else "listed, NOT SET"
        elif config.executor == "local":
            state = f"{MASK} (inherited by the task)"
        else:
            state = f"{MASK} (from the environment)"
        yield f"secret {name}", state


def describe(config: RunConfig, *, environ: Mapping[str, str] | None = None) -> Table:
    """A `rich` table of the profile: what it sets, its env vars and secrets, values masked."""
    from rich.table import Table

    title = "Run config" if config._profile is None else f"Run profile '{config._profile}'"
    table = Table(title=title, caption=config._source, show_header=False)
    table.add_column("setting", style="bold")
    table.add_column("value")
    for key, value in _rows(config, os.environ if environ is None else environ):
        table.add_row(key, value)
    return table
