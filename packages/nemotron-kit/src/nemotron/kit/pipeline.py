"""Pipelines: steps run as ONE nrun `Experiment`, each depending on the one before.

```python
from nemotron.kit import PipelineConfig, Step, run_pipeline

steps = [Step("tokenize", "my_recipes.tokenize"), Step("train", "my_recipes.train")]
exit_code = run_pipeline(PipelineConfig(launcher="local"), steps)
```

Each step's `print_step_complete` output is the next step's `Artifact.load()` input, so the
lineage of the last artifact reaches back to the first step's inputs. The executor is nrun's:
local by default, or what `profile` (a table of `env.toml`) or the Slurm fields say. A step
that fails stops the ones after it; `nrun experiment …` shows the run.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from nemotron.kit.exceptions import KitError
from nemotron.kit.step import Step

if TYPE_CHECKING:
    from rich.console import Console

    from nemotron.kit.run import RunConfig
    from nrun.exec.base import Executor
    from nrun.exec.experiment import Experiment

__all__ = ["Launcher", "PipelineConfig", "last_outputs", "run_pipeline"]

Launcher = Literal["local", "nemo-run", "sbatch"]
"""`local` runs the steps here; `nemo-run` and `sbatch` on `executor` (`slurm`: one job each)."""


@dataclass
class PipelineConfig:
    """How a pipeline runs: the original kit's fields, plus `profile` and `python`."""

    launcher: Launcher = "local"
    nproc_per_node: int = 8
    """Processes per node for steps with `torchrun=True`."""
    executor: Literal["local", "slurm"] = "local"
    """The executor of the `nemo-run`/`sbatch` launchers."""
    account: str | None = None
    partition: str | None = None
    nodes: int = 1
    time: str = "04:00:00"
    container_image: str | None = None
    mounts: list[str] = field(default_factory=list)
    job_name: str = "pipeline"
    """The title of the pipeline's experiment."""
    tunnel: Literal["local", "ssh"] = "local"
    host: str | None = None
    user: str | None = None
    remote_job_dir: str | None = None
    identity: str | None = None
    env_vars: list[str] = field(default_factory=list)
    dry_run: bool = False
    """Print the plan; run and record nothing."""
    detach: bool = False
    """Return once the steps are submitted."""
    verbose: bool = True
    """Print the plan, the steps' logs and the lineage of the last artifact."""
    profile: str | None = None
    """A run profile of `env.toml`; when set, it gives the executor (the fields above don't)."""
    python: str | None = None
    """The Python that runs the steps where they land."""


class PipelineError(KitError, ValueError):
    """A pipeline that cannot run as given: no steps, two steps of one name, a bad setting."""


def _run_config(config: PipelineConfig) -> RunConfig:
    from nemotron.kit.run import RunConfig, load_run_profile

    if config.profile:
        run = load_run_profile(config.profile)
        return dataclasses.replace(run, detach=config.detach or run.detach)
    if config.launcher not in ("local", "nemo-run", "sbatch"):
        raise PipelineError(
            f"unknown launcher {config.launcher!r}: expected 'local', 'nemo-run' or 'sbatch'"
        )
    kind = "local" if config.launcher == "local" else config.executor
    common: dict[str, Any] = {
        "executor": kind,
        "env_vars": list(config.env_vars),
        "detach": config.detach,
        "job_name": config.job_name,
        "python": config.python,
    }
    if kind != "slurm":
        return RunConfig(**common)
    slurm: dict[str, Any] = {
        "account": config.account,
        "partition": config.partition,
        "nodes": config.nodes,
        "time": config.time,
        "container_image": config.container_image,
        "mounts": list(config.mounts),
        "tunnel": config.tunnel,
        "remote_job_dir": config.remote_job_dir,
    }
    if config.tunnel == "ssh":
        slurm.update(host=config.host, user=config.user, identity=config.identity)
    return RunConfig(**common, **slurm)


def _check(steps: list[Step]) -> None:
    if not steps:
        raise PipelineError("a pipeline needs at least one step")
    seen: set[str] = set()
    for step in steps:
        if not isinstance(step, Step):
            raise PipelineError(f"pipeline steps are Step objects, got {step!r}")
        if step.name in seen:
            raise PipelineError(f"two steps are named {step.name!r}: step names are unique")
        seen.add(step.name)


def _experiment(
    config: PipelineConfig, steps: list[Step], executor: Executor, extra: list[str]
) -> Experiment:
    from nemotron.kit._step_runner import run_step
    from nrun.config import Partial
    from nrun.exec.experiment import Experiment

    experiment = Experiment(config.job_name, executor=executor)
    previous: str | None = None
    for step in steps:
        step_executor = copy.deepcopy(executor)
        _share_step_dir(step_executor, experiment)
        if step.torchrun:
            step_executor.launcher = "torchrun"
            step_executor.ntasks_per_node = config.nproc_per_node
        argv = [*extra, *step.args]
        task = Partial(
            run_step, module=step.module_name, name=step.name, argv=argv, previous=previous
        )
        experiment.add(
            task,
            executor=step_executor,
            name=step.name,
            dependencies=[previous] if previous else [],
        )
        previous = step.name
    return experiment


def _share_step_dir(executor: Executor, experiment: Experiment) -> None:
    """Give a container the steps' outputs folder: its job dir is mounted alone."""
    if executor.name != "docker":
        return
    from nemotron.kit._step_runner import DIR_ENV

    folder = experiment.dir / "tasks" / ".steps"
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    volumes: list[str] = getattr(executor, "volumes")  # noqa: B009 - DockerExecutor's field
    volumes.append(f"{folder}:/nrun/steps:rw")
    executor.env_vars[DIR_ENV] = "/nrun/steps"


def last_outputs(experiment: Experiment, step: str) -> dict[str, Any]:
    """The artifacts step `step` reported (`print_step_complete`), read back from its log."""
    found: dict[str, Any] = {}
    text = experiment.logs(step)
    for line in str(text).splitlines():
        line = line.strip()
        if not (line.startswith("{") and line.endswith("}")):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and all(
            isinstance(v, dict) and "path" in v for v in data.values()
        ):
            found = data
    return found


def _show_lineage(console: Console, outputs: dict[str, Any], root: str | None) -> None:
    from nemotron.kit._init import jobs_registry
    from nemotron.kit.cli.display import lineage_tree
    from nemotron.registry import ArtifactRegistry

    registry = ArtifactRegistry(root) if root else jobs_registry()

    for name, info in outputs.items():
        uri = info.get("uri")
        if not isinstance(uri, str) or not uri.startswith("art://"):
            continue
        console.print(f"\n[bold]Lineage of {name}[/bold] ({uri})")
        console.print(lineage_tree(registry, uri))


def run_pipeline(
    config: PipelineConfig, steps: list[Step], extra_args: list[str] | None = None
) -> int:
    """Run `steps` in order as one nrun `Experiment`; 0 when every step succeeded.

    `extra_args` go to every step's command line. The exit code is the first failed step's
    (or 1); steps after it are cancelled, not run. A bad setting, an unknown profile or an
    executor that is not installed prints one line and returns 2, with nothing recorded.
    """
    from rich.console import Console

    err = Console(file=sys.stderr, highlight=False)
    extra = list(extra_args or [])
    try:
        _check(steps)
        run = _run_config(config)
        from nemotron.kit._executors import job_executor
        from nemotron.kit._init import registry_root

        executor = job_executor(run, {"NEMOTRON_REGISTRY": registry_root()})
    except KitError as exc:
        err.print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        return 2
    if config.verbose or config.dry_run:
        err.print(f"[bold]Pipeline[/bold] {' → '.join(s.name for s in steps)}", soft_wrap=True)
        err.print(f"[dim]executor: {executor.describe()}[/dim]", soft_wrap=True)
    if config.dry_run:
        for step in steps:
            shown = " ".join([*extra, *step.args])
            err.print(f"  {step.name}: python -m {step.module_name} {shown}".rstrip())
        return 0
    try:
        experiment = _experiment(config, steps, executor, extra)
        experiment.run(detach=run.detach, tail_logs=config.verbose and not run.detach)
    except KitError as exc:
        err.print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        return 2
    except Exception as exc:
        from nrun.exec.base import ExecutorError

        if not isinstance(exc, ExecutorError):
            raise
        err.print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        return 2
    if run.detach:
        err.print(
            f"Submitted pipeline [bold]{experiment.id}[/bold]: nrun experiment status "
            f"{experiment.id}",
            soft_wrap=True,
        )
        return 0
    statuses = experiment.statuses()
    for step in steps:
        status = statuses[step.name]
        if status.state.value != "SUCCEEDED":
            err.print(
                f"[red]Pipeline failed[/red] at step '{step.name}': {status.state}"
                + (f" ({status.reason})" if status.reason else ""),
                soft_wrap=True,
            )
            return status.exit_code or 1
    if config.verbose:
        err.print(f"[green]Pipeline {experiment.id} succeeded[/green]", soft_wrap=True)
        outputs = last_outputs(experiment, steps[-1].name)
        _show_lineage(Console(highlight=False), outputs, executor.env_vars.get("NEMOTRON_REGISTRY"))
    return 0
