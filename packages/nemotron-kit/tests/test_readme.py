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


RECIPE_SCRIPT = """
import sys
from dataclasses import dataclass
from nemotron.kit.train_script import parse_config_and_overrides


@dataclass
class Train:
    iters: int = 1
    lr: float = 0.1
    data_path: str = ""


cfg = parse_config_and_overrides(Train, config_file=None)
print(f"trained iters={cfg.iters} lr={cfg.lr} data={cfg.data_path}")
"""


def recipe_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The README's recipes.py and config, a train.py, a profile, and a published input."""
    readme = README.read_text()
    (tmp_path / "recipes.py").write_text(blocks(readme, "python")[3])
    (tmp_path / "train.py").write_text(RECIPE_SCRIPT)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "default.yaml").write_text(blocks(readme, "yaml")[0])
    (tmp_path / "config" / "tiny.yaml").write_text(blocks(readme, "yaml")[0])
    (tmp_path / "env.toml").write_text('[cluster]\nexecutor = "local"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "NRUN_"))}
    env.update(NEMOTRON_REGISTRY=str(tmp_path / "registry"), NRUN_HOME=str(tmp_path / "nrun"))
    from nemotron.registry import ArtifactRegistry

    data = tmp_path / "data.txt"
    data.write_text("tokens")
    ArtifactRegistry(str(tmp_path / "registry")).publish("demo-data", data)
    return tmp_path, env


def test_recipe_commands_run_as_the_readme_shows(tmp_path: Path) -> None:
    import shlex

    cwd, env = recipe_project(tmp_path)
    commands = re.findall(r"^python recipes\.py .*$", README.read_text(), flags=re.M)
    assert len(commands) == 3
    outs = []
    for line in commands:
        argv = shlex.split(line)
        done = subprocess.run(
            [sys.executable, *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, (line, done.stderr)
        assert "Traceback" not in done.stderr
        outs.append(done.stdout + done.stderr)
    assert "iters: 5" in outs[0] and "trained" not in outs[0]  # the dry run runs nothing
    assert f"data={cwd / 'registry'}" in outs[1] and "trained iters=5" in outs[1]
    assert "trained iters=5" in outs[2] and "SUCCEEDED" in outs[2]  # an nrun experiment
    jobs = sorted((cwd / ".nemotron" / "jobs").iterdir())
    assert len(jobs) == 2  # the dry run wrote none


def test_pipeline_block_runs_two_steps_as_one_experiment(tmp_path: Path) -> None:
    steps = tmp_path / "demo_steps"
    steps.mkdir()
    (steps / "__init__.py").write_text("")
    (steps / "prep.py").write_text(
        "from pathlib import Path\n"
        "from nemotron.kit import Artifact, print_step_complete\n"
        "Path('prep').mkdir(exist_ok=True)\n"
        "art = Artifact(path=Path('prep').resolve())\n"
        "art.save(name='demo-prep')\n"
        "print_step_complete(data=art)\n"
    )
    (steps / "train.py").write_text(
        "import sys\nfrom pathlib import Path\n"
        "from nemotron.kit import Artifact, print_step_complete\n"
        "data = Artifact.load()\n"
        "Path('model').mkdir(exist_ok=True)\n"
        "model = Artifact(path=Path('model').resolve(), metadata={'args': sys.argv[1:]})\n"
        "model.save(name='demo-model')\n"
        "print_step_complete(model=model)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "NRUN_"))}
    env.update(
        NEMOTRON_REGISTRY=str(tmp_path / "registry"),
        NRUN_HOME=str(tmp_path / "nrun"),
        PYTHONPATH=str(tmp_path),
    )
    script = tmp_path / "pipeline.py"
    script.write_text(blocks(README.read_text(), "python")[4])
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "demo-model:v1" in done.stdout and "demo-prep:v1" in done.stdout  # the lineage tree
    from nemotron.registry import ArtifactRegistry

    registry = ArtifactRegistry(str(tmp_path / "registry"))
    assert registry.resolve("demo-model").inputs == ["art://demo-prep:v1"]
    assert registry.resolve("demo-model").metadata["args"] == ["iters=5"]
