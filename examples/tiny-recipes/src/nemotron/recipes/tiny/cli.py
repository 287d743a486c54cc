"""The `tiny` recipes as typer commands: one per step (`@recipe`), and `pipe` for all five.

Registered as the `nemotron.recipes` entry point `tiny`, so the `nemotron` app shows them.
Each step command runs its script (`<step>.py --config <job dir>/train.yaml`) with the
config `-c NAME` names in `config/<step>/` (`default` or `tiny`), and binds its input artifact
(`run.data=tiny-blends:v3`, `--art.data …`), locally or on a run profile (`-r`/`-b`).
"""

from __future__ import annotations

import typer

from nemotron.kit.cli import RECIPE_CONTEXT_SETTINGS, global_callback, recipe

__all__ = ["app"]

app = typer.Typer(
    name="tiny",
    help="A tiny numpy LM recipe family: tokenize, blend, pretrain, sft, eval (seconds on a CPU).",
    callback=global_callback,
    no_args_is_help=True,
)


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe(
    "tiny/tokenize",
    script_path="tokenize_data.py",
    config_dir="config/tokenize",
    torchrun=False,
)
def tokenize(ctx: typer.Context) -> None:
    """Tokenize the shipped corpus (char vocab, train/valid arrays): tiny-tokens."""


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe(
    "tiny/blend",
    script_path="blend.py",
    config_dir="config/blend",
    artifacts={"data": "tiny-tokens:latest"},
    torchrun=False,
)
def blend(ctx: typer.Context) -> None:
    """Weigh the tokenized sources into a data blend: tiny-blends."""


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe(
    "tiny/pretrain",
    script_path="pretrain.py",
    config_dir="config/pretrain",
    artifacts={"data": "tiny-blends:latest"},
    torchrun=False,
)
def pretrain(ctx: typer.Context) -> None:
    """Pretrain the tiny language model on the blend: tiny-pretrain."""


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe(
    "tiny/sft",
    script_path="sft.py",
    config_dir="config/sft",
    artifacts={"model": "tiny-pretrain:latest"},
    torchrun=False,
)
def sft(ctx: typer.Context) -> None:
    """Fine-tune the pretrained model on the instruction JSONL: tiny-sft-data, tiny-sft."""


@app.command(name="eval", context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe(
    "tiny/eval",
    script_path="eval.py",
    config_dir="config/eval",
    artifacts={"model": "tiny-sft:latest"},
    torchrun=False,
)
def evaluate(ctx: typer.Context) -> None:
    """Evaluate the fine-tuned model on held-out text and the responses: tiny-eval."""


@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
def pipe(ctx: typer.Context) -> None:
    """Run tokenize → blend → pretrain → sft → eval as one pipeline (the lineage of tiny-eval).

    `step.key=value` goes to one step (`pretrain.train.iters=50`), `key=value` to all;
    `-r/-b PROFILE` runs it on a profile's executor, `-d` prints the plan.
    """
    from nemotron.recipes.tiny.pipeline import STEPS

    from nemotron.kit.cli import run_pipe

    raise typer.Exit(run_pipe(ctx, STEPS, job_name="tiny"))
