"""The experiment store: where it is, safe names, ids, and the job records."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from nrun.exec.base import ExecutorError, JobState, JobStatus
from nrun.exec.store import (
    ExperimentError,
    check_name,
    experiment_dir,
    experiments_root,
    new_experiment_id,
    nrun_home,
    read_json,
    record_status,
    task_record,
    write_json,
)


def test_home_is_nrun_home(home: Path) -> None:
    assert nrun_home() == home
    assert experiments_root() == home / "experiments"


def test_home_defaults_to_dot_nrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NRUN_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert nrun_home() == tmp_path / ".nrun"
    monkeypatch.setenv("NRUN_HOME", "")
    assert nrun_home() == tmp_path / ".nrun"
    monkeypatch.setenv("NRUN_HOME", "~/elsewhere")
    assert nrun_home() == tmp_path / "elsewhere"


@pytest.mark.parametrize("name", ["train", "a", "Sweep_1.lr-3e-4", "x" * 128, "0day"])
def test_good_names(name: str) -> None:
    assert check_name("task name", name) == name


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "..", ".", ".hidden", "", "x" * 129, "a b", "a..b", "/abs", "-x", "é"]
)
def test_bad_names_are_one_line(name: str) -> None:
    with pytest.raises(ExperimentError) as info:
        check_name("experiment title", name)
    message = str(info.value)
    assert "\n" not in message
    assert f"invalid experiment title {name!r}" in message
    assert isinstance(info.value, ExecutorError)


def test_non_string_name() -> None:
    with pytest.raises(ExperimentError):
        check_name("task name", 3)  # type: ignore[arg-type]


def test_ids_are_unique_and_readable() -> None:
    ids = {new_experiment_id("sweep") for _ in range(200)}
    assert len(ids) == 200
    for experiment_id in ids:
        assert re.fullmatch(r"sweep_\d{8}-\d{6}_[0-9a-f]{6}", experiment_id)
        check_name("experiment id", experiment_id)


def test_experiment_dir_finds_by_id(home: Path) -> None:
    experiment_id = new_experiment_id("my_title")  # the title itself holds '_'
    folder = home / "experiments" / "my_title" / experiment_id
    folder.mkdir(parents=True)
    (folder / "experiment.json").write_text("{}")
    assert experiment_dir(experiment_id) == folder


def test_experiment_dir_unknown_or_unsafe_id(home: Path) -> None:
    with pytest.raises(ExperimentError) as info:
        experiment_dir("nope_20240101-000000_abcdef")
    assert "\n" not in str(info.value)
    assert "'nope_20240101-000000_abcdef'" in str(info.value)
    with pytest.raises(ExperimentError, match="invalid experiment id"):
        experiment_dir("../../etc")


def _task_dir(tmp_path: Path) -> Path:
    task_dir = tmp_path / "task"
    task_dir.mkdir()
    write_json(
        task_dir / "job.json",
        {"name": "t", "job_id": None, "states": [{"state": "PENDING", "time": 0.0}]},
    )
    return task_dir


def test_record_status_keeps_a_history(tmp_path: Path) -> None:
    task_dir = _task_dir(tmp_path)
    record_status(task_dir, JobStatus(JobState.PENDING), job_id="123", launched=1.0)
    record_status(task_dir, JobStatus(JobState.RUNNING))
    record_status(task_dir, JobStatus(JobState.RUNNING))
    record_status(task_dir, JobStatus(JobState.FAILED, 3, "exit code 3"))
    record = task_record(task_dir)
    assert [s["state"] for s in record["states"]] == ["PENDING", "RUNNING", "FAILED"]
    assert (record["job_id"], record["launched"]) == ("123", 1.0)
    assert (record["exit_code"], record["reason"]) == (3, "exit code 3")


def test_a_final_state_is_never_overwritten(tmp_path: Path) -> None:
    task_dir = _task_dir(tmp_path)
    record_status(task_dir, JobStatus(JobState.CANCELLED, reason="cancelled"))
    record_status(task_dir, JobStatus(JobState.FAILED, 137, "killed by SIGTERM"))
    record = task_record(task_dir)
    assert record["states"][-1]["state"] == "CANCELLED"
    assert record["reason"] == "cancelled"
    assert record.get("exit_code") is None
    # a job launched as the cancel came is still recorded, so it can be found and stopped
    record_status(task_dir, JobStatus(JobState.PENDING), job_id="77", launched=2.0)
    record = task_record(task_dir)
    assert [s["state"] for s in record["states"]] == ["PENDING", "CANCELLED"]
    assert (record["job_id"], record["launched"]) == ("77", 2.0)


def test_record_status_under_concurrent_writers(tmp_path: Path) -> None:
    task_dir = _task_dir(tmp_path)

    def write(n: int) -> None:
        for i in range(20):
            record_status(task_dir, JobStatus(JobState.RUNNING), **{f"w{n}_{i}": i})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = read_json(task_dir / "job.json")
    assert record is not None
    assert sum(key.startswith("w") for key in record) == 80  # no update was lost


def test_missing_record_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError) as info:
        task_record(tmp_path)
    assert "\n" not in str(info.value)
