"""`launcher="torchrun"`: a real two-rank gloo all-reduce on CPU through the LocalExecutor.

Runs in `tox -e nrun-exec-local-torch` (`pytest -m torch`), whose venv has the CPU torch wheel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import allreduce

Make = Callable[..., LocalExecutor]


@pytest.mark.torch
def test_torchrun_two_rank_gloo_all_reduce(local: Make, tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="torch is not installed (tox -e nrun-exec-local-torch)")
    out = tmp_path / "ranks"
    out.mkdir()
    executor = local(launcher="torchrun", ntasks_per_node=2, env_vars={"OMP_NUM_THREADS": "1"})
    exp = Experiment("allreduce", executor=executor)
    exp.add(Partial(allreduce, out=str(out)), name="allreduce")
    exp.run()
    status = exp.statuses()["allreduce"]
    output = exp.logs("allreduce")
    assert status.state == JobState.SUCCEEDED, output
    assert status.exit_code == 0
    for rank in (0, 1):
        result = json.loads((out / f"rank{rank}.json").read_text())
        assert (result["rank"], result["world"], result["sum"]) == (rank, 2, 3.0)
        assert f"rank {rank} of 2: sum 3.0" in output
    assert sorted(p.name for p in out.iterdir()) == ["rank0.json", "rank1.json"]
