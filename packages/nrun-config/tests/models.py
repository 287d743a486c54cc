"""Example dataclasses, classes, functions and enums that the tests configure (import as `models`).

Everything here is module-level, so configs of it export to `_target_: models.<name>` and load
back (the tests directory is on `sys.path`, see `conftest.py`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from nrun.config import Config, Partial, autoconvert


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Inner:
    scale: float = 1.0
    tag: str = "inner"
    color: Color = Color.RED


@dataclasses.dataclass
class Block:
    width: int = 4
    inner: Inner = dataclasses.field(default_factory=Inner)


@dataclasses.dataclass
class Encoder:
    layers: int = 2
    block: Block = dataclasses.field(default_factory=Block)


@dataclasses.dataclass
class Optimizer:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float | None = None


@dataclasses.dataclass
class Model:
    size: int = 128
    name: str = "model"
    encoder: Encoder = dataclasses.field(default_factory=Encoder)
    blocks: list[Block] = dataclasses.field(default_factory=list)
    color: Color = Color.RED
    level: Level = Level.LOW
    activation: Literal["relu", "gelu", "silu"] = "relu"
    dropout: float | None = None
    enabled: bool = True
    shape: tuple[int, int] = (2, 3)
    dims: tuple[int, ...] = ()
    labels: set[int] = dataclasses.field(default_factory=set)
    tags: list[str] = dataclasses.field(default_factory=list)
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    names: dict[int, str] = dataclasses.field(default_factory=dict)
    data_dir: Path = Path("/data")
    extra: Any = None


class Trainer:
    """A plain (non-dataclass) class with an annotated `__init__`."""

    def __init__(self, model: Model, epochs: int = 1, schedule: Callable[..., float] | None = None):
        self.model = model
        self.epochs = epochs
        self.schedule = schedule

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trainer) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


def cosine(step: int, warmup: int = 0, peak: float = 1.0) -> float:
    """A learning-rate schedule: a function to configure as a `Partial`."""
    if step < warmup:
        return peak * step / max(warmup, 1)
    return peak * 0.5 * (1 + math.cos(math.pi * min(step, 1000) / 1000))


def train(
    model: Model,
    optimizer: Optimizer = Optimizer(),  # noqa: B008
    epochs: int = 3,
    seed: int | None = None,
    mode: Literal["train", "eval"] = "train",
    output: Path = Path("out"),
    schedule: Callable[..., float] | None = None,
    notes: str = "",
    max_time: float = math.inf,
    callbacks: list[Any] = [],  # noqa: B006
    options: dict[str, Any] = {},  # noqa: B006
) -> dict[str, Any]:
    """The entrypoint the tests configure: `from_signature(train)` is a `Partial` root."""
    return {
        "model": model,
        "optimizer": optimizer,
        "epochs": epochs,
        "seed": seed,
        "mode": mode,
        "output": output,
        "schedule": schedule,
        "notes": notes,
        "max_time": max_time,
        "callbacks": callbacks,
        "options": options,
    }


def make_model(size: int = 64, color: Color = Color.GREEN, depth: int = 1) -> Model:
    """A plain factory: `model=models.make_model(size=3)` configures a call to it."""
    return Model(size=size, color=color, blocks=[Block(width=size) for _ in range(depth)])


@autoconvert
def small_model(size: int = 32) -> Model:
    """An `autoconvert` factory: calling it gives `Config(Model, ...)`."""
    return Model(size=size, name="small", encoder=Encoder(layers=1))


def warmup_schedule(warmup: int = 10) -> Partial[float]:
    """A factory that returns a `Partial` (a schedule to call later)."""
    return Partial(cosine, warmup=warmup)


def adam(lr: float = 3e-4) -> Config[Optimizer]:
    """A factory that returns a `Config` built by hand."""
    return Config(Optimizer, lr=lr, betas=(0.9, 0.95))


def add(x: int, y: int = 0) -> int:
    """A function with a required positional argument (for `_args_`)."""
    return x + y


# -- overrides: a root with one argument per kind of annotation, and factories by name --------


def experiment(
    model: Model,
    backup: Model | None = None,
    trainer: Trainer | None = None,
    version: str = "1.0",
    name: str = "run",
    steps: int = 10,
    lr: float = 0.5,
    verbose: bool = False,
    flags: int = 6,
    layers: list[int] = [1, 2, 3],  # noqa: B006
    key: int | str = 0,
    size: Literal[1, 2, 4] = 1,
    level: Level = Level.LOW,
    color: Color = Color.RED,
    out_dir: Path = Path("/tmp/out"),
    seed: int | None = None,
    extra: Any = None,
) -> dict[str, Any]:
    """The root the override tests configure; returns its arguments."""
    return dict(locals())


def tiny_model(hidden: int = 8) -> Model:
    """A factory registered by name (see `FACTORIES`)."""
    return Model(size=hidden, name="tiny")


def sized_model(hidden: int, depth: int = 2) -> Model:
    """A registered factory with a required positional argument."""
    return Model(size=hidden, encoder=Encoder(layers=depth))


def broken_model() -> Model:
    """A registered factory that fails when called."""
    raise RuntimeError("out of memory")


FACTORIES: dict[str, Callable[..., Any]] = {
    "tiny_model": tiny_model,
    "sized_model": sized_model,
    "broken_model": broken_model,
}


def lookup(name: str, tp: Any, path: str) -> Callable[..., Any] | None:
    """A `FactoryLookup`: the factories of `FACTORIES`, offered only for `model`."""
    return FACTORIES.get(name) if path == "model" else None


@autoconvert(partial=True)
def auto_optimizer(lr: float = 0.01) -> Optimizer:
    """An `autoconvert(partial=True)` factory: calling it gives `Partial(Optimizer, ...)`."""
    return Optimizer(lr=lr)


@autoconvert
def branchy_model(big: bool = False) -> Model:
    """An `autoconvert` factory with control flow: its returned dataclass is converted."""
    if big:
        return Model(size=1024)
    return Model(size=8, encoder=Encoder(layers=5))


# -- files: values that need care in YAML/TOML/JSON, and a probe that no code runs on load -----


class Point(typing.NamedTuple):
    """A `NamedTuple`: a tuple subclass that is configured by name like any class."""

    x: int = 0
    y: int = 0


CALLS: list[Any] = []
"""What `record_call` was called with; a safe loader must never call it."""


def record_call(*args: Any, **kwargs: Any) -> None:
    """Record a call (a YAML `!!python/object/apply:models.record_call` tag must not run it)."""
    CALLS.append((args, kwargs))


def comparable(value: Any, *, loose: bool = False) -> Any:
    """`value` as plain data, so results of `build` and of Hydra can be compared with `==`.

    Partials (`functools.partial` and subclasses, such as Hydra's) become their function and
    arguments; dataclasses and `Trainer` their type and fields; OmegaConf containers lists and
    dicts; tuples and sets keep their type. `loose` drops what Hydra's default `_convert_: none`
    loses inside containers: dataclasses become dicts of their fields, tuples lists.
    """

    def inner(item: Any) -> Any:
        return comparable(item, loose=loose)

    if isinstance(value, functools.partial):
        return ("partial", value.func, inner(value.args), inner(value.keywords))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: inner(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return fields if loose else (type(value), fields)
    if isinstance(value, Trainer):
        return (Trainer, inner(vars(value)))
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return inner(OmegaConf.to_container(value))
    if isinstance(value, Mapping):
        return {k: inner(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return (list if loose else type(value))(inner(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(inner(v) for v in value)
    return value
