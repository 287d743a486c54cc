"""The W&B backend, offline: publish, then read the offline run's `.wandb` log back.

Every test runs with WANDB_MODE=offline, WANDB_DIR (and W&B's config/cache/staging dirs) under
a temp dir and no API key: nothing goes to the network (with a key and no network,
`wandb.init` would block ~100 s). wandb reads its environment once per process (until
`wandb.teardown()`), so the environment is set for the whole module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import fsspec
import pytest
import s3fs
import wandb
from wandb.proto import wandb_internal_pb2 as pb

from nemotron.registry import (
    ArtifactRegistry,
    BackendNotInstalledError,
    InvalidReferenceError,
    RegistryError,
)
from nemotron.registry._wandb import WandbBackend
from nemotron.registry.testing import (
    WANDB_CLEARED,
    S3Server,
    offline_run_records,
    records_of,
    wandb_offline_env,
)

OFFLINE_LINE = (
    "the W&B registry cannot resolve 'nano3/data' while WANDB_MODE=offline: W&B serves"
    " artifacts only online; sync the run (wandb sync) or use an fsspec root"
)


@pytest.fixture(scope="module", autouse=True)
def wandb_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Offline W&B with every directory it writes under one temp dir, for the whole module."""
    base = tmp_path_factory.mktemp("wandb")
    wandb.teardown()  # forget any settings read earlier in this process
    with pytest.MonkeyPatch.context() as mp:
        for var in WANDB_CLEARED:
            mp.delenv(var, raising=False)
        for var, value in wandb_offline_env(base).items():
            mp.setenv(var, value)
        yield base
        if wandb.run is not None:
            wandb.run.finish()
        wandb.teardown()


@pytest.fixture
def registry() -> ArtifactRegistry:
    return ArtifactRegistry("wandb://team/proj")


def run_log(run_dir: str | Path) -> list[pb.Record]:
    return offline_run_records(run_dir)


def artifacts_of(records: list[pb.Record]) -> list[pb.ArtifactRecord]:
    return records_of(records, "artifact")


def run_dir_of(url: str) -> Path:
    assert "?offline_run=" in url, url
    return Path(url.split("?offline_run=", 1)[1])


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def offline_runs(base: Path) -> set[Path]:
    return set((base / "wandb").glob("offline-run-*"))


# -- the tests -----------------------------------------------------------------------------
def test_roots_and_guarantee() -> None:
    assert ArtifactRegistry("wandb://proj").root == "wandb://proj"
    assert ArtifactRegistry("wandb://team/proj/").root == "wandb://team/proj"
    named = ArtifactRegistry("anything", backend="wandb", project="proj", entity="team")
    assert (named.backend_name, named.root) == ("wandb", "wandb://team/proj")
    assert "W&B's server allocates versions" in named.guarantee
    assert "\n" not in named.guarantee
    for bad in ("wandb://", "wandb://a/b/c", "wandb://team/pr oj"):
        with pytest.raises(InvalidReferenceError, match="W&B"):
            ArtifactRegistry(bad)
    with pytest.raises(InvalidReferenceError, match="names project 'proj', but project='other'"):
        ArtifactRegistry("wandb://proj", project="other")


def test_publish_by_reference_offline(
    registry: ArtifactRegistry, tree: Path, tmp_path: Path
) -> None:
    raw = ArtifactRegistry(tmp_path / "fs-registry").publish("raw/text", tree)
    version = registry.publish(
        "nano3/data", tree, metadata={"type": "dataset", "tokens": 10},
        inputs=[raw, "hf://org/dataset"], mode="reference", producer="prep-job",
    )  # fmt: skip
    # the returned record: complete, numbered when the offline run is synced
    assert (version.name, version.version, version.aliases) == ("nano3/data", 0, [])
    assert version.url.startswith("wandb://team/proj/nano3.data?offline_run=")
    assert (version.mode, version.kind, version.producer) == ("reference", "dir", "prep-job")
    assert version.inputs == ["art://raw/text:v1", "hf://org/dataset"]
    assert version.metadata == {"type": "dataset", "tokens": 10}
    shard = (tree / "sub" / "shard-000.bin").read_bytes()
    assert version.files["sub/shard-000.bin"].size == len(shard)
    assert version.files["sub/shard-000.bin"].sha256 == hashlib.sha256(shard).hexdigest()
    assert wandb.run is None  # the run it started is finished

    # what the offline run really holds
    records = run_log(run_dir_of(version.url))
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (run.entity, run.project, run.job_type) == ("team", "proj", "nemotron-publish")
    (art,) = artifacts_of(records)
    assert (art.name, art.type, art.entity, art.project) == (
        "nano3.data",
        "dataset",
        "team",
        "proj",
    )
    assert art.run_id == run.run_id and art.finalize
    assert list(art.aliases) == ["latest"]
    meta = json.loads(art.metadata)
    assert meta["nemotron_name"] == "nano3/data"
    assert meta["nemotron_inputs"] == ["art://raw/text:v1", "hf://org/dataset"]
    assert (meta["nemotron_producer"], meta["nemotron_mode"], meta["nemotron_kind"]) == (
        "prep-job", "reference", "dir",
    )  # fmt: skip
    assert meta["tokens"] == 10
    assert meta["nemotron_files"] == {k: r.model_dump() for k, r in version.files.items()}
    entries = {c.path: c for c in art.manifest.contents}
    assert set(entries) == {"blend.json", "sub/shard-000.bin"}
    for rel, entry in entries.items():
        data = (tree / rel).read_bytes()
        assert entry.ref == (tree / rel).as_uri()
        assert (entry.size, entry.digest) == (len(data), md5_b64(data))
    exits = [r.exit for r in records if r.WhichOneof("record_type") == "exit"]
    assert [e.exit_code for e in exits] == [0]


@pytest.mark.s3
def test_publish_s3_references_offline(
    registry: ArtifactRegistry, tree: Path, s3_server: S3Server
) -> None:
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options)
    base = f"{s3_server.bucket()}/blend"
    for rel in ("blend.json", "sub/shard-000.bin"):
        fs.pipe_file(f"{base}/{rel}", (tree / rel).read_bytes())
    version = registry.publish("nano3/s3-data", f"s3://{base}", mode="reference")
    assert version.files["sub/shard-000.bin"].size == 2000
    (art,) = artifacts_of(run_log(run_dir_of(version.url)))
    entries = {c.path: c for c in art.manifest.contents}
    assert {rel: e.ref for rel, e in entries.items()} == {
        "blend.json": f"s3://{base}/blend.json",
        "sub/shard-000.bin": f"s3://{base}/sub/shard-000.bin",
    }
    for rel, entry in entries.items():
        data = (tree / rel).read_bytes()
        etag = hashlib.md5(data).hexdigest()  # S3's ETag of a one-part upload; W&B's digest
        assert (entry.size, entry.digest) == (len(data), etag)
        assert {e.key: json.loads(e.value_json) for e in entry.extra} == {"etag": etag}


def test_publish_copies_offline(registry: ArtifactRegistry, tree: Path) -> None:
    # a local directory, a one-file artifact, and a memory:// folder (staged through a temp dir)
    memory = f"memory://wandb-src-{uuid.uuid4().hex[:8]}"
    with fsspec.open(f"{memory}/weights.bin", "wb") as f:
        f.write(b"w" * 3000)
    folder = registry.publish("ckpt/step-100", tree, metadata={"type": "model"})
    single = registry.publish("configs/blend", tree / "blend.json")
    remote = registry.publish("ckpt/from-memory", memory)
    assert [v.version for v in (folder, single, remote)] == [0, 0, 0]
    assert (single.kind, set(single.files)) == ("file", {"blend.json"})
    assert set(remote.files) == {"weights.bin"}
    for version, source, kind in (
        (folder, tree, "model"),
        (single, tree, "artifact"),
        (remote, None, "artifact"),
    ):
        (art,) = artifacts_of(run_log(run_dir_of(version.url)))
        assert (art.name, art.type) == (version.name.replace("/", "."), kind)
        assert json.loads(art.metadata)["nemotron_name"] == version.name
        assert json.loads(art.metadata)["nemotron_mode"] == "copy"
        for entry in art.manifest.contents:
            assert entry.ref == ""  # uploaded at sync, not referenced
            staged = Path(entry.local_path).read_bytes()  # W&B's own staged copy
            if source is not None:
                assert staged == (source / entry.path).read_bytes()
            assert (entry.size, entry.digest) == (len(staged), md5_b64(staged))
            assert version.files[entry.path].sha256 == hashlib.sha256(staged).hexdigest()


def test_publish_inside_an_active_run_uses_it(
    registry: ArtifactRegistry, tree: Path, wandb_env: Path
) -> None:
    before = offline_runs(wandb_env)
    run = wandb.init(project="proj", entity="team", job_type="train")
    try:
        first = registry.publish("nano3/model", tree, mode="reference")
        second = registry.publish("nano3/model", tree, mode="copy")
        assert wandb.run is run  # still active: publish does not finish a run it did not start
        run_dir = Path(run.settings.sync_dir)
    finally:
        run.finish()
    assert run_dir_of(first.url) == run_dir_of(second.url) == run_dir
    assert offline_runs(wandb_env) - before == {run_dir}
    arts = artifacts_of(run_log(run_dir))
    assert [(a.name, json.loads(a.metadata)["nemotron_mode"]) for a in arts] == [
        ("nano3.model", "reference"),
        ("nano3.model", "copy"),
    ]

    other = wandb.init(project="elsewhere")
    try:
        with pytest.raises(RegistryError) as caught:
            registry.publish("nano3/model", tree)
    finally:
        other.finish()
    assert str(caught.value) == (
        "the active W&B run logs to 'elsewhere', not to wandb://team/proj: finish it first or"
        " publish through ArtifactRegistry('wandb://elsewhere')"
    )


def test_resolving_offline_fails_with_one_line(
    registry: ArtifactRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [
        lambda: registry.resolve("nano3/data"),
        lambda: registry.resolve("nano3/data", 3),
        lambda: registry.get("nano3/data"),
        lambda: registry.alias("nano3/data", "prod", 1),
        lambda: registry.remove_alias("nano3/data", "prod"),
        lambda: registry.verify("nano3/data"),
        lambda: registry.download("nano3/data"),
    ]
    for call in calls:
        with pytest.raises(RegistryError) as caught:
            call()
        assert str(caught.value) == OFFLINE_LINE
    with pytest.raises(RegistryError, match=r"^the W&B registry cannot resolve 'nano3/' while"):
        registry.list("nano3/")
    # an unpinned art:// input needs a resolve too (a pinned art://raw:v1 is kept as given)
    with pytest.raises(RegistryError, match="cannot resolve 'raw' while WANDB_MODE=offline"):
        registry.publish("x", ".", inputs=["art://raw:latest"])
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with pytest.raises(RegistryError, match="while WANDB_MODE=disabled: W&B serves"):
        registry.resolve("nano3/data")


def test_refusals_before_any_run(registry: ArtifactRegistry, tree: Path, wandb_env: Path) -> None:
    before = offline_runs(wandb_env)
    memory = f"memory://wandb-ref-{uuid.uuid4().hex[:8]}"
    with fsspec.open(f"{memory}/a.txt", "wb") as f:
        f.write(b"a")
    with pytest.raises(InvalidReferenceError) as caught:
        registry.publish("data", memory, mode="reference")
    assert str(caught.value) == (
        f"cannot publish {memory!r} by reference to W&B: W&B reads only file://, s3://, gs://,"
        " http://, https:// references; use mode='copy'"
    )
    with pytest.raises(InvalidReferenceError, match="the W&B backend keeps nemotron_\\* keys"):
        registry.publish("data", tree, metadata={"nemotron_name": "other"})
    with pytest.raises(InvalidReferenceError, match="invalid W&B artifact type 'a b'"):
        registry.publish("data", tree, metadata={"type": "a b"})
    with pytest.raises(InvalidReferenceError, match="no such file or directory"):
        registry.publish("data", tree / "missing")
    assert offline_runs(wandb_env) == before


def test_resolved_record_checks_the_name() -> None:
    backend = WandbBackend("wandb://team/proj")

    def fake(meta: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(
            metadata=meta, entity="team", project="proj", version="v4",
            created_at="2026-01-02T03:04:05Z",
        )  # fmt: skip

    record = {"size": 1, "sha256": "0" * 64}
    found = backend._to_version(
        "a/b",
        fake({
            "nemotron_name": "a/b", "nemotron_files": {"x": record}, "nemotron_mode": "copy",
            "nemotron_inputs": ["hf://o/d"], "nemotron_producer": "job", "tokens": 3,
        }),
    )  # fmt: skip
    assert (found.version, found.url) == (5, "wandb://team/proj/a.b:v4")  # W&B v4 is our 5
    assert (found.metadata, found.inputs, found.producer) == ({"tokens": 3}, ["hf://o/d"], "job")
    assert found.created_at.tzinfo is not None and found.files["x"].size == 1
    with pytest.raises(RegistryError) as caught:
        backend._to_version("a/b", fake({"nemotron_name": "a.b"}))
    assert str(caught.value) == (
        "W&B artifact 'team/proj/a.b:v4' holds 'a.b', not 'a/b': both map to one W&B name"
    )
    with pytest.raises(RegistryError, match=r"was not published by nemotron\.registry"):
        backend._to_version("a/b", fake({}))


class FakeApi:
    """`wandb.Api` as the backend uses it, over artifacts kept in memory (no network at all)."""

    def __init__(self, overrides: dict[str, str]) -> None:
        self.overrides = overrides
        self.collections: dict[str, list[SimpleNamespace]] = {}

    def add(self, wname: str, meta: dict[str, Any], aliases: list[str]) -> None:
        versions = self.collections.setdefault(f"team/proj/{wname}", [])
        art = SimpleNamespace(
            metadata=meta, entity="team", project="proj", version=f"v{len(versions)}",
            created_at="2026-01-02T03:04:05", aliases=aliases, save=lambda: None,
            collection=SimpleNamespace(artifacts=lambda: list(versions)),
        )  # fmt: skip
        versions.append(art)

    def artifact(self, path: str) -> SimpleNamespace:
        base, _, ref = path.rpartition(":")
        versions = self.collections.get(base, [])
        found = [a for a in versions if ref in (a.version, *a.aliases)]
        if ref == "latest" and versions:
            found = versions[-1:]
        if not found:
            raise wandb.errors.CommError(f"artifact membership {path!r} not found in 'team/proj'")
        return found[0]

    def artifact_types(self, project: str) -> list[SimpleNamespace]:
        names = [SimpleNamespace(name=k.rsplit("/", 1)[1]) for k in self.collections]
        return [SimpleNamespace(collections=lambda: names)]


def test_reading_online_through_wandb_api(monkeypatch: pytest.MonkeyPatch, tree: Path) -> None:
    api = FakeApi({})
    files = {"blend.json": {"size": 23, "sha256": "0" * 64}}
    for n, aliases in ((1, []), (2, ["prod"]), (3, [])):
        meta = {"tokens": n, "nemotron_name": "nano3/data", "nemotron_files": files}
        api.add("nano3.data", meta, aliases)
    api.add("nano3.other", {"nemotron_name": "nano3/other"}, [])
    api.add("nano3.not-ours", {}, [])
    monkeypatch.setattr(wandb, "Api", lambda overrides: api)
    monkeypatch.setenv("WANDB_MODE", "online")  # reads only: nothing here starts a run
    registry = ArtifactRegistry("wandb://team/proj")
    latest = registry.resolve("nano3/data")
    assert (latest.version, latest.url, latest.aliases) == (
        3,
        "wandb://team/proj/nano3.data:v2",
        ["latest"],
    )
    assert registry.resolve("nano3/data", "prod").metadata == {"tokens": 2}
    assert registry.resolve("nano3/data", 1).files["blend.json"].size == 23
    entry = registry.get("nano3/data")
    assert entry is not None and entry.aliases == {"latest": 3, "prod": 2}
    assert registry.list("nano3/") == ["nano3/data", "nano3/other"]
    assert registry.alias("nano3/data", "best", 1).aliases == ["best"]
    registry.remove_alias("nano3/data", "prod")
    assert api.collections["team/proj/nano3.data"][1].aliases == []
    with pytest.raises(RegistryError, match="has no version v9"):
        registry.resolve("nano3/data", 9)
    with pytest.raises(RegistryError, match="artifact 'nano3/missing' not found"):
        registry.resolve("nano3/missing")

    def no_key(overrides: dict[str, str]) -> None:
        raise wandb.errors.UsageError("No API key configured. Use `wandb login` to log in.")

    monkeypatch.setattr(wandb, "Api", no_key)
    with pytest.raises(RegistryError) as caught:
        ArtifactRegistry("wandb://team/proj").resolve("nano3/data")
    assert str(caught.value) == (
        "the W&B registry wandb://team/proj cannot resolve 'nano3/data':"
        " No API key configured. Use `wandb login` to log in."
    )


def test_missing_wandb_names_the_pip_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['wandb'] = None\n"
        "from nemotron.registry import ArtifactRegistry, BackendNotInstalledError\n"
        "try:\n"
        "    ArtifactRegistry('wandb://p')\n"
        "except BackendNotInstalledError as exc:\n"
        "    assert isinstance(exc, ImportError)\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert (proc.returncode, proc.stderr) == (3, "")
    assert proc.stdout == (
        "the W&B registry backend needs wandb; pip install 'nemotron-registry[wandb]'\n"
    )
    assert issubclass(BackendNotInstalledError, RegistryError)
