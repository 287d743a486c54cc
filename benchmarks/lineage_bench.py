"""Benchmark of the lineage page: a 50-artifact lineage's HTML size and render time.

Run: `uv run python benchmarks/lineage_bench.py [--artifacts 50] [--runs 5]`. Publishes
`--artifacts` small versions into a temporary local registry, chained and branched (each made
from the one before; every 4th also from the one four back, every 7th also from a raw input;
two names get a second version, so their metrics also plot across versions), with metrics.
Then it renders `lineage_report` of the last one `--runs` times and prints the page's size,
its node and edge counts, the median render time and where that time goes (the registry's
lineage walk, Graphviz's `dot`), and the `nemotron artifact lineage --html` command end to end
beside the same command printing its text tree. Needs Graphviz's `dot`. Prints numbers;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nemotron.kit import _lineage_nodes, lineage_html
from nemotron.kit.lineage_html import lineage_report
from nemotron.registry import ArtifactRegistry


def build(root: Path, count: int) -> tuple[ArtifactRegistry, str]:
    """`count` published versions in one lineage; the `art://` URI of the last."""
    registry = ArtifactRegistry(root / "registry")
    src = root / "src"
    src.mkdir()
    (src / "data.json").write_text('{"rows": 1}\n')
    uris: list[str] = []
    for i in range(count):
        inputs = uris[-1:]
        if i % 4 == 0 and i >= 4:
            inputs.append(uris[-4])
        if i % 7 == 0:
            inputs.append(f"hf://datasets/org/source-{i // 7}")
        name = f"bench/step-{i:02d}"
        metadata = {
            "type": ("DataArtifact", "ModelArtifact", "EvalArtifact")[i % 3],
            "loss": round(5.0 / (1 + i / 8), 4),
            "accuracy": round(min(0.99, 0.2 + i / (count * 1.5)), 4),
            "tokens": 1000 * (i + 1),
            "note": f"step {i} of the benchmark lineage",
        }
        if i in (count // 3, 2 * count // 3):  # an older version of the same name first
            registry.publish(name, src, metadata={**metadata, "loss": metadata["loss"] * 1.2})
        uris.append(registry.publish(name, src, metadata=metadata, inputs=inputs).uri)
    return registry, uris[-1]


def median(call: Callable[[], object], runs: int) -> float:
    """Median wall time of `call()`, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Build the lineage, render it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lineage-bench-") as tmp:
        root = Path(tmp)
        os.environ["NRUN_HOME"] = str(root / "nrun")  # no producer tasks to read
        start = time.perf_counter()
        registry, last = build(root, args.artifacts)
        published = time.perf_counter() - start

        page = lineage_report(registry, last)
        graph = registry.lineage(*last.removeprefix("art://").rsplit(":v", 1))
        nodes = _lineage_nodes.read_nodes(graph)
        dot = lineage_html._dot(nodes, _lineage_nodes.topological(graph), graph.root)

        from nrun.exec.report import dot_svg

        fresh = lambda: ArtifactRegistry(registry.root)  # noqa: E731 - nothing cached
        render = median(lambda: lineage_report(fresh(), last), args.runs)
        walk = median(
            lambda: fresh().lineage(*last.removeprefix("art://").rsplit(":v", 1)), args.runs
        )
        layout = median(lambda: dot_svg(dot), args.runs)

        out = root / "lineage.html"
        env = {**os.environ, "NEMOTRON_REGISTRY": str(registry.root), "COLUMNS": "200"}
        argv = [sys.executable, "-m", "nemotron.app", "artifact", "lineage", last[len("art://") :]]

        def run(*extra: str) -> None:
            subprocess.run([*argv, *extra], env=env, check=True, capture_output=True)

        command = median(lambda: run("--html", str(out)), 3)
        tree = median(run, 3)

    kinds = [n.kind for n in nodes.values()]
    edges = sum(len(n.inputs) for n in nodes.values())
    print(f"lineage page benchmark · Python {platform.python_version()} · {platform.machine()}")
    print(f"published {args.artifacts} artifacts (+2 older versions) in {published:.2f} s")
    rows = [
        (
            "nodes (artifact versions + raw inputs)",
            f"{kinds.count('artifact')} + {kinds.count('raw')}",
        ),
        ("edges", str(edges)),
        ("page size", f"{len(page.encode()):,} bytes ({len(page.encode()) / 1024:.0f} KiB)"),
        ("  of which the graph's SVG", f"{len(dot_svg(dot).encode()):,} bytes"),
        (f"render lineage_report (median of {args.runs})", f"{render * 1000:.0f} ms"),
        ("  registry lineage walk", f"{walk * 1000:.0f} ms"),
        ("  Graphviz dot -Tsvg", f"{layout * 1000:.0f} ms"),
        ("nemotron artifact lineage --html (process, median of 3)", f"{command * 1000:.0f} ms"),
        ("  the same without --html (the text tree)", f"{tree * 1000:.0f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
