"""W&B offline: WandbTracker and nemotron.kit.wandb in a real run, read back from its `.wandb` log.

WANDB_MODE=offline, every W&B directory under one temp dir, no API key: nothing goes to the
network. wandb reads its environment once per process (until `wandb.teardown()`), so the
environment is set for the whole module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import wandb
from wandb.proto import wandb_internal_pb2 as pb

import nemotron.kit.wandb as kit_wandb
from nemotron.kit import _init
from nemotron.kit.artifact import Artifact, DataBlendsArtifact, InputDatasetInfo, ModelArtifact
from nemotron.kit.trackers import (
    TrackerError,
    WandbTracker,
    reset_used_artifacts,
    set_lineage_tracker,
)
from nemotron.kit.wandb import (
    WandbConfig,
    add_wandb_tags,
    finish_wandb,
    init_wandb_if_configured,
    log_wandb_config,
)
from nemotron.registry.testing import (
    WANDB_CLEARED,
    offline_run_records,
    records_of,
    wandb_offline_env,
)


@pytest.fixture(scope="module", autouse=True)
def wandb_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("wandb")
    wandb.teardown()
    with pytest.MonkeyPatch.context() as mp:
        for var in WANDB_CLEARED:
            mp.delenv(var, raising=False)
        for var in ("NRUN_EXPERIMENT_ID", "NRUN_TASK_NAME", "NEMO_EXPERIMENT_ID"):
            mp.delenv(var, raising=False)
        for var, value in wandb_offline_env(base).items():
            mp.setenv(var, value)
        yield base
        if wandb.run is not None:
            wandb.run.finish()
        wandb.teardown()


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)
    yield
    if wandb.run is not None:
        wandb.run.finish()
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)


def finished_log(run_dir: str | Path) -> list[pb.Record]:
    return offline_run_records(run_dir)


def of_kind(records: list[pb.Record], kind: str) -> list[Any]:
    return records_of(records, kind)


def contents(art: pb.ArtifactRecord) -> dict[str, str]:
    return {entry.path: entry.ref for entry in art.manifest.contents}


# -- the module named wandb gets the library
def test_the_module_named_wandb_imports_the_real_library(tmp_path: Path) -> None:
    assert kit_wandb._wandb() is wandb and kit_wandb.__name__ == "nemotron.kit.wandb"
    script = (
        "import nemotron.kit.wandb as kw\n"
        "import wandb\n"
        "assert kw._wandb() is wandb and hasattr(wandb, 'init') and hasattr(wandb, 'Artifact')\n"
        "assert wandb.__file__ != kw.__file__\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


def test_without_a_config_or_a_run_nothing_happens() -> None:
    init_wandb_if_configured(None)
    init_wandb_if_configured(WandbConfig(entity="team"))  # no project: disabled
    assert not WandbConfig().enabled and WandbConfig(project="p").enabled
    assert not _init.is_initialized() and wandb.run is None
    add_wandb_tags(["x"])
    log_wandb_config({"a": 1})
    finish_wandb()
    assert wandb.run is None


@dataclass
class TrainConfig:
    lr: float = 1e-3
    out: Path = Path("/ckpt")
    layers: list[int] = field(default_factory=lambda: [1, 2])


def test_init_wandb_if_configured_offline(tmp_path: Path) -> None:
    cfg = WandbConfig(project="proj", entity="team", run_name="r1", tags=("a",), notes="n")
    init_wandb_if_configured(cfg, job_type="training", tags=["b", "a"])
    config = _init.get_config()
    assert config is not None and config.backend == "wandb"
    assert (config.wandb_project, config.wandb_entity) == ("proj", "team")
    assert config.registry.root == "wandb://team/proj"
    run = wandb.run
    assert run is not None
    init_wandb_if_configured(cfg)  # a run is active: it is kept
    assert wandb.run is run
    add_wandb_tags(["c", "a"])
    assert tuple(run.tags) == ("a", "b", "c")
    log_wandb_config(TrainConfig())
    with pytest.raises(TypeError, match="log_wandb_config takes a dataclass or a mapping, not int"):
        log_wandb_config(42)

    set_lineage_tracker(WandbTracker())  # the registry logs to W&B already: not twice
    model = ModelArtifact(path=tmp_path / "m", step=7)
    model.save(name="nano3/model")
    assert model.producer == run.id
    assert model.uri is None  # offline: W&B numbers the version when the run is synced
    assert model.tracking is not None and model.tracking.url is not None
    assert "offline_run=" in model.tracking.url
    run_dir = run.settings.sync_dir
    finish_wandb(exit_code=0)
    assert wandb.run is None

    records = finished_log(run_dir)
    last_run = of_kind(records, "run")[-1]
    assert (last_run.display_name, last_run.notes, last_run.job_type) == ("r1", "n", "training")
    assert (last_run.entity, last_run.project, list(last_run.tags)) == (
        "team",
        "proj",
        ["a", "b", "c"],
    )
    updates = {
        u.key: json.loads(u.value_json) for c in of_kind(records, "config") for u in c.update
    }
    assert (updates["lr"], updates["out"], updates["layers"]) == (1e-3, "/ckpt", [1, 2])
    (art,) = of_kind(records, "artifact")
    assert (art.name, art.type, list(art.aliases)) == ("nano3.model", "ModelArtifact", ["latest"])
    meta = json.loads(art.metadata)
    assert (meta["step"], meta["nemotron_name"], meta["nemotron_producer"]) == (
        7,
        "nano3/model",
        run.id,
    )
    assert "metadata" not in meta and "step" not in meta.get("metadata", {})
    assert set(contents(art)) == {"metadata.json"}
    assert [e.exit_code for e in of_kind(records, "exit")] == [0]


def test_wandb_tracker_logs_references_and_inputs_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRUN_EXPERIMENT_ID", "exp/7")
    out = tmp_path / "blend"
    out.mkdir()
    (out / "blend.json").write_text('{"train": [1.0, "/data/a"]}')
    run = wandb.init(project="proj", entity="team", job_type="data-prep")
    set_lineage_tracker(WandbTracker())
    blend = DataBlendsArtifact(
        path=out / "blend.json", total_tokens=1234, total_sequences=10, metadata={"seed": 3},
        source_datasets=[InputDatasetInfo(uri="hf://org/web", split="train"), "s3://b/code"],
        tokenizer_uri="https://huggingface.co/org/tok",
    )  # fmt: skip
    blend.save(name="nano3/pretrain/blend")
    assert blend.producer == run.id and blend.uri is None  # no kit registry: W&B only
    assert blend.tracking is not None
    tracking = blend.tracking.model_dump()
    assert tracking == {
        "artifact_id": "team/proj/nano3.pretrain.blend", "artifact_type": "DataBlendsArtifact",
        "run_id": run.id, "url": None, "used_artifacts": [],
        "source_uris": ["hf://org/web", "s3://b/code", "https://huggingface.co/org/tok"],
        "input_artifact_refs": [],
    }  # fmt: skip
    assert json.loads((out / "metadata.json").read_text())["tracking"] == tracking
    run_dir = run.settings.sync_dir
    run.finish()

    records = finished_log(run_dir)
    (art,) = of_kind(records, "artifact")  # offline, the inputs cannot be used: only the output
    assert (art.name, art.type, art.entity, art.project) == (
        "nano3.pretrain.blend", "DataBlendsArtifact", "team", "proj",
    )  # fmt: skip
    assert sorted(art.aliases) == ["exp-7", "latest"]
    assert contents(art) == {
        "blend.json": "",  # uploaded
        "metadata.json": "",
        # the folder, referenced (W&B lists a file:// folder's files), not uploaded
        "output/blend.json": (out / "blend.json").resolve().as_uri(),
        "output/metadata.json": (out / "metadata.json").resolve().as_uri(),
        "tokenizer": "https://huggingface.co/org/tok",
    }
    staged = {e.path: Path(e.local_path).read_text() for e in art.manifest.contents if not e.ref}
    assert staged["blend.json"] == (out / "blend.json").read_text()
    assert json.loads(staged["metadata.json"])["total_tokens"] == 1234
    meta = json.loads(art.metadata)
    assert (meta["total_tokens"], meta["seed"], meta["type"]) == (1234, 3, "DataBlendsArtifact")
    assert meta["source_uris"] == tracking["source_uris"] and meta["used_artifacts"] == []
    assert (
        meta["source_datasets"][0]
        == InputDatasetInfo(uri="hf://org/web", split="train").model_dump()
    )
    history = {
        i.key or ".".join(i.nested_key): json.loads(i.value_json)
        for h in of_kind(records, "history")
        for i in h.item
    }
    assert (history["total_tokens"], history["seed"]) == (1234, 3)


def test_wandb_tracker_beside_an_fsspec_registry(tmp_path: Path) -> None:
    registry = _init.init(root=tmp_path / "registry").registry
    run = wandb.init(project="proj", entity="team")
    set_lineage_tracker(WandbTracker())
    Artifact(path=tmp_path / "raw", metadata={"rows": 2}).save(name="raw")
    raw = Artifact.from_uri("art://raw:latest")
    model = ModelArtifact(path=tmp_path / "m", step=1)
    model.save(name="nano3/model")
    assert raw.uri == "art://raw:v1" and model.uri == "art://nano3/model:v1"
    assert registry.resolve("nano3/model").inputs == ["art://raw:v1"]
    assert model.tracking is not None and model.tracking.artifact_id == "art://nano3/model:v1"
    extra = model.tracking.model_extra or {}
    assert extra["tracker"]["artifact_id"] == "team/proj/nano3.model"
    assert extra["tracker"]["used_artifacts"] == ["art://raw:v1"]
    run_dir = run.settings.sync_dir
    run.finish()
    arts = of_kind(finished_log(run_dir), "artifact")
    assert [a.name for a in arts] == ["raw", "nano3.model"]
    assert json.loads(arts[1].metadata)["used_artifacts"] == ["art://raw:v1"]


def test_wandb_tracker_refusals(tmp_path: Path) -> None:
    tracker = WandbTracker()
    assert not tracker.is_active() and tracker.get_run_id() is None
    with pytest.raises(TrackerError) as caught:
        tracker.log_artifact(Artifact(path=tmp_path), "x", [])
    assert str(caught.value) == (
        "no active W&B run: call wandb.init() (or init_wandb_if_configured)"
    )
    run = wandb.init(project="proj")
    set_lineage_tracker(tracker)
    with pytest.raises(TrackerError) as offline:
        Artifact.load(tracked_artifact="team/proj/data:v0")
    assert str(offline.value) == (
        "cannot use W&B artifact 'team/proj/data:v0' while W&B is offline: W&B serves artifacts"
        " only online; pass a path or an art:// URI"
    )
    run.finish()


# -- the online branch, on a stand-in for the wandb module (no server here)
class FakeArtifact:
    def __init__(self, name: str, type: str, description: str = "", metadata: Any = None) -> None:
        self.name, self.type, self.metadata = name, type, metadata or {}
        self.files: list[tuple[str, str]] = []
        self.refs: list[tuple[str, str]] = []
        self.entity, self.project, self.version, self.url = "team", "proj", "v3", "https://w/a"

    def add_file(self, local: str, name: str) -> None:
        self.files.append((name, local))

    def add_reference(self, uri: str, name: str, checksum: bool) -> None:
        assert checksum is False
        self.refs.append((name, uri))

    def wait(self) -> FakeArtifact:
        self.name = f"{self.name}:{self.version}"  # W&B's logged name holds the version
        return self


class FakeRun:
    offline, entity, project, id = False, "team", "proj", "run-1"

    def __init__(self) -> None:
        self.used: list[Any] = []
        self.logged: list[tuple[FakeArtifact, list[str]]] = []

    def use_artifact(self, artifact: Any) -> Any:
        self.used.append(artifact)
        return artifact

    def log_artifact(self, artifact: FakeArtifact, aliases: list[str]) -> FakeArtifact:
        self.logged.append((artifact, aliases))
        return artifact


def test_wandb_tracker_online_registers_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "online")
    run, logged_metrics = FakeRun(), []

    def no_such_artifact(path: str) -> None:
        raise ValueError(f"artifact {path} not found")

    fake = SimpleNamespace(
        run=run, Artifact=FakeArtifact, Api=lambda: SimpleNamespace(artifact=no_such_artifact),
        log=logged_metrics.append,
    )  # fmt: skip
    tracker = WandbTracker()
    tracker.wandb = fake
    (tmp_path / "blend.json").write_text("{}")
    blend = DataBlendsArtifact(
        path=tmp_path / "blend.json", total_tokens=5,
        source_datasets=[InputDatasetInfo(uri="hf://org/web", subset="en", weight=0.5)],
        tokenizer_uri="https://huggingface.co/org/tok",
    )  # fmt: skip
    blend.save()
    info = tracker.log_artifact(blend, "blends", ["team/proj/raw:v1", "art://raw:v1"])
    dataset, tokenizer, raw_ref = run.used
    assert (dataset.name, dataset.type) == ("org-web-en", "dataset")
    assert dataset.metadata == {
        "source_uri": "hf://org/web", "raw": True, "weight": 0.5, "subset": "en",
    }  # fmt: skip
    assert dataset.refs == [("data", "https://huggingface.co/datasets/org/web")]
    assert (tokenizer.name, tokenizer.type) == ("org-tok", "tokenizer")
    assert raw_ref == "team/proj/raw:v1"  # a W&B ref is used; the art:// one is metadata only
    ((out, aliases),) = run.logged
    assert aliases == ["latest"] and out.type == "DataBlendsArtifact"
    assert [n for n, _ in out.files] == ["blend.json", "metadata.json"]
    assert out.refs == [("output", tmp_path.resolve().as_uri()), ("tokenizer", blend.tokenizer_uri)]
    assert info["artifact_id"] == "team/proj/blends:v3" and info["url"] == "https://w/a"
    assert info["input_artifact_refs"] == ["team/proj/org-web-en:v3", "team/proj/org-tok:v3"]
    assert logged_metrics == [{"total_tokens": 5.0, "total_sequences": 0.0, "elapsed_sec": 0.0}]
