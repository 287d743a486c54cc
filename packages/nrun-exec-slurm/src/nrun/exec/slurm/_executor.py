"""`SlurmExecutor`: the task runner as a Slurm batch job, submitted through a tunnel."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from nrun.exec.base import Executor, ExecutorError, Job, JobState, JobStatus, UnknownJobError
from nrun.exec.runtime import runtime_archive
from nrun.exec.slurm._sbatch import (
    ResourceGroup,
    ScriptPaths,
    array_indices,
    check_fields,
    render_sbatch,
)
from nrun.exec.slurm._status import (
    QUERY_SEPARATOR,
    Row,
    parse_rows,
    query_command,
    summarize,
)
from nrun.exec.slurm._tunnel import LocalTunnel, Tunnel, TunnelError
from nrun.exec.store import nrun_home, read_json, write_json

__all__ = ["SlurmExecutor"]

RECORD = "slurm.json"
CANCELLED = "cancelled"
"""A file in the local job dir: this job was cancelled by us, not by Slurm."""
DEPENDENCY_FAILED = "a dependency failed (never satisfied)"
SCRIPT = "job.sbatch"
_ready_runtimes: set[tuple[str, str]] = set()
"""(tunnel key, runtime folder) pairs this process has checked or unpacked."""


@dataclasses.dataclass(kw_only=True)
class SlurmExecutor(Executor):
    """Run the task as a Slurm batch job: `srun <python> -m nrun.exec.task <task file>`.

    Files go to the cluster through `tunnel` (`LocalTunnel` on the login node, `SSHTunnel`
    from anywhere): the task file, the sbatch script, the packaged code, and once per cluster
    a copy of nrun's task runner, so the cluster's `python` needs nothing of nrun installed.
    Output goes to `slurm-<job id>.out` in the job's folder there.
    """

    account: str | None = None
    partition: str | None = None
    qos: str | None = None
    time: str | None = None
    cpus_per_task: int | None = None
    gpus_per_node: int | None = None
    gres: str | None = None
    mem: str | None = None
    exclusive: bool = False
    constraint: str | None = None
    job_name_prefix: str = "nrun-"
    setup_lines: list[str] = dataclasses.field(default_factory=list)
    """Shell lines run before the task (module loads, `source venv/bin/activate`), as written."""
    srun_args: list[str] = dataclasses.field(default_factory=list)
    additional_parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    """More `#SBATCH` options: `{"mail_type": "END"}` → `#SBATCH --mail-type=END`."""
    array: str | None = None
    """`--array` spec: each element runs the task with its `SLURM_ARRAY_TASK_ID`."""
    dependencies: list[str] = dataclasses.field(default_factory=list)
    """Jobs outside the experiment to wait for: `1234` (afterok) or `afterany:1234`."""
    heterogeneous: list[ResourceGroup] = dataclasses.field(default_factory=list)
    container_image: str | None = None
    container_mounts: list[str] = dataclasses.field(default_factory=list)
    container_workdir: str | None = None
    tunnel: Tunnel = dataclasses.field(default_factory=LocalTunnel)

    name: ClassVar[str] = "slurm"
    supports_dependencies: ClassVar[bool] = True
    poll_interval: ClassVar[float] = 0.5

    # -- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """The common checks and Slurm's: every value must be safe in the script."""
        super().validate()
        if not isinstance(self.tunnel, Tunnel):
            raise ExecutorError(
                f"tunnel must be a LocalTunnel or an SSHTunnel, not {self.tunnel!r}"
            )
        if self.heterogeneous and self.array:
            raise ExecutorError("Slurm cannot make a job array of a heterogeneous job")
        if self.heterogeneous and self.launcher == "torchrun":
            raise ExecutorError("launcher='torchrun' needs one resource group, not heterogeneous")
        check_fields(self)

    def describe(self) -> str:
        """`slurm 2x4 gpu@ssh://user@host:22`."""
        nodes = f"{self.nodes}x{self.ntasks_per_node}"
        where = self.partition or "default partition"
        return f"slurm {nodes} {where} via {self.tunnel.key}"

    # -- where things go ---------------------------------------------------------------------
    def _roots(self) -> tuple[str, str]:
        """The cluster folders for jobs (empty: the local job dir) and for nrun's runtime."""
        if self.tunnel.job_dir:
            root = self.tunnel.resolve(self.tunnel.job_dir)
            return root, f"{root}/.nrun"
        if not isinstance(self.tunnel, LocalTunnel):
            raise ExecutorError(f"{type(self.tunnel).__name__} needs a job_dir on the cluster")
        return "", str(nrun_home() / "slurm")

    def _remote_dir(self, local: Path, job: Job) -> str:
        root, _ = self._roots()
        if not root:
            return str(local)
        if job.experiment_id:
            return f"{root}/{job.experiment_id}/{job.name}"
        return f"{root}/{job.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"

    def _runtime(self) -> str:
        """Nrun's task runner unpacked on the cluster (copied there once per version)."""
        _, base = self._roots()
        local_cache = nrun_home() / "runtime"
        archive = runtime_archive(local_cache)
        folder = f"{base}/{archive.name.removesuffix('.tar.gz')}"
        key = (self.tunnel.key, folder)
        if key in _ready_runtimes:
            return folder
        q = shlex.quote
        uploads = f"{base}/uploads"
        found = self.tunnel.run(f"mkdir -p {q(uploads)} && test -d {q(folder)}")
        if found.returncode != 0:
            if found.stderr.strip():
                raise ExecutorError(f"cannot prepare {base} on the cluster: {found.first_error()}")
            sent = f"{uploads}/{archive.name}.{secrets.token_hex(4)}"
            self.tunnel.put(archive, sent)
            tmp = f"{folder}.{secrets.token_hex(4)}"
            unpacked = self.tunnel.run(
                f"mkdir -p {q(tmp)} && tar -xzf {q(sent)} -C {q(tmp)} && rm -f {q(sent)} && "
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

    # -- launching ---------------------------------------------------------------------------
    def launch(self, job: Job) -> str:
        """Package, copy the files to the cluster, `sbatch --parsable`, record the job id."""
        return self._submit(job, [Path(job.config)])

    def launch_array(self, job: Job, configs: Sequence[Path]) -> str:
        """Submit one job array whose element i runs `configs[i]` (a sweep in one job).

        `array`'s `%limit` (e.g. `array="%10"`) still caps how many run at once.
        """
        if not configs:
            raise ExecutorError("launch_array needs at least one task file")
        return self._submit(job, [Path(c) for c in configs], sweep=True)

    def _submit(self, job: Job, configs: list[Path], sweep: bool = False) -> str:
        self.validate()
        if self.array and sweep and not self.array.startswith("%"):
            raise ExecutorError(
                f"array={self.array!r}: a sweep makes its own array; only a limit like '%10' "
                "may be given"
            )
        if self.array and not sweep and self.array.startswith("%"):
            raise ExecutorError(
                f"array={self.array!r} is only a limit: give the indices too "
                f"(e.g. '0-3{self.array}'), or launch a sweep with launch_array"
            )
        local = self.ensure_job_dir()
        for stale in (RECORD, CANCELLED):
            (local / stale).unlink(missing_ok=True)
        remote = self._remote_dir(local, job)
        staged: dict[str, Path] = {}
        if sweep:
            folder = local / "tasks"
            folder.mkdir(exist_ok=True)
            for index, config in enumerate(configs):
                target = folder / f"{index}{config.suffix}"
                target.write_bytes(config.read_bytes())
                staged[f"tasks/{index}{config.suffix}"] = target
            if any(c.suffix != ".yaml" for c in configs):
                raise ExecutorError("a sweep array takes .yaml task files")
            task = f"{remote}/tasks"
        else:
            config = configs[0]
            target = local / f"task{config.suffix}"
            if config.resolve() != target.resolve():
                target.write_bytes(config.read_bytes())
            staged[target.name] = target
            task = f"{remote}/{target.name}"
        code = None
        if self.packager is not None:
            staged["code.tar.gz"] = self.packager.package(Path.cwd(), local)
            code = f"{remote}/code"
        workdir = code or (os.getcwd() if isinstance(self.tunnel, LocalTunnel) else remote)
        paths = ScriptPaths(remote, task, self._runtime(), workdir, code)
        env = {"NRUN_TASK_NAME": job.name}
        if job.experiment_id:
            env["NRUN_EXPERIMENT_ID"] = job.experiment_id
        script = render_sbatch(
            self,
            job_name=job.name,
            paths=paths,
            dependencies=job.dependencies,
            env=env,
            sweep=len(configs) if sweep else None,
        )
        # the script holds env_vars, which may be secrets: only the owner reads it
        (local / SCRIPT).touch(mode=0o600)
        (local / SCRIPT).write_text(script)
        staged[SCRIPT] = local / SCRIPT
        job_id = self._send_and_submit(local, remote, staged, code is not None)
        count = len(configs) if sweep else None
        indices = list(range(count)) if count else (array_indices(self.array) if self.array else [])
        write_json(
            local / RECORD,
            {
                "job_id": job_id,
                "tunnel": self.tunnel.key,
                "remote_dir": remote,
                "array": [str(i) for i in indices],
                "dependencies": list(job.dependencies),
                "submitted": time.time(),
            },
        )
        return job_id

    def _send_and_submit(
        self, local: Path, remote: str, staged: dict[str, Path], code: bool
    ) -> str:
        """One copy (a tar of the job's files) and one command: unpack, `sbatch --parsable`."""
        q = shlex.quote
        steps = ["umask 077"]  # the job's files may hold secrets (env_vars)
        if remote != str(local):
            _, base = self._roots()
            with tempfile.TemporaryDirectory(prefix="nrun-slurm-") as tmp:
                bundle = Path(tmp) / "job.tar"
                with tarfile.open(bundle, "w") as tar:
                    for name, path in staged.items():
                        tar.add(path, arcname=name, recursive=False)
                sent = f"{base}/uploads/{secrets.token_hex(8)}.tar"
                self.tunnel.put(bundle, sent)
            steps += [
                f"mkdir -p {q(remote)}",
                f"tar -xf {q(sent)} -C {q(remote)}",
                f"rm -f {q(sent)}",
            ]
        if code:
            steps += [
                f"rm -rf {q(remote)}/code",
                f"mkdir {q(remote)}/code",
                f"tar -xzf {q(remote)}/code.tar.gz -C {q(remote)}/code",
            ]
        steps.append(f"sbatch --parsable {q(remote)}/{SCRIPT}")
        command = " && ".join(steps)
        if remote != str(local):  # nothing is left on the cluster by a job that was not queued
            command = f"{{ {command}; }} || {{ rc=$?; rm -rf {q(remote)} {q(sent)}; exit $rc; }}"
        done = self.tunnel.run(command, idempotent=False)
        if done.returncode != 0:
            raise ExecutorError(f"submitting the job failed: {done.first_error()}")
        job_id = done.stdout.strip().splitlines()[-1].split(";")[0] if done.stdout.strip() else ""
        if not job_id.isdigit():
            raise ExecutorError(f"sbatch printed no job id: {done.stdout.strip()!r}")
        return job_id

    # -- tracking ----------------------------------------------------------------------------
    def _record(self, job_id: str) -> dict[str, Any]:
        local = Path(self.job_dir).expanduser()
        record = read_json(local / RECORD) if self.job_dir else None
        if record is None or record.get("job_id") != str(job_id):
            raise UnknownJobError(f"no Slurm job {job_id!r} in '{local}'")
        return record

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Statuses of many jobs with one squeue + sacct command per cluster."""
        results: list[JobStatus | None] = [None] * len(jobs)
        by_tunnel: dict[str, list[int]] = {}
        records: dict[int, dict[str, Any]] = {}
        for i, (executor, job_id) in enumerate(jobs):
            assert isinstance(executor, SlurmExecutor)
            try:
                records[i] = executor._record(job_id)
            except UnknownJobError as exc:
                results[i] = JobStatus(JobState.FAILED, reason=f"lost track of the job: {exc}")
                continue
            by_tunnel.setdefault(executor.tunnel.key, []).append(i)
        for indices in by_tunnel.values():
            tunnel = jobs[indices[0]][0].tunnel  # type: ignore[attr-defined]
            try:
                statuses = _query(tunnel, [(jobs[i][1], records[i]) for i in indices])
            except ExecutorError as exc:
                statuses = [JobStatus(JobState.UNKNOWN, reason=str(exc))] * len(indices)
            for i, status in zip(indices, statuses, strict=False):
                executor = jobs[i][0]
                assert isinstance(executor, SlurmExecutor)
                results[i] = executor._settle(jobs[i][1], status, records[i])
        return [status or JobStatus(JobState.UNKNOWN) for status in results]

    def status(self, job_id: str) -> JobStatus:
        """From squeue while the job is queued or running, from sacct once it has ended."""
        record = self._record(job_id)
        return self._settle(job_id, _query(self.tunnel, [(job_id, record)])[0], record)

    def _settle(self, job_id: str, status: JobStatus, record: dict[str, Any]) -> JobStatus:
        """Name a failed dependency as the reason, and cancel what Slurm would hold forever."""
        if status.state == JobState.PENDING and "DependencyNeverSatisfied" in status.reason:
            self.tunnel.run(f"scancel {shlex.quote(job_id)}")
            return JobStatus(JobState.CANCELLED, reason=DEPENDENCY_FAILED)
        if status.state != JobState.CANCELLED:
            return status
        waited = [d for d in record.get("dependencies", []) if d.isdigit()]
        if waited and not (Path(self.job_dir).expanduser() / CANCELLED).exists():
            # cancelled by Slurm (--kill-on-invalid-dep) or by hand: its dependencies tell which
            found = _query(self.tunnel, [(d, {}) for d in waited])
            if any(f.state in (JobState.FAILED, JobState.CANCELLED) for f in found):
                return JobStatus(JobState.CANCELLED, status.exit_code, DEPENDENCY_FAILED)
        return status

    def _output_files(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        """(label, path) of each output file: one, or one per array element."""
        remote, job_id = record["remote_dir"], record["job_id"]
        if not record.get("array"):
            return [("", f"{remote}/slurm-{job_id}.out")]
        return [(f"[{i}] ", f"{remote}/slurm-{job_id}_{i}.out") for i in record["array"]]

    def logs(self, job_id: str, follow: bool = False) -> Iterator[str]:
        """The job's output file(s) through the tunnel; array elements' lines marked `[i]`."""
        record = self._record(job_id)
        files = self._output_files(record)
        offsets = dict.fromkeys((path for _, path in files), 0)
        pending = dict.fromkeys((path for _, path in files), b"")
        while True:
            final = not follow or self.status(job_id).state.final
            for label, path in files:
                data = self.tunnel.read(path, offsets[path])
                if not data:
                    continue
                offsets[path] += len(data)
                *lines, pending[path] = (pending[path] + data).split(b"\n")
                for line in lines:
                    yield label + line.decode(errors="replace")
            if final:
                break
            time.sleep(self.poll_interval)
        for label, path in files:
            if pending[path]:
                yield label + pending[path].decode(errors="replace")

    def cancel(self, job_id: str) -> None:
        """`scancel` the job (all of an array's elements); a finished job is left alone."""
        self._record(job_id)  # an unknown id is an error here, not a status
        (status,) = self.batch_cancel([(self, job_id)])
        if status.state == JobState.UNKNOWN:
            raise ExecutorError(f"cannot cancel Slurm job {job_id}: {status.reason}")
        if not status.state.final:
            raise ExecutorError(f"Slurm job {job_id} is still {status.state} 30 s after scancel")

    @classmethod
    def batch_cancel(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """One `scancel` per cluster for all the jobs, then their statuses once final."""
        live = [
            (executor, job_id, status)
            for (executor, job_id), status in zip(jobs, cls.batch_status(jobs), strict=True)
            if not status.state.final and status.state != JobState.UNKNOWN
        ]
        by_tunnel: dict[str, list[tuple[SlurmExecutor, str]]] = {}
        for executor, job_id, _ in live:
            assert isinstance(executor, SlurmExecutor)
            (Path(executor.job_dir).expanduser() / CANCELLED).write_text(str(time.time()))
            by_tunnel.setdefault(executor.tunnel.key, []).append((executor, job_id))
        for members in by_tunnel.values():
            ids = " ".join(shlex.quote(job_id) for _, job_id in members)
            members[0][0].tunnel.run(f"scancel {ids}")  # already-finished ids only warn
        deadline = time.monotonic() + 30
        statuses = cls.batch_status(jobs)
        while not all(s.state.final for s in statuses) and time.monotonic() < deadline:
            if any(s.state == JobState.UNKNOWN for s in statuses):
                break  # the cluster does not answer: say so rather than wait
            time.sleep(cls.poll_interval / 2)
            statuses = cls.batch_status(jobs)
        return statuses


def _query(tunnel: Tunnel, jobs: list[tuple[str, dict[str, Any]]]) -> list[JobStatus]:
    """One round trip: squeue for live jobs, then sacct; scontrol where accounting is off."""
    ids = sorted({job_id for job_id, _ in jobs}, key=int)
    done = tunnel.run(query_command(ids))
    live_text, _, acct_text = done.stdout.partition(QUERY_SEPARATOR)
    if not _:
        raise TunnelError(f"squeue/sacct did not answer: {done.first_error()}")
    rows = parse_rows(live_text, live=True)
    accounting = done.returncode == 0
    if not accounting and "not found" in done.stderr:
        raise TunnelError(f"Slurm's commands are missing on {tunnel.key}: {done.first_error()}")
    if accounting:
        rows += parse_rows(acct_text, live=False)
    results = []
    missing = []
    for job_id, record in jobs:
        status = summarize(job_id, rows, record.get("array") or ())
        if status is None and not accounting:
            missing.append(job_id)
        results.append(status)
    if missing:
        rows += _scontrol(tunnel, missing)
        results = [
            status or summarize(job_id, rows, record.get("array") or ())
            for status, (job_id, record) in zip(results, jobs, strict=False)
        ]
    return [
        status
        or JobStatus(
            JobState.RUNNING, reason="finished; waiting for Slurm's accounting to record it"
        )
        for status in results
    ]


def _scontrol(tunnel: Tunnel, job_ids: list[str]) -> list[Row]:
    """Rows from `scontrol show job` for clusters without accounting (until MinJobAge)."""
    q = " ".join(shlex.quote(j) for j in job_ids)
    done = tunnel.run(f'for id in {q}; do scontrol --oneliner show job "$id" 2>/dev/null; done')
    rows = []
    for line in done.stdout.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        job = fields.get("ArrayJobId") or fields.get("HetJobId") or fields.get("JobId", "")
        element = fields.get("ArrayTaskId", "")
        if fields.get("HetJobOffset"):
            element = f"+{fields['HetJobOffset']}"
        state = fields.get("JobState", "")
        if not job or not state:
            continue
        rows.append(
            Row(
                job,
                element,
                state,
                fields.get("Reason", ""),
                fields.get("ExitCode", ""),
                live=False,
            )
        )
    return rows
