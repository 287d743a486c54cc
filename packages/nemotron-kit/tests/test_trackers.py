"""Trackers: the entry points, the registry tracker (lineage with no W&B), URIs, bad names.

W&B itself (WandbTracker with a real offline run) is tested in test_wandb_kit.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nemotron.kit import _init
from nemotron.kit.artifact import Artifact, DataBlendsArtifact, InputDatasetInfo, ModelArtifact
from nemotron.kit.exceptions import KitError
from nemotron.kit.trackers import (
    NoOpTracker,
    RegistryTracker,
    TrackerError,
    TrackerNotFoundError,
    WandbTracker,
    current_run_id,
    get_lineage_tracker,
    load_tracker,
    record_used_artifact,
    reset_used_artifacts,
    set_lineage_tracker,
    to_wandb_uri,
    tokenizer_to_uri,
    tracker_names,
    used_artifacts,
)
from nemotron.registry import ArtifactRegistry, RegistryError


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)
    yield
    _init.reset()
    reset_used_artifacts()
    set_lineage_tracker(None)


def test_entry_points_load_every_tracker(tmp_path: Path) -> None:
    assert {"noop", "registry", "wandb"} <= set(tracker_names())
    assert isinstance(load_tracker("noop"), NoOpTracker)
    registry = ArtifactRegistry(tmp_path)
    tracker = load_tracker("registry", registry=registry)
    assert isinstance(tracker, RegistryTracker) and tracker.registry is registry
    assert isinstance(load_tracker("wandb"), WandbTracker)


def test_unknown_tracker_is_one_line() -> None:
    with pytest.raises(TrackerNotFoundError) as caught:
        load_tracker("wandbb")
    installed = ", ".join(tracker_names())
    assert (
        str(caught.value)
        == f"unknown tracker 'wandbb' (installed: {installed}). Did you mean 'wandb'?"
    )
    assert isinstance(caught.value, KitError) and isinstance(caught.value, LookupError)
    with pytest.raises(
        TrackerNotFoundError, match=r"^unknown tracker 'mlflow' \(installed: .*\)\.$"
    ):
        load_tracker("mlflow")


def test_set_and_get() -> None:
    assert get_lineage_tracker() is None
    noop = NoOpTracker()
    set_lineage_tracker(noop)
    assert get_lineage_tracker() is noop
    set_lineage_tracker(None)
    assert get_lineage_tracker() is None


def test_noop_tracker(tmp_path: Path) -> None:
    noop = NoOpTracker()
    assert not noop.is_active() and noop.get_run_id() is None
    art = Artifact(path=tmp_path)
    assert noop.log_artifact(art, "x", ["art://a:v1"]) == {
        "artifact_id": None, "artifact_type": "Artifact", "run_id": None, "url": None,
        "used_artifacts": [],
    }  # fmt: skip
    with pytest.raises(TrackerError, match="NoOpTracker cannot resolve 'a:v1'"):
        noop.use_artifact("a:v1", "model")
    set_lineage_tracker(noop)  # inactive: save writes metadata.json only
    art.save()
    assert art.tracking is None and art.uri is None


def test_registry_tracker_publishes_with_lineage(tmp_path: Path) -> None:
    registry = ArtifactRegistry(tmp_path / "registry")
    tracker = RegistryTracker(registry)
    raw = Artifact(path=tmp_path / "raw", metadata={"rows": 3})
    raw.save()
    first = tracker.log_artifact(raw, "raw", [])
    assert first == {
        "artifact_id": "art://raw:v1", "artifact_type": "Artifact", "run_id": "local",
        "url": registry.resolve("raw").url, "used_artifacts": [], "source_uris": [],
    }  # fmt: skip
    registry.alias("raw", "prod", 1)
    local = tracker.use_artifact("art://raw:prod", "artifact")
    assert local == Path(registry.resolve("raw", 1).url[len("file://") :])
    assert (local / "metadata.json").is_file()
    assert tracker.use_artifact("raw:v1/metadata.json", "artifact") == local / "metadata.json"
    assert used_artifacts() == ["art://raw:v1"]  # the resolved version, once

    blend = DataBlendsArtifact(
        path=tmp_path / "blend" / "blend.json", total_tokens=5,
        source_datasets=[InputDatasetInfo(uri="hf://org/web"), "/data/local"],
        tokenizer_uri="https://huggingface.co/org/tok", producer="job-7",
    )  # fmt: skip
    blend.save()
    info = tracker.log_artifact(blend, "nano3/blend", used_artifacts())
    assert info["artifact_id"] == "art://nano3/blend:v1" and info["run_id"] == "job-7"
    assert info["used_artifacts"] == ["art://raw:v1"]
    assert info["source_uris"] == [
        "hf://org/web", "file:///data/local", "https://huggingface.co/org/tok",
    ]  # fmt: skip
    version = registry.resolve("nano3/blend")
    assert version.producer == "job-7" and set(version.files) == {"metadata.json"}
    assert registry.lineage("nano3/blend").upstream()[0] == "art://raw:v1"
    with pytest.raises(RegistryError, match="'missing'"):
        tracker.use_artifact("art://missing", "artifact")


def test_registry_tracker_defaults_to_the_kit_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEMOTRON_REGISTRY", raising=False)
    tracker = RegistryTracker()
    with pytest.raises(RegistryError):  # no init() and no $NEMOTRON_REGISTRY
        _ = tracker.registry
    config = _init.init(root=tmp_path / "kit")
    assert tracker.registry is config.registry
    model = ModelArtifact(path=tmp_path / "m", step=2)
    model.save(name="m")  # published once, by the kit (the tracker names the same registry)
    set_lineage_tracker(tracker)
    model.save(name="m")
    entry = config.registry.get("m")
    assert entry is not None and [v.version for v in entry.versions] == [1, 2]


def test_run_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NRUN_EXPERIMENT_ID", "NRUN_TASK_NAME", "SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID",
                "NEMO_EXPERIMENT_ID"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    assert current_run_id() == "local" == RegistryTracker().get_run_id()
    monkeypatch.setenv("NEMO_EXPERIMENT_ID", "nemo-1")
    assert current_run_id() == "nemo-1"
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert current_run_id() == "slurm-4242"
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert current_run_id() == "slurm-4242_3"
    monkeypatch.setenv("NRUN_EXPERIMENT_ID", "exp-9")
    assert current_run_id() == "exp-9"
    monkeypatch.setenv("NRUN_TASK_NAME", "train")
    assert current_run_id() == "exp-9/train"


def test_saved_artifacts_carry_the_run_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NRUN_EXPERIMENT_ID", "exp-1")
    monkeypatch.setenv("NRUN_TASK_NAME", "prep")
    registry = _init.init(root=tmp_path / "reg").registry
    art = Artifact(path=tmp_path / "a")
    art.save(name="a")
    assert art.producer == "exp-1/prep" == registry.resolve("a").producer


def test_used_artifacts_are_kept_once_in_order() -> None:
    for uri in ("art://b:v1", "art://a:v2", "art://b:v1"):
        record_used_artifact(uri)
    assert used_artifacts() == ["art://b:v1", "art://a:v2"]
    reset_used_artifacts()
    assert used_artifacts() == []


def test_to_wandb_uri() -> None:
    assert (
        to_wandb_uri("hf://nvidia/Nemotron-CC")
        == "https://huggingface.co/datasets/nvidia/Nemotron-CC"
    )
    assert to_wandb_uri("hf://datasets/org/x") == "https://huggingface.co/datasets/org/x"
    assert to_wandb_uri("hf://models/org/m") == "https://huggingface.co/org/m"
    for same in ("s3://b/k", "gs://b/k", "https://x.org/a", "file:///abs/p"):
        assert to_wandb_uri(same) == same
    assert to_wandb_uri("/data/x") == "file:///data/x"
    assert to_wandb_uri("rel/x") == (Path.cwd() / "rel" / "x").as_uri()


def test_tokenizer_to_uri(tmp_path: Path) -> None:
    assert (
        tokenizer_to_uri("meta-llama/Llama-3.2-1B")
        == "https://huggingface.co/meta-llama/Llama-3.2-1B"
    )
    assert (
        tokenizer_to_uri("org/m", revision="abc123") == "https://huggingface.co/org/m/tree/abc123"
    )
    assert tokenizer_to_uri("gpt2") == "https://huggingface.co/gpt2"
    assert tokenizer_to_uri("/models/tok") == "file:///models/tok"
    assert tokenizer_to_uri(str(tmp_path)) == tmp_path.resolve().as_uri()
    assert tokenizer_to_uri("./tok/v1") == (Path.cwd() / "tok" / "v1").as_uri()
    assert (
        tokenizer_to_uri("org/name with space") == "https://huggingface.co/org/name%20with%20space"
    )


def test_missing_wandb_names_the_pip_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['wandb'] = None\n"
        "from nemotron.kit.trackers import WandbTracker, load_tracker\n"
        "from nemotron.kit.wandb import WandbConfig, init_wandb_if_configured, finish_wandb\n"
        "finish_wandb()\n"  # no wandb: nothing to finish
        "for make in (WandbTracker, lambda: load_tracker('wandb'),\n"
        "             lambda: init_wandb_if_configured(WandbConfig(project='p'))):\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as exc:\n"
        "        print(type(exc).__name__, exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.splitlines() == [
        "TrackerNotInstalledError WandbTracker needs wandb; pip install 'nemotron-kit[wandb]'",
        "TrackerNotInstalledError WandbTracker needs wandb; pip install 'nemotron-kit[wandb]'",
        "TrackerNotInstalledError W&B tracking needs wandb; pip install 'nemotron-kit[wandb]'",
    ]
