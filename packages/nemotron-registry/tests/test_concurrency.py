"""Many real publisher processes on one name, started together: no version lost or duplicated.

Each child process (a fresh interpreter, so no state is shared but the storage) publishes a small
folder 50 times with metadata naming itself and the publish; the versions must come out as
exactly 1..400, each holding the data of the publish its metadata names, each verifiable.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nemotron.registry import ArtifactRegistry
from nemotron.registry._storage import open_fs
from nemotron.registry.testing import S3Server

PROCESSES = 8
PUBLISHES = 50
NAME = "team/concurrent"
CHECK_EVERY = 5  # each publisher reads latest and moves the alias `shared` every this many

# One publisher: report "ready", wait for "go" on stdin (all start together), publish, report;
# then, on "verify", verify its versions and report.
PUBLISHER = """
import json, sys
from pathlib import Path
from nemotron.registry import ArtifactRegistry

root, options, name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
me, count, every, work = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
registry = ArtifactRegistry(root, storage_options=options)
src = Path(work) / f"src-{me}"
(src / "sub").mkdir(parents=True)
(src / "sub" / "fixed.bin").write_bytes(bytes(range(256)) * 4)
print("ready", flush=True)
if sys.stdin.readline() != "go\\n":
    sys.exit("no go")
versions, latest = [], []
for seq in range(count):
    (src / "data.txt").write_text(f"{me}-{seq}")
    v = registry.publish(name, src, metadata={"publisher": me, "seq": seq})
    versions.append(v.version)
    if seq % every == 0:  # latest, read while the others publish
        latest.append([v.version, registry.resolve(name).version])
        registry.alias(name, "shared", v.version)  # an alias every publisher keeps moving
print(json.dumps({"versions": versions, "latest": latest}), flush=True)

# once every publisher is done: verify this one's versions (in parallel with the others)
if sys.stdin.readline() != "verify\\n":
    sys.exit("no verify")
reports = [registry.verify(name, n) for n in versions]
print(json.dumps([[r.version, r.ok, r.checked, r.summary()] for r in reports]), flush=True)
"""


def run_publishers(
    root: str, options: dict[str, Any], work: Path
) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """Start PROCESSES publishers, release them at once; when all are done, have each verify
    its versions. Returns what each reported of its publishes, and the verify reports."""
    procs: list[subprocess.Popen[str]] = []

    def stderr(me: int) -> str:
        return (work / f"stderr-{me}").read_text()

    def tell(line: str) -> None:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(line)
            proc.stdin.flush()

    def hear(me: int) -> str:
        stdout = procs[me].stdout
        assert stdout is not None
        line = stdout.readline()
        assert line, f"publisher {me} exited: {stderr(me)}"
        return line

    try:
        for me in range(PROCESSES):
            args = [root, json.dumps(options), NAME, str(me), str(PUBLISHES), str(CHECK_EVERY)]
            with (work / f"stderr-{me}").open("w") as err:  # a file: no pipe to fill up
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", PUBLISHER, *args, str(work)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        text=True,
                    )
                )
        for me in range(PROCESSES):
            assert hear(me) == "ready\n"
        tell("go\n")  # the barrier: every child is waiting on its stdin
        published = [json.loads(hear(me)) for me in range(PROCESSES)]
        tell("verify\n")
        verified = [row for me in range(PROCESSES) for row in json.loads(hear(me))]
        for me, proc in enumerate(procs):
            assert proc.wait(timeout=600) == 0, stderr(me)  # a guard against a hang
        return published, verified
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


def check_outcome(
    root: str,
    options: dict[str, Any],
    published: list[dict[str, Any]],
    verified: list[list[Any]],
) -> None:
    total = PROCESSES * PUBLISHES
    registry = ArtifactRegistry(root, storage_options=options)

    # what the publishers were given: every number once, increasing within each publisher
    given = sorted(n for r in published for n in r["versions"])
    assert given == list(range(1, total + 1))
    for r in published:
        assert r["versions"] == sorted(r["versions"])
        # latest as one process sees it never goes back, and is at least what it just committed
        seen = [latest for _, latest in r["latest"]]
        assert seen == sorted(seen)
        assert all(latest >= mine for mine, latest in r["latest"])

    # what the registry holds: versions 1..400, each the publish its metadata names
    entry = registry.get(NAME)
    assert entry is not None
    assert [v.version for v in entry.versions] == list(range(1, total + 1))
    pairs = [(v.metadata["publisher"], v.metadata["seq"]) for v in entry.versions]
    assert sorted(pairs) == [(i, j) for i in range(PROCESSES) for j in range(PUBLISHES)]
    for v in entry.versions:
        me, seq = v.metadata["publisher"], v.metadata["seq"]
        assert published[me]["versions"][seq] == v.version
        assert set(v.files) == {"data.txt", "sub/fixed.bin"}
        assert v.files["data.txt"].sha256 == hashlib.sha256(f"{me}-{seq}".encode()).hexdigest()

    # every version verified (its files against its manifest) after all publishes were done
    assert sorted(row[0] for row in verified) == list(range(1, total + 1))
    for _, ok, checked, summary in verified:
        assert ok and checked == 2, summary

    assert registry.resolve(NAME).version == total
    assert registry.resolve(NAME, "latest").version == total
    assert entry.aliases["latest"] == total
    assert registry.list() == [NAME]

    # the alias every publisher kept moving points at a version one of them gave it
    shared = registry.resolve(NAME, "shared")
    assert shared.version in {mine for r in published for mine, _ in r["latest"]}
    assert "shared" in shared.aliases

    # exactly one claim per publish (no claim lost to a retry), and no temp file left behind
    fs, base = open_fs(registry.root, options)
    below = [p[len(base.rstrip("/")) + 1 :] for p in fs.find(base)]
    claims = {p for p in below if p.endswith(".claim")}
    assert claims == {f"{NAME}/@versions/{n}.claim" for n in range(1, total + 1)}
    assert not [p for p in below if ".tmp-" in p or ".part-" in p]


@pytest.mark.slow
def test_concurrent_publishers_local(tmp_path: Path) -> None:
    root = str(tmp_path / "registry")
    check_outcome(root, {}, *run_publishers(root, {}, tmp_path))


@pytest.mark.slow
@pytest.mark.s3
def test_concurrent_publishers_s3(tmp_path: Path, s3_server: S3Server) -> None:
    root = f"s3://{s3_server.bucket()}/team/registry"
    options = s3_server.storage_options
    check_outcome(root, options, *run_publishers(root, options, tmp_path))
