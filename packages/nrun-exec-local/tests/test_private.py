"""Everything under `$NRUN_HOME` is owner-only (files 0600, folders 0700) whatever the umask.

`executor.yaml` holds `env_vars` (tokens, passwords), and any record may hold secrets, so the
store, the local job dirs in it, their logs, locks and code archives are nobody else's business.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

import jobs
from helpers import TESTS
from nrun.config import Partial
from nrun.exec.experiment import Experiment

RUN = """
import os, sys, time
os.umask(int(sys.argv[1], 8))
import jobs
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.packaging import PatternPackager

secret = {"API_TOKEN": "s3cr3t"}
packager = PatternPackager(include_pattern=["jobs.py", "helpers.py"])
exp = Experiment("private", executor=LocalExecutor(env_vars=secret))
exp.add(Partial(jobs.echo), name="plain")
exp.add(Partial(jobs.fail, code=3), name="failing")
exp.add(Partial(jobs.echo), name="skipped", dependencies=["failing"])
exp.add(Partial(jobs.echo), name="packaged", executor=LocalExecutor(packager=packager))
exp.run()

detached = Experiment("detached", executor=LocalExecutor(env_vars=secret))
detached.add(Partial(jobs.block, pidfile=sys.argv[2], timeout=60), name="slow")
detached.run(detach=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.02)
detached.cancel()
print(detached.wait(30))
"""

EXPECTED = {
    "experiment.json",
    ".lock",
    "orchestrator.log",
    "task.yaml",
    "executor.yaml",
    "job.json",
    "supervisor.json",
    "launched.json",
    "state.json",
    "result.json",
    "output.log",
    "supervisor.log",
    "cancel",
    "code.tar.gz",
    "jobs.py",
}


@pytest.mark.parametrize("umask", ["022", "000"])
def test_the_store_is_owner_only(home: Path, tmp_path: Path, umask: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN, umask, str(tmp_path / "pid")],
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "CANCELLED" in done.stdout
    wrong = []
    names = set()
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        names.add(path.name)
        if mode != (0o700 if path.is_dir() else 0o600):
            wrong.append(f"{oct(mode)} {path.relative_to(home)}")
    assert wrong == []
    assert names >= EXPECTED | {"code", "tasks", "experiments"}


def test_folders_an_older_nrun_left_open_are_closed(home: Path) -> None:
    """A store made world-readable before (0755) is made owner-only by the next experiment."""
    title = home / "experiments" / "old"
    title.mkdir(parents=True)
    for folder in (home, home / "experiments", title):
        folder.chmod(0o755)
    Experiment("old").add(Partial(jobs.echo), name="t")
    assert stat.S_IMODE((home / "experiments").stat().st_mode) == 0o700
    assert stat.S_IMODE(title.stat().st_mode) == 0o700
