"""`nrun.config.atomic`: whole-or-nothing, owner-only writes that fail in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nrun.config.atomic import WriteError, atomic_write, private_dir, read_json, write_json


@pytest.fixture(params=[0o022, 0o000])
def umask(request: pytest.FixtureRequest):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_files_and_folders_are_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    folder = private_dir(tmp_path / "a" / "b")
    write_json(folder / "job.json", {"secret": "x"})
    atomic_write(folder / "executor.yaml", "env_vars: {TOKEN: x}\n")
    for path in (tmp_path / "a", folder):
        assert path.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert read_json(folder / "job.json") == {"secret": "x"}


def test_mode_none_is_a_plain_write(tmp_path: Path, umask: int) -> None:
    path = atomic_write(tmp_path / "export.yaml", "a: 1\n", mode=None)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_read_json_of_nothing_or_garbage_is_none(tmp_path: Path) -> None:
    assert read_json(tmp_path / "missing.json") is None
    (tmp_path / "half.json").write_text('{"a": ')
    assert read_json(tmp_path / "half.json") is None
    (tmp_path / "list.json").write_text("[1]")
    assert read_json(tmp_path / "list.json") is None


def test_a_file_size_limit_is_one_line_and_leaves_the_old_file(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the write fail (EFBIG): the old file stays, no temp file is left."""
    target = tmp_path / "job.json"
    write_json(target, {"old": True})
    code = (
        "import resource, sys\n"
        "from nrun.config.atomic import WriteError, write_json\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))\n"
        "try:\n"
        f"    write_json({str(target)!r}, {{'new': 'x' * 1000}})\n"
        "except WriteError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == f"cannot write '{target}': File too large"
    assert read_json(target) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.json"]


def test_an_unwritable_folder_is_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match=r"cannot write '.*missing/x\.json'"):
        write_json(tmp_path / "missing" / "x.json", {})


def test_an_error_in_the_writer_removes_the_temp_file(tmp_path: Path) -> None:
    from nrun.config.atomic import atomic_path

    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.tar") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_it_imports_only_the_standard_library() -> None:
    code = (
        "import sys, nrun.config.atomic\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fiddle', 'yaml')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
