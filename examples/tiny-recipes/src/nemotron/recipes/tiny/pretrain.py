"""Step 3, pretrain: a tiny numpy language model on a blend → `model.npz`, a `ModelArtifact`.

The model (`_model.py`) embeds the last `model.context` characters and predicts the next one
through a tanh layer; Adam runs `train.iters` steps on batches drawn by the blend's weights.
Writes `model.npz`, `model.json`, `vocab.json` and `losses.json`; publishes a `ModelArtifact`
(default name `tiny-pretrain`) with `step`, `final_loss` and the validation metrics. Input:
`data_path` (a `PretrainBlendsArtifact` folder, e.g. `${art:data,path}`), else the blend step's
output piped on stdin.

    ... | python -m nemotron.recipes.tiny.blend \
        | python -m nemotron.recipes.tiny.pretrain train.iters=100
"""

from __future__ import annotations

import nemotron.recipes.tiny  # noqa: F401  (first: one BLAS thread, set before numpy loads)

# isort: split
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from nemotron.recipes.tiny._common import (
    RecipeError,
    load_input,
    open_registry,
    output_folder,
    step_main,
    write_json,
)
from nemotron.recipes.tiny._data import read_blend
from nemotron.recipes.tiny._model import (
    ModelSpec,
    evaluate,
    init_params,
    save_checkpoint,
    train,
)
from nemotron.recipes.tiny._tokenizer import CharTokenizer

from nemotron.kit import ModelArtifact, PretrainBlendsArtifact

__all__ = ["ArchConfig", "PretrainConfig", "TrainConfig", "main", "run"]


@dataclass
class ArchConfig:
    """The model's shape (the vocab size comes from the data)."""

    context: int = 8
    embed_dim: int = 16
    hidden_dim: int = 128


@dataclass
class TrainConfig:
    """The optimisation."""

    iters: int = 300
    batch_size: int = 64
    lr: float = 0.01
    log_every: int = 50


@dataclass
class PretrainConfig:
    """Config of the pretrain step."""

    data_path: str | None = None
    """The blend (`${art:data,path}`); None: read the artifact piped on stdin."""
    model: ArchConfig = field(default_factory=ArchConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 1234
    output_dir: str = "${oc.env:NRUN_JOB_DIR,.}/output/tiny/pretrain"
    name: str = "tiny-pretrain"
    run: dict[str, Any] = field(default_factory=dict)
    """Artifact bindings for `${art:…}`, e.g. `{data: tiny-blends:latest}`."""


def check_train(train_cfg: TrainConfig) -> None:
    """Refuse an optimisation that cannot run."""
    if train_cfg.iters < 1 or train_cfg.batch_size < 1 or train_cfg.lr <= 0:
        raise RecipeError("train.iters and train.batch_size must be >= 1 and train.lr > 0")


def log_loss(step: str) -> Any:
    """A `train(log=...)` callback printing `step it N loss X` on stderr."""

    def log(it: int, loss: float) -> None:
        print(f"{step}: iter {it} loss {loss:.4f}", file=sys.stderr, flush=True)

    return log


def run(cfg: PretrainConfig) -> ModelArtifact:
    """Pretrain on the blend and publish the checkpoint."""
    check_train(cfg.train)
    if min(cfg.model.context, cfg.model.embed_dim, cfg.model.hidden_dim) < 1:
        raise RecipeError("model.context, model.embed_dim and model.hidden_dim must be >= 1")
    open_registry()
    blend = load_input(PretrainBlendsArtifact, cfg.data_path, "data_path", "blend")
    start = time.perf_counter()  # processing time, not the wait for the input
    folder, splits = read_blend(blend, cfg.model.context)
    tokenizer = CharTokenizer.load(folder)
    spec = ModelSpec(vocab_size=tokenizer.vocab_size, **asdict(cfg.model))
    rng = np.random.default_rng(cfg.seed)
    params = init_params(spec, rng)
    x_val, y_val, w_val = splits["valid"].weighted()
    initial = evaluate(params, x_val, y_val, w_val)
    losses = train(
        params,
        splits["train"].sampler(cfg.train.batch_size),
        iters=cfg.train.iters,
        lr=cfg.train.lr,
        rng=rng,
        log=log_loss("pretrain"),
        log_every=cfg.train.log_every,
    )
    final = evaluate(params, x_val, y_val, w_val)
    out = output_folder(cfg.output_dir)
    window = losses[-min(len(losses), 20) :]
    final_loss = float(np.mean(window))
    save_checkpoint(out, params, spec, tokenizer, {"step": cfg.train.iters, "seed": cfg.seed})
    write_json(out / "losses.json", {"train": losses})
    artifact = ModelArtifact(
        path=out,
        step=cfg.train.iters,
        final_loss=final_loss,
        metadata={
            "initial_loss": losses[0],
            "valid_loss": final["loss"],
            "valid_perplexity": final["perplexity"],
            "valid_accuracy": final["accuracy"],
            "initial_valid_loss": initial["loss"],
            "elapsed_sec": time.perf_counter() - start,
            "kind": "pretrain",
        },
    )
    artifact.save(name=cfg.name)
    return artifact


def main() -> None:
    """Run the pretrain step from the command line."""
    step_main("pretrain", PretrainConfig, run, keys=("model",), title="Pretrained")


if __name__ == "__main__":
    main()
