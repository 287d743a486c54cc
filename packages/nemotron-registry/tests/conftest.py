"""Fixtures: a registry per backend kind (local dir, file://, memory://, S3 on a moto server)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nemotron.registry import ArtifactRegistry
from nemotron.registry.testing import S3Server

KINDS = ["local", "file", "memory", "s3"]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with S3Server() as server:
        yield server


def make_root(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, dict]:
    """A fresh, empty registry root of `kind` and its storage options."""
    if kind == "local":
        return str(tmp_path / "registry"), {}
    if kind == "file":
        return f"file://{tmp_path / 'registry'}", {}
    if kind == "memory":
        return f"memory://reg-{uuid.uuid4().hex[:12]}", {}
    server: S3Server = request.getfixturevalue("s3_server")
    return f"s3://{server.bucket()}/team/registry", server.storage_options


@pytest.fixture(params=KINDS)
def root(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict]:
    """(root URL, storage_options) for each backend kind."""
    return make_root(request.param, tmp_path, request)


@pytest.fixture
def registry(root: tuple[str, dict]) -> ArtifactRegistry:
    """A fresh registry on each backend kind."""
    url, options = root
    return ArtifactRegistry(url, storage_options=options)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small source tree: two files, one nested."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "blend.json").write_text('{"weights": [0.5, 0.5]}')
    (src / "sub" / "shard-000.bin").write_bytes(b"\x00\x01" * 1000)
    return src
