"""What every step shares: the registry check, output folders, inputs, and one-line errors."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nemotron.kit import Artifact, ArtifactError, KitError, RegistryError

__all__ = [
    "DATA_DIR",
    "RecipeError",
    "load_input",
    "open_registry",
    "output_folder",
    "read_json",
    "shipped",
    "step_errors",
    "step_main",
    "wandb_run",
    "write_json",
]

A = TypeVar("A", bound=Artifact)
C = TypeVar("C")

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The corpus, held-out text and instruction JSONL shipped with the package."""


class RecipeError(KitError):
    """A user error of a tiny step (bad input, missing file); printed as one line, exit 2."""


@contextlib.contextmanager
def step_errors(step: str) -> Iterator[None]:
    """Turn the kit's and the registry's errors into `<script>: error: <one line>`, exit 2.

    `<script>` is the script's file name, as in the kit's own config errors (`pretrain.py`).
    """
    try:
        yield
    except (KitError, RegistryError) as exc:
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else step
        print(f"{prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def step_main(
    step: str,
    config: type[C],
    run: Callable[[C], Artifact | tuple[Artifact, ...]],
    *,
    keys: tuple[str, ...],
    title: str,
) -> None:
    """A step's `main`: parse `config` (`--config FILE`, `key=value`), `run` it, show the result.

    Errors are one line (`step_errors`); with `$WANDB_PROJECT` the step is a W&B run
    (`wandb_run`); the artifacts `run` returns are printed under `keys` by
    `print_step_complete`, which the next step's `Artifact.load()` reads.
    """
    from nemotron.kit import print_step_complete
    from nemotron.kit.train_script import parse_config_and_overrides

    with step_errors(step):
        cfg = parse_config_and_overrides(config, config_file=None)
        with wandb_run(step, cfg):
            made = run(cfg)
    artifacts = made if isinstance(made, tuple) else (made,)
    print_step_complete(**dict(zip(keys, artifacts, strict=True)), title=title)


@contextlib.contextmanager
def wandb_run(step: str, cfg: object) -> Iterator[None]:
    """A W&B run around the step when `$WANDB_PROJECT` is set and wandb is installed.

    The kit's `init_wandb_from_env()` starts it (`$WANDB_ENTITY`; `WANDB_MODE=offline` works)
    and makes its `WandbTracker` the lineage tracker: each `artifact.save()` then logs the
    artifact to the run, with the `art://` versions it was made from in its metadata, besides
    publishing it to the registry. The run is tagged `tiny` and `step`, records `cfg`, and is
    finished with exit code 0, or 1 if the step fails. Without the variable, or without wandb
    (the `wandb` extra), nothing happens and wandb is not imported.
    """
    if not os.environ.get("WANDB_PROJECT"):
        yield
        return
    from nemotron.kit.train_script import init_wandb_from_env
    from nemotron.kit.wandb import add_wandb_tags, finish_wandb, log_wandb_config

    job_type = {"pretrain": "training", "sft": "training", "eval": "evaluation"}
    init_wandb_from_env(job_type.get(step, "data-prep"))
    add_wandb_tags(["tiny", step])
    log_wandb_config(cfg)
    failed = True
    try:
        yield
        failed = False
    finally:
        finish_wandb(exit_code=1 if failed else 0)


def open_registry() -> None:
    """Open the registry `$NEMOTRON_REGISTRY` names, unless `nemotron.kit.init()` already ran.

    Raises:
        RegistryError: Nothing is configured; the message names `NEMOTRON_REGISTRY`.
    """
    import nemotron.kit as kit
    from nemotron.registry import get_default_registry

    if kit.is_initialized():
        return
    root = os.environ.get("NEMOTRON_REGISTRY", "")
    if not root:
        get_default_registry()  # raises the registry's own "set NEMOTRON_REGISTRY" line
    kit.init(root=root)


def load_input(cls: type[A], path: str | None, field: str, producer: str) -> A:
    """The step's input artifact: from `path` when given, else piped on stdin by `producer`.

    A `path` that `${art:…}` resolved is the registry's copy of a version: the artifact is then
    loaded as that version (`from_uri`), so it knows its `art://` URI.
    """
    if path is not None:
        artifact = cls.load(path)
        return artifact if artifact.uri is not None else _as_version(artifact)
    try:
        return cls.load()
    except ArtifactError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise RecipeError(
            f"no input {cls.__name__}: {exc}; pipe the {producer} step's output in,"
            f" or set {field}=PATH (or {field}=${{art:NAME,path}})"
        ) from None


def _as_version(artifact: A) -> A:
    """`artifact` as the registry version this process resolved it from, if it is one."""
    from nemotron.kit.trackers import used_artifacts

    folder = artifact.output_dir().resolve()
    for uri in reversed(used_artifacts()):
        try:
            candidate = type(artifact).from_uri(uri)
        except (KitError, RegistryError):
            continue
        if candidate.output_dir().resolve() == folder:
            return candidate
    return artifact


def output_folder(path: str) -> Path:
    """`path` as an absolute folder, created."""
    folder = Path(path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shipped(path: str | None, default: str) -> Path:
    """`path`, or the file `default` shipped in the package's data folder; it must exist."""
    file = Path(path).expanduser().resolve() if path else DATA_DIR / default
    if not file.exists():
        raise RecipeError(f"{file} does not exist")
    return file


def read_json(path: Path) -> Any:
    """The JSON in `path`; a missing or broken file is a `RecipeError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise RecipeError(f"{path} is not valid JSON: {exc}") from None


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented JSON (sorted keys, so reruns give the same bytes)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
