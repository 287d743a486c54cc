"""The lineage page (`nemotron artifact lineage NAME --html FILE`) in a real headless Chromium.

A registry with raw inputs, four chained versions and their metrics is drawn by the real
`nemotron` command and Graphviz; Chromium (Debian's `chromium`) loads the file: no console
error, no request, the nodes and edges in its DOM, and a screenshot that shows something,
kept where the test prints its path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import browser  # beside this file: conftest.py puts the folder on sys.path
import pytest

from nemotron.registry import ArtifactRegistry

CORPUS = "https://example.com/data/corpus.txt"
NODES = ("node-it-tokens-v1", "node-it-blend-v1", "node-it-model-v2", "node-it-eval-v1")
EDGES = (
    ("node-it-tokens-v1", "node-it-blend-v1"),
    ("node-it-blend-v1", "node-it-model-v2"),
    ("node-it-model-v2", "node-it-eval-v1"),
)


class _Groups(HTMLParser):
    """The ids of the `<g>` elements of a DOM by each of their classes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.by_class: dict[str, set[str]] = {}
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "g" and found.get("id"):
            for cls in (found.get("class") or "").split():
                self.by_class.setdefault(cls, set()).add(str(found["id"]))


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """The lineage page of `it/eval`, written by the `nemotron` command."""
    if browser.CHROMIUM is None:
        pytest.skip(browser.MISSING)
    if shutil.which("dot") is None:
        pytest.skip("no Graphviz: apt-get install -y graphviz")
    registry = ArtifactRegistry(tmp_path / "registry")
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_text("0123")
    publish = registry.publish
    tokens = publish(
        "it/tokens", src, metadata={"type": "TokensArtifact", "loss": 6.0}, inputs=[CORPUS]
    )
    blend = publish(
        "it/blend", src, metadata={"type": "BlendArtifact", "loss": 5.0}, inputs=[tokens.uri]
    )
    publish("it/model", src, metadata={"type": "ModelArtifact", "loss": 4.0, "step": 10})
    model = publish(
        "it/model",
        src,
        metadata={"type": "ModelArtifact", "loss": 3.0, "step": 20},
        inputs=[blend.uri],
    )
    publish("it/eval", src, metadata={"type": "EvalArtifact", "loss": 2.5}, inputs=[model.uri])
    out = tmp_path / "lineage.html"
    env = {**os.environ, "NEMOTRON_REGISTRY": str(registry.root), "NRUN_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "nemotron.app", "artifact", "lineage", "it/eval",
         "--html", str(out)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    return out


def test_the_lineage_page_loads_offline_and_shows_its_graph(
    page: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shot = browser.SCREENSHOTS / "lineage.png"
    loaded = browser.load(page, screenshot=shot, width=1400, height=1000)
    with capsys.disabled():
        print(f"\nlineage page: {page}\nlineage screenshot: {loaded.screenshot_png_path}")
    assert loaded.console_errors == []
    assert loaded.requests == []
    groups = _Groups(loaded.dom_html).by_class
    raw = groups.get("raw", set())
    assert len(raw) == 1 and next(iter(raw)).startswith("raw-corpus.txt-")
    assert groups["node"] == set(NODES) | raw
    assert groups["root"] == {"node-it-eval-v1"}
    expected = {f"edge-{a}--{b}" for a, b in EDGES} | {f"edge-{next(iter(raw))}--node-it-tokens-v1"}
    assert groups["edge"] == expected
    assert 'data-metric="loss"' in loaded.dom_html and 'class="sparkline"' in loaded.dom_html
    assert "step · v1…v2" in loaded.dom_html  # the model's metric across its two versions
    assert browser.not_blank(loaded.screenshot_png_path)
