"""Step 2, blend: weights over the tokenized sources → `blend.json`, a `PretrainBlendsArtifact`.

`blend.json` is Megatron-style: `{"train": [w1, "fables/train", w2, …], "valid": […]}` (paths
relative to the token data, weights normalised) plus where that data is: `data_uri`, the
`art://` URI of the `tiny-tokens` version read, and `data_path`. Empty `weights` weigh each
source by its train tokens. Input: `data_path` (a `PretrainDataArtifact` folder, e.g.
`${art:data,path}`), else the tokenize step's output piped on stdin.

    python -m nemotron.recipes.tiny.tokenize_data | python -m nemotron.recipes.tiny.blend
"""

from __future__ import annotations

import nemotron.recipes.tiny  # noqa: F401  (first: one BLAS thread, set before numpy loads)

# isort: split
import time
from dataclasses import dataclass, field
from typing import Any

from nemotron.recipes.tiny._common import (
    RecipeError,
    load_input,
    open_registry,
    output_folder,
    read_json,
    step_main,
    write_json,
)

from nemotron.kit import (
    InputDatasetInfo,
    PretrainBlendsArtifact,
    PretrainDataArtifact,
)

__all__ = ["BlendConfig", "main", "run"]


@dataclass
class BlendConfig:
    """Config of the blend step."""

    data_path: str | None = None
    """The tokenized data (`${art:data,path}`); None: read the artifact piped on stdin."""
    weights: dict[str, float] = field(default_factory=dict)
    """Weight per source (`{fables: 2, seasons: 1}`); empty: proportional to train tokens."""
    output_dir: str = "${oc.env:NRUN_JOB_DIR,.}/output/tiny/blend"
    name: str = "tiny-blends"
    run: dict[str, Any] = field(default_factory=dict)
    """Artifact bindings for `${art:…}`, e.g. `{data: tiny-tokens:latest}`."""


def run(cfg: BlendConfig) -> PretrainBlendsArtifact:
    """Blend the tokenized sources and publish the blend."""
    open_registry()
    data = load_input(PretrainDataArtifact, cfg.data_path, "data_path", "tokenize")
    start = time.perf_counter()  # processing time, not the wait for the input
    sources: dict[str, dict[str, Any]] = read_json(data.path / "sources.json")
    unknown = sorted(set(cfg.weights) - set(sources))
    if unknown:
        raise RecipeError(
            f"weights name unknown source {unknown[0]!r}; sources: {', '.join(sources)}"
        )
    raw = cfg.weights or {name: float(s["train_tokens"]) for name, s in sources.items()}
    if any(w < 0 for w in raw.values()) or sum(raw.values()) <= 0:
        raise RecipeError("weights must be non-negative and not all zero")
    total = sum(raw.values())
    weights = {name: raw[name] / total for name in sources if raw.get(name, 0.0) > 0}
    blend: dict[str, Any] = {
        "data_uri": data.uri,
        "data_path": str(data.path.resolve()),
        "weights": weights,
    }
    for split in ("train", "valid"):
        blend[split] = [item for name, w in weights.items() for item in (w, f"{name}/{split}")]
    out = output_folder(cfg.output_dir)
    write_json(out / "blend.json", blend)
    source_uri = data.uri or data.path.resolve().as_uri()
    artifact = PretrainBlendsArtifact(
        path=out,
        blend_path=str(out / "blend.json"),
        total_tokens=sum(sources[n]["train_tokens"] + sources[n]["valid_tokens"] for n in weights),
        total_sequences=sum(sources[n]["paragraphs"] for n in weights),
        train_tokens=sum(sources[n]["train_tokens"] for n in weights),
        valid_tokens=sum(sources[n]["valid_tokens"] for n in weights),
        num_shards=len(weights),
        elapsed_sec=time.perf_counter() - start,
        source_datasets=[
            InputDatasetInfo(uri=source_uri, name=n, weight=w, split="train")
            for n, w in weights.items()
        ],
    )
    artifact.save(name=cfg.name)
    return artifact


def main() -> None:
    """Run the blend step from the command line."""
    step_main("blend", BlendConfig, run, keys=("data",), title="Blended")


if __name__ == "__main__":
    main()
