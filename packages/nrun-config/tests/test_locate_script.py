"""A script's own classes, exported as `<script>.<name>`, load back as the same classes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import dataclasses, sys
from nrun.config import Config, build, dump, load

@dataclasses.dataclass
class Model:
    size: int = 1

path = dump(Config(Model, size=3), sys.argv[1])
assert path.read_text().startswith("_target_: trainer.Model"), path.read_text()
again = build(load(path))
assert type(again) is Model, (type(again), Model)  # not a second copy of the script
assert "trainer" not in sys.modules
print("same class")
"""


def test_script_targets_resolve_to_the_running_script(tmp_path: Path) -> None:
    script = tmp_path / "trainer.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "same class"
