"""Step 1, tokenize: the text corpus → a char vocab and train/valid token arrays per source.

Every `*.txt` file of `corpus_dir` (default: the corpus shipped with the package) is a source;
its paragraphs (split on blank lines) are shuffled with `seed`, `valid_fraction` of them held
out. Writes `vocab.json`, `<source>/train.npy`, `<source>/valid.npy` and `sources.json`, and
publishes a `PretrainDataArtifact` (default name `tiny-tokens`) whose source datasets are the
corpus files.

    python -m nemotron.recipes.tiny.tokenize_data [key=value ...]
    python tokenize_data.py --config config/tokenize/tiny.yaml seed=7
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
    DATA_DIR,
    RecipeError,
    open_registry,
    output_folder,
    step_main,
    write_json,
)
from nemotron.recipes.tiny._tokenizer import CharTokenizer

from nemotron.kit import InputDatasetInfo, PretrainDataArtifact

__all__ = ["TokenizeConfig", "main", "run"]


@dataclass
class TokenizeConfig:
    """Config of the tokenize step."""

    corpus_dir: str | None = None
    """Folder of `*.txt` sources; None: the corpus shipped with the package."""
    valid_fraction: float = 0.1
    """Share of each source's paragraphs held out for validation (at least one)."""
    include_ascii: bool = True
    """Put every printable ASCII character in the vocab, so later text has no `<unk>`."""
    seed: int = 1234
    output_dir: str = "${oc.env:NRUN_JOB_DIR,.}/output/tiny/tokenize"
    name: str = "tiny-tokens"
    """Registry name the artifact is published as."""
    run: dict[str, Any] = field(default_factory=dict)
    """Artifact bindings for `${art:…}` (none: this step reads no artifact)."""


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def run(cfg: TokenizeConfig) -> PretrainDataArtifact:
    """Tokenize the corpus and publish it."""
    start = time.perf_counter()
    if not 0.0 < cfg.valid_fraction < 1.0:
        raise RecipeError(f"valid_fraction must be between 0 and 1, got {cfg.valid_fraction}")
    corpus = Path(cfg.corpus_dir).expanduser().resolve() if cfg.corpus_dir else DATA_DIR / "corpus"
    files = sorted(corpus.glob("*.txt")) if corpus.is_dir() else []
    if not files:
        raise RecipeError(f"corpus_dir {corpus} holds no *.txt files")
    open_registry()
    texts = {f.stem: f.read_text(encoding="utf-8") for f in files}
    tokenizer = CharTokenizer.build(texts.values(), include_ascii=cfg.include_ascii)
    out = output_folder(cfg.output_dir)
    tokenizer.save(out)
    rng = np.random.default_rng(cfg.seed)
    sources: dict[str, dict[str, Any]] = {}
    datasets: list[InputDatasetInfo | str] = []
    for file in files:
        paragraphs = _paragraphs(texts[file.stem])
        if len(paragraphs) < 2:
            raise RecipeError(f"{file} needs at least two paragraphs (separated by a blank line)")
        order = rng.permutation(len(paragraphs))
        n_valid = max(1, round(len(paragraphs) * cfg.valid_fraction))
        splits = {"valid": order[:n_valid], "train": order[n_valid:]}
        folder = out / file.stem
        folder.mkdir(exist_ok=True)
        counts: dict[str, int] = {}
        for split, picked in splits.items():
            ids = [tokenizer.encode(paragraphs[i], bos=True, eos=True) for i in sorted(picked)]
            tokens = np.concatenate(ids)
            np.save(folder / f"{split}.npy", tokens)
            counts[f"{split}_tokens"] = int(tokens.size)
        sources[file.stem] = {"file": file.name, "paragraphs": len(paragraphs), **counts}
        datasets.append(
            InputDatasetInfo(
                uri=file.as_uri(),
                name=file.stem,
                split="train",
                num_rows=len(paragraphs),
                size_bytes=file.stat().st_size,
            )
        )
    write_json(out / "sources.json", sources)
    train = sum(s["train_tokens"] for s in sources.values())
    valid = sum(s["valid_tokens"] for s in sources.values())
    artifact = PretrainDataArtifact(
        path=out,
        total_tokens=train + valid,
        total_sequences=sum(s["paragraphs"] for s in sources.values()),
        elapsed_sec=time.perf_counter() - start,
        num_shards=len(sources),
        source_datasets=datasets,
        metadata={"vocab_size": tokenizer.vocab_size, "train_tokens": train, "valid_tokens": valid},
    )
    artifact.save(name=cfg.name)
    return artifact


def main() -> None:
    """Run the tokenize step from the command line."""
    step_main("tokenize", TokenizeConfig, run, keys=("data",), title="Tokenized")


if __name__ == "__main__":
    main()
