"""The README's blocks as a user runs them: each in a fresh interpreter, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SPEC = Path(__file__).resolve().parents[4] / "shared" / "spec" / "nemotron-kit-readme.md"


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def run(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "WANDB_"))}
    env["WANDB_MODE"] = "offline"
    script = cwd / "train.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_quick_start_blocks_are_the_spec_s(tmp_path: Path) -> None:
    ours = blocks(README.read_text(), "python")[:2]
    if not SPEC.exists():  # the spec lives beside the repository (../shared), as in CI
        pytest.fail(f"the kit spec is missing: {SPEC}")
    theirs = blocks(SPEC.read_text(), "python")[:2]
    assert ours[0] == theirs[0].replace('Path("/output/data")', 'Path("output/data")')
    assert ours[1] == theirs[1]


def test_creating_artifacts_block(tmp_path: Path) -> None:
    out = run(blocks(README.read_text(), "python")[0], tmp_path)
    assert out.returncode == 0, out.stderr
    written = (tmp_path / "output" / "data" / "metadata.json").read_text()
    assert '"total_tokens": 25000000000' in written
    assert '"type": "PretrainBlendsArtifact"' in written
    assert '"hf://dataset/name"' in written


def test_loading_config_block(tmp_path: Path) -> None:
    code = blocks(README.read_text(), "python")[1] + "print(config)\n"
    out = run(code, tmp_path, "learning_rate=3e-4", "batch_size=64")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MyConfig(learning_rate=0.0003, batch_size=64)"
    (tmp_path / "config.yaml").write_text("batch_size: 16\n")
    out = run(code, tmp_path)
    assert out.stdout.strip() == "MyConfig(learning_rate=0.0001, batch_size=16)"
    out = run(code, tmp_path, "batch_sise=64")
    assert out.returncode == 2
    assert out.stderr.strip() in README.read_text()
    assert "unknown key 'batch_sise'. Did you mean 'batch_size'?" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_pipeline_block_prints_its_lineage(tmp_path: Path) -> None:
    readme = README.read_text()
    code = blocks(readme, "python")[2]
    found = re.search(r"prints\n\n```\n(.*?)```", readme.split(code, 1)[1], flags=re.S)
    assert found is not None
    expected = found.group(1)
    out = run(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected
