"""Owner-only files on the cluster, whatever the umask, and the checks made before recording."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.base import ExecutorError, JobState
from nrun.exec.experiment import Experiment, ExperimentError
from nrun.exec.packaging import PatternPackager
from nrun.exec.probes import echo
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel, Tunnel
from nrun.exec.store import nrun_home

CLUSTER_PYTHON = "/usr/bin/python3"

WRITER = """
import os


def write(name: str = "written-by-the-task.txt") -> None:
    with open(os.path.join(os.environ["NRUN_JOB_DIR"], name), "w") as file:
        file.write("a secret, perhaps")
    print("wrote", name)
"""


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Files made under this umask would be readable by everyone (0644, 0755)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes_local(*roots: Path) -> list[tuple[str, str]]:
    """(mode, path) of every folder and file under `roots` (links are not followed)."""
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(folder) / name
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    continue
                found.append((oct(stat.S_IMODE(info.st_mode)), str(path)))
            found.append((oct(stat.S_IMODE(Path(folder).stat().st_mode)), folder))
    return found


def _modes_remote(tunnel: SSHTunnel, root: str) -> list[tuple[str, str]]:
    done = tunnel.run(f"find {shlex.quote(root)} ! -type l -printf '%m %p\\n'")
    return [tuple(line.split(" ", 1)) for line in done.stdout.splitlines()]  # type: ignore[misc]


def _wrong(modes: list[tuple[str, str]], *, remote: bool = False) -> list[str]:
    allowed = {"0o700", "0o600"} if not remote else {"700", "600"}
    return [f"{mode} {path}" for mode, path in modes if mode not in allowed]


@pytest.mark.usefixtures("cluster", "open_umask")
@pytest.mark.parametrize("kind", ["local", "ssh"])
def test_every_job_file_on_the_cluster_is_owner_only(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Scripts, task files, code, the runtime, outputs and what the task writes: 0600 / 0700,
    for a job array of alike tasks and a job of its own, under umask 022."""
    tunnel: Tunnel = LocalTunnel() if kind == "local" else request.getfixturevalue("ssh_tunnel")
    work = tmp_path / "work"
    work.mkdir()
    (work / "writer.py").write_text(WRITER)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    executor = SlurmExecutor(
        python=CLUSTER_PYTHON,
        tunnel=tunnel,
        packager=PatternPackager(include_pattern=["*.py"]),
        env_vars={"API_TOKEN": "s3cret"},
    )
    from writer import write  # type: ignore[import-not-found]

    with Experiment("private", executor=executor) as exp:
        exp.add(Partial(write, name="a.txt"), name="a")
        exp.add(Partial(write, name="b.txt"), name="b")
        exp.add(Partial(echo, message="alone"), name="alone", dependencies=["a"])
        exp.run()
    assert exp.status() == dict.fromkeys(("a", "b", "alone"), JobState.SUCCEEDED)
    if isinstance(tunnel, SSHTunnel):
        root = tunnel.resolve(tunnel.job_dir)
        modes = _modes_remote(tunnel, root)
        names = {Path(path).name for _, path in modes}
        wrong = _wrong(modes, remote=True)
    else:
        modes = _modes_local(exp.dir, nrun_home() / "slurm")
        names = {Path(path).name for _, path in modes}
        wrong = _wrong(modes)
    # what must be there, so the walk saw the job folders and not an empty tree
    assert {"a.txt", "b.txt", "job.sbatch", "task.yaml", "writer.py"} <= names
    assert any(name.startswith("slurm-") and name.endswith(".out") for name in names)
    assert wrong == []


def test_an_empty_python_is_refused_before_anything_is_recorded(home: Path) -> None:
    """`python=""` (or blank) is one line from validate(): Experiment.add records nothing."""
    for python in ("", "   "):
        executor = SlurmExecutor(python=python)
        with pytest.raises(ExecutorError, match="python must name the interpreter"):
            executor.validate()
        with (
            Experiment("nopython", executor=executor) as exp,
            pytest.raises((ExecutorError, ExperimentError), match="python"),
        ):
            exp.add(Partial(echo), name="t")
        assert not exp.dir.exists()
    assert sys.executable  # the refusal names the field, not a missing interpreter
