"""Run profiles: env.toml discovery, `extends`, strict checks, nrun executors, masked secrets."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nemotron.kit.exceptions import RunProfileError
from nemotron.kit.run import (
    MASK,
    RunConfig,
    build_executor,
    describe,
    find_env_toml,
    list_run_profiles,
    load_run_profile,
    load_wandb_config,
    resolve_partition,
    save_run_profile,
)

SECRET = "wandb-secret-7f3a9c"
HF_SECRET = "hf-secret-c0ffee42"
BASE = """
[wandb]
project = "kit-tests"
entity = "team"

[base-slurm]
executor = "slurm"
account = "acct"
partition = "gpu"
time = "01:00:00"
container_image = "nvcr.io/nvidia/nemo:25.01"
mounts = ["/data:/data"]

[draco]
extends = "base-slurm"
nodes = 4
nproc_per_node = 8

[draco-large]
extends = "draco"
nodes = 16
mounts = ["/lustre:/lustre"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root (it has `.git`) as the cwd, a private `$NRUN_HOME`, no secrets set."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NRUN_HOME", str(tmp_path / "nrun-home"))
    for name in ("WANDB_API_KEY", "HF_TOKEN", "NVIDIA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return root


def needs(kind: str) -> None:
    """Skip where the executor's distribution is not installed (the kit does not depend on it)."""
    pytest.importorskip(f"nrun.exec.{kind}", reason=f"nrun-exec-{kind} is not installed")


def write_env(folder: Path, text: str) -> Path:
    path = folder / "env.toml"
    path.write_text(textwrap.dedent(text))
    return path


def one_line(exc: pytest.ExceptionInfo[RunProfileError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# -- finding env.toml --------------------------------------------------------------------------
def test_env_toml_is_found_from_a_nested_cwd(project: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_env(project, BASE)
    nested = project / "src" / "recipes" / "pretrain"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_env_toml() == path.resolve()
    assert find_env_toml(start=nested) == path.resolve()
    config = load_run_profile("draco")
    assert config.nodes == 4
    assert config._source == str(path.resolve())


def test_the_nearest_env_toml_wins(project: Path, monkeypatch: pytest.MonkeyPatch):
    write_env(project, BASE)
    (project / "sub").mkdir()
    inner = write_env(project / "sub", "[x]\nnodes = 1\n")
    monkeypatch.chdir(project / "sub")
    assert find_env_toml() == inner.resolve()
    assert list_run_profiles() == ["x"]


def test_search_stops_at_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_env(tmp_path, BASE)  # above the project root: never read
    root = tmp_path / "proj"
    (root / "a" / "b").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(root / "a" / "b")
    assert find_env_toml() is None
    assert list_run_profiles() == []
    assert load_wandb_config() is None
    with pytest.raises(RunProfileError) as exc:
        load_run_profile("draco")
    message = one_line(exc)
    assert "no env.toml found" in message
    assert str((root / "a" / "b").resolve()) in message
    assert f"upwards to {root.resolve()} (the project root)" in message


def test_env_toml_at_the_root_itself_counts(project: Path):
    write_env(project, BASE)
    (project / "pyproject.toml").write_text("")
    assert find_env_toml(project) == (project / "env.toml").resolve()


# -- extends -----------------------------------------------------------------------------------
def test_extends_chains_merge_child_over_parent(project: Path):
    write_env(project, BASE)
    large = load_run_profile("draco-large")
    assert large.executor == "slurm"
    assert (large.account, large.partition, large.time) == ("acct", "gpu", "01:00:00")
    assert (large.nodes, large.nproc_per_node) == (16, 8)
    assert large.mounts == ["/lustre:/lustre"]  # lists are replaced, as keys are
    assert load_run_profile("draco").mounts == ["/data:/data"]
    assert list_run_profiles() == ["base-slurm", "draco", "draco-large"]
    assert load_run_profile("draco-large", project / "env.toml") == large


def test_a_profile_without_executor_is_local(project: Path):
    write_env(project, '[dev]\nenv_vars = ["A=1"]\n')
    assert load_run_profile("dev") == RunConfig(env_vars=["A=1"])


# -- every bad env.toml is one line naming the file, the profile and the key ---------------------
BAD = [
    pytest.param(
        '[a]\nextends = "b"\n[b]\nextends = "c"\n[c]\nextends = "a"\n',
        "a",
        ["profile 'c'", "cycle: a → b → c → a"],
        id="cycle",
    ),
    pytest.param('[a]\nextends = "a"\n', "a", ["profile 'a'", "extends itself"], id="self"),
    pytest.param(
        '[base]\nnodes = 1\n[a]\nextends = "bsae"\n',
        "a",
        ["profile 'a'", "extends 'bsae', which is not a profile", "Did you mean 'base'?"],
        id="missing-parent",
    ),
    pytest.param(
        "[a]\nnodes = 2\nextends = 3\n", "a", ["profile 'a'", "'extends' must be"], id="extends-int"
    ),
    pytest.param(
        "[a]\nnodes = 2\npartition = gpu\n",
        "a",
        ["line 3", "not valid TOML"],
        id="bad-toml",
    ),
    pytest.param(
        '[a]\nexecutor = "slurm"\nacount = "x"\n',
        "a",
        ["profile 'a'", "unknown key 'acount'", "Did you mean 'account'?"],
        id="unknown-key",
    ),
    pytest.param(
        '[base]\nnodez = 2\n[a]\nextends = "base"\n',
        "a",
        ["profile 'base'", "unknown key 'nodez'", "Did you mean 'nodes'?"],
        id="unknown-key-in-parent",
    ),
    pytest.param(
        "[draco]\nnodes = 1\n[dev]\nnodes = 1\n",
        "drac",
        ["no profile 'drac'", "Did you mean 'draco'?", "profiles: dev, draco"],
        id="unknown-profile",
    ),
    pytest.param(
        '[a]\nnodes = "2"\n',
        "a",
        ["profile 'a'", "'nodes' must be an integer or unset, got '2'"],
        id="str-for-int",
    ),
    pytest.param("[a]\nnodes = true\n", "a", ["'nodes' must be an integer"], id="bool-for-int"),
    pytest.param(
        '[a]\nmounts = "/data:/data"\n', "a", ["'mounts' must be a list of strings"], id="not-list"
    ),
    pytest.param(
        '[a]\ntunnel = "sssh"\n',
        "a",
        ["'tunnel' must be one of 'local', 'ssh', got 'sssh'"],
        id="literal",
    ),
    pytest.param(
        '[a]\nenv_vars = ["NCCL_DEBUG"]\n',
        "a",
        ["env_vars entry 'NCCL_DEBUG' is not NAME=VALUE"],
        id="env-entry",
    ),
    pytest.param(
        "[a]\nenv_vars = {PORT = 8080}\n", "a", ["env_vars.PORT must be a string"], id="env-table"
    ),
    pytest.param(
        '[a]\nenv_vars = "HF_TOKEN=hf-value-in-a-string"\n',
        "a",
        ["'env_vars' must be a list of strings or a table, got a str"],
        id="env-not-list",
    ),
    pytest.param(
        '[a]\nenv_vars = ["MY-TOKEN=tok-value-123"]\n',
        "a",
        ["env_vars entry 'MY-TOKEN=…' does not start with a variable name"],
        id="env-bad-name",
    ),
    pytest.param(
        '[a]\nsecrets = ["MY TOKEN"]\n', "a", ["secrets entry 'MY TOKEN'"], id="secret-name"
    ),
    pytest.param(
        '[a]\nexecutor = "slurn"\n',
        "a",
        ["unknown executor 'slurn'", "Did you mean 'slurm'?"],
        id="unknown-executor",
    ),
    pytest.param(
        '[a]\nexecutor = "skypilot"\n',
        "a",
        ["'skypilot' is a NeMo-Run executor nrun does not have", "docker, local, slurm"],
        id="nemo-run-executor",
    ),
    pytest.param('[a]\ncloud = "aws"\n', "a", ["'cloud' is a skypilot setting"], id="nemo-run-key"),
    pytest.param(
        '[base]\nruntime = "nvidia"\n[a]\nextends = "base"\nexecutor = "slurm"\n',
        "a",
        ["profile 'a' (from 'base')", "'runtime' is not used by the slurm executor"],
        id="key-for-another-executor",
    ),
    pytest.param(
        '[a]\nexecutor = "slurm"\nhost = "login"\n',
        "a",
        ["'host' is used only with tunnel = \"ssh\""],
        id="ssh-key-local-tunnel",
    ),
    pytest.param(
        '[a]\nexecutor = "slurm"\nnproc_per_node = 8\nntasks_per_node = 4\n',
        "a",
        ["nproc_per_node=8 and ntasks_per_node=4 disagree"],
        id="ranks-disagree",
    ),
    pytest.param("[a]\nnodes = 0\n", "a", ["'nodes' must be at least 1, got 0"], id="zero-nodes"),
    pytest.param(
        'default = "a"\n[a]\nnodes = 1\n', "a", ["top-level key 'default' is not a table"], id="top"
    ),
    pytest.param(
        '[wandb]\nproject = "p"\n', "wandb", ["[wandb] is a settings section"], id="section"
    ),
]


@pytest.mark.parametrize(("text", "profile", "fragments"), BAD)
def test_bad_profiles_are_one_clear_line(
    project: Path, text: str, profile: str, fragments: list[str]
):
    path = write_env(project, text)
    with pytest.raises(RunProfileError) as exc:
        load_run_profile(profile)
    message = one_line(exc)
    assert message.startswith(str(path.resolve()))
    for fragment in fragments:
        assert fragment in message
    assert "value-in-a-string" not in message and "tok-value" not in message


def test_an_explicit_path_must_be_a_toml_file_that_exists(project: Path):
    with pytest.raises(RunProfileError) as exc:
        load_run_profile("a", project / "missing.toml")
    assert "missing.toml: no such file" in one_line(exc)
    with pytest.raises(RunProfileError) as exc:
        load_run_profile("a", project / "env.yaml")
    assert "must be a .toml file" in one_line(exc)


def test_run_config_checks_values_when_made():
    with pytest.raises(RunProfileError, match=r"^RunConfig: 'nodes' must be an integer"):
        RunConfig(nodes="2")  # type: ignore[arg-type]
    with pytest.raises(RunProfileError, match="unknown executor 'kubernetes'"):
        RunConfig(executor="kubernetes")
    with pytest.raises(RunProfileError, match="'runtime' is not used by the local executor"):
        RunConfig(runtime="nvidia")
    config = RunConfig(executor="docker", container_image="img", runtime="nvidia")
    assert dataclasses.replace(config, nodes=2).nodes == 2


def test_resolve_partition_follows_detach():
    config = RunConfig(executor="slurm", partition="batch", run_partition="interactive")
    assert resolve_partition(config, is_launch=False) == "interactive"
    assert resolve_partition(config, is_launch=True) == "batch"
    config = RunConfig(executor="slurm", partition="batch", batch_partition="long")
    assert resolve_partition(config, is_launch=True) == "long"


# -- executors ---------------------------------------------------------------------------------
def test_local_profile_launches_a_real_task(project: Path, monkeypatch: pytest.MonkeyPatch):
    from nrun.config import Partial
    from nrun.exec.experiment import Experiment
    from nrun.exec.local import LocalExecutor
    from nrun.exec.probes import print_env

    write_env(
        project,
        """
        [wandb]
        project = "kit-tests"

        [dev]
        env_vars = {KIT_GREETING = "hello from the profile"}
        """,
    )
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    executor = build_executor(load_run_profile("dev"))
    assert type(executor) is LocalExecutor
    assert executor.env_vars == {
        "KIT_GREETING": "hello from the profile",
        "WANDB_PROJECT": "kit-tests",
    }
    names = ["KIT_GREETING", "WANDB_PROJECT", "WANDB_API_KEY"]
    with Experiment("kit-run", executor=executor) as exp:
        exp.add(Partial(print_env, names=names), name="show")
        exp.run()
    assert {k: str(v) for k, v in exp.status().items()} == {"show": "SUCCEEDED"}
    assert exp.logs("show").splitlines() == [
        "KIT_GREETING=hello from the profile",
        "WANDB_PROJECT=kit-tests",
        f"WANDB_API_KEY={SECRET}",  # inherited by the task, so never written down
    ]
    for path in Path(exp.dir).rglob("*"):
        if path.is_file() and path.name != "output.log":
            assert SECRET not in path.read_text(errors="replace"), path


def test_docker_profile_gives_a_docker_executor(project: Path, monkeypatch: pytest.MonkeyPatch):
    needs("docker")
    from nrun.exec.docker import DockerExecutor

    data = project / "data"
    data.mkdir()
    write_env(
        project,
        f"""
        [docker]
        executor = "docker"
        container_image = "nrun-test-python:bookworm"
        mounts = ["{data}:/data:ro"]
        shm_size = "1g"
        ipc_mode = "host"
        network = "none"
        env_vars = ["NCCL_DEBUG=INFO"]
        """,
    )
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)
    executor = build_executor(load_run_profile("docker"), env_vars={"EXTRA": "1"})
    assert type(executor) is DockerExecutor
    assert executor.container_image == "nrun-test-python:bookworm"
    assert executor.volumes == [f"{data}:/data:ro"]
    assert (executor.shm_size, executor.ipc_mode, executor.network) == ("1g", "host", "none")
    assert (executor.num_gpus, executor.launcher, executor.ntasks_per_node) == (None, None, 1)
    assert executor.env_vars == {"NCCL_DEBUG": "INFO", "EXTRA": "1", "HF_TOKEN": HF_SECRET}
    assert HF_SECRET not in repr(executor) and HF_SECRET not in str(executor)
    assert f"'HF_TOKEN': '{MASK}'" in repr(executor)


def test_docker_ranks_use_torchrun_and_gpus(project: Path):
    needs("docker")
    config = RunConfig(executor="docker", container_image="img", nproc_per_node=4)
    executor = build_executor(config)
    assert (executor.ntasks_per_node, executor.launcher) == (4, "torchrun")
    assert executor.num_gpus == 4  # type: ignore[attr-defined]
    cpu_only = dataclasses.replace(config, gpus_per_node=0)
    assert build_executor(cpu_only).num_gpus is None  # type: ignore[attr-defined]


def test_slurm_profile_over_ssh(project: Path, monkeypatch: pytest.MonkeyPatch):
    needs("slurm")
    from nrun.exec.slurm import SlurmExecutor, SSHTunnel

    write_env(
        project,
        BASE
        + textwrap.dedent(
            """
        [cluster]
        extends = "draco"
        tunnel = "ssh"
        host = "127.0.0.1"
        user = "me"
        port = 2222
        identity = "~/.ssh/id_ed25519"
        remote_job_dir = "/scratch/me/jobs"
        known_hosts = "~/.ssh/kh"
        run_partition = "interactive"
        exclusive = true
        mem_per_cpu = "4G"
        exclude = "node3"
        startup_commands = ["source ~/venv/bin/activate"]
        secrets = ["S3_SECRET_KEY"]
        """
        ),
    )
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("S3_SECRET_KEY", "s3-secret-0042")
    config = load_run_profile("cluster")
    executor = build_executor(config)
    assert type(executor) is SlurmExecutor
    assert (executor.account, executor.partition, executor.time) == (
        "acct",
        "interactive",
        "01:00:00",
    )
    assert (executor.nodes, executor.ntasks_per_node, executor.launcher) == (4, 8, None)
    assert executor.exclusive is True
    assert executor.container_image == "nvcr.io/nvidia/nemo:25.01"
    assert executor.container_mounts == ["/data:/data"]
    assert executor.setup_lines == ["source ~/venv/bin/activate"]
    assert executor.additional_parameters == {"mem_per_cpu": "4G", "exclude": "node3"}
    assert executor.tunnel == SSHTunnel(
        host="127.0.0.1",
        user="me",
        port=2222,
        identity="~/.ssh/id_ed25519",
        job_dir="/scratch/me/jobs",
        known_hosts="~/.ssh/kh",
    )
    assert executor.env_vars == {
        "WANDB_PROJECT": "kit-tests",
        "WANDB_ENTITY": "team",
        "WANDB_API_KEY": SECRET,
        "S3_SECRET_KEY": "s3-secret-0042",
    }
    for text in (repr(executor), repr(config), str(config)):
        assert SECRET not in text and "s3-secret-0042" not in text
    detached = build_executor(dataclasses.replace(config, detach=True))
    assert detached.partition == "gpu"  # type: ignore[attr-defined]


def test_slurm_on_the_login_node(project: Path):
    needs("slurm")
    from nrun.exec.slurm import LocalTunnel

    config = RunConfig(executor="slurm", remote_job_dir="/scratch/jobs", nproc_per_node=2)
    executor = build_executor(config)
    assert executor.tunnel == LocalTunnel(job_dir="/scratch/jobs")  # type: ignore[attr-defined]
    assert executor.ntasks_per_node == 2


BUILD_ERRORS = [
    pytest.param(
        RunConfig(executor="docker"), "the docker executor needs container_image", id="no-image"
    ),
    pytest.param(
        RunConfig(executor="slurm", tunnel="ssh"), 'tunnel = "ssh" needs host and user', id="ssh"
    ),
    pytest.param(
        RunConfig(nodes=2), "LocalExecutor runs on one machine: nodes must be 1", id="validate"
    ),
    pytest.param(
        RunConfig(executor="slurm", time="forever"),
        "time='forever' is not a Slurm time",
        id="time",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("nrun.exec.slurm") is None, reason="nrun-exec-slurm"
        ),
    ),
    pytest.param(
        RunConfig(secrets=["KIT_MISSING_TOKEN"]),
        "secret KIT_MISSING_TOKEN is listed in 'secrets' but not set",
        id="missing-secret",
    ),
]


@pytest.mark.parametrize(("config", "fragment"), BUILD_ERRORS)
def test_build_errors_are_one_line(project: Path, config: RunConfig, fragment: str):
    with pytest.raises(RunProfileError) as exc:
        build_executor(config)
    assert fragment in one_line(exc)


def test_build_errors_name_the_profile(project: Path):
    path = write_env(project, '[gpu]\nexecutor = "docker"\n')
    with pytest.raises(RunProfileError) as exc:
        build_executor(load_run_profile("gpu"))
    assert one_line(exc).startswith(f"{path.resolve()}: profile 'gpu': the docker executor needs")


def test_mutated_configs_are_checked_again(project: Path):
    config = RunConfig(executor="slurm", account="a")
    config.executor = "local"
    with pytest.raises(RunProfileError, match="'account' is not used by the local executor"):
        build_executor(config)


MISSING = {
    "no entry point": """
        import importlib.metadata as md
        real = md.entry_points
        def entry_points(**kw):
            found = real(**kw)
            if kw.get("group") == "nrun.executors":
                return md.EntryPoints(ep for ep in found if ep.name != "slurm")
            return found
        md.entry_points = entry_points
        kind = "slurm"
    """,
    "module not importable": """
        sys.modules["nrun.exec.docker"] = None
        kind = "docker"
    """,
}


@pytest.mark.parametrize("how", sorted(MISSING))
def test_a_missing_executor_names_its_pip_install(project: Path, how: str):
    script = textwrap.dedent(MISSING[how]) + textwrap.dedent(
        """
        from nemotron.kit.run import RunConfig, build_executor
        from nemotron.kit.exceptions import RunProfileError
        try:
            build_executor(RunConfig(executor=kind, container_image="img"))
        except RunProfileError as exc:
            print(exc)
            raise SystemExit(2)
        """
    )
    if how == "no entry point":
        script = script.replace('container_image="img"', 'partition="gpu"')
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    dist = "nrun-exec-slurm" if how == "no entry point" else "nrun-exec-docker"
    assert lines[0].startswith("RunConfig: ")
    assert lines[0].endswith(f"pip install {dist}")


# -- secrets -----------------------------------------------------------------------------------
def test_secrets_are_masked_in_repr_and_describe(project: Path, monkeypatch: pytest.MonkeyPatch):
    needs("docker")
    from rich.console import Console

    write_env(
        project,
        """
        [gpu]
        executor = "docker"
        container_image = "img"
        env_vars = ["MY_API_TOKEN=literal-token-123", "NCCL_DEBUG=INFO"]
        secrets = ["S3_KEY"]
        """,
    )
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("S3_KEY", "s3-value-987")
    config = load_run_profile("gpu")
    out = io.StringIO()
    Console(file=out, width=200).print(describe(config))
    shown = out.getvalue()
    for text in (shown, repr(config), str(config), repr(build_executor(config))):
        for value in (SECRET, "s3-value-987", "literal-token-123"):
            assert value not in text
    assert "NCCL_DEBUG=INFO" in repr(config) and "MY_API_TOKEN=****" in repr(config)
    assert f"{MASK} (from the environment)" in shown
    assert "secret S3_KEY" in shown and "secret HF_TOKEN" in shown and "not set" in shown
    assert "INFO" in shown and "Run profile 'gpu'" in shown


def test_local_secrets_are_inherited_not_copied(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)
    executor = build_executor(RunConfig())
    assert "HF_TOKEN" not in executor.env_vars
    out = io.StringIO()
    from rich.console import Console

    Console(file=out, width=200).print(describe(RunConfig()))
    assert f"{MASK} (inherited by the task)" in out.getvalue()
    other = build_executor(RunConfig(), environ={"HF_TOKEN": "from-elsewhere"})
    assert other.env_vars["HF_TOKEN"] == "from-elsewhere"
    assert "from-elsewhere" not in repr(other)


def test_saved_profiles_are_owner_only_and_read_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    write_env(project, BASE)
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    config = dataclasses.replace(
        load_run_profile("draco-large"),
        env_vars=["MY_TOKEN=from-the-profile", 'QUOTED=a "b" \\ c\tü🙂'],
        secrets=["S3_KEY"],
        exclusive=True,
    )
    target = project / "jobs" / "job-1" / "run.toml"
    target.parent.mkdir(parents=True)
    target.write_text("old")
    target.chmod(0o644)
    assert save_run_profile(config, target, name="draco-large") == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert SECRET not in target.read_text()
    assert list(target.parent.iterdir()) == [target]  # no temporary file left
    assert load_run_profile("draco-large", target) == config
    other = save_run_profile(RunConfig(executor="docker", container_image="i"), project / "x.toml")
    assert stat.S_IMODE(other.stat().st_mode) == 0o600
    assert load_run_profile("default", other).container_image == "i"


def test_wandb_section(project: Path):
    pytest.importorskip("nemotron.kit.wandb")
    write_env(project, '[wandb]\nproject = "p"\nentity = "e"\nname = "run"\ntags = ["a"]\n')
    wandb = load_wandb_config()
    assert wandb is not None
    assert (wandb.project, wandb.entity, wandb.run_name, tuple(wandb.tags)) == (
        "p",
        "e",
        "run",
        ("a",),
    )
    write_env(project, '[wandb]\nprojet = "p"\n')
    with pytest.raises(RunProfileError, match=r"unknown key 'projet'\. Did you mean 'project'"):
        load_wandb_config()
