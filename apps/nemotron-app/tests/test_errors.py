"""Bad input: one red line on stderr, exit 2 (1 for a failed check), nothing written."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from nemotron.registry import ArtifactRegistry

Run = Callable[..., subprocess.CompletedProcess[str]]
Invoke = Callable[..., Result]
Files = Callable[[Path], dict[str, bytes]]

BAD = [
    (
        ("artifact", "show", "tiny/modle"),
        "artifact 'tiny/modle' not found in registry '{root}'. Did you mean 'tiny/model'?",
    ),
    (
        ("artifact", "lineage", "tiny/tokens:v9"),
        "artifact 'tiny/tokens' has no version v9. It has v1..v2; aliases: latest, prod",
    ),
    (
        ("artifact", "verify", "tiny/tokens:prd"),
        "artifact 'tiny/tokens' has no alias 'prd'. Did you mean 'prod'? It has v1..v2; "
        "aliases: latest, prod",
    ),
    (
        ("artifact", "show", "tiny/tokens:v0"),
        "invalid version 'v0': expected 1, 2, … or v1, v2, … (versions start at 1)",
    ),
    (
        ("artifact", "show", "tiny/tokens:v1/tokens.bin"),
        "invalid artifact reference 'tiny/tokens:v1/tokens.bin': expected NAME or NAME:VERSION"
        " (v3, 3, an alias)",
    ),
    (
        ("artifact", "alias", "tiny/tokens", "1", "latest"),
        "invalid alias 'latest': 'latest' is kept by the registry (the newest version)",
    ),
    (
        ("artifact", "alias", "tiny/tokens", "1", "v3"),
        "invalid alias 'v3': it reads as a version number",
    ),
    (
        ("artifact", "alias", "tiny/tokens", "1", "-x"),
        None,  # click: an option where an argument belongs (its own usage message)
    ),
    (
        ("artifact", "alias", "tiny/tokens", "7", "best"),
        "artifact 'tiny/tokens' has no version v7. It has v1..v2; aliases: latest, prod",
    ),
    (
        ("artifact", "alias", "zz/zz", "1", "best"),
        "artifact 'zz/zz' not found in registry '{root}'.",
    ),
    (
        ("artifact", "show", "../etc/passwd"),
        "invalid artifact name '../etc/passwd': '..' segments are not allowed",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "../../escape"),
        "invalid artifact name '../../escape': '..' segments are not allowed",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "/abs/name"),
        "invalid artifact name '/abs/name': absolute paths are not names",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "a/./b"),
        "invalid artifact name 'a/./b': '.' segments are not allowed",
    ),
    (
        ("artifact", "publish", "missing", "-t", "T", "-n", "tiny/new"),
        "cannot publish 'missing': no such file or directory",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "tiny/new", "-i", "art://zz/zz"),
        "artifact 'zz/zz' not found in registry '{root}'.",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "tiny/new", "-i", "not a url"),
        "invalid input 'not a url': expected an art:// URI or a URL such as hf://org/dataset",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "tiny/new", "-m", "novalue"),
        "invalid metadata 'novalue': expected KEY=VALUE",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "T", "-n", "tiny/new", "-m", "type=X"),
        "invalid metadata 'type=X': 'type' use --type",
    ),
    (
        ("artifact", "publish", "data.txt", "-t", "", "-n", "tiny/new"),
        "invalid --type '': expected an artifact type name",
    ),
    (("artifact", "list", "../"), "invalid prefix '../': expected the start of a name"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(
    invoke: Invoke,
    registry: ArtifactRegistry,
    root: Path,
    tmp_path: Path,
    files: Files,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str | None,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("data")
    before = files(root)
    done = invoke(*args)
    assert done.exit_code == 2, done.output
    assert done.stdout == ""
    if message is not None:
        assert done.stderr == message.format(root=registry.root) + "\n"
    assert "Traceback" not in done.stderr
    assert files(root) == before
    assert not (tmp_path.parent / "escape").exists() and not Path("/abs/name").exists()


def test_as_a_real_process_the_line_is_red_only_on_a_terminal(
    nemotron: Run, invoke: Invoke, registry: ArtifactRegistry
) -> None:
    done = nemotron("artifact", "show", "tiny/nope")
    assert done.returncode == 2
    assert done.stderr.startswith("artifact 'tiny/nope' not found in registry ")
    assert len(done.stderr.splitlines()) == 1 and "\x1b[" not in done.stderr
    coloured = invoke("artifact", "show", "tiny/nope", color=True)
    assert coloured.stderr.startswith("\x1b[31martifact 'tiny/nope' not found")


def test_verbose_shows_the_traceback(nemotron: Run, registry: ArtifactRegistry) -> None:
    done = nemotron("--verbose", "artifact", "show", "tiny/nope")
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert "ArtifactNotFoundError" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("artifact 'tiny/nope' not found")


def test_a_failed_check_exits_1(invoke: Invoke, registry: ArtifactRegistry) -> None:
    version = registry.resolve("tiny/model")
    Path(version.url.removeprefix("file://"), "model.npz").unlink()
    Path(version.url.removeprefix("file://"), "stray.txt").write_text("x")
    done = invoke("artifact", "verify", "tiny/model")
    assert done.exit_code == 1
    assert done.stderr == "art://tiny/model:v1: FAILED (missing: model.npz; extra: stray.txt)\n"


def test_a_registry_that_cannot_be_read_exits_1(invoke: Invoke, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = invoke("--registry", str(blocker / "registry"), "artifact", "publish", str(blocker),
                  "-t", "T", "-n", "x")  # fmt: skip
    assert done.exit_code in (1, 2), done.output
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_usage_errors_exit_2(invoke: Invoke) -> None:
    assert invoke("artifact", "show").exit_code == 2
    assert invoke("artifact", "publish", "x", "--name", "n").exit_code == 2  # no --type
    done = invoke("artifact", "lst")
    assert done.exit_code == 2 and "Did you mean 'list'" in done.stderr
