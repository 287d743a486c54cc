"""A character-level tokenizer with a JSON vocab file: four special tokens, then characters."""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "CharTokenizer"]

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
VOCAB_FILE = "vocab.json"


class CharTokenizer:
    """Maps characters to ids (`<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3, then characters)."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars) or any(len(c) != 1 for c in self.chars):
            raise ValueError("a CharTokenizer's chars must be distinct single characters")
        self._ids = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}

    @classmethod
    def build(cls, texts: Iterable[str], *, include_ascii: bool = True) -> CharTokenizer:
        """A vocab of every character in `texts` (plus printable ASCII), sorted."""
        seen: set[str] = set(string.printable) - set("\r\x0b\x0c") if include_ascii else set()
        for text in texts:
            seen.update(text)
        return cls(sorted(seen))

    @property
    def vocab_size(self) -> int:
        """Specials plus characters."""
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> npt.NDArray[np.int32]:
        """Token ids of `text` (unknown characters become `<unk>`)."""
        ids = [self._ids.get(c, UNK) for c in text]
        return np.array(([BOS] if bos else []) + ids + ([EOS] if eos else []), dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids`; special tokens are left out."""
        n = len(SPECIALS)
        return "".join(self.chars[i - n] for i in (int(t) for t in ids) if n <= i < self.vocab_size)

    def save(self, folder: Path) -> Path:
        """Write `vocab.json` into `folder`."""
        file = folder / VOCAB_FILE
        data = {"type": "char", "specials": list(SPECIALS), "chars": self.chars}
        file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return file

    @classmethod
    def load(cls, folder: Path) -> CharTokenizer:
        """Read `vocab.json` from `folder`."""
        data = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
        if data.get("type") != "char" or data.get("specials") != list(SPECIALS):
            raise ValueError(f"{folder / VOCAB_FILE} is not a tiny char vocab")
        return cls(data["chars"])
