"""Values as NeMo-Run reads them: paths with `(`, forward references, `Annotated` defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import pytest

from nrun import cli
from nrun.cli.testing import run_cli
from nrun.config import Config, Partial, build
from scripts import run_py, write


@cli.entrypoint
def copy(src: str = "", dst: Path = Path("."), note: Optional[str] = None) -> None:  # noqa: UP045
    print(f"{src} {dst} {note}")


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["src=/data/run(1)/x", "dst=/out/run(2)"], "/data/run(1)/x /out/run(2) None\n"),
        (["note=/tmp/a(b)c"], " . /tmp/a(b)c\n"),
        (["src=run(1)"], "run(1) . None\n"),
        (["src=~/x(1)"], "~/x(1) . None\n"),
    ],
)
def test_a_value_with_parentheses_is_text_for_a_str_or_a_path(args: list[str], out: str) -> None:
    result = run_cli(copy, args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, out, "")


FORWARD = """
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from nrun import cli
from nrun.config import Config

if TYPE_CHECKING:
    from shapes import Circle
    from nowhere import Ghost


@cli.factory
def big() -> Config[Circle]:
    from shapes import Circle

    return Config(Circle, r=10)


@cli.entrypoint
def draw(shape: Optional["Circle"] = None, ghost: Optional[Ghost] = None, n: int = 1):
    print(f"r={shape.r if shape else None} ghost={ghost} n={n}")


if __name__ == "__main__":
    cli.main(draw)
"""


@pytest.fixture
def forward(tmp_path: Path) -> Path:
    write(
        tmp_path / "shapes.py",
        "class Circle:\n    def __init__(self, r: int = 1):\n        self.r = r\n",
    )
    write(tmp_path / "draw.py", FORWARD)
    return tmp_path


def test_names_imported_under_type_checking_are_resolved(forward: Path) -> None:
    for args, out in [
        (["shape=big"], "r=10 ghost=None n=1\n"),
        (["shape=big", "shape.r=3"], "r=3 ghost=None n=1\n"),
        (["shape=shapes.Circle(r=2)", "n=4"], "r=2 ghost=None n=4\n"),
    ]:
        done = run_py(forward, "draw.py", *args)
        assert (done.returncode, done.stdout, done.stderr) == (0, out, ""), args


def test_a_name_defined_nowhere_is_refused_naming_argument_and_name(forward: Path) -> None:
    done = run_py(forward, "draw.py", "ghost=boo")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'ghost' is annotated with 'Ghost'" in done.stderr
    assert run_py(forward, "draw.py", "ghost=None").stdout == "r=None ghost=None n=1\n"


@dataclass
class Optim:
    lr: float = 0.1


@cli.entrypoint
def fit(optim: Annotated[Optional[Optim], Config[Optim]] = None, steps: int = 1) -> None:  # noqa: UP045
    print(f"{optim} {steps}")


def test_annotated_optional_config_builds_its_type_by_default() -> None:
    assert run_cli(fit, []).stdout == "Optim(lr=0.1) 1\n"
    assert run_cli(fit, ["optim.lr=0.5"]).stdout == "Optim(lr=0.5) 1\n"
    assert run_cli(fit, ["optim=None"]).stdout == "None 1\n"
    assert build(Partial(fit))().__class__ is type(None)  # fit returns None; it was called
    assert Partial(fit).optim.lr == 0.1


def test_a_dataclass_instance_given_to_a_config_becomes_its_config() -> None:
    partial = Partial(fit, optim=Optim(lr=0.3))
    assert not dataclasses.is_dataclass(partial.optim)
    partial.optim.lr = 0.9
    assert build(partial.optim) == Optim(lr=0.9)
    assert build(Config(Optim, lr=0.2)) == Optim(lr=0.2)
