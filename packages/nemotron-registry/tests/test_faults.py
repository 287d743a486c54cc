"""Faults: publishers SIGKILLed mid-upload, a full disk, sources failing mid-copy, corrupted files.

A version must be visible whole or not at all: whatever happens to a publisher, `resolve`, `get`,
`list`, `latest` and `art://` never show a half-published version, and the next publish works.
The killed publishers are real processes killed with SIGKILL at a known point of their copy: a
child wraps the copy loop (`_transfer._chunks`) to report how far it got, then hangs until killed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from fsspec import AbstractFileSystem

import nemotron.registry._transfer as transfer
from nemotron.registry import (
    ArtifactNotFoundError,
    ArtifactRegistry,
    ArtifactVersionNotFoundError,
    RegistryError,
    RegistryStorageError,
)
from nemotron.registry._storage import open_fs
from nemotron.registry.filesystem import ArtifactFileSystem

MiB = 1024 * 1024
LOCAL_AND_S3 = pytest.mark.parametrize(
    "root", ["local", pytest.param("s3", marks=pytest.mark.s3)], indirect=True
)

# A publisher in its own process. `stop-after N`: once N bytes went into the registry (the copy
# asked for the next chunk, so the previous one is written), print "stopped N" and hang, to be
# SIGKILLed there (each file's first chunk is 1 byte, so N can be "1 byte into a file").
# `fsize N`: a disk that takes no more than N bytes in any one file (RLIMIT_FSIZE, SIGXFSZ
# ignored, so writes fail with EFBIG). It prints the version, or the error it got, as JSON.
PUBLISHER = """
import json, resource, signal, sys
import nemotron.registry._transfer as transfer
from nemotron.registry import ArtifactRegistry

root, options, name, source, how, arg = sys.argv[1:7]
registry = ArtifactRegistry(root, storage_options=json.loads(options))
if how == "stop-after":
    written = 0

    def chunks(f):
        global written
        first = True
        while True:
            chunk = f.read(1 if first else transfer.CHUNK)
            first = False
            if not chunk:
                return
            yield chunk
            written += len(chunk)
            if written >= int(arg):
                print("stopped", written, flush=True)
                while True:
                    signal.pause()

    transfer._chunks = chunks
elif how == "fsize":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(arg), hard))
try:
    v = registry.publish(name, source)
except Exception as exc:
    kinds = [c.__name__ for c in type(exc).__mro__]
    print(json.dumps({"error": kinds, "message": str(exc)}), flush=True)
else:
    print(json.dumps({"version": v.version}), flush=True)
"""


class Publisher:
    """A publisher process (see PUBLISHER), killed and reaped by `close()` if still running."""

    def __init__(
        self, root: tuple[str, dict[str, Any]], name: str, source: Path, how: str, arg: int
    ) -> None:
        url, options = root
        args = [url, json.dumps(options), name, str(source), how, str(arg)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def line(self, guard: float = 300) -> str:
        """The next line it prints (failing with its stderr if it exits first)."""
        stdout = self.proc.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], guard)  # a guard against a hang
        line = stdout.readline() if ready else ""
        if not line:
            self.kill()
            assert self.proc.stderr is not None
            pytest.fail(f"publisher printed nothing: {self.proc.stderr.read()}")
        return line

    def kill(self) -> None:
        """SIGKILL it and reap it (a zombie's pid would still look alive to the reaper)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def result(self) -> dict[str, Any]:
        """What it printed once its publish returned or failed; it must then exit 0."""
        out: dict[str, Any] = json.loads(self.line())
        assert self.proc.wait(timeout=300) == 0
        self.kill()
        return out


@pytest.fixture
def publishers() -> Iterator[Callable[..., Publisher]]:
    """Start publisher processes; every one still running at the end is killed."""
    started: list[Publisher] = []

    def start(*args: Any) -> Publisher:
        started.append(Publisher(*args))
        return started[-1]

    yield start
    for publisher in started:
        publisher.kill()


def storage(registry: ArtifactRegistry, options: dict[str, Any]) -> tuple[AbstractFileSystem, str]:
    """The root's filesystem and path, to look at (or damage) what is stored."""
    fs, base = open_fs(registry.root, options)
    return fs, base.rstrip("/")


def stored(registry: ArtifactRegistry, options: dict[str, Any]) -> list[str]:
    """Every file under the root, relative to it."""
    fs, base = storage(registry, options)
    return sorted(p[len(base) + 1 :] for p in fs.find(base))


def assert_no_temp_files(registry: ArtifactRegistry, options: dict[str, Any]) -> None:
    assert [p for p in stored(registry, options) if ".tmp-" in p or ".part-" in p] == []


def assert_data_removed(
    registry: ArtifactRegistry, options: dict[str, Any], name: str, n: int
) -> None:
    assert [p for p in stored(registry, options) if p.startswith(f"{name}/@versions/{n}/")] == []
    fs, base = storage(registry, options)
    assert not fs.exists(f"{base}/{name}/@versions/{n}")


def claim(registry: ArtifactRegistry, options: dict[str, Any], name: str, n: int) -> Any:
    """The body of the claim on version `n` of `name`."""
    fs, base = storage(registry, options)
    return json.loads(fs.cat_file(f"{base}/{name}/@versions/{n}.claim"))


def assert_not_visible(
    registry: ArtifactRegistry, name: str, n: int, committed: list[int], file: str
) -> None:
    """Version `n` of `name` shows nowhere; `committed` are the versions that must show."""
    if committed:
        assert registry.resolve(name).version == committed[-1]
        assert registry.resolve(name, "latest").version == committed[-1]
        entry = registry.get(name)
        assert entry is not None
        assert [v.version for v in entry.versions] == committed
        assert entry.aliases["latest"] == committed[-1]
        assert registry.list() == [name]
    else:
        with pytest.raises(ArtifactNotFoundError):
            registry.resolve(name)
        with pytest.raises(ArtifactNotFoundError):
            registry.resolve(name, "latest")
        assert registry.get(name) is None
        assert registry.list() == []
        with pytest.raises(ArtifactNotFoundError):
            registry.open(f"art://{name}/{file}")
    with pytest.raises((ArtifactNotFoundError, ArtifactVersionNotFoundError)):
        registry.resolve(name, n)
    with pytest.raises((ArtifactNotFoundError, ArtifactVersionNotFoundError)):
        registry.open(f"art://{name}:v{n}/{file}")
    art = ArtifactFileSystem(registry)
    with pytest.raises(FileNotFoundError):
        art.open(f"art://{name}:v{n}/{file}", "rb")
    assert not art.exists(f"art://{name}:v{n}")


def assert_next_publish_works(
    registry: ArtifactRegistry, options: dict[str, Any], name: str, dead: int, tmp_path: Path
) -> None:
    """A publish after the failed one gets the next number; the failed one's data is gone."""
    src = tmp_path / "next"
    src.mkdir()
    (src / "next.txt").write_text("after the fault")
    v = registry.publish(name, src)
    assert v.version == dead + 1
    assert registry.resolve(name).version == dead + 1
    assert registry.verify(name).ok
    with registry.open(f"art://{name}/next.txt") as f:
        assert f.read() == b"after the fault"
    with pytest.raises(ArtifactVersionNotFoundError):
        registry.resolve(name, dead)
    assert_data_removed(registry, options, name, dead)
    assert claim(registry, options, name, dead)["aborted"] is True  # the number stays taken
    assert_no_temp_files(registry, options)


# -- (a), (b): SIGKILL mid-upload ----------------------------------------------------------------
@LOCAL_AND_S3
def test_publisher_killed_after_its_first_byte(
    root: tuple[str, dict[str, Any]], tmp_path: Path, publishers: Callable[..., Publisher]
) -> None:
    """Killed 1 byte into its second file, on a name never published: nothing shows."""
    url, options = root
    registry = ArtifactRegistry(url, storage_options=options)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"first")
    (src / "b.bin").write_bytes(b"second file" * 1000)

    publisher = publishers(root, "team/fresh", src, "stop-after", len(b"first") + 1)
    assert publisher.line() == f"stopped {len(b'first') + 1}\n"
    # it really is mid-data: v1 is claimed and its first file stored, with no manifest
    present = stored(registry, options)
    assert "team/fresh/@versions/1.claim" in present
    assert "team/fresh/@versions/1/a.txt" in present
    assert "team/fresh/@versions/1.json" not in present
    publisher.kill()
    assert "aborted" not in claim(registry, options, "team/fresh", 1)  # it died: no cleanup

    assert_not_visible(registry, "team/fresh", 1, [], "a.txt")
    assert not ArtifactFileSystem(registry).exists("art://team/fresh/a.txt")
    assert_no_temp_files(registry, options)
    assert_next_publish_works(registry, options, "team/fresh", 1, tmp_path)
    assert registry.list() == ["team/fresh"]


@pytest.mark.slow
@LOCAL_AND_S3
def test_publisher_killed_deep_into_a_big_artifact(
    root: tuple[str, dict[str, Any]], tmp_path: Path, publishers: Callable[..., Publisher]
) -> None:
    """Killed 64 MiB into a 128 MiB file of v2: v1 stays latest, v2 shows nowhere."""
    url, options = root
    registry = ArtifactRegistry(url, storage_options=options)
    small = tmp_path / "small"
    small.mkdir()
    (small / "weights.bin").write_bytes(b"v1")
    assert registry.publish("team/model", small).version == 1
    big = tmp_path / "big"
    big.mkdir()
    (big / "config.json").write_text('{"layers": 2}')
    with (big / "weights.bin").open("wb") as f:
        f.truncate(128 * MiB)

    publisher = publishers(root, "team/model", big, "stop-after", 64 * MiB)
    written = int(publisher.line().split()[1])
    assert 64 * MiB <= written < 128 * MiB
    fs, base = storage(registry, options)
    partial = f"{base}/team/model/@versions/2/weights.bin"
    if registry.root.startswith("file://"):
        assert fs.size(partial) >= 64 * MiB - transfer.CHUNK  # on disk, not just in a buffer
    else:  # s3fs uploads 50 MiB parts: one is up, in a multipart upload that never completes
        uploads = fs.list_multipart_uploads(base.split("/", 1)[0])  # type: ignore[attr-defined]
        assert partial.split("/", 1)[1] in {u["Key"] for u in uploads}
        assert not fs.exists(partial)
    publisher.kill()
    assert "aborted" not in claim(registry, options, "team/model", 2)  # it died: no cleanup

    assert_not_visible(registry, "team/model", 2, [1], "weights.bin")
    with ArtifactFileSystem(registry).open("art://team/model/weights.bin", "rb") as f:
        assert f.read() == b"v1"  # latest is still v1
    assert_no_temp_files(registry, options)
    assert_next_publish_works(registry, options, "team/model", 2, tmp_path)
    assert [v.version for v in registry.get("team/model").versions] == [1, 3]  # type: ignore[union-attr]
    assert registry.verify("team/model", 1).ok


# -- (d): a full disk -------------------------------------------------------------------------
def test_full_disk_fails_cleanly(tmp_path: Path, publishers: Callable[..., Publisher]) -> None:
    """Writes failing with EFBIG mid-copy: one RegistryStorageError naming the file, no trace."""
    url = str(tmp_path / "registry")
    registry = ArtifactRegistry(url)
    first = tmp_path / "first"
    first.mkdir()
    (first / "ok.txt").write_text("v1")
    assert registry.publish("team/data", first).version == 1
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("small enough")
    (src / "b.bin").write_bytes(os.urandom(3 * MiB))  # bigger than the disk takes

    out = publishers((url, {}), "team/data", src, "fsize", MiB).result()
    assert "RegistryStorageError" in out["error"], out
    message = out["message"]
    assert "\n" not in message
    assert "team/data" in message and "v2" in message
    assert f"{url}/team/data/@versions/2/b.bin" in message
    assert os.strerror(27) in message  # EFBIG: "File too large"

    assert_not_visible(registry, "team/data", 2, [1], "a.txt")
    assert_data_removed(registry, {}, "team/data", 2)
    assert_no_temp_files(registry, {})
    assert claim(registry, {}, "team/data", 2)["aborted"] is True  # by the publisher itself
    assert_next_publish_works(registry, {}, "team/data", 2, tmp_path)


def test_full_disk_on_the_manifest_fails_cleanly(
    tmp_path: Path, publishers: Callable[..., Publisher]
) -> None:
    """Data fits but the manifest does not: still no version, and a RegistryStorageError."""
    url = str(tmp_path / "registry")
    registry = ArtifactRegistry(url)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):  # a manifest of 40 file records: a few KiB, each file only 10 bytes
        (src / f"file-with-a-long-name-{i:04d}.txt").write_text(f"{i:010d}")

    out = publishers((url, {}), "team/many", src, "fsize", 1024).result()
    assert "RegistryStorageError" in out["error"], out
    assert "\n" not in out["message"]
    assert "team/many" in out["message"]
    assert_not_visible(registry, "team/many", 1, [], "file-with-a-long-name-0000.txt")
    assert_data_removed(registry, {}, "team/many", 1)
    assert_no_temp_files(registry, {})
    assert_next_publish_works(registry, {}, "team/many", 1, tmp_path)


# -- (e): an exception mid-publish --------------------------------------------------------------
def _vanish(path: Path) -> None:
    path.unlink()


def _become_unreadable(path: Path) -> None:
    # chmod 000 stops no root; a directory in the file's place cannot be read by anyone
    path.unlink()
    path.mkdir()


def _interrupt(path: Path) -> None:
    raise KeyboardInterrupt


@LOCAL_AND_S3
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (_vanish, RegistryStorageError),
        (_become_unreadable, RegistryStorageError),
        (_interrupt, KeyboardInterrupt),
    ],
    ids=["vanishes", "unreadable", "interrupted"],
)
def test_source_failing_mid_publish_leaves_nothing(
    root: tuple[str, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[[Path], None],
    error: type[BaseException],
) -> None:
    """The second source file fails once the first is stored: the error, and no version."""
    url, options = root
    registry = ArtifactRegistry(url, storage_options=options)
    first = tmp_path / "first"
    first.mkdir()
    (first / "a.txt").write_text("v1")
    assert registry.publish("team/data", first).version == 1
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("stored before the fault")
    (src / "b.txt").write_text("fails")
    (src / "c.txt").write_text("never reached")

    copy_chunks = transfer._chunks
    calls: list[int] = []

    def chunks(f: IO[bytes]) -> Iterator[bytes]:
        yield from copy_chunks(f)
        calls.append(1)
        if len(calls) == 1:  # a.txt is copied (not yet closed): now b.txt fails
            fault(src / "b.txt")

    monkeypatch.setattr(transfer, "_chunks", chunks)
    with pytest.raises(error) as caught:
        registry.publish("team/data", src)
    monkeypatch.undo()
    if error is RegistryStorageError:
        message = str(caught.value)
        assert "\n" not in message
        assert "team/data" in message and "v2" in message
        assert str(src / "b.txt") in message

    assert_not_visible(registry, "team/data", 2, [1], "a.txt")
    assert_data_removed(registry, options, "team/data", 2)
    assert_no_temp_files(registry, options)
    assert_next_publish_works(registry, options, "team/data", 2, tmp_path)


def test_missing_source_claims_nothing(root: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    """A source that is not there fails before any version is claimed."""
    url, options = root
    registry = ArtifactRegistry(url, storage_options=options)
    with pytest.raises(RegistryError, match="no such file"):
        registry.publish("team/data", tmp_path / "nothing-here")
    assert registry.get("team/data") is None
    assert [p for p in stored(registry, options) if p.endswith(".claim")] == []


# -- (c): corrupted files -----------------------------------------------------------------------
def _flip(fs: AbstractFileSystem, path: str) -> None:
    data = bytearray(fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(path, bytes(data))


def _truncate(fs: AbstractFileSystem, path: str) -> None:
    fs.pipe_file(path, bytes(fs.cat_file(path))[:-1])


def _delete(fs: AbstractFileSystem, path: str) -> None:
    fs.rm_file(path)


Damage = Callable[[AbstractFileSystem, str], None]

# name: (damage done to files, stray files added), then what verify must report
CORRUPTIONS: dict[str, tuple[dict[str, Damage], list[str], dict[str, list[str]]]] = {
    "flipped": ({"blend.json": _flip}, [], {"changed": ["blend.json"]}),
    "truncated": ({"sub/shard-000.bin": _truncate}, [], {"changed": ["sub/shard-000.bin"]}),
    "deleted": ({"sub/shard-000.bin": _delete}, [], {"missing": ["sub/shard-000.bin"]}),
    "extra": ({}, ["sub/stray.bin"], {"extra": ["sub/stray.bin"]}),
    "all": (
        {"blend.json": _flip, "sub/shard-000.bin": _truncate, "sub/shard-001.bin": _delete},
        ["zz.txt", "sub/deeper/stray.bin"],
        {
            "changed": ["blend.json", "sub/shard-000.bin"],
            "missing": ["sub/shard-001.bin"],
            "extra": ["sub/deeper/stray.bin", "zz.txt"],
        },
    ),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_verify_catches_corruption(
    registry: ArtifactRegistry, root: tuple[str, dict[str, Any]], tree: Path, corruption: str
) -> None:
    (tree / "sub" / "shard-001.bin").write_bytes(b"\x07" * 300)
    v = registry.publish("team/data", tree)
    v2 = registry.publish("team/data", tree)
    assert registry.verify("team/data", v.version).ok
    damage, strays, found = CORRUPTIONS[corruption]
    fs, base = storage(registry, root[1])
    folder = f"{base}/team/data/@versions/{v.version}"
    for rel, hurt in damage.items():
        hurt(fs, f"{folder}/{rel}")
    for rel in strays:
        fs.makedirs(f"{folder}/{rel}".rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(f"{folder}/{rel}", b"not in the manifest")

    report = registry.verify("team/data", v.version)
    want = {"changed": [], "missing": [], "extra": [], **found}
    assert report.changed == want["changed"]
    assert report.missing == want["missing"]
    assert report.extra == want["extra"]
    assert not report.ok and not report
    assert report.checked == 3 - len(want["missing"])
    assert "FAILED" in report.summary()
    assert all(rel in report.summary() for rels in found.values() for rel in rels)
    assert registry.verify("team/data", v2.version).ok  # the other version is untouched


@pytest.mark.parametrize("damage", ["flipped", "truncated", "deleted"])
def test_verify_catches_corruption_of_a_one_file_artifact(
    registry: ArtifactRegistry, root: tuple[str, dict[str, Any]], tree: Path, damage: str
) -> None:
    v = registry.publish("team/blend", tree / "blend.json")
    assert v.kind == "file" and registry.verify("team/blend").ok
    fs, base = storage(registry, root[1])
    path = f"{base}/team/blend/@versions/{v.version}/blend.json"
    {"flipped": _flip, "truncated": _truncate, "deleted": _delete}[damage](fs, path)
    report = registry.verify("team/blend")
    if damage == "deleted":
        assert (report.missing, report.changed, report.checked) == (["blend.json"], [], 0)
    else:
        assert (report.missing, report.changed, report.checked) == ([], ["blend.json"], 1)
    assert report.extra == [] and not report.ok
