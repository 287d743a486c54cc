"""Release hygiene (STYLE 16): build every wheel, install one into an empty venv, import it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE_INITS = ("nrun/__init__.py", "nrun/exec/__init__.py", "nemotron/__init__.py")

# Runs inside the empty venv after `pip install nrun_config-*.whl`.
NRUN_CONFIG_CHECK = """
import importlib.util, pathlib, sysconfig
from nrun.config import Config, Partial
for name in ("typer", "rich"):
    assert importlib.util.find_spec(name) is None, f"nrun-config pulled in {name}"
site = pathlib.Path(sysconfig.get_paths()["purelib"])
assert (site / "nrun" / "config" / "py.typed").is_file()
assert not (site / "nrun" / "__init__.py").exists(), "nrun must stay a namespace package"

# and it works: overrides, every file format, build
import dataclasses, tempfile
from nrun.config import apply_overrides, build, dump, from_signature, load

@dataclasses.dataclass
class Model:
    size: int = 1
    names: tuple[str, ...] = ()

def train(model: Model, epochs: int = 1) -> tuple[Model, int]:
    return model, epochs

task = apply_overrides(from_signature(train), ["model.size=3", "epochs*=4", "model.names=[a,b]"])
assert build(task)() == (Model(3, ("a", "b")), 4)
with tempfile.TemporaryDirectory() as tmp:
    for fmt in ("yaml", "toml", "json"):
        assert load(dump(task, f"{tmp}/task.{fmt}")) == task
"""

pytestmark = pytest.mark.slow


def files_in(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheels_keep_namespaces_and_ship_py_typed(wheels: dict[str, Path]) -> None:
    assert "nrun_config" in wheels
    for name, wheel in wheels.items():
        files = files_in(wheel)
        assert not files & set(NAMESPACE_INITS), f"{name} ships a namespace __init__.py"
        assert any(f.endswith("/py.typed") for f in files), f"{name} ships no py.typed"
    assert "nrun/config/py.typed" in files_in(wheels["nrun_config"])


def test_nrun_config_wheel_imports_in_empty_venv(wheels: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, wheels["nrun_config"]], check=True)
    subprocess.run([python, "-c", NRUN_CONFIG_CHECK], check=True)


# Runs inside a venv holding only the nrun-config and nrun-exec-local wheels (and their deps).
EXEC_LOCAL_CHECK = """
import sys, pathlib
from nrun.config import Partial
from nrun.exec.executors import executor_class
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
assert executor_class("local") is LocalExecutor
workdir = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(workdir))
import wheeljob
exp = Experiment("wheels", executor=LocalExecutor(workdir=str(workdir)))
exp.add(Partial(wheeljob.hello, name="wheels"), name="hello")
exp.run()
assert exp.status() == {"hello": "SUCCEEDED"}, exp.statuses()
assert exp.logs("hello") == "hello wheels", exp.logs("hello")
again = Experiment.from_id(exp.id)
assert again.status() == {"hello": "SUCCEEDED"}
"""


def test_nrun_exec_local_wheels_run_an_experiment(wheels: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, wheels["nrun_config"], wheels["nrun_exec_local"]], check=True)
    (tmp_path / "wheeljob.py").write_text("def hello(name):\n    print(f'hello {name}')\n")
    env = {"PATH": "/usr/bin:/bin", "NRUN_HOME": str(tmp_path / "home")}
    subprocess.run([python, "-c", EXEC_LOCAL_CHECK, str(tmp_path)], check=True, env=env)


# Runs inside a venv holding only the nrun-config, nrun-exec-local and nrun-exec-slurm wheels.
EXEC_SLURM_CHECK = """
import shutil, sys, pathlib
from nrun.config import Partial
from nrun.exec.executors import executor_class
from nrun.exec.experiment import Experiment
from nrun.exec.probes import echo
from nrun.exec.slurm import SlurmExecutor
assert executor_class("slurm") is SlurmExecutor
if shutil.which("sbatch"):  # a real job when the test cluster runs (integration-tests/slurm-up.sh)
    exp = Experiment("wheels", executor=SlurmExecutor(python="/usr/bin/python3"))
    exp.add(Partial(echo, message="hello from a wheel"), name="hello")
    exp.run()
    assert exp.status() == {"hello": "SUCCEEDED"}, exp.statuses()
    assert exp.logs("hello") == "hello from a wheel", exp.logs("hello")
    print("ran on slurm")
"""


def test_nrun_exec_slurm_wheels_submit_a_job(wheels: dict[str, Path], tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    names = ("nrun_config", "nrun_exec_local", "nrun_exec_slurm")
    subprocess.run([*pip, *(wheels[name] for name in names)], check=True)
    env = {"PATH": "/usr/bin:/bin", "NRUN_HOME": str(tmp_path / "home")}
    subprocess.run([python, "-c", EXEC_SLURM_CHECK], check=True, env=env, cwd=tmp_path)


def test_nrun_app_wheel_runs_a_function(wheels: dict[str, Path], tmp_path: Path) -> None:
    """The `nrun` app with its siblings (no extras): the command, a function run, executors."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    names = ("nrun_config", "nrun_exec_local", "nrun_cli", "nrun")
    subprocess.run([*pip, *(wheels[name] for name in names)], check=True)
    env = {"PATH": "/usr/bin:/bin", "NRUN_HOME": str(tmp_path / "home"), "COLUMNS": "200"}

    def nrun(*args: str) -> str:
        done = subprocess.run(
            [venv / "bin" / "nrun", *args], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert all(command in nrun("--help") for command in ("run", "experiment", "executors"))
    assert nrun("run", "nrun.exec.probes:echo", "message=hi") == "hi\n"
    listed = nrun("executors")
    assert "local: nrun.exec.local.LocalExecutor" in listed
    assert "docker: not installed; pip install 'nrun[docker]'" in listed


# Runs inside a venv holding only the nemotron-registry wheel (argv: root, a work folder, and
# "s3" when the wheel was installed with its [s3] extra). `$NEMOTRON_REGISTRY` names the root.
REGISTRY_CHECK = """
import importlib.metadata, importlib.util, os, pathlib, sys
import fsspec
from nemotron.registry import ArtifactRegistry, BackendNotInstalledError

root, work, extra = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
assert os.environ["NEMOTRON_REGISTRY"] == root
pulled = {"s3fs": extra == "s3", "botocore": extra == "s3", "wandb": False, "rich": False}
for module, wanted in pulled.items():
    assert (importlib.util.find_spec(module) is not None) == wanted, f"{module}: {wanted}?"
if extra != "s3":
    try:
        ArtifactRegistry("s3://bucket/registry")
    except BackendNotInstalledError as exc:
        assert "pip install 'nemotron-registry[s3]'" in str(exc), exc
    else:
        raise AssertionError("s3:// without s3fs did not say what to install")

src = work / "blend"
(src / "sub").mkdir(parents=True)
(src / "blend.json").write_text('{"weights": [0.5, 0.5]}')
(src / "sub" / "shard-000.bin").write_bytes(bytes(range(256)))
registry = ArtifactRegistry(root)
v1 = registry.publish("team/data", src, metadata={"tokens": 10})
(src / "blend.json").write_text('{"weights": [0.25, 0.75]}')
v2 = registry.publish("team/data", src, inputs=[v1])
assert (v1.version, v2.version) == (1, 2)
again = ArtifactRegistry(root)  # a fresh instance reads the same
assert again.resolve("team/data").version == 2
assert again.resolve("team/data", 1).metadata == {"tokens": 10}
assert again.alias("team/data", "prod", 1).aliases == ["prod"]
assert again.resolve("team/data", "prod").version == 1
assert again.list() == ["team/data"]
assert again.verify("team/data").ok and again.verify("team/data", 1).ok
assert [n.uri for n in again.lineage("team/data").nodes.values()] == [v2.uri, v1.uri]
local = again.download("team/data", 1)
assert (local / "blend.json").read_text() == '{"weights": [0.5, 0.5]}'

# art:// through the `fsspec.specs` entry point, on the registry $NEMOTRON_REGISTRY names
specs = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="fsspec.specs")}
assert specs["art"] == "nemotron.registry.filesystem:ArtifactFileSystem", specs
assert fsspec.get_filesystem_class("art").__name__ == "ArtifactFileSystem"
with fsspec.open("art://team/data:v1/blend.json") as f:
    assert f.read() == b'{"weights": [0.5, 0.5]}'
with fsspec.open("art://team/data:prod/sub/shard-000.bin") as f:
    assert f.read() == bytes(range(256))
with fsspec.open("art://team/data/blend.json", "rt") as f:  # latest, the name found by prefix
    assert f.read() == '{"weights": [0.25, 0.75]}'
fs = fsspec.filesystem("art")
listed = sorted(fs.ls("team/data:v2", detail=False))
assert listed == ["team/data:v2/blend.json", "team/data:v2/sub"], listed
assert fs.info("team/data:v2/sub/shard-000.bin")["size"] == 256
print("registry ok", registry.root)
"""


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (run from this, the dev environment); its endpoint."""
    import logging

    from nemotron.registry.testing import S3Server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = dict(os.environ)
    try:
        with S3Server() as server:
            server.bucket("wheels")
            yield server.endpoint
    finally:
        os.environ.clear()
        os.environ.update(saved)


def registry_venv(wheels: dict[str, Path], tmp_path: Path, extra: str) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    wheel = str(wheels["nemotron_registry"])
    subprocess.run([*pip, f"{wheel}[{extra}]" if extra else wheel], check=True)
    return python


def test_nemotron_registry_wheel_alone_publishes_locally(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    """Only its declared dependencies (fsspec, pydantic): publish, resolve, art:// on a folder."""
    python = registry_venv(wheels, tmp_path, "")
    root = str(tmp_path / "registry")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NEMOTRON_REGISTRY": root}
    done = subprocess.run(
        [python, "-c", REGISTRY_CHECK, root, str(tmp_path), ""],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"registry ok file://{root}\n"
    assert (tmp_path / "registry" / "team/data/@versions/2.json").is_file()


def test_nemotron_registry_wheel_with_s3_extra_publishes_to_s3(
    wheels: dict[str, Path], tmp_path: Path, s3_endpoint: str
) -> None:
    """`nemotron-registry[s3]` against a real (moto) S3 server, found through the AWS env."""
    from nemotron.registry.testing import s3_env

    python = registry_venv(wheels, tmp_path, "s3")
    root = "s3://wheels/team/registry"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NEMOTRON_REGISTRY": root,
        "NEMOTRON_CACHE_DIR": str(tmp_path / "cache"),
        **s3_env(s3_endpoint),
    }
    done = subprocess.run(
        [python, "-c", REGISTRY_CHECK, root, str(tmp_path), "s3"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"registry ok {root}\n"
    assert (tmp_path / "cache").is_dir()  # v1 was downloaded from S3 into the cache
