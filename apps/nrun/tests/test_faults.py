"""`nrun experiment …` tells the truth after a fault: a killed launcher, a full disk."""

from __future__ import annotations

import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrun.exec.base import STATE_COLORS, JobState, JobStatus
from nrun.exec.experiment import Experiment

TIMEOUT = 60.0

FOREGROUND = """
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, sleep

exp = Experiment("foreground", executor=LocalExecutor(cancel_grace=1.0))
exp.add(Partial(sleep, seconds=60.0, lines=1), name="first")
exp.add(Partial(echo), name="second", dependencies=["first"])
print(exp.id, flush=True)
exp.run()
"""


def nrun_limited(
    *args: str, limit: int | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The `nrun` console script, its file size limited to `limit` bytes (EFBIG past it)."""

    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("nrun")), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limited,
    )


@pytest.fixture
def orphaned(home: Path) -> Iterator[tuple[str, int]]:
    """An experiment whose foreground launcher was SIGKILLed while its first task ran."""
    with subprocess.Popen(
        [sys.executable, "-c", FOREGROUND], stdout=subprocess.PIPE, text=True
    ) as script:
        try:
            assert script.stdout is not None
            experiment_id = script.stdout.readline().strip()
            deadline = time.monotonic() + TIMEOUT
            while Experiment.from_id(experiment_id).logs("first") != "line 0":
                assert time.monotonic() < deadline, "the first task never started"
                time.sleep(0.05)
            script.send_signal(signal.SIGKILL)
            script.wait(TIMEOUT)
        finally:
            script.kill()
    yield experiment_id, script.pid
    experiment = Experiment.from_id(experiment_id)
    experiment.cancel()
    experiment.wait(TIMEOUT)


def rows(output: str) -> dict[str, str]:
    return {line.split()[1]: line for line in output.splitlines() if "│" in line}


def test_status_cancels_what_a_dead_launcher_never_launched(
    orphaned: tuple[str, int],
) -> None:
    experiment_id, pid = orphaned
    done = nrun_limited("experiment", "status", experiment_id)
    assert done.returncode == 0, done.stderr
    found = rows(done.stdout)
    assert "RUNNING" in found["first"]
    assert "CANCELLED" in found["second"]
    assert f"launcher {pid} died before launching it" in found["second"]


def test_status_and_show_work_on_a_full_disk(orphaned: tuple[str, int]) -> None:
    """Nothing can be written (RLIMIT_FSIZE 0): they still show the truth, exit 0."""
    experiment_id, pid = orphaned
    for command in ("status", "show"):
        done = nrun_limited("experiment", command, experiment_id, limit=0)
        assert (done.returncode, done.stderr) == (0, "")
        assert f"launcher {pid} died before launching it" in rows(done.stdout)["second"]
    job = Experiment.from_id(experiment_id).dir / "tasks" / "second" / "job.json"
    assert not list(job.parent.glob("*.tmp"))


def test_cancel_on_a_full_disk_is_one_line(orphaned: tuple[str, int]) -> None:
    experiment_id, _ = orphaned
    done = nrun_limited("experiment", "cancel", experiment_id, limit=0)
    assert (done.returncode, done.stdout) == (1, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith("cannot write '")
    assert line.endswith("': File too large")
    assert experiment_id in line
    # nothing half-written: the record still reads, and with room again the cancel works
    done = nrun_limited("experiment", "cancel", experiment_id)
    assert done.returncode == 0, done.stderr
    assert Experiment.from_id(experiment_id).wait(TIMEOUT) == {
        "first": JobState.CANCELLED,
        "second": JobState.CANCELLED,
    }


def test_run_on_a_full_disk_is_one_line(tmp_path: Path, home: Path) -> None:
    """`nrun run … run.executor=local` that cannot record its experiment: one line, exit 1."""
    done = nrun_limited(
        "run", "nrun.exec.probes:echo", "run.executor=local", "--yes", limit=0, cwd=tmp_path
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line]
    assert line.startswith("cannot write '")
    assert line.endswith("': File too large")
    assert not [p for p in home.rglob("*") if p.name.endswith(".tmp")]


def test_status_colours_come_from_state_colors(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from nrun.app._tables import status_table

    monkeypatch.setitem(STATE_COLORS, JobState.SUCCEEDED, "magenta")
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=100)
    console.print(status_table("x", {"t": JobStatus(JobState.SUCCEEDED, 0)}))
    assert "\x1b[35mSUCCEEDED" in out.getvalue()
