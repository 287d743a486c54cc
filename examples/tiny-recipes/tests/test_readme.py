"""The README's commands as a user types them: every ```bash block, in order, in one bash shell.

They run in a copy of this folder (the README's `cd src/nemotron/recipes/tiny` is relative to
it, and the steps write `output/` where they run), with `HOME` a temp dir, so the README's own
`export NEMOTRON_REGISTRY=~/.nemotron/registry` runs verbatim. The one line not run is the
`pip install` the README calls the installation line: the test checks that what it installs is
importable instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nemotron.registry import ArtifactRegistry

FAMILY = Path(__file__).resolve().parents[1]
README = FAMILY / "README.md"
INSTALL = "pip install nemotron-tiny-recipes"
BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def bash_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def script_of(blocks: list[str]) -> str:
    """The blocks as one script, the installation line left out, each block announced on stderr."""
    text = README.read_text(encoding="utf-8")
    before = text[: text.index("```bash")]
    assert "the first line is the installation line" in before.strip().rsplit("\n\n", 1)[-1]
    first = blocks[0].splitlines()
    assert first[0].startswith(INSTALL + " "), first[0]
    parts = ["set -euo pipefail"]
    for i, block in enumerate(["\n".join(first[1:]) + "\n", *blocks[1:]]):
        parts += [f"echo '--- block {i}' >&2", block]
    return "\n".join(parts)


def test_the_installation_line_installs_what_is_importable() -> None:
    line = bash_blocks()[0].splitlines()[0]
    assert line.split("#")[1].split() == ["nemotron-kit,", "numpy,", "typer"]
    for module in ("nemotron.recipes.tiny", "nemotron.kit", "numpy", "typer"):
        assert importlib.util.find_spec(module) is not None, module


def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    blocks = bash_blocks()
    assert len(blocks) == 3, blocks
    here = tmp_path / "tiny-recipes"
    shutil.copytree(
        FAMILY / "src", here / "src", ignore=shutil.ignore_patterns("__pycache__", "output")
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NRUN_", "NEMOTRON_", "WANDB_"))
    }
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "-c", script_of(blocks)],
        cwd=here,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-4000:]

    # the piped run printed the last step's artifact, then the lineage tree of tiny-eval
    lines = proc.stdout.splitlines()
    printed = [json.loads(x) for x in lines if x.startswith("{")]
    assert printed[0]["eval"]["uri"] == "art://tiny-eval:v1"
    tree = [x for x in lines if not x.startswith("{")]
    assert tree[0] == "art://tiny-eval:v1" and lines[1] == tree[0]
    shown = "\n".join(tree)
    for name in ("tiny-sft", "tiny-pretrain", "tiny-sft-data", "tiny-blends", "tiny-tokens"):
        assert f"art://{name}:v1" in shown, shown
    for corpus in ("fables.txt", "seasons.txt", "workshop.txt", "heldout.txt"):
        assert corpus in shown, shown
    # then the two script files, with their configs, from src/nemotron/recipes/tiny
    tiny = here / "src" / "nemotron" / "recipes" / "tiny"
    assert printed[1:] == [
        {
            "model": {
                "path": str(tiny / "output" / "tiny" / "pretrain"),
                "type": "ModelArtifact",
                "uri": "art://tiny-pretrain:v2",
            }
        },
        {
            "eval": {
                "path": str(tiny / "output" / "tiny" / "eval"),
                "type": "TinyEvalArtifact",
                "uri": "art://tiny-eval:v2",
            }
        },
    ]

    registry = ArtifactRegistry(home / ".nemotron" / "registry")  # the README's export
    assert registry.resolve("tiny-pretrain", 1).metadata["step"] == 300  # train.iters=300
    again = registry.resolve("tiny-pretrain", 2)
    assert again.inputs[0] == "art://tiny-blends:v1"  # run.data=tiny-blends:v1
    assert again.metadata["step"] == 100  # config/pretrain/tiny.yaml
    assert registry.resolve("tiny-eval", 2).inputs[0] == "art://tiny-pretrain:v2"  # :latest
    assert not (FAMILY / "src" / "nemotron" / "recipes" / "tiny" / "output").exists()

    app = shutil.which("nemotron", path=env["PATH"])
    if app is not None and importlib.util.find_spec("nemotron.app") is not None:
        # the README's other way to show the tree, where the app is installed too
        shown_by_app = subprocess.run(
            [app, "artifact", "lineage", "tiny-eval"],
            env={**env, "NEMOTRON_REGISTRY": str(home / ".nemotron" / "registry")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown_by_app.returncode == 0, shown_by_app.stderr
        assert shown_by_app.stdout.startswith("tiny-eval:v2 TinyEvalArtifact")
