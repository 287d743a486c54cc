"""A tiny recipe family for nemotron.kit, in pure numpy: each step seconds on one CPU core.

`tokenize_data` (the shipped corpus → char tokens, `PretrainDataArtifact` *tiny-tokens*) →
`blend` (weights over the sources, `PretrainBlendsArtifact` *tiny-blends*) → `pretrain` (an MLP
language model, `ModelArtifact` *tiny-pretrain*) → `sft` (the instruction JSONL, packed:
`SFTDataArtifact` *tiny-sft-data*, then `ModelArtifact` *tiny-sft*) → `eval` (held-out text,
`TinyEvalArtifact` *tiny-eval*). Run one with `python -m nemotron.recipes.tiny.<step>`, chain
them with pipes, or run them all as one pipeline (`cli.pipe`); `pipeline.STEPS` lists them.
"""

from __future__ import annotations

import os
import sys

__all__: list[str] = []

# The model's matrices are tiny: BLAS threads only spin against each other (ten times slower on
# a busy machine), so a step uses one core unless the caller says otherwise. This must happen
# before numpy loads its BLAS; step scripts import this package first for that reason.
if "numpy" not in sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
