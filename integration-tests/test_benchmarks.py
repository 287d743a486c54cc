"""The benchmarks whose figures the READMEs quote run as their docstrings say (unchecked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_nemotron_bench_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/nemotron_bench.py", "--runs", "1", "--no-pipeline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in ("python -c pass", "nemotron --help", "nemotron artifact list", "recipe --help"):
        assert row in done.stdout


def test_slurm_bench_prints_its_tables() -> None:
    """The benchmark behind nrun-exec-slurm's README figures, small: 3 tasks, 3 s of following."""
    import shutil

    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(
        [sys.executable, "benchmarks/exec_slurm_bench.py", "--tasks", "3", "--watch", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in ("one launch_batch (a job array)", "3 distinct jobs, one launch_batch", "followed"):
        assert done.stdout.count(row) == 2  # once per tunnel: SSH and local


@pytest.mark.parametrize(
    ("argv", "rows"),
    [
        (["benchmarks/report_bench.py", "--tasks", "10", "--runs", "1"], ["finished (10 final)"]),
        (
            ["benchmarks/lineage_bench.py", "--artifacts", "10", "--runs", "1"],
            ["page size", "render lineage_report"],
        ),
        (["benchmarks/watch_bench.py", "--tasks", "5", "--seconds", "5"], ["first frame"]),
    ],
    ids=["report", "lineage", "watch"],
)
def test_see_it_benches_print_their_tables(argv: list[str], rows: list[str]) -> None:
    """The benchmarks behind the watch, report and lineage figures, small."""
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in rows:
        assert row in done.stdout
