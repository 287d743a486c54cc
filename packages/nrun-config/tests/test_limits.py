"""Input no config holds is refused in one line: huge integers, deep nesting, control characters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nrun.config import (
    ConfigFileError,
    OverrideSyntaxError,
    Partial,
    apply_override,
    dumps,
    load,
    parse_override,
    read_file,
)


def take(n: int = 0, items: list = [], text: str = "", ratio: float = 1.0) -> None:  # noqa: B006
    """A function to configure."""


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ("n=" + "9" * 5000, "an integer of 5000 digits"),
        ("items=" + "[" * 5000 + "]" * 5000, "nested deeper than 100 levels"),
        ("items=" + "{a: " * 500 + "1" + "}" * 500, "nested deeper than 100 levels"),
        ("text=a\x1bb", "control character '\\x1b' at column 7"),
    ],
)
def test_an_override_beyond_the_limits_is_one_line(override: str, reason: str) -> None:
    with pytest.raises(OverrideSyntaxError) as info:
        parse_override(override)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("n: " + "9" * 5000, "an integer of 5000 digits"),
        ("items: " + "[" * 200 + "]" * 200, "nested deeper than 100 levels"),
    ],
)
def test_a_file_beyond_the_limits_is_one_line(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "f.yaml").write_text(text)
    with pytest.raises(ConfigFileError, match=reason):
        read_file(tmp_path / "f.yaml")


def test_parentheses_in_text_are_text() -> None:
    config = Partial(take)
    assert apply_override(config, "text=/data/run(1)/x").text == "/data/run(1)/x"
    assert apply_override(config, "text=run(1)").text == "run(1)"
    with pytest.raises(OverrideSyntaxError):
        parse_override("items=f(1)(2)")  # not a path: still a syntax error


def test_json_holds_nan_and_infinities_as_floats_it_can_read(tmp_path: Path) -> None:
    config = Partial(take, ratio=math.inf, items=[-math.inf, math.nan])
    text = dumps(config, "json")
    json.loads(text, parse_constant=lambda name: pytest.fail(name))
    (tmp_path / "c.json").write_text(text)
    loaded = load(tmp_path / "c.json")
    assert loaded.ratio == math.inf
    assert loaded.items[0] == -math.inf and math.isnan(loaded.items[1])
