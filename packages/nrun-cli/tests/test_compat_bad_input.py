"""Bad input that once ended in a traceback or went through: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from nrun import cli
from nrun.cli.testing import run_cli
from scripts import write


@cli.entrypoint
def job(n: int = 1, items: list = [], label: str = "x", ratio: float = 1.0) -> None:  # noqa: B006
    print(f"{n} {label} {ratio}")


def _refused(args: list[str]) -> str:
    result = run_cli(job, args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    return result.stderr


def test_an_integer_beyond_pythons_digit_limit() -> None:
    assert "5000 digits" in _refused(["n=" + "9" * 5000])
    assert "digits" in _refused(["items=[" + "1" * 5000 + "]"])


def test_lists_and_dicts_nested_thousands_deep() -> None:
    assert "nested deeper than 100" in _refused(["items=" + "[" * 3000 + "]" * 3000])
    assert "nested deeper than 100" in _refused(
        ["items=[" + "{a: " * 3000 + "1" + "}" * 3000 + "]"]
    )


def test_control_characters_are_refused_and_echoed_escaped() -> None:
    err = _refused(["label=red\x1b[31mtext"])
    assert "\x1b" not in err
    assert "\\x1b" in err
    err = _refused(["label=a\x07b"])
    assert "\x07" not in err and "\\x07" in err


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("big.yaml", "n: " + "9" * 5000 + "\n", "5000 digits"),
        ("big.json", '{"n": ' + "9" * 5000 + "}", "5000 digits"),
        ("deep.yaml", "items: " + "[" * 300 + "]" * 300 + "\n", "nested deeper than 100"),
        ("deep.json", '{"items": ' + "[" * 3000 + "]" * 3000 + "}", "nested"),
    ],
)
def test_files_with_huge_numbers_or_deep_nesting(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    write(tmp_path / name, text)
    assert reason in _refused(["--yaml", str(tmp_path / name)])
    assert reason in _refused([f"items=@{tmp_path / name}"])


def test_a_json_export_of_nan_is_valid_json_that_loads_back(tmp_path: Path) -> None:
    """`json.dumps` writes `NaN`, which no JSON parser takes: nrun writes `builtins.float`."""
    import json
    import math

    from nrun.config import build, load

    target = tmp_path / "out.json"
    result = run_cli(job, ["ratio=nan", "n=2", "--to-json", str(target)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    text = target.read_text()
    assert "NaN" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert math.isnan(load(target).ratio)
    assert build(load(target)).keywords["n"] == 2
