"""`--multirun` on Slurm through the CLI: the sweep is one `sbatch --array` job, a point an element.

Here, not in nrun-exec-slurm's own env: it needs nrun-cli, which that package does not depend on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["sinfo", "--noheader"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"Slurm is not up ({done.stderr.strip()}); run integration-tests/slurm-up.sh")
    path = tmp_path / "home"
    monkeypatch.setenv("NRUN_HOME", str(path))
    return path


SCRIPT = """
from nrun import cli


@cli.entrypoint
def train(lr: float = 0.1, steps: int = 1) -> None:
    print(f"lr={lr} steps={steps}")


if __name__ == "__main__":
    cli.main(train)
"""


def test_multirun_on_slurm_is_one_array_job(tmp_path: Path, home: Path) -> None:
    """`python script.py -m lr=1,2,3 run.executor=slurm`: the sweep is one array job."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "-m",
            "lr=1,2,3",
            "run.executor=slurm",
            f"run.executor.python={sys.executable}",
            "--yes",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for i, lr in enumerate((1, 2, 3)):
        assert f"[train-{i}] lr={float(lr)} steps=1" in done.stdout
    (exp_dir,) = (home / "experiments" / "train").iterdir()
    records = [(exp_dir / "tasks" / f"train-{i}" / "slurm.json").read_text() for i in range(3)]
    job_ids = [json.loads(text)["job_id"] for text in records]
    array_id = job_ids[0].partition("_")[0]
    assert job_ids == [f"{array_id}_{i}" for i in range(3)]
