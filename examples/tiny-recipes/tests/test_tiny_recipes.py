"""The tiny recipe family as real processes: piped, with `${art:…}` configs, and bad inputs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nemotron.registry import ArtifactRegistry

PACKAGE = "nemotron.recipes.tiny"
TINY = Path(__file__).resolve().parents[1] / "src" / "nemotron" / "recipes" / "tiny"
NAMES = ["tiny-tokens", "tiny-blends", "tiny-pretrain", "tiny-sft-data", "tiny-sft", "tiny-eval"]
# (step module, overrides) of the piped chain; small iteration counts keep it a few seconds.
CHAIN = [
    ("tokenize_data", []),
    ("blend", []),
    ("pretrain", ["train.iters=120"]),
    ("sft", ["train.iters=40"]),
    ("eval", []),
]


def step_env(registry: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NRUN_", "NEMOTRON_"))}
    env.pop("WANDB_PROJECT", None)
    if registry is not None:
        env["NEMOTRON_REGISTRY"] = str(registry)
    env["NEMOTRON_CACHE_DIR"] = str(registry or "/nonexistent") + "-cache"
    return env


def run_module(
    cwd: Path, registry: Path | None, module: str, *args: str, stdin: Any = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.{module}", *args],
        cwd=cwd,
        env=step_env(registry),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_script(
    cwd: Path, registry: Path, step: str, config: str, *args: str
) -> subprocess.CompletedProcess[str]:
    script = TINY / f"{'tokenize_data' if step == 'tokenize' else step}.py"
    return subprocess.run(
        [sys.executable, str(script), "--config", str(TINY / "config" / step / config), *args],
        cwd=cwd,
        env=step_env(registry),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], prefix: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """tokenize | blend | pretrain | sft | eval, as real processes joined by OS pipes."""
    work = tmp_path_factory.mktemp("piped")
    registry = work / "registry"
    logs = [(work / f"{m}.err").open("w") for m, _ in CHAIN]
    procs: list[subprocess.Popen[str]] = []
    stdin: Any = subprocess.DEVNULL
    for (module, args), log in zip(CHAIN, logs, strict=True):
        proc = subprocess.Popen(
            [sys.executable, "-m", f"{PACKAGE}.{module}", *args],
            cwd=work,
            env=step_env(registry),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        if procs:
            assert procs[-1].stdout is not None
            procs[-1].stdout.close()  # the next step holds the read end now
        procs.append(proc)
        stdin = proc.stdout
    out, _ = procs[-1].communicate(timeout=180)
    codes = [p.wait(timeout=60) for p in procs]
    for log in logs:
        log.close()
    errors = {m: (work / f"{m}.err").read_text() for m, _ in CHAIN}
    assert codes == [0] * len(CHAIN), errors
    return work, registry, out


def test_piped_chain_publishes_every_step_with_lineage_to_the_corpus(
    piped: tuple[Path, Path, str],
) -> None:
    work, root, out = piped
    assert json.loads(out) == {
        "eval": {
            "path": str(work / "output" / "tiny" / "eval"),
            "type": "TinyEvalArtifact",
            "uri": "art://tiny-eval:v1",
        }
    }
    registry = ArtifactRegistry(root)
    assert sorted(registry.list()) == sorted(NAMES)
    lineage = registry.lineage("tiny-eval", 1)
    upstream = lineage.upstream()
    for name in NAMES[:-1]:
        assert f"art://{name}:v1" in upstream
    corpus = sorted(u.rsplit("/", 1)[1] for u in upstream if "/data/corpus/" in u)
    assert corpus == ["fables.txt", "seasons.txt", "workshop.txt"]
    assert all(u.startswith("file://") for u in upstream if not u.startswith("art://"))
    # each step's direct inputs: a chain, SFT data and model side by side
    inputs = {uri: node.inputs for uri, node in lineage.nodes.items()}
    assert inputs["art://tiny-blends:v1"] == ["art://tiny-tokens:v1"]
    assert inputs["art://tiny-pretrain:v1"][0] == "art://tiny-blends:v1"
    assert set(inputs["art://tiny-sft:v1"]) == {"art://tiny-pretrain:v1", "art://tiny-sft-data:v1"}
    assert inputs["art://tiny-eval:v1"][0] == "art://tiny-sft:v1"

    types = {n: registry.resolve(n, 1).metadata["type"] for n in NAMES}
    assert types == {
        "tiny-tokens": "PretrainDataArtifact",
        "tiny-blends": "PretrainBlendsArtifact",
        "tiny-pretrain": "ModelArtifact",
        "tiny-sft-data": "SFTDataArtifact",
        "tiny-sft": "ModelArtifact",
        "tiny-eval": "TinyEvalArtifact",
    }
    evaluation = registry.resolve("tiny-eval", 1).metadata
    assert evaluation["model_step"] == 120 + 40
    assert 1.0 < evaluation["perplexity"] < 101.0
    blend = json.loads(
        (registry.download("tiny-blends", 1) / "blend.json").read_text(encoding="utf-8")
    )
    assert blend["data_uri"] == "art://tiny-tokens:v1"
    assert sum(blend["weights"].values()) == pytest.approx(1.0)


def test_pretrain_loss_goes_down_and_sft_helps_the_responses(
    piped: tuple[Path, Path, str],
) -> None:
    registry = ArtifactRegistry(piped[1])
    pre = registry.resolve("tiny-pretrain", 1).metadata
    losses = json.loads((registry.download("tiny-pretrain", 1) / "losses.json").read_text())
    assert pre["step"] == len(losses["train"]) == 120
    assert pre["final_loss"] < 0.7 * pre["initial_loss"]
    assert pre["valid_loss"] < pre["initial_valid_loss"]
    sft = registry.resolve("tiny-sft", 1).metadata
    assert sft["valid_loss"] < sft["base_valid_loss"]
    data = registry.resolve("tiny-sft-data", 1).metadata
    assert data["pack_size"] == 256
    assert data["total_sequences"] == 34


def test_same_seed_same_model(piped: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, root, _ = piped
    proc = run_module(
        tmp_path,
        root,
        "pretrain",
        "data_path=${art:tiny-blends:v1,path}",
        "train.iters=120",
        f"output_dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    registry = ArtifactRegistry(root)
    assert registry.resolve("tiny-pretrain", 2).inputs[0] == "art://tiny-blends:v1"
    with (
        np.load(tmp_path / "model.npz") as again,
        np.load(registry.download("tiny-pretrain", 1) / "model.npz") as chained,
    ):
        assert sorted(again.files) == sorted(chained.files)
        for key in chained.files:  # the piped run had the same seed, data and config
            assert np.array_equal(again[key], chained[key]), key
    first = registry.resolve("tiny-pretrain", 1).metadata["final_loss"]
    assert registry.resolve("tiny-pretrain", 2).metadata["final_loss"] == first


def test_the_seed_is_used() -> None:
    from nemotron.recipes.tiny._model import ModelSpec, init_params

    spec = ModelSpec(vocab_size=10, context=2, embed_dim=3, hidden_dim=4)
    a, b, c = (init_params(spec, np.random.default_rng(s)) for s in (1, 1, 2))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["w1"], c["w1"])


def test_script_files_with_art_configs(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    for step in ("tokenize", "blend", "pretrain", "sft", "eval"):
        proc = run_script(tmp_path, registry, step, "tiny.yaml")
        assert proc.returncode == 0, proc.stderr
        printed = json.loads(proc.stdout)
        assert all(entry["uri"].endswith(":v1") for entry in printed.values()), printed
    reg = ArtifactRegistry(registry)
    upstream = reg.lineage("tiny-eval").upstream()
    assert [u for u in upstream if u.startswith("art://")] == [
        "art://tiny-sft:v1",
        "art://tiny-pretrain:v1",
        "art://tiny-sft-data:v1",
        "art://tiny-blends:v1",
        "art://tiny-tokens:v1",
    ]
    pre = reg.resolve("tiny-pretrain").metadata
    assert pre["step"] == 100  # tiny.yaml
    blend = json.loads((reg.download("tiny-blends") / "blend.json").read_text())
    assert blend["weights"] == {"fables": 0.5, "seasons": 0.25, "workshop": 0.25}
    assert blend["data_uri"] == "art://tiny-tokens:v1"


def test_missing_input_artifact_is_one_line_and_publishes_nothing(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    nothing_piped = run_module(tmp_path, registry, "pretrain")
    line = one_error_line(nothing_piped, "pretrain.py: error: no input PretrainBlendsArtifact")
    assert "data_path=" in line
    unknown = run_script(tmp_path, registry, "pretrain", "default.yaml")
    assert "tiny-blends" in one_error_line(unknown, "pretrain.py: error:")
    assert not (tmp_path / "output").exists()
    assert not registry.exists() or ArtifactRegistry(registry).list() == []


def test_no_registry_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    no_registry = run_module(tmp_path, None, "tokenize_data")
    assert "NEMOTRON_REGISTRY" in one_error_line(no_registry, "tokenize_data.py: error:")
    assert not (tmp_path / "output").exists()


def test_entry_point_and_steps_are_declared() -> None:
    points = importlib.metadata.entry_points(group="nemotron.recipes")
    assert [p.value for p in points if p.name == "tiny"] == [f"{PACKAGE}.cli:app"]
    import nemotron.kit as kit

    if not hasattr(kit, "Step"):
        pytest.skip("nemotron.kit.Step is not in this kit yet")
    from nemotron.recipes.tiny.pipeline import STEPS

    assert [s.name for s in STEPS] == ["tokenize", "blend", "pretrain", "sft", "eval"]


def test_cli_has_one_command_per_step_and_runs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("nemotron.kit.cli.recipe", reason="the kit's @recipe is not there yet")
    from nemotron.recipes.tiny.cli import app
    from typer.main import get_command
    from typer.testing import CliRunner

    names = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert names == ["blend", "eval", "pipe", "pretrain", "sft", "tokenize"]
    for key in [k for k in os.environ if k.startswith(("NRUN_", "NEMOTRON_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("NEMOTRON_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for command in (["tokenize", "-c", "tiny"], ["blend", "-c", "tiny", "weights={fables: 1}"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    registry = ArtifactRegistry(tmp_path / "registry")
    assert registry.resolve("tiny-blends").inputs == ["art://tiny-tokens:v1"]
    blend = json.loads((registry.download("tiny-blends") / "blend.json").read_text())
    assert blend["weights"] == {"fables": 1.0}
