"""Module caches are dropped in a forked child: it opens its own connections and pollers."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from nrun.config import Partial, dump
from nrun.exec.base import Job, JobState
from nrun.exec.probes import echo
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel, _cluster, _poller, _ssh
from nrun.exec.testing import wait_final

pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def _in_child(check: Callable[[], bool], timeout: int = 30) -> int:
    """Fork, run `check` in the child (killed after `timeout` s); the child's exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        code = 1
        try:
            signal.alarm(timeout)
            code = 0 if check() else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.usefixtures("cluster")
def test_an_ssh_connection_is_not_shared_with_a_forked_child(ssh_tunnel: SSHTunnel) -> None:
    """The child opens a connection of its own (the parent's reader thread is not in it), and
    the parent's goes on working untouched after the child is done."""
    assert ssh_tunnel.run("echo parent").stdout == "parent\n"
    connections = ssh_tunnel.stats.connections

    def child() -> bool:
        fresh = not _ssh._links
        answer = ssh_tunnel.run("echo child").stdout
        ssh_tunnel.close()
        return fresh and answer == "child\n" and ssh_tunnel.stats.connections == 1

    assert _in_child(child) == 0
    assert ssh_tunnel.run("echo parent again").stdout == "parent again\n"
    assert ssh_tunnel.stats.connections == connections  # the parent never had to reconnect


@pytest.mark.usefixtures("cluster")
def test_pollers_and_runtime_checks_are_not_inherited(tmp_path: Path) -> None:
    """A child forked while a parent thread holds the cluster's poller still gets statuses (its
    own poller), and checks the runtime on the cluster again."""
    executor = SlurmExecutor(job_dir=str(tmp_path / "job"), python="/usr/bin/python3")
    job_id = executor.launch(Job("t", dump(Partial(echo), tmp_path / "t.yaml")))
    assert wait_final(executor, job_id).state == JobState.SUCCEEDED
    assert _cluster._ready_runtimes
    shared = _poller.poller(LocalTunnel())
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with shared._lock:  # a waiter in the middle of a query at the moment of the fork
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:

        def child() -> bool:
            fresh = not _poller._pollers and not _cluster._ready_runtimes
            return fresh and executor.status(job_id).state == JobState.SUCCEEDED

        assert _in_child(child) == 0
    finally:
        release.set()
        holder.join()
    assert _poller.poller(LocalTunnel()) is shared
