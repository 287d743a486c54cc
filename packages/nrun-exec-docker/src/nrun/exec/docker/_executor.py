"""`DockerExecutor`: the task runner in a container, through the docker SDK."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nrun.config.atomic import atomic_write, read_json, write_json
from nrun.exec.base import (
    Executor,
    ExecutorError,
    Job,
    JobState,
    JobStatus,
    Preview,
    UnknownJobError,
)
from nrun.exec.packaging import extract
from nrun.exec.runtime import bundle_runtime

__all__ = ["DockerExecutor"]

JOB_MOUNT = "/nrun/job"
WORK_MOUNT = "/nrun/workdir"
LABEL = "nrun"
RESULT = "result.json"
OUTPUT = "output.log"
CANCEL = "cancel"
PRIVATE = ["/bin/sh", "-c", 'umask 077 && exec "$@"', "nrun-task"]
"""Runs the task's command with umask 077: what it writes in the job dir is owner-only."""


_clients: dict[str, Any] = {}


def _close_clients() -> None:
    for client in _clients.values():
        client.close()
    _clients.clear()


def _forget_in_child() -> None:
    """A forked child makes its own clients: the parent's connections are not its to share."""
    _clients.clear()  # not closed: their sockets are the parent's too


os.register_at_fork(after_in_child=_forget_in_child)


@dataclasses.dataclass(kw_only=True)
class DockerExecutor(Executor):
    """Run the task in a container of `container_image` on the daemon `docker_host` names.

    The job dir is mounted at `/nrun/job` and holds the task file, the output and a copy of
    nrun's task runner (so the image needs only `python3` and `/bin/sh`; the task's own
    libraries must be in it), all owner-only: the task runs under `umask 077`. The code runs
    from the packaged copy (with a `packager`) or from `workdir` mounted at `/nrun/workdir`.
    Each container is labelled with its experiment, task and job dir, started with an init
    process (so a stop reaches the task), and removed once its outcome is recorded in the job
    dir unless `cleanup` is false. Nothing is ever pulled: the image must exist.
    """

    container_image: str = ""
    """The image to run (required; never pulled). Empty: `validate` says how to set it."""
    volumes: list[str] = dataclasses.field(default_factory=list)
    num_gpus: int | None = None
    network: str | None = None
    shm_size: str | None = None
    ipc_mode: str | None = None
    ulimits: list[str] = dataclasses.field(default_factory=list)
    runtime: str | None = None
    healthcheck: dict[str, Any] | None = None
    additional_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    cleanup: bool = True
    docker_host: str | None = None
    workdir: str | None = None
    stop_timeout: int = 10
    """Seconds between SIGTERM and SIGKILL when a job is cancelled."""

    name = "docker"

    # -- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """The common checks, and the Docker-specific fields."""
        super().validate()
        if not isinstance(self.container_image, str):
            raise ExecutorError(
                f"container_image must be an image name, got {self.container_image!r}"
            )
        if not self.container_image.strip():
            raise ExecutorError(
                "container_image is required: set run.executor.container_image=IMAGE"
            )
        if (self.nodes > 1 or self.ntasks_per_node > 1) and self.launcher != "torchrun":
            raise ExecutorError(
                f"nodes={self.nodes}, ntasks_per_node={self.ntasks_per_node} needs "
                "launcher='torchrun' (one container per node)"
            )
        if self.nodes > 1 and self.network in ("none", "host"):
            raise ExecutorError(
                f"nodes={self.nodes} needs a network the containers share, not {self.network!r}: "
                "leave network unset (a private one is made) or name a user network"
            )
        for spec in self.volumes:
            self._volume(spec)
        for spec in self.ulimits:
            self._ulimit(spec)
        if self.num_gpus is not None and (self.num_gpus < -1 or self.num_gpus == 0):
            raise ExecutorError(f"num_gpus must be -1 (all) or at least 1, got {self.num_gpus}")

    @staticmethod
    def _volume(spec: str) -> tuple[str, dict[str, str]]:
        parts = spec.split(":") if isinstance(spec, str) else []
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ExecutorError(
                f"bad volume {spec!r}: expected 'host path:container path' or "
                "'host path:container path:ro|rw'"
            )
        host, container = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw"):
            raise ExecutorError(f"bad volume {spec!r}: the mode must be 'ro' or 'rw', not {mode!r}")
        if not os.path.isabs(container):
            raise ExecutorError(f"bad volume {spec!r}: the container path must be absolute")
        if os.path.isabs(host) and not os.path.exists(host):
            raise ExecutorError(f"bad volume {spec!r}: '{host}' does not exist on this machine")
        return host, {"bind": container, "mode": mode}

    @staticmethod
    def _ulimit(spec: str) -> Any:
        name, _, limits = spec.partition("=") if isinstance(spec, str) else ("", "", "")
        soft, _, hard = limits.partition(":")
        if not name or not soft.lstrip("-").isdigit() or (hard and not hard.lstrip("-").isdigit()):
            raise ExecutorError(
                f"bad ulimit {spec!r}: expected 'name=soft[:hard]', e.g. nofile=1024:2048"
            )
        from docker.types import Ulimit

        return Ulimit(name=name, soft=int(soft), hard=int(hard or soft))

    def _client(self) -> Any:
        """One client per daemon for this process (its connections are reused), checked once."""
        import docker
        from docker.errors import DockerException

        where = self.docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
        if where in _clients:
            return _clients[where]
        url = self.docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if url.startswith("unix://"):
            # the SDK leaks its socket when it cannot connect: find out with ours first
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(10)
                try:
                    probe.connect(url.removeprefix("unix://"))
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    raise ExecutorError(
                        f"cannot reach the Docker daemon at {where}: {reason}"
                    ) from None
        client = None
        try:
            if self.docker_host:
                client = docker.DockerClient(base_url=self.docker_host)
            else:
                client = docker.from_env()
            client.ping()
        except DockerException as exc:
            if client is not None:
                client.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExecutorError(f"cannot reach the Docker daemon at {where}: {reason}") from None
        if not _clients:
            atexit.register(_close_clients)
        _clients[where] = client
        return client

    # -- launching ---------------------------------------------------------------------------
    def _run_kwargs(self, job: Job, job_dir: Path) -> tuple[dict[str, Any], str]:
        """`containers.run`'s arguments but the SDK's own objects, and the task file in there.

        Nothing is written or asked of the daemon: `launch` adds the ulimits, GPUs and
        `additional_kwargs`, and `preview` shows them.
        """
        task_file = job_dir / ("task" + Path(job.config).suffix)
        volumes = {str(job_dir): {"bind": JOB_MOUNT, "mode": "rw"}}
        paths = [f"{JOB_MOUNT}/runtime"]
        source = Path(self.workdir or os.getcwd()).expanduser().resolve()
        if self.packager is not None:
            cwd = f"{JOB_MOUNT}/code"
        else:
            if not source.is_dir():
                raise ExecutorError(f"workdir '{source}' is not a directory")
            volumes[str(source)] = {"bind": WORK_MOUNT, "mode": "rw"}
            cwd = WORK_MOUNT
        for spec in self.volumes:
            host, bind = self._volume(spec)
            volumes[host] = bind
        extra = self.env_vars.get("PYTHONPATH", "")
        env = {
            **self.env_vars,
            "PYTHONPATH": ":".join(p for p in [cwd, *paths, extra] if p),
            "NRUN_JOB_DIR": JOB_MOUNT,
            "NRUN_TASK_NAME": job.name,
            "PYTHONUNBUFFERED": "1",
        }
        if job.experiment_id:
            env["NRUN_EXPERIMENT_ID"] = job.experiment_id
        labels = {
            LABEL: "job",
            f"{LABEL}.experiment": job.experiment_id,
            f"{LABEL}.task": job.name,
            f"{LABEL}.job_dir": str(job_dir),
        }
        kwargs: dict[str, Any] = {
            "detach": True,
            "init": True,
            "labels": labels,
            "volumes": volumes,
            "working_dir": cwd,
            "environment": env,
        }
        for field in ("shm_size", "ipc_mode", "runtime", "healthcheck"):
            value = getattr(self, field)
            if value is not None:
                kwargs[field] = value
        return kwargs, f"{JOB_MOUNT}/{task_file.name}"

    def _rendezvous(self, base: str, rank: int) -> list[str] | None:
        """Where torchrun meets across containers: node 0, by its container name."""
        if self.nodes <= 1:
            return None
        return [f"--node-rank={rank}", f"--master-addr={base}-0", "--master-port=29500"]

    def preview(self, job: Job) -> Preview:
        """The container `launch(job)` would start, as YAML; no daemon is asked, nothing written.

        Secret-named variables (and `additional_kwargs` entries) are masked; the container's
        name ends in `<id>` where a launch puts random hex.
        """
        import yaml

        from nrun.config.secrets import mask

        self.validate()
        job_dir = Path(self.job_dir).expanduser().resolve() if self.job_dir else Path("<job_dir>")
        kwargs, config = self._run_kwargs(job, job_dir)
        base = f"nrun-{job.name}-<id>"
        spec: dict[str, Any] = {
            "image": self.container_image,
            "name": f"{base}-0" if self.nodes > 1 else base,
            "command": [*PRIVATE, *self.task_command(config, self._rendezvous(base, 0))],
            "working_dir": kwargs["working_dir"],
            "mounts": [f"{host}:{b['bind']}:{b['mode']}" for host, b in kwargs["volumes"].items()],
            "environment": mask(kwargs["environment"]),
        }
        if self.nodes > 1:
            spec["nodes"] = self.nodes
        if self.network or self.nodes > 1:
            spec["network"] = self.network or f"{base}-net (made for the job, internal)"
        resources = {
            "num_gpus": self.num_gpus,
            "shm_size": self.shm_size,
            "ipc_mode": self.ipc_mode,
            "ulimits": self.ulimits or None,
            "runtime": self.runtime,
            "healthcheck": self.healthcheck,
        }
        spec.update({k: v for k, v in resources.items() if v is not None})
        spec["init"] = True
        spec["labels"] = kwargs["labels"]
        if self.additional_kwargs:
            spec["additional_kwargs"] = mask(self.additional_kwargs)
        text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=False, width=100)
        return Preview(job.name, "Container", "yaml", text)

    def launch(self, job: Job) -> str:
        """Check the image and mounts, prepare the job dir, start the container."""
        from docker.errors import APIError, ImageNotFound

        self.validate()
        client = self._client()
        try:
            client.images.get(self.container_image)
        except ImageNotFound:
            raise ExecutorError(
                f"image '{self.container_image}' is not on the Docker daemon; build or load it "
                "first (nrun never pulls)"
            ) from None
        job_dir = self.ensure_job_dir()
        for stale in (RESULT, OUTPUT, CANCEL, "container.json"):
            (job_dir / stale).unlink(missing_ok=True)
        task_file = job_dir / ("task" + Path(job.config).suffix)
        if Path(job.config).resolve() != task_file.resolve():
            atomic_write(task_file, Path(job.config).read_bytes())
        bundle_runtime(job_dir / "runtime")
        kwargs, config = self._run_kwargs(job, job_dir)
        if self.packager is not None:
            source = Path(self.workdir or os.getcwd()).expanduser().resolve()
            extract(self.packager.package(source, job_dir), job_dir / "code")
        if self.ulimits:
            kwargs["ulimits"] = [self._ulimit(spec) for spec in self.ulimits]
        if self.num_gpus is not None:
            from docker.types import DeviceRequest

            kwargs["device_requests"] = [DeviceRequest(count=self.num_gpus, capabilities=[["gpu"]])]
        kwargs.update(self.additional_kwargs)
        base = f"nrun-{job.name}-{secrets.token_hex(4)}"
        started: list[Any] = []
        network = None
        try:
            if self.nodes > 1 and not self.network:
                network = client.networks.create(
                    f"{base}-net", driver="bridge", internal=True, labels=kwargs["labels"]
                )
            net = self.network or (network.name if network else None)
            if net:
                kwargs["network_mode" if net in ("none", "host") else "network"] = net
            for rank in range(self.nodes):
                name = f"{base}-{rank}" if self.nodes > 1 else base
                command = [*PRIVATE, *self.task_command(config, self._rendezvous(base, rank))]
                # without a network the container's own name resolves nowhere, and torchrun
                # rendezvous at the hostname: there, `localhost` is the name that works
                hostname = "localhost" if net == "none" else name
                started.append(
                    client.containers.run(
                        self.container_image,
                        command=command,
                        name=name,
                        hostname=hostname,
                        **kwargs,
                    )
                )
        except APIError as exc:
            for container in started:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
            if network is not None:
                with contextlib.suppress(Exception):
                    network.remove()
            reason = exc.explanation or str(exc)
            raise ExecutorError(f"the daemon refused the container: {reason}") from None
        ids = [c.id for c in started]
        write_json(
            job_dir / "container.json",
            {"id": ids[0], "ids": ids, "network": network.id if network else None},
        )
        return str(ids[0][:12])

    # -- tracking ----------------------------------------------------------------------------
    def _recorded(self, job_id: str) -> Path:
        job_dir = Path(self.job_dir).expanduser()
        known = read_json(job_dir / "container.json")
        if known is None or not str(known.get("id", "")).startswith(job_id) or not job_id:
            raise UnknownJobError(f"no Docker job {job_id!r} in '{job_dir}'")
        return job_dir

    def _containers(self, job_dir: Path) -> list[Any] | None:
        """The job's containers, node 0 first; None when any of them is gone."""
        from docker.errors import NotFound

        known = read_json(job_dir / "container.json") or {}
        client = self._client()
        try:
            return [client.containers.get(cid) for cid in known.get("ids", [known.get("id")])]
        except NotFound:
            return None

    @classmethod
    def batch_status(cls, jobs: Sequence[tuple[Executor, str]]) -> list[JobStatus]:
        """Many jobs' statuses with one container listing per daemon, not a request per job.

        A job whose outcome is kept answers from its job dir; a live one from the listing
        (pending, running); one whose containers all exited is judged once by `status`, which
        reads their exit codes and keeps the outcome, so it costs nothing after.
        """
        from docker.errors import DockerException

        results: list[JobStatus | None] = [None] * len(jobs)
        daemons: dict[int, tuple[Any, list[tuple[int, DockerExecutor, str, list[str]]]]] = {}
        for i, (executor, job_id) in enumerate(jobs):
            assert isinstance(executor, DockerExecutor)
            try:
                job_dir = executor._recorded(job_id)
                kept = read_json(job_dir / RESULT)
                if kept is not None:
                    results[i] = JobStatus(
                        JobState(kept["state"]), kept.get("exit_code"), kept["reason"]
                    )
                    continue
                client = executor._client()
            except UnknownJobError as exc:
                results[i] = JobStatus(JobState.FAILED, reason=f"lost track of the job: {exc}")
                continue
            except ExecutorError as exc:
                results[i] = JobStatus(JobState.UNKNOWN, reason=str(exc))
                continue
            known = read_json(job_dir / "container.json") or {}
            ids = [str(c) for c in known.get("ids", [known.get("id")])]
            daemons.setdefault(id(client), (client, []))[1].append((i, executor, job_id, ids))
        for client, members in daemons.values():
            wanted = [cid for *_, ids in members for cid in ids]
            try:  # sparse: the listing itself, without an inspect per container
                listed = client.containers.list(all=True, sparse=True, filters={"id": wanted})
            except DockerException as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                for i, *_ in members:
                    results[i] = JobStatus(JobState.UNKNOWN, reason=f"Docker: {reason}")
                continue
            states = {c.id: c.status for c in listed}
            for i, executor, job_id, ids in members:
                found = [states.get(cid) for cid in ids]
                if None not in found and all(state == "created" for state in found):
                    results[i] = JobStatus(JobState.PENDING)
                elif None not in found and any(s not in ("exited", "dead") for s in found):
                    results[i] = JobStatus(JobState.RUNNING)
                else:  # ended (or gone): its exit codes, once; the outcome is kept after
                    results[i] = super().batch_status([(executor, job_id)])[0]
        return [r if r is not None else JobStatus(JobState.UNKNOWN) for r in results]

    def status(self, job_id: str) -> JobStatus:
        """From the containers' states and exit codes (or the result kept after removal)."""
        job_dir = self._recorded(job_id)
        result = read_json(job_dir / RESULT)
        if result is not None:
            return JobStatus(JobState(result["state"]), result.get("exit_code"), result["reason"])
        containers = self._containers(job_dir)
        if containers is None:
            result = read_json(job_dir / RESULT)  # another process may have just finished it
            if result is not None:
                state = JobState(result["state"])
                return JobStatus(state, result.get("exit_code"), result["reason"])
            return JobStatus(JobState.FAILED, reason="a container disappeared without a result")
        states = [c.attrs.get("State", {}) for c in containers]
        if all(state.get("Status") == "created" for state in states):
            return JobStatus(JobState.PENDING)
        if any(
            state.get("Status") != "exited" and state.get("Status") != "dead" for state in states
        ):
            return JobStatus(JobState.RUNNING)
        failed = [(i, st) for i, st in enumerate(states) if int(st.get("ExitCode", -1)) != 0]
        if (job_dir / CANCEL).exists():
            code = int(states[0].get("ExitCode", -1))
            final = JobStatus(JobState.CANCELLED, code, "cancelled")
        elif not failed:
            final = JobStatus(JobState.SUCCEEDED, 0)
        else:
            rank, state = failed[0]
            code = int(state.get("ExitCode", -1))
            reason = (
                "killed by the kernel (out of memory)"
                if state.get("OOMKilled")
                else f"exit code {code}"
            )
            if len(containers) > 1:
                reason = f"node {rank}: {reason}"
            final = JobStatus(JobState.FAILED, code, reason)
        self._finish(containers, job_dir, final)
        return final

    def _output(self, containers: list[Any]) -> str:
        """Node 0's output, then each other node's, its lines marked `[node i]`."""
        text: str = containers[0].logs(stdout=True, stderr=True).decode(errors="replace")
        for rank, container in enumerate(containers[1:], start=1):
            more = container.logs(stdout=True, stderr=True).decode(errors="replace")
            text += "".join(f"[node {rank}] {line}\n" for line in more.splitlines())
        return text

    def _finish(self, containers: list[Any], job_dir: Path, status: JobStatus) -> None:
        """Keep the outcome and the output in the job dir, then remove the containers."""
        from docker.errors import APIError

        try:
            output = self._output(containers)
        except APIError:  # gone or being removed: another process kept the outcome first
            return
        atomic_write(job_dir / OUTPUT, output)
        write_json(
            job_dir / RESULT,
            {"state": status.state.value, "exit_code": status.exit_code, "reason": status.reason},
        )
        if self.cleanup:
            for container in containers:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
            network = (read_json(job_dir / "container.json") or {}).get("network")
            if network:
                with contextlib.suppress(Exception):
                    self._client().networks.get(network).remove()

    def logs(self, job_id: str, follow: bool = False) -> Iterator[str]:
        """The container's output from the daemon (or the job dir once it is removed)."""
        job_dir = self._recorded(job_id)
        containers = None if (job_dir / RESULT).exists() else self._containers(job_dir)
        if containers is None:
            path = job_dir / OUTPUT
            if path.exists():
                yield from path.read_text(errors="replace").splitlines()
            return
        if not follow:
            from docker.errors import APIError

            try:
                text = self._output(containers)
            except APIError:  # removed meanwhile by the process that kept its output
                path = job_dir / OUTPUT
                text = path.read_text(errors="replace") if path.exists() else ""
            yield from text.splitlines()
            return
        container = containers[0]  # following: node 0, where rank 0 prints
        buffer = b""
        stream = container.logs(stream=True, follow=True, stdout=True, stderr=True)
        try:
            for chunk in stream:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
        finally:
            stream.close()
            stream._response.close()  # the SDK leaves the socket open once the stream ends
        if buffer:
            yield buffer.decode(errors="replace")
        if follow:
            self.status(job_id)  # record the outcome while the container is still there

    def cancel(self, job_id: str) -> None:
        """Stop the containers: SIGTERM, then SIGKILL after `stop_timeout` seconds."""
        job_dir = self._recorded(job_id)
        if self.status(job_id).state.final:
            return
        atomic_write(job_dir / CANCEL, str(time.time()))
        for container in self._containers(job_dir) or []:
            with contextlib.suppress(Exception):
                container.stop(timeout=self.stop_timeout)
        self.status(job_id)
