"""Faults leave a true record: a killed launcher, a file-size limit, a full disk.

Each launcher runs in a child process, as a user's script would; the limit (`RLIMIT_FSIZE`,
under which Python's writes fail with EFBIG) and the full disk (a tiny tmpfs, ENOSPC) are real.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import jobs
from helpers import TESTS, wait_dead, wait_file
from nrun.config import Partial, dump
from nrun.config.atomic import read_json
from nrun.exec.base import Job, JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.testing import wait_final

TIMEOUT = 30.0

FOREGROUND = """
import sys
import jobs
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

exp = Experiment("foreground", executor=LocalExecutor(job_dir=sys.argv[2]))
exp.add(Partial(jobs.block, pidfile=sys.argv[1], timeout=60), name="first")
exp.add(Partial(jobs.echo), name="second", dependencies=["first"])
exp.add(Partial(jobs.echo), name="third", dependencies=["second"])
print(exp.id, flush=True)
try:
    exp.run()
except OSError as exc:  # a full disk: nrun.config.atomic.WriteError, one line
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
"""


def start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=TESTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def no_temp_files(root: Path) -> None:
    left = [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert left == []


def every_record_reads(root: Path) -> None:
    for path in root.rglob("*.json"):
        assert read_json(path) is not None, path


def test_a_killed_foreground_launcher_leaves_no_task_pending(tmp_path: Path) -> None:
    """SIGKILL a foreground `run()`: readers cancel what it never launched, saying why."""
    pidfile = tmp_path / "pid"
    with start(FOREGROUND, str(pidfile), str(tmp_path / "jobs")) as script:
        try:
            assert script.stdout is not None
            experiment_id = script.stdout.readline().strip()
            wait_file(pidfile)
            script.send_signal(signal.SIGKILL)
            script.wait(TIMEOUT)
        finally:
            script.kill()
    meta = read_json(Experiment.from_id(experiment_id).dir / "experiment.json")
    assert meta is not None
    assert meta["launcher"]["pid"] == script.pid
    reason = f"launcher {script.pid} died before launching it"

    statuses = Experiment.from_id(experiment_id).statuses()
    assert statuses["first"].state == JobState.RUNNING  # its job lives on without the launcher
    for name in ("second", "third"):
        assert (statuses[name].state, statuses[name].reason) == (JobState.CANCELLED, reason)
    (tmp_path / "pid.release").touch()
    assert Experiment.from_id(experiment_id).wait(TIMEOUT) == {
        "first": JobState.SUCCEEDED,
        "second": JobState.CANCELLED,
        "third": JobState.CANCELLED,
    }
    job = read_json(Experiment.from_id(experiment_id).dir / "tasks" / "third" / "job.json")
    assert job is not None
    assert (job["job_id"], job["reason"]) == (None, reason)  # recorded, not only shown


def test_a_live_launcher_is_left_alone(tmp_path: Path) -> None:
    """While the foreground launcher lives, its waiting tasks stay PENDING."""
    pidfile = tmp_path / "pid"
    with start(FOREGROUND, str(pidfile), str(tmp_path / "jobs")) as script:
        try:
            assert script.stdout is not None
            experiment_id = script.stdout.readline().strip()
            wait_file(pidfile)
            assert Experiment.from_id(experiment_id).status() == {
                "first": JobState.RUNNING,
                "second": JobState.PENDING,
                "third": JobState.PENDING,
            }
            (tmp_path / "pid.release").touch()
            assert script.wait(TIMEOUT) == 0
        finally:
            script.kill()
    assert set(Experiment.from_id(experiment_id).status().values()) == {JobState.SUCCEEDED}


ADD_LIMITED = """
import json, resource, sys
import jobs
from nrun.config import Partial
from nrun.config.atomic import WriteError
from nrun.exec.experiment import Experiment

new = Experiment("new")
kept = Experiment("kept")
kept.add(Partial(jobs.echo, message="small"), name="small")
resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
for exp in (new, kept):
    try:
        exp.add(Partial(jobs.echo, message="x" * 5000), name="big")
    except WriteError as exc:
        print(exc)
print(json.dumps({"new": new.id, "kept": kept.id, "tasks": kept.tasks}))
"""


def test_a_file_size_limit_while_adding_leaves_nothing_behind(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ADD_LIMITED],
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *errors, last = done.stdout.splitlines()
    ids = json.loads(last)
    big = {t: home / "experiments" / t / ids[t] / "tasks" / "big" for t in ("new", "kept")}
    assert errors == [
        f"cannot write '{big[title] / 'task.yaml'}': File too large" for title in ("new", "kept")
    ]
    assert ids["tasks"] == ["small"]
    no_temp_files(home)
    every_record_reads(home)
    assert not (home / "experiments" / "new" / ids["new"]).exists()  # its first task: all gone
    assert [e["id"] for e in Experiment.list()] == [ids["kept"]]
    kept = Experiment.from_id(ids["kept"])
    assert kept.tasks == ["small"]
    assert not (kept.dir / "tasks" / "big").exists()
    monkeypatch.chdir(TESTS)  # where its default executor runs tasks (the script's folder)
    kept.run()  # the experiment is whole and runs
    assert kept.status() == {"small": JobState.SUCCEEDED}


LAUNCH_LIMITED = """
import json, resource, sys
import jobs
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

exp = Experiment("launch", executor=LocalExecutor(env_vars={"BIG": "x" * 5000}))
exp.add(Partial(jobs.echo), name="first")
exp.add(Partial(jobs.echo), name="after", dependencies=["first"])
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))
exp.run()
seen = {name: [s.state.value, s.reason] for name, s in exp.statuses().items()}
print(json.dumps({"id": exp.id, **seen}))
"""


def test_a_file_size_limit_at_launch_fails_that_task_naming_the_file(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH_LIMITED],
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    spec = Experiment.from_id(seen["id"]).dir / "tasks" / "first" / "supervisor.json"
    reason = f"launch failed: cannot write '{spec}': File too large"
    assert seen["first"] == ["FAILED", reason]
    assert seen["after"] == ["CANCELLED", "dependency 'first' failed"]
    assert done.stderr.splitlines()[0] == f"task 'first' FAILED: {reason}"
    assert "Traceback" not in done.stderr
    no_temp_files(home)
    every_record_reads(home)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (we need root to mount it; skipped where we cannot)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no mount command to make a small tmpfs")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write `disk/filler` until the disk is full."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == 28  # ENOSPC
    return filler


def test_a_full_disk_while_recording(
    tiny_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher fails in one line naming the file; the record stays whole and readable."""
    home = tiny_disk / "home"
    monkeypatch.setenv("NRUN_HOME", str(home))
    pidfile = tmp_path / "pid"
    with start(FOREGROUND, str(pidfile), str(tmp_path / "jobs")) as script:
        try:
            assert script.stdout is not None
            experiment_id = script.stdout.readline().strip()
            wait_file(pidfile)
            filler = fill(tiny_disk)
            (tmp_path / "pid.release").touch()
            _, err = script.communicate(timeout=TIMEOUT)
        finally:
            script.kill()
    assert script.returncode == 1
    exp_dir = home / "experiments" / "foreground" / experiment_id
    job = exp_dir / "tasks" / "first" / "job.json"
    assert err.splitlines() == [f"WriteError: cannot write '{job}': No space left on device"]
    no_temp_files(home)
    every_record_reads(home)

    # a reader on the full disk: the truth, though it cannot be recorded yet
    statuses = Experiment.from_id(experiment_id).statuses()
    assert statuses["first"].state == JobState.SUCCEEDED
    reason = f"launcher {script.pid} died before launching it"
    assert (statuses["second"].state, statuses["second"].reason) == (JobState.CANCELLED, reason)
    assert (read_json(exp_dir / "tasks" / "second" / "job.json") or {})["reason"] == ""
    no_temp_files(home)

    filler.unlink()  # room again: the next reader records it
    Experiment.from_id(experiment_id).statuses()
    assert (read_json(exp_dir / "tasks" / "second" / "job.json") or {})["reason"] == reason
    assert Experiment.from_id(experiment_id).status() == {
        "first": JobState.SUCCEEDED,
        "second": JobState.CANCELLED,
        "third": JobState.CANCELLED,
    }


def test_a_job_whose_result_cannot_be_written_reads_failed(tiny_disk: Path, tmp_path: Path) -> None:
    """The supervisor cannot write `result.json` (full disk): FAILED, never RUNNING forever."""
    executor = LocalExecutor(job_dir=str(tiny_disk / "job"), workdir=str(TESTS))
    config = dump(Partial(jobs.block, pidfile=str(tmp_path / "pid")), tmp_path / "task.yaml")
    job_id = executor.launch(Job("t", config))
    wait_file(tmp_path / "pid")
    fill(tiny_disk)
    (tmp_path / "pid.release").touch()
    status = wait_final(executor, job_id, TIMEOUT)
    assert (status.state, status.reason) == (
        JobState.FAILED,
        "the job's supervisor died without a result",
    )
    wait_dead(int(job_id))
    no_temp_files(tiny_disk)
