"""Artifacts: metadata.json written once and atomically, load/from_uri, publishing with lineage,
the stdin pipe protocol between real processes, print_step_complete on a pipe and on a tty."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import nemotron.kit as kit
from nemotron.kit import _init
from nemotron.kit._artifact_io import METADATA_FILE
from nemotron.kit.artifact import (
    Artifact,
    ArtifactError,
    ArtifactMetadataNotFoundError,
    DataBlendsArtifact,
    InputDatasetInfo,
    ModelArtifact,
    PretrainBlendsArtifact,
    PretrainDataArtifact,
    ScaleError,
    SFTDataArtifact,
    SplitJsonlDataArtifact,
    TrackingInfo,
    apply_scale,
)
from nemotron.kit.exceptions import KitError
from nemotron.kit.trackers import (
    RegistryTracker,
    reset_used_artifacts,
    set_lineage_tracker,
    used_artifacts,
)
from nemotron.registry import (
    ArtifactNotFoundError,
    ArtifactRegistry,
    InvalidReferenceError,
    RegistryError,
)

BASE = {"path", "type", "metadata", "created_at", "producer", "tracking", "name"}


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """No kit config, tracker or used artifacts leak between tests."""
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)
    yield
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)


@pytest.fixture
def registry(tmp_path: Path) -> ArtifactRegistry:
    return kit.init(root=tmp_path / "registry").registry


def read_meta(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / METADATA_FILE).read_text())
    return data


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def samples(tmp_path: Path) -> list[Artifact]:
    blend_dir = tmp_path / "blends"
    blend_dir.mkdir()
    (blend_dir / "blend.json").write_text('{"train": [1.0, "/data/a"]}')
    manifest_dir = tmp_path / "jsonl"
    manifest_dir.mkdir()
    (manifest_dir / "manifest.json").write_text("{}")
    sources: list[InputDatasetInfo | str] = [
        InputDatasetInfo(uri="hf://org/web", name="web", weight=0.7, split="train", num_rows=9),
        "s3://bucket/code",
    ]
    return [
        Artifact(path=tmp_path / "plain", metadata={"step": 10, "note": "x"}),
        DataBlendsArtifact(
            path=blend_dir / "blend.json", total_tokens=1000, total_sequences=10,
            train_tokens=900, source_datasets=sources, tokenizer_uri="https://huggingface.co/t/k",
        ),
        PretrainBlendsArtifact(
            path=tmp_path / "pretrain", total_tokens=25_000, num_shards=4,
            blend_path=str(tmp_path / "pretrain" / "blend.json"), source_datasets=sources,
        ),
        PretrainDataArtifact(path=tmp_path / "pdata", total_tokens=5, total_sequences=1),
        SFTDataArtifact(path=tmp_path / "sft", total_tokens=7, pack_size=4096, num_shards=2),
        SplitJsonlDataArtifact(
            path=manifest_dir / "manifest.json", total_sequences=3, train=str(manifest_dir / "t")
        ),
        ModelArtifact(path=tmp_path / "model", step=100, final_loss=1.5, metadata={"lr": 3e-4}),
    ]  # fmt: skip


# -- metadata.json: every field once, atomically ----------------------------------------------
def test_round_trip_each_type_stores_each_field_once(tmp_path: Path) -> None:
    for artifact in samples(tmp_path):
        artifact.save()
        folder = artifact.output_dir()
        record = read_meta(folder)
        typed = set(type(artifact).model_fields) - BASE
        assert record["type"] == type(artifact).__name__
        assert set(record) == set(type(artifact).model_fields)
        assert not typed & set(record["metadata"]), record["metadata"]  # each field once
        assert leftovers(folder) == []  # no temp file
        loaded = type(artifact).load(folder)
        assert loaded == artifact
        assert loaded.model_dump() == artifact.model_dump()
        generic = Artifact.load(folder)  # the record's type picks the class
        assert type(generic) is type(artifact) and generic == artifact
    model = ModelArtifact.load(tmp_path / "model")
    assert (model.step, model.final_loss, model.metadata) == (100, 1.5, {"lr": 3e-4})
    assert model.metrics == {"step": 100.0, "final_loss": 1.5, "lr": 3e-4}
    assert model.producer == "local"


def test_typed_fields_given_in_metadata_are_moved_out(tmp_path: Path) -> None:
    model = ModelArtifact(path=tmp_path / "m", metadata={"step": 3, "note": "n"})  # type: ignore[call-arg]
    assert (model.step, model.metadata) == (3, {"note": "n"})
    # a metadata.json of the original format (typed fields duplicated into metadata) loads once
    folder = tmp_path / "old"
    folder.mkdir()
    record = {
        "path": str(folder), "type": "ModelArtifact", "step": 5,
        "metadata": {"step": 5, "final_loss": 0.5, "extra": True},
        "created_at": "2025-12-01T10:00:00+01:00", "producer": "run-1", "future_field": 1,
    }  # fmt: skip
    (folder / METADATA_FILE).write_text(json.dumps(record))
    loaded = Artifact.load(folder)
    assert isinstance(loaded, ModelArtifact)
    assert (loaded.step, loaded.final_loss) == (5, 0.5)
    assert loaded.metadata == {"extra": True, "future_field": 1}  # unknown keys kept as extras
    assert loaded.metrics == {"step": 5.0, "final_loss": 0.5, "future_field": 1.0}  # no bools


def test_metadata_that_shadows_a_field_is_refused(tmp_path: Path) -> None:
    model = ModelArtifact(path=tmp_path / "m", step=1)
    model.metadata["step"] = 2
    with pytest.raises(ArtifactError) as caught:
        model.save()
    assert str(caught.value) == (
        "metadata key 'step' of ModelArtifact is also one of its fields: set artifact.step,"
        " not artifact.metadata['step']"
    )
    assert not (tmp_path / "m").exists()
    plain = Artifact(path=tmp_path / "p", metadata={"path": "elsewhere"})
    with pytest.raises(ArtifactError, match="metadata key 'path' of Artifact"):
        plain.save()


def test_type_and_created_at(tmp_path: Path) -> None:
    a = ModelArtifact(path=tmp_path, step=0)
    assert a.type == "ModelArtifact"
    assert datetime.fromisoformat(a.created_at).tzinfo is not None
    assert Artifact(path=tmp_path, type="model").type == "model"  # an explicit type stays
    naive = Artifact(path=tmp_path, created_at=datetime(2026, 1, 2, 3, 4, 5))  # type: ignore[arg-type]
    assert datetime.fromisoformat(naive.created_at).tzinfo is not None
    utc = Artifact(path=tmp_path, created_at="2026-01-02T03:04:05Z")
    assert utc.created_at == "2026-01-02T03:04:05Z"
    with pytest.raises(ValueError, match="created_at 'yesterday' is not an ISO 8601 time"):
        Artifact(path=tmp_path, created_at="yesterday")
    with pytest.raises(ValueError, match="typo"):
        Artifact(path=tmp_path, typo=1)  # type: ignore[call-arg]


def test_atomic_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "a"
    art = Artifact(path=folder, metadata={"v": 1})
    art.save()
    before = (folder / METADATA_FILE).read_text()

    art.metadata["bad"] = object()  # not JSON
    with pytest.raises(ArtifactError, match=r"^Artifact at .* is not JSON: "):
        art.save()
    assert (folder / METADATA_FILE).read_text() == before and leftovers(folder) == []

    art.metadata["bad"] = float("nan")  # JSON has no NaN: pydantic writes null
    art.save()
    assert read_meta(folder)["metadata"]["bad"] is None and leftovers(folder) == []
    before = (folder / METADATA_FILE).read_text()

    del art.metadata["bad"]
    art.metadata["v"] = 2

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        art.save()
    monkeypatch.undo()
    assert (folder / METADATA_FILE).read_text() == before and leftovers(folder) == []
    assert oct((folder / METADATA_FILE).stat().st_mode & 0o777) == "0o644"


def test_file_path_artifacts_keep_metadata_beside_the_file(tmp_path: Path) -> None:
    blends = DataBlendsArtifact(path=tmp_path / "out" / "blend.json", total_tokens=1)
    blends.save()  # blend.json need not exist yet: the folder is made, metadata.json goes in it
    assert (tmp_path / "out" / METADATA_FILE).is_file()
    (tmp_path / "out" / "blend.json").write_text("{}")
    for where in (
        tmp_path / "out",
        tmp_path / "out" / "blend.json",
        tmp_path / "out" / METADATA_FILE,
    ):
        assert DataBlendsArtifact.load(where).path == tmp_path / "out" / "blend.json"
    # a generic artifact whose path is an existing file: metadata.json in its folder
    (tmp_path / "single").mkdir()
    (tmp_path / "single" / "weights.bin").write_bytes(b"w")
    single = Artifact(path=tmp_path / "single" / "weights.bin")
    single.save()
    assert Artifact.load(tmp_path / "single").path == tmp_path / "single" / "weights.bin"


def test_a_moved_folder_loads_from_where_it_is(tmp_path: Path) -> None:
    old = tmp_path / "old"
    art = PretrainBlendsArtifact(path=old, total_tokens=3, blend_path=str(old / "blend.json"))
    art.save()
    shutil.move(old, tmp_path / "new")
    moved = PretrainBlendsArtifact.load(tmp_path / "new")
    assert moved.path == tmp_path / "new"
    assert moved.blend_path == str(tmp_path / "new" / "blend.json")
    blend_old = tmp_path / "b1"
    DataBlendsArtifact(path=blend_old / "blend.json", total_tokens=1).save()
    (blend_old / "blend.json").write_text("{}")
    shutil.move(blend_old, tmp_path / "b2")
    assert DataBlendsArtifact.load(tmp_path / "b2").path == tmp_path / "b2" / "blend.json"


def test_bad_locations_and_records(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMetadataNotFoundError) as caught:
        Artifact.load(tmp_path)
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, KitError)
    assert str(caught.value) == (
        f"no metadata.json in {tmp_path}: not an artifact saved by Artifact.save()"
    )
    with pytest.raises(ArtifactMetadataNotFoundError, match="it does not exist"):
        Artifact.load(tmp_path / "missing")
    (tmp_path / METADATA_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match=r"metadata.json is not valid JSON: Expecting"):
        Artifact.load(tmp_path)
    (tmp_path / METADATA_FILE).write_text("[1, 2]")
    with pytest.raises(ArtifactError, match="holds list, not a JSON object"):
        Artifact.load(tmp_path)
    (tmp_path / METADATA_FILE).write_text(
        json.dumps({"path": str(tmp_path), "type": "ModelArtifact"})
    )
    with pytest.raises(ArtifactError) as bad:
        Artifact.load(tmp_path)
    assert (
        str(bad.value)
        == f"{tmp_path / METADATA_FILE} is not a valid ModelArtifact: step: Field required"
    )
    ModelArtifact(path=tmp_path / "m", step=1).save()
    with pytest.raises(ArtifactError, match=r"holds a ModelArtifact, not a DataBlendsArtifact"):
        DataBlendsArtifact.load(tmp_path / "m")


def test_apply_scale() -> None:
    assert [apply_scale(100_000, s) for s in ("tiny", "small", "medium", "full")] == [
        1000, 10_000, 30_000, 100_000,
    ]  # fmt: skip
    assert apply_scale(2_000_000, "tiny") == 10_000 and apply_scale(5, "tiny") == 1
    with pytest.raises(ScaleError) as caught:
        apply_scale(10, "huge")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "invalid scale 'huge': expected one of tiny, small, medium, full"


def test_public_names() -> None:
    assert kit.InputDatasetInfo is InputDatasetInfo
    assert kit.PretrainBlendsArtifact is PretrainBlendsArtifact and kit.TrackingInfo is TrackingInfo
    from nemotron.kit.trackers import InputDatasetInfo as from_trackers

    assert from_trackers is InputDatasetInfo  # the original's import path works too


# -- publishing and lineage --------------------------------------------------------------------
def test_save_after_init_publishes_with_lineage(tmp_path: Path, registry: ArtifactRegistry) -> None:
    local_data = tmp_path / "raw.txt"
    local_data.write_text("raw")
    art = PretrainBlendsArtifact(
        path=tmp_path / "data", total_tokens=25, metadata={"owner": "me"},
        source_datasets=[InputDatasetInfo(uri="hf://org/web"), str(local_data)],
        tokenizer_uri="https://huggingface.co/org/tok",
    )  # fmt: skip
    assert art.uri is None and art.art_path == f"art://{(tmp_path / 'data').resolve()}"
    art.save(name="nano3/data")
    assert art.uri == art.art_path == "art://nano3/data:v1"
    version = registry.resolve("nano3/data")
    assert version.version == 1 and version.producer == "local"
    assert version.inputs == [
        "hf://org/web",
        local_data.resolve().as_uri(),
        "https://huggingface.co/org/tok",
    ]
    assert version.metadata["total_tokens"] == 25 and version.metadata["owner"] == "me"
    assert (
        version.metadata["type"] == "PretrainBlendsArtifact" and "metadata" not in version.metadata
    )
    assert set(version.files) == {METADATA_FILE}
    local = read_meta(tmp_path / "data")
    assert local["tracking"]["artifact_id"] == "art://nano3/data:v1"
    assert local["tracking"]["url"] == version.url
    # the default name: the artifact's name, else its type
    named = Artifact(path=tmp_path / "n", name="team/named")
    named.save()
    assert named.uri == "art://team/named:v1"
    typed = ModelArtifact(path=tmp_path / "t", step=1)
    typed.save()
    typed.save()
    assert typed.uri == "art://ModelArtifact:v2"


def test_three_steps_in_one_process(tmp_path: Path, registry: ArtifactRegistry) -> None:
    raw = DataBlendsArtifact(
        path=tmp_path / "s1" / "blend.json", total_tokens=10, source_datasets=["hf://org/raw"]
    )
    raw.save(name="chain/data")
    assert used_artifacts() == []  # saving is not using

    data = DataBlendsArtifact.from_uri("art://chain/data:latest")
    model = ModelArtifact(path=tmp_path / "s2", step=5)
    model.save(name="chain/model")

    again = ModelArtifact.load(tmp_path / "s2")  # a local folder saved after init() has its URI
    assert again.uri == "art://chain/model:v1"
    evaluated = Artifact(path=tmp_path / "s3", metadata={"accuracy": 0.9})
    evaluated.save(name="chain/eval")

    assert data.uri == "art://chain/data:v1" and data.path.name == "blend.json"
    assert registry.resolve("chain/model").inputs == ["art://chain/data:v1"]
    assert registry.resolve("chain/eval").inputs == ["art://chain/data:v1", "art://chain/model:v1"]
    assert registry.lineage("chain/eval").upstream() == [
        "art://chain/data:v1", "art://chain/model:v1", "hf://org/raw",
    ]  # fmt: skip


def test_from_uri_records_the_resolved_int(tmp_path: Path, registry: ArtifactRegistry) -> None:
    for step in (1, 2):
        ModelArtifact(path=tmp_path / f"m{step}", step=step).save(name="ckpt")
    registry.alias("ckpt", "prod", 1)
    prod = ModelArtifact.from_uri("art://ckpt:prod")
    assert (prod.step, prod.uri, prod._version) == (1, "art://ckpt:v1", 1)
    assert isinstance(prod._version, int)
    latest = ModelArtifact.from_uri("art://ckpt")
    assert (latest.step, latest.uri) == (2, "art://ckpt:v2")
    assert ModelArtifact.load(tracked_artifact="art://ckpt:v2").uri == "art://ckpt:v2"
    assert used_artifacts() == ["art://ckpt:v1", "art://ckpt:v2"]
    assert Path(prod.path).is_relative_to(tmp_path / "registry")
    with pytest.raises(ArtifactError, match=r"is the registry's copy of art://ckpt:v1"):
        prod.save()  # would rewrite a published version in place
    prod.path = tmp_path / "copy"
    prod.save(name="ckpt-copy")
    assert registry.resolve("ckpt-copy").inputs == ["art://ckpt:v1", "art://ckpt:v2"]


def test_from_uri_bad_references(registry: ArtifactRegistry, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="'nope'"):
        Artifact.from_uri("art://nope:v1")
    with pytest.raises(InvalidReferenceError, match="must start with 'art://'"):
        Artifact.from_uri("s3://bucket/x")
    Artifact(path=tmp_path / "a").save(name="a")
    with pytest.raises(ArtifactError, match="names a file inside an artifact"):
        Artifact.from_uri("art://a:v1/metadata.json")
    with pytest.raises(RegistryError, match="has no alias 'gone'"):
        Artifact.from_uri("art://a:gone")
    with pytest.raises(ArtifactError, match="no active lineage tracker"):
        Artifact.load(tracked_artifact="team/proj/a:v1")


def test_registry_tracker_and_init_publish_once(tmp_path: Path, registry: ArtifactRegistry) -> None:
    set_lineage_tracker(RegistryTracker())  # the kit's registry: publishing again would duplicate
    Artifact(path=tmp_path / "a").save(name="once")
    entry = registry.get("once")
    assert entry is not None and [v.version for v in entry.versions] == [1]

    other = ArtifactRegistry(tmp_path / "other")
    set_lineage_tracker(RegistryTracker(other))  # another registry: both record it
    art = Artifact(path=tmp_path / "b")
    art.save(name="twice")
    assert registry.resolve("twice").version == other.resolve("twice").version == 1
    assert art.tracking is not None and art.tracking.artifact_id == "art://twice:v1"
    assert art.tracking.model_extra is not None
    assert art.tracking.model_extra["tracker"]["url"] == other.resolve("twice").url


def test_registry_tracker_without_init(tmp_path: Path) -> None:
    reg = ArtifactRegistry(tmp_path / "reg")
    set_lineage_tracker(RegistryTracker(reg))
    art = ModelArtifact(path=tmp_path / "m", step=1)
    art.save(name="solo")
    assert art.uri == "art://solo:v1" and reg.resolve("solo").metadata["step"] == 1
    assert ModelArtifact.load(tmp_path / "m").uri == "art://solo:v1"


# -- the pipe protocol between processes -----------------------------------------------------------
STEP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import nemotron.kit as kit
    from nemotron.kit import Artifact, ModelArtifact, print_step_complete

    root, out, name, first = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    kit.init(root=root)
    print("a log line on stdout before the JSON")
    if first:
        art = Artifact(path=out, metadata={"rows": 3})
    else:
        upstream = Artifact.load()  # the previous step's JSON on stdin
        art = ModelArtifact(path=out, step=int(upstream.metrics.get("step", 0)) + 1)
    art.save(name=name)
    print_step_complete(data=art, title=name)
    """
)


def run_step(script: Path, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *args], text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def test_three_steps_across_processes_through_pipes(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text(STEP)
    root = str(tmp_path / "registry")
    p1 = run_step(script, root, str(tmp_path / "s1"), "pipe/raw", "1")
    p2 = run_step(script, root, str(tmp_path / "s2"), "pipe/model", "0", stdin=p1.stdout)
    assert p1.stdout is not None
    p1.stdout.close()  # p2 owns it now
    p3 = run_step(script, root, str(tmp_path / "s3"), "pipe/final", "0", stdin=p2.stdout)
    assert p2.stdout is not None
    p2.stdout.close()
    out3, err3 = p3.communicate(timeout=120)
    _, err1 = p1.communicate(timeout=120)
    _, err2 = p2.communicate(timeout=120)
    assert (p1.returncode, p2.returncode, p3.returncode) == (0, 0, 0), (err1, err2, err3)
    last = json.loads(out3.strip().splitlines()[-1])
    assert last == {
        "data": {
            "path": str(tmp_path / "s3"),
            "type": "ModelArtifact",
            "uri": "art://pipe/final:v1",
        }
    }
    assert "art://pipe/model:v1" in err2 and "pipe/model" in err2  # the panel, on stderr
    registry = ArtifactRegistry(root)
    assert registry.resolve("pipe/model").inputs == ["art://pipe/raw:v1"]
    assert registry.resolve("pipe/final").metadata["step"] == 2
    assert registry.lineage("pipe/final").upstream() == ["art://pipe/model:v1", "art://pipe/raw:v1"]


PRINT = textwrap.dedent(
    """
    import sys
    from nemotron.kit import ModelArtifact, print_step_complete
    art = ModelArtifact(path=sys.argv[1], step=7, final_loss=0.25)
    print_step_complete({"model": art}, title="Training done")
    """
)


def test_print_step_complete_json_on_a_pipe_nothing_on_a_tty(tmp_path: Path) -> None:
    script = tmp_path / "print.py"
    script.write_text(PRINT)
    piped = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "m")], capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(piped.stdout) == {
        "model": {"path": str(tmp_path / "m"), "type": "ModelArtifact", "uri": None}
    }
    assert "Training done" in piped.stderr and "step=7.00" in piped.stderr
    assert "final_loss=0.25" in piped.stderr and "(ModelArtifact)" in piped.stderr

    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "m")], stdout=secondary,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.close(secondary)
        _, err = proc.communicate(timeout=120)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert proc.returncode == 0, err
    assert seen == b""  # nothing on a terminal's stdout
    assert "Training done" in err and "art://" in err


def test_load_from_a_terminal_stdin_is_one_error(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from nemotron.kit import Artifact\n"
             "try:\n    Artifact.load()\nexcept Exception as e:\n    print(type(e).__name__, e)"],
            stdin=secondary, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        os.close(secondary)
        os.close(primary)
    assert proc.stdout == (
        "ArtifactError Artifact.load() got no path and stdin is a terminal: pass a path, or pipe"
        " a step's output in (python step1.py | python step2.py)\n"
    )


def test_stdin_forms_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = ModelArtifact(path=tmp_path / "m", step=3)
    model.save()
    data = Artifact(path=tmp_path / "d")
    data.save()

    def piped(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    piped(model.to_json())
    assert ModelArtifact.load() == model
    piped(json.dumps({"model": json.loads(model.to_json()), "data": json.loads(data.to_json())}))
    assert Artifact.load(key="data") == data
    assert Artifact.load(key="model") == model  # stdin was read once; both come from it
    assert ModelArtifact.load() == model and Artifact.load() == data  # the one of that type
    with pytest.raises(ArtifactError, match=r"stdin has no artifact 'x'; it holds model, data"):
        Artifact.load(key="x")
    entry = json.loads(model.to_json())
    piped(json.dumps({"a": entry, "b": entry}))
    with pytest.raises(ArtifactError) as several:
        ModelArtifact.load()
    assert str(several.value) == (
        "stdin holds several artifacts (a, b): pass key=, e.g. Artifact.load(key='a')"
    )
    for text, message in (
        ("not json at all", r"stdin is not artifact JSON: expected \{\"path\": \.\.\.\}"),
        ("", "stdin is not artifact JSON"),
        ('{"where": "/x"}', 'stdin JSON has no "path"'),
        ('{"path": 3}', 'stdin JSON "path" must be a non-empty string, got 3'),
    ):
        piped(text)
        with pytest.raises(ArtifactError, match=message) as caught:
            Artifact.load()
        assert "\n" not in str(caught.value)
    piped(json.dumps({"path": str(tmp_path / "nothing-here")}))
    with pytest.raises(ArtifactMetadataNotFoundError):
        Artifact.load()
