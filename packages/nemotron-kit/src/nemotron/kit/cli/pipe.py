"""A pipeline as a command: `pipe [-r PROFILE | -b PROFILE] [-d] [step.key=value ...] [args]`.

```python
@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
def pipe(ctx: typer.Context) -> None:
    '''Run every step as one pipeline.'''
    raise typer.Exit(run_pipe(ctx, STEPS, job_name="tiny-pipe"))
```

`pretrain.iters=5` goes to the step `pretrain` alone (as `iters=5`); other tokens go to every
step. `-r`/`-b` name the `env.toml` profile the steps run on, attached or detached.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nemotron.kit.cli.display import stderr_console
from nemotron.kit.cli.globals import GlobalContext, RecipeUsageError, split_unknown_args
from nemotron.kit.step import Step

if TYPE_CHECKING:
    import typer

__all__ = ["run_pipe", "split_step_args"]


def split_step_args(
    tokens: Sequence[str], steps: Sequence[Step]
) -> tuple[list[str], dict[str, list[str]]]:
    """Tokens for every step, and tokens for one step (`<step>.key=value` → `key=value`)."""
    names = {step.name for step in steps}
    common: list[str] = []
    own: dict[str, list[str]] = {name: [] for name in names}
    for token in tokens:
        head, dot, rest = token.partition(".")
        if dot and "=" in rest and head in names and "=" not in head:
            own[head].append(rest)
        else:
            common.append(token)
    return common, own


def run_pipe(ctx: typer.Context, steps: Sequence[Step], *, job_name: str = "pipeline") -> int:
    """Run `steps` as one pipeline with the command line's options; the exit code."""
    from nemotron.kit.pipeline import PipelineConfig, run_pipeline

    base = ctx.obj if isinstance(ctx.obj, GlobalContext) else GlobalContext()
    try:
        dotlist, passthrough, options = split_unknown_args(list(ctx.args), base)
        options.check()
        if options.config:
            raise RecipeUsageError("-c/--config names one step's config; pipe takes step.key=value")
        if options.stage:
            raise RecipeUsageError("--stage stages one recipe; pipe cannot stage its steps")
    except RecipeUsageError as exc:
        stderr_console().print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        return 2
    common, own = split_step_args([*dotlist, *passthrough], steps)
    with_args = [dataclasses.replace(s, args=[*s.args, *own[s.name]]) for s in steps]
    config = PipelineConfig(
        job_name=job_name,
        profile=options.profile,
        detach=options.mode == "batch",
        dry_run=options.dry_run,
    )
    return run_pipeline(config, with_args, common)
