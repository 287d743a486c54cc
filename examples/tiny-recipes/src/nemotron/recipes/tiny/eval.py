"""Step 5, eval: a model on held-out text and on the instruction responses → `TinyEvalArtifact`.

Scores next-character loss, perplexity and accuracy on `text_file` (default: the held-out text
shipped with the package, never trained on), the same on the responses of `instructions_file`
(masked as in SFT), and answers `prompt` greedily. Writes `results.json`; publishes a
`TinyEvalArtifact` (default name `tiny-eval`) whose inputs are the model and the two files.
Input: `model_path` (a `ModelArtifact` folder, e.g. `${art:model,path}`), else the model piped
on stdin by the pretrain or SFT step.

    ... | python -m nemotron.recipes.tiny.sft | python -m nemotron.recipes.tiny.eval
"""

from __future__ import annotations

import nemotron.recipes.tiny  # noqa: F401  (first: one BLAS thread, set before numpy loads)

# isort: split
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nemotron.recipes.tiny._common import (
    load_input,
    open_registry,
    output_folder,
    shipped,
    step_main,
    write_json,
)
from nemotron.recipes.tiny._model import evaluate, generate, load_checkpoint, windows
from nemotron.recipes.tiny._sft_data import PROMPT, pack, read_examples, sft_windows
from nemotron.recipes.tiny.artifacts import TinyEvalArtifact

from nemotron.kit import InputDatasetInfo, ModelArtifact

__all__ = ["EvalConfig", "main", "run"]


@dataclass
class EvalConfig:
    """Config of the eval step."""

    model_path: str | None = None
    """The model (`${art:model,path}`); None: read the artifact piped on stdin."""
    text_file: str | None = None
    """Held-out text; None: the one shipped with the package."""
    instructions_file: str | None = None
    """Instruction JSONL whose responses are scored; None: the one shipped."""
    prompt: str = "What is the opposite of hot?"
    """An instruction the model answers greedily (shown in `results.json`)."""
    max_new_tokens: int = 48
    output_dir: str = "${oc.env:NRUN_JOB_DIR,.}/output/tiny/eval"
    name: str = "tiny-eval"
    run: dict[str, Any] = field(default_factory=dict)
    """Artifact bindings for `${art:…}`, e.g. `{model: tiny-sft:latest}`."""


def run(cfg: EvalConfig) -> TinyEvalArtifact:
    """Evaluate the model and publish the results."""
    text_file = shipped(cfg.text_file, "heldout.txt")
    instructions = shipped(cfg.instructions_file, "instructions.jsonl")
    rows = read_examples(instructions)
    open_registry()
    model = load_input(ModelArtifact, cfg.model_path, "model_path", "pretrain or sft")
    params, spec, tokenizer = load_checkpoint(model.path)

    paragraphs = [" ".join(p.split()) for p in text_file.read_text("utf-8").split("\n\n")]
    ids = np.concatenate([tokenizer.encode(p, bos=True, eos=True) for p in paragraphs if p])
    text = evaluate(params, *windows(ids, spec.context))
    longest = max(len(tokenizer.encode(PROMPT.format(**r) + r["response"])) for r in rows) + 2
    responses = evaluate(params, *sft_windows(*pack(tokenizer, rows, longest), spec.context))
    answer = generate(
        params, spec, tokenizer, PROMPT.format(instruction=cfg.prompt), cfg.max_new_tokens
    )
    out = output_folder(cfg.output_dir)
    results = {
        "model": model.uri or str(model.path),
        "text": {**text, "tokens": int(ids.size)},
        "responses": responses,
        "prompt": cfg.prompt,
        "answer": answer,
    }
    write_json(out / "results.json", results)
    artifact = TinyEvalArtifact(
        path=out,
        loss=text["loss"],
        perplexity=text["perplexity"],
        accuracy=text["accuracy"],
        response_loss=responses["loss"],
        response_accuracy=responses["accuracy"],
        num_tokens=int(ids.size),
        model_step=model.step,
        sample=answer,
        source_datasets=[
            InputDatasetInfo(uri=text_file.as_uri(), name=text_file.stem, split="test"),
            InputDatasetInfo(uri=instructions.as_uri(), name=instructions.stem, split="test"),
        ],
    )
    artifact.save(name=cfg.name)
    return artifact


def main() -> None:
    """Run the eval step from the command line."""
    step_main("eval", EvalConfig, run, keys=("eval",), title="Evaluated")


if __name__ == "__main__":
    main()
