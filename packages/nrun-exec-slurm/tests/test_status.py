"""Job states from squeue and sacct text, as `query_command` asks for it (no cluster needed).

The texts below are what `squeue --noheader --array --format='%i|%T|%r'` and
`sacct --noheader --parsable2 --allocations --format=JobID,State,ExitCode,Reason` print.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from nrun.exec.base import JobState, JobStatus
from nrun.exec.slurm._status import QUERY_SEPARATOR, Row, parse_rows, query_command, summarize


def live(text: str) -> list[Row]:
    return parse_rows(text, live=True)


def acct(text: str) -> list[Row]:
    return parse_rows(text, live=False)


def status(job_id: str, rows: list[Row], expected: Sequence[str] = ()) -> JobStatus | None:
    return summarize(job_id, rows, expected)


# -- parse_rows ---------------------------------------------------------------------------------


def test_parse_squeue_rows() -> None:
    text = (
        "12|RUNNING|None\n"
        "13|PENDING|Priority\n"
        "14_3|PENDING|JobArrayTaskLimit\n"
        "14_[4-9]|PENDING|JobArrayTaskLimit\n"
        "15+1|RUNNING|None\n"
    )
    assert live(text) == [
        Row("12", "", "RUNNING", "None"),
        Row("13", "", "PENDING", "Priority"),
        Row("14", "3", "PENDING", "JobArrayTaskLimit"),
        Row("14", "[4-9]", "PENDING", "JobArrayTaskLimit"),
        Row("15", "+1", "RUNNING", "None"),
    ]


def test_parse_sacct_rows() -> None:
    text = (
        "12|COMPLETED|0:0|None\n"
        "13|CANCELLED by 1000|0:15|None\n"
        "14_2|FAILED|3:0|\n"
        "15+0|RUNNING|0:0\n"
    )
    assert acct(text) == [
        Row("12", "", "COMPLETED", "None", "0:0", live=False),
        Row("13", "", "CANCELLED", "None", "0:15", live=False),
        Row("14", "2", "FAILED", "", "3:0", live=False),
        Row("15", "+0", "RUNNING", "", "0:0", live=False),
    ]


def test_parse_skips_noise() -> None:
    text = (
        "\n"
        "   \n"
        "slurm_load_jobs error: Invalid job id specified\n"
        "JobID|State|ExitCode|Reason\n"  # a header, should one slip through
        "12.batch|COMPLETED|0:0|None\n"  # steps are not asked for (--allocations)
        "12|COMPLETED\n"
        "  12|COMPLETED|0:0|None  \n"
    )
    assert acct(text) == [Row("12", "", "COMPLETED", "None", "0:0", live=False)]


# -- one job, live (squeue) ------------------------------------------------------------------


def test_running() -> None:
    assert status("12", live("12|RUNNING|None\n")) == JobStatus(JobState.RUNNING)


@pytest.mark.parametrize("state", ["COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING"])
def test_running_like_states(state: str) -> None:
    assert status("12", live(f"12|{state}|None\n")) == JobStatus(JobState.RUNNING)


def test_pending_with_reason() -> None:
    assert status("12", live("12|PENDING|Resources\n")) == JobStatus(
        JobState.PENDING, reason="Resources"
    )


def test_pending_without_reason() -> None:
    assert status("12", live("12|PENDING|None\n")) == JobStatus(JobState.PENDING)
    assert status("12", live("12|CONFIGURING|\n")) == JobStatus(JobState.PENDING)


def test_pending_dependency_never_satisfied_keeps_the_reason() -> None:
    found = status("12", live("12|PENDING|DependencyNeverSatisfied\n"))
    assert found == JobStatus(JobState.PENDING, reason="DependencyNeverSatisfied")


def test_live_rows_win_over_accounting() -> None:
    rows = live("12|RUNNING|None\n") + acct("12|PENDING|0:0|None\n")
    assert status("12", rows) == JobStatus(JobState.RUNNING)


# -- one job, finished (sacct) ---------------------------------------------------------------


def test_completed() -> None:
    assert status("12", acct("12|COMPLETED|0:0|None\n")) == JobStatus(JobState.SUCCEEDED, 0)


def test_failed_with_exit_code() -> None:
    assert status("12", acct("12|FAILED|3:0|NonZeroExitCode\n")) == JobStatus(
        JobState.FAILED, 3, "exit code 3"
    )


def test_cancelled() -> None:
    assert status("12", acct("12|CANCELLED by 0|0:0|None\n")) == JobStatus(
        JobState.CANCELLED, 0, "cancelled"
    )


def test_cancelled_by_signal_keeps_the_shell_exit_code() -> None:
    found = status("12", acct("12|CANCELLED by 1000|0:15|None\n"))
    assert found == JobStatus(JobState.CANCELLED, 143, "cancelled")


@pytest.mark.parametrize(
    ("state", "exit_code", "code"),
    [
        ("TIMEOUT", "0:0", 0),
        ("OUT_OF_MEMORY", "0:125", 253),
        ("NODE_FAIL", "0:0", 0),
        ("PREEMPTED", "0:0", 0),
        ("BOOT_FAIL", "0:0", 0),
        ("DEADLINE", "0:0", 0),
    ],
)
def test_failed_states_name_the_slurm_state(state: str, exit_code: str, code: int) -> None:
    found = status("12", acct(f"12|{state}|{exit_code}|None\n"))
    assert found is not None
    assert found.state == JobState.FAILED
    assert found.exit_code == code
    assert found.reason.startswith(f"{state}: ")


def test_timeout_killed_by_signal_still_names_timeout() -> None:
    found = status("12", acct("12|TIMEOUT|0:15|None\n"))
    assert found == JobStatus(JobState.FAILED, 143, "TIMEOUT: reached its time limit")


def test_killed_by_signal() -> None:
    assert status("12", acct("12|FAILED|0:9|None\n")) == JobStatus(
        JobState.FAILED, 137, "killed by signal 9"
    )


def test_unknown_final_state_is_a_failure_naming_it() -> None:
    assert status("12", acct("12|SOMETHING_NEW|0:0|None\n")) == JobStatus(
        JobState.FAILED, 0, "SOMETHING_NEW"
    )


def test_revoked_is_cancelled() -> None:
    found = status("12", acct("12|REVOKED|0:0|None\n"))
    assert found is not None
    assert found.state == JobState.CANCELLED


def test_no_exit_code() -> None:
    found = status("12", acct("12|FAILED||None\n"))
    assert found is not None
    assert (found.state, found.exit_code) == (JobState.FAILED, None)


def test_accounting_still_running_or_pending() -> None:
    assert status("12", acct("12|RUNNING|0:0|None\n")) == JobStatus(JobState.RUNNING)
    assert status("12", acct("12|PENDING|0:0|None\n")) == JobStatus(JobState.PENDING)


def test_cancelled_for_a_dependency_keeps_the_reason() -> None:
    found = status("12", acct("12|CANCELLED by 0|0:0|DependencyNeverSatisfied\n"))
    assert found is not None
    assert "DependencyNeverSatisfied" in found.reason


# -- arrays ----------------------------------------------------------------------------------------

ELEMENTS = ["0", "1", "2", "3"]


def test_array_all_completed() -> None:
    text = "".join(f"12_{i}|COMPLETED|0:0|None\n" for i in ELEMENTS)
    assert status("12", acct(text), ELEMENTS) == JobStatus(JobState.SUCCEEDED, 0)


def test_array_one_failed_names_the_element() -> None:
    text = (
        "12_0|COMPLETED|0:0|None\n"
        "12_1|COMPLETED|0:0|None\n"
        "12_2|FAILED|3:0|None\n"
        "12_3|COMPLETED|0:0|None\n"
    )
    assert status("12", acct(text), ELEMENTS) == JobStatus(
        JobState.FAILED, 3, "element 2: exit code 3"
    )


def test_array_first_failed_element_is_named_in_numeric_order() -> None:
    expected = [str(i) for i in range(12)]
    text = "".join(
        f"12_{i}|{'FAILED' if i in (2, 10) else 'COMPLETED'}|{i}:0|None\n" for i in range(12)
    )
    found = status("12", acct(text), expected)
    assert found == JobStatus(JobState.FAILED, 2, "element 2: exit code 2")


def test_array_failure_wins_over_cancellation() -> None:
    text = "12_0|CANCELLED by 0|0:0|None\n12_1|TIMEOUT|0:0|None\n12_2|COMPLETED|0:0|None\n"
    found = status("12", acct(text), ["0", "1", "2"])
    assert found == JobStatus(JobState.FAILED, 0, "element 1: TIMEOUT: reached its time limit")


def test_array_cancelled_element() -> None:
    text = "12_0|CANCELLED by 0|0:0|None\n12_1|COMPLETED|0:0|None\n"
    found = status("12", acct(text), ["0", "1"])
    assert found == JobStatus(JobState.CANCELLED, 0, "element 0: cancelled")


def test_array_pending_remainder() -> None:
    text = "12_0|COMPLETED|0:0|None\n12_1|COMPLETED|0:0|None\n12_[2-3]|PENDING|0:0|None\n"
    assert status("12", acct(text), ELEMENTS) == JobStatus(JobState.PENDING)


def test_array_fewer_rows_than_expected() -> None:
    text = "12_0|COMPLETED|0:0|None\n12_1|COMPLETED|0:0|None\n12_2|COMPLETED|0:0|None\n"
    assert status("12", acct(text), ELEMENTS) == JobStatus(JobState.RUNNING)


def test_array_element_still_running_in_accounting() -> None:
    text = "12_0|COMPLETED|0:0|None\n12_1|RUNNING|0:0|None\n12_2|PENDING|0:0|None\n"
    assert status("12", acct(text), ["0", "1", "2"]) == JobStatus(JobState.RUNNING)


def test_array_live_elements() -> None:
    text = "12_0|RUNNING|None\n12_1|RUNNING|None\n12_2|PENDING|JobArrayTaskLimit\n"
    assert status("12", live(text), ELEMENTS) == JobStatus(JobState.RUNNING)
    pending = "12_[0-3]|PENDING|Priority\n"
    assert status("12", live(pending), ELEMENTS) == JobStatus(JobState.PENDING, reason="Priority")


# -- heterogeneous jobs ----------------------------------------------------------------------


def test_hetjob_running() -> None:
    rows = live("12+0|RUNNING|None\n12+1|RUNNING|None\n")
    assert status("12", rows) == JobStatus(JobState.RUNNING)


def test_hetjob_pending() -> None:
    rows = live("12+0|PENDING|Resources\n12+1|PENDING|Resources\n")
    assert status("12", rows) == JobStatus(JobState.PENDING, reason="Resources")


def test_hetjob_completed() -> None:
    rows = acct("12+0|COMPLETED|0:0|None\n12+1|COMPLETED|0:0|None\n")
    assert [row.element for row in rows] == ["+0", "+1"]
    assert status("12", rows) == JobStatus(JobState.SUCCEEDED, 0)


def test_hetjob_failed_leader() -> None:
    rows = acct("12+0|FAILED|1:0|None\n12+1|FAILED|1:0|None\n")
    assert status("12", rows) == JobStatus(JobState.FAILED, 1, "exit code 1")  # the leader's


# -- several jobs --------------------------------------------------------------------------------


def test_ids_not_present() -> None:
    rows = live("12|RUNNING|None\n") + acct("12|RUNNING|0:0|None\n")
    assert status("99", rows) is None
    assert status("99", []) is None


def test_id_prefix_is_not_a_match() -> None:
    rows = acct("123|COMPLETED|0:0|None\n1234_0|FAILED|1:0|None\n")
    assert status("12", rows) is None
    assert status("123", rows) == JobStatus(JobState.SUCCEEDED, 0)


def test_several_jobs_in_one_answer() -> None:
    """A whole answer to `query_command`: squeue's part, the separator, sacct's part."""
    stdout = (
        "20|RUNNING|None\n"
        "21|PENDING|Dependency\n"
        "22|PENDING|DependencyNeverSatisfied\n"
        "23_2|RUNNING|None\n"
        "23_3|PENDING|JobArrayTaskLimit\n"
        f"{QUERY_SEPARATOR}\n"
        "17|COMPLETED|0:0|None\n"
        "18|FAILED|2:0|None\n"
        "19|OUT_OF_MEMORY|0:125|None\n"
        "20|RUNNING|0:0|None\n"
        "21|PENDING|0:0|Dependency\n"
        "22|PENDING|0:0|DependencyNeverSatisfied\n"
        "23_0|COMPLETED|0:0|None\n"
        "23_1|COMPLETED|0:0|None\n"
        "23_2|RUNNING|0:0|None\n"
        "23_3|PENDING|0:0|JobArrayTaskLimit\n"
        "24+0|COMPLETED|0:0|None\n"
        "24+1|COMPLETED|0:0|None\n"
    )
    live_text, separator, acct_text = stdout.partition(QUERY_SEPARATOR)
    assert separator
    rows = live(live_text) + acct(acct_text)
    found = {
        job: status(job, rows, ELEMENTS if job == "23" else ())
        for job in ("17", "18", "19", "20", "21", "22", "23", "24", "25")
    }
    assert found == {
        "17": JobStatus(JobState.SUCCEEDED, 0),
        "18": JobStatus(JobState.FAILED, 2, "exit code 2"),
        "19": JobStatus(JobState.FAILED, 253, "OUT_OF_MEMORY: ran out of memory"),
        "20": JobStatus(JobState.RUNNING),
        "21": JobStatus(JobState.PENDING, reason="Dependency"),
        "22": JobStatus(JobState.PENDING, reason="DependencyNeverSatisfied"),
        "23": JobStatus(JobState.RUNNING),
        "24": JobStatus(JobState.SUCCEEDED, 0),
        "25": None,
    }


# -- query_command -------------------------------------------------------------------------------


def test_query_command_lists_the_ids_once_per_tool() -> None:
    command = query_command(["1", "2", "3"])
    squeue, separator, sacct = command.partition(f"echo {QUERY_SEPARATOR}")
    assert separator
    assert command.count("--jobs=1,2,3") == 2
    assert squeue.startswith("squeue ")
    assert squeue.count("--jobs=1,2,3") == 1
    assert sacct.lstrip("; ").startswith("sacct ")
    assert sacct.count("--jobs=1,2,3") == 1
    assert "--format='%i|%T|%r'" in squeue
    assert "--parsable2" in sacct
    assert "--allocations" in sacct
    assert "--format=JobID,State,ExitCode,Reason" in sacct


def test_query_command_quotes_odd_ids() -> None:
    command = query_command(["1;touch x"])
    assert command.count("--jobs='1;touch x'") == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_query_command_parses_in_bash() -> None:
    command = query_command(["1", "2", "3"])
    done = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_query_command_with_stand_in_tools(tmp_path: Path) -> None:
    """squeue and sacct stand-ins record their arguments and print rows; bash runs the command."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, rows in {
        "squeue": "2|RUNNING|None\n",
        "sacct": "1|COMPLETED|0:0|None\n2|RUNNING|0:0|None\n3_0|FAILED|1:0|None\n",
    }.items():
        script = bin_dir / tool
        script.write_text(
            "#!/bin/sh\n"
            f'for arg in "$@"; do printf "%s\\n" "$arg"; done > "{tmp_path}/{tool}.args"\n'
            f"printf '{rows}'\n"
        )
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-c", query_command(["1", "2", "3"])],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "squeue.args").read_text().splitlines() == [
        "--noheader",
        "--array",
        "--jobs=1,2,3",
        "--format=%i|%T|%r",
    ]
    assert (tmp_path / "sacct.args").read_text().splitlines() == [
        "--noheader",
        "--parsable2",
        "--allocations",
        "--jobs=1,2,3",
        "--format=JobID,State,ExitCode,Reason,Start",
    ]
    live_text, separator, acct_text = done.stdout.partition(QUERY_SEPARATOR)
    assert separator
    rows = live(live_text) + acct(acct_text)
    assert status("1", rows) == JobStatus(JobState.SUCCEEDED, 0)
    assert status("2", rows) == JobStatus(JobState.RUNNING)
    assert status("3", rows, ["0"]) == JobStatus(JobState.FAILED, 1, "exit code 1")


def test_cancelled_before_it_started() -> None:
    """sacct's Start of `None`: the job never ran (a dependency failed, or cancelled in queue)."""
    rows = parse_rows("12|CANCELLED by 0|0:0|None|None\n", live=False)
    assert summarize("12", rows) == JobStatus(JobState.CANCELLED, 0, "cancelled before it started")
    rows = parse_rows("12|CANCELLED by 0|0:15|None|2026-11-24T10:00:00\n", live=False)
    assert summarize("12", rows) == JobStatus(JobState.CANCELLED, 143, "cancelled")


def test_array_elements_cancelled_in_the_queue_count_as_final() -> None:
    """`12_[2-3]` CANCELLED: those elements never started, and the array is final."""
    rows = parse_rows(
        "12_0|CANCELLED by 0|0:15|None|2026-11-24T10:00:00\n"
        "12_1|CANCELLED by 0|0:15|None|2026-11-24T10:00:00\n"
        "12_[2-3]|CANCELLED by 0|0:0|None|None\n",
        live=False,
    )
    found = summarize("12", rows, ["0", "1", "2", "3"])
    assert found is not None
    assert found.state == JobState.CANCELLED
