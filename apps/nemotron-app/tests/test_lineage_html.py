"""`nemotron artifact lineage NAME[:V] --html FILE`: the page of a real pipeline's lineage."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from nemotron.registry import ArtifactRegistry

Run = Callable[..., subprocess.CompletedProcess[str]]
Invoke = Callable[..., Result]
Files = Callable[[Path], dict[str, bytes]]

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="needs Graphviz: apt install graphviz"
)

STEPS = ("tiny-tokens", "tiny-blends", "tiny-pretrain", "tiny-sft-data", "tiny-sft", "tiny-eval")


def _ids(page: str) -> str:
    """The page with its entities decoded (Graphviz writes `-` in ids as `&#45;`)."""
    return html.unescape(page)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """`nemotron recipe pipe` run for real (five steps, a few iterations), in a home of its own."""
    work = tmp_path_factory.mktemp("pipe")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NEMOTRON_", "WANDB_", "NRUN_"))
    }
    env.update(
        HOME=str(work / "home"),
        NRUN_HOME=str(work / "home" / ".nrun"),
        NEMOTRON_REGISTRY=str(work / "registry"),
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
    )
    (work / "home").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "nemotron.app", "recipe", "pipe",
         "pretrain.train.iters=5", "sft.train.iters=5"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return work, env


def test_the_page_of_a_real_pipeline_holds_every_step(
    pipeline: tuple[Path, dict[str, str]],
) -> None:
    work, env = pipeline
    out = work / "lineage.html"
    done = subprocess.run(
        [sys.executable, "-m", "nemotron.app", "artifact", "lineage", "tiny-eval",
         "--html", str(out)],
        cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}\n" and done.stderr == ""
    page = _ids(out.read_text(encoding="utf-8"))
    for name in STEPS:
        assert f'id="node-{name}-v1"' in page, name
        assert f'id="card-node-{name}-v1"' in page, name
    for corpus in ("fables.txt", "seasons.txt", "workshop.txt", "heldout.txt"):
        assert f'id="raw-{corpus}-' in page, corpus
    for edge in (
        "node-tiny-tokens-v1--node-tiny-blends-v1",
        "node-tiny-pretrain-v1--node-tiny-sft-v1",
        "node-tiny-sft-data-v1--node-tiny-sft-v1",
        "node-tiny-sft-v1--node-tiny-eval-v1",
    ):
        assert f'id="edge-{edge}"' in page, edge
    # each step's config: the nrun task that made it, read from the experiment store
    for step in ("tokenize", "blend", "pretrain", "sft", "eval"):
        assert f"task.yaml · nrun task {step} of tiny_" in page, step
    assert "module: nemotron.recipes.tiny.pretrain" in page and "train.iters=5" in page
    assert "PretrainBlendsArtifact" in page and "TinyEvalArtifact" in page
    assert 'data-metric="valid_loss"' in page  # pretrain → sft, as a small plot


def test_the_page_is_written_where_asked_and_printed(
    invoke: Invoke, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    out = tmp_path / "model.html"
    done = invoke("artifact", "lineage", "tiny/model:latest", "--html", str(out))
    assert done.exit_code == 0, done.output
    assert done.stdout == f"{out}\n"
    page = _ids(out.read_text(encoding="utf-8"))
    assert page.startswith("<!DOCTYPE html>")
    for ident in (
        "node-tiny-model-v1",
        "node-tiny-blend-v1",
        "node-tiny-tokens-v2",
        "node-tiny-raw-v1",
    ):
        assert f'id="{ident}"' in page, ident
    assert 'id="raw-corpus.txt-' in page  # the https:// input of tiny/raw, as a raw node
    again = invoke("artifact", "lineage", "tiny/model", "--html", str(out))  # replaced whole
    assert again.exit_code == 0 and _ids(out.read_text(encoding="utf-8")) == page


def test_a_relative_file_is_printed_absolute(
    nemotron: Run, registry: ArtifactRegistry, tmp_path: Path
) -> None:
    done = nemotron("artifact", "lineage", "tiny/blend", "--html", "blend.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'blend.html'}\n"
    assert (tmp_path / "blend.html").stat().st_size > 0


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (
            "tiny/modle",
            "artifact 'tiny/modle' not found in registry '{root}'. Did you mean 'tiny/model'?",
        ),
        (
            "tiny/tokens:v9",
            "artifact 'tiny/tokens' has no version v9. It has v1..v2; aliases: latest, prod",
        ),
    ],
)
def test_a_bad_reference_is_one_line_and_writes_nothing(
    nemotron: Run, registry: ArtifactRegistry, tmp_path: Path, files: Files, ref: str, expected: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = nemotron("artifact", "lineage", ref, "--html", str(out / "page.html"))
    assert done.returncode == 2
    assert done.stderr == expected.format(root=registry.root) + "\n" and done.stdout == ""
    assert files(out) == {}


def test_a_file_that_cannot_be_written_is_one_line(
    nemotron: Run, registry: ArtifactRegistry, tmp_path: Path, files: Files
) -> None:
    target = tmp_path / "no" / "such" / "page.html"
    done = nemotron("artifact", "lineage", "tiny/model", "--html", str(target))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"cannot write '{target}': No such file or directory\n"
    assert not (tmp_path / "no").exists()
    (tmp_path / "page.html").mkdir()  # a folder in the way: nothing left beside it
    done = nemotron("artifact", "lineage", "tiny/model", "--html", str(tmp_path / "page.html"))
    assert done.returncode == 2 and done.stderr.startswith(
        f"cannot write '{tmp_path / 'page.html'}': "
    )
    assert files(tmp_path / "page.html") == {}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".page.html.")]


def test_without_graphviz_it_is_one_line_and_writes_nothing(
    nemotron: Run, registry: ArtifactRegistry, tmp_path: Path, files: Files
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = nemotron(
        "artifact", "lineage", "tiny/model", "--html", str(out / "page.html"),
        env={"PATH": str(tmp_path / "empty")},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "apt-get install graphviz" in done.stderr
    assert files(out) == {}
