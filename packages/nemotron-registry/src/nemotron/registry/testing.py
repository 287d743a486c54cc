"""Test helpers shipped with the package: a real S3 server (moto), and W&B offline runs read back.

`S3Server` starts `moto`'s threaded server on a free loopback port and gives the
`storage_options` s3fs needs (dummy credentials, the endpoint). It needs `moto[server]`, which
only test environments install. `offline_run_records` reads what an offline W&B run wrote
(its `run-*.wandb` log of `Record` protos), so a test checks what W&B would receive.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "WANDB_CLEARED",
    "S3Server",
    "offline_run_records",
    "read_wandb_log",
    "records_of",
    "s3_env",
    "wandb_offline_env",
]

_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
_BLOCK = 32 * 1024
_FULL, _FIRST, _LAST = 1, 2, 4


WANDB_CLEARED = ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY", "WANDB_PROJECT")
"""Variables a test of offline W&B removes, so no run reaches a server or a real project."""


def wandb_offline_env(base: str | os.PathLike[str]) -> dict[str, str]:
    """The variables of an offline W&B that writes every folder under `base` (made here)."""
    root = Path(base)
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(root)}
    for sub in ("config", "cache", "data", "artifacts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[f"WANDB_{sub.upper()}_DIR"] = str(root / sub)
    return env


def read_wandb_log(path: str | os.PathLike[str]) -> list[Any]:
    """Every `Record` of a `.wandb` transaction log (LevelDB-style blocks, CRC-32 checked)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    if data[: len(_HEADER)] != _HEADER:
        raise ValueError(f"{path} is not a W&B transaction log")
    records: list[Any] = []
    pending, pos = b"", len(_HEADER)
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if left < 7 or (crc, length, kind) == (0, 0, 0):
            pos += left  # block trailer (zero padding)
            continue
        if pos + 7 + length > len(data):
            break  # still being written
        chunk = data[pos + 7 : pos + 7 + length]
        if zlib.crc32(bytes([kind]) + chunk) != crc:
            raise ValueError(f"bad chunk at byte {pos} of {path}")
        pos += 7 + length
        pending = chunk if kind in (_FULL, _FIRST) else pending + chunk
        if kind in (_FULL, _LAST):
            record = pb.Record()  # type: ignore[attr-defined]  # generated protobuf module
            record.ParseFromString(pending)
            records.append(record)
    return records


def offline_run_records(run_dir: str | os.PathLike[str], timeout: float = 30) -> list[Any]:
    """The records of a finished offline run (wandb-core may flush its log after `finish()`)."""
    (log,) = Path(run_dir).glob("run-*.wandb")
    deadline = time.monotonic() + timeout
    while True:
        records = read_wandb_log(log)
        if records and records[-1].WhichOneof("record_type") == "exit":
            return records
        if time.monotonic() > deadline:
            raise TimeoutError(f"{log} has no exit record after {timeout} s")
        time.sleep(0.05)


def records_of(records: list[Any], kind: str) -> list[Any]:
    """The payloads of the records of one kind (`artifact`, `run`, `history`, …)."""
    return [getattr(r, kind) for r in records if r.WhichOneof("record_type") == kind]


def s3_env(endpoint: str) -> dict[str, str]:
    """The environment that points boto/s3fs at `endpoint` with dummy credentials, offline."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL": endpoint,
    }


class S3Server:
    """moto's S3 on 127.0.0.1 (a real HTTP server in a thread); use as a context manager."""

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint = ""

    def start(self) -> S3Server:
        """Start the server on a free port, with the dummy credentials set in `os.environ`."""
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        # one request at a time, as S3 is atomic per request: moto's threaded server checks
        # `If-None-Match: *` and stores in two steps, and reads a key while a PUT replaces it
        wsgi = self._server._server
        wsgi.app = _OneAtATime(wsgi.app)
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        for key, value in s3_env(self.endpoint).items():
            os.environ.setdefault(key, value)
        os.environ["AWS_ENDPOINT_URL_S3"] = self.endpoint
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        return self

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def storage_options(self) -> dict[str, Any]:
        """What `ArtifactRegistry(..., storage_options=...)` needs to reach this server."""
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing"}

    def bucket(self, name: str | None = None) -> str:
        """Create a new bucket and return its name."""
        import s3fs

        name = name or f"reg-{uuid.uuid4().hex[:12]}"
        s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options).mkdir(name)
        return name

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _OneAtATime:
    """A WSGI app that handles one request at a time (its response read whole under the lock)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            response = self._app(environ, start_response)
            try:
                return list(response)
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
