"""Benchmarks of nemotron.registry: resolve among many versions, list many names, a 1 GiB publish,
and many processes publishing one name at once; on a local root and on S3.

Run: `uv run python benchmarks/registry_bench.py [--quick] [--only SECTION,...] [--no-s3]`, the
sections being resolve, list, publish and concurrent. Prints tables of medians; asserts nothing.
`--quick` uses small sizes (a smoke test, under a minute).

S3 is moto's real HTTP server on 127.0.0.1 (`nemotron.registry.testing.S3Server`), in this
process. Its times are mostly moto's CPU (a request costs milliseconds of Python on the server
side), so the figure that carries over to real S3 is the number of requests, counted here on the
wire: a `before-send` hook on the s3fs client records every HTTP request it sends.

The many versions and names are not all made by `publish` (over moto that takes hours): most are
written straight into the store as the same objects `publish` writes (claim, manifest, `@latest`
hint, name marker; locally as files, on S3 into moto's object store), and the last few versions
and names come from real `publish` calls. The output says how many of each.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nemotron.registry import ArtifactRegistry, ArtifactVersion, FileRecord
from nemotron.registry._fsspec import FsspecBackend
from nemotron.registry.testing import S3Server

MIB = 1024 * 1024
SECTIONS = ("resolve", "list", "publish", "concurrent")
REAL_PUBLISHES = 5
"""Versions (and names) at the top that come from real `publish` calls."""


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is."""

    versions: int
    names: int
    big_files: int
    big_file_mib: int
    processes: int
    publishes: int
    local_calls: int
    s3_calls: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(1_000, 100, 4, 32, 4, 10, 100, 10)
        return cls(10_000, 1_000, 8, 128, 8, 50, 300, 30)


# -- measuring ---------------------------------------------------------------------------------
def median_seconds(call: Callable[[], object], runs: int) -> float:
    """Median wall time of `call()` over `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class RequestLog:
    """Every HTTP request an s3fs filesystem sends, classified (HEAD, GET, PUT, LIST...)."""

    def __init__(self, fs: Any) -> None:
        self.requests: list[tuple[str, str]] = []
        fs.connect()  # creates the botocore client now, so the hook is on the one in use
        fs.s3.meta.events.register("before-send.s3", self._record)

    def _record(self, request: Any, **_: Any) -> None:
        self.requests.append((request.method, request.url))

    @classmethod
    def of(cls, registry: ArtifactRegistry) -> RequestLog:
        """The log of the filesystem `registry` keeps its root on."""
        return cls(backend(registry).store.fs)

    def clear(self) -> None:
        self.requests.clear()

    def __len__(self) -> int:
        return len(self.requests)

    def kinds(self) -> Counter[str]:
        """Requests by kind: LIST1 is a one-key listing (`exists` of a missing key in s3fs)."""
        out: Counter[str] = Counter()
        for method, url in self.requests:
            query = parse_qs(urlsplit(url).query)
            if method == "GET" and "list-type" in query:
                out["LIST1" if query.get("max-keys") == ["1"] else "LIST"] += 1
            else:
                out[method] += 1
        return out

    def full_listings(self, folder: str) -> int:
        """Listings (not one-key probes) of keys under `folder` (an object key prefix)."""
        count = 0
        for method, url in self.requests:
            query = parse_qs(urlsplit(url).query)
            if method == "GET" and "list-type" in query and query.get("max-keys") != ["1"]:
                count += query.get("prefix", [""])[0].startswith(folder)
        return count

    def measure(self, call: Callable[[], object], runs: int) -> tuple[float, float, Counter[str]]:
        """Median seconds and median requests per call of `call()`, and the kinds of the last."""
        times, counts = [], []
        kinds: Counter[str] = Counter()
        for _ in range(runs):
            self.clear()
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
            counts.append(len(self))
            kinds = self.kinds()
        return statistics.median(times), statistics.median(counts), kinds


def describe(kinds: Counter[str]) -> str:
    order = ["HEAD", "GET", "LIST1", "LIST", "PUT", "POST", "DELETE"]
    return " ".join(f"{k} {kinds[k]}" for k in order if kinds.get(k))


def backend(registry: ArtifactRegistry) -> FsspecBackend:
    found = registry._backend
    assert isinstance(found, FsspecBackend)
    return found


# -- S3 ----------------------------------------------------------------------------------------
class ServerErrors(logging.Handler):
    """Counts (and keeps quiet) the errors moto's server logs: each one a 500 the client retries.

    moto's threaded server can fail a GET of a key that another request is overwriting at that
    moment (it closes the old value's buffer): its own race, seen when 8 processes replace the
    `@latest` hint while others read it.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


class S3:
    """A moto S3 server for the run, one bucket, and direct writes into moto's object store."""

    def __init__(self) -> None:
        self.errors = ServerErrors()
        werkzeug = logging.getLogger("werkzeug")
        werkzeug.setLevel(logging.ERROR)
        werkzeug.addHandler(self.errors)
        werkzeug.propagate = False
        self.server = S3Server().start()
        self.bucket = self.server.bucket()

    def root(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def registry(self, prefix: str) -> ArtifactRegistry:
        return ArtifactRegistry(self.root(prefix), storage_options=self.server.storage_options)

    def put_direct(self, objects: dict[str, bytes]) -> None:
        """Store `{path: body}` (s3fs paths, `bucket/key`) in moto's store, not over HTTP."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        store = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
        for path, body in objects.items():
            bucket, key = path.split("/", 1)
            store.put_object(bucket, key, body)

    def head_floor(self, runs: int) -> float:
        """Median time of one HEAD of a small object: this moto's cost of any one request."""
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.server.storage_options)
        path = f"{self.bucket}/floor"
        fs.pipe_file(path, b"x")
        return median_seconds(lambda: fs.info(path), runs)

    def stop(self) -> None:
        self.server.stop()


# -- writing versions and names as publish does -------------------------------------------------
def claim_body(n: int) -> bytes:
    return json.dumps(
        {
            "token": f"bench-{n}",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": None,
            "claimed_at": "2025-01-01T00:00:00+00:00",
        }
    ).encode()


def manifest_body(name: str, n: int, source: str, record: FileRecord) -> bytes:
    version = ArtifactVersion(
        name=name,
        version=n,
        url=source,
        producer="bench",
        metadata={"step": n},
        files={source.rsplit("/", 1)[-1]: record},
        mode="reference",
        kind="file",
    )
    return version.model_dump_json(exclude={"aliases"}, indent=1).encode()


def version_objects(reg: ArtifactRegistry, name: str, upto: int, source: str) -> dict[str, bytes]:
    """Claims and manifests of versions 1..`upto` of `name`, its `@latest` hint and name marker."""
    b = backend(reg)
    data = Path(source).read_bytes()
    record = FileRecord(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    url = Path(source).resolve().as_uri()
    objects: dict[str, bytes] = {}
    for n in range(1, upto + 1):
        objects[b._claim(name, n)] = claim_body(n)
        objects[b._manifest(name, n)] = manifest_body(name, n, url, record)
    objects[f"{b._dir(name)}/@latest"] = str(upto).encode()
    objects[b._marker(name)] = b""
    return objects


def write_local(objects: dict[str, bytes]) -> None:
    for path, body in objects.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)


def small_tree(folder: Path) -> Path:
    """A small source folder: two files, one nested (what the concurrency test publishes)."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "blend.json").write_text('{"weights": [0.5, 0.5]}')
    (folder / "sub" / "shard-000.bin").write_bytes(os.urandom(4096))
    return folder


# -- printing ----------------------------------------------------------------------------------
def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.3f}" if seconds < 0.01 else f"{seconds * 1000:.1f}"


def table(header: list[str], rows: list[list[str]], widths: list[int]) -> None:
    """Print rows of cells: the first left-aligned, then right-aligned; width 0 is free text."""

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return f"{first:<{widths[0]}}" + "".join(
            f"{c:>{w}}" if w else f"  {c}" for c, w in zip(rest, widths[1:], strict=True)
        )

    print(line(header))
    for row in rows:
        print(line(row))


# -- 1. resolve among many versions --------------------------------------------------------------
def listing_resolve(reg: ArtifactRegistry, name: str) -> ArtifactVersion:
    """`latest` the way an index-free registry without claims would: list every version file,
    take the highest manifest and read it."""
    b = backend(reg)
    entries = b.store.listdir(f"{b._dir(name)}/@versions")
    top = max(int(e[:-5]) for e in entries if e.endswith(".json") and e[:-5].isdigit())
    raw = b.store.read(b._manifest(name, top))
    assert raw is not None
    return ArtifactVersion.model_validate_json(raw)


def drop_hint(reg: ArtifactRegistry, name: str) -> Callable[[], None]:
    """Remove the `@latest` hint of `name`; returns what puts it back."""
    b = backend(reg)
    path = f"{b._dir(name)}/@latest"
    raw = b.store.read(path)
    b.store.remove(path)
    return lambda: b.store.replace(path, raw or b"")


def bench_resolve(sizes: Sizes, work: Path, s3: S3 | None) -> None:
    n, name = sizes.versions, "bench/model"
    direct = n - REAL_PUBLISHES
    source = work / "weights.bin"
    source.write_bytes(os.urandom(1024))
    src = str(source)
    tree = small_tree(work / "tree")
    print(
        f"\n1. resolve(name, 'latest') among {n:,} versions ({direct:,} written as publish writes"
        f" them, claim + manifest, as files / into moto's store; the last {REAL_PUBLISHES} by"
        " publish())"
    )
    results: dict[str, dict[str, Any]] = {}

    def run(
        label: str, reg: ArtifactRegistry, log: RequestLog | None, make: Callable[[], Any]
    ) -> None:
        setup_start = time.perf_counter()
        make()
        publish_times, publish_requests = [], []
        for i in range(REAL_PUBLISHES):
            if log:
                log.clear()
            start = time.perf_counter()
            v = reg.publish(name, tree, metadata={"real": i})
            publish_times.append(time.perf_counter() - start)
            publish_requests.append(len(log) if log else 0)
        setup = time.perf_counter() - setup_start
        assert v.version == n, v.version
        calls = sizes.s3_calls if log else sizes.local_calls
        out: dict[str, Any] = {"setup": setup, "publish": statistics.median(publish_times)}
        if log:
            out["publish requests"] = statistics.median(publish_requests)
            out["publish kinds"] = log.kinds()

        def measure(key: str, call: Callable[[], object], runs: int) -> None:
            if log:
                out[key] = log.measure(call, runs)
            else:
                out[key] = (median_seconds(call, runs), None, Counter())

        latest = reg.resolve(name, "latest")
        assert latest.version == n and "latest" in latest.aliases
        measure("warm", lambda: reg.resolve(name, "latest"), calls)
        out["warm lists @versions/"] = log.full_listings(versions_key(reg, name)) if log else 0

        fresh_times: list[float] = []
        fresh_counts: list[int] = []
        fresh_kinds: Counter[str] = Counter()
        for _ in range(max(3, calls // 5)):
            other = ArtifactRegistry(reg.root, storage_options=backend(reg).storage_options)
            other_log = RequestLog.of(other) if log else None  # its own client, its own count
            start = time.perf_counter()
            other.resolve(name, "latest")
            fresh_times.append(time.perf_counter() - start)
            if other_log:
                fresh_counts.append(len(other_log))
                fresh_kinds = other_log.kinds()
        out["fresh"] = (
            statistics.median(fresh_times),
            statistics.median(fresh_counts) if fresh_counts else None,
            fresh_kinds,
        )
        restore = drop_hint(reg, name)
        measure("no hint", lambda: reg.resolve(name, "latest"), max(3, calls // 3))
        restore()
        measure("listing", lambda: listing_resolve(reg, name), 3)
        if log is None:
            measure("get", lambda: reg.get(name), 3)
        results[label] = out

    root = work / "resolve-root"
    local = ArtifactRegistry(root)
    run("local", local, None, lambda: write_local(version_objects(local, name, direct, src)))
    shutil.rmtree(root)
    if s3:
        reg = s3.registry("resolve")
        log = RequestLog.of(reg)
        run("s3", reg, log, lambda: s3.put_direct(version_objects(reg, name, direct, src)))

    lo = results["local"]
    s = results.get("s3")
    print(
        f"   set up: local {lo['setup']:.1f} s"
        + (f", S3 {s['setup']:.1f} s" if s else "")
        + f"; one real publish() of a 2-file folder: local {ms(lo['publish'])} ms"
        + (
            f", S3 {ms(s['publish'])} ms and {s['publish requests']:.0f} requests"
            f" ({describe(s['publish kinds'])})"
            if s
            else ""
        )
    )
    rows = []
    labels = {
        "warm": "resolve latest (same registry, again)",
        "fresh": "resolve latest (new ArtifactRegistry)",
        "no hint": "resolve latest, @latest hint removed",
        "listing": "latest by listing @versions/ (no claims)",
        "get": "get(name): list + read every manifest",
    }
    for key, label in labels.items():
        local_s = lo[key][0] if key in lo else None
        if s and key in s:
            s3_s, reqs, kinds = s[key]
            s3_cells = [ms(s3_s), f"{reqs:.0f}" if reqs is not None else "-", describe(kinds)]
        elif s and key == "get":
            est = f"≥ {n:,} GETs: one per manifest"
            s3_cells = ["not run", "-", est]
        else:
            s3_cells = ["-", "-", ""]
        rows.append([label, ms(local_s), *s3_cells])
    table(
        ["", "local ms", "S3 ms", "S3 requests", "S3 request kinds (last call)"],
        rows,
        [44, 11, 11, 13, 0],
    )
    if s:
        print(
            f"   S3: listings of @versions/ during {sizes.s3_calls} warm resolves:"
            f" {s['warm lists @versions/']} (the claims are probed one key at a time)"
        )


def versions_key(reg: ArtifactRegistry, name: str) -> str:
    """The object key prefix (no bucket) of `name`'s versions folder."""
    b = backend(reg)
    return f"{b._dir(name)}/@versions/".split("/", 1)[1]


# -- 2. list many names --------------------------------------------------------------------------
def name_of(i: int) -> str:
    return f"team{i % 10}/run{i:05d}/data"


def bench_list(sizes: Sizes, work: Path, s3: S3 | None) -> None:
    count = sizes.names
    direct = count - REAL_PUBLISHES
    source = work / "weights.bin"
    source.write_bytes(os.urandom(1024))
    print(
        f"\n2. list() of {count:,} names ({direct:,} name markers written as publish writes them"
        f" with one version each; {REAL_PUBLISHES} names by publish())"
    )
    rows: dict[str, list[str]] = {}

    def objects(reg: ArtifactRegistry) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(direct):
            out.update(version_objects(reg, name_of(i), 1, str(source)))
        return out

    def run(label: str, reg: ArtifactRegistry, log: RequestLog | None) -> None:
        for i in range(direct, count):
            reg.publish(name_of(i), source)
        runs = sizes.s3_calls if log else max(10, sizes.local_calls // 10)
        got = reg.list()
        found = "ok" if got == sorted(name_of(i) for i in range(count)) else f"{len(got)} found!"
        for prefix in ("", "team3/"):
            call = functools.partial(reg.list, prefix)
            if log:
                seconds, reqs, kinds = log.measure(call, runs)
                cells = [ms(seconds), f"{reqs:.0f}", describe(kinds)]
            else:
                cells = [ms(median_seconds(call, runs))]
            rows.setdefault(prefix, []).extend(cells)
        rows.setdefault("check", []).append(found)

    root = work / "list-root"
    local = ArtifactRegistry(root)
    write_local(objects(local))
    run("local", local, None)
    shutil.rmtree(root)
    if s3:
        reg = s3.registry("list")
        s3.put_direct(objects(reg))
        run("s3", reg, RequestLog.of(reg))
    else:
        for key in rows:
            rows[key].extend(["-", "-", ""])
    table(
        ["", "local ms", "S3 ms", "S3 requests", "S3 request kinds (last call)"],
        [
            [f"list() -> {count:,} names ({' / '.join(rows['check'])})", *rows[""]],
            [f"list('team3/') -> {count // 10:,} names", *rows["team3/"]],
        ],
        [44, 11, 11, 13, 0],
    )


# -- 3. a big publish ------------------------------------------------------------------------------
def write_random(folder: Path, files: int, mib: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(files):
        path = folder / f"shard-{i:03d}.bin"
        with open(path, "wb") as f:
            for _ in range(mib // 16):
                f.write(os.urandom(16 * MIB))
            f.write(os.urandom((mib % 16) * MIB))
        paths.append(path)
    return paths


def sha256_all(paths: list[Path]) -> None:
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(4 * MIB):
                digest.update(chunk)


def bench_publish(sizes: Sizes, work: Path) -> None:
    runs = 3
    total = sizes.big_files * sizes.big_file_mib * MIB
    src = work / "big-src"
    paths = write_random(src, sizes.big_files, sizes.big_file_mib)
    sha256_all(paths)  # the source is read once before: all runs read it from the page cache
    print(
        f"\n3. publish of {total / 1024**3:.2f} GiB ({sizes.big_files} x {sizes.big_file_mib} MiB"
        f" random files) into a local root, beside cp -r; median of {runs}, destination"
        f" removed between runs, source in the page cache ({work})"
    )
    dest = work / "big-dest"

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    def timed(call: Callable[[], object], before: Callable[[], object] = clean) -> float:
        times = []
        for _ in range(runs):
            before()
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        clean()
        return statistics.median(times)

    def cp() -> None:
        subprocess.run(["cp", "-r", str(src), str(dest)], check=True)

    def cp_sync() -> None:
        cp()
        subprocess.run(["sync", *(str(p) for p in dest.iterdir())], check=True)

    def publish(mode: str) -> Callable[[], object]:
        return lambda: ArtifactRegistry(dest).publish("big/data", src, mode=mode, progress=False)  # type: ignore[arg-type]

    figures = [
        ("cp -r (no fsync)", timed(cp)),
        ("cp -r, then sync of the copies", timed(cp_sync)),
        ("sha256 of the source (hashlib, 4 MiB reads)", timed(lambda: sha256_all(paths))),
        ('publish(mode="copy")', timed(publish("copy"))),
        ('publish(mode="reference") (checksums only)', timed(publish("reference"))),
    ]
    publish("copy")()
    verify = ArtifactRegistry(dest)
    report = verify.verify("big/data")
    figures.append(
        (
            f"verify of the copy ({'ok' if report.ok else 'FAILED'})",
            timed(lambda: verify.verify("big/data"), before=lambda: None),
        )
    )
    clean()
    rows = [[label, f"{s:.2f}", f"{total / MIB / s:,.0f}"] for label, s in figures]
    table(["", "s", "MiB/s"], rows, [48, 8, 10])


# -- 4. concurrent publishers ---------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """What each worker process does in one round: `count` publishes of `name` under `root`."""

    root: str
    options: dict[str, Any]
    name: str
    count: int
    source: str
    count_requests: bool


def worker(jobs: Any, ready: Any, go: Any, results: Any) -> None:
    """A publishing process: for each job, connect, say ready, wait for the start, publish."""
    while (job := jobs.get()) is not None:
        reg = ArtifactRegistry(job.root, storage_options=job.options)
        log = RequestLog.of(reg) if job.count_requests else None
        reg.list()  # connects (S3) before the start
        ready.put(os.getpid())
        go.wait()
        if log:
            log.clear()
        versions = [
            reg.publish(job.name, job.source, metadata={"i": i}).version for i in range(job.count)
        ]
        results.put((versions, time.monotonic(), len(log) if log else 0))


class Workers:
    """`processes` spawned processes, reused for each round (spawning costs seconds on 2 cores)."""

    def __init__(self, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.jobs, self.ready, self.results = ctx.Queue(), ctx.Queue(), ctx.Queue()
        self.go = ctx.Event()
        self.procs = [
            ctx.Process(target=worker, args=(self.jobs, self.ready, self.go, self.results))
            for _ in range(processes)
        ]
        for p in self.procs:
            p.start()

    def run(self, job: Job) -> dict[str, Any]:
        """All processes do `job`, started at once; wall time, rate and the versions they got."""
        self.go.clear()
        for _ in self.procs:
            self.jobs.put(job)
        for _ in self.procs:
            self.ready.get(timeout=300)
        start = time.monotonic()
        self.go.set()
        outs = [self.results.get(timeout=3600) for _ in self.procs]
        wall = max(end for _, end, _ in outs) - start
        versions = sorted(v for vs, _, _ in outs for v in vs)
        total = len(self.procs) * job.count
        entry = ArtifactRegistry(job.root, storage_options=job.options).get(job.name)
        stored = [v.version for v in entry.versions] if entry else []
        exact = versions == list(range(1, total + 1)) and stored == versions
        return {
            "wall": wall,
            "rate": total / wall,
            "check": f"exactly 1..{total}" if exact else f"WRONG: {len(set(versions))} distinct",
            "requests": sum(r for _, _, r in outs) / total,
        }

    def close(self) -> None:
        for _ in self.procs:
            self.jobs.put(None)
        for p in self.procs:
            p.join()


def bench_concurrent(sizes: Sizes, work: Path, s3: S3 | None) -> None:
    p, c = sizes.processes, sizes.publishes
    source = small_tree(work / "small")
    print(
        f"\n4. {p} processes x {c} publishes of one name (a 2-file folder), all started together"
        f" (spawned and connected before the clock starts)"
    )
    rows = []
    errors = s3.errors.count if s3 else 0
    workers = Workers(p)
    try:
        local = workers.run(Job(str(work / "root"), {}, "bench/concurrent", c, str(source), False))
        rows.append(["local", f"{local['wall']:.2f}", f"{local['rate']:.1f}", "-", local["check"]])
        if s3:
            job = Job(
                s3.root("concurrent"),
                s3.server.storage_options,
                "bench/concurrent",
                c,
                str(source),
                True,
            )
            out = workers.run(job)
            rows.append(
                [
                    "S3 (moto)",
                    f"{out['wall']:.2f}",
                    f"{out['rate']:.1f}",
                    f"{out['requests']:.1f}",
                    out["check"],
                ]
            )
    finally:
        workers.close()
    table(["", "wall s", "publishes/s", "requests/pub", "versions"], rows, [12, 9, 13, 14, 0])
    if s3 and s3.errors.count > errors:
        print(
            f"   (moto's server failed {s3.errors.count - errors} requests with a 500, retried by"
            " the client: its race on keys being overwritten, e.g. the @latest hint)"
        )


# -- main ----------------------------------------------------------------------------------------
@contextmanager
def workspace(base: str | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="registry-bench-", dir=base) as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of {','.join(SECTIONS)}",
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 (moto) figures")
    parser.add_argument("--tmp", default=None, help="where the temporary files go (default: /tmp)")
    args = parser.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; expected some of {SECTIONS}")
    sizes = Sizes.pick(args.quick)

    print(
        f"python {platform.python_version()} on {os.cpu_count()} cores ({platform.machine()},"
        f" load {os.getloadavg()[0]:.1f}); nemotron-registry {dist_version('nemotron-registry')},"
        f" fsspec {dist_version('fsspec')}, s3fs {dist_version('s3fs')},"
        f" moto {dist_version('moto')}" + (" [--quick]" if args.quick else "")
    )
    started = time.perf_counter()
    s3 = None if args.no_s3 or only == ["publish"] else S3()
    try:
        if s3:
            print(
                f"moto S3 on {s3.server.endpoint}: one HEAD of a small object takes"
                f" {ms(s3.head_floor(20))} ms (the floor under every S3 figure below)"
            )
        with workspace(args.tmp) as work:
            for section in only:
                folder = work / section
                folder.mkdir()
                section_start = time.perf_counter()
                if section == "resolve":
                    bench_resolve(sizes, folder, s3)
                elif section == "list":
                    bench_list(sizes, folder, s3)
                elif section == "publish":
                    bench_publish(sizes, folder)
                else:
                    bench_concurrent(sizes, folder, s3)
                shutil.rmtree(folder)
                print(f"   ({section}: {time.perf_counter() - section_start:.0f} s)")
    finally:
        if s3:
            s3.stop()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
