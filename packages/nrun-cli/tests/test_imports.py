"""What a command line imports: `--help` no fiddle nor executor libraries, a direct run no docker.

Each command runs in a real, fresh process (`sys.executable`), whose script records the names in
`sys.modules` at exit through an atexit hook. No timing is checked here (see
benchmarks/cli_bench.py for the figures).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts import run_py, write

SCRIPT = """
import atexit, sys

def _record():
    with open({modules!r}, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))

atexit.register(_record)

from nrun import cli

@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {{model}} for {{epochs}} epochs")

if __name__ == "__main__":
    cli.main(train)
"""


def imported(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the guide's basic example with `args`; the process and the modules it had at exit."""
    modules = tmp_path / "modules.txt"
    write(tmp_path / "basic.py", SCRIPT.format(modules=str(modules)))
    done = run_py(tmp_path, "basic.py", *args, timeout=120)
    assert modules.exists(), f"the atexit hook did not run: {done.stderr}"
    return done, set(modules.read_text().split())


def loaded(modules: set[str], *packages: str) -> list[str]:
    """The `packages` that have a module (the package itself or one of its own) in `modules`."""
    return [p for p in packages if any(m == p or m.startswith(p + ".") for m in modules)]


def test_help_imports_no_fiddle_nor_executor_libraries(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    assert "nrun.cli" in modules  # the hook saw the CLI itself
    assert loaded(modules, "fiddle", "docker", "paramiko", "wandb") == []


def test_direct_run_imports_no_executor_libraries(tmp_path: Path) -> None:
    done, modules = imported(tmp_path, "model=alexnet", "epochs=5")
    assert (done.returncode, done.stdout) == (0, "Training alexnet for 5 epochs\n"), done.stderr
    assert loaded(modules, "docker", "paramiko", "wandb") == []
