"""The scheduler launches in rounds: every ready task of a kind in one `launch_batch` call."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import jobs
from helpers import TESTS
from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

Make = Callable[..., LocalExecutor]


def batches(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text().splitlines()]


def recorder(calls: Path) -> jobs.BatchRecorder:
    return jobs.BatchRecorder(calls=str(calls), workdir=str(TESTS), cancel_grace=5.0)


def test_every_ready_task_goes_in_one_batch(tmp_path: Path) -> None:
    """Three independent tasks: one call; their dependent waits for the next round."""
    calls = tmp_path / "calls"
    exp = Experiment("batched", executor=recorder(calls))
    for name in ("a", "b", "c"):
        exp.add(Partial(jobs.echo, message=name), name=name)
    exp.add(Partial(jobs.echo, message="d"), name="d", dependencies=["a", "c"])
    exp.run()
    assert exp.status() == {n: JobState.SUCCEEDED for n in "abcd"}
    assert batches(calls) == [["a", "b", "c"], ["d"]]
    assert [exp.logs(n) for n in "abcd"] == ["a", "b", "c", "d"]


def test_one_batch_per_kind_of_executor(local: Make, tmp_path: Path) -> None:
    """Tasks on two kinds of executor in one round: one call each, with its own tasks only."""
    calls = tmp_path / "calls"
    exp = Experiment("kinds", executor=local())
    exp.add(Partial(jobs.echo, message="plain 1"), name="plain1")
    exp.add(Partial(jobs.echo), name="rec1", executor=recorder(calls))
    exp.add(Partial(jobs.echo, message="plain 2"), name="plain2")
    exp.add(Partial(jobs.echo), name="rec2", executor=recorder(calls))
    exp.run()
    assert set(exp.status().values()) == {JobState.SUCCEEDED}
    assert batches(calls) == [["rec1", "rec2"]]
    assert exp.logs("plain2") == "plain 2"


def test_a_batch_respects_max_concurrent(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    exp = Experiment("capped", executor=recorder(calls))
    for name in "abc":
        exp.add(Partial(jobs.echo, message=name), name=name)
    exp.run(max_concurrent=2)
    assert exp.status() == {n: JobState.SUCCEEDED for n in "abc"}
    assert batches(calls) == [["a", "b"], ["c"]]


def test_per_job_errors_fail_their_tasks_only(tmp_path: Path) -> None:
    """An error among the answers fails that task (`launch failed: ...`); the rest run."""
    exp = Experiment("halves", executor=jobs.HalfBatch(workdir=str(TESTS)))
    exp.add(Partial(jobs.echo, message="first"), name="first")
    exp.add(Partial(jobs.echo), name="second")
    exp.add(Partial(jobs.echo), name="after", dependencies=["second"])
    exp.run()
    statuses = exp.statuses()
    assert statuses["first"].state == JobState.SUCCEEDED
    assert exp.logs("first") == "first"
    assert (statuses["second"].state, statuses["second"].reason) == (
        JobState.FAILED,
        "launch failed: no room for second",
    )
    assert statuses["after"].reason == "dependency 'second' failed"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("raise", "launch failed: RuntimeError: the batch went nowhere"),
        ("short", "launch failed: HalfBatch.launch_batch answered 1 of 2 jobs"),
    ],
)
def test_a_batch_that_does_not_answer_for_every_job(
    tmp_path: Path, answer: str, reason: str
) -> None:
    exp = Experiment("broken", executor=jobs.HalfBatch(workdir=str(TESTS), answer=answer))
    exp.add(Partial(jobs.echo, message="one"), name="one")
    exp.add(Partial(jobs.echo, message="two"), name="two")
    exp.run()
    statuses = exp.statuses()
    assert statuses["two"].state == JobState.FAILED
    assert statuses["two"].reason == reason
    if answer == "raise":
        assert statuses["one"].reason == reason
    else:  # the job it did launch is recorded and followed
        assert statuses["one"].state == JobState.SUCCEEDED


def test_the_default_batch_goes_on_after_a_failed_launch(local: Make, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    exp = Experiment("mixed", executor=local())
    exp.add(Partial(jobs.echo), name="bad", executor=local(job_dir=str(tmp_path / "file")))
    exp.add(Partial(jobs.echo, message="good"), name="good")
    exp.run()
    statuses = exp.statuses()
    assert statuses["bad"].state == JobState.FAILED
    assert statuses["bad"].reason.startswith("launch failed: job dir ")
    assert (statuses["good"].state, exp.logs("good")) == (JobState.SUCCEEDED, "good")
