"""Benchmarks of the nemotron app and kit as a user runs them: command start-up and pipelines.

Run: `uv run python benchmarks/nemotron_bench.py [--runs N] [--no-pipeline]`. Prints medians;
asserts nothing. Start-up is measured in a fresh venv with the wheels installed and bytecode
compiled (`pip install` does), as a user has it: `nemotron --help`, `nemotron artifact list`
on a registry of 50 names, `nemotron recipe --help` (which loads the recipe families), and
`python -c pass` for scale. The pipeline figure is the README's main job (`nemotron recipe
pipe`: five steps, five local tasks of one nrun experiment) from start to the lineage tree,
and the same five steps piped by hand (`python -m step | python -m step …`), which is what the
experiment costs on top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS = (
    "nrun-config",
    "nrun-exec-local",
    "nemotron-registry",
    "nemotron-kit",
    "nemotron-tiny-recipes",
    "nemotron-app",
)
STEPS = ("tokenize_data", "blend", "pretrain", "sft", "eval")


def timed(argv: list[str], env: dict[str, str], runs: int, **kwargs: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def venv_with_wheels(tmp: Path) -> Path:
    dist = tmp / "dist"
    subprocess.run(
        ["uv", "build", "--all-packages", "--no-sources", "-q", "-o", str(dist)],
        cwd=ROOT,
        check=True,
    )
    wheels = [next(dist.glob(f"{name.replace('-', '_')}-*.whl")) for name in WHEELS]
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--disable-pip-version-check", *map(str, wheels)], check=True)
    return venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nemotron-bench-") as name:
        tmp = Path(name)
        venv = venv_with_wheels(tmp)
        python, nemotron = str(venv / "bin" / "python"), str(venv / "bin" / "nemotron")
        env = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp),
            "NEMOTRON_REGISTRY": str(tmp / "registry"),
            "NRUN_HOME": str(tmp / "nrun"),
        }
        seed = (
            "from nemotron.registry import ArtifactRegistry\n"
            "import pathlib, sys\n"
            "r = ArtifactRegistry(sys.argv[1]); f = pathlib.Path(sys.argv[2]); f.write_text('x')\n"
            "[r.publish(f'bench/a{i:02d}', f) for i in range(50)]\n"
        )
        subprocess.run([python, "-c", seed, env["NEMOTRON_REGISTRY"], str(tmp / "x")], check=True)
        rows = [
            ("python -c pass", [python, "-c", "pass"]),
            ("nemotron --help", [nemotron, "--help"]),
            ("nemotron artifact list (50 names)", [nemotron, "artifact", "list"]),
            ("nemotron recipe --help", [nemotron, "recipe", "--help"]),
        ]
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of {args.runs}")
        print(f"{'command':46} {'seconds':>8}")
        for label, argv in rows:
            print(f"{label:46} {timed(argv, env, args.runs):8.3f}")
        if args.no_pipeline:
            return
        pipe = timed([nemotron, "recipe", "pipe"], env, 3)
        chain = " | ".join(f"{python} -m nemotron.recipes.tiny.{step}" for step in STEPS)
        by_hand = timed(["bash", "-o", "pipefail", "-c", chain], env, 3)
        print(f"{'nemotron recipe pipe (5 steps, 1 experiment)':46} {pipe:8.3f}")
        print(f"{'the 5 steps piped by hand':46} {by_hand:8.3f}")


if __name__ == "__main__":
    main()
