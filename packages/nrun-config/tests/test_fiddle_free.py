"""What works without importing fiddle: decorating, inspecting values and types, and the names.

Other packages (nrun-cli, nrun-exec-local) look at configs and annotations through these helpers
instead of importing fiddle, and a job's node (the runtime shipped with a job has no fiddle) can
import a module that uses `Config`, `Partial` and `@autoconvert`. The subprocess checks run in a
fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Annotated, Optional

import fiddle as fdl
import pytest

from nrun.config import (
    Config,
    Partial,
    as_partial,
    build,
    is_buildable,
    is_partial,
    strip_annotated,
    type_name,
    union_members,
)


def python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Model:
    size: int = 1
    depth: int = 2


def test_decorating_and_the_helpers_import_no_fiddle() -> None:
    out = python(
        """
        import sys
        from typing import Annotated
        from nrun.config import autoconvert, is_buildable, is_partial, strip_annotated
        from nrun.config import type_name, union_members

        @autoconvert
        def model() -> int:
            return 3

        @autoconvert(partial=True)
        def task() -> int:
            return 3

        assert strip_annotated(Annotated[int, "x"]) is int
        assert union_members(int | None) == (int, type(None))
        assert type_name(list[int]) == "list[int]"
        assert not is_buildable(model) and not is_partial(model)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("fiddle", "libcst")))
        """
    )
    assert out == "[]\n"


def test_without_fiddle_every_name_imports_and_using_one_says_what_is_missing() -> None:
    out = python(
        """
        import sys
        sys.modules["fiddle"] = None  # as where fiddle is not installed
        from nrun.config import Config, Partial, autoconvert, build, dump

        class Mine(Config):  # subclassing and generics still work at import time
            pass

        def factory() -> Config[int]:
            return Config(int)

        print(isinstance(1, Config), Partial.__name__, Partial.__module__)
        for use in (lambda: Config(int), factory, lambda: build(1), lambda: dump(1, "x.yaml")):
            try:
                use()
            except ModuleNotFoundError as exc:
                print(exc.name, "|", exc)
        """
    )
    first, *errors = out.splitlines()
    assert first == "False Partial nrun.config"
    assert len(errors) == 4
    for line, name in zip(errors, ("Config", "Config", "build", "dump"), strict=True):
        assert line.startswith(f"fiddle | nrun.config.{name} needs fiddle, which cannot be")
        assert line.endswith("(pip install nrun-config)")


def test_is_buildable_and_is_partial() -> None:
    assert is_buildable(Config(Model)) and not is_partial(Config(Model))
    assert is_buildable(Partial(Model)) and is_partial(Partial(Model))
    assert is_buildable(fdl.Config(Model)) and is_partial(fdl.Partial(Model))
    assert not is_buildable(Model()) and not is_buildable(Model) and not is_partial(None)


def test_as_partial_makes_a_partial_of_the_same_call_and_leaves_the_config_alone() -> None:
    config = Config(Model, size=3)
    partial = as_partial(config)
    assert type(partial) is Partial
    partial.depth = 5
    assert build(partial)() == Model(size=3, depth=5)
    assert build(config) == Model(size=3)
    same = Partial(Model)
    assert as_partial(same) is same
    with pytest.raises(TypeError, match="Config or a Partial, not Model"):
        as_partial(Model())


def test_annotation_helpers() -> None:
    assert strip_annotated(Annotated[Annotated[int, "a"], "b"]) is int
    assert strip_annotated(Optional[int]) == Optional[int]  # noqa: UP045 - the old spelling too
    assert union_members(Optional[int]) == (int, type(None))  # noqa: UP045
    assert union_members(int | str) == (int, str)
    assert union_members(list[int]) is None
    assert type_name(Annotated[Model | None, "x"]) == f"{__name__}.Model | None"
