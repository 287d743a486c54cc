"""The sbatch script of a job, rendered by a pure function from the executor's fields.

Values end up in two places, each made safe its own way: `#SBATCH` lines, which sbatch splits
on whitespace (a value with whitespace, quotes, backslashes or control characters is refused),
and shell lines, where every value is quoted with `shlex.quote`. `setup_lines` are the user's
own shell commands and are written as they are.

The renderer reads the executor through `SbatchFields`, a protocol it declares, so this module
imports nothing of the executor's: the arrow points from `_executor` to here only.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from nrun.exec.base import ExecutorError

__all__ = [
    "ArrayElement",
    "ResourceGroup",
    "SbatchFields",
    "ScriptPaths",
    "array_indices",
    "directive",
    "render_sbatch",
]

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


_GROUP_FIELDS = tuple(f.name for f in dataclasses.fields(ResourceGroup))


class SbatchFields(Protocol):
    """What the script is rendered from: the fields (and task command) of `SlurmExecutor`."""

    account: str | None
    partition: str | None
    qos: str | None
    time: str | None
    nodes: int
    ntasks_per_node: int
    cpus_per_task: int | None
    gpus_per_node: int | None
    gres: str | None
    mem: str | None
    exclusive: bool
    constraint: str | None
    job_name_prefix: str
    setup_lines: list[str]
    srun_args: list[str]
    additional_parameters: dict[str, Any]
    array: str | None
    dependencies: list[str]
    heterogeneous: list[ResourceGroup]
    container_image: str | None
    container_mounts: list[str]
    container_workdir: str | None
    env_vars: dict[str, str]
    launcher: Literal["torchrun"] | None
    retries: int

    def task_command(self, config: str, rendezvous: list[str] | None = None) -> list[str]:
        """The task runner's command on `config` (through torchrun if asked)."""
        ...


@dataclasses.dataclass(frozen=True)
class ArrayElement:
    """One job of a job array made of several jobs: its own name, folder, task and workdir."""

    name: str
    job_dir: str
    task: str
    workdir: str
    experiment_id: str = ""


# In an array of jobs these stand for the element's own values; the script sets them per
# `SLURM_ARRAY_TASK_ID`. NUL cannot be in a path, so a real value never looks like one.
ELEMENT_DIR = "\0dir\0"
ELEMENT_TASK = "\0task\0"
ELEMENT_WORKDIR = "\0workdir\0"
_ELEMENT_VARS = {
    ELEMENT_DIR: "NRUN_JOB_DIR",
    ELEMENT_TASK: "nrun_task",
    ELEMENT_WORKDIR: "nrun_workdir",
}
_ELEMENT_TOKEN = re.compile("|".join(map(re.escape, _ELEMENT_VARS)))


def _q(text: str) -> str:
    """`text` as one shell word: quoted, with element placeholders expanded from variables."""
    if "\0" not in text:
        return shlex.quote(text)
    parts, at = [], 0
    for match in _ELEMENT_TOKEN.finditer(text):
        if match.start() > at:
            parts.append(shlex.quote(text[at : match.start()]))
        parts.append(f'"${_ELEMENT_VARS[match.group()]}"')
        at = match.end()
    if at < len(text):
        parts.append(shlex.quote(text[at:]))
    return "".join(parts)


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
        unknown = set(group) - set(_GROUP_FIELDS)
        if unknown:
            raise ExecutorError(
                f"heterogeneous group has unknown field(s) {sorted(unknown)}; "
                f"expected those of ResourceGroup"
            )
        return dict(group)
    raise ExecutorError(f"heterogeneous groups are ResourceGroup or mappings, not {group!r}")


def _own_fields(executor: SbatchFields) -> dict[str, Any]:
    """The executor's resource fields, as one group."""
    return {name: getattr(executor, name) for name in _GROUP_FIELDS}


def check_fields(executor: SbatchFields) -> None:
    """Refuse field values Slurm would reject or misread, naming the field."""
    if executor.time is not None and not _TIME.fullmatch(str(executor.time)):
        raise ExecutorError(
            f"time={executor.time!r} is not a Slurm time: expected minutes, 'HH:MM:SS', "
            "'MM:SS' or 'D-HH[:MM[:SS]]'"
        )
    groups = [_group_fields(g) for g in executor.heterogeneous] or [_own_fields(executor)]
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


def _dependency(executor: SbatchFields, job_ids: Sequence[str]) -> str | None:
    parts = [f"afterok:{job_id}" for job_id in job_ids if job_id]
    for dep in map(str, executor.dependencies):
        parts.append(dep if not dep[0].isdigit() else f"afterok:{dep}")
    return ",".join(parts) or None


def _srun(executor: SbatchFields, paths: ScriptPaths, groups: int) -> list[str]:
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
        if paths.code and not paths.code.startswith(f"{paths.job_dir}/"):
            mounts.append(f"{paths.code}:{paths.code}")  # an array's, shared by its elements
        if paths.workdir not in (paths.job_dir, paths.code):
            mounts.append(f"{paths.workdir}:{paths.workdir}")
        mounts.extend(executor.container_mounts)
        args.append(f"--container-image={executor.container_image}")
        args.append(f"--container-mounts={','.join(mounts)}")
        args.append(f"--container-workdir={executor.container_workdir or paths.workdir}")
    args.extend(executor.srun_args)
    return [_q(str(arg)) for arg in args]


def _command(executor: SbatchFields, task: str) -> list[str]:
    """The task runner's command; across nodes torchrun meets at the batch host."""
    if executor.launcher == "torchrun" and executor.nodes > 1:
        rendezvous = [
            "--rdzv-backend=c10d",
            '--rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT"',
            '--rdzv-id="$SLURM_JOB_ID"',
        ]
        parts = executor.task_command("\0TASK", rendezvous)
        raw = set(rendezvous)
        return [task if part == "\0TASK" else part if part in raw else _q(part) for part in parts]
    return [task if part == "\0TASK" else _q(part) for part in executor.task_command("\0TASK")]


def render_sbatch(
    executor: SbatchFields,
    *,
    job_name: str,
    paths: ScriptPaths,
    dependencies: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    sweep: int | None = None,
    elements: Sequence[ArrayElement] = (),
) -> str:
    """The sbatch script that runs the task runner on `paths.task` with the executor's fields.

    `dependencies` are job ids the job waits for (`afterok`); `env` adds variables after the
    executor's `env_vars`; `sweep=N` makes an array of N whose element i runs
    `<paths.task>/<i>.yaml`. `elements` makes an array of those jobs: element i runs
    `elements[i].task` in `elements[i].workdir`, with its own `NRUN_JOB_DIR` and task name, and
    writes its output in its own folder, through the link `<paths.job_dir>/<i>` to it (so
    `paths.job_dir` is the array's folder; `paths.task` and `paths.workdir` are not used).
    Everything the job writes is owner-only (`umask 077`): `env_vars` may hold secrets.
    """
    name = f"{executor.job_name_prefix}{job_name}"
    lines = ["#!/bin/bash", directive("job-name", name, field="job_name_prefix")]
    array = executor.array
    if sweep is not None:
        limit = (array or "").partition("%")[2]
        array = f"0-{sweep - 1}" + (f"%{limit}" if limit else "")
    if elements:
        array = f"0-{len(elements) - 1}"
        output = "%a/slurm-%A_%a.out"
    else:
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
        lines.extend(_resources(_own_fields(executor)))
    lines.append("")
    lines.append("# written by nrun: the task runner on the exported task, under srun")
    lines.append("umask 077")
    variables = {**executor.env_vars, **(env or {})}
    if not elements:
        variables["NRUN_JOB_DIR"] = paths.job_dir
    variables["PYTHONUNBUFFERED"] = "1"
    for name, value in variables.items():
        lines.append(f"export {name}={shlex.quote(str(value))}")
    if elements:
        lines.extend(_element_cases(elements))
        workdirs = {element.workdir for element in elements}
        if all(element.workdir == element.job_dir for element in elements):
            workdir = ELEMENT_DIR
        else:
            workdir = workdirs.pop() if len(workdirs) == 1 else ELEMENT_WORKDIR
        paths = dataclasses.replace(paths, job_dir=ELEMENT_DIR, task=ELEMENT_TASK, workdir=workdir)
    path = [p for p in (paths.code, paths.runtime) if p]
    lines.append(f'export PYTHONPATH={shlex.quote(":".join(path))}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    lines.extend(executor.setup_lines)
    lines.append(f"cd {_q(paths.workdir)} || exit 1")
    if executor.launcher == "torchrun" and executor.nodes > 1:
        lines.append(
            'MASTER_ADDR=$(scontrol show node "$SLURMD_NODENAME" '
            "| sed -n 's/.*NodeAddr=\\([^ ]*\\).*/\\1/p')"
        )
        lines.append(f"export MASTER_ADDR MASTER_PORT={RDZV_PORT}")
    if sweep is not None:
        task = shlex.quote(paths.task) + '/"$SLURM_ARRAY_TASK_ID".yaml'
    else:
        task = _q(paths.task)
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


def _element_cases(elements: Sequence[ArrayElement]) -> list[str]:
    """A `case` on the array index setting each element's own folder, task and workdir."""
    lines = ['case "$SLURM_ARRAY_TASK_ID" in']
    for index, element in enumerate(elements):
        q = shlex.quote
        values = [
            f"NRUN_JOB_DIR={q(element.job_dir)}",
            f"NRUN_TASK_NAME={q(element.name)}",
        ]
        if element.experiment_id:
            values.append(f"NRUN_EXPERIMENT_ID={q(element.experiment_id)}")
        values += [f"nrun_task={q(element.task)}", f"nrun_workdir={q(element.workdir)}"]
        lines.append(f"    {index}) {' '.join(values)} ;;")
    lines.append('    *) echo "nrun: no task for array index $SLURM_ARRAY_TASK_ID" >&2; exit 1 ;;')
    lines.append("esac")
    lines.append(
        "export NRUN_JOB_DIR NRUN_TASK_NAME"
        + (" NRUN_EXPERIMENT_ID" if any(e.experiment_id for e in elements) else "")
    )
    return lines
