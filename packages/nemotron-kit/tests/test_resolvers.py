"""`${art:…}` against a real registry; rank 0 answering for a second real process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

import nemotron.kit as kit
from nemotron.kit import _init
from nemotron.kit.exceptions import ConfigError, RegistryError
from nemotron.kit.resolvers import (
    _is_artifact_reference,
    clear_artifact_cache,
    register_resolvers,
    register_resolvers_from_config,
)
from nemotron.kit.trackers import reset_used_artifacts, used_artifacts
from nemotron.kit.train_script import omegaconf_to_dataclass
from nemotron.registry import ArtifactRegistry

_ENV_PREFIXES = ("NEMOTRON_", "NRUN_", "SLURM_", "TORCHELASTIC_", "NEMO_RUN_DIR")
_ENV_NAMES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    clear_artifact_cache()
    reset_used_artifacts()
    yield
    clear_artifact_cache()
    reset_used_artifacts()
    _init.reset()
    OmegaConf.clear_resolver("art")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real registry with `blend` v1 and v2 (metadata in the registry and in metadata.json)."""
    base = tmp_path_factory.mktemp("published")
    reg = ArtifactRegistry(str(base / "registry"))
    data = base / "blend"
    (data / "sub").mkdir(parents=True)
    (data / "blend.json").write_text('{"weights": [1]}')
    (data / "sub" / "part.txt").write_text("x")
    (data / "metadata.json").write_text(
        json.dumps({"type": "DataBlendsArtifact", "total_tokens": 100, "path": "/was/here"})
    )
    reg.publish("blend", data, metadata={"pack_size": 4096, "nested": {"depth": 2}})
    reg.publish("blend", data, metadata={"pack_size": 8192})
    reg.publish("org/model", data / "blend.json", metadata={"type": "ModelArtifact"})
    return base / "registry"


@pytest.fixture
def registry(published: Path) -> ArtifactRegistry:
    """The published registry, opened by `nemotron.kit.init` as a script would."""
    kit.init(root=published)
    return _init.get_registry()


def resolve(value: str) -> Any:
    return OmegaConf.create({"x": value}).x


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value).splitlines()[0]
    return text


# -- fields ----------------------------------------------------------------------------------
def test_every_field(registry: ArtifactRegistry) -> None:
    register_resolvers()
    v1 = registry.download("blend", 1)
    assert resolve("${art:blend:v1,path}") == str(v1)
    assert resolve("${art:blend:1}") == str(v1)  # path is the default field
    assert resolve("${art:blend,version}") == 2
    assert resolve("${art:blend:latest,version}") == 2
    assert resolve("${art:blend:v1,name}") == "blend"
    assert resolve("${art:blend:v1,type}") == "DataBlendsArtifact"
    assert resolve("${art:blend:v1,uri}") == "art://blend:v1"
    assert resolve("${art:blend:v1,qualified_name}") == "blend:v1"
    assert resolve("${art:blend:v1,pack_size}") == 4096
    assert resolve("${art:blend:v1,metadata.total_tokens}") == 100
    assert resolve("${art:blend:v1,nested.depth}") == 2
    assert resolve("${art:blend:v1,metadata.path}") == "/was/here"
    assert resolve("${art:blend:v1,metadata}")["pack_size"] == 4096
    assert resolve("${art:art://blend:v2/sub/part.txt,path}") == str(
        registry.download("blend", 2) / "sub" / "part.txt"
    )
    assert resolve("${art:org/model,type}") == "ModelArtifact"
    assert resolve("${art:blend:v1,path}/blend.json").endswith("@versions/1/blend.json")
    assert used_artifacts() == ["art://blend:v1", "art://blend:v2", "art://org/model:v1"]


def test_logical_names_are_pinned(tmp_path: Path) -> None:
    kit.init(root=tmp_path / "registry")
    registry = _init.get_registry()
    (tmp_path / "ckpt").write_text("weights")
    registry.publish("ckpt", tmp_path / "ckpt")
    registry.publish("org/model", tmp_path / "ckpt")
    uris = register_resolvers({"data": "ckpt", "model": "art://org/model:v1"})
    assert uris == ["art://ckpt:v1", "art://org/model:v1"]
    registry.publish("ckpt", tmp_path / "ckpt")  # v2 appears after the run pinned v1
    assert resolve("${art:data,version}") == 1
    assert resolve("${art:data}") == str(registry.download("ckpt", 1))
    assert resolve("${art:model,name}") == "org/model"
    assert register_resolvers() == []  # idempotent; the names stay
    assert resolve("${art:data,version}") == 1
    assert resolve("${art:ckpt,version}") == 1  # 'latest' means one version per process
    assert resolve("${art:ckpt:v2,version}") == 2
    clear_artifact_cache()
    register_resolvers()
    assert resolve("${art:ckpt,version}") == 2


def test_register_from_config_picks_references(registry: ArtifactRegistry, tmp_path: Path) -> None:
    config = OmegaConf.create(
        {
            "run": {
                "data": "blend:v1",
                "model": "art://org/model",
                "image": "nvcr.io/nvidia/nemo:25.11",
                "executor": "slurm",
                "nodes": 2,
                "tag": "${oc.env:HOME}",
            },
            "recipe": {"path": "${art:data,path}", "pack": "${art:data,pack_size}"},
        }
    )
    assert register_resolvers_from_config(config) == ["art://blend:v1", "art://org/model:v1"]
    resolved = OmegaConf.to_container(config.recipe, resolve=True)
    assert resolved == {"path": str(registry.download("blend", 1)), "pack": 4096}
    file = tmp_path / "train.yaml"
    file.write_text("setup:\n  data: blend:v2\n")
    assert register_resolvers_from_config(str(file), artifacts_key="setup") == ["art://blend:v2"]
    assert register_resolvers_from_config({"other": 1}) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DataBlendsArtifact-pretrain", True),
        ("ModelArtifact-pretrain:v5", True),
        ("my-model:v5", True),
        ("dataset:latest", True),
        ("nano3/pretrain/data:3", True),
        ("art://anything/at:all", True),
        ("nvcr.io/nvidian/nemo:25.11", False),
        ("ghcr.io/org/image:v1", False),
        ("docker-image:v1", False),
        ("slurm", False),
        ("${art:data}", False),
        ("s3://bucket/x:v1", False),
        (42, False),
    ],
)
def test_artifact_reference_heuristic(value: object, expected: bool) -> None:
    assert _is_artifact_reference(value) is expected


def test_dataclass_gets_resolved_artifacts(registry: ArtifactRegistry) -> None:
    @dataclass
    class Train:
        data: Path
        tokens: int

    config = OmegaConf.create({"data": "${art:blend:v1}", "tokens": "${art:blend:v1,total_tokens}"})
    built = omegaconf_to_dataclass(config, Train)  # registers the resolver itself
    assert built == Train(registry.download("blend", 1), 100)


def test_saved_artifacts_resolve_and_become_lineage(tmp_path: Path) -> None:
    from nemotron.kit import ModelArtifact, PretrainBlendsArtifact

    kit.init(root=tmp_path / "registry")
    (tmp_path / "blends").mkdir()
    PretrainBlendsArtifact(path=tmp_path / "blends", total_tokens=25_000).save(name="blends")
    register_resolvers({"data": "blends"})
    config = OmegaConf.create(
        {"tokens": "${art:data,total_tokens}", "type": "${art:data,type}", "at": "${art:data}"}
    )
    resolved = OmegaConf.to_container(config, resolve=True)
    assert resolved == {
        "tokens": 25_000,
        "type": "PretrainBlendsArtifact",
        "at": str(_init.get_registry().download("blends", 1)),
    }
    (tmp_path / "model").mkdir()
    ModelArtifact(path=tmp_path / "model", step=1).save(name="model")
    assert _init.get_registry().resolve("model").inputs == ["art://blends:v1"]


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "error", "expected"),
    [
        (
            "${art:blend:v1,pth}",
            ConfigError,
            "${art:blend:v1,pth}: art://blend:v1 has no field 'pth'. Did you mean 'path'? "
            "Available: path, version, name, type, uri, qualified_name, metadata, total_tokens, "
            "pack_size, nested",
        ),
        ("${art:nosuch,path}", RegistryError, "artifact 'nosuch' not found in the registry"),
        ("${art:blend:v9,path}", RegistryError, "artifact 'blend' has no version v9"),
        ("${art:blend:best,path}", RegistryError, "artifact 'blend' has no alias 'best'"),
        ("${art:blend:v0,path}", ConfigError, "invalid version 'v0'"),
        ("${art:bad name,path}", ConfigError, "invalid artifact name 'bad name'"),
        ("${art:../up,path}", ConfigError, "invalid art:// URI 'art://../up'"),
        ("${art:a,b,c}", ConfigError, "${art:a,b,c}: expected ${art:name[:version][,field]}"),
        ("${art:}", ConfigError, "${art:}: expected ${art:name[:version][,field]}"),
        ("${art:blend:v1/none.txt,path}", ConfigError, "art://blend:v1 has no file 'none.txt'"),
    ],
)
def test_bad_references_are_one_clear_error(
    registry: ArtifactRegistry, value: str, error: type[Exception], expected: str
) -> None:
    register_resolvers()
    with pytest.raises(Exception) as exc:
        resolve(value)
    cause: BaseException | None = exc.value
    while cause is not None and not isinstance(cause, error):
        cause = cause.__context__
    assert cause is not None, exc.value
    assert "\n" not in str(cause) and expected in str(cause)


def test_unknown_logical_name_suggests(registry: ArtifactRegistry) -> None:
    register_resolvers({"data": "blend"})
    with pytest.raises(Exception, match="Did you mean 'data'"):
        resolve("${art:dat,path}")

    @dataclass
    class Train:
        path: str

    with pytest.raises(ConfigError) as exc:
        omegaconf_to_dataclass(OmegaConf.create({"path": "${art:dta,path}"}), Train)
    assert str(exc.value) == (
        "cannot resolve 'path': ${art:dta,path}: 'dta' is neither a name given to "
        "register_resolvers nor an artifact in the registry. Did you mean 'data'?"
    )


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: register_resolvers({"data": "nosuch"}), "artifact 'nosuch' not found"),
        (lambda: register_resolvers({"data": 3}), "artifacts['data'] must be a reference"),  # type: ignore[dict-item]
        (lambda: register_resolvers({"": "blend"}), "invalid artifact name ''"),
        (lambda: register_resolvers({"d": "bad name"}), "artifacts['d']: invalid art:// URI"),
        (lambda: register_resolvers(mode="later"), "unknown resolver mode 'later'"),  # type: ignore[arg-type]
    ],
)
def test_bad_registration(registry: ArtifactRegistry, call: Any, expected: str) -> None:
    with pytest.raises((ConfigError, RegistryError)) as exc:
        call()
    assert "\n" not in str(exc.value) and expected in str(exc.value)


def test_replace_false_refuses_a_second_registration(registry: ArtifactRegistry) -> None:
    register_resolvers()
    with pytest.raises(ConfigError, match="already registered"):
        register_resolvers(replace=False)


def test_no_registry_configured() -> None:
    register_resolvers()
    with pytest.raises(Exception) as exc:
        resolve("${art:blend,path}")
    assert "no artifact registry is configured" in str(exc.value.__context__ or exc.value)


def test_env_registry_is_used(registry: ArtifactRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    root = registry.root
    _init.reset()
    monkeypatch.setenv("NEMOTRON_REGISTRY", root)
    register_resolvers()
    assert resolve("${art:blend,version}") == 2


# -- distributed: rank 0 answers, per job ----------------------------------------------------
RANK_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from omegaconf import OmegaConf
    import nemotron.kit as kit
    from nemotron.kit.resolvers import register_resolvers

    if os.environ.get("TEST_REGISTRY_ROOT"):
        kit.init(root=os.environ["TEST_REGISTRY_ROOT"])
    try:
        uris = register_resolvers({"data": os.environ.get("TEST_REF", "blend")})
        config = OmegaConf.create({
            "path": "${art:data,path}",
            "version": "${art:data,version}",
            "type": "${art:data,type}",
            "tokens": "${art:blend:v1,total_tokens}",
        })
        print(json.dumps({"uris": uris, **OmegaConf.to_container(config, resolve=True)}))
    except Exception as exc:
        while exc.__context__ is not None and "raised while resolving" in str(exc):
            exc = exc.__context__
        print(json.dumps({"error": str(exc)}))
        sys.exit(3)
    """
)


def rank_env(tmp_path: Path, rank: int, job: str, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not (k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES)
    }
    env.update(
        WORLD_SIZE="2",
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        TORCHELASTIC_RUN_ID=job,
        NEMOTRON_RESOLVER_DIR=str(tmp_path / "shared"),
        **extra,
    )
    return env


def start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
    out, err = proc.communicate(timeout=120)
    lines = out.strip().splitlines()
    assert lines, err
    return proc.returncode, json.loads(lines[-1])


def test_rank_1_reads_rank_0s_answers_and_another_job_does_not(
    registry: ArtifactRegistry, tmp_path: Path
) -> None:
    # rank 1 starts first, has no registry at all, and waits for rank 0
    follower = start(tmp_path, rank_env(tmp_path, 1, "job-a"))
    leader = start(tmp_path, rank_env(tmp_path, 0, "job-a", TEST_REGISTRY_ROOT=registry.root))
    code0, out0 = finish(leader)
    code1, out1 = finish(follower)
    assert code0 == 0 and code1 == 0, (out0, out1)
    assert (
        out1
        == out0
        == {
            "uris": ["art://blend:v2"],
            "path": str(registry.download("blend", 2)),
            "version": 2,
            "type": "DataBlendsArtifact",
            "tokens": 100,
        }
    )

    shared = tmp_path / "shared"
    (job,) = list(shared.iterdir())
    assert stat.S_IMODE(job.stat().st_mode) == 0o700
    answers = list(job.iterdir())
    assert answers and all(stat.S_IMODE(a.stat().st_mode) == 0o600 for a in answers)
    assert not [a for a in answers if a.name.endswith(".tmp")]

    # job-b's rank 1 must not take job-a's answers: with no rank 0 it times out, clearly
    other = start(tmp_path, rank_env(tmp_path, 1, "job-b", NEMOTRON_RESOLVER_TIMEOUT="0.3"))
    code, out = finish(other)
    assert code == 3
    assert out["error"].startswith("waited 0.3s for rank 0 to resolve 'blend'")
    assert "\n" not in out["error"]


def test_rank_0s_error_reaches_rank_1(registry: ArtifactRegistry, tmp_path: Path) -> None:
    extra = {"TEST_REF": "nosuch"}
    follower = start(tmp_path, rank_env(tmp_path, 1, "job-c", **extra))
    leader = start(
        tmp_path, rank_env(tmp_path, 0, "job-c", TEST_REGISTRY_ROOT=registry.root, **extra)
    )
    assert finish(leader) == (3, {"error": "artifact 'nosuch' not found in the registry"})
    assert finish(follower) == (
        3,
        {"error": "rank 0 could not resolve 'nosuch': artifact 'nosuch' not found in the registry"},
    )


def test_job_identity_falls_back_to_master_addr_and_port(
    registry: ArtifactRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError) as exc:
        register_resolvers({"data": "blend"})
    assert "nothing identifies the job" in str(exc.value) and "\n" not in str(exc.value)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    assert register_resolvers({"data": "blend"}) == ["art://blend:v2"]
    base = tmp_path / "tmp" / f"nemotron-resolvers-{os.getuid()}"
    assert stat.S_IMODE(base.stat().st_mode) == 0o700  # node-local: private to this user
    (job,) = list(base.iterdir())
    assert len(list(job.glob("*.json"))) == 1


def test_bad_distributed_environment(
    registry: ArtifactRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMOTRON_RESOLVER_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "j")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE='two' is not an integer"):
        register_resolvers({"data": "blend"})
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="neither RANK nor LOCAL_RANK is set"):
        register_resolvers({"data": "blend"})
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("NEMOTRON_RESOLVER_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="NEMOTRON_RESOLVER_TIMEOUT='soon' is not a number"):
        register_resolvers({"data": "blend"})
