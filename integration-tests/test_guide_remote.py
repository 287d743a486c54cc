"""The CLI guide's one-file script on the test cluster (both tunnels) and in a python3-only image.

The guide's `task.py` (its configs, factories and entrypoint, sections 4 and 6) with the executor
factories of section 5 at its top (`from nrun import cli`, `from nrun.config import Config,
Partial, autoconvert`, `from nrun.exec.slurm import SlurmExecutor, SSHTunnel`, `from
nrun.exec.docker import DockerExecutor`), run as a user runs it: `python task.py ...
run.executor=NAME --yes` (over SSH, a packager ships `task.py`, as the cluster cannot see
this folder). Where the task lands there is nothing of ours installed (the nodes'
`/usr/bin/python3`; the image `nrun-test-python:bookworm`, debootstrapped python3): the task
runner imports `task.py` there with only the runtime the executors ship.

Services: `integration-tests/slurm-up.sh`, `sshd-up.sh`, `docker-up.sh`; each test skips with
the reason when its service does not answer.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

IT_DIR = Path(os.environ.get("NRUN_IT_DIR", "/tmp/nrun-it"))
SSH_DIR = IT_DIR / "sshd"
SSH = {
    "host": os.environ.get("NRUN_IT_SSH_HOST", "127.0.0.1"),
    "port": int(os.environ.get("NRUN_IT_SSH_PORT", "2222")),
    "user": os.environ.get("NRUN_IT_SSH_USER", "nrun"),
    "identity": os.environ.get("NRUN_IT_SSH_KEY", str(SSH_DIR / "id_ed25519")),
    "known_hosts": os.environ.get("NRUN_IT_SSH_KNOWN_HOSTS", str(SSH_DIR / "known_hosts")),
}
NODE_PYTHON = "/usr/bin/python3"
IMAGE = os.environ.get("NRUN_IT_IMAGE", "nrun-test-python:bookworm")

# The guide's task.py: configs and factories (section 4), the entrypoint and its recipe
# (section 6), and the executor factories of section 5 with this machine's cluster and image.
TASK = """
import os
from dataclasses import dataclass, field

from nrun import cli
from nrun.config import Config, Partial, autoconvert
from nrun.exec.base import Executor
from nrun.exec.docker import DockerExecutor
from nrun.exec.packaging import PatternPackager
from nrun.exec.slurm import LocalTunnel, SlurmExecutor, SSHTunnel

ACCOUNT = "root"
SLURM_PARTITION = "debug"
BASE_DIR = {base_dir!r}
DATA_DIR = {data_dir!r}


@dataclass
class Model:
    hidden_size: int = 256
    num_layers: int = 3
    activation: str = "relu"


@dataclass
class Optimizer:
    learning_rate: float = 0.001
    weight_decay: float = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@cli.factory
@autoconvert
def my_model() -> Model:
    return Model(hidden_size=1024, num_layers=12)


@cli.factory
@autoconvert
def my_optimizer() -> Optimizer:
    return Optimizer(learning_rate=0.0001)


@cli.entrypoint
def train_model(model: Model, optimizer: Optimizer, epochs: int = 10, batch_size: int = 32):
    \"\"\"Train a model using the specified configuration.\"\"\"
    print(f"Training {{model}} with {{optimizer}} for {{epochs}} epochs, batch size {{batch_size}}")
    print(f"HF_HOME={{os.environ.get('HF_HOME')}}")


@cli.factory(target=train_model)
def train_recipe() -> Partial:
    return Partial(
        train_model,
        model=Config(Model, hidden_size=512),
        optimizer=Config(Optimizer),
        epochs=30,
        batch_size=64,
    )


@cli.factory
@autoconvert
def docker() -> Executor:
    return DockerExecutor(
        container_image={image!r},
        volumes=[f"{{DATA_DIR}}:/workspaces/data"],
        env_vars={{"HF_HOME": "/workspaces/models/hf", "NEMO_HOME": "/workspaces/models/nemo"}},
    )


@cli.factory
@autoconvert
def slurm_cluster() -> Executor:
    return SlurmExecutor(
        account=ACCOUNT,
        partition=SLURM_PARTITION,
        job_name_prefix=f"{{ACCOUNT}}-nemo-ux:",
        time="4:00:00",
        python={python!r},
        env_vars={{"HF_HOME": "/workspaces/models/hf"}},
        packager=PatternPackager(include_pattern=["*.py"]),  # this file, to the cluster
        tunnel=SSHTunnel(
            host={host!r},
            user={user!r},
            job_dir=BASE_DIR,
            port={port!r},
            identity={identity!r},
            known_hosts={known_hosts!r},
        ),
    )


@cli.factory
@autoconvert
def slurm_login_node() -> Executor:
    return SlurmExecutor(
        account=ACCOUNT,
        partition=SLURM_PARTITION,
        time="4:00:00",
        python={python!r},
        env_vars={{"HF_HOME": "/workspaces/models/hf"}},
        tunnel=LocalTunnel(),
    )


if __name__ == "__main__":
    cli.main(train_model)
"""

# The guide's task.yaml (section 6: `python task.py --yaml task.yaml`)
TASK_YAML = """
_target_: task.train_model
_partial_: true
batch_size: 32
epochs: 10
model:
  _target_: task.Model
  activation: relu
  hidden_size: 256
  num_layers: 3
optimizer:
  _target_: task.Optimizer
  betas: [0.9, 0.999]
  learning_rate: 0.001
  weight_decay: 1.0e-05
"""

RECIPE_LINE = (
    "Training Model(hidden_size=1024, num_layers=12, activation='relu') with "
    "Optimizer(learning_rate=0.001, weight_decay=1e-05, betas=[0.9, 0.999]) for 5 epochs, "
    "batch size 64"
)
YAML_LINE = (
    "Training Model(hidden_size=256, num_layers=3, activation='relu') with "
    "Optimizer(learning_rate=0.0001, weight_decay=1e-05, betas=[0.9, 0.999]) for 10 epochs, "
    "batch size 32"
)


@pytest.fixture(scope="module")
def cluster() -> None:
    if shutil.which("scontrol") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, check=False)
    if done.returncode != 0 or "UP" not in done.stdout:
        pytest.skip(f"Slurm is not up ({done.stdout.strip()}); run integration-tests/slurm-up.sh")


@pytest.fixture
def remote_dir(cluster: None, tmp_path: Path) -> Iterator[str]:
    """A job folder of this test under the SSH user's home, removed after it."""
    from nrun.exec.slurm import SSHTunnel

    folder = f"nrun-tests/{tmp_path.name}"
    if not Path(SSH["identity"]).exists():
        pytest.skip("no SSH login node; start it with integration-tests/sshd-up.sh")
    tunnel = SSHTunnel(job_dir=folder, **SSH)  # type: ignore[arg-type]
    try:
        tunnel.home()
    except Exception as exc:
        pytest.skip(f"the SSH login node does not answer ({exc}); run integration-tests/sshd-up.sh")
    yield folder
    tunnel.run(f"rm -rf {shlex.quote(folder)}")


@pytest.fixture(scope="module")
def daemon() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client; start the daemon with integration-tests/docker-up.sh")
    done = subprocess.run([docker, "image", "inspect", IMAGE], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"no Docker daemon or no image {IMAGE}; run integration-tests/docker-up.sh")


def write_task(folder: Path, base_dir: str = "nrun-tests/unused") -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    fields = {"base_dir": base_dir, "data_dir": str(data), "image": IMAGE}
    fields |= {"python": NODE_PYTHON, **SSH}
    (folder / "task.py").write_text(textwrap.dedent(TASK).lstrip().format(**fields))
    (folder / "task.yaml").write_text(TASK_YAML.lstrip())
    return folder


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python task.py ARGS... --yes` as a user types it, with a fresh `$NRUN_HOME`."""
    env = {**os.environ, "NRUN_HOME": str(folder / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "task.py", *args, "--yes"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout.splitlines()


def test_the_nodes_have_nothing_of_ours(cluster: None) -> None:
    """What makes the runs below meaningful: the nodes' python3 has no nrun, fiddle nor typer."""
    names = ("nrun", "fiddle", "typer", "rich")
    probe = f"import importlib.util as u; print([n for n in {names!r} if u.find_spec(n)])"
    done = subprocess.run(
        ["srun", "--partition=debug", NODE_PYTHON, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_recipe_on_slurm_through_the_local_tunnel_on_two_nodes(
    cluster: None, tmp_path: Path
) -> None:
    folder = write_task(tmp_path)
    done = run(
        folder,
        "--factory",
        "train_recipe",
        "model=my_model",
        "epochs=5",
        "run.executor=slurm_login_node",
        "run.executor.nodes=2",
    )
    out = lines(done)
    assert out.count(RECIPE_LINE) == 2  # one task per node
    assert out.count("HF_HOME=/workspaces/models/hf") == 2


def test_yaml_on_slurm_through_ssh(remote_dir: str, tmp_path: Path) -> None:
    folder = write_task(tmp_path, base_dir=remote_dir)
    out = lines(
        run(folder, "--yaml", "task.yaml", "optimizer=my_optimizer", "run.executor=slurm_cluster")
    )
    assert YAML_LINE in out
    assert "HF_HOME=/workspaces/models/hf" in out


def test_recipe_on_slurm_through_ssh_on_two_nodes(remote_dir: str, tmp_path: Path) -> None:
    folder = write_task(tmp_path, base_dir=remote_dir)
    done = run(
        folder,
        "--factory",
        "train_recipe",
        "model=my_model",
        "epochs=5",
        "run.executor=slurm_cluster",
        "run.executor.nodes=2",
    )
    assert lines(done).count(RECIPE_LINE) == 2


def test_recipe_in_a_python3_only_container(daemon: None, tmp_path: Path) -> None:
    folder = write_task(tmp_path)
    out = lines(
        run(
            folder, "--factory", "train_recipe", "model=my_model", "epochs=5", "run.executor=docker"
        )
    )
    assert RECIPE_LINE in out
    assert "HF_HOME=/workspaces/models/hf" in out


def test_yaml_in_a_python3_only_container(daemon: None, tmp_path: Path) -> None:
    folder = write_task(tmp_path)
    out = lines(run(folder, "--yaml", "task.yaml", "optimizer=my_optimizer", "run.executor=docker"))
    assert YAML_LINE in out
