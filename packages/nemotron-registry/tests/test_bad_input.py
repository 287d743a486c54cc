"""Bad names, versions, aliases, inputs and URIs: each one clear error, nothing written anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from nemotron.registry import (
    ArtifactRegistry,
    InvalidReferenceError,
    RegistryError,
    parse_uri,
    set_default_registry,
)

BAD_NAMES = [
    "",
    "/abs/path",
    "../escape",
    "a/../../etc",
    "a/..",
    "./a",
    "a//b",
    "a/",
    "with space",
    "tab\tname",
    "new\nline",
    "nul\x00byte",
    "colon:name",
    "at@sign",
    "back\\slash",
    "star*",
    "question?",
    "ünïcode",
    "semi;colon",
    "dollar$HOME",
    "x" * 201,
    "quote'name",
]
BAD_VERSIONS = [
    0,
    -1,
    "v0",
    "-1",
    "v-1",
    "0",
    "v01",
    "007",
    "1.5",
    "-prod",
    True,
    1.0,
    [],
    "with space",
    "x" * 65,
]
BAD_ALIASES = ["latest", "v3", "3", "0", "-prod", "_x", "", "pro d", "a/b", "a:b", "é", "x" * 65]
BAD_URIS = [
    "data:v1",
    "s3://data:v1",
    "art://",
    "art://:v1",
    "art://data:",
    "art://data:v0",
    "art://data:v-1",
    "art://../x:v1",
    "art:///abs:v1",
    "art://data:v1/../../etc/passwd",
    "art://data:v1//x",
    "art://da ta:v1",
    "art://data:v1/x\ny",
    "art://data:latest/./x",
]
BAD_INPUTS = ["not a uri", "relative/path", "art://bad name", "hf://with space", "\x00", 42]

REFUSED = (
    [("name", n) for n in BAD_NAMES]
    + [("version", v) for v in BAD_VERSIONS]
    + [("alias", a) for a in BAD_ALIASES]
    + [("uri", u) for u in BAD_URIS]
    + [("input", i) for i in BAD_INPUTS]
)


def snapshot(*dirs: Path) -> set[str]:
    return {str(p) for d in dirs if d.exists() for p in d.rglob("*")}


def test_the_corpus_is_big_enough() -> None:
    assert len(REFUSED) >= 30


@pytest.mark.parametrize(("what", "value"), REFUSED, ids=[f"{w}-{v!r}"[:40] for w, v in REFUSED])
def test_refused_before_anything_is_written(tmp_path: Path, what: str, value: object) -> None:
    root = tmp_path / "registry"
    registry = ArtifactRegistry(root)
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_text("x")
    registry.publish("good", src)
    before = snapshot(tmp_path)
    calls = {
        "name": [
            lambda: registry.publish(value, src),  # type: ignore[arg-type]
            lambda: registry.resolve(value),  # type: ignore[arg-type]
            lambda: registry.alias(value, "prod", 1),  # type: ignore[arg-type]
            lambda: registry.get(value),  # type: ignore[arg-type]
            lambda: registry.verify(value),  # type: ignore[arg-type]
        ],
        "version": [
            lambda: registry.resolve("good", value),  # type: ignore[arg-type]
            lambda: registry.alias("good", "prod", value),  # type: ignore[arg-type]
        ],
        "alias": [
            lambda: registry.alias("good", value, 1),  # type: ignore[arg-type]
            lambda: registry.remove_alias("good", value),  # type: ignore[arg-type]
        ],
        "uri": [lambda: parse_uri(value)]  # type: ignore[arg-type]
        + ([lambda: registry.split(value)] if str(value).startswith("art://") else []),  # type: ignore[arg-type]
        "input": [lambda: registry.publish("good", src, inputs=[value])],  # type: ignore[list-item]
    }[what]
    for call in calls:
        with pytest.raises(InvalidReferenceError) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message, message
        assert message.startswith("invalid "), message
        assert repr(value)[:20].strip("'")[:8] in message or what == "uri", message
    assert snapshot(tmp_path) == before
    assert registry.resolve("good").version == 1


@pytest.mark.parametrize("uri", BAD_URIS[2:])
def test_bad_uris_through_fsspec(tmp_path: Path, uri: str) -> None:
    registry = ArtifactRegistry(tmp_path / "registry")
    set_default_registry(registry)
    try:
        with pytest.raises(FileNotFoundError, match=r"invalid (art:// URI|path)"):
            fsspec.open(uri).open()
    finally:
        set_default_registry(None)


def test_bad_publish_arguments(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path / "registry")
    (tmp_path / "f").write_text("x")
    cases = [
        (lambda: registry.publish("m", tmp_path / "missing"), "no such file or directory"),
        (lambda: registry.publish("m", ""), "cannot publish ''"),
        (lambda: registry.publish("m", tmp_path / "f", mode="move"), "invalid mode 'move'"),  # type: ignore[arg-type]
        (lambda: registry.publish("m", tmp_path / "f", metadata={"x": object()}), "not JSON"),
        (lambda: registry.publish("m", tmp_path / "f", metadata={"x": float("nan")}), "not JSON"),
        (lambda: registry.list("../"), "invalid prefix"),
        (lambda: registry.list("/abs"), "invalid prefix"),
        (lambda: registry.open("art://m:v1/x", "wb"), "read-only"),
    ]
    for call, expected in cases:
        with pytest.raises(RegistryError, match=expected) as caught:
            call()
        assert "\n" not in str(caught.value)
    assert not (tmp_path / "registry").exists() or not any(
        p.is_file() for p in (tmp_path / "registry").rglob("*")
    )


def test_unknown_backend_names_its_install(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"backend 'gcsx' is not installed .*pip install"):
        ArtifactRegistry(tmp_path, backend="gcsx")


def test_unknown_protocol_is_one_line() -> None:
    with pytest.raises(RegistryError, match=r"unknown storage 'nosuch://' in 'nosuch://bucket/x'"):
        ArtifactRegistry("nosuch://bucket/x")


def test_missing_s3fs_names_the_extra() -> None:
    script = (
        "import sys; sys.modules['s3fs'] = None\n"
        "from nemotron.registry import ArtifactRegistry, RegistryError\n"
        "try:\n    ArtifactRegistry('s3://bucket/registry')\n"
        "except RegistryError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "'s3://' storage is not installed; pip install 'nemotron-registry[s3]'"
    )


def test_no_default_registry_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEMOTRON_REGISTRY", raising=False)
    set_default_registry(None)
    with pytest.raises(FileNotFoundError, match="NEMOTRON_REGISTRY"):
        fsspec.open("art://m:latest/x").open()


def test_env_var_names_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ArtifactRegistry(tmp_path / "reg")
    (tmp_path / "f.txt").write_text("hello")
    registry.publish("m", tmp_path / "f.txt")
    monkeypatch.setenv("NEMOTRON_REGISTRY", os.fspath(tmp_path / "reg"))
    set_default_registry(None)
    with fsspec.open("art://m:v1") as f:
        assert f.read() == b"hello"
