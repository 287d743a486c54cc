"""Reading a blend back: its token arrays per source, and batches drawn by the blend's weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from nemotron.recipes.tiny._common import RecipeError, read_json
from nemotron.recipes.tiny._model import Ids, Sampler, windows

from nemotron.kit import PretrainBlendsArtifact, PretrainDataArtifact

__all__ = ["BlendData", "read_blend"]


class BlendData:
    """The windows of each source of a blend, for one split, and their weights."""

    def __init__(self, parts: dict[str, tuple[Ids, Ids]], weights: dict[str, float]) -> None:
        self.parts, self.names = parts, list(parts)
        self.weights = np.array([weights[n] for n in self.names], dtype=np.float64)
        self.weights /= self.weights.sum()

    def sampler(self, batch_size: int) -> Sampler:
        """Draw `batch_size` windows: a source per row by weight, then a position in it."""

        def sample(rng: np.random.Generator) -> tuple[Ids, Ids, None]:
            which = rng.choice(len(self.names), size=batch_size, p=self.weights)
            xs, ys = [], []
            for i, name in enumerate(self.names):
                count = int((which == i).sum())
                if count:
                    x, y = self.parts[name]
                    pick = rng.integers(0, len(y), size=count)
                    xs.append(x[pick])
                    ys.append(y[pick])
            return np.concatenate(xs), np.concatenate(ys), None

        return sample

    def weighted(self) -> tuple[Ids, Ids, npt.NDArray[np.float64]]:
        """Every window, each weighted so each source counts as much as its blend weight."""
        xs, ys, ws = [], [], []
        for name, share in zip(self.names, self.weights, strict=True):
            x, y = self.parts[name]
            xs.append(x)
            ys.append(y)
            ws.append(np.full(len(y), share * len(self.names) / max(len(y), 1)))
        weight = np.concatenate(ws)
        return np.concatenate(xs), np.concatenate(ys), weight * len(weight) / weight.sum()


def _token_folder(blend: dict[str, Any]) -> Path:
    """The tokenized data the blend names: its registry version when it has one, else its path."""
    uri = blend.get("data_uri")
    if isinstance(uri, str) and uri:
        return PretrainDataArtifact.from_uri(uri).path
    folder = Path(str(blend.get("data_path", "")))
    if not (folder / "sources.json").is_file():
        raise RecipeError(f"the blend's token data {folder} is gone (and it names no data_uri)")
    return folder


def read_blend(artifact: PretrainBlendsArtifact, context: int) -> tuple[Path, dict[str, BlendData]]:
    """The token folder, and the `train` and `valid` `BlendData` of the blend."""
    blend_file = Path(artifact.blend_path) if artifact.blend_path else artifact.path / "blend.json"
    blend = read_json(blend_file)
    folder = _token_folder(blend)
    splits: dict[str, BlendData] = {}
    for split in ("train", "valid"):
        entries = blend.get(split, [])
        pairs = list(zip(entries[::2], entries[1::2], strict=True))
        weights = {str(prefix).split("/")[0]: float(w) for w, prefix in pairs}
        parts = {}
        for _, prefix in pairs:
            name = str(prefix).split("/")[0]
            file = folder / f"{prefix}.npy"
            if not file.is_file():
                raise RecipeError(f"{blend_file} names {prefix}, but {file} does not exist")
            parts[name] = windows(np.load(file).astype(np.int32), context)
        if not parts:
            raise RecipeError(f"{blend_file} has no {split} sources")
        splits[split] = BlendData(parts, weights)
    return folder, splits
