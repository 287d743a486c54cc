"""Every example of the CLI guide (/work/shared/spec/nemo-run-cli-guide.md), run as a program.

The guide's scripts are written to `tmp_path` and run with `sys.executable script.py ...`, so
module names (`__main__`, `task.Model`), the program name and a real stdin are what a user gets.
`nemo_run as run` becomes `from nrun import cli` and `from nrun.config import ...`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nrun.exec.experiment import Experiment
from scripts import TASK_CONFIGS, one_line, run_in_terminal, run_py, write

# -- helpers ---------------------------------------------------------------------------------------


def table_rows(text: str) -> dict[str, str]:
    """The rows of a rich two-column table: {name: value}, wrapped values joined."""
    rows: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) != 2:
            continue
        name, value = cells
        if name:
            rows[name] = value
            last = name
        elif last is not None:
            rows[last] += " " + value
    return rows


def squeeze(text: str) -> str:
    return "".join(text.split())


def call_items(text: str) -> tuple[str, set[str]]:
    """`Model(a=1, b='x')` as ('Model', {'a=1', "b='x'"}), to compare whatever the order."""
    head, _, rest = squeeze(text).partition("(")
    items, depth, current = set(), 0, ""
    for char in rest.removesuffix(")"):
        if char == "," and depth == 0:
            items.add(current)
            current = ""
            continue
        depth += char in "([{"
        depth -= char in ")]}"
        current += char
    items.add(current)
    return head, items


# -- 1. Introduction: the comparison example -------------------------------------------------------

INTRO = """
from dataclasses import dataclass
from nrun import cli


@dataclass
class ModelConfig:
    hidden_size: int = 512
    layer_size: int = 128


@dataclass
class OptimizerConfig:
    lr: float = 0.001


@cli.entrypoint
def train(model_config: ModelConfig, optimizer: OptimizerConfig):
    print(f"hidden_size={model_config.hidden_size} layer_size={model_config.layer_size}")
    print(f"lr={optimizer.lr}")


if __name__ == "__main__":
    cli.main(train)
"""


def test_introduction_nested_parameters_need_no_code(tmp_path: Path) -> None:
    write(tmp_path / "train.py", INTRO)
    result = run_py(tmp_path, "train.py", "model_config.hidden_size=1024", "optimizer.lr=0.01")
    assert (result.returncode, result.stdout) == (0, "hidden_size=1024 layer_size=128\nlr=0.01\n")
    result = run_py(tmp_path, "train.py", "model_config.layer_size=256")
    assert (result.returncode, result.stdout) == (0, "hidden_size=512 layer_size=256\nlr=0.001\n")


# -- 3. Getting started ----------------------------------------------------------------------------

BASIC = """
from nrun import cli

@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")

if __name__ == "__main__":
    cli.main(train)
"""


def test_example_1_basic_entrypoint(tmp_path: Path) -> None:
    write(tmp_path / "script.py", BASIC)
    result = run_py(tmp_path, "script.py", "model=alexnet", "epochs=5")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Training alexnet for 5 epochs\n",
        "",
    )


def test_example_1_default_epochs(tmp_path: Path) -> None:
    write(tmp_path / "script.py", BASIC)
    result = run_py(tmp_path, "script.py", "model=alexnet")
    assert (result.returncode, result.stdout) == (0, "Training alexnet for 10 epochs\n")


def test_example_2_error_correction(tmp_path: Path) -> None:
    write(tmp_path / "script.py", BASIC)
    result = run_py(tmp_path, "script.py", "model=alexnet", "epocks=5")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Unknown argument 'epocks'. Did you mean 'epochs'?" in one_line(result.stderr)


# -- 4. Nested configurations with dataclasses -----------------------------------------------------

NESTED = """
from dataclasses import dataclass
from nrun import cli

@dataclass
class ModelConfig:
    size: int = 128
    layers: int = 2

@cli.entrypoint
def train(model_config: ModelConfig):
    print(f"Model size: {model_config.size}, layers: {model_config.layers}")

if __name__ == "__main__":
    cli.main(train)
"""

# nrun's table shows every field of the config (defaults included); the guide's NeMo Run only
# the ones set. Both are accepted.
MODEL_CONFIG_256 = re.compile(r"ModelConfig\(size=256(, layers=2)?\)")


def test_nested_override_without_a_terminal_runs_at_once(tmp_path: Path) -> None:
    write(tmp_path / "script.py", NESTED)
    result = run_py(tmp_path, "script.py", "model_config.size=256")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("Model size: 256, layers: 2\n")
    assert "Continue?" not in result.stdout + result.stderr


def nested_on_a_terminal(tmp_path: Path, answer: str) -> tuple[int | None, str]:
    """Run NESTED with `model_config.size=256` on a terminal, typing `answer` when it asks."""
    write(tmp_path / "script.py", NESTED)
    return run_in_terminal(
        tmp_path, "script.py", "model_config.size=256", answers={"Continue? [y/N]: ": answer}
    )


def test_nested_override_on_a_terminal_shows_the_task_and_asks(tmp_path: Path) -> None:
    code, out = nested_on_a_terminal(tmp_path, answer="y\n")
    assert code == 0, out
    assert "__main__:train" in out
    assert "Resolved Arguments" in out
    assert "Argument Name" in out and "Resolved Value" in out
    rows = table_rows(out)
    assert MODEL_CONFIG_256.fullmatch(rows["model_config"]), rows
    asked = out.index("Continue? [y/N]: y")
    assert out.index("Resolved Arguments") < asked
    assert out.index("Model size: 256, layers: 2", asked) > asked


def test_nested_override_on_a_terminal_starts_with_configuring_global_options(
    tmp_path: Path,
) -> None:
    code, out = nested_on_a_terminal(tmp_path, answer="y\n")
    assert code == 0, out
    assert out.lstrip().startswith("Configuring global options\n")


def test_nested_override_on_a_terminal_header_is_dry_run_for_task(tmp_path: Path) -> None:
    code, out = nested_on_a_terminal(tmp_path, answer="y\n")
    assert code == 0, out
    assert "Dry run for task __main__:train\nResolved Arguments" in out


def test_nested_override_on_a_terminal_says_launching(tmp_path: Path) -> None:
    code, out = nested_on_a_terminal(tmp_path, answer="y\n")
    assert code == 0, out
    assert re.search(
        r"Continue\? \[y/N\]: y\nLaunching train\.\.\.\nModel size: 256, layers: 2", out
    )


def test_nested_override_on_a_terminal_answered_no_runs_nothing(tmp_path: Path) -> None:
    code, out = nested_on_a_terminal(tmp_path, answer="n\n")
    assert code != 0
    assert "Model size" not in out


def test_nested_override_of_both_fields(tmp_path: Path) -> None:
    write(tmp_path / "script.py", NESTED)
    result = run_py(tmp_path, "script.py", "model_config.size=64", "model_config.layers=8")
    assert (result.returncode, result.stdout) == (0, "Model size: 64, layers: 8\n")


# -- 4. Configuration files and the @ syntax ---------------------------------------------------

FILES = """
from dataclasses import dataclass
from nrun import cli

@dataclass
class ModelConfig:
    size: int = 128
    layers: int = 2

@dataclass
class OptimizerConfig:
    lr: float = 0.1
    momentum: float = 0.0

@cli.entrypoint
def train(model_config: ModelConfig, optimizer: OptimizerConfig, epochs: int = 1):
    print(f"model size={model_config.size} layers={model_config.layers}")
    print(f"optimizer lr={optimizer.lr} momentum={optimizer.momentum}")
    print(f"epochs={epochs}")

if __name__ == "__main__":
    cli.main(train)
"""

WHOLE_CONFIG = """
_target_: script.train
_partial_: true
model_config:
  _target_: script.ModelConfig
  size: 512
  layers: 6
optimizer:
  _target_: script.OptimizerConfig
  lr: 0.01
epochs: 3
"""


def test_factory_at_file_loads_the_whole_configuration(tmp_path: Path) -> None:
    write(tmp_path / "script.py", FILES)
    write(tmp_path / "path/to/config.yaml", WHOLE_CONFIG)
    result = run_py(tmp_path, "script.py", "--factory", "@path/to/config.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("model size=512 layers=6\noptimizer lr=0.01 momentum=0.0\nepochs=3\n")


@pytest.mark.parametrize(
    ("model", "optimizer"),
    [
        ("size: 256\nlayers: 4\n", '{"lr": 0.5, "momentum": 0.9}\n'),
        (
            "_target_: script.ModelConfig\nsize: 256\nlayers: 4\n",
            '{"_target_": "script.OptimizerConfig", "lr": 0.5, "momentum": 0.9}\n',
        ),
    ],
    ids=["plain", "with-a-target-in-the-script"],
)
def test_nested_configurations_from_yaml_and_json_files(
    tmp_path: Path, model: str, optimizer: str
) -> None:
    write(tmp_path / "script.py", FILES)
    write(tmp_path / "configs/model.yaml", model)
    write(tmp_path / "configs/optimizer.json", optimizer)
    result = run_py(
        tmp_path,
        "script.py",
        "model_config=@configs/model.yaml",
        "optimizer=@configs/optimizer.json",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("model size=256 layers=4\noptimizer lr=0.5 momentum=0.9\nepochs=1\n")


def test_nested_configuration_from_a_toml_file(tmp_path: Path) -> None:
    write(tmp_path / "script.py", FILES)
    write(tmp_path / "configs/optimizer.toml", "lr = 0.25\n")
    result = run_py(tmp_path, "script.py", "optimizer=@configs/optimizer.toml")
    assert result.returncode == 0, result.stderr
    assert "optimizer lr=0.25 momentum=0.0\n" in result.stdout


def test_overrides_apply_on_top_of_a_factory_file(tmp_path: Path) -> None:
    write(tmp_path / "script.py", FILES)
    write(tmp_path / "path/to/config.yaml", WHOLE_CONFIG)
    result = run_py(
        tmp_path, "script.py", "--factory", "@path/to/config.yaml", "model_config.layers=4"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("model size=512 layers=4\n")


def test_overrides_apply_in_order_after_a_nested_file(tmp_path: Path) -> None:
    write(tmp_path / "script.py", FILES)
    write(tmp_path / "configs/model.yaml", "size: 256\nlayers: 4\n")
    result = run_py(
        tmp_path, "script.py", "model_config=@configs/model.yaml", "model_config.size=7"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("model size=7 layers=4\n")


# -- 4. Exporting configurations -------------------------------------------------------------------

# the guide's task module: the shared configs, then its entrypoint
TASK_ENTRYPOINT = '''

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


if __name__ == "__main__":
    cli.main(train_model)
'''
TASK = TASK_CONFIGS + TASK_ENTRYPOINT

# The guide's `task.yaml`, in nrun's `_target_` format, keys sorted as in the guide's export.
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


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    write(tmp_path / "task.py", TASK)
    write(tmp_path / "task.yaml", TASK_YAML)
    return tmp_path


def test_export_to_yaml_with_overrides_skips_execution(task_dir: Path) -> None:
    write(task_dir / "config.yaml", TASK_YAML)
    result = run_py(
        task_dir,
        "task.py",
        "--factory",
        "@config.yaml",
        "model.num_layers=5",
        "--to-yaml",
        "exported.yaml",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("File contents:\n")
    assert "exported.yaml" in out.splitlines()[1]  # the panel's title
    assert out.rstrip().endswith("Export complete. Skipping execution.")
    assert "model: Model(" not in out  # not run
    from nrun.config import read_file

    data = read_file(str(task_dir / "exported.yaml"))
    assert data["model"]["num_layers"] == 5
    assert data["model"]["hidden_size"] == 256
    assert data["_target_"] == "task.train_model"


def test_export_to_toml_shows_the_numbered_file(task_dir: Path) -> None:
    result = run_py(
        task_dir,
        "task.py",
        "--factory",
        "@task.yaml",
        "model.num_layers=5",
        "--to-toml",
        "test.toml",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == "File contents:"
    assert lines[1].startswith("╭") and " test.toml " in lines[1]
    assert lines[-1] == "Export complete. Skipping execution."
    written = (task_dir / "test.toml").read_text().splitlines()
    panel = [line.strip("│ ") for line in lines[2:-2]]
    for number, text in enumerate(written, start=1):
        shown = panel[number - 1]
        assert shown.split(maxsplit=1)[0] == str(number), shown
        assert shown.split(maxsplit=1)[1:] in ([text.strip()], []), (text, shown)
    from nrun.config import read_file

    data = read_file(str(task_dir / "test.toml"))
    assert data["_partial_"] is True
    assert data["_target_"] == "task.train_model"
    assert (data["batch_size"], data["epochs"]) == (32, 10)
    assert {k: v for k, v in data["model"].items()} == {
        "_target_": "task.Model",
        "activation": "relu",
        "hidden_size": 256,
        "num_layers": 5,
    }
    assert data["optimizer"] == {
        "_target_": "task.Optimizer",
        "betas": [0.9, 0.999],
        "learning_rate": 0.001,
        "weight_decay": 1e-5,
    }


def test_export_converts_between_formats(task_dir: Path) -> None:
    from nrun.config import read_file

    steps = [
        ("@task.yaml", "--to-toml", "a.toml"),
        ("@a.toml", "--to-json", "b.json"),
        ("@b.json", "--to-yaml", "c.yaml"),
    ]
    for source, flag, target in steps:
        result = run_py(task_dir, "task.py", "--factory", source, flag, target)
        assert result.returncode == 0, result.stderr
    first, last = read_file(str(task_dir / "a.toml")), read_file(str(task_dir / "c.yaml"))
    assert first == last == read_file(str(task_dir / "b.json"))


# -- 5. Executors ----------------------------------------------------------------------------------

EXECUTORS = """
import os
from nrun import cli
from nrun.config import autoconvert
from nrun.exec.base import Executor
from nrun.exec.local import LocalExecutor


@cli.factory
@autoconvert
def local_with_env() -> Executor:
    return LocalExecutor(env_vars={"HF_HOME": "/workspaces/models/hf", "NEMO_HOME": "/nemo"})


@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")
    print(f"HF_HOME={os.environ.get('HF_HOME')} NEMO_HOME={os.environ.get('NEMO_HOME')}")


if __name__ == "__main__":
    cli.main(train)
"""


def test_a_registered_executor_factory_runs_the_task(tmp_path: Path) -> None:
    write(tmp_path / "script.py", EXECUTORS)
    result = run_py(
        tmp_path, "script.py", "model=alexnet", "epochs=5", "run.executor=local_with_env"
    )
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 5 epochs\n" in result.stdout
    assert "HF_HOME=/workspaces/models/hf NEMO_HOME=/nemo\n" in result.stdout
    [recorded] = Experiment.list()
    assert recorded["tasks"] == ["train"]
    experiment = Experiment.from_id(recorded["id"])
    assert {s.value for s in experiment.status().values()} == {"SUCCEEDED"}


def test_the_installed_local_executor_by_name(tmp_path: Path) -> None:
    write(tmp_path / "script.py", EXECUTORS)
    result = run_py(
        tmp_path,
        "script.py",
        "model=alexnet",
        "epochs=5",
        "run.executor=local",
        "run.executor.env_vars={HF_HOME: /hf}",
    )
    assert result.returncode == 0, result.stderr
    assert "Training alexnet for 5 epochs\n" in result.stdout
    assert "HF_HOME=/hf NEMO_HOME=None\n" in result.stdout


def test_executor_fields_override_a_factory(tmp_path: Path) -> None:
    write(tmp_path / "script.py", EXECUTORS)
    result = run_py(
        tmp_path,
        "script.py",
        "model=alexnet",
        "run.executor=local_with_env",
        'run.executor.env_vars["NEMO_HOME"]=/other',
    )
    assert result.returncode == 0, result.stderr
    assert "HF_HOME=/workspaces/models/hf NEMO_HOME=/other\n" in result.stdout


DOCKER = """
from nrun import cli
from nrun.config import autoconvert
from nrun.exec.base import Executor
from nrun.exec.docker import DockerExecutor

BASE_DIR = {base!r}


@cli.factory
@autoconvert
def docker() -> Executor:
    return DockerExecutor(
        container_image="nvcr.io/nvidia/nemo:dev",
        volumes=[
            f"{{BASE_DIR}}/models:/workspaces/models",
            f"{{BASE_DIR}}/data:/workspaces/data",
            f"{{BASE_DIR}}/opt/NeMo-Run:/opt/NeMo-Run",
        ],
        env_vars={{
            "HF_HOME": "/workspaces/models/hf",
            "NEMO_HOME": "/workspaces/models/nemo",
        }},
    )


@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {{model}} for {{epochs}} epochs")


if __name__ == "__main__":
    cli.main(train)
"""


def _docker_script(tmp_path: Path) -> None:
    base = tmp_path / "base"
    for sub in ("models", "data", "opt/NeMo-Run"):
        (base / sub).mkdir(parents=True)
    write(tmp_path / "script.py", DOCKER.format(base=str(base)))


@pytest.mark.executors
def test_docker_executor_factory_dry_run(tmp_path: Path) -> None:
    _docker_script(tmp_path)
    result = run_py(
        tmp_path, "script.py", "model=alexnet", "epochs=5", "run.executor=docker", "--dryrun"
    )
    assert result.returncode == 0, result.stderr
    assert "docker" in result.stdout.lower()
    assert "Training" not in result.stdout
    assert Experiment.list() == []


@pytest.mark.executors
def test_docker_executor_without_a_terminal_asks_for_yes(tmp_path: Path) -> None:
    _docker_script(tmp_path)
    result = run_py(tmp_path, "script.py", "model=alexnet", "epochs=5", "run.executor=docker")
    assert result.returncode != 0
    assert "--yes" in one_line(result.stderr)
    assert "Training" not in result.stdout
    assert Experiment.list() == []


SLURM = """
from nrun import cli
from nrun.config import autoconvert
from nrun.exec.base import Executor
from nrun.exec.slurm import SlurmExecutor, SSHTunnel

ACCOUNT = "acct"
USER = "marc"
BASE_DIR = "/lustre/jobs"


@cli.factory
@autoconvert
def slurm_cluster() -> Executor:
    return SlurmExecutor(
        account=ACCOUNT,
        partition="batch",
        job_name_prefix=f"{ACCOUNT}-nemo-ux:",
        job_dir=BASE_DIR,
        container_image="nvcr.io/nvidia/nemo:dev",
        container_mounts=[f"/home/{USER}:/home/{USER}", "/lustre:/lustre"],
        time="4:00:00",
        gpus_per_node=8,
        tunnel=SSHTunnel(host="login.example", user=USER, job_dir=BASE_DIR),
    )


@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")


if __name__ == "__main__":
    cli.main(train)
"""


@pytest.mark.executors
def test_slurm_executor_factory_lazily_with_two_nodes_dry_run(tmp_path: Path) -> None:
    write(tmp_path / "script.py", SLURM)
    result = run_py(
        tmp_path,
        "script.py",
        "--lazy",
        "model=alexnet",
        "epochs=5",
        "run.executor=slurm_cluster",
        "run.executor.nodes=2",
        "--dryrun",
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("Executor: ")]
    assert re.search(r"\b2x", line), line  # two nodes
    assert "Training" not in result.stdout


LAZY = """
import os
from dataclasses import dataclass
from nrun import cli


@dataclass
class ModelConfig:
    size: int = 128
    layers: int = 2


@cli.factory
def big() -> ModelConfig:
    print(f"factory ran in {os.getpid()}")
    return ModelConfig(size=1024)


@cli.entrypoint
def train(model_config: ModelConfig, epochs: int = 10):
    print(f"task ran in {os.getpid()}")
    print(f"size={model_config.size} layers={model_config.layers} epochs={epochs}")


if __name__ == "__main__":
    cli.main(train)
"""


def _pids(out: str) -> tuple[str, str]:
    factory = re.search(r"factory ran in (\d+)", out)
    task = re.search(r"task ran in (\d+)", out)
    assert factory and task, out
    return factory.group(1), task.group(1)


def test_lazy_runs_factories_where_the_task_runs(tmp_path: Path) -> None:
    write(tmp_path / "script.py", LAZY)
    result = run_py(
        tmp_path, "script.py", "--lazy", "model_config=big", "epochs=5", "run.executor=local"
    )
    assert result.returncode == 0, result.stderr
    assert "size=1024 layers=2 epochs=5\n" in result.stdout
    factory, task = _pids(result.stdout)
    assert factory == task  # resolved at launch, in the task's process


def test_without_lazy_factories_run_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path / "script.py", LAZY)
    result = run_py(tmp_path, "script.py", "model_config=big", "epochs=5", "run.executor=local")
    assert result.returncode == 0, result.stderr
    factory, task = _pids(result.stdout + result.stderr)
    assert factory != task


def test_lazy_reads_files_at_launch(tmp_path: Path) -> None:
    write(tmp_path / "script.py", LAZY)
    write(tmp_path / "model.yaml", "size: 77\nlayers: 5\n")
    result = run_py(
        tmp_path, "script.py", "--lazy", "model_config=@model.yaml", "run.executor=local"
    )
    assert result.returncode == 0, result.stderr
    assert "size=77 layers=5 epochs=10\n" in result.stdout
    [recorded] = Experiment.list()
    task_file = Path(recorded["dir"]) / "tasks" / "train" / "task.yaml"
    recorded_task = task_file.read_text()
    assert "@model.yaml" in recorded_task  # the reference, read when the task starts
    assert "77" not in recorded_task


LAZY_MORE = """
import os
from nrun import cli
from nrun.config import Partial


@cli.entrypoint
def train(model: str = "none", epochs: int = 10):
    print(f"task ran in {os.getpid()}")
    print(f"Training {model} for {epochs} epochs")


@cli.factory(target=train)
def recipe() -> Partial:
    print(f"factory ran in {os.getpid()}")
    return Partial(train, model="recipe-model", epochs=7)


if __name__ == "__main__":
    cli.main(train)
"""


def test_lazy_runs_the_entrypoint_factory_where_the_task_runs(tmp_path: Path) -> None:
    write(tmp_path / "script.py", LAZY_MORE)
    result = run_py(
        tmp_path, "script.py", "--lazy", "--factory", "recipe", "epochs=8", "run.executor=local"
    )
    assert result.returncode == 0, result.stderr
    assert "Training recipe-model for 8 epochs\n" in result.stdout
    factory, task = _pids(result.stdout)
    assert factory == task


def test_lazy_reads_the_yaml_option_at_launch(tmp_path: Path) -> None:
    write(tmp_path / "script.py", LAZY_MORE)
    write(tmp_path / "task.yaml", "_target_: script.train\n_partial_: true\nmodel: from-file\n")
    result = run_py(
        tmp_path, "script.py", "--lazy", "--yaml", "task.yaml", "epochs=2", "run.executor=local"
    )
    assert result.returncode == 0, result.stderr
    assert "Training from-file for 2 epochs\n" in result.stdout
    [recorded] = Experiment.list()
    recorded_task = (Path(recorded["dir"]) / "tasks" / "train" / "task.yaml").read_text()
    assert "task.yaml" in recorded_task
    assert "from-file" not in recorded_task


# -- 6. Dry runs -----------------------------------------------------------------------------------


def test_dry_run_of_a_yaml_file(task_dir: Path) -> None:
    result = run_py(task_dir, "task.py", "--yaml", "task.yaml", "--dryrun")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Dry run for task __main__:train_model\n" in out
    assert "Resolved Arguments" in out
    assert "model: " not in out  # not run
    rows = table_rows(out)
    assert set(rows) == {"batch_size", "epochs", "model", "optimizer"}
    assert (rows["batch_size"], rows["epochs"]) == ("32", "10")
    assert call_items(rows["model"]) == call_items(
        "Model(hidden_size=256, num_layers=3, activation='relu')"
    )
    assert call_items(rows["optimizer"]) == call_items(
        "Optimizer(learning_rate=0.001, weight_decay=1e-05, betas=[0.9, 0.999])"
    )
    assert Experiment.list() == []


def test_dry_run_shows_values_in_the_signatures_order(task_dir: Path) -> None:
    result = run_py(task_dir, "task.py", "--yaml", "task.yaml", "--dryrun")
    rows = table_rows(result.stdout)
    assert squeeze(rows["model"]) == squeeze(
        "Model(hidden_size=256, num_layers=3, activation='relu')"
    )
    assert squeeze(rows["optimizer"]) == squeeze(
        "Optimizer(learning_rate=0.001, weight_decay=1e-05, betas=[0.9, 0.999])"
    )


def test_dry_run_starts_with_configuring_global_options(task_dir: Path) -> None:
    result = run_py(task_dir, "task.py", "--yaml", "task.yaml", "--dryrun")
    assert result.stdout.startswith(
        "Configuring global options\nDry run for task __main__:train_model\n"
    )


def test_dry_run_ends_with_the_dry_run_of_the_task(task_dir: Path) -> None:
    result = run_py(task_dir, "task.py", "--yaml", "task.yaml", "--dryrun")
    assert "Dry run for train_model:" in result.stdout.splitlines()[-3:]


def test_dry_run_header_names_the_scripts_main_module(tmp_path: Path) -> None:
    write(tmp_path / "script.py", NESTED)
    result = run_py(tmp_path, "script.py", "model_config.size=256", "--dryrun")
    assert result.returncode == 0, result.stderr
    assert "Dry run for task __main__:train\n" in result.stdout
    assert MODEL_CONFIG_256.fullmatch(table_rows(result.stdout)["model_config"])
    assert "Model size" not in result.stdout
