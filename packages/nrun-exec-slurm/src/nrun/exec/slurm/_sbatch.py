"""The sbatch script of a job, rendered by a pure function from the executor's fields.

Values end up in two places, each made safe its own way: `#SBATCH` lines, which sbatch splits
on whitespace (a value with whitespace, quotes, backslashes or control characters is refused),
and shell lines, where every value is quoted with `shlex.quote`. `setup_lines` are the user's
own shell commands and are written as they are.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nrun.exec.base import ExecutorError

if TYPE_CHECKING:
    from nrun.exec.slurm._executor import SlurmExecutor

__all__ = ["ResourceGroup", "ScriptPaths", "array_indices", "directive", "render_sbatch"]

_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
_TIME = re.compile(r"\d+(-\d+(:\d+){0,2})?|\d+(:\d+){1,2}|infinite|UNLIMITED")
_MEM = re.compile(r"\d+[KMGT]?")
_OPTION = re.compile(r"[a-z][a-z0-9-]*")
_LIMIT = re.compile(r"%\d+")
_DEPENDENCY = re.compile(r"\d+(_\d+)?|[a-z]+(:\d+(_\d+)?(\+\d+)?)+|singleton")
_ARRAY_RANGE = re.compile(r"(\d+)(?:-(\d+)(?::(\d+))?)?")
RDZV_PORT = 29500


@dataclasses.dataclass(kw_only=True)
class ResourceGroup:
    """One component of a heterogeneous job (`#SBATCH hetjob` separates them)."""

    nodes: int = 1
    ntasks_per_node: int = 1
    cpus_per_task: int | None = None
    gpus_per_node: int | None = None
    gres: str | None = None
    mem: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    exclusive: bool = False
    additional_parameters: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ScriptPaths:
    """Where the job's files are on the cluster."""

    job_dir: str
    """The job's folder: the output files go here."""
    task: str
    """The task file; for a sweep array, the folder of `<index>.yaml` files."""
    runtime: str
    """The folder holding nrun's task runner, put on `PYTHONPATH`."""
    workdir: str
    """Where the task runs: the unpacked code, or the folder sbatch is called from."""
    code: str | None = None
    """The unpacked code (first on `PYTHONPATH`), when there is a packager."""


def directive(option: str, value: object, *, field: str | None = None, path: bool = False) -> str:
    """One `#SBATCH --option=value` line, refusing values sbatch would split or misread.

    A `path` may hold spaces: it is written in double quotes, which sbatch removes.
    """
    if value is True:
        return f"#SBATCH --{option}"
    text = str(value)
    unsafe = _UNSAFE.search(text.replace(" ", "x") if path else text)
    if not text or unsafe:
        name = field or option.replace("-", "_")
        allowed = "quotes, backslashes" if path else "spaces, quotes, backslashes"
        raise ExecutorError(
            f"{name}={text!r} cannot go into an sbatch script: "
            f"use a value without {allowed} or control characters"
        )
    return f'#SBATCH --{option}="{text}"' if path and " " in text else f"#SBATCH --{option}={text}"


def array_indices(spec: str) -> list[int]:
    """The indices an `--array` spec names (`0-3`, `1,5,7`, `0-15:4`, `0-99%10`)."""
    body, percent, limit = spec.partition("%")
    indices: list[int] = []
    for part in body.split(","):
        match = _ARRAY_RANGE.fullmatch(part)
        if not match or (percent and not limit.isdigit()) or match.group(3) in ("0", "00"):
            raise ExecutorError(
                f"array={spec!r} is not an array spec: expected e.g. '0-3', '1,5,7', "
                "'0-15:4' or '0-99%10'"
            )
        start, end, step = match.groups()
        stop = int(end) if end is not None else int(start)
        if stop < int(start):
            raise ExecutorError(f"array={spec!r}: the range {part!r} runs backwards")
        indices.extend(range(int(start), stop + 1, int(step or 1)))
    return sorted(set(indices))


def _resources(fields: Mapping[str, Any]) -> list[str]:
    """The `#SBATCH` lines of one resource group (or of a plain job)."""
    lines = []
    for name in (
        "account",
        "partition",
        "qos",
        "nodes",
        "ntasks_per_node",
        "cpus_per_task",
        "gpus_per_node",
        "gres",
        "mem",
        "constraint",
    ):
        value = fields.get(name)
        if value is not None and value != "":
            lines.append(directive(name.replace("_", "-"), value))
    if fields.get("exclusive"):
        lines.append(directive("exclusive", True))
    for key, value in (fields.get("additional_parameters") or {}).items():
        option = str(key).replace("_", "-")
        if not _OPTION.fullmatch(option):
            raise ExecutorError(
                f"additional_parameters key {key!r} is not an sbatch option name "
                "(letters, digits, '-' and '_')"
            )
        if value is False or value is None:
            continue
        lines.append(directive(option, value))
    return lines


def _group_fields(group: ResourceGroup | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(group, ResourceGroup):
        return dataclasses.asdict(group)
    if isinstance(group, Mapping):
        unknown = set(group) - {f.name for f in dataclasses.fields(ResourceGroup)}
        if unknown:
            raise ExecutorError(
                f"heterogeneous group has unknown field(s) {sorted(unknown)}; "
                f"expected those of ResourceGroup"
            )
        return dict(group)
    raise ExecutorError(f"heterogeneous groups are ResourceGroup or mappings, not {group!r}")


def check_fields(executor: SlurmExecutor) -> None:
    """Refuse field values Slurm would reject or misread, naming the field."""
    if executor.time is not None and not _TIME.fullmatch(str(executor.time)):
        raise ExecutorError(
            f"time={executor.time!r} is not a Slurm time: expected minutes, 'HH:MM:SS', "
            "'MM:SS' or 'D-HH[:MM[:SS]]'"
        )
    groups = [_group_fields(g) for g in executor.heterogeneous] or [dataclasses.asdict(executor)]
    for fields in groups:
        mem = fields.get("mem")
        if mem is not None and not _MEM.fullmatch(str(mem)):
            raise ExecutorError(f"mem={mem!r} is not a Slurm size: expected e.g. '4000M' or '16G'")
        for name in ("nodes", "ntasks_per_node", "cpus_per_task", "gpus_per_node"):
            value = fields.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ExecutorError(f"{name} must be a whole number of at least 1, got {value!r}")
    if executor.array is not None and not _LIMIT.fullmatch(executor.array):
        array_indices(executor.array)  # a bare '%10' is a sweep's limit, checked at launch
    for line in executor.setup_lines:
        if "\x00" in line or "\n" in line:
            raise ExecutorError(
                f"setup_lines item {line!r} holds a newline or NUL: give one line per item"
            )
    for dep in executor.dependencies:
        if not _DEPENDENCY.fullmatch(str(dep)):
            raise ExecutorError(
                f"dependencies item {dep!r} is not a job id, 'type:id[:id...]' "
                "(e.g. 'afterany:1234') or 'singleton'"
            )
    # render once to surface every unsafe value with its field's name
    render_sbatch(executor, job_name="check", paths=ScriptPaths("/j", "/j/t.yaml", "/r", "/w"))


def _dependency(executor: SlurmExecutor, job_ids: Sequence[str]) -> str | None:
    parts = [f"afterok:{job_id}" for job_id in job_ids if job_id]
    for dep in map(str, executor.dependencies):
        parts.append(dep if not dep[0].isdigit() else f"afterok:{dep}")
    return ",".join(parts) or None


def _srun(executor: SlurmExecutor, paths: ScriptPaths, groups: int) -> list[str]:
    """The srun line's options (quoted), container flags included."""
    args = ["srun"]
    if groups > 1:
        args.append(f"--het-group=0-{groups - 1}")
    if executor.launcher == "torchrun":
        # one torchrun agent per node starts the ranks; without --ntasks srun would take the
        # job's nodes x ntasks_per_node from SLURM_NTASKS and ignore --ntasks-per-node
        args += [f"--ntasks={executor.nodes}", "--ntasks-per-node=1"]
    if executor.container_image:
        mounts = [f"{paths.job_dir}:{paths.job_dir}", f"{paths.runtime}:{paths.runtime}"]
        if paths.workdir not in (paths.job_dir, paths.code):
            mounts.append(f"{paths.workdir}:{paths.workdir}")
        mounts.extend(executor.container_mounts)
        args.append(f"--container-image={executor.container_image}")
        args.append(f"--container-mounts={','.join(mounts)}")
        args.append(f"--container-workdir={executor.container_workdir or paths.workdir}")
    args.extend(executor.srun_args)
    return [shlex.quote(str(arg)) for arg in args]


def _command(executor: SlurmExecutor, task: str) -> list[str]:
    """The task runner's command; across nodes torchrun meets at the batch host."""
    if executor.launcher == "torchrun" and executor.nodes > 1:
        rendezvous = [
            "--rdzv-backend=c10d",
            '--rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT"',
            '--rdzv-id="$SLURM_JOB_ID"',
        ]
        parts = executor.task_command("\0TASK", rendezvous)
        raw = set(rendezvous)
        return [
            task if part == "\0TASK" else part if part in raw else shlex.quote(part)
            for part in parts
        ]
    return [
        task if part == "\0TASK" else shlex.quote(part) for part in executor.task_command("\0TASK")
    ]


def render_sbatch(
    executor: SlurmExecutor,
    *,
    job_name: str,
    paths: ScriptPaths,
    dependencies: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    sweep: int | None = None,
) -> str:
    """The sbatch script that runs the task runner on `paths.task` with the executor's fields.

    `dependencies` are job ids the job waits for (`afterok`); `env` adds variables after the
    executor's `env_vars`; `sweep=N` makes an array of N whose element i runs
    `<paths.task>/<i>.yaml`.
    """
    name = f"{executor.job_name_prefix}{job_name}"
    lines = ["#!/bin/bash", directive("job-name", name, field="job_name_prefix")]
    array = executor.array
    if sweep is not None:
        limit = (array or "").partition("%")[2]
        array = f"0-{sweep - 1}" + (f"%{limit}" if limit else "")
    output = "slurm-%A_%a.out" if array else "slurm-%j.out"
    lines.append(directive("output", f"{paths.job_dir}/{output}", field="job_dir", path=True))
    if executor.time is not None:
        lines.append(directive("time", executor.time))
    if array:
        lines.append(directive("array", array))
    dependency = _dependency(executor, dependencies)
    if dependency:
        lines.append(directive("dependency", dependency))
        lines.append(directive("kill-on-invalid-dep", "yes"))
    groups = [_group_fields(g) for g in executor.heterogeneous]
    if groups:
        for index, group in enumerate(groups):
            if index:
                lines.append("#SBATCH hetjob")
            lines.extend(_resources(group))
    else:
        lines.extend(_resources(dataclasses.asdict(executor)))
    lines.append("")
    lines.append("# written by nrun: the task runner on the exported task, under srun")
    variables = {
        **executor.env_vars,
        **(env or {}),
        "NRUN_JOB_DIR": paths.job_dir,
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in variables.items():
        lines.append(f"export {name}={shlex.quote(str(value))}")
    path = [p for p in (paths.code, paths.runtime) if p]
    lines.append(f'export PYTHONPATH={shlex.quote(":".join(path))}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    lines.extend(executor.setup_lines)
    lines.append(f"cd {shlex.quote(paths.workdir)} || exit 1")
    if executor.launcher == "torchrun" and executor.nodes > 1:
        lines.append(
            'MASTER_ADDR=$(scontrol show node "$SLURMD_NODENAME" '
            "| sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p')"
        )
        lines.append(f"export MASTER_ADDR MASTER_PORT={RDZV_PORT}")
    if sweep is not None:
        task = shlex.quote(paths.task) + '/"$SLURM_ARRAY_TASK_ID".yaml'
    else:
        task = shlex.quote(paths.task)
    run = " ".join([*_srun(executor, paths, len(groups) or 1), *_command(executor, task)])
    if executor.retries:
        lines += [
            "attempt=0",
            "while :; do",
            f"    {run}",
            "    status=$?",
            f'    if [ "$status" -eq 0 ] || [ "$attempt" -ge {int(executor.retries)} ]; then',
            "        break",
            "    fi",
            "    attempt=$((attempt + 1))",
            '    echo "nrun: attempt $attempt failed with exit code $status; trying again" >&2',
            "done",
            'exit "$status"',
        ]
    else:
        lines.append(run)
    return "\n".join(lines) + "\n"
