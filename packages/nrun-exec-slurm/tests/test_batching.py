"""Arrays of jobs, the batch submission script and the poller, without a cluster.

The scripts run in a real `sh`/`bash` with stand-in `srun`/`sbatch` commands; the poller asks a
stand-in tunnel whose answers the test sets.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from nrun.exec.base import ExecutorError, JobState
from nrun.exec.slurm import CommandResult, ScriptPaths, SlurmExecutor, Tunnel, TunnelStats
from nrun.exec.slurm._poller import FIRST, LONGEST, Poller, schedule
from nrun.exec.slurm._sbatch import ArrayElement, render_sbatch
from nrun.exec.slurm._status import QUERY_SEPARATOR
from nrun.exec.slurm._submit import Unit, submit

BASH = shutil.which("bash") or "/bin/bash"
NASTY = "it's a $dir; x"


def _elements(root: Path, count: int) -> list[ArrayElement]:
    return [
        ArrayElement(
            f"t-{i}", f"{root}/{NASTY}-{i}", f"{root}/{NASTY}-{i}/task.yaml", f"{root}/w", "e-1"
        )
        for i in range(count)
    ]


def _stand_ins(tmp_path: Path, **scripts: str) -> dict[str, str]:
    """A PATH where each named command is the given shell script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def test_each_array_element_gets_its_own_folder_task_and_name(tmp_path: Path) -> None:
    """Element i of an array of jobs runs its own task, in its folder, with its name."""
    elements = _elements(tmp_path, 3)
    (tmp_path / "w").mkdir()
    executor = SlurmExecutor(container_image="/i.sqsh", env_vars={"K": "v"})
    script = render_sbatch(
        executor,
        job_name="t",
        paths=ScriptPaths(f"{tmp_path}/array", "", "/rt", ""),
        elements=elements,
    )
    env = _stand_ins(
        tmp_path,
        srun="printf '%s\\n' \"$@\"; printf 'DIR=%s\\nNAME=%s\\n' "
        '"$NRUN_JOB_DIR" "$NRUN_TASK_NAME"',
    )
    for i, element in enumerate(elements):
        done = subprocess.run(
            [BASH, "-c", script],
            env={**env, "SLURM_ARRAY_TASK_ID": str(i)},
            capture_output=True,
            text=True,
            check=True,
        )
        words = done.stdout.splitlines()
        assert words[-3] == element.task
        assert f"DIR={element.job_dir}" in words and f"NAME=t-{i}" in words
        mounts = next(w for w in words if w.startswith("--container-mounts="))
        assert mounts.startswith(f"--container-mounts={element.job_dir}:{element.job_dir},")
    unknown = subprocess.run(
        [BASH, "-c", script], env={**env, "SLURM_ARRAY_TASK_ID": "7"}, capture_output=True
    )
    assert unknown.returncode == 1
    assert b"no task for array index 7" in unknown.stderr


class _Here(Tunnel):
    """A tunnel to this machine with stand-in Slurm commands (`env`), counting its calls."""

    def __init__(self, env: dict[str, str]):
        super().__init__(job_dir="")
        self.env = env
        self.commands: list[str] = []
        self._stats = TunnelStats()

    @property
    def key(self) -> str:
        return f"here:{id(self)}"

    @property
    def stats(self) -> TunnelStats:
        return self._stats

    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        self.commands.append(command)
        self._stats.round_trips += 1
        done = subprocess.run(
            ["/bin/sh", "-c", command], env=self.env, capture_output=True, text=True
        )
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def put(self, local: Path, remote: str) -> None:
        self._stats.round_trips += 1
        shutil.copyfile(local, remote)

    def read(self, remote: str, offset: int = 0) -> bytes | None:
        return None

    def listdir(self, remote: str) -> list[str]:
        return []

    def home(self) -> str:
        return "/"


def test_one_archive_and_one_command_submit_many_units(tmp_path: Path) -> None:
    """Staged units land in owner-only folders (an array's links too); a refused unit is one
    error and leaves no folder; the others get their ids."""
    sbatch = (
        'case "$2" in *refused*) echo "sbatch: error: invalid partition" >&2; exit 1;; esac\n'
        'n=$(cat "$0.n" 2>/dev/null || echo 100); echo $((n+1)) > "$0.n"; echo "$n;c"\n'
    )
    tunnel = _Here({**_stand_ins(tmp_path, sbatch=sbatch), "TMPDIR": str(tmp_path)})
    local = tmp_path / "local"
    local.mkdir()
    for name in ("task.yaml", "job.sbatch", "refused.sbatch"):
        (local / name).write_text(name)
    code = tmp_path / "src"
    code.mkdir()
    (code / "mod.py").write_text("x = 1\n")
    with tarfile.open(local / "code.tar.gz", "w:gz") as tar:
        tar.add(code / "mod.py", arcname="mod.py")
    remote, uploads = tmp_path / "remote", tmp_path / "uploads"
    uploads.mkdir()
    units = [
        Unit(
            [f"{remote}/job"],
            f"{remote}/job/job.sbatch",
            {
                "0/task.yaml": local / "task.yaml",
                "0/job.sbatch": local / "job.sbatch",
                "0/code.tar.gz": local / "code.tar.gz",
            },
            code=f"{remote}/job/code",
        ),
        Unit(
            [f"{remote}/no"],
            f"{remote}/no/refused.sbatch",
            {"0/refused.sbatch": local / "refused.sbatch"},
        ),
        Unit(
            [f"{remote}/{NASTY}-{i}" for i in range(2)],
            f"{remote}/array/job.sbatch",
            {
                "0/task.yaml": local / "task.yaml",
                "1/task.yaml": local / "task.yaml",
                "array/job.sbatch": local / "job.sbatch",
            },
            links=f"{remote}/array",
        ),
    ]
    old = os.umask(0o022)
    try:
        results = submit(tunnel, str(uploads), units, staged=True)
    finally:
        os.umask(old)
    assert results[0] == "100" and results[2] == "101"
    assert isinstance(results[1], ExecutorError)
    assert str(results[1]) == "submitting the job failed: sbatch: error: invalid partition"
    assert tunnel.stats.round_trips == 2  # one put, one command
    assert not (remote / "no").exists()
    assert os.listdir(uploads) == []
    assert (remote / "job" / "code" / "mod.py").read_text() == "x = 1\n"
    assert os.readlink(remote / "array" / "1") == f"{remote}/{NASTY}-1"
    assert (remote / "array" / "1" / "task.yaml").read_text() == "task.yaml"
    for folder, dirs, files in os.walk(remote):
        for name in [*dirs, *files]:
            info = os.lstat(Path(folder) / name)
            if not stat.S_ISLNK(info.st_mode):
                assert stat.S_IMODE(info.st_mode) in (0o700, 0o600), Path(folder) / name


# -- the poller ---------------------------------------------------------------------------------


def _answer(states: dict[str, str]) -> str:
    """What squeue + sacct print for jobs in these (sacct) states."""
    rows = "".join(f"{job}|{state}|0:0|None|2024-01-01T00:00:00\n" for job, state in states.items())
    return f"{QUERY_SEPARATOR}\n{rows}"


class _Scripted(_Here):
    """A tunnel whose squeue+sacct answer is `self.states`."""

    def __init__(self) -> None:
        super().__init__({})
        self.states: dict[str, str] = {}

    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        self.commands.append(command)
        self._stats.round_trips += 1
        return CommandResult(0, _answer(self.states), "")


def test_the_poller_answers_many_waiters_from_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between queries every waiter gets the last answer; the interval grows while nothing
    changes (0.5, 0.75, 1.125 … up to 60 s) and a change brings it back to 0.5 s."""
    now = [1000.0]
    monkeypatch.setattr("nrun.exec.slurm._poller.time.monotonic", lambda: now[0])
    tunnel, shared = _Scripted(), Poller()
    tunnel.states = {"1": "RUNNING", "2": "RUNNING"}
    targets = [("1", ()), ("2", ())]
    assert [s.state for s in shared.statuses(tunnel, targets)] == [JobState.RUNNING] * 2
    for _ in range(50):  # fifty waiters asking at once: the answer they share
        shared.statuses(tunnel, targets[:1])
    assert len(tunnel.commands) == 1
    assert shared.interval == FIRST
    intervals = []
    for _ in range(14):
        now[0] += shared.interval
        shared.statuses(tunnel, targets)
        intervals.append(shared.interval)
    assert intervals[:3] == [0.75, 1.125, 1.6875]
    assert intervals[-1] == LONGEST
    assert len(tunnel.commands) == 15
    tunnel.states["2"] = "COMPLETED"
    now[0] += LONGEST
    assert shared.statuses(tunnel, targets)[1].state == JobState.SUCCEEDED
    assert shared.interval == FIRST
    # a final job is not asked about again; an unseen one is asked at once
    now[0] += FIRST
    shared.statuses(tunnel, targets)
    assert "--jobs=1 " in tunnel.commands[-1]
    tunnel.states["3"] = "PENDING"
    asked = len(tunnel.commands)
    assert shared.statuses(tunnel, [("3", ())])[0].state == JobState.PENDING
    assert len(tunnel.commands) == asked + 1


def test_the_schedule_over_five_minutes() -> None:
    """Queries while nothing changes for 5 minutes: 0, 0.5, 1.25, … then every 60 s."""
    times = schedule(300.0)
    assert times[:4] == [0.0, 0.5, 1.25, 2.375]
    assert len(times) == 15
    assert all(b - a <= LONGEST for a, b in itertools.pairwise(times))


class _Lagging(_Here):
    """Accounting has the array's own row but not yet its elements'; scontrol has them."""

    def __init__(self) -> None:
        super().__init__({})

    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        self.commands.append(command)
        if command.startswith("squeue"):
            return CommandResult(0, f"{QUERY_SEPARATOR}\n5|COMPLETED|0:0|None|2024\n", "")
        line = "JobId=7 ArrayJobId=5 ArrayTaskId=2 JobState=COMPLETED Reason=None ExitCode=0:0"
        return CommandResult(0, line + "\n", "")


def test_an_element_accounting_has_not_recorded_yet_is_asked_of_scontrol() -> None:
    """Just after an array ends, sacct may list it without its elements: scontrol answers."""
    from nrun.exec.slurm._poller import query

    tunnel = _Lagging()
    (status,) = query(tunnel, [("5_2", ())])
    assert status.state == JobState.SUCCEEDED
    assert len(tunnel.commands) == 2 and "scontrol" in tunnel.commands[1]
