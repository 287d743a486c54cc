"""The tiny pipeline: tokenize → blend → pretrain → sft → eval, as `nemotron.kit` steps.

Each step runs as `python -m <module>`; its `print_step_complete` output is the next step's
input (`Artifact.load()`), so `run_pipeline(PipelineConfig(), STEPS)` publishes
`tiny-tokens` … `tiny-eval` with the lineage of `tiny-eval` reaching back to the corpus.
"""

from __future__ import annotations

from nemotron.kit import Step

__all__ = ["STEPS"]

_PACKAGE = "nemotron.recipes.tiny"

STEPS: list[Step] = [
    Step(name="tokenize", module=f"{_PACKAGE}.tokenize_data"),
    Step(name="blend", module=f"{_PACKAGE}.blend"),
    Step(name="pretrain", module=f"{_PACKAGE}.pretrain"),
    Step(name="sft", module=f"{_PACKAGE}.sft"),
    Step(name="eval", module=f"{_PACKAGE}.eval"),
]
"""The five steps, in order (module names, so listing them imports no step)."""
