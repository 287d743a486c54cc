"""`lineage_report`: the HTML lineage page of a real registry, laid out by the real `dot`."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nemotron.kit.lineage_html import LineageReportError, edge_id, lineage_report, node_id
from nemotron.registry import ArtifactNotFoundError, ArtifactRegistry, ArtifactVersionNotFoundError

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="needs Graphviz: apt install graphviz"
)

CORPUS = "https://example.com/corpus.txt"
HELD_OUT = "hf://datasets/org/heldout"


class Page(HTMLParser):
    """Every element of a page: its tag and attributes (entities decoded), and the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def ids(self, cls: str) -> set[str]:
        """The ids of the `<g>` elements whose class list holds `cls`."""
        return {
            a["id"] for tag, a in self.elements if tag == "g" and cls in a.get("class", "").split()
        }

    @property
    def words(self) -> str:
        """The page's text, its white space collapsed."""
        return " ".join(" ".join(self.text).split())

    def card(self, ident: str) -> str:
        """The page's text, once the card `card-IDENT` is found in it."""
        assert any(a.get("id") == f"card-{ident}" for _, a in self.elements), ident
        return self.words


def _folder(base: Path, name: str, files: dict[str, str]) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return folder


@pytest.fixture
def experiment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An nrun experiment record (the real store) whose `train` task made the model."""
    from nrun.exec.store import experiments_root, new_experiment_id, record_task

    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun"))
    ident = new_experiment_id("lin")
    task = (
        "_target_: nemotron.kit._step_runner.run_step\n_partial_: true\n"
        "module: tiny.pretrain\nname: train\nargv:\n- train.iters=7\n- wandb.api_key=sekrit-argv\n"
    )
    executor = (
        "_target_: nrun.exec.local.LocalExecutor\nenv_vars:\n  HF_TOKEN: sekrit-env\n"
        "  NEMOTRON_REGISTRY: /data/registry\n"
    )
    record_task(
        experiments_root() / "lin" / ident,
        "train",
        {"task.yaml": task, "executor.yaml": executor},
        {"name": "train", "executor": "local", "dependencies": []},
        {"id": ident, "title": "lin", "tasks": ["train"]},
    )
    return ident


@pytest.fixture
def registry(tmp_path: Path, experiment: str) -> ArtifactRegistry:
    """raw corpus → tokens → blend → model (v1, v2, v3) → eval (+ a held-out set), with metrics."""
    reg = ArtifactRegistry(tmp_path / "registry")
    src = tmp_path / "src"
    tokens = reg.publish(
        "lin/tokens",
        _folder(src, "tokens", {"tokens.bin": "0123"}),
        metadata={"type": "PretrainDataArtifact", "num_tokens": 4000, "loss": 9.0},
        inputs=[CORPUS],
    )
    blend = reg.publish(
        "lin/blend",
        _folder(src, "blend", {"blend.json": "{}"}),
        metadata={"type": "<b>Blend</b>", "note": "<img src=x onerror=alert(1)>", "loss": 7.5},
        inputs=[tokens.uri],
    )
    model_dir = _folder(src, "model", {"model.npz": "w"})
    for loss in (4.0, 3.0):
        reg.publish("lin/model", model_dir, metadata={"type": "ModelArtifact", "final_loss": loss})
    reg.publish(
        "lin/model",
        model_dir,
        metadata={
            "type": "ModelArtifact",
            "step": 30,
            "final_loss": 2.5,
            "loss": 2.75,
            "losses": [5.0, 4.0, 3.5, 2.9],
            "hf_token": "sekrit-meta",
            "config": {"lr": 0.125, "db": {"password": "sekrit-config"}},
        },
        inputs=[blend.uri, tokens.uri],
        producer=f"{experiment}/train",
    )
    reg.publish(
        "lin/eval",
        _folder(src, "eval", {"results.json": "{}"}),
        metadata={"type": "EvalArtifact", "loss": 2.25, "accuracy": 0.5, "passed": True},
        inputs=["art://lin/model:v3", HELD_OUT],
    )
    return reg


@pytest.fixture
def page(registry: ArtifactRegistry) -> str:
    return lineage_report(registry, "lin/eval")


def test_every_version_and_raw_input_is_a_node_with_its_edges(page: str) -> None:
    dom = Page(page)
    artifacts = {
        node_id(u) for u in ("art://lin/tokens:v1", "art://lin/blend:v1", "art://lin/model:v3")
    }
    root = node_id("art://lin/eval:v1")
    raw = {node_id(CORPUS), node_id(HELD_OUT)}
    assert root == "node-lin-eval-v1"
    assert dom.ids("node") == artifacts | raw | {root}
    assert dom.ids("artifact") == artifacts | {root}
    assert dom.ids("raw") == raw and dom.ids("root") == {root}
    assert all(i.startswith("raw-") for i in raw)
    expected = {
        edge_id(node_id(a), node_id(b))
        for a, b in [
            (CORPUS, "art://lin/tokens:v1"),
            ("art://lin/tokens:v1", "art://lin/blend:v1"),
            ("art://lin/blend:v1", "art://lin/model:v3"),
            ("art://lin/tokens:v1", "art://lin/model:v3"),
            ("art://lin/model:v3", "art://lin/eval:v1"),
            (HELD_OUT, "art://lin/eval:v1"),
        ]
    }
    assert dom.ids("edge") == expected
    # each node links to its card, and every card is there
    links = {a["xlink:href"] for tag, a in dom.elements if tag == "a" and "xlink:href" in a}
    assert links == {f"#card-{i}" for i in artifacts | raw | {root}}
    cards = {a["id"] for _, a in dom.elements if a.get("id", "").startswith("card-")}
    assert {f"#{c}" for c in cards} == links and len(cards) == 6


def test_a_card_shows_type_version_metadata_metrics_and_inputs(page: str) -> None:
    text = Page(page).card("node-lin-model-v3")
    for shown in ("lin/model:v3", "ModelArtifact", "v3", "final_loss", "2.5", "step", "30"):
        assert shown in text, shown
    assert "made from" in text and "used by" in text
    assert CORPUS in text and HELD_OUT in text  # raw inputs by their full URI
    eval_text = Page(page).card("node-lin-eval-v1")
    assert "accuracy" in eval_text and "passed" in eval_text  # a bool is metadata, not a metric


def test_the_config_that_made_a_version_is_shown_with_secrets_masked(
    page: str, experiment: str
) -> None:
    text = Page(page).card("node-lin-model-v3")
    assert f"task.yaml · nrun task train of {experiment}" in text
    assert "module: tiny.pretrain" in text and "train.iters=7" in text
    assert "executor.yaml" in text and "NEMOTRON_REGISTRY: /data/registry" in text
    assert "config (metadata)" in text and "lr: 0.125" in text
    assert "sekrit" not in page
    for masked in ("wandb.api_key=****", "HF_TOKEN: '****'", "password: '****'", "hf_token"):
        assert masked in text, masked
    assert "no config recorded for this version here" in text  # the versions without a producer


def test_metrics_along_the_lineage_and_across_versions_are_small_plots(page: str) -> None:
    dom = Page(page)
    figures = {
        a["data-metric"]: a["id"]
        for tag, a in dom.elements
        if tag == "figure" and "data-metric" in a
    }
    assert figures == {"loss": "plot-loss"}  # the only metric recorded by more than one step
    text = dom.words
    assert "lin/tokens:v1 9 → lin/blend:v1 7.5 → lin/model:v3 2.75 → lin/eval:v1 2.25" in text
    assert "final_loss · v1…v3" in text  # the model's metric over its three versions
    assert "losses" in text and "5 → 2.9 (4 points)" in text  # a numeric list in the metadata
    plots = page.count('class="plot"') + page.count('class="plot series"')
    assert plots == 3 and page.count("<svg") >= 1 + plots


def test_everything_shown_is_escaped(page: str) -> None:
    assert "<img" not in page and "<b>Blend</b>" not in page
    dom = Page(page)
    text = dom.words
    assert "<img src=x onerror=alert(1)>" in text and "<b>Blend</b>" in text
    assert not any(tag in ("img", "script", "iframe", "object") for tag, _ in dom.elements)


def test_the_page_refers_to_nothing_outside_itself(page: str) -> None:
    dom = Page(page)
    for tag, attrs in dom.elements:
        assert tag not in ("script", "iframe", "img", "object", "embed", "base"), tag
        for name, value in attrs.items():
            if name in ("href", "xlink:href", "src", "srcset", "action", "data", "poster"):
                assert value.startswith(("#", "data:")), (tag, name, value)  # in the page
            assert "url(" not in value or "url(#" in value, (tag, name, value)
    policy = [
        a["content"] for t, a in dom.elements if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy and policy[0].startswith("default-src 'none'")  # and a browser fetches nothing
    style = "".join(dom.styles)
    assert "@import" not in style and "url(" not in style
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page


def test_the_same_registry_gives_the_same_page(registry: ArtifactRegistry, page: str) -> None:
    assert lineage_report(registry, "art://lin/eval:v1") == page
    assert lineage_report(registry, "lin/eval:latest") == page


def test_an_input_gone_from_the_registry_is_a_missing_node(
    registry: ArtifactRegistry, tmp_path: Path
) -> None:
    manifest = tmp_path / "registry" / "lin" / "blend" / "@versions" / "1.json"
    assert json.loads(manifest.read_text())["name"] == "lin/blend"
    manifest.unlink()
    dom = Page(lineage_report(ArtifactRegistry(registry.root), "lin/eval"))  # nothing cached
    assert dom.ids("missing") == {"node-lin-blend-v1"}
    assert "node-lin-tokens-v1" in dom.ids("node")  # still reached through the model


def test_a_bad_reference_is_the_registry_s_error(registry: ArtifactRegistry) -> None:
    with pytest.raises(ArtifactNotFoundError):
        lineage_report(registry, "lin/evl")
    with pytest.raises(ArtifactVersionNotFoundError):
        lineage_report(registry, "lin/eval:v9")


def test_without_graphviz_it_is_one_line_naming_the_package(
    registry: ArtifactRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LineageReportError) as info:
        lineage_report(registry, "lin/eval")
    message = str(info.value)
    assert "graphviz" in message.lower() and "\n" not in message


def test_names_with_the_same_slug_get_distinct_ids(tmp_path: Path) -> None:
    reg = ArtifactRegistry(tmp_path / "registry")
    data = _folder(tmp_path, "data", {"x.txt": "x"})
    one = reg.publish("x/a/b", data, metadata={"type": "A"})
    two = reg.publish("x/a-b", data, metadata={"type": "B"})
    reg.publish("x/top", data, metadata={"type": "C"}, inputs=[one.uri, two.uri])
    dom = Page(lineage_report(reg, "x/top"))
    nodes = dom.ids("node")
    assert len(nodes) == 3 and "node-x-top-v1" in nodes
    assert len(dom.ids("edge")) == 2


def test_a_raw_input_with_markup_and_quotes_is_escaped_in_the_graph(tmp_path: Path) -> None:
    reg = ArtifactRegistry(tmp_path / "registry")
    odd = 'https://example.com/q?x="<script>alert(1)</script>"&y=\\N'
    reg.publish("x/data", _folder(tmp_path, "d", {"a": "a"}), inputs=[odd])
    page = lineage_report(reg, "x/data")
    assert "<script>" not in page
    dom = Page(page)
    assert odd in dom.words and dom.ids("raw") == {node_id(odd)}
    titles = [a for tag, a in dom.elements if tag == "a" and a.get("xlink:title")]
    assert [a["xlink:title"] for a in titles if "example.com" in a["xlink:title"]] == [odd]
