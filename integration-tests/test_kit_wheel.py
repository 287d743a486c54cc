"""The nemotron-kit wheel with its siblings in an empty venv runs the kit README's Quick Start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

KIT_README = Path(__file__).resolve().parents[1] / "packages" / "nemotron-kit" / "README.md"
SIBLINGS = ("nrun_config", "nrun_exec_local", "nemotron_registry", "nemotron_kit")


def test_kit_wheel_runs_both_quick_start_blocks(wheels: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *(wheels[name] for name in SIBLINGS)], check=True)
    blocks = re.findall(r"```python\n(.*?)```", KIT_README.read_text(), flags=re.S)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for i, code in enumerate(blocks[:3]):
        work = tmp_path / f"block{i}"
        work.mkdir()
        (work / "train.py").write_text(code + ("print(config)\n" if i == 1 else ""))
        done = subprocess.run(
            [python, "train.py", *(["batch_size=8"] if i == 1 else [])],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        if i == 0:
            assert (work / "output" / "data" / "metadata.json").is_file()
        elif i == 1:
            assert done.stdout == "MyConfig(learning_rate=0.0001, batch_size=8)\n"
        else:
            assert done.stdout.endswith("└── art://nano3/data:v1\n"), done.stdout
    found = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('wandb') is None)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == "True\n"  # W&B only with the [wandb] extra


APP_WHEELS = (*SIBLINGS, "nemotron_tiny_recipes", "nemotron_app")


def test_app_wheel_runs_the_main_job(wheels: dict[str, Path], tmp_path: Path) -> None:
    """`pip install nemotron-app` in an empty venv, then the README's main job, as a user has it."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *(wheels[name] for name in APP_WHEELS)], check=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["nemotron", "recipe", "pipe"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    tree = done.stdout[done.stdout.index("Lineage of eval") :]
    for name in ("tiny-eval:v1", "tiny-sft:v1", "tiny-pretrain:v1", "tiny-blends:v1"):
        assert name in tree, tree
    assert "corpus/fables.txt" in tree.replace("\n", "").replace(" ", "").replace("│", "")
    assert (tmp_path / ".nemotron" / "registry" / "tiny-eval").is_dir()  # the default registry
    listed = subprocess.run(
        ["nemotron", "artifact", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert "tiny-tokens" in listed.stdout and "tiny-eval" in listed.stdout
