"""A small regression task: the code a config describes (plain Python, no ML library needed)."""

from __future__ import annotations

import dataclasses
import enum
import math
import random


class Activation(enum.Enum):
    """The non-linearity of the hidden layer."""

    TANH = "tanh"
    RELU = "relu"


@dataclasses.dataclass
class Model:
    """A one-hidden-layer network fitted to y = sin(x)."""

    hidden_size: int = 16
    activation: Activation = Activation.TANH
    init_scale: float = 0.5


@dataclasses.dataclass
class Optimizer:
    """Plain SGD with optional momentum."""

    lr: float = 0.05
    momentum: float = 0.0


@dataclasses.dataclass
class Data:
    """Samples of sin(x) on [-pi, pi]."""

    samples: int = 256
    noise: float = 0.0


def train(
    model: Model,
    optimizer: Optimizer = Optimizer(),  # noqa: B008 - a config default, never mutated
    data: Data = Data(),  # noqa: B008
    epochs: int = 20,
    seed: int = 0,
) -> float:
    """Fit the model with SGD, print the loss of each epoch and return the last one."""
    rng = random.Random(seed)
    xs = [rng.uniform(-math.pi, math.pi) for _ in range(data.samples)]
    ys = [math.sin(x) + rng.gauss(0, data.noise) if data.noise else math.sin(x) for x in xs]
    act, dact = _activation(model.activation)
    w1 = [rng.gauss(0, model.init_scale) for _ in range(model.hidden_size)]
    b1 = [0.0] * model.hidden_size
    w2 = [rng.gauss(0, model.init_scale) for _ in range(model.hidden_size)]
    velocity = [0.0] * (3 * model.hidden_size)
    loss = float("nan")
    print(f"training a {model.hidden_size}-unit {model.activation.value} net for {epochs} epochs")
    for epoch in range(epochs):
        total = 0.0
        for x, y in zip(xs, ys, strict=True):
            pre = [w * x + b for w, b in zip(w1, b1, strict=True)]
            hidden = [act(p) for p in pre]
            err = sum(w * h for w, h in zip(w2, hidden, strict=True)) - y
            total += err * err
            grads = [err * h for h in hidden]
            back = [err * w * dact(p) for w, p in zip(w2, pre, strict=True)]
            grads += [g * x for g in back] + back
            params = w2 + w1 + b1
            for i, g in enumerate(grads):
                velocity[i] = optimizer.momentum * velocity[i] + g
                params[i] -= optimizer.lr * velocity[i]
            n = model.hidden_size
            w2, w1, b1 = params[:n], params[n : 2 * n], params[2 * n :]
        loss = total / len(xs)
        print(f"epoch {epoch + 1:>3}  loss {loss:.5f}")
    return loss


def _activation(kind: Activation):  # type: ignore[no-untyped-def]
    if kind is Activation.RELU:
        return (lambda v: max(v, 0.0)), (lambda v: 1.0 if v > 0 else 0.0)
    return math.tanh, (lambda v: 1.0 - math.tanh(v) ** 2)
