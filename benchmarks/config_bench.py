"""Benchmarks of nrun.config: import time, parse+apply of overrides, export+load of big configs.

Run: `uv run python benchmarks/config_bench.py [--runs N]`. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nrun.config import Config, apply_overrides, build, dump, dumps, load, parse_override


@dataclasses.dataclass
class Layer:
    """One layer of the benchmark model."""

    size: int = 64
    dropout: float = 0.1
    activation: str = "relu"
    bias: bool = True


@dataclasses.dataclass
class Net:
    """A model with many layers, so paths reach deep into lists."""

    layers: list[Layer] = dataclasses.field(default_factory=list)
    name: str = "net"


def import_seconds(statement: str, runs: int) -> tuple[float, float]:
    """Median wall time of a fresh `python -c statement`, and median in-process import time."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    wall, inner = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
        wall.append(time.perf_counter() - start)
        inner.append(float(out.strip()))
    return statistics.median(wall), statistics.median(inner)


def big_net(layers: int) -> Config[Net]:
    """A config of `layers` layer configs (5 nodes each: the config and its 4 values)."""
    return Config(
        Net,
        layers=[
            Config(Layer, size=i, dropout=0.1, activation="gelu", bias=True) for i in range(layers)
        ],
        name="big",
    )


def bench_overrides(count: int) -> dict[str, float]:
    """Parse and apply `count` overrides spread over a 500-layer net."""
    cfg = big_net(500)
    kinds = [
        "layers[{i}].size={v}",
        "layers.{i}.dropout=0.{v}",
        "layers[{i}].activation=silu",
        "layers[{i}].size+={v}",
        "layers[{i}].bias=false",
    ]
    texts = [kinds[n % len(kinds)].format(i=n % 500, v=n % 9 + 1) for n in range(count)]
    start = time.perf_counter()
    parsed = [parse_override(t) for t in texts]
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    apply_overrides(cfg, parsed)
    apply_s = time.perf_counter() - start
    build(cfg)
    return {"parse": parse_s, "apply": apply_s}


def bench_files(nodes: int, folder: Path) -> dict[str, tuple[float, float, int]]:
    """Export and load a config of about `nodes` nodes in each format."""
    cfg = big_net(nodes // 5)
    out = {}
    for fmt in ("yaml", "toml", "json"):
        path = folder / f"big.{fmt}"
        start = time.perf_counter()
        dump(cfg, path)
        dump_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded = load(path)
        load_s = time.perf_counter() - start
        # run as a script, targets are written as `config_bench.Net`: compare what is written
        assert dumps(loaded, fmt) == dumps(cfg, fmt)
        out[fmt] = (dump_s, load_s, path.stat().st_size)
    return out


def main() -> None:
    """Run every benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per import figure")
    parser.add_argument("--overrides", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()

    print(
        f"python {sys.version.split()[0]} on {os.cpu_count()} cores; "
        f"median of {args.runs} fresh processes"
    )
    print(f"{'import':<34}{'process wall (ms)':>20}{'import itself (ms)':>20}")
    for label, statement in [
        ("python -c pass", "pass"),
        ("import fiddle", "import fiddle"),
        ("import nrun.config", "import nrun.config"),
        ("from nrun.config import Config", "from nrun.config import Config"),
        ("... instantiate_file", "from nrun.config import instantiate_file"),
    ]:
        wall, inner = import_seconds(statement, args.runs)
        print(f"{label:<34}{wall * 1000:>20.1f}{inner * 1000:>20.1f}")

    figures = bench_overrides(args.overrides)
    per = 1e6 / args.overrides
    print(
        f"\n{args.overrides:,} overrides: parse {figures['parse'] * 1000:.0f} ms "
        f"({figures['parse'] * per:.1f} µs each), apply {figures['apply'] * 1000:.0f} ms "
        f"({figures['apply'] * per:.1f} µs each)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        files = bench_files(args.nodes, Path(tmp))
    print(
        f"\nconfig of {args.nodes:,} nodes{'':<6}"
        f"{'export (ms)':>12}{'load (ms)':>12}{'size (KiB)':>12}"
    )
    for fmt, (dump_s, load_s, size) in files.items():
        print(f"{fmt:<28}{dump_s * 1000:>12.0f}{load_s * 1000:>12.0f}{size / 1024:>12.0f}")


if __name__ == "__main__":
    main()
