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
