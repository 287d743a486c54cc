"""The typed artifacts of the recipes: data blends, pretrain/SFT/JSONL data, model checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from nemotron.kit._artifact import Artifact
from nemotron.kit.trackers import InputDatasetInfo, tokenizer_to_uri

__all__ = [
    "DataBlendsArtifact",
    "ModelArtifact",
    "PretrainBlendsArtifact",
    "PretrainDataArtifact",
    "SFTDataArtifact",
    "SplitJsonlDataArtifact",
]


def _dataset_uris(datasets: list[InputDatasetInfo | str], tokenizer: str | None) -> list[str]:
    uris = [d.uri if isinstance(d, InputDatasetInfo) else d for d in datasets]
    return [*uris, tokenizer] if tokenizer else uris


_Count = Annotated[int, Field(ge=0)]
_OptCount = Annotated[int | None, Field(ge=0)]
_Seconds = Annotated[float, Field(ge=0, description="Processing time in seconds")]
_Shards = Annotated[int, Field(ge=1, description="Number of output shards")]
_Sources = list[InputDatasetInfo | str]


class DataBlendsArtifact(Artifact):
    """Tokenized data blends (pretrain/RL data prep); `path` is the `blend.json` file."""

    _path_is_file: ClassVar[bool] = True

    total_tokens: _Count
    total_sequences: _Count = 0
    elapsed_sec: _Seconds = 0.0
    train_tokens: _OptCount = None
    valid_tokens: _OptCount = None
    test_tokens: _OptCount = None
    source_datasets: _Sources = Field(default_factory=list)
    tokenizer_uri: str | None = None

    def get_input_uris(self) -> list[str]:
        """The source datasets' URIs and the tokenizer's."""
        return _dataset_uris(self.source_datasets, self.tokenizer_uri)

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """`blend.json` and `metadata.json`."""
        blend = [(str(self.path), "blend.json")] if self.path.is_file() else []
        return blend + super().get_wandb_files()


class PretrainBlendsArtifact(Artifact):
    """Pretrain data blends: `path` is the folder of bin/idx files, `blend_path` its blend.json."""

    total_tokens: _Count
    total_sequences: _Count = 0
    elapsed_sec: _Seconds = 0.0
    num_shards: _Shards = 1
    blend_path: str | None = Field(default=None, description="Path to blend.json")
    train_tokens: _OptCount = None
    valid_tokens: _OptCount = None
    test_tokens: _OptCount = None
    source_datasets: _Sources = Field(default_factory=list)
    tokenizer_uri: str | None = None

    def get_input_uris(self) -> list[str]:
        """The source datasets' URIs and the tokenizer's."""
        return _dataset_uris(self.source_datasets, self.tokenizer_uri)

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """`blend.json` and `metadata.json`."""
        blend = Path(self.blend_path) if self.blend_path else self.path / "blend.json"
        files = [(str(blend), "blend.json")] if blend.is_file() else []
        return files + super().get_wandb_files()

    @classmethod
    def from_result(
        cls,
        format_result: Any,
        blend: Any,
        tokenizer_model: str,
        blend_json_path: str | os.PathLike[str],
        *,
        text_field_default: str = "text",
        elapsed_sec: float = 0.0,
        name: str | None = None,
    ) -> PretrainBlendsArtifact:
        """Build from a data-prep result (`output_dir`, `total_tokens`, …) and its blend."""
        return cls(
            path=Path(format_result.output_dir).resolve(),
            blend_path=str(blend_json_path),
            total_tokens=format_result.total_tokens,
            total_sequences=format_result.total_sequences,
            elapsed_sec=elapsed_sec,
            num_shards=format_result.num_shards,
            source_datasets=_blend_sources(blend, text_field_default),
            tokenizer_uri=tokenizer_to_uri(tokenizer_model),
            name=name,
        )


def _blend_sources(blend: Any, text_field_default: str) -> list[InputDatasetInfo | str]:
    return [
        InputDatasetInfo(
            uri=d.path,
            name=d.name,
            weight=d.weight,
            split=d.split,
            subset=d.subset,
            text_field=d.text_field or text_field_default,
        )
        for d in blend.datasets
    ]


class PretrainDataArtifact(Artifact):
    """Tokenized pretrain data: `path` is the folder of sharded bin/idx files."""

    total_tokens: _Count
    total_sequences: _Count = 0
    elapsed_sec: _Seconds = 0.0
    num_shards: _Shards = 1
    source_datasets: _Sources = Field(default_factory=list)
    tokenizer_uri: str | None = None

    def get_input_uris(self) -> list[str]:
        """The source datasets' URIs and the tokenizer's."""
        return _dataset_uris(self.source_datasets, self.tokenizer_uri)


class SFTDataArtifact(Artifact):
    """Packed SFT data: `path` is the folder of packed splits (`training_{pack_size}.npy`, …)."""

    total_tokens: _Count
    total_sequences: _Count = 0
    elapsed_sec: _Seconds = 0.0
    pack_size: int = Field(ge=1, description="Maximum tokens per packed sequence")
    training_path: str | None = None
    validation_path: str | None = None
    test_path: str | None = None
    metadata_path: str | None = Field(default=None, description="{pack_size}_metadata.jsonl")
    blend_path: str | None = Field(default=None, description="blend.json (packed Parquet)")
    num_shards: int | None = None
    data_format: str = "packed_sft_parquet"
    source_datasets: _Sources = Field(default_factory=list)
    tokenizer_uri: str | None = None

    def get_input_uris(self) -> list[str]:
        """The source datasets' URIs and the tokenizer's."""
        return _dataset_uris(self.source_datasets, self.tokenizer_uri)

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """`metadata.json`, and `blend.json` when there is one."""
        files = super().get_wandb_files()
        if self.blend_path and Path(self.blend_path).is_file():
            files.append((self.blend_path, "blend.json"))
        return files

    @classmethod
    def from_result(
        cls,
        format_result: Any,
        blend: Any,
        tokenizer_model: str,
        blend_json_path: str | os.PathLike[str],
        pack_size: int,
        *,
        messages_field_default: str = "messages",
        elapsed_sec: float = 0.0,
        name: str | None = None,
    ) -> SFTDataArtifact:
        """Build from a packed-SFT data-prep result; `path` is its `splits/` folder."""
        return cls(
            path=(Path(format_result.output_dir) / "splits").resolve(),
            total_tokens=format_result.total_tokens,
            total_sequences=format_result.total_sequences,
            elapsed_sec=elapsed_sec,
            pack_size=pack_size,
            source_datasets=_blend_sources(blend, messages_field_default),
            tokenizer_uri=tokenizer_to_uri(tokenizer_model),
            blend_path=str(blend_json_path),
            num_shards=format_result.num_shards,
            name=name,
        )


class SplitJsonlDataArtifact(Artifact):
    """Untokenized JSONL splits (RL data prep); `path` is the `manifest.json` file."""

    _path_is_file: ClassVar[bool] = True

    total_sequences: _Count
    elapsed_sec: _Seconds = 0.0
    train: str | None = Field(default=None, description="Train JSONL folder")
    val: str | None = Field(default=None, description="Validation JSONL folder")
    test: str | None = Field(default=None, description="Test JSONL folder")
    source_datasets: _Sources = Field(default_factory=list)

    def get_input_uris(self) -> list[str]:
        """The source datasets' URIs."""
        return _dataset_uris(self.source_datasets, None)

    def get_wandb_files(self) -> list[tuple[str, str]]:
        """`manifest.json` and `metadata.json`."""
        manifest = [(str(self.path), "manifest.json")] if self.path.is_file() else []
        return manifest + super().get_wandb_files()


class ModelArtifact(Artifact):
    """A model checkpoint: `path` is the checkpoint folder."""

    step: int = Field(ge=0, description="Training step")
    final_loss: float | None = Field(default=None, description="Final training loss")
