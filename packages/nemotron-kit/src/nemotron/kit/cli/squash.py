"""`nemotron kit squash PROFILE IMAGE`: a container image as an enroot squash file on a cluster.

The import runs on a compute node as ONE Slurm job, submitted through nrun's `SlurmExecutor`
for the profile (so SSH and login-node tunnels both work and the job is an nrun `Experiment`,
visible to `nrun experiment ...`). Its task is a stdlib `subprocess.run` of a short shell
script, so the cluster's Python needs nothing of ours. The file goes to
`<remote_job_dir or ~>/containers/<name>.sqsh`, its name made from the image by
`container_to_sqsh_name`; an existing file is kept unless `force`. Where the compute nodes have
no enroot the script says so first and `squash` raises one clear `SquashError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import shlex
import subprocess
from typing import TYPE_CHECKING, Any

from nemotron.kit._run_config import RunConfig, location
from nemotron.kit.exceptions import KitError, RunProfileError

if TYPE_CHECKING:
    from rich.console import Console

    from nrun.exec.base import Executor

__all__ = [
    "NO_ENROOT",
    "SquashError",
    "container_to_sqsh_name",
    "enroot_uri",
    "squash",
    "squash_command",
    "squash_path",
]

NO_ENROOT = "enroot: command not found"
"""What the job prints (to stderr, exit 127) on a compute node without enroot."""
TASK = "enroot-import"
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/:@#+]*")


class SquashError(KitError):
    """The image cannot be squashed: no enroot on the cluster, a failed import, a bad image."""


def container_to_sqsh_name(image: str) -> str:
    """A file name for the squashed `image`: runs of other characters become one `_`.

    >>> container_to_sqsh_name("nvcr.io/nvidian/nemo:25.11-nano-v3.rc2")
    'nvcr_io_nvidian_nemo_25_11_nano_v3_rc2.sqsh'
    >>> container_to_sqsh_name("rayproject/ray:nightly-extra-py312-cpu")
    'rayproject_ray_nightly_extra_py312_cpu.sqsh'
    """
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", image.removeprefix("docker://"))
    safe = re.sub(r"_+", "_", safe).strip("_")
    if not safe:
        raise SquashError(f"{image!r} is not a container image")
    return f"{safe}.sqsh"


def enroot_uri(image: str) -> str:
    """The `docker://` URI enroot imports: a registry host is separated by `#`, as enroot wants.

    >>> enroot_uri("nvcr.io/nvidia/pytorch:24.01-py3")
    'docker://nvcr.io#nvidia/pytorch:24.01-py3'
    >>> enroot_uri("ubuntu:22.04")
    'docker://ubuntu:22.04'
    """
    if "://" in image:
        return image
    host, slash, rest = image.partition("/")
    if slash and "#" not in image and ("." in host or ":" in host or host == "localhost"):
        return f"docker://{host}#{rest}"
    return f"docker://{image}"


def squash_path(config: RunConfig, image: str) -> str:
    """Where the squash file of `image` goes: `<remote_job_dir or ~>/containers/<name>`."""
    base = (config.remote_job_dir or "~").rstrip("/") or "/"
    return f"{base}/containers/{container_to_sqsh_name(image)}"


def _shell_path(path: str) -> str:
    """`path` for a shell line: quoted, with a leading `~` kept as `$HOME`."""
    if path == "~" or path.startswith("~/"):
        return '"$HOME"' + (shlex.quote(path[1:]) if len(path) > 1 else "")
    return shlex.quote(path)


def squash_command(image: str, path: str, *, force: bool = False) -> str:
    """The shell script the job runs: check for enroot, then `enroot import -o PATH URI`."""
    target = _shell_path(path)
    folder = _shell_path(path.rsplit("/", 1)[0] or "/")
    cache = _shell_path(f"{path.rsplit('/', 1)[0] or ''}/.enroot")
    lines = [
        "set -e",
        "command -v enroot >/dev/null 2>&1 || "
        f'{{ echo "{NO_ENROOT} on ${{SLURMD_NODENAME:-$(hostname)}}" >&2; exit 127; }}',
        f"mkdir -p {folder}",
        # enroot's default runtime/cache folders are often not writable by users
        f'export ENROOT_CACHE_PATH="${{ENROOT_CACHE_PATH:-{cache}/cache}}"',
        f'export ENROOT_DATA_PATH="${{ENROOT_DATA_PATH:-{cache}/data}}"',
        f'export ENROOT_RUNTIME_PATH="${{ENROOT_RUNTIME_PATH:-{cache}/runtime}}"',
        'mkdir -p "$ENROOT_CACHE_PATH" "$ENROOT_DATA_PATH" "$ENROOT_RUNTIME_PATH"',
    ]
    if force:
        lines.append(f"rm -f {target}")
    lines.append(f"enroot import --output {target} {shlex.quote(enroot_uri(image))}")
    return "\n".join(lines) + "\n"


def _check(profile: str, image: str) -> RunConfig:
    from nemotron.kit.run import load_run_profile

    config = load_run_profile(profile)
    if config.executor != "slurm":
        raise RunProfileError(
            f"{location(config)}: squash runs enroot through Slurm and needs "
            f'executor = "slurm", not {config.executor!r}'
        )
    if not _IMAGE.fullmatch(image):
        raise SquashError(f"{image!r} is not a container image reference (e.g. nvcr.io/nvidia/x:1)")
    return config


def _executor(config: RunConfig) -> Executor:
    """The profile's `SlurmExecutor` for one task on one node, outside any container."""
    from nemotron.kit.run import build_executor

    one = dataclasses.replace(
        config,
        nodes=1,
        nproc_per_node=None,
        ntasks_per_node=1,
        container_image=None,
        mounts=[],
        array=None,
        launcher=None,
        detach=False,
    )
    return build_executor(one)


def squash(
    profile: str,
    image: str,
    *,
    dry_run: bool = False,
    force: bool = False,
    console: Console | None = None,
) -> int:
    """Squash `image` with enroot on a compute node of the Slurm cluster of `profile`.

    Returns 0 when the file was made or was there already. With `dry_run`, prints the target
    and the job's script and submits nothing (nor contacts the cluster).

    Raises:
        RunProfileError: the profile is unknown, bad, or not a Slurm one.
        SquashError: one line: a bad image, an unreachable cluster, no enroot on the
            compute nodes, or a failed import.
    """
    from rich.console import Console
    from rich.markup import escape

    out = console or Console()
    config = _check(profile, image)
    target = squash_path(config, image)
    if dry_run:
        out.print(f"[bold]Dry run[/bold]: would squash [cyan]{escape(image)}[/cyan] into")
        out.print(f"  [cyan]{escape(target)}[/cyan] with one Slurm job running:", soft_wrap=True)
        out.print(
            escape(squash_command(image, target, force=force)), highlight=False, soft_wrap=True
        )
        return 0

    from nrun.exec.base import ExecutorError

    executor = _executor(config)
    tunnel: Any = getattr(executor, "tunnel", None)
    where = location(config)
    try:
        path = tunnel.resolve(target)
        if not force and tunnel.run(f"test -f {shlex.quote(path)}").returncode == 0:
            out.print(f"[green]✓[/green] {escape(path)} is there already (--force makes it again)")
            return 0
        job = _run(executor, image, path, force, out)
    except ExecutorError as exc:
        raise SquashError(f"{where}: {' '.join(str(exc).split())}") from None
    finally:
        if tunnel is not None:
            tunnel.close()
    out.print(f"[green]✓[/green] squashed {escape(image)} into [cyan]{escape(path)}[/cyan] ({job})")
    return 0


def _run(executor: Executor, image: str, path: str, force: bool, out: Console) -> str:
    """Submit the import as one task of an nrun `Experiment`; wait; explain a failure."""
    from rich.markup import escape

    from nrun.config import Partial
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment
    from nrun.exec.store import task_record

    command = squash_command(image, path, force=force)
    task = Partial(subprocess.run, args=["/bin/sh", "-c", command], check=True)
    experiment = Experiment("squash", executor=executor)
    experiment.add(task, name=TASK)
    out.print(
        f"Squashing [cyan]{escape(image)}[/cyan] on a compute node (experiment {experiment.id});"
        " this can take minutes..."
    )
    report = io.StringIO()
    with contextlib.redirect_stderr(report):  # the experiment's failure report: explained below
        experiment.run()
    status = experiment.statuses()[TASK]
    job_id = task_record(experiment.dir / "tasks" / TASK).get("job_id")
    if status.state == JobState.SUCCEEDED:
        return f"Slurm job {job_id}"
    log = experiment.logs(TASK)
    if NO_ENROOT in log:
        node = log.split(NO_ENROOT, 1)[1].split("\n", 1)[0].replace(" on ", "", 1).strip()
        raise SquashError(
            "enroot is not installed on the cluster's compute nodes"
            + (f" ({node})" if node else "")
            + "; install enroot (https://github.com/NVIDIA/enroot) there to squash images"
        )
    last = [line.strip() for line in log.splitlines() if line.strip()]
    reason = status.reason or (last[-1] if last else status.state.value)
    raise SquashError(
        f"enroot import of {image} failed ({' '.join(reason.split())}); "
        f"see `nrun experiment logs {experiment.id} {TASK}`"
    )
