"""Step 4, SFT: the instruction JSONL, packed (`SFTDataArtifact`), fine-tunes the pretrained model.

Each row `{"instruction", "response"}` becomes `<bos>Question: …\nAnswer: …<eos>` in the
model's vocab, with a loss mask on the response; rows are shuffled with `seed`,
`valid_fraction` held out, and packed into `pack_size` tokens (`training_{pack_size}.npy`,
`…_mask.npy`, `validation_…`). The packed data is published first (default name
`tiny-sft-data`) and read back from the registry, so the fine-tuned `ModelArtifact` (default
name `tiny-sft`) has both the pretrained model and the data as inputs. Input: `model_path` (a
`ModelArtifact` folder, e.g. `${art:model,path}`), else the pretrain step's output on stdin.

    ... | python -m nemotron.recipes.tiny.pretrain | python -m nemotron.recipes.tiny.sft
"""

from __future__ import annotations

import nemotron.recipes.tiny  # noqa: F401  (first: one BLAS thread, set before numpy loads)

# isort: split
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from nemotron.recipes.tiny._common import (
    RecipeError,
    load_input,
    open_registry,
    output_folder,
    shipped,
    step_main,
    write_json,
)
from nemotron.recipes.tiny._model import (
    Ids,
    Sampler,
    evaluate,
    load_checkpoint,
    save_checkpoint,
    train,
)
from nemotron.recipes.tiny._sft_data import pack, read_examples, sft_windows
from nemotron.recipes.tiny.pretrain import TrainConfig, check_train, log_loss

from nemotron.kit import InputDatasetInfo, ModelArtifact, SFTDataArtifact

__all__ = ["SFTConfig", "main", "run"]


@dataclass
class SFTConfig:
    """Config of the SFT step."""

    model_path: str | None = None
    """The pretrained model (`${art:model,path}`); None: read the artifact piped on stdin."""
    data_file: str | None = None
    """Instruction JSONL (`{"instruction", "response"}` rows); None: the one shipped."""
    pack_size: int = 256
    valid_fraction: float = 0.2
    train: TrainConfig = field(default_factory=lambda: TrainConfig(iters=200, lr=0.003))
    seed: int = 1234
    output_dir: str = "${oc.env:NRUN_JOB_DIR,.}/output/tiny/sft"
    data_name: str = "tiny-sft-data"
    """Registry name of the packed SFT data."""
    name: str = "tiny-sft"
    """Registry name of the fine-tuned model."""
    run: dict[str, Any] = field(default_factory=dict)
    """Artifact bindings for `${art:…}`, e.g. `{model: tiny-pretrain:latest}`."""


def _packed(folder: Path, split: str, pack_size: int) -> tuple[Ids, Any]:
    return (
        np.load(folder / f"{split}_{pack_size}.npy"),
        np.load(folder / f"{split}_{pack_size}_mask.npy"),
    )


def run(cfg: SFTConfig) -> tuple[SFTDataArtifact, ModelArtifact]:
    """Pack the instructions, publish them, fine-tune on them, publish the model."""
    check_train(cfg.train)
    if not 0.0 < cfg.valid_fraction < 1.0:
        raise RecipeError(f"valid_fraction must be between 0 and 1, got {cfg.valid_fraction}")
    file = shipped(cfg.data_file, "instructions.jsonl")
    rows = read_examples(file)
    open_registry()
    base = load_input(ModelArtifact, cfg.model_path, "model_path", "pretrain")
    start = time.perf_counter()  # processing time, not the wait for the input
    params, spec, tokenizer = load_checkpoint(base.path)

    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(rows))
    n_valid = max(1, round(len(rows) * cfg.valid_fraction))
    splits = {"training": order[n_valid:], "validation": order[:n_valid]}
    out = output_folder(cfg.output_dir)
    data_dir = out / "data"
    data_dir.mkdir(exist_ok=True)
    tokens = 0
    for split, picked in splits.items():
        ids, masks = pack(tokenizer, [rows[i] for i in sorted(picked)], cfg.pack_size)
        np.save(data_dir / f"{split}_{cfg.pack_size}.npy", ids)
        np.save(data_dir / f"{split}_{cfg.pack_size}_mask.npy", masks)
        tokens += int((ids != 0).sum())
    data = SFTDataArtifact(
        path=data_dir,
        total_tokens=tokens,
        total_sequences=len(rows),
        elapsed_sec=time.perf_counter() - start,
        pack_size=cfg.pack_size,
        training_path=str(data_dir / f"training_{cfg.pack_size}.npy"),
        validation_path=str(data_dir / f"validation_{cfg.pack_size}.npy"),
        data_format="packed_npy",
        source_datasets=[
            InputDatasetInfo(
                uri=file.as_uri(),
                name=file.stem,
                split="train",
                text_field="instruction,response",
                num_rows=len(rows),
                size_bytes=file.stat().st_size,
            )
        ],
        metadata={"train_examples": len(splits["training"]), "valid_examples": n_valid},
    )
    data.save(name=cfg.data_name)
    if data.uri is not None:  # train on the published copy: it becomes an input of the model
        data = SFTDataArtifact.from_uri(data.uri)

    x, y, w = sft_windows(*_packed(data.path, "training", cfg.pack_size), spec.context)
    x_val, y_val, w_val = sft_windows(
        *_packed(data.path, "validation", cfg.pack_size), spec.context
    )
    before = evaluate(params, x_val, y_val, w_val)
    keep = w > 0  # only the response positions carry loss: sample those
    x, y = x[keep], y[keep]

    def sample(rng: np.random.Generator) -> tuple[Ids, Ids, None]:
        pick = rng.integers(0, len(y), size=cfg.train.batch_size)
        return x[pick], y[pick], None

    sampler: Sampler = sample
    losses = train(
        params,
        sampler,
        iters=cfg.train.iters,
        lr=cfg.train.lr,
        rng=rng,
        log=log_loss("sft"),
        log_every=cfg.train.log_every,
    )
    after = evaluate(params, x_val, y_val, w_val)
    model_dir = out / "model"
    step = base.step + cfg.train.iters
    save_checkpoint(model_dir, params, spec, tokenizer, {"step": step, "seed": cfg.seed})
    write_json(model_dir / "losses.json", {"train": losses})
    model = ModelArtifact(
        path=model_dir,
        step=step,
        final_loss=float(np.mean(losses[-min(len(losses), 20) :])),
        metadata={
            "initial_loss": losses[0],
            "valid_loss": after["loss"],
            "valid_accuracy": after["accuracy"],
            "base_valid_loss": before["loss"],
            "base_step": base.step,
            "elapsed_sec": time.perf_counter() - start,
            "kind": "sft",
        },
    )
    model.save(name=cfg.name)
    return data, model


def main() -> None:
    """Run the sft step from the command line."""
    step_main("sft", SFTConfig, run, keys=("data", "model"), title="Fine-tuned")


if __name__ == "__main__":
    main()
