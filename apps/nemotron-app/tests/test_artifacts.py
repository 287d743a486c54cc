"""`nemotron artifact …` on a real local registry, in this process and as real processes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from nemotron.registry import ArtifactRegistry

Run = Callable[..., subprocess.CompletedProcess[str]]
Invoke = Callable[..., Result]


def test_list_shows_every_artifact_with_its_latest_version(
    invoke: Invoke, registry: ArtifactRegistry
) -> None:
    done = invoke("artifact", "list")
    assert done.exit_code == 0, done.output
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    assert set(rows) == {"tiny/raw", "tiny/tokens", "tiny/blend", "tiny/model"}
    assert " v2 " in rows["tiny/tokens"] and "prod→v1" in rows["tiny/tokens"]
    assert "TokensArtifact" in rows["tiny/tokens"]
    assert "ModelArtifact" in rows["tiny/model"]
    assert registry.root in done.stdout


def test_list_with_a_prefix_and_an_empty_registry(
    invoke: Invoke, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    done = invoke("artifact", "list", "tiny/to")
    assert done.exit_code == 0
    assert "tiny/tokens" in done.stdout and "tiny/raw" not in done.stdout
    done = invoke("--registry", str(tmp_path / "empty"), "artifact", "list")
    assert (done.exit_code, done.stdout) == (0, "")
    assert done.stderr.startswith("no artifacts in registry ")
    assert not (tmp_path / "empty").exists()  # reading writes nothing


def test_show_prints_metadata_files_checksums_inputs_and_url(
    invoke: Invoke, registry: ArtifactRegistry
) -> None:
    done = invoke("artifact", "show", "tiny/tokens:v2")
    assert done.exit_code == 0, done.output
    out = done.stdout
    version = registry.resolve("tiny/tokens", 2)
    for text in (
        "art://tiny/tokens:v2",
        "TokensArtifact",
        "2 (18 bytes)",
        "tokens.bin",
        "vocab.json",
        version.files["tokens.bin"].sha256[:16],
        "art://tiny/raw:v1",
        version.url,
        "latest",
    ):
        assert text in out, text
    alias = invoke("artifact", "show", "tiny/tokens:prod")
    assert "art://tiny/tokens:v1" in alias.stdout and "prod" in alias.stdout
    assert "(none: raw source)" in alias.stdout


def test_lineage_walks_back_to_the_raw_sources(invoke: Invoke, registry: ArtifactRegistry) -> None:
    done = invoke("artifact", "lineage", "tiny/model")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tiny/model:v1")
    text = done.stdout
    for node in (
        "tiny/blend:v1",
        "tiny/tokens:v2",
        "tiny/raw:v1",
        "https://example.com/corpus.txt",
    ):
        assert node in text, node
    assert text.index("tiny/blend:v1") < text.index("tiny/tokens:v2") < text.index("tiny/raw:v1")
    assert "(see above)" in text  # raw is an input of both tokens and blend


def test_verify_passes_then_fails_naming_the_changed_file(
    invoke: Invoke, registry: ArtifactRegistry
) -> None:
    done = invoke("artifact", "verify", "tiny/raw")
    assert (done.exit_code, done.stdout) == (0, "art://tiny/raw:v1: ok (2 files)\n")
    version = registry.resolve("tiny/raw")
    Path(version.url.removeprefix("file://"), "corpus.txt").write_text("tampered\n")
    done = invoke("artifact", "verify", "tiny/raw:v1")
    assert done.exit_code == 1
    assert done.stdout == ""
    assert done.stderr == "art://tiny/raw:v1: FAILED (changed: corpus.txt)\n"


def test_alias_points_at_a_version(invoke: Invoke, registry: ArtifactRegistry) -> None:
    done = invoke("artifact", "alias", "tiny/tokens", "v2", "best")
    assert (done.exit_code, done.stdout) == (0, "best → art://tiny/tokens:v2\n")
    assert registry.resolve("tiny/tokens", "best").version == 2
    done = invoke("artifact", "alias", "tiny/tokens", "best", "prod")  # an alias names a version
    assert done.exit_code == 0
    assert registry.resolve("tiny/tokens", "prod").version == 2


def test_publish_a_folder_with_inputs_and_metadata(
    invoke: Invoke, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "scores.json").write_text('{"acc": 0.5}')
    done = invoke(
        "artifact",
        "publish",
        str(folder),
        "--type",
        "EvalArtifact",
        "--name",
        "tiny/eval",
        "--input",
        "art://tiny/model",
        "--input",
        "hf://org/bench",
        "--metadata",
        "acc=0.5",
        "--metadata",
        "split=test",
        "--metadata",
        'tags=["a", "b"]',
    )
    assert (done.exit_code, done.stdout) == (0, "published art://tiny/eval:v1 (1 file, 12 bytes)\n")
    version = registry.resolve("tiny/eval")
    assert version.metadata == {
        "type": "EvalArtifact",
        "acc": 0.5,
        "split": "test",
        "tags": ["a", "b"],
    }
    assert version.inputs == ["art://tiny/model:v1", "hf://org/bench"]
    again = invoke("artifact", "publish", str(folder), "-t", "EvalArtifact", "-n", "tiny/eval")
    assert again.stdout.startswith("published art://tiny/eval:v2 ")


def test_publish_by_reference_copies_nothing(
    invoke: Invoke, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    data = tmp_path / "big.bin"
    data.write_bytes(b"x" * 1000)
    done = invoke("artifact", "publish", str(data), "-t", "Raw", "-n", "big", "--reference")
    assert done.exit_code == 0, done.output
    version = registry.resolve("big")
    assert version.mode == "reference" and version.url == data.as_uri()


def test_registry_option_env_and_default(
    invoke: Invoke,
    registry: ArtifactRegistry,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = tmp_path / "other"
    ArtifactRegistry(other).publish("x", registry.download("tiny/raw"), metadata={"type": "X"})
    assert "│ x " in invoke("--registry", str(other), "artifact", "list").stdout
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(other))
    assert "│ x " in invoke("artifact", "list").stdout
    monkeypatch.delenv("NEMOTRON_REGISTRY")
    done = invoke("artifact", "list")
    assert (
        done.stderr == f"no artifacts in registry '{(home / '.nemotron' / 'registry').as_uri()}'\n"
    )


def test_every_command_as_a_real_process(
    nemotron: Run, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    listed = nemotron("artifact", "list")
    assert listed.returncode == 0, listed.stderr
    assert "tiny/model" in listed.stdout
    shown = nemotron("artifact", "show", "art://tiny/blend:v1")
    assert shown.returncode == 0 and "DataBlendsArtifact" in shown.stdout
    tree = nemotron("artifact", "lineage", "tiny/model:latest")
    assert tree.returncode == 0 and "https://example.com/corpus.txt" in tree.stdout
    assert (
        nemotron("artifact", "verify", "tiny/model").stdout == "art://tiny/model:v1: ok (2 files)\n"
    )
    assert nemotron("artifact", "alias", "tiny/model", "1", "release").returncode == 0
    (tmp_path / "notes.txt").write_text("hi")
    published = nemotron(
        "--registry", registry.root, "artifact", "publish", "notes.txt",
        "-t", "Notes", "-n", "tiny/notes", "-i", "art://tiny/model:release",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert registry.resolve("tiny/notes").inputs == ["art://tiny/model:v1"]


def test_a_relative_registry_is_relative_to_the_working_directory(
    nemotron: Run, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_text("x")
    done = nemotron("--registry", "rel", "artifact", "publish", "f.txt", "-t", "T", "-n", "f")
    assert done.returncode == 0, done.stderr
    assert ArtifactRegistry(tmp_path / "rel").resolve("f").version == 1
