"""Owner-only job files whatever the umask, no client shared with a forked child, and the
checks `validate()` makes before anything is recorded."""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.base import ExecutorError, JobState
from nrun.exec.docker import DockerExecutor
from nrun.exec.docker import _executor as docker_module
from nrun.exec.experiment import Experiment, ExperimentError
from nrun.exec.packaging import PatternPackager
from nrun.exec.probes import echo

IMAGE = "nrun-test-python:bookworm"

WRITER = """
import os


def write(name: str = "written-by-the-task.txt") -> None:
    with open(os.path.join(os.environ["NRUN_JOB_DIR"], name), "w") as file:
        file.write("a secret, perhaps")
    os.mkdir(os.path.join(os.environ["NRUN_JOB_DIR"], "made-by-the-task"))
    print("wrote", name)
"""


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("daemon", "open_umask")
def test_every_file_in_the_job_dir_is_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task file, runtime, code, output, records and what the container writes (as root,
    with the image's umask 022): 0600 files, 0700 folders."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "writer.py").write_text(WRITER)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    from writer import write  # type: ignore[import-not-found]

    executor = DockerExecutor(
        container_image=IMAGE,
        network="none",
        packager=PatternPackager(include_pattern=["*.py"]),
        env_vars={"API_TOKEN": "s3cret"},
        job_dir=str(tmp_path / "jobs"),
    )
    with Experiment("private", executor=executor) as exp:
        exp.add(Partial(write), name="writes")
        exp.run()
    assert exp.status() == {"writes": JobState.SUCCEEDED}
    job_dir = tmp_path / "jobs" / exp.id / "writes"
    wrong, names = [], set()
    for folder, dirs, files in os.walk(job_dir):
        for path in [Path(folder), *(Path(folder) / n for n in [*dirs, *files])]:
            info = path.lstat()
            names.add(path.name)
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) not in (0o700, 0o600):
                wrong.append(f"{oct(stat.S_IMODE(info.st_mode))} {path}")
    assert {"written-by-the-task.txt", "made-by-the-task", "output.log", "result.json"} <= names
    assert wrong == []


@pytest.mark.usefixtures("daemon")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_makes_its_own_client(tmp_path: Path) -> None:
    """The parent's client (and its pooled connection to the daemon) is not the child's."""
    executor = DockerExecutor(container_image=IMAGE, job_dir=str(tmp_path / "job"))
    parent = executor._client()
    assert docker_module._clients
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(30)
            fresh = not docker_module._clients
            client = executor._client()
            code = 0 if fresh and client.ping() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert executor._client() is parent
    assert parent.ping()


@pytest.mark.parametrize(
    "fields", [{"container_image": ""}, {"container_image": "  "}, {"python": ""}, {"python": " "}]
)
def test_an_empty_image_or_python_is_refused_before_anything_is_recorded(
    fields: dict[str, str], home: Path
) -> None:
    executor = DockerExecutor(**{"container_image": IMAGE, **fields})
    with pytest.raises(ExecutorError) as info:
        executor.validate()
    assert ("container_image" if "container_image" in fields else "python") in str(info.value)
    with (
        Experiment("refused", executor=executor) as exp,
        pytest.raises((ExecutorError, ExperimentError)),
    ):
        exp.add(Partial(echo), name="t")
    assert not exp.dir.exists()
