"""The guide's one-file script where its job lands: the standard library and nrun's runtime only.

Every executor ships `nrun.exec.runtime`'s folder next to the job, and the task runner imports
the task's module there: the CLI guide's script, whose top says `from nrun import cli`,
`from nrun.config import Config, Partial, autoconvert` and imports the executors of section 5.
Importing it must need nothing the job's `python3` lacks: no typer, rich, fiddle, paramiko nor
docker. Each check runs a real, fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from nrun.exec.runtime import bundle_runtime
from scripts import TASK_CONFIGS, run_py, write

HEAVY = ("typer", "click", "rich", "fiddle", "libcst", "paramiko", "docker", "pydantic")

# The guide's task.py (sections 4 and 6) with the executor factories of section 5 (those whose
# executor is installed: this package's own test env has neither nrun-exec-docker nor -slurm).
ENTRYPOINT = '''
from nrun.exec.base import Executor


@cli.entrypoint
def train_model(model: Model, optimizer: Optimizer, epochs: int = 10, batch_size: int = 32):
    """Train a model using the specified configuration."""
    print(f"model: {model}")
    print(f"optimizer: {optimizer}")
    print(f"epochs={epochs} batch_size={batch_size}")


@cli.factory(target=train_model)
def train_recipe() -> Partial:
    return Partial(
        train_model,
        model=Config(Model, hidden_size=512),
        optimizer=Config(Optimizer),
        epochs=30,
        batch_size=64,
    )
'''
EXECUTORS = {
    "docker": """
from nrun.exec.docker import DockerExecutor


@cli.factory
@autoconvert
def docker() -> Executor:
    return DockerExecutor(
        container_image="nvcr.io/nvidia/nemo:dev",
        env_vars={"HF_HOME": "/workspaces/models/hf"},
    )
""",
    "slurm": """
from nrun.exec.slurm import SlurmExecutor, SSHTunnel


@cli.factory
@autoconvert
def slurm_cluster() -> Executor:
    return SlurmExecutor(
        account="acct",
        time="4:00:00",
        tunnel=SSHTunnel(host="login.example", user="marc", job_dir="/lustre/jobs"),
    )
""",
}
MAIN = """

if __name__ == "__main__":
    cli.main(train_model)
"""
INSTALLED = [name for name in EXECUTORS if importlib.util.find_spec(f"nrun.exec.{name}")]
GUIDE_SCRIPT = TASK_CONFIGS + ENTRYPOINT + "".join(EXECUTORS[n] for n in INSTALLED) + MAIN


def python(cwd: Path, code: str, *flags: str, env: dict[str, str] | None = None) -> str:
    """Run `code` in a fresh `sys.executable` (with `flags`) in `cwd`; its stdout."""
    done = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_guide_script_imports_with_typer_rich_fiddle_paramiko_docker_blocked(
    tmp_path: Path,
) -> None:
    write(tmp_path / "task.py", GUIDE_SCRIPT)
    out = python(
        tmp_path,
        f"""
        import sys
        for name in {HEAVY!r}:
            sys.modules[name] = None  # `import name` now raises ImportError
        import task
        print(task.train_model.__nrun_entrypoint__.name)
        try:
            task.my_model()  # a factory called for real needs fiddle: it says so then
        except ModuleNotFoundError as exc:
            print("called:", exc.name)
        """,
    )
    assert out == "train_model\ncalled: fiddle\n"


def test_decorating_the_guide_script_imports_no_cli_config_or_executor_library(
    tmp_path: Path,
) -> None:
    """With everything installed, `from nrun import cli`, the executors and the decorators."""
    script = GUIDE_SCRIPT.replace(
        "from nrun.config import Config, Partial, autoconvert",
        "from nrun.config import autoconvert",
    ).replace("-> Partial:", "-> object:")  # `Config`, `Partial` are fiddle's classes
    write(tmp_path / "task.py", script)
    out = python(
        tmp_path,
        f"""
        import sys
        import task
        heavy = {HEAVY!r}
        print(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy)))
        """,
    )
    assert out == "[]\n"


def test_the_guide_task_runs_from_the_runtime_alone(tmp_path: Path) -> None:
    """The task runner in `python3 -S` (no site-packages) with only the runtime shipped."""
    code, runtime = tmp_path / "code", tmp_path / "runtime"
    write(code / "task.py", GUIDE_SCRIPT)
    exported = run_py(
        code, "task.py", "--factory", "train_recipe", "model=my_model", "--to-yaml", "job.yaml"
    )
    assert exported.returncode == 0, exported.stderr
    bundle_runtime(runtime)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{code}{os.pathsep}{runtime}"}
    bare = python(
        code,
        """
        import importlib.util
        print([n for n in ("fiddle", "typer", "rich") if importlib.util.find_spec(n)])
        """,
        "-S",
        env=env,
    )
    assert bare == "[]\n"  # this interpreter has nothing but the standard library and the runtime
    done = subprocess.run(
        [sys.executable, "-S", "-m", "nrun.exec.task", "job.yaml"],
        cwd=code,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "model: Model(hidden_size=1024, num_layers=12, activation='relu')",
        "optimizer: Optimizer(learning_rate=0.001, weight_decay=1e-05, betas=[0.9, 0.999])",
        "epochs=30 batch_size=64",
    ]
