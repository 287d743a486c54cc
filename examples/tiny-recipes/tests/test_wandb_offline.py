"""W&B offline, inspected: with `WANDB_PROJECT` set, each step is a W&B run logging its artifact.

Real processes, `WANDB_MODE=offline`, every W&B folder under one temp dir, no API key: nothing
goes to the network. The runs' `.wandb` logs are read back with `nemotron.registry.testing`, so
the test checks what W&B would receive when they are synced. Offline, W&B cannot `use` an input
artifact: the kit's `WandbTracker` records the `art://` inputs in the logged artifact's metadata.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nemotron.registry import ArtifactRegistry
from nemotron.registry.testing import offline_run_records, records_of, wandb_offline_env

PACKAGE = "nemotron.recipes.tiny"


def wandb_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NRUN_", "NEMOTRON_", "WANDB_"))
    }
    env.update(wandb_offline_env(tmp / "wandb-home"))
    del env["WANDB_SILENT"]  # the steps' stderr is checked for W&B's "saved locally" line
    env.update(
        NEMOTRON_REGISTRY=str(tmp / "registry"),
        NEMOTRON_CACHE_DIR=str(tmp / "cache"),
        **extra,
    )
    return env


def runs(tmp: Path) -> dict[str, list[Any]]:
    """The records of each offline run under `tmp`, by the step its tags name."""
    found: dict[str, list[Any]] = {}
    for run_dir in sorted((tmp / "wandb-home" / "wandb").glob("offline-run-*")):
        records = offline_run_records(run_dir)
        tags = {t for r in records_of(records, "run") for t in r.tags}
        assert "tiny" in tags, tags
        (step,) = tags - {"tiny"}
        found[step] = records
    return found


def config_of(records: list[Any]) -> dict[str, Any]:
    return {
        item.key: json.loads(item.value_json)
        for config in records_of(records, "config")
        for item in config.update
    }


def test_tokenize_piped_to_blend_logs_both_artifacts_with_lineage(tmp_path: Path) -> None:
    env = wandb_env(tmp_path, WANDB_PROJECT="tiny-test", WANDB_ENTITY="tiny-team")
    with (tmp_path / "tokenize.err").open("w") as tok_err:
        tokenize = subprocess.Popen(
            [sys.executable, "-m", f"{PACKAGE}.tokenize_data"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=tok_err,
        )
        assert tokenize.stdout is not None
        blend = subprocess.run(
            [sys.executable, "-m", f"{PACKAGE}.blend"],
            cwd=tmp_path,
            env=env,
            stdin=tokenize.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        tokenize.stdout.close()
        assert tokenize.wait(timeout=60) == 0, (tmp_path / "tokenize.err").read_text()
    assert blend.returncode == 0, blend.stderr
    for err in (blend.stderr, (tmp_path / "tokenize.err").read_text()):
        assert "Traceback" not in err and "wandb: Run data is saved locally" in err
    # W&B kept stdout for the step's JSON
    assert json.loads(blend.stdout)["data"]["uri"] == "art://tiny-blends:v1"

    found = runs(tmp_path)
    assert sorted(found) == ["blend", "tokenize"]
    registry = ArtifactRegistry(tmp_path / "registry")
    for step, name in (("tokenize", "tiny-tokens"), ("blend", "tiny-blends")):
        records = found[step]
        run = records_of(records, "run")[0]
        assert (run.project, run.entity) == ("tiny-test", "tiny-team")
        assert [e.exit_code for e in records_of(records, "exit")] == [0]
        assert config_of(records)["name"] == name
        assert records_of(records, "use_artifact") == []  # offline: inputs are not "used"
        (art,) = records_of(records, "artifact")
        assert (art.name, art.project, art.entity) == (name, "tiny-test", "tiny-team")
        assert list(art.aliases) == ["latest"]
        # the registry still has the version, its producer the W&B run
        assert registry.resolve(name, 1).producer == run.run_id

    tokens_meta = json.loads(records_of(found["tokenize"], "artifact")[0].metadata)
    assert tokens_meta["type"] == "PretrainDataArtifact"
    assert tokens_meta["used_artifacts"] == []
    corpus = sorted(Path(u).name for u in tokens_meta["source_uris"])
    assert corpus == ["fables.txt", "seasons.txt", "workshop.txt"]

    (blends,) = records_of(found["blend"], "artifact")
    meta = json.loads(blends.metadata)
    assert meta["type"] == blends.type == "PretrainBlendsArtifact"
    assert meta["used_artifacts"] == ["art://tiny-tokens:v1"]  # the piped input, pinned
    assert set(meta["source_uris"]) == {"art://tiny-tokens:v1"}  # the blend's sources
    assert meta["total_tokens"] == tokens_meta["total_tokens"]
    staged = {e.path: e for e in blends.manifest.contents}
    assert staged["blend.json"].ref == ""  # uploaded, the same file the registry has
    shipped = (registry.download("tiny-blends", 1) / "blend.json").read_text()
    assert Path(staged["blend.json"].local_path).read_text() == shipped
    assert json.loads(shipped)["data_uri"] == "art://tiny-tokens:v1"
    assert registry.resolve("tiny-blends", 1).inputs == ["art://tiny-tokens:v1"]
    assert registry.lineage("tiny-blends", 1).upstream()[0] == "art://tiny-tokens:v1"


def test_a_failed_step_finishes_its_run_as_failed(tmp_path: Path) -> None:
    env = wandb_env(tmp_path, WANDB_PROJECT="tiny-test")
    proc = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.blend"],  # nothing piped in
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("blend.py: error: no input PretrainDataArtifact")
    )
    assert "Traceback" not in proc.stderr
    records = runs(tmp_path)["blend"]
    assert [e.exit_code for e in records_of(records, "exit")] == [1]
    assert records_of(records, "artifact") == []
    root = tmp_path / "registry"
    assert not root.exists() or ArtifactRegistry(root).list() == []


def test_without_wandb_installed_the_step_runs_untracked(tmp_path: Path) -> None:
    env = wandb_env(tmp_path, WANDB_PROJECT="tiny-test")
    no_wandb = (
        "import sys; sys.modules['wandb'] = None\n"  # `import wandb` raises ImportError
        f"from {PACKAGE}.tokenize_data import main\nmain()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", no_wandb],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wandb:" not in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["data"]["uri"] == "art://tiny-tokens:v1"
    assert not (tmp_path / "wandb-home" / "wandb").exists()
    assert ArtifactRegistry(tmp_path / "registry").resolve("tiny-tokens", 1).producer == "local"
