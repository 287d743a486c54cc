"""`lineage_report`: one self-contained HTML page of a version's lineage, laid out by Graphviz.

The page shows the graph from the raw inputs (paths, URLs) to the artifact, each node an
artifact version (`name:vN`) or a raw input, then a card per node: its type, version, key
metadata, metrics and the config that produced it (the producing nrun task's `task.yaml` and
`executor.yaml` when the experiment store holds them, and a `config` mapping in its metadata),
secrets masked. Numeric metrics recorded by several versions are drawn as small plots. Nothing
in the page is fetched: no script, font, image or style comes from outside it.

In the SVG every node is `<g class="node …" id="node-NAME-vN">` (`raw-…` for raw inputs) and
every edge `<g class="edge" id="edge-INPUT--CONSUMER">`: see `node_id` and `edge_id`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nemotron.kit._lineage_nodes import (
    Node,
    add_history,
    edge_id,
    node_id,
    read_nodes,
    slug,
    topological,
)
from nemotron.kit.exceptions import KitError

if TYPE_CHECKING:
    from nemotron.registry import ArtifactRegistry

__all__ = ["LineageReportError", "edge_id", "lineage_report", "node_id"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LineageReportError(KitError, RuntimeError):
    """The page cannot be made (Graphviz missing or failing); one line naming the fix."""


def lineage_report(registry: ArtifactRegistry, ref: str) -> str:
    """The lineage of `ref` (`name`, `name:v3`, `name:alias`, `art://…`) as one HTML page."""
    from nemotron.registry import parse_uri
    from nrun.exec.report import escape, html_page

    parsed = parse_uri(ref if ref.startswith("art://") else f"art://{ref}")
    graph = registry.lineage(parsed.name, parsed.ref)
    nodes = read_nodes(graph)
    add_history(registry, nodes)
    root = nodes[graph.root]
    order = topological(graph)
    svg = _graph_svg(nodes, order, graph.root)
    kinds = [n.kind for n in nodes.values()]
    counts = [
        _count(kinds.count("artifact"), "artifact version"),
        _count(kinds.count("raw"), "raw input"),
        _count(sum(len(n.inputs) for n in nodes.values()), "edge"),
    ]
    if "missing" in kinds:
        counts.insert(2, _count(kinds.count("missing"), "missing input"))
    body = (
        f'<header><h1>Lineage of <span class="ref">{escape(root.label)}</span></h1>'
        f'<p class="summary">{", ".join(counts)} · registry {escape(registry.root)}</p></header>'
        f'<section class="graph" id="graph">{svg}</section>'
        f"{_plots([nodes[u] for u in order])}"
        f'<section class="cards" id="cards">{"".join(_card(nodes[u], nodes) for u in order[::-1])}'
        "</section>"
    )
    return html_page(f"Lineage of {root.label}", body, style=_STYLE)


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


# -- the graph ------------------------------------------------------------------------------------
def _dot_text(text: str) -> str:
    """`text` for a Graphviz HTML-like label: XML-escaped, no control characters."""
    from nrun.exec.report import escape

    return escape(_CONTROL.sub(" ", text))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _dot(nodes: dict[str, Node], order: list[str], root: str) -> str:
    from nrun.exec.report import dot_quote

    lines = [
        "digraph lineage {",
        '  graph [rankdir=LR, bgcolor="transparent", nodesep=0.25, ranksep=0.5,'
        ' fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11,'
        ' fillcolor="#eaf1fb", color="#3d6bb3", penwidth=1.2];',
        '  edge [color="#7a8494", arrowsize=0.7];',
    ]
    for uri in order:
        node = nodes[uri]
        if node.version is not None:
            kind = str(node.version.metadata.get("type") or "")
            text = f"<B>{_dot_text(node.label)}</B>"
            if kind:
                text += f'<BR/><FONT POINT-SIZE="9" COLOR="#555555">{_dot_text(kind)}</FONT>'
            style = ""
        else:
            head, _, base = uri.rstrip("/").rpartition("/")
            head = head + "/" if head.endswith(":/") else head  # s3://bucket: no path
            text = f"{_dot_text(base or uri)}"
            text += f'<BR/><FONT POINT-SIZE="8" COLOR="#666666">{_dot_text(_short(head))}</FONT>'
            style = (
                ', shape=box, style="dashed", color="#c0392b"'
                if node.kind == "missing"
                else ', shape=note, style="filled", fillcolor="#f3f3f3", color="#888888"'
            )
        tip = uri.replace("\\", "\\\\")  # an escString: dot expands `\N` even after dot_quote
        classes = node.kind + (" root" if uri == root else "")
        if uri == root:
            style += ', penwidth=2.4, fillcolor="#d5e5fb"'
        lines.append(
            f'  "{node.id}" [id="{node.id}", class="{classes}", label=<{text}>,'
            f' URL="#card-{node.id}", tooltip={dot_quote(tip)}{style}];'
        )
    for uri in order:
        target = nodes[uri]
        for item in target.inputs:
            source = nodes[item]
            lines.append(
                f'  "{source.id}" -> "{target.id}" [id="{edge_id(source.id, target.id)}"];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _graph_svg(nodes: dict[str, Node], order: list[str], root: str) -> str:
    from nrun.exec.report import ReportError, dot_svg

    try:
        return dot_svg(_dot(nodes, order, root))
    except ReportError as exc:  # one line naming the fix; a kit error, so apps show just it
        raise LineageReportError(str(exc)) from None


# -- plots and cards ------------------------------------------------------------------------------
def _spark(values: list[float], label: str) -> str:
    from nrun.exec.report import sparkline_svg

    return sparkline_svg(values, width=160, height=32, label=label)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _plots(ordered: list[Node]) -> str:
    """A small plot per metric that several versions of the lineage record, inputs first."""
    from nrun.exec.report import escape

    keys: dict[str, list[Node]] = {}
    for node in ordered:
        for key in node.metrics:
            keys.setdefault(key, []).append(node)
    rows = []
    for key, found in keys.items():
        if len(found) < 2:
            continue
        values = [n.metrics[key] for n in found]
        steps = " → ".join(
            f'<span class="step">{escape(n.label)} <b>{escape(_fmt(n.metrics[key]))}</b></span>'
            for n in found
        )
        rows.append(
            f'<figure class="plot" id="plot-{escape(slug(key))}" data-metric="{escape(key)}">'
            f"<figcaption>{escape(key)}</figcaption>{_spark(values, key)}"
            f'<div class="steps">{steps}</div></figure>'
        )
    if not rows:
        return ""
    return (
        '<section class="plots" id="plots"><h2>Metrics along the lineage</h2>'
        + "".join(rows)
        + "</section>"
    )


def _table(rows: dict[str, str], cls: str) -> str:
    from nrun.exec.report import escape

    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows.items())
    return f'<table class="{cls}">{cells}</table>' if cells else ""


def _card(node: Node, nodes: dict[str, Node]) -> str:
    from nrun.exec.report import escape

    users = [n for n in nodes.values() if node.uri in n.inputs]

    def links(items: list[Node]) -> str:
        return ", ".join(f'<a href="#card-{n.id}">{escape(n.label)}</a>' for n in items)

    head = (
        f'<h3><span class="name">{escape(node.label)}</span>'
        f' <span class="kind">{node.kind}</span></h3>'
    )
    facts: dict[str, str] = {"uri": node.uri}
    version = node.version
    if version is not None:
        facts.update(
            type=str(version.metadata.get("type") or ""),
            version=f"v{version.version}",
            aliases=", ".join(version.aliases),
            created=version.created_at.isoformat(timespec="seconds"),
            producer=version.producer,
            files=f"{len(version.files)} ({version.total_size:,} bytes)",
            stored=version.url,
        )
    parts = [head, _table({k: v for k, v in facts.items() if v}, "facts")]
    if node.inputs:
        parts.append(f'<p class="inputs">made from {links([nodes[u] for u in node.inputs])}</p>')
    if users:
        parts.append(f'<p class="users">used by {links(users)}</p>')
    if node.metrics:
        parts.append("<h4>Metrics</h4>")
        parts.append(_table({k: _fmt(v) for k, v in node.metrics.items()}, "metrics"))
    for key, values in node.series.items():
        parts.append(
            f'<figure class="plot series"><figcaption>{escape(key)}</figcaption>'
            f"{_spark(values, key)}<span>{escape(_fmt(values[0]))} → {escape(_fmt(values[-1]))}"
            f" ({len(values)} points)</span></figure>"
        )
    details = {k: v for k, v in node.details.items() if k != "type"}
    if details:
        parts.append("<h4>Metadata</h4>" + _table(details, "metadata"))
    for title, text in node.configs:
        parts.append(
            f'<details class="config" open><summary>{escape(title)}</summary>'
            f"<pre>{escape(text)}</pre></details>"
        )
    if version is not None and not node.configs:
        parts.append('<p class="noconfig">no config recorded for this version here</p>')
    return f'<section class="card {node.kind}" id="card-{node.id}">{"".join(parts)}</section>'


_STYLE = """
body{background:#fbfcfe} .summary{color:var(--muted);margin:0 0 12px}
.graph{background:#fff;border:1px solid #dfe4ea;border-radius:8px;padding:12px;overflow:auto}
.graph svg{max-width:100%;height:auto}
.plots{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px} .plots h2{width:100%;margin:0}
.plot{background:#fff;border:1px solid #dfe4ea;border-radius:6px;padding:8px 10px;margin:0}
.plot figcaption{font-weight:600;font-size:12px} .steps{font-size:11px;color:#5b6675}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px;margin-top:16px;
 margin-bottom:24px}
.card{background:#fff;border:1px solid #dfe4ea;border-radius:8px;padding:10px 14px;overflow:hidden}
.card.raw{background:#f7f7f7} .card.missing{border:1px dashed #c0392b}
.card h3{font-size:15px;margin:2px 0 6px;overflow-wrap:anywhere}
.card h4{font-size:13px;margin:10px 0 4px}
.kind{font-size:11px;color:#fff;background:#3d6bb3;border-radius:3px;padding:1px 5px;
 vertical-align:2px}
.raw .kind{background:#888} .missing .kind{background:#c0392b}
.card table{font-size:12px} .card th{background:none;color:var(--muted);font-weight:500;
 padding:1px 8px 1px 0;white-space:nowrap;width:1%} .card td{word-break:break-all;padding:1px 0}
.card th,.card td{border:0} .card p{overflow-wrap:anywhere}
.card pre{background:#f4f6f9;border-radius:4px;padding:6px 8px;font-size:11px;max-height:320px}
summary{cursor:pointer;font-size:12px;color:#3d6bb3} .noconfig{color:#8a94a3;font-size:12px}
:target{outline:2px solid #3d6bb3}
"""
