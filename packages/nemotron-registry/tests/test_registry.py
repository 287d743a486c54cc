"""The behavioural suite: the same checks on a local dir, file://, memory:// and S3 (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest

from nemotron.registry import (
    ArtifactNotFoundError,
    ArtifactRegistry,
    ArtifactVersionNotFoundError,
    RegistryError,
    set_default_registry,
)


def test_versions_count_up_per_name(registry: ArtifactRegistry, tree: Path) -> None:
    first = registry.publish("nano3/pretrain/data", tree, metadata={"tokens": 10})
    second = registry.publish("nano3/pretrain/data", tree, metadata={"tokens": 20})
    other = registry.publish("nano3/sft/data", tree)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.name == "nano3/pretrain/data"
    assert first.metadata == {"tokens": 10}
    assert first.producer == "local"
    assert first.created_at.tzinfo is not None
    assert set(first.files) == {"blend.json", "sub/shard-000.bin"}
    assert first.files["sub/shard-000.bin"].size == 2000
    assert second.aliases == ["latest"]


def test_url_is_readable_with_fsspec(registry: ArtifactRegistry, root: tuple, tree: Path) -> None:
    version = registry.publish("data", tree)
    _, options = root
    protocol = version.url.split("://", 1)[0]
    with fsspec.open(version.file_url("blend.json"), **(options if protocol == "s3" else {})) as f:
        assert json.loads(f.read()) == {"weights": [0.5, 0.5]}


def test_one_file_artifact(registry: ArtifactRegistry, tree: Path) -> None:
    version = registry.publish("blend", tree / "blend.json")
    assert version.kind == "file"
    assert list(version.files) == ["blend.json"]
    assert version.url.endswith("/blend.json")
    with registry.open("art://blend:v1") as f:
        assert f.read().startswith(b"{")
    with registry.open("art://blend:v1/blend.json") as f:
        assert f.read().startswith(b"{")


def test_resolve_every_form(registry: ArtifactRegistry, tree: Path) -> None:
    for _ in range(3):
        registry.publish("m", tree)
    registry.alias("m", "prod", 2)
    assert registry.resolve("m").version == 3
    assert registry.resolve("m", None).version == 3
    assert registry.resolve("m", "latest").version == 3
    assert registry.resolve("m", 1).version == 1
    assert registry.resolve("m", "v2").version == 2
    assert registry.resolve("m", "2").version == 2
    assert registry.resolve("m", "prod").version == 2
    assert registry.resolve("m", 2).aliases == ["prod"]
    assert registry.resolve("m").aliases == ["latest"]


def test_missing_names_versions_and_aliases(registry: ArtifactRegistry, tree: Path) -> None:
    with pytest.raises(ArtifactNotFoundError) as missing:
        registry.resolve("nope")
    assert (missing.value.name, missing.value.message) == (
        "nope",
        "artifact 'nope' not found in the registry",
    )
    registry.publish("m", tree)
    with pytest.raises(ArtifactVersionNotFoundError) as no_version:
        registry.resolve("m", 7)
    assert (no_version.value.name, no_version.value.version) == ("m", 7)
    assert str(no_version.value) == "artifact 'm' has no version v7"
    with pytest.raises(ArtifactVersionNotFoundError, match="has no alias 'prod'"):
        registry.resolve("m", "prod")
    with pytest.raises(ArtifactNotFoundError):
        registry.resolve("nope", 1)
    with pytest.raises(ArtifactNotFoundError):
        registry.alias("nope", "prod", 1)
    with pytest.raises(ArtifactVersionNotFoundError):
        registry.alias("m", "prod", 2)
    assert registry.get("nope") is None
    assert isinstance(missing.value, RegistryError)


def test_aliases_move_and_go(registry: ArtifactRegistry, tree: Path) -> None:
    registry.publish("m", tree)
    registry.publish("m", tree)
    assert registry.alias("m", "best", 1).aliases == ["best"]
    registry.alias("m", "best", 2)
    assert registry.resolve("m", "best").version == 2
    assert registry.resolve("m", 2).aliases == ["latest", "best"]
    registry.remove_alias("m", "best")
    with pytest.raises(ArtifactVersionNotFoundError):
        registry.resolve("m", "best")
    with pytest.raises(ArtifactVersionNotFoundError, match="has no alias 'best'"):
        registry.remove_alias("m", "best")


def test_latest_only_moves_forward(registry: ArtifactRegistry, tree: Path) -> None:
    seen = []
    for _ in range(5):
        registry.publish("m", tree)
        seen.append(registry.resolve("m", "latest").version)
    assert seen == [1, 2, 3, 4, 5]
    registry.alias("m", "prod", 1)
    assert registry.resolve("m", "latest").version == 5


def test_another_instance_sees_everything_at_once(root: tuple, tree: Path) -> None:
    url, options = root
    writer = ArtifactRegistry(url, storage_options=options)
    reader = ArtifactRegistry(url, storage_options=options)
    with pytest.raises(ArtifactNotFoundError):
        reader.resolve("m")
    assert reader.list() == []
    writer.publish("m", tree)
    assert reader.resolve("m").version == 1
    assert reader.list() == ["m"]
    writer.publish("m", tree)
    writer.alias("m", "prod", 2)
    assert reader.resolve("m").version == 2
    assert reader.resolve("m", "prod").version == 2
    writer.remove_alias("m", "prod")
    with pytest.raises(ArtifactVersionNotFoundError):
        reader.resolve("m", "prod")


def test_get_lists_versions_and_aliases(registry: ArtifactRegistry, tree: Path) -> None:
    for i in range(3):
        registry.publish("m", tree, metadata={"i": i})
    registry.alias("m", "prod", 2)
    entry = registry.get("m")
    assert entry is not None
    assert [v.version for v in entry.versions] == [1, 2, 3]
    assert [v.metadata["i"] for v in entry.versions] == [0, 1, 2]
    assert entry.aliases == {"latest": 3, "prod": 2}
    latest = entry.latest_version()
    assert latest is not None and latest.version == 3
    assert entry.get_version(2) is not None and entry.get_version(2).aliases == ["prod"]  # type: ignore[union-attr]
    assert entry.get_version(9) is None


def test_list_names_with_prefix(registry: ArtifactRegistry, tree: Path) -> None:
    for name in ["nano3/pretrain/data", "nano3/pretrain/model", "nano3/sft/data", "other", "a"]:
        registry.publish(name, tree / "blend.json")
    assert registry.list() == sorted(
        ["nano3/pretrain/data", "nano3/pretrain/model", "nano3/sft/data", "other", "a"]
    )
    assert registry.list("nano3/") == [
        "nano3/pretrain/data",
        "nano3/pretrain/model",
        "nano3/sft/data",
    ]
    assert registry.list("nano3/pre") == ["nano3/pretrain/data", "nano3/pretrain/model"]
    assert registry.list("o") == ["other"]
    assert registry.list("zzz") == []


def test_a_name_and_a_name_below_it(registry: ArtifactRegistry, tree: Path) -> None:
    registry.publish("a", tree / "blend.json")
    registry.publish("a/v1", tree)
    registry.publish("a/@versions".replace("@", "x"), tree)
    assert registry.resolve("a").kind == "file"
    assert registry.resolve("a/v1").kind == "dir"
    assert registry.list("a") == ["a", "a/v1", "a/xversions"]


def test_reference_mode_records_without_copying(
    registry: ArtifactRegistry, root: tuple, tree: Path
) -> None:
    version = registry.publish("ref", tree, mode="reference")
    assert version.mode == "reference"
    assert version.url == f"file://{tree}"
    assert set(version.files) == {"blend.json", "sub/shard-000.bin"}
    assert registry.verify("ref", 1).ok
    with registry.open("art://ref:v1/blend.json") as f:
        assert b"weights" in f.read()
    (tree / "blend.json").write_text("changed")
    report = registry.verify("ref", 1)
    assert not report.ok and report.changed == ["blend.json"]


def test_verify_reports_what_differs(registry: ArtifactRegistry, root: tuple, tree: Path) -> None:
    version = registry.publish("m", tree)
    report = registry.verify("m")
    assert report.ok and report.checked == 2
    assert report.summary() == "art://m:v1: ok (2 files)"
    _, options = root
    fs, path = fsspec.core.url_to_fs(version.url, **options)
    fs.pipe_file(f"{path}/blend.json", b"tampered")
    fs.rm_file(f"{path}/sub/shard-000.bin")
    fs.pipe_file(f"{path}/stray.txt", b"x")
    report = registry.verify("m", 1)
    assert not report.ok
    assert (report.changed, report.missing, report.extra) == (
        ["blend.json"],
        ["sub/shard-000.bin"],
        ["stray.txt"],
    )
    assert "FAILED" in report.summary() and "blend.json" in report.summary()


def test_lineage_walks_inputs_of_inputs(registry: ArtifactRegistry, tree: Path) -> None:
    raw = registry.publish("raw", tree, inputs=["hf://nvidia/Nemotron-CC"])
    blend = registry.publish("blend", tree, inputs=["art://raw:latest"])
    tok = registry.publish("tokenized", tree, inputs=[blend, "art://raw:v1"])
    model = registry.publish("model", tree, inputs=["art://tokenized", "art://blend:v1/blend.json"])
    assert blend.inputs == ["art://raw:v1"]
    assert tok.inputs == ["art://blend:v1", "art://raw:v1"]
    assert model.inputs == ["art://tokenized:v1", "art://blend:v1"]
    graph = registry.lineage("model")
    assert graph.root == "art://model:v1"
    assert graph.upstream() == [
        "art://tokenized:v1",
        "art://blend:v1",
        "art://raw:v1",
        "hf://nvidia/Nemotron-CC",
    ]
    assert ("art://tokenized:v1", "art://raw:v1") in graph.edges()
    assert graph.nodes["hf://nvidia/Nemotron-CC"].version is None
    assert graph.nodes["art://raw:v1"].version == raw.model_copy(update={"aliases": []})
    text = graph.render()
    assert text.splitlines()[0] == "art://model:v1"
    assert "hf://nvidia/Nemotron-CC" in text
    # a new version of an input does not change what the old lineage says
    registry.publish("raw", tree)
    assert registry.lineage("model").upstream()[2] == "art://raw:v1"


def test_download_copies_files(registry: ArtifactRegistry, tree: Path, tmp_path: Path) -> None:
    registry.publish("m", tree)
    out = registry.download("m", 1, tmp_path / "out")
    assert out == tmp_path / "out"
    assert (out / "sub" / "shard-000.bin").read_bytes() == b"\x00\x01" * 1000
    local = registry.download("m")
    assert (local / "blend.json").read_text().startswith("{")
    registry.publish("f", tree / "blend.json")
    assert registry.download("f", dest=tmp_path / "one").name == "blend.json"


def test_remote_downloads_are_cached(
    registry: ArtifactRegistry, tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMOTRON_CACHE_DIR", str(tmp_path / "cache"))
    registry.publish("m", tree)
    first = registry.download("m")
    if registry.root.startswith("file://"):
        assert not (tmp_path / "cache").exists()  # read in place
        return
    assert first.is_relative_to(tmp_path / "cache")
    assert (first / ".complete").exists()
    (first / "blend.json").write_text("served from the cache")
    assert (registry.download("m") / "blend.json").read_text() == "served from the cache"
    assert not list((tmp_path / "cache").rglob("*.partial-*"))


def test_art_filesystem_through_default_registry(registry: ArtifactRegistry, tree: Path) -> None:
    registry.publish("nano3/pretrain/data", tree)
    registry.publish("nano3/pretrain/data", tree / "blend.json")
    registry.alias("nano3/pretrain/data", "prod", 1)
    set_default_registry(registry)
    try:
        with fsspec.open("art://nano3/pretrain/data:v1/blend.json", "rt") as f:
            assert json.load(f) == {"weights": [0.5, 0.5]}
        with fsspec.open("art://nano3/pretrain/data:prod/sub/shard-000.bin") as f:
            assert len(f.read()) == 2000
        with fsspec.open("art://nano3/pretrain/data:latest") as f:
            assert f.read().startswith(b"{")
        with fsspec.open("art://nano3/pretrain/data/blend.json") as f:  # no ref: latest
            assert f.read().startswith(b"{")
        fs = fsspec.filesystem("art")
        assert fs.ls("art://nano3/pretrain/data:1", detail=False) == [
            "nano3/pretrain/data:v1/blend.json",
            "nano3/pretrain/data:v1/sub",
        ]
        assert fs.info("nano3/pretrain/data:v1/sub/shard-000.bin")["size"] == 2000
        assert fs.isdir("nano3/pretrain/data:v1/sub")
        assert fs.exists("nano3/pretrain/data:v1/blend.json")
        assert not fs.exists("nano3/pretrain/data:v1/missing.txt")
        assert not fs.exists("nano3/pretrain/data:v9/blend.json")
        assert fs.cat("art://nano3/pretrain/data:v1/blend.json").startswith(b"{")
        with pytest.raises(PermissionError, match="read-only"):
            fs.open("nano3/pretrain/data:v1/blend.json", "wb")
        with pytest.raises(PermissionError):
            fs.rm("nano3/pretrain/data:v1/blend.json")
        with pytest.raises(FileNotFoundError, match="not found"):
            fsspec.open("art://nope:latest/x").open()
    finally:
        set_default_registry(None)


def test_metadata_round_trips(registry: ArtifactRegistry, tree: Path) -> None:
    meta = {"nested": {"list": [1, 2.5, "x", None, True]}, "unicode": "données"}
    registry.publish("m", tree, metadata=meta)
    other = ArtifactRegistry(registry.root, storage_options=registry._backend.storage_options)  # type: ignore[attr-defined]
    assert other.resolve("m").metadata == meta
