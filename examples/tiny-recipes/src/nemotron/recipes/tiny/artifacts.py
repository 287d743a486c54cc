"""The family's own artifact type: `TinyEvalArtifact`, the metrics of one evaluation."""

from __future__ import annotations

from pydantic import Field

from nemotron.kit import Artifact, InputDatasetInfo

__all__ = ["TinyEvalArtifact"]


class TinyEvalArtifact(Artifact):
    """An evaluation of a tiny model: `path` is the folder holding `results.json`."""

    loss: float = Field(description="Mean next-token cross-entropy on the held-out text")
    perplexity: float = Field(ge=0, description="exp(loss)")
    accuracy: float = Field(ge=0, le=1, description="Next-token accuracy on the held-out text")
    response_loss: float = Field(description="Cross-entropy on the instruction responses")
    response_accuracy: float = Field(ge=0, le=1, description="Accuracy on those responses")
    num_tokens: int = Field(ge=0, description="Held-out tokens scored")
    model_step: int = Field(ge=0, description="Training step of the evaluated model")
    sample: str = Field(default="", description="Greedy answer to the eval prompt")
    source_datasets: list[InputDatasetInfo | str] = Field(default_factory=list)

    def get_input_uris(self) -> list[str]:
        """The held-out datasets' URIs."""
        return [d.uri if isinstance(d, InputDatasetInfo) else d for d in self.source_datasets]
