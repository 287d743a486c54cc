"""Instruction data for SFT: the JSONL read, rendered as prompt + response, packed with a mask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from nemotron.recipes.tiny._common import RecipeError
from nemotron.recipes.tiny._model import Floats, Ids, windows
from nemotron.recipes.tiny._tokenizer import PAD, CharTokenizer

__all__ = ["PROMPT", "pack", "read_examples", "render", "sft_windows"]

PROMPT = "Question: {instruction}\nAnswer: "
"""How an instruction is shown to the model; the loss is on the response after it."""


def read_examples(file: Path) -> list[dict[str, str]]:
    """The `{"instruction", "response"}` rows of a JSONL file."""
    rows: list[dict[str, str]] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{file}, line {number}: not JSON: {exc.msg}") from None
        if not (
            isinstance(row, dict)
            and isinstance(row.get("instruction"), str)
            and isinstance(row.get("response"), str)
        ):
            raise RecipeError(f"{file}, line {number}: needs string 'instruction' and 'response'")
        rows.append({"instruction": row["instruction"], "response": row["response"]})
    if len(rows) < 2:
        raise RecipeError(f"{file} needs at least two examples")
    return rows


def render(tokenizer: CharTokenizer, row: dict[str, str]) -> tuple[Ids, Floats]:
    """`<bos>` prompt response `<eos>` as ids, and a mask that is 1 on the response and `<eos>`."""
    prompt = tokenizer.encode(PROMPT.format(instruction=row["instruction"]), bos=True)
    response = tokenizer.encode(row["response"], eos=True)
    mask = np.concatenate([np.zeros(len(prompt)), np.ones(len(response))])
    return np.concatenate([prompt, response]), mask


def pack(
    tokenizer: CharTokenizer, rows: list[dict[str, str]], pack_size: int
) -> tuple[Ids, npt.NDArray[np.uint8]]:
    """Rows of at most `pack_size` tokens, whole examples each (first fit), `<pad>`-filled."""
    packs: list[tuple[list[Ids], list[Floats], int]] = []
    for row in rows:
        ids, mask = render(tokenizer, row)
        if len(ids) > pack_size:
            raise RecipeError(
                f"an example has {len(ids)} tokens, more than pack_size={pack_size}: "
                f"{row['instruction'][:40]!r}"
            )
        for i, (pack_ids, pack_masks, used) in enumerate(packs):
            if used + len(ids) <= pack_size:
                packs[i] = ([*pack_ids, ids], [*pack_masks, mask], used + len(ids))
                break
        else:
            packs.append(([ids], [mask], len(ids)))
    tokens = np.full((len(packs), pack_size), PAD, dtype=np.int32)
    masks = np.zeros((len(packs), pack_size), dtype=np.uint8)
    for i, (pack_ids, pack_masks, used) in enumerate(packs):
        tokens[i, :used] = np.concatenate(pack_ids)
        masks[i, :used] = np.concatenate(pack_masks)
    return tokens, masks


def sft_windows(tokens: Ids, masks: npt.NDArray[np.uint8], context: int) -> tuple[Ids, Ids, Floats]:
    """Windows of every packed row (contexts do not cross rows), with the loss mask as weight."""
    xs, ys, ws = [], [], []
    for row, mask in zip(tokens, masks, strict=True):
        x, y = windows(row, context)
        xs.append(x)
        ys.append(y)
        ws.append(mask.astype(np.float64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
