"""The README's Python blocks run as a user would: in order, in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_blocks_run(tmp_path: Path) -> None:
    blocks = python_blocks()
    assert len(blocks) == 2
    env = {k: v for k, v in os.environ.items() if k != "NEMOTRON_REGISTRY"}
    out = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    expected = [
        line.removeprefix("# ")
        for line in blocks[0].splitlines()
        if line.startswith("# art://") or (line.startswith("# ") and "──" in line)
    ]
    assert out.stdout.splitlines() == [*expected, '{"weights": [0.7, 0.3]}']
