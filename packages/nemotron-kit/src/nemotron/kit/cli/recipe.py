"""`@recipe`: a typer command that runs a training script with a config, anywhere.

```python
app = typer.Typer(callback=global_callback)

@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe("tiny/pretrain", script_path="pretrain.py", config_dir="config",
        artifacts={"data": "tiny-blends:latest"}, torchrun=False)
def pretrain(ctx: typer.Context) -> None:
    '''Pretrain the tiny model.'''
```

`pretrain -c tiny train.iters=5 run.data=tiny-blends:v3 --run cluster --mock` loads
`config/tiny.yaml`, applies the overrides strictly, pins the artifact inputs, and writes
`job.yaml` and `train.yaml` into a new job dir; then runs `python pretrain.py --config
train.yaml --mock` here, or, with `--run`/`--batch`, as a task of an nrun `Experiment` on the
profile's executor (local, Docker, Slurm), visible to `nrun experiment …`.
"""

from __future__ import annotations

import functools
import inspect
import os
import runpy
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer  # noqa: TID253 - a recipe is a typer command

from nemotron.kit._executors import job_executor
from nemotron.kit._init import registry_root
from nemotron.kit.cli.config import ConfigBuilder
from nemotron.kit.cli.display import display_job_config, display_job_submission, stderr_console
from nemotron.kit.cli.globals import GlobalContext, RecipeUsageError, split_unknown_args
from nemotron.kit.exceptions import KitError

if TYPE_CHECKING:
    from nemotron.kit.run import RunConfig
    from nrun.exec.base import Executor
    from nrun.exec.packaging import Packager

__all__ = [
    "RECIPE_CONTEXT_SETTINGS",
    "PackagerKind",
    "RecipeMetadata",
    "launch_task",
    "recipe",
]

RECIPE_CONTEXT_SETTINGS: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}
"""What `app.command(context_settings=...)` needs for a recipe: overrides are extra args."""
PackagerKind = Literal["pattern", "code", "self_contained"]


@dataclass(frozen=True)
class RecipeMetadata:
    """What `@recipe` was given, paths resolved; kept on the command as `_recipe_metadata`."""

    name: str
    script_path: Path
    config_dir: Path
    default_config: str = "default"
    artifacts: dict[str, Any] = field(default_factory=dict)
    torchrun: bool = True
    packager: PackagerKind = "pattern"


def _beside(func: Callable[..., Any], path: str | os.PathLike[str]) -> Path:
    given = Path(path).expanduser()
    if given.is_absolute():
        return given
    try:
        base = Path(inspect.getfile(func)).resolve().parent
    except (TypeError, OSError):
        base = Path.cwd()
    return base / given if (base / given).exists() or not given.exists() else given.resolve()


def recipe(
    name: str,
    script_path: str,
    config_dir: str,
    default_config: str = "default",
    artifacts: Mapping[str, Any] | None = None,
    *,
    torchrun: bool = True,
    packager: PackagerKind = "pattern",
) -> Callable[[Callable[..., Any]], Callable[[typer.Context], None]]:
    """Make a function a recipe command (register it with `RECIPE_CONTEXT_SETTINGS`).

    Args:
        name: The recipe's name (`nano3/pretrain`): job dirs and experiments are named by it.
        script_path: The training script, relative to the file defining the function.
        config_dir: Its folder of YAML configs (`-c NAME` picks `NAME.yaml`), relative alike.
        default_config: The config used without `-c`.
        artifacts: Inputs by slot: `{"data": "Blends:latest"}` binds `run.data`, which
            `${art:data,path}` reads; `run.data=Blends:v3` or `--art.data Blends:v3` rebinds.
        torchrun: Start the script through torchrun.
        packager: How the code travels to a profile's executor: `pattern` (the script and
            its config), `code` (the repository's files), `self_contained` (one file with
            the `nemotron.*` modules it imports inlined).
    """
    if packager not in ("pattern", "code", "self_contained"):
        raise ValueError(f"unknown packager {packager!r}: expected pattern, code or self_contained")

    def decorator(func: Callable[..., Any]) -> Callable[[typer.Context], None]:
        meta = RecipeMetadata(
            name=name,
            script_path=_beside(func, script_path),
            config_dir=_beside(func, config_dir),
            default_config=default_config,
            artifacts=dict(artifacts or {}),
            torchrun=torchrun,
            packager=packager,
        )

        @functools.wraps(func)
        def wrapper(ctx: typer.Context) -> None:
            code = _run_recipe(meta, ctx)
            if code:
                raise typer.Exit(code)

        wrapper.__dict__["_recipe_metadata"] = meta
        del wrapper.__dict__["__wrapped__"]  # typer reads the wrapper's own (ctx) signature
        return wrapper

    return decorator


def _fail(message: str, code: int = 2) -> int:
    stderr_console().print(f"[red]Error:[/red] {message}", soft_wrap=True)
    return code


def _run_recipe(meta: RecipeMetadata, ctx: typer.Context) -> int:
    base = ctx.obj if isinstance(ctx.obj, GlobalContext) else GlobalContext()
    try:
        dotlist, passthrough, global_ctx = split_unknown_args(list(ctx.args), base)
        global_ctx.dotlist, global_ctx.passthrough = dotlist, passthrough
        global_ctx.check()
        if not meta.script_path.is_file():
            raise RecipeUsageError(f"recipe {meta.name}: script not found: {meta.script_path}")
        root = registry_root()
        builder = ConfigBuilder(
            meta.name,
            meta.script_path,
            meta.config_dir,
            meta.default_config,
            ctx=global_ctx,
            artifacts=meta.artifacts,
        )
        builder.load_and_merge()
        builder.resolve_artifacts()
        run_config = builder.load_profile()
        env = _job_env(root, local=run_config is None)
        executor = job_executor(run_config, env) if run_config is not None else None
        builder.build_job_config(env)
        secrets = run_config.secrets if run_config is not None else ()
        if global_ctx.dry_run:
            display_job_config(builder.job_config, secrets=secrets)
            return 0
        job_path, train_path = builder.save()
    except KitError as exc:
        return _fail(str(exc))
    display_job_config(builder.job_config, secrets=secrets)
    display_job_submission(job_path, train_path, env, global_ctx.mode, secrets=secrets)
    if run_config is None or executor is None:
        return _run_here(meta, train_path, global_ctx.passthrough, env)
    packager = _packager(meta, train_path, global_ctx.passthrough)
    if global_ctx.stage:
        return _stage(executor, packager, job_path.parent)
    return launch_task(
        executor,
        packager,
        title=_title(meta, run_config),
        task_name=meta.name.rsplit("/", 1)[-1],
        detach=global_ctx.mode == "batch",
    )


def _job_env(root: str, *, local: bool) -> dict[str, str]:
    """What the job gets besides its profile's: the registry, and W&B's `[wandb]` project.

    A profile's executor adds W&B's project itself (`build_executor`).
    """
    env = {"NEMOTRON_REGISTRY": root}
    if local:
        from nemotron.kit.run import load_wandb_config

        wandb = load_wandb_config()
        for key in ("project", "entity"):
            value = getattr(wandb, key, None) if wandb is not None else None
            if value and f"WANDB_{key.upper()}" not in os.environ:
                env[f"WANDB_{key.upper()}"] = value
    return env


def _title(meta: RecipeMetadata, config: RunConfig) -> str:
    return meta.name.replace("/", "-") if config.job_name == "nemo-run" else config.job_name


def _packager(meta: RecipeMetadata, train_path: Path, argv: list[str]) -> Packager:
    from nemotron.kit.packaging import CodePackager, SelfContainedPackager

    common: dict[str, Any] = {
        "script_path": str(meta.script_path),
        "train_path": str(train_path),
        "argv": argv,
    }
    if meta.packager == "code":
        return CodePackager(**common)
    if meta.packager == "self_contained":
        return SelfContainedPackager(**common)
    return SelfContainedPackager(**common, inline_package="nemotron", exclude=("nemotron",))


def _run_here(
    meta: RecipeMetadata, train_path: Path, passthrough: list[str], env: Mapping[str, str]
) -> int:
    """Run the script in a child process here; its exit code is the command's."""
    import importlib.util

    script = [str(meta.script_path), "--config", str(train_path), *passthrough]
    if meta.torchrun:
        if importlib.util.find_spec("torch") is None:
            return _fail(
                f"recipe {meta.name} runs through torchrun, which needs torch: pip install torch"
            )
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=1", *script]
    else:
        command = [sys.executable, *script]
    stderr_console().print(f"[dim]$ {subprocess.list2cmdline(command)}[/dim]", soft_wrap=True)
    try:
        return subprocess.call(command, env={**os.environ, **env})
    except KeyboardInterrupt:
        return 130


def launch_task(
    executor: Executor,
    packager: Packager,
    *,
    title: str,
    task_name: str,
    detach: bool = False,
) -> int:
    """Run the packaged script as the one task of a new nrun `Experiment`; its exit code.

    The task is `runpy.run_module("main")` of the packaged code, which the standard library
    runs anywhere: the launcher sets the script's argv and runs it.
    """
    from nrun.config import Partial
    from nrun.exec.experiment import Experiment

    executor.packager = packager
    experiment = Experiment(title, executor=executor)
    task = Partial(runpy.run_module, mod_name="main", run_name="__main__", alter_sys=True)
    try:
        experiment.add(task, name=task_name)
        experiment.run(detach=detach, tail_logs=not detach)
    except KitError as exc:
        return _fail(str(exc))
    except Exception as exc:
        from nrun.exec.base import ExecutorError

        if isinstance(exc, ExecutorError):
            return _fail(str(exc))
        raise
    console = stderr_console()
    if detach:
        console.print(
            f"Submitted experiment [bold]{experiment.id}[/bold]; follow it with "
            f"[cyan]nrun experiment logs {experiment.id} {task_name} -f[/cyan]",
            soft_wrap=True,
        )
        return 0
    status = experiment.statuses()[task_name]
    console.print(f"experiment {experiment.id}: {task_name} {status.state}", soft_wrap=True)
    if status.state.value == "SUCCEEDED":
        return 0
    return status.exit_code or 1


def _stage(executor: Executor, packager: Packager, job_dir: Path) -> int:
    """Package the job and put it where the profile runs it; print how to run it there.

    A Slurm profile's tunnel (SSH or the login node itself) gets the files in
    `<its job dir>/staged/<job>/`; other executors' jobs are staged in the job dir here.
    """
    import shlex

    from nrun.exec.packaging import extract

    archive = packager.package(Path.cwd(), job_dir)
    registry = executor.env_vars.get("NEMOTRON_REGISTRY")
    python = f"NEMOTRON_REGISTRY={shlex.quote(registry)} " if registry else ""
    python += shlex.quote(executor.python)
    tunnel = getattr(executor, "tunnel", None)
    console = stderr_console()
    if tunnel is None or not tunnel.job_dir:
        code = extract(archive, job_dir / "code")
        command = f"cd {shlex.quote(str(code))} && PYTHONPATH=. {python} main.py"
        console.print(f"Staged in {job_dir}\nRun it with: {command}", soft_wrap=True)
        return 0
    remote = f"{tunnel.resolve(tunnel.job_dir)}/staged/{job_dir.name}"
    quoted = shlex.quote(remote)
    made = tunnel.run(f"mkdir -p {quoted}/code")
    if made.returncode != 0:
        return _fail(f"cannot stage in {remote}: {made.first_error()}", 1)
    tunnel.put(archive, f"{remote}/code.tar.gz")
    unpacked = tunnel.run(f"tar -xzf {quoted}/code.tar.gz -C {quoted}/code")
    if unpacked.returncode != 0:
        return _fail(f"cannot unpack the job in {remote}: {unpacked.first_error()}", 1)
    command = f"cd {shlex.quote(remote + '/code')} && PYTHONPATH=. {python} main.py"
    console.print(
        f"Staged on {tunnel.key} in {remote}\nRun it there (e.g. under srun --pty): {command}",
        soft_wrap=True,
    )
    return 0
