"""`instantiate_file` builds what `build(load(...))` builds, without importing fiddle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import models
from nrun.config import (
    ConfigError,
    Partial,
    build,
    dump,
    instantiate,
    instantiate_file,
    load,
)
from test_roundtrip import CASES, FORMATS, make


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_instantiate_file_builds_the_same_objects_as_build(
    case: str, fmt: str, tmp_path: Path
) -> None:
    config = make(case)
    path = dump(config, tmp_path / f"config.{fmt}")
    assert models.comparable(instantiate_file(path)) == models.comparable(build(load(path)))
    assert models.comparable(instantiate_file(path)) == models.comparable(build(config))


def test_plain_data_passes_through() -> None:
    assert instantiate({"a": [1, {"b": None}], "c": {"_none_": True}}) == {
        "a": [1, {"b": None}],
        "c": None,
    }


def test_partial_root_is_a_partial_to_call() -> None:
    made = instantiate({"_target_": "models.add", "_partial_": True, "x": 2})
    assert made(y=3) == models.add(2, 3)


def test_unknown_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"cannot import 'models\.nothing_here'"):
        instantiate({"_target_": "models.nothing_here"})


def test_escaped_interpolation_text_survives(tmp_path: Path) -> None:
    config = Partial(models.Inner, tag="${not an interpolation}")
    path = dump(config, tmp_path / "config.yaml")
    assert instantiate_file(path)().tag == "${not an interpolation}"


def test_running_a_task_file_never_imports_fiddle(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def train(lr=0.1, layers=()):\n    return lr, layers\n")
    path = tmp_path / "config.yaml"
    path.write_text(
        "_target_: plain.train\n_partial_: true\nlr: 0.5\n"
        "layers: {_target_: builtins.tuple, _args_: [[1, 2]]}\n"
    )
    code = (
        "import sys; from nrun.config import instantiate_file; "
        f"instantiate_file({str(path)!r}); "
        "assert instantiate_file(sys.argv[1])() == (0.5, (1, 2)); "
        "print(sorted(m for m in ('fiddle', 'omegaconf', 'libcst') if m in sys.modules))"
    )
    tests = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": tests, "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "[]"
