"""Packagers in real git repositories and folders; `extract` and its refusals."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

import helpers
from helpers import git
from nrun.exec.base import ExecutorError
from nrun.exec.packaging import (
    ARCHIVE,
    GitArchivePackager,
    PackagingError,
    PatternPackager,
    extract,
)


def make_repo(root: Path) -> Path:
    """A git repository with `app/main.py`, `app/util.py`, `README.md`, one commit."""
    return helpers.make_repo(
        root,
        {"app/main.py": "VERSION = 1\n", "app/util.py": "HELP = True\n", "README.md": "# repo\n"},
    )


def unpack(archive: Path, dest: Path) -> dict[str, str]:
    extract(archive, dest)
    return {str(p.relative_to(dest)): p.read_text() for p in sorted(dest.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git as a fresh user has it: no global or system config, so no identity either."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    path = tmp_path / "job"
    path.mkdir()
    return path


# -- GitArchivePackager ----------------------------------------------------------------------
def test_git_archive_of_head(repo: Path, job_dir: Path, tmp_path: Path) -> None:
    archive = GitArchivePackager().package(repo, job_dir)
    assert archive == job_dir / ARCHIVE
    assert unpack(archive, tmp_path / "out") == {
        "README.md": "# repo\n",
        "app/main.py": "VERSION = 1\n",
        "app/util.py": "HELP = True\n",
    }
    assert [p.name for p in job_dir.iterdir()] == [ARCHIVE]  # no temporary left behind


def test_uncommitted_changes_only_with_the_flag_untracked_never(
    repo: Path, job_dir: Path, tmp_path: Path
) -> None:
    (repo / "app" / "main.py").write_text("VERSION = 2\n")  # tracked, not committed
    (repo / "app" / "scratch.py").write_text("SECRET = 1\n")  # untracked
    before = git(repo, "status", "--porcelain")

    committed = unpack(GitArchivePackager().package(repo, job_dir), tmp_path / "a")
    assert committed["app/main.py"] == "VERSION = 1\n"
    assert "app/scratch.py" not in committed

    packager = GitArchivePackager(include_uncommitted=True)
    uncommitted = unpack(packager.package(repo, job_dir), tmp_path / "b")
    assert uncommitted["app/main.py"] == "VERSION = 2\n"
    assert "app/scratch.py" not in uncommitted

    # the work tree and the stash list are untouched
    assert git(repo, "status", "--porcelain") == before
    assert git(repo, "stash", "list") == ""
    assert (repo / "app" / "main.py").read_text() == "VERSION = 2\n"


def test_include_uncommitted_with_a_clean_tree_is_head(
    repo: Path, job_dir: Path, tmp_path: Path
) -> None:
    files = unpack(
        GitArchivePackager(include_uncommitted=True).package(repo, job_dir), tmp_path / "out"
    )
    assert files["app/main.py"] == "VERSION = 1\n"


def test_subpath_is_the_root_of_the_archive(repo: Path, job_dir: Path, tmp_path: Path) -> None:
    (repo / "app" / "main.py").write_text("VERSION = 3\n")
    for subpath in ("app", "/app/"):
        packager = GitArchivePackager(subpath=subpath, include_uncommitted=True)
        files = unpack(packager.package(repo, job_dir), tmp_path / f"out{len(subpath)}")
        assert files == {"main.py": "VERSION = 3\n", "util.py": "HELP = True\n"}


def test_source_inside_the_repo_packages_the_whole_repo(
    repo: Path, job_dir: Path, tmp_path: Path
) -> None:
    files = unpack(GitArchivePackager().package(repo / "app", job_dir), tmp_path / "out")
    assert "README.md" in files


def test_ref(repo: Path, job_dir: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "app" / "main.py").write_text("VERSION = 2\n")
    git(repo, "commit", "-q", "-am", "second")
    files = unpack(GitArchivePackager(ref=first).package(repo, job_dir), tmp_path / "out")
    assert files["app/main.py"] == "VERSION = 1\n"


def test_outside_a_git_repo_is_a_clear_error(tmp_path: Path, job_dir: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(PackagingError) as info:
        GitArchivePackager().package(plain, job_dir)
    message = str(info.value)
    assert "\n" not in message
    assert str(plain) in message
    assert "not inside a git repository" in message
    assert isinstance(info.value, ExecutorError)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"ref": "no-such-branch"}, "ref 'no-such-branch' is not a commit"),
        ({"subpath": "nope"}, "subpath 'nope' is not a folder at HEAD"),
        ({"subpath": "README.md"}, "subpath 'README.md' is not a folder"),
        ({"subpath": "nope", "include_uncommitted": True}, "subpath 'nope'"),
    ],
)
def test_bad_ref_or_subpath_is_one_line(
    repo: Path, job_dir: Path, fields: dict[str, object], named: str
) -> None:
    with pytest.raises(PackagingError) as info:
        GitArchivePackager(**fields).package(repo, job_dir)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert named in str(info.value)
    assert not (job_dir / ARCHIVE).exists()
    assert list(job_dir.iterdir()) == []


# -- PatternPackager -------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    for name, text in {
        "train.py": "a",
        "pkg/model.py": "b",
        "pkg/data/load.py": "c",
        "conf/base.yaml": "d",
        "notes.txt": "e",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_pattern_default_is_every_python_file(tree: Path, job_dir: Path, tmp_path: Path) -> None:
    files = unpack(PatternPackager().package(tree, job_dir), tmp_path / "out")
    assert files == {"train.py": "a", "pkg/model.py": "b", "pkg/data/load.py": "c"}


def test_patterns_and_relative_path(tree: Path, job_dir: Path, tmp_path: Path) -> None:
    packager = PatternPackager(include_pattern=["*.py", "conf/*.yaml"])
    assert unpack(packager.package(tree, job_dir), tmp_path / "a") == {
        "train.py": "a",
        "conf/base.yaml": "d",
    }
    packager = PatternPackager(include_pattern=["**/*.py"], relative_path="pkg")
    assert unpack(packager.package(tree, job_dir), tmp_path / "b") == {
        "model.py": "b",
        "data/load.py": "c",
    }


def test_pattern_matching_nothing_is_an_error(tree: Path, job_dir: Path) -> None:
    with pytest.raises(PackagingError) as info:
        PatternPackager(include_pattern=["*.rs", "src/**/*.c"]).package(tree, job_dir)
    message = str(info.value)
    assert "\n" not in message
    assert "*.rs, src/**/*.c" in message
    assert not (job_dir / ARCHIVE).exists()


@pytest.mark.parametrize("pattern", ["../*.py", "pkg/../../*", "/etc/*"])
def test_pattern_leaving_the_source_is_refused(tree: Path, job_dir: Path, pattern: str) -> None:
    with pytest.raises(PackagingError) as info:
        PatternPackager(include_pattern=[pattern]).package(tree, job_dir)
    assert repr(pattern) in str(info.value)
    assert "\n" not in str(info.value)


def test_pattern_relative_path_must_be_a_folder(tree: Path, job_dir: Path) -> None:
    with pytest.raises(PackagingError, match="is not a directory"):
        PatternPackager(relative_path="nope").package(tree, job_dir)


# -- extract ---------------------------------------------------------------------------------
def _archive(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return path


@pytest.mark.parametrize("name", ["../evil.py", "ok/../../evil.py", "/tmp/nrun-evil.py"])
def test_extract_refuses_members_escaping_the_dest(tmp_path: Path, name: str) -> None:
    archive = _archive(tmp_path / "bad.tar.gz", {"fine.py": b"x", name: b"evil"})
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(PackagingError) as info:
        extract(archive, dest)
    assert repr(name) in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "deep" / "evil.py").exists()
    assert not (tmp_path / "evil.py").exists()
    assert not Path("/tmp/nrun-evil.py").exists()
    assert list(dest.iterdir()) == []  # nothing at all was extracted


def test_extract_skips_links(tmp_path: Path) -> None:
    archive = _archive(
        tmp_path / "links.tar.gz",
        {"main.py": b"print(1)"},
        links={"passwd": "/etc/passwd", "up": "../.."},
    )
    dest = tmp_path / "dest"
    assert extract(archive, dest) == dest
    assert sorted(p.name for p in dest.iterdir()) == ["main.py"]
    assert (dest / "main.py").read_text() == "print(1)"


def test_uncommitted_changes_cannot_be_put_on_another_ref(repo: Path, job_dir: Path) -> None:
    with pytest.raises(PackagingError) as info:
        GitArchivePackager(ref="HEAD~1", include_uncommitted=True).package(repo, job_dir)
    assert "ref='HEAD~1'" in str(info.value)
    assert "\n" not in str(info.value)
