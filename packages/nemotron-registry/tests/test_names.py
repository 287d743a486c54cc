"""Unit tests of the name, version, alias and URI grammar (pure logic)."""

from __future__ import annotations

import pytest

from nemotron.registry import ArtURI, format_uri, parse_uri
from nemotron.registry._names import check_alias, check_name, parse_version


@pytest.mark.parametrize(
    "name", ["data", "nano3/pretrain/data", "a.b-c_d", "A1", "x" * 200, "v1", "a/latest"]
)
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("latest", None),
        (1, 1),
        ("1", 1),
        ("v12", 12),
        ("prod", "prod"),
        ("rc-1.2", "rc-1.2"),
    ],
)
def test_versions(given: object, expected: object) -> None:
    assert parse_version(given) == expected


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("art://data", ArtURI("data")),
        ("art://data/", ArtURI("data")),
        ("art://data:latest", ArtURI("data", None, "", True)),
        ("art://data:v3", ArtURI("data", 3, "", True)),
        ("art://data:3/blend.json", ArtURI("data", 3, "blend.json", True)),
        (
            "art://nano3/pretrain/data:prod/a/b.bin",
            ArtURI("nano3/pretrain/data", "prod", "a/b.bin", True),
        ),
        ("art://nano3/pretrain/data:v1/dir/", ArtURI("nano3/pretrain/data", 1, "dir", True)),
        ("art://nano3/pretrain/data", ArtURI("nano3/pretrain/data")),
    ],
)
def test_uris(uri: str, parsed: ArtURI) -> None:
    assert parse_uri(uri) == parsed


def test_format_round_trips() -> None:
    for uri in ["art://data:v3", "art://a/b:prod/x/y.json", "art://a"]:
        assert format_uri(*_fields(parse_uri(uri))) == uri
        assert str(parse_uri(uri)) == uri


def _fields(u: ArtURI) -> tuple[str, int | str | None, str]:
    return u.name, u.ref, u.path


def test_alias_rules() -> None:
    assert check_alias("prod") == "prod"
    assert check_alias("best-2024.1") == "best-2024.1"
