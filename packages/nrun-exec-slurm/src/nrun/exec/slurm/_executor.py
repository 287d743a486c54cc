"""`SlurmExecutor`: the task runner as a Slurm batch job, submitted through a tunnel."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shlex
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from nrun.config.atomic import atomic_write, private_dir, read_json, write_json
from nrun.config.secrets import mask
from nrun.exec.base import (
    Executor,
    ExecutorError,
    Job,
    JobState,
    JobStatus,
    Preview,
    UnknownJobError,
    as_executor_error,
)
from nrun.exec.slurm._cluster import remote_dir, roots, runtime, runtime_dir
from nrun.exec.slurm._poller import FIRST, Backoff, poller
from nrun.exec.slurm._sbatch import (
    ArrayElement,
    ResourceGroup,
    ScriptPaths,
    array_indices,
    check_fields,
    render_sbatch,
)
from nrun.exec.slurm._submit import ARRAY, SCRIPT, Unit, submit
from nrun.exec.slurm._tunnel import LocalTunnel, Tunnel

__all__ = ["SlurmExecutor"]

RECORD = "slurm.json"
CANCELLED = "cancelled"
"""A file in the local job dir: this job was cancelled by us, not by Slurm."""
DEPENDENCY_FAILED = "a dependency failed (never satisfied)"
LOG_LONGEST = 5.0
"""Seconds between reads of a followed log that has been quiet for a while."""
_JOB_ID = re.compile(r"\d+(_\d+)?")


def _common_name(names: list[str]) -> str:
    """The array's name: what its jobs' names start with (`train` for `train-0`, `train-1`)."""
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    return prefix.rstrip("-_.") or names[0]


@dataclasses.dataclass
class _Planned:
    """A unit to submit and the jobs it holds: (index in the batch, executor, job, local dir)."""

    unit: Unit
    members: list[tuple[int, SlurmExecutor, Job, Path]]
    indices: list[int] = dataclasses.field(default_factory=list)
    """A plain job's array indices (its own `array`, or a sweep's)."""
    elements: bool = False
    """The members are the elements of one array: their ids are `<array id>_<i>`."""


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
    poll_interval: ClassVar[float] = FIRST

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

    # -- launching ---------------------------------------------------------------------------
    def launch(self, job: Job) -> str:
        """Package, copy the files to the cluster, `sbatch --parsable`, record the job id."""
        (result,) = self.launch_batch([(self, job)])
        if isinstance(result, ExecutorError):
            raise result
        return result

    def launch_array(self, job: Job, configs: Sequence[Path]) -> str:
        """Submit one job array whose element i runs `configs[i]` (a sweep in one job).

        `array`'s `%limit` (e.g. `array="%10"`) still caps how many run at once.
        """
        if not configs:
            raise ExecutorError("launch_array needs at least one task file")
        plan = self._plan(0, job, [Path(c) for c in configs], sweep=True)
        (result,) = self._send([plan])
        if isinstance(result, ExecutorError):
            raise result
        return result

    @classmethod
    def launch_batch(cls, jobs: Sequence[tuple[Executor, Job]]) -> list[str | ExecutorError]:
        """Submit many jobs in a constant number of round trips per cluster.

        Jobs without dependencies whose executors differ only in `job_dir` become one job
        array (`sbatch --array=0-N`): element i runs job i's task in its own folder, and job
        i's id is `<array id>_<i>`. Every other job is one sbatch call; all of a cluster's go
        in one archive and one command (`_submit`).
        """
        results: list[str | ExecutorError | None] = [None] * len(jobs)
        alone: list[list[tuple[int, SlurmExecutor, Job]]] = []
        groups: list[tuple[SlurmExecutor, list[tuple[int, SlurmExecutor, Job]]]] = []
        for i, (executor, job) in enumerate(jobs):
            if not isinstance(executor, SlurmExecutor):
                results[i] = ExecutorError(f"not a SlurmExecutor: {executor!r}")
                continue
            if job.dependencies or executor.array or executor.heterogeneous:
                alone.append([(i, executor, job)])
                continue
            alike = dataclasses.replace(executor, job_dir="")
            for key, members in groups:
                if key == alike:
                    members.append((i, executor, job))
                    break
            else:
                groups.append((alike, [(i, executor, job)]))
        planned: list[_Planned] = []
        for members in [*alone, *(members for _, members in groups)]:
            try:
                if len(members) == 1:
                    i, executor, job = members[0]
                    planned.append(executor._plan(i, job, [Path(job.config)]))
                else:
                    planned.append(cls._plan_array(members))
            except Exception as exc:
                for i, _, _ in members:
                    results[i] = as_executor_error(exc)
        for plan, got in zip(planned, cls._send(planned), strict=True):
            for index, (i, *_) in enumerate(plan.members):
                if isinstance(got, ExecutorError) or not plan.elements:
                    results[i] = got
                else:
                    results[i] = f"{got}_{index}"
        return [r if r is not None else ExecutorError("not launched") for r in results]

    def _check(self, sweep: bool) -> None:
        """`validate`, and that `array` fits a sweep (a limit only) or a job (indices)."""
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

    def _script(self, job: Job, paths: ScriptPaths, sweep: int | None = None) -> str:
        """The sbatch script of one job (or a sweep of `sweep` task files) at `paths`."""
        env = {"NRUN_TASK_NAME": job.name}
        if job.experiment_id:
            env["NRUN_EXPERIMENT_ID"] = job.experiment_id
        return render_sbatch(
            self,
            job_name=job.name,
            paths=paths,
            dependencies=job.dependencies,
            env=env,
            sweep=sweep,
        )

    def preview(self, job: Job) -> Preview:
        """The sbatch script `launch(job)` would submit; nothing is written, the cluster not asked.

        Secret-named `env_vars` are masked. A home folder on the cluster not known yet (an
        SSH tunnel with a relative `job_dir`, not connected) shows as `<home>`.
        """
        self._check(sweep=False)
        local = Path(self.job_dir).expanduser().resolve() if self.job_dir else Path("<job_dir>")
        remote = remote_dir(self.tunnel, local, job, ask=False)
        task = f"{remote}/task{Path(job.config).suffix}"
        code = f"{remote}/code" if self.packager is not None else None
        workdir = code or self._workdir(remote)
        paths = ScriptPaths(remote, task, runtime_dir(self.tunnel), workdir, code)
        masked = dataclasses.replace(self, env_vars=mask(self.env_vars))
        return Preview(job.name, "sbatch script", "bash", masked._script(job, paths))

    def _plan(self, i: int, job: Job, configs: list[Path], sweep: bool = False) -> _Planned:
        """Stage one job (or a sweep of `configs`) in its local dir and render its script."""
        self._check(sweep)
        local = self._fresh_job_dir()
        remote = remote_dir(self.tunnel, local, job)
        files: dict[str, Path] = {}
        if sweep:
            if any(c.suffix != ".yaml" for c in configs):
                raise ExecutorError("a sweep array takes .yaml task files")
            folder = private_dir(local / "tasks")
            for index, config in enumerate(configs):
                target = atomic_write(folder / f"{index}.yaml", config.read_bytes())
                files[f"0/tasks/{index}.yaml"] = target
            task = f"{remote}/tasks"
        else:
            target = self._copy_task(job, local)
            files[f"0/{target.name}"] = target
            task = f"{remote}/{target.name}"
        code = None
        if self.packager is not None:
            files["0/code.tar.gz"] = self.packager.package(Path.cwd(), local)
            code = f"{remote}/code"
        paths = ScriptPaths(remote, task, runtime(self.tunnel), code or self._workdir(remote), code)
        script = self._script(job, paths, sweep=len(configs) if sweep else None)
        # the script holds env_vars, which may be secrets: only the owner reads it
        files[f"0/{SCRIPT}"] = atomic_write(local / SCRIPT, script)
        staged = remote != str(local)
        unit = Unit([remote], f"{remote}/{SCRIPT}", files if staged else {}, code)
        indices = list(range(len(configs))) if sweep else []
        if self.array and not sweep:
            indices = array_indices(self.array)
        return _Planned(unit, [(i, self, job, local)], indices)

    @classmethod
    def _plan_array(cls, members: list[tuple[int, SlurmExecutor, Job]]) -> _Planned:
        """Stage jobs whose executors differ only in `job_dir` as the elements of one array."""
        first = members[0][1]
        first.validate()
        root, base = roots(first.tunnel)
        runner = runtime(first.tunnel)
        links = f"{base}/arrays/{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
        staged = bool(root)
        files: dict[str, Path] = {}
        planned: list[tuple[int, SlurmExecutor, Job, Path]] = []
        elements = []
        code = f"{links}/code" if first.packager is not None else None
        for index, (i, executor, job) in enumerate(members):
            local = executor._fresh_job_dir()
            remote = remote_dir(executor.tunnel, local, job)
            target = executor._copy_task(job, local)
            files[f"{index}/{target.name}"] = target
            workdir = code or executor._workdir(remote)
            task = f"{remote}/{target.name}"
            elements.append(ArrayElement(job.name, remote, task, workdir, job.experiment_id))
            planned.append((i, executor, job, local))
        # the array's own files: in its folder on the cluster, and a copy in each job dir
        own = Path(links) if not staged else planned[0][3]
        if not staged:
            private_dir(own)
        if first.packager is not None:
            files[f"{ARRAY}/code.tar.gz"] = first.packager.package(Path.cwd(), own)
        name = _common_name([job.name for _, _, job in members])
        paths = ScriptPaths(links, "", runner, "", code)
        script = render_sbatch(first, job_name=name, paths=paths, elements=elements)
        for _, _, _, local in planned:
            atomic_write(local / SCRIPT, script)
        files[f"{ARRAY}/{SCRIPT}"] = atomic_write(own / SCRIPT, script)
        dirs = [element.job_dir for element in elements]
        unit = Unit(dirs, f"{links}/{SCRIPT}", files if staged else {}, code, links)
        return _Planned(unit, planned, elements=True)

    def _fresh_job_dir(self) -> Path:
        local = self.ensure_job_dir()
        local.chmod(0o700)  # it may be the job's folder on the cluster too (LocalTunnel)
        for stale in (RECORD, CANCELLED):
            (local / stale).unlink(missing_ok=True)
        return local

    @staticmethod
    def _copy_task(job: Job, local: Path) -> Path:
        config = Path(job.config)
        target = local / f"task{config.suffix}"
        if config.resolve() != target.resolve():
            atomic_write(target, config.read_bytes())
        return target

    def _workdir(self, remote: str) -> str:
        """Where a job without packaged code runs: here on the login node, else its folder."""
        return os.getcwd() if isinstance(self.tunnel, LocalTunnel) else remote

    @classmethod
    def _send(cls, planned: list[_Planned]) -> list[str | ExecutorError]:
        """Submit the units, one archive and one command per cluster; record each job."""
        results: list[str | ExecutorError] = [ExecutorError("not sent")] * len(planned)
        by_cluster: dict[tuple[str, str], list[int]] = {}
        for n, plan in enumerate(planned):
            executor = plan.members[0][1]
            _, base = roots(executor.tunnel)
            by_cluster.setdefault((executor.tunnel.key, base), []).append(n)
        for (_, base), indices in by_cluster.items():
            executor = planned[indices[0]].members[0][1]
            staged = bool(roots(executor.tunnel)[0])
            try:
                found = submit(
                    executor.tunnel,
                    f"{base}/uploads",
                    [planned[n].unit for n in indices],
                    staged=staged,
                )
            except Exception as exc:
                found = [as_executor_error(exc)] * len(indices)
            submitted = []
            for n, got in zip(indices, found, strict=True):
                results[n] = got
                if isinstance(got, ExecutorError):
                    continue
                try:
                    submitted += cls._write_records(planned[n], got)
                except Exception as exc:  # a full disk: nothing may run that we cannot follow
                    results[n] = as_executor_error(exc)
                    executor.tunnel.run(f"scancel {shlex.quote(got)}")
            poller(executor.tunnel).reset(submitted)
        return results

    @staticmethod
    def _write_records(plan: _Planned, job_id: str) -> list[tuple[str, list[str]]]:
        """Write each job's `slurm.json`; return (job id, array indices) of each."""
        written = []
        for index, (_, executor, job, local) in enumerate(plan.members):
            record: dict[str, Any] = {
                "job_id": f"{job_id}_{index}" if plan.elements else job_id,
                "tunnel": executor.tunnel.key,
                "remote_dir": plan.unit.dirs[index],
                "array": [str(i) for i in plan.indices],
                "dependencies": list(job.dependencies),
                "submitted": time.time(),
            }
            if plan.elements:
                record.update(array_job=job_id, element=index, array_dir=plan.unit.links)
            write_json(local / RECORD, record)
            written.append((record["job_id"], record["array"]))
        return written

    # -- tracking ----------------------------------------------------------------------------
    def _record(self, job_id: str) -> dict[str, Any]:
        local = Path(self.job_dir).expanduser()
        record = read_json(local / RECORD) if self.job_dir else None
        if record is None or record.get("job_id") != str(job_id):
            raise UnknownJobError(f"no Slurm job {job_id!r} in '{local}'")
        return record

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Statuses of many jobs from the cluster's shared poller (one squeue + sacct a time)."""
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
            targets = [(jobs[i][1], records[i].get("array") or ()) for i in indices]
            try:
                statuses = poller(tunnel).statuses(tunnel, targets)
            except ExecutorError as exc:
                statuses = [JobStatus(JobState.UNKNOWN, reason=str(exc))] * len(indices)
            for i, status in zip(indices, statuses, strict=True):
                executor = jobs[i][0]
                assert isinstance(executor, SlurmExecutor)
                results[i] = executor._settle(jobs[i][1], status, records[i])
        return [status or JobStatus(JobState.UNKNOWN) for status in results]

    def status(self, job_id: str) -> JobStatus:
        """From squeue while the job is queued or running, from sacct once it has ended.

        Asked through the cluster's poller: at most its interval old (0.5 s after a change,
        growing to 60 s while nothing changes).
        """
        record = self._record(job_id)
        (found,) = poller(self.tunnel).statuses(self.tunnel, [(job_id, record.get("array") or ())])
        return self._settle(job_id, found, record)

    def _settle(self, job_id: str, status: JobStatus, record: dict[str, Any]) -> JobStatus:
        """Name a failed dependency as the reason, and cancel what Slurm would hold forever."""
        if status.state == JobState.PENDING and "DependencyNeverSatisfied" in status.reason:
            self.tunnel.run(f"scancel {shlex.quote(job_id)}")
            poller(self.tunnel).reset()
            return JobStatus(JobState.CANCELLED, reason=DEPENDENCY_FAILED)
        if status.state != JobState.CANCELLED:
            return status
        waited = [d for d in record.get("dependencies", []) if _JOB_ID.fullmatch(d)]
        if waited and not (Path(self.job_dir).expanduser() / CANCELLED).exists():
            # cancelled by Slurm (--kill-on-invalid-dep) or by hand: its dependencies tell which
            found = poller(self.tunnel).statuses(self.tunnel, [(d, ()) for d in waited])
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
        """The job's output file(s) through the tunnel; array elements' lines marked `[i]`.

        Following, the state comes from the cluster's poller; a queued job's files are not
        read, and a quiet file is read less and less often (0.5 s growing to 5 s, back to
        0.5 s when it grows).
        """
        record = self._record(job_id)
        files = self._output_files(record)
        offsets = dict.fromkeys((path for _, path in files), 0)
        pending = dict.fromkeys((path for _, path in files), b"")
        reads = Backoff(FIRST, LOG_LONGEST)
        while True:
            state = self.status(job_id).state if follow else JobState.UNKNOWN
            final = not follow or state.final
            grew = False
            for label, path in files if state != JobState.PENDING else ():  # nothing yet
                data = self.tunnel.read(path, offsets[path])
                if not data:
                    continue
                grew = True
                offsets[path] += len(data)
                *lines, pending[path] = (pending[path] + data).split(b"\n")
                for line in lines:
                    yield label + line.decode(errors="replace")
            if final:
                break
            time.sleep(reads.next(grew))
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
            atomic_write(Path(executor.job_dir).expanduser() / CANCELLED, str(time.time()))
            by_tunnel.setdefault(executor.tunnel.key, []).append((executor, job_id))
        for members in by_tunnel.values():
            ids = " ".join(shlex.quote(job_id) for _, job_id in members)
            tunnel = members[0][0].tunnel
            tunnel.run(f"scancel {ids}")  # already-finished ids only warn
            poller(tunnel).reset()
        deadline = time.monotonic() + 30
        statuses = cls.batch_status(jobs)
        while not all(s.state.final for s in statuses) and time.monotonic() < deadline:
            if any(s.state == JobState.UNKNOWN for s in statuses):
                break  # the cluster does not answer: say so rather than wait
            time.sleep(cls.poll_interval / 2)
            statuses = cls.batch_status(jobs)
        return statuses
