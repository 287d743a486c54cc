"""NeMo-Run's factory styles: `-> Config[T]`, `default`, functions of the script, `target_arg`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from nrun import cli
from nrun.cli.testing import run_cli
from nrun.config import Config, Partial
from scripts import run_py, write


@dataclass
class Encoder:
    width: int = 8


@cli.factory
def wide_encoder(width: int = 64) -> Config[Encoder]:
    return Config(Encoder, width=width)


@cli.factory
def partial_encoder() -> Partial[Encoder]:
    return Partial(Encoder, width=3)


@cli.factory(is_target_default=True)
def standard_encoder() -> Config[Encoder]:
    return Config(Encoder, width=16)


@cli.entrypoint
def encode(encoder: Encoder = Encoder()) -> None:  # noqa: B008 - a config default
    print(f"width {encoder.width}")


def test_a_factory_declared_to_return_config_of_t_is_a_factory_for_t() -> None:
    """`-> Config[Encoder]` registers for `Encoder`: by name, called, and in `--help`."""
    assert run_cli(encode, ["encoder=wide_encoder"]).stdout == "width 64\n"
    assert run_cli(encode, ["encoder=wide_encoder(width=5)"]).stdout == "width 5\n"
    assert run_cli(encode, ["encoder=wide_encoder", "encoder.width=7"]).stdout == "width 7\n"
    shown = run_cli(encode, ["--help"])
    assert shown.exit_code == 0, (shown.stderr, shown.exception)
    assert "wide_encoder" in shown.stdout


def test_a_factory_declared_to_return_partial_of_t_registers_for_t() -> None:
    from nrun.cli._factories import registry

    names = [f.name for f in registry.for_argument(encode, "encoder", Encoder)]
    assert "partial_encoder" in names


def test_default_names_the_is_target_default_factory() -> None:
    assert run_cli(encode, ["encoder=default"]).stdout == "width 16\n"
    assert run_cli(encode, ["encoder=default", "encoder.width=2"]).stdout == "width 2\n"


@dataclass
class Plan:
    steps: int = 1


@cli.entrypoint
def execute(plan: Plan = Plan(), tag: str = "x") -> None:  # noqa: B008
    print(f"{tag} {plan.steps}")


@cli.factory(target=execute, is_target_default=True)
def quick() -> Partial[execute]:  # type: ignore[valid-type]
    return Partial(execute, plan=Config(Plan, steps=5), tag="quick")


@cli.factory(target=execute)
def slow() -> Partial[execute]:  # type: ignore[valid-type]
    return Partial(execute, plan=Config(Plan, steps=99), tag="slow")


def test_factory_default_selects_the_entrypoints_default_factory() -> None:
    assert run_cli(execute, ["--factory", "slow"]).stdout == "slow 99\n"
    assert run_cli(execute, ["--factory", "default"]).stdout == "quick 5\n"
    given = run_cli(execute, ["--factory", "default"], default_factory=slow)
    assert given.stdout == "slow 99\n"


def test_target_arg_without_target_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="target_arg"):

        @cli.factory(target_arg="plan")
        def orphan() -> Plan:
            return Plan()


def test_a_factory_of_another_type_is_refused_like_any_other_value() -> None:
    result = run_cli(execute, ["plan=wide_encoder"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'wide_encoder' is not a factory for 'plan'" in result.stderr


SCRIPT = """
import os
from dataclasses import dataclass
from pathlib import Path

from nrun import cli
from nrun.config import Config


@dataclass
class Model:
    size: int = 1


def make_model(size: int = 32) -> Config[Model]:
    return Config(Model, size=size)


def build_model() -> Model:
    return Model(size=7)


def wrong_type() -> int:
    Path("called").write_text("ran")
    return 3


def unannotated():
    Path("called").write_text("ran")
    return Config(Model, size=2)


@cli.entrypoint
def train(model: Model = Model()):
    print(f"size {model.size}")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    write(tmp_path / "train.py", SCRIPT)
    return tmp_path


def test_a_plain_function_of_the_script_is_a_factory_for_its_return_type(script: Path) -> None:
    for args, out in [
        (["model=make_model"], "size 32\n"),
        (["model=make_model(size=4)"], "size 4\n"),
        (["model=build_model"], "size 7\n"),
    ]:
        done = run_py(script, "train.py", *args)
        assert (done.returncode, done.stdout, done.stderr) == (0, out, ""), args


@pytest.mark.parametrize(
    "value",
    ["wrong_type", "unannotated", "print", "train", "os.system('touch called')", "os.getcwd"],
)
def test_a_function_that_does_not_say_it_makes_the_type_is_never_called(
    script: Path, value: str
) -> None:
    done = run_py(script, "train.py", f"model={value}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'model'" in done.stderr
    assert not (script / "called").exists()
