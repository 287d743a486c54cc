"""A tiny character language model in numpy: embeddings of the last `context` tokens → tanh MLP.

`loss_and_grads` is the forward pass and its hand-written backward pass; `train` runs Adam on
random windows; `save_checkpoint`/`load_checkpoint` keep the weights in `model.npz` with the
architecture in `model.json` and the tokenizer's `vocab.json` beside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from nemotron.recipes.tiny._tokenizer import BOS, EOS, CharTokenizer

__all__ = [
    "Adam",
    "ModelSpec",
    "Params",
    "evaluate",
    "generate",
    "init_params",
    "load_checkpoint",
    "loss_and_grads",
    "save_checkpoint",
    "train",
    "windows",
]

Params = dict[str, npt.NDArray[np.float64]]
Ids = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
WEIGHTS_FILE = "model.npz"
SPEC_FILE = "model.json"


@dataclass(frozen=True)
class ModelSpec:
    """The architecture: vocab size, context length, embedding and hidden widths."""

    vocab_size: int
    context: int = 8
    embed_dim: int = 16
    hidden_dim: int = 128


def init_params(spec: ModelSpec, rng: np.random.Generator) -> Params:
    """Small random weights, zero biases."""
    fan_in = spec.context * spec.embed_dim
    return {
        "embed": rng.normal(0.0, 0.1, (spec.vocab_size, spec.embed_dim)),
        "w1": rng.normal(0.0, fan_in**-0.5, (fan_in, spec.hidden_dim)),
        "b1": np.zeros(spec.hidden_dim),
        "w2": rng.normal(0.0, spec.hidden_dim**-0.5, (spec.hidden_dim, spec.vocab_size)),
        "b2": np.zeros(spec.vocab_size),
    }


def windows(tokens: Ids, context: int, pad: int = BOS) -> tuple[Ids, Ids]:
    """`(x, y)`: for every position, the `context` tokens before it (left-padded) and itself."""
    padded = np.concatenate([np.full(context, pad, dtype=np.int32), tokens.astype(np.int32)])
    idx = np.arange(len(tokens))[:, None] + np.arange(context)[None, :]
    return padded[idx], tokens.astype(np.int32)


def _forward(params: Params, x: Ids) -> tuple[Floats, Floats, Floats]:
    flat = params["embed"][x].reshape(len(x), -1)
    hidden = np.tanh(flat @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return flat, hidden, logp


def loss_and_grads(
    params: Params, x: Ids, y: Ids, weight: Floats | None = None
) -> tuple[float, Params]:
    """Mean cross-entropy of `y` given `x` (weighted by `weight`, e.g. a loss mask), and grads."""
    w = np.ones(len(y)) if weight is None else weight.astype(np.float64)
    total = max(float(w.sum()), 1.0)
    flat, hidden, logp = _forward(params, x)
    loss = float(-(logp[np.arange(len(y)), y] * w).sum() / total)
    dlogits = np.exp(logp)
    dlogits[np.arange(len(y)), y] -= 1.0
    dlogits *= (w / total)[:, None]
    dhidden = (dlogits @ params["w2"].T) * (1.0 - hidden**2)
    dembed = np.zeros_like(params["embed"])
    np.add.at(dembed, x, (dhidden @ params["w1"].T).reshape(*x.shape, -1))
    grads = {
        "embed": dembed,
        "w1": flat.T @ dhidden,
        "b1": dhidden.sum(axis=0),
        "w2": hidden.T @ dlogits,
        "b2": dlogits.sum(axis=0),
    }
    return loss, grads


def evaluate(params: Params, x: Ids, y: Ids, weight: Floats | None = None) -> dict[str, float]:
    """`loss`, `perplexity` and next-token `accuracy` over the (weighted) positions."""
    w = np.ones(len(y)) if weight is None else weight.astype(np.float64)
    total = max(float(w.sum()), 1.0)
    _, _, logp = _forward(params, x)
    loss = float(-(logp[np.arange(len(y)), y] * w).sum() / total)
    hits = (logp.argmax(axis=1) == y).astype(np.float64)
    return {
        "loss": loss,
        "perplexity": float(np.exp(loss)),
        "accuracy": float((hits * w).sum() / total),
    }


class Adam:
    """Adam with bias correction, state kept per parameter name."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2, self.t = lr, beta1, beta2, 0
        self.m: Params = {}
        self.v: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        """Update `params` in place."""
        self.t += 1
        for key, grad in grads.items():
            m = self.m.setdefault(key, np.zeros_like(grad))
            v = self.v.setdefault(key, np.zeros_like(grad))
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad**2
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


Sampler = Callable[[np.random.Generator], tuple[Ids, Ids, Floats | None]]


def train(
    params: Params,
    sample: Sampler,
    *,
    iters: int,
    lr: float,
    rng: np.random.Generator,
    log: Callable[[int, float], None] | None = None,
    log_every: int = 50,
) -> list[float]:
    """Run `iters` Adam steps on batches drawn by `sample(rng)`; the loss of each step."""
    optimizer = Adam(lr)
    losses: list[float] = []
    for it in range(1, iters + 1):
        x, y, weight = sample(rng)
        loss, grads = loss_and_grads(params, x, y, weight)
        optimizer.step(params, grads)
        losses.append(loss)
        if log is not None and (it % log_every == 0 or it in (1, iters)):
            log(it, loss)
    return losses


def generate(
    params: Params, spec: ModelSpec, tokenizer: CharTokenizer, prompt: str, max_new: int
) -> str:
    """Greedy continuation of `prompt` (stops at `<eos>`)."""
    ids = list(tokenizer.encode(prompt, bos=True))
    out: list[int] = []
    for _ in range(max_new):
        context = ([BOS] * spec.context + ids)[-spec.context :]
        _, _, logp = _forward(params, np.array([context], dtype=np.int32))
        nxt = int(logp[0].argmax())
        if nxt == EOS:
            break
        ids.append(nxt)
        out.append(nxt)
    return tokenizer.decode(out)


def save_checkpoint(
    folder: Path, params: Params, spec: ModelSpec, tokenizer: CharTokenizer, extra: dict[str, Any]
) -> None:
    """Write `model.npz`, `model.json` (the spec and `extra`) and `vocab.json` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / WEIGHTS_FILE).open("wb") as handle:
        np.savez(handle, **params)  # type: ignore[arg-type]  # numpy's stub: allow_pickle
    info = {"spec": asdict(spec), **extra}
    (folder / SPEC_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    tokenizer.save(folder)


def load_checkpoint(folder: Path) -> tuple[Params, ModelSpec, CharTokenizer]:
    """The weights, spec and tokenizer `save_checkpoint` wrote into `folder`."""
    info = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
    spec = ModelSpec(**info["spec"])
    with np.load(folder / WEIGHTS_FILE) as data:
        params = {key: data[key].astype(np.float64) for key in data.files}
    return params, spec, CharTokenizer.load(folder)
