"""Benchmarks of nrun.cli against NeMo-Run's CLI: the same scripts, as fresh processes.

Run: `uv run python benchmarks/cli_bench.py [--runs N]`. Prints tables; asserts nothing.

The guide's basic and nested examples are written twice into a temporary folder, once with
`from nrun import cli` and once with `import nemo_run as run`, and each command below runs in
fresh processes (stdin /dev/null), ours and NeMo-Run's in turn, after one warm-up each:

    python basic.py --help
    python basic.py model=alexnet epochs=5      (NeMo-Run: with --yes, else it asks and aborts)
    python nested.py model_config.size=256 --dryrun

Bytecode is written under ~/.cache/nrun-bench/pycache (PYTHONPYCACHEPREFIX, for both sides alike)
so the warm-up leaves every module compiled, as an installed package is; `--no-pyc` times them
with PYTHONDONTWRITEBYTECODE=1 instead, where whatever has no .pyc is compiled in every process.

For each: the median wall time and the median peak RSS of the process (ru_maxrss), and the
speed-up; the goal is at least 10x on --help and 5x on the others. The basic example is also
written as a bare typer app (`typer.run(train)`, the same function, `alexnet --epochs 5`): a
direct run of a function of plain values should take at most 1.5x what that app takes. Then,
for nrun only, the heavy modules each command imported and where its import time goes
(`python -X importtime`).

NeMo-Run is installed (`uv venv` + `uv pip install nemo-run==VERSION`, or venv + pip without uv)
into a virtual environment cached under ~/.cache/nrun-bench/, so only the first run pays for it;
`--nemo-python PATH` uses a Python that has nemo_run instead. If it cannot be installed, the
reason is printed and only our figures are.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GOAL = 5.0
TYPER_GOAL = 1.5  # at most this many times a bare typer app's time
NEMO_VERSION = "0.11.1"
# nemo-run 0.11.1 asks for leptonai>=0.26.6 and imports leptonai.api.v1 at import time, which
# later leptonai releases dropped (0.47.1 fails `import nemo_run`): pin the lowest it accepts.
NEMO_PINS = ["leptonai==0.26.6"]
CACHE = Path.home() / ".cache" / "nrun-bench"
HEAVY = ["fiddle", "libcst", "docker", "paramiko", "wandb", "typer", "rich", "pydantic"]
TIMEOUT = 300.0

BASIC = """
{import_line}

@{cli}.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {{model}} for {{epochs}} epochs")

if __name__ == "__main__":
    {cli}.main(train)
"""

NESTED = """
from dataclasses import dataclass

{import_line}

@dataclass
class ModelConfig:
    size: int = 128
    layers: int = 2

@{cli}.entrypoint
def train(model_config: ModelConfig):
    print(f"Model size: {{model_config.size}}, layers: {{model_config.layers}}")

if __name__ == "__main__":
    {cli}.main(train)
"""

TYPER_BASIC = """
import typer


def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")


if __name__ == "__main__":
    typer.run(train)
"""

FLAVOURS = {
    "nrun": {"import_line": "from nrun import cli", "cli": "cli"},
    "nemo": {"import_line": "import nemo_run as run", "cli": "run.cli"},
}


@dataclass
class Command:
    """One command line of the benchmark, and how to tell that it did what it should."""

    label: str
    script: str
    args: list[str]
    nemo_extra: list[str] = field(default_factory=list)
    expect: str | None = None  # text the output must contain
    forbid: str | None = None  # text the output must not contain (the task must not run)
    goal: float = GOAL  # speed-up over NeMo-Run
    typer_args: list[str] | None = None  # the same command line of the bare typer app


COMMANDS = [
    Command("--help", "basic.py", ["--help"], expect="Usage", goal=10.0, typer_args=["--help"]),
    Command(
        "basic: model=alexnet epochs=5",
        "basic.py",
        ["model=alexnet", "epochs=5"],
        nemo_extra=["--yes"],
        expect="Training alexnet for 5 epochs",
        typer_args=["alexnet", "--epochs", "5"],
    ),
    Command(
        "nested: size=256 --dryrun",
        "nested.py",
        ["model_config.size=256", "--dryrun"],
        expect="256",
        forbid="Model size:",
    ),
]


@dataclass
class Sample:
    """One finished process."""

    seconds: float
    max_rss_kib: int
    code: int
    output: str


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Run `argv` to its end with stdin /dev/null; its wall time, peak RSS, exit code, output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        timer = threading.Timer(TIMEOUT, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Sample(seconds, usage.ru_maxrss, proc.returncode, text)  # ru_maxrss: KiB on Linux


def problem(command: Command, sample: Sample) -> str | None:
    """Why `sample` is not a proper run of `command`, or None."""
    tail = (sample.output.strip().splitlines() or ["no output"])[-1][:100]
    if sample.code != 0:
        return f"exit code {sample.code} ({tail})"
    if command.expect and command.expect not in sample.output:
        return f"output lacks {command.expect!r} ({tail})"
    if command.forbid and command.forbid in sample.output:
        return f"output has {command.forbid!r}: the task ran"
    return None


def nemo_python(version: str, base_python: str) -> tuple[str | None, str]:
    """A Python with nemo-run==`version`, installed in a cached venv; or None and the reason."""
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
    venv = CACHE / f"nemo-run-{version}-{tag}"
    python = venv / "bin" / "python"
    done = venv / ".complete"
    if done.exists() and python.exists():
        return str(python), f"cached in {venv}"
    shutil.rmtree(venv, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    packages = [f"nemo-run=={version}", *NEMO_PINS]
    uv = shutil.which("uv")
    if uv:
        steps = [
            [uv, "venv", "--quiet", "--python", base_python, str(venv)],
            [uv, "pip", "install", "--quiet", "--python", str(python), *packages],
        ]
    else:
        steps = [
            [base_python, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", *packages],
        ]
    steps.append([str(python), "-c", "import nemo_run"])
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    start = time.perf_counter()
    print(f"installing {' '.join(packages)} into {venv} ...", flush=True)
    for step in steps:
        try:
            done_step = subprocess.run(
                step, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=900
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"`{' '.join(step[:3])} ...` failed: {exc}"
        if done_step.returncode != 0:
            lines = (done_step.stderr or done_step.stdout).strip().splitlines() or ["no output"]
            return None, f"`{' '.join(step[:3])} ...` failed: {' / '.join(lines[-3:])}"
    done.write_text(version)
    return str(python), f"installed in {time.perf_counter() - start:.0f} s into {venv}"


def write_scripts(folder: Path) -> None:
    """The basic and nested examples of the guide, in both flavours, under folder/nrun|nemo."""
    for flavour, names in FLAVOURS.items():
        (folder / flavour).mkdir()
        for filename, template in (("basic.py", BASIC), ("nested.py", NESTED)):
            text = textwrap.dedent(template).format(**names).lstrip()
            (folder / flavour / filename).write_text(text)
    (folder / "typer").mkdir()
    (folder / "typer" / "basic.py").write_text(TYPER_BASIC.lstrip())


def import_report(python: str, command: Command, cwd: Path, env: dict[str, str]) -> str:
    """The heavy modules one run of `command` imported, and the packages its imports cost most."""
    done = subprocess.run(
        [python, "-X", "importtime", command.script, *command.args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    by_package: dict[str, int] = {}  # own import time of each top-level package's modules
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        top = name.strip().split(".")[0]
        by_package[top] = by_package.get(top, 0) + int(self_us)
    total = sum(by_package.values())
    heavy = ", ".join(
        f"{m} {by_package[m] / 1000:.0f} ms" if m in by_package else f"{m} no" for m in HEAVY
    )
    top = sorted(by_package.items(), key=lambda item: -item[1])[:8]
    spent = ", ".join(f"{name} {us / 1000:.0f}" for name, us in top)
    return (
        f"  heavy modules: {heavy}\n"
        f"  all imports {total / 1000:.0f} ms; the most (ms, summed over each package's modules): "
        f"{spent}"
    )


def main() -> None:
    """Run every command in both CLIs and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per figure")
    parser.add_argument("--nemo-version", default=NEMO_VERSION)
    parser.add_argument(
        "--nemo-python", help="a Python that imports nemo_run (default: a cached venv)"
    )
    parser.add_argument("--no-nemo", action="store_true", help="time nrun only")
    parser.add_argument(
        "--no-pyc",
        action="store_true",
        help="write no bytecode (PYTHONDONTWRITEBYTECODE=1): every module without a .pyc beside "
        "it is compiled again in every process, as where that variable is set",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    base_python = getattr(sys, "_base_executable", sys.executable)
    nemo: str | None = None
    if args.nemo_python:
        nemo, how = args.nemo_python, "given with --nemo-python"
    elif not args.no_nemo:
        nemo, how = nemo_python(args.nemo_version, base_python)
    else:
        how = "skipped (--no-nemo)"
    print(
        f"python {sys.version.split()[0]} on {os.cpu_count()} cores; median of {args.runs} fresh "
        "processes after one warm-up; stdin /dev/null"
    )
    print(
        "bytecode: none written (--no-pyc): modules without a .pyc are compiled in every process"
        if args.no_pyc
        else f"bytecode: cached under {CACHE / 'pycache'} (PYTHONPYCACHEPREFIX) by the warm-up"
    )
    print(f"nemo-run: {how}" if nemo else f"nemo-run: not timed: {how}")

    with tempfile.TemporaryDirectory(prefix="nrun-cli-bench-") as tmp:
        folder = Path(tmp)
        write_scripts(folder)
        drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            NRUN_HOME=str(folder / "nrun-home"),
            NEMORUN_HOME=str(folder / "nemo-home"),
            COLUMNS="100",
            TERM="dumb",
        )
        if args.no_pyc:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
        sides = {"nrun": sys.executable} | ({"nemo": nemo} if nemo else {})
        floors = {
            side: statistics.median(
                run_once([python, "-c", "pass"], folder, env).seconds for _ in range(args.runs)
            )
            for side, python in sides.items()
        }

        rows = []
        problems = []
        for command in COMMANDS:
            argvs = {
                side: [
                    python,
                    command.script,
                    *command.args,
                    *(command.nemo_extra if side == "nemo" else []),
                ]
                for side, python in sides.items()
            }
            if command.typer_args is not None:  # typer from nrun's venv: the same typer
                argvs["typer"] = [sys.executable, command.script, *command.typer_args]
            samples: dict[str, list[Sample]] = {side: [] for side in argvs}
            for round_ in range(args.runs + 1):  # round 0 warms the caches (.pyc) and is dropped
                for side, argv in argvs.items():
                    sample = run_once(argv, folder / side, env)
                    if round_:
                        samples[side].append(sample)
            figures = {}
            for side, taken in samples.items():
                bad = [p for p in (problem(command, s) for s in taken) if p]
                if bad:
                    problems.append(
                        f"{side} `{' '.join(argvs[side][1:])}`: {len(bad)} of {len(taken)} runs "
                        f"did not do it: {bad[0]}"
                    )
                figures[side] = (
                    statistics.median(s.seconds for s in taken) * 1000,
                    statistics.median(s.max_rss_kib for s in taken) / 1024,
                    not bad,
                )
            rows.append((command, figures))

        header = (
            f"{'command':<34}{'nrun ms':>9}{'nrun MiB':>10}{'nemo-run ms':>13}{'nemo-run MiB':>14}"
            f"{'speed-up':>10}  goal"
        )
        print(f"\n{header}\n{'-' * len(header)}")
        floor_nemo = f"{floors['nemo'] * 1000:>13.0f}{'':>14}" if nemo else f"{'-':>13}{'':>14}"
        print(f"{'(python -c pass)':<34}{floors['nrun'] * 1000:>9.0f}{'':>10}{floor_nemo}")
        verdicts = []
        for command, figures in rows:
            ms, mib, ok = figures["nrun"]
            line = f"{command.label:<34}{ms:>9.0f}{mib:>10.1f}"
            if "nemo" in figures:
                nemo_ms, nemo_mib, nemo_ok = figures["nemo"]
                speed_up = nemo_ms / ms
                met = ok and nemo_ok and speed_up >= command.goal
                verdict = f"{command.goal:.0f}x " + ("met" if met else "NOT met")
                if not (ok and nemo_ok):
                    verdict += " (a side failed)"
                verdicts.append(met)
                line += f"{nemo_ms:>13.0f}{nemo_mib:>14.1f}{speed_up:>9.1f}x  {verdict}"
            else:
                line += f"{'-':>13}{'-':>14}{'-':>10}"
            print(line)
        if verdicts:
            print(
                f"\ngoals met on {sum(verdicts)} of {len(verdicts)} commands "
                f"(nemo-run's direct run takes {' '.join(COMMANDS[1].nemo_extra)}: without it, "
                "it asks to confirm and aborts on a closed stdin)"
            )
        print(f"\nthe same basic.py as a bare typer app (typer.run), goal: at most {TYPER_GOAL}x")
        print(f"{'command':<34}{'nrun ms':>9}{'typer ms':>10}{'ratio':>8}  typer's command line")
        for command, figures in rows:
            if "typer" not in figures:
                continue
            ms, typer_ms = figures["nrun"][0], figures["typer"][0]
            ratio = ms / typer_ms
            verdict = "met" if ratio <= TYPER_GOAL and figures["typer"][2] else "NOT met"
            print(
                f"{command.label:<34}{ms:>9.0f}{typer_ms:>10.0f}{ratio:>7.2f}x  "
                f"{' '.join(command.typer_args or [])} ({verdict})"
            )
        if problems:
            print("\nruns that did not do what the command asks:")
            for text in problems:
                print(f"  {text}")
        else:
            print("every run checked: help shown; the task ran (direct) or did not (dry run)")

        print("\nnrun: heavy modules imported by each command (python -X importtime)")
        for command in COMMANDS:
            print(f"{command.label}")
            print(import_report(sys.executable, command, folder / "nrun", env))

    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
