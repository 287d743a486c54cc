"""Where nrun's files go on a cluster: the jobs' folders, and its task runner, once per version."""

from __future__ import annotations

import os
import secrets
import shlex
import time
from pathlib import Path

from nrun.exec.base import ExecutorError, Job
from nrun.exec.runtime import runtime_archive, runtime_name
from nrun.exec.slurm._tunnel import LocalTunnel, Tunnel
from nrun.exec.store import nrun_home

__all__ = ["remote_dir", "roots", "runtime", "runtime_dir"]

_ready_runtimes: set[tuple[str, str]] = set()
"""(tunnel key, runtime folder) pairs this process has checked or unpacked."""


def _forget_in_child() -> None:
    """A forked child checks the runtime again (cheap), as it opens its own connections."""
    _ready_runtimes.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def roots(tunnel: Tunnel, *, ask: bool = True) -> tuple[str, str]:
    """The cluster folders for jobs (empty: each job's local dir) and for nrun's own files.

    With `ask=False` the cluster is not asked (see `Tunnel.resolve`).
    """
    if tunnel.job_dir:
        root = tunnel.resolve(tunnel.job_dir, ask=ask)
        return root, f"{root}/.nrun"
    if not isinstance(tunnel, LocalTunnel):
        raise ExecutorError(f"{type(tunnel).__name__} needs a job_dir on the cluster")
    return "", str(nrun_home() / "slurm")


def remote_dir(tunnel: Tunnel, local: Path, job: Job, *, ask: bool = True) -> str:
    """The job's folder on the cluster: `<root>/<experiment id>/<task>`, or a fresh one."""
    root, _ = roots(tunnel, ask=ask)
    if not root:
        return str(local)
    if job.experiment_id:
        return f"{root}/{job.experiment_id}/{job.name}"
    return f"{root}/{job.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def runtime_dir(tunnel: Tunnel) -> str:
    """Where `runtime` puts nrun's task runner, found without writing or asking the cluster."""
    _, base = roots(tunnel, ask=False)
    return f"{base}/{runtime_name()}"


def runtime(tunnel: Tunnel) -> str:
    """Nrun's task runner unpacked on the cluster (copied there once per version), owner-only."""
    _, base = roots(tunnel)
    archive = runtime_archive(nrun_home() / "runtime")
    folder = f"{base}/{archive.name.removesuffix('.tar.gz')}"
    key = (tunnel.key, folder)
    if key in _ready_runtimes:
        return folder
    q = shlex.quote
    uploads = f"{base}/uploads"
    found = tunnel.run(f"umask 077 && mkdir -p {q(uploads)} && test -d {q(folder)}")
    if found.returncode != 0:
        if found.stderr.strip():
            raise ExecutorError(f"cannot prepare {base} on the cluster: {found.first_error()}")
        sent = f"{uploads}/{archive.name}.{secrets.token_hex(4)}"
        tunnel.put(archive, sent)
        tmp = f"{folder}.{secrets.token_hex(4)}"
        unpacked = tunnel.run(
            f"umask 077 && mkdir -p {q(tmp)} && tar -xzf {q(sent)} -C {q(tmp)} && "
            f"chmod -R go= {q(tmp)} && rm -f {q(sent)} && "
            # a concurrent launcher may have unpacked it first: keep theirs
            f"(mv -T {q(tmp)} {q(folder)} 2>/dev/null || rm -rf {q(tmp)}) && "
            f"test -d {q(folder)}"
        )
        if unpacked.returncode != 0:
            raise ExecutorError(
                f"cannot unpack nrun's runtime on the cluster: {unpacked.first_error()}"
            )
    _ready_runtimes.add(key)
    return folder
