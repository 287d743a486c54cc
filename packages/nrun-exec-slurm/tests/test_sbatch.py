"""Golden tests of `render_sbatch` and the field checks of `SlurmExecutor` (no cluster needed).

Each case below renders one sbatch script and compares it exactly with
`tests/golden/<case>.sbatch`. After a deliberate change to the script's layout, regenerate the
golden files and review the diff:

    cd packages/nrun-exec-slurm
    NRUN_UPDATE_GOLDEN=1 ../../.venv/bin/python -m pytest tests/test_sbatch.py

Every golden script is also checked with `bash -n`, and the quoted values are evaluated by a
real bash to check they give back the exact original strings.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nrun.exec.base import ExecutorError
from nrun.exec.slurm import ResourceGroup, ScriptPaths, SlurmExecutor, render_sbatch
from nrun.exec.slurm._sbatch import ArrayElement, array_indices, directive

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NRUN_UPDATE_GOLDEN") == "1"
BASH = shutil.which("bash") or "/bin/bash"

JOB_DIR = "/scratch/alice/nrun/exp-1/train"
RUNTIME = "/scratch/alice/nrun/.nrun/runtime-0.1.0"
PATHS = ScriptPaths(
    job_dir=JOB_DIR,
    task=f"{JOB_DIR}/task.yaml",
    runtime=RUNTIME,
    workdir="/home/alice/project",
)
PACKAGED = ScriptPaths(
    job_dir=JOB_DIR,
    task=f"{JOB_DIR}/task.yaml",
    runtime=RUNTIME,
    workdir=f"{JOB_DIR}/code",
    code=f"{JOB_DIR}/code",
)
SWEEP = ScriptPaths(
    job_dir=JOB_DIR,
    task=f"{JOB_DIR}/tasks",
    runtime=RUNTIME,
    workdir="/home/alice/project",
)
ARRAY_DIR = "/scratch/alice/nrun/.nrun/arrays/20240101-000000-abcd"
ELEMENTS = [
    ArrayElement(
        f"train-{i}",
        f"/scratch/alice/nrun/exp-1/train-{i}",
        f"/scratch/alice/nrun/exp-1/train-{i}/task.yaml",
        f"/scratch/alice/nrun/exp-1/train-{i}",
        "exp-1",
    )
    for i in range(3)
]
ARRAY_OF_JOBS = ScriptPaths(job_dir=ARRAY_DIR, task="", runtime=RUNTIME, workdir="")
NASTY = 'a\'b "c" $d; rm -rf /'
"""A value with spaces, both quotes, `$` and `;`: it must reach the job exactly as it is."""


def render(executor: SlurmExecutor, *, validate: bool = True, **kwargs: Any) -> str:
    """The executor's script for a job named `train` (validated first, as `launch` does)."""
    if validate:
        executor.validate()
    kwargs.setdefault("paths", PATHS)
    return render_sbatch(executor, job_name="train", **kwargs)


# -- the golden cases --------------------------------------------------------------------------


def case_minimal() -> str:
    return render(SlurmExecutor())


def case_all_fields() -> str:
    executor = SlurmExecutor(
        account="proj-42",
        partition="gpu",
        qos="high",
        time="1-02:00:00",
        nodes=2,
        ntasks_per_node=4,
        cpus_per_task=8,
        gpus_per_node=4,
        gres="gpu:a100:4",
        mem="64G",
        exclusive=True,
        constraint="a100&ib",
        job_name_prefix="exp1-",
        env_vars={
            "SPACES": "two words",
            "QUOTES": 'it\'s "quoted"',
            "DOLLAR": "$HOME and ${USER}",
            "SEMI": "a; rm -rf /",
            "BACKTICK": "`id` $(id)",
            "EMPTY": "",
        },
        setup_lines=["module load cuda/12.1", "source $HOME/venv/bin/activate"],
        srun_args=["--cpu-bind=cores", "--comment=two words and 'quotes'"],
        additional_parameters={
            "mail_type": "END,FAIL",
            "requeue": True,
            "hold": False,
            "nice": None,
            "signal": "B:USR1@60",
        },
        dependencies=["afterany:12", "34"],
    )
    return render(executor, dependencies=["56"], env={"NRUN_TASK_NAME": "train"})


HETJOB_GROUPS = [
    ResourceGroup(nodes=1, ntasks_per_node=1, cpus_per_task=4, mem="8G", partition="cpu"),
    ResourceGroup(
        nodes=2,
        ntasks_per_node=4,
        gpus_per_node=4,
        partition="gpu",
        exclusive=True,
        additional_parameters={"gpu_bind": "closest"},
    ),
]


def case_hetjob() -> str:
    return render(SlurmExecutor(heterogeneous=list(HETJOB_GROUPS), time="30"))


def case_hetjob_mapping() -> str:
    groups: list[Any] = [
        HETJOB_GROUPS[0],
        {"nodes": 2, "ntasks_per_node": 2, "gres": "gpu:2", "account": "proj-42"},
    ]
    return render(SlurmExecutor(heterogeneous=groups))


def case_array() -> str:
    return render(SlurmExecutor(array="0-3%2", partition="cpu"))


def case_sweep() -> str:
    # validate() refuses array='%2' (see test_sweep_limit_passes_validate): render directly
    return render(SlurmExecutor(array="%2"), validate=False, paths=SWEEP, sweep=4)


def case_array_of_jobs() -> str:
    return render(SlurmExecutor(partition="cpu"), paths=ARRAY_OF_JOBS, elements=ELEMENTS)


def case_array_of_jobs_in_containers() -> str:
    executor = SlurmExecutor(container_image="/images/pytorch.sqsh", container_mounts=["/d:/d"])
    packaged = ScriptPaths(ARRAY_DIR, "", RUNTIME, "", code=f"{ARRAY_DIR}/code")
    elements = [
        dataclasses.replace(element, workdir=f"{ARRAY_DIR}/code") for element in ELEMENTS[:2]
    ]
    return render(executor, paths=packaged, elements=elements)


def case_job_dependencies() -> str:
    return render(SlurmExecutor(), dependencies=["1001", "1002"])


def case_container() -> str:
    executor = SlurmExecutor(
        container_image="nvcr.io#nvidia/pytorch:24.01-py3",
        container_mounts=["/datasets:/datasets:ro", "/scratch/alice/cache:/cache"],
        container_workdir="/workspace",
        srun_args=["--container-env=HF_HOME"],
    )
    return render(executor)


def case_container_packaged() -> str:
    executor = SlurmExecutor(container_image="/images/pytorch.sqsh")
    return render(executor, paths=PACKAGED)


def case_torchrun_one_node() -> str:
    return render(SlurmExecutor(launcher="torchrun", ntasks_per_node=4, gpus_per_node=4))


def case_torchrun_two_nodes() -> str:
    executor = SlurmExecutor(launcher="torchrun", nodes=2, ntasks_per_node=4, gpus_per_node=4)
    return render(executor)


def case_retries() -> str:
    return render(SlurmExecutor(retries=2))


def case_packaged() -> str:
    return render(SlurmExecutor(python="/opt/venv/bin/python"), paths=PACKAGED)


CASES: dict[str, Callable[[], str]] = {
    name.removeprefix("case_"): function
    for name, function in globals().items()
    if name.startswith("case_") and callable(function)
}


def golden(name: str) -> Path:
    return GOLDEN / f"{name}.sbatch"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    script = CASES[name]()
    path = golden(name)
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(script)
        return
    assert path.exists(), f"{path} is missing: regenerate with NRUN_UPDATE_GOLDEN=1"
    assert script == path.read_text(), f"{name}: the script differs from {path.name}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_parses_in_bash(name: str, tmp_path: Path) -> None:
    path = golden(name)
    if not path.exists():  # first run with NRUN_UPDATE_GOLDEN=1: check the fresh rendering
        path = tmp_path / f"{name}.sbatch"
        path.write_text(CASES[name]())
    done = subprocess.run([BASH, "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_no_stale_golden_files() -> None:
    stale = {p.stem for p in GOLDEN.glob("*.sbatch")} - set(CASES)
    assert not stale, f"golden files without a case: {sorted(stale)}"


# -- what the golden scripts must hold -----------------------------------------------------------


def lines(script: str) -> list[str]:
    return script.splitlines()


def directives(script: str) -> list[str]:
    return [line for line in lines(script) if line.startswith("#SBATCH")]


def test_minimal_layout() -> None:
    script = case_minimal()
    assert script.startswith("#!/bin/bash\n")
    assert directives(script) == [
        "#SBATCH --job-name=nrun-train",
        f"#SBATCH --output={JOB_DIR}/slurm-%j.out",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
    ]
    assert lines(script)[-1] == f"srun python3 -m nrun.exec.task {JOB_DIR}/task.yaml"
    assert f"cd {PATHS.workdir} || exit 1" in lines(script)


def test_all_fields_directives() -> None:
    found = directives(case_all_fields())
    assert found == [
        "#SBATCH --job-name=exp1-train",
        f"#SBATCH --output={JOB_DIR}/slurm-%j.out",
        "#SBATCH --time=1-02:00:00",
        "#SBATCH --dependency=afterok:56,afterany:12,afterok:34",
        "#SBATCH --kill-on-invalid-dep=yes",
        "#SBATCH --account=proj-42",
        "#SBATCH --partition=gpu",
        "#SBATCH --qos=high",
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --gpus-per-node=4",
        "#SBATCH --gres=gpu:a100:4",
        "#SBATCH --mem=64G",
        "#SBATCH --constraint=a100&ib",
        "#SBATCH --exclusive",
        "#SBATCH --mail-type=END,FAIL",
        "#SBATCH --requeue",
        "#SBATCH --signal=B:USR1@60",
    ]


def test_all_fields_setup_lines_as_written() -> None:
    script = lines(case_all_fields())
    first = script.index("module load cuda/12.1")
    assert script[first + 1] == "source $HOME/venv/bin/activate"
    assert script[first - 1].startswith("export PYTHONPATH=")


def test_hetjob_separates_groups() -> None:
    script = case_hetjob()
    found = directives(script)
    assert found.count("#SBATCH hetjob") == 1
    split = found.index("#SBATCH hetjob")
    assert "#SBATCH --partition=cpu" in found[:split]
    assert "#SBATCH --partition=gpu" in found[split:]
    assert "#SBATCH --gpu-bind=closest" in found[split:]
    assert lines(script)[-1].startswith("srun --het-group=0-1 ")


def test_hetjob_mapping_renders_like_a_resource_group() -> None:
    as_groups = SlurmExecutor(heterogeneous=list(HETJOB_GROUPS), time="30")
    as_mappings = SlurmExecutor(
        heterogeneous=[  # type: ignore[list-item]
            {"nodes": 1, "ntasks_per_node": 1, "cpus_per_task": 4, "mem": "8G", "partition": "cpu"},
            {
                "nodes": 2,
                "ntasks_per_node": 4,
                "gpus_per_node": 4,
                "partition": "gpu",
                "exclusive": True,
                "additional_parameters": {"gpu_bind": "closest"},
            },
        ],
        time="30",
    )
    assert render(as_mappings) == render(as_groups)


def test_array_output_and_spec() -> None:
    found = directives(case_array())
    assert f"#SBATCH --output={JOB_DIR}/slurm-%A_%a.out" in found
    assert "#SBATCH --array=0-3%2" in found


def test_sweep_array_keeps_the_limit() -> None:
    script = case_sweep()
    assert "#SBATCH --array=0-3%2" in directives(script)
    assert lines(script)[-1].endswith(f'{JOB_DIR}/tasks/"$SLURM_ARRAY_TASK_ID".yaml')


def test_sweep_without_limit() -> None:
    script = render(SlurmExecutor(), paths=SWEEP, sweep=3)
    assert "#SBATCH --array=0-2" in directives(script)


def test_job_dependencies_afterok_and_kill_on_invalid_dep() -> None:
    found = directives(case_job_dependencies())
    assert "#SBATCH --dependency=afterok:1001,afterok:1002" in found
    assert "#SBATCH --kill-on-invalid-dep=yes" in found


def test_no_dependency_lines_without_dependencies() -> None:
    script = render(SlurmExecutor(), dependencies=["", ""])
    assert "dependency" not in script
    assert "kill-on-invalid-dep" not in script


def test_container_flags() -> None:
    run = lines(case_container())[-1]
    mounts = ",".join(
        [
            f"{JOB_DIR}:{JOB_DIR}",
            f"{RUNTIME}:{RUNTIME}",
            "/home/alice/project:/home/alice/project",
            "/datasets:/datasets:ro",
            "/scratch/alice/cache:/cache",
        ]
    )
    assert run.startswith(
        "srun '--container-image=nvcr.io#nvidia/pytorch:24.01-py3' "
        f"--container-mounts={mounts} --container-workdir=/workspace --container-env=HF_HOME "
    )


def test_container_packaged_does_not_mount_the_code_twice() -> None:
    run = lines(case_container_packaged())[-1]
    assert f"--container-mounts={JOB_DIR}:{JOB_DIR},{RUNTIME}:{RUNTIME} " in run
    assert f"--container-workdir={JOB_DIR}/code " in run


def test_torchrun_one_node_is_standalone() -> None:
    script = case_torchrun_one_node()
    assert lines(script)[-1] == (
        "srun --ntasks=1 --ntasks-per-node=1 python3 -m torch.distributed.run --nnodes=1 "
        f"--nproc-per-node=4 --standalone -m nrun.exec.task {JOB_DIR}/task.yaml"
    )
    assert "MASTER_ADDR" not in script


def test_torchrun_two_nodes_rendezvous_is_not_quoted() -> None:
    script = case_torchrun_two_nodes()
    run = lines(script)[-1]
    assert '--rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT"' in run
    assert '--rdzv-id="$SLURM_JOB_ID"' in run
    assert "'--rdzv" not in run
    assert "--standalone" not in run
    assert "--nnodes=2" in run
    assert "export MASTER_ADDR MASTER_PORT=29500" in lines(script)
    assert lines(script)[-3].startswith('MASTER_ADDR=$(scontrol show node "$SLURMD_NODENAME" ')


def test_retries_loop() -> None:
    script = lines(case_retries())
    assert script[-11:] == [
        "attempt=0",
        "while :; do",
        f"    srun python3 -m nrun.exec.task {JOB_DIR}/task.yaml",
        "    status=$?",
        '    if [ "$status" -eq 0 ] || [ "$attempt" -ge 2 ]; then',
        "        break",
        "    fi",
        "    attempt=$((attempt + 1))",
        '    echo "nrun: attempt $attempt failed with exit code $status; trying again" >&2',
        "done",
        'exit "$status"',
    ]


def test_packaged_code_first_on_pythonpath() -> None:
    script = lines(case_packaged())
    assert (
        f"export PYTHONPATH={JOB_DIR}/code:{RUNTIME}" + '"${PYTHONPATH:+:$PYTHONPATH}"'
    ) in script
    assert f"cd {JOB_DIR}/code || exit 1" in script
    assert script[-1] == f"srun /opt/venv/bin/python -m nrun.exec.task {JOB_DIR}/task.yaml"


# -- the quoted values, evaluated by bash ----------------------------------------------------------


def bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [BASH, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def exports(script: str) -> str:
    """The script's `export` lines (a quoted value may span lines), PYTHONPATH's last."""
    start = script.index("\nexport ") + 1
    end = script.index("\n", script.index("\nexport PYTHONPATH=") + 1)
    return script[start:end]


ROUND_TRIP_VALUES = [
    NASTY,
    "",
    "two  spaces\tand a tab",
    "line one\nline two",
    "back\\slash \\n",
    "`touch pwned` $(touch pwned) ${HOME}",
    "'",
    '"',
    "ünïcödé ✓",
    "-n",
    "*",
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES)
def test_env_var_round_trips(value: str, tmp_path: Path) -> None:
    script = render(SlurmExecutor(env_vars={"X": value}))
    block = exports(script)
    assert block.startswith("export X=")
    assert bash(f'{block}\nprintf %s "$X"', tmp_path) == value
    assert not (tmp_path / "pwned").exists()


def test_all_exports_round_trip(tmp_path: Path) -> None:
    executor = SlurmExecutor(env_vars={"X": NASTY, "Y": "line one\nline two", "Z": "$X"})
    env = {"NRUN_TASK_NAME": "it's; a $name"}
    script = render(executor, env=env, paths=PACKAGED)
    out = bash(
        exports(script) + '\nprintf "%s\\0" "$X" "$Y" "$Z" "$NRUN_TASK_NAME" "$NRUN_JOB_DIR" '
        '"$PYTHONUNBUFFERED" "$PYTHONPATH"',
        tmp_path,
        env={"PYTHONPATH": "/already/there"},
    )
    assert out.split("\0")[:-1] == [
        NASTY,
        "line one\nline two",
        "$X",
        "it's; a $name",
        JOB_DIR,
        "1",
        f"{JOB_DIR}/code:{RUNTIME}:/already/there",
    ]


def test_pythonpath_without_an_inherited_one(tmp_path: Path) -> None:
    script = render(SlurmExecutor())
    assert bash(exports(script) + '\nprintf %s "$PYTHONPATH"', tmp_path) == RUNTIME


def srun_words(run: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """The words bash makes of an srun line (printed instead of run)."""
    assert run.startswith("srun ")
    out = bash("printf '%s\\0' " + run.removeprefix("srun "), cwd, env)
    return out.split("\0")[:-1]


def test_srun_args_and_paths_round_trip(tmp_path: Path) -> None:
    paths = ScriptPaths(
        job_dir=JOB_DIR,  # in `#SBATCH --output`: see test_job_dir_with_a_space_is_refused
        task="/scratch/my jobs/it's/task $1.yaml",
        runtime="/opt/nrun runtime",
        workdir="/home/alice/my project",
    )
    executor = SlurmExecutor(
        srun_args=["--comment=two words and 'quotes'", "--export=ALL,X=$HOME;ls"],
        python="/opt/my venv/bin/python",
    )
    script = render(executor, paths=paths)
    assert srun_words(lines(script)[-1], tmp_path) == [
        "--comment=two words and 'quotes'",
        "--export=ALL,X=$HOME;ls",
        "/opt/my venv/bin/python",
        "-m",
        "nrun.exec.task",
        "/scratch/my jobs/it's/task $1.yaml",
    ]
    cd = next(line for line in lines(script) if line.startswith("cd "))
    (tmp_path / "my project").mkdir()
    assert bash(cd.replace("/home/alice", str(tmp_path)) + "; pwd", tmp_path).strip() == str(
        tmp_path / "my project"
    )


def test_job_dir_with_a_space_is_quoted_for_sbatch() -> None:
    """sbatch takes a quoted `--output`; a quote in the job dir is refused, naming job_dir."""
    paths = ScriptPaths("/scratch/my jobs", "/scratch/my jobs/task.yaml", RUNTIME, "/w")
    script = render(SlurmExecutor(), paths=paths)
    assert '#SBATCH --output="/scratch/my jobs/slurm-%j.out"' in lines(script)
    paths = ScriptPaths('/scratch/my "jobs"', "/t.yaml", RUNTIME, "/w")
    with pytest.raises(ExecutorError, match="job_dir="):
        render(SlurmExecutor(), paths=paths)


def test_sweep_task_expands_per_element(tmp_path: Path) -> None:
    paths = ScriptPaths(JOB_DIR, "/scratch/my jobs/tasks", RUNTIME, "/w")
    script = render(SlurmExecutor(), paths=paths, sweep=4)
    words = srun_words(lines(script)[-1], tmp_path, {"SLURM_ARRAY_TASK_ID": "2"})
    assert words[-1] == "/scratch/my jobs/tasks/2.yaml"


def test_torchrun_rendezvous_expands_in_bash(tmp_path: Path) -> None:
    words = srun_words(
        lines(case_torchrun_two_nodes())[-1],
        tmp_path,
        {"MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "29500", "SLURM_JOB_ID": "4242"},
    )
    assert words == [
        "--ntasks=2",
        "--ntasks-per-node=1",
        "python3",
        "-m",
        "torch.distributed.run",
        "--nnodes=2",
        "--nproc-per-node=4",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=10.0.0.7:29500",
        "--rdzv-id=4242",
        "-m",
        "nrun.exec.task",
        f"{JOB_DIR}/task.yaml",
    ]


def test_container_mounts_round_trip(tmp_path: Path) -> None:
    executor = SlurmExecutor(
        container_image="nvcr.io#nvidia/pytorch:24.01-py3",
        container_mounts=["/my data:/data"],
    )
    words = srun_words(lines(render(executor))[-1], tmp_path)
    assert words[0] == "--container-image=nvcr.io#nvidia/pytorch:24.01-py3"
    assert words[1].endswith(",/my data:/data")


# -- refusals ------------------------------------------------------------------------------------


REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"partition": "gpu a100"}, "partition"),
    ({"partition": 'gpu"'}, "partition"),
    ({"partition": "gpu'"}, "partition"),
    ({"partition": "gpu\nqos=high"}, "partition"),
    ({"partition": "gpu\\n"}, "partition"),
    ({"account": "a b"}, "account"),
    ({"constraint": "a100 | h100"}, "constraint"),
    ({"gres": "gpu:\t2"}, "gres"),
    ({"job_name_prefix": "my job-"}, "job_name"),
    ({"additional_parameters": {"bad key": 1}}, "additional_parameters"),
    ({"additional_parameters": {"--x": 1}}, "additional_parameters"),
    ({"additional_parameters": {"mail_type": "END FAIL"}}, "mail_type"),
    ({"time": "tomorrow"}, "time"),
    ({"time": "1:2:3:4"}, "time"),
    ({"mem": "4 GB"}, "mem"),
    ({"mem": "4GB"}, "mem"),
    ({"array": "x-y"}, "array"),
    ({"array": "3-1"}, "array"),
    ({"nodes": 0}, "nodes"),
    ({"ntasks_per_node": 0}, "ntasks_per_node"),
    ({"cpus_per_task": 0}, "cpus_per_task"),
    ({"gpus_per_node": -1}, "gpus_per_node"),
    ({"retries": -1}, "retries"),
    ({"dependencies": ["after ok:1"]}, "dependencies"),
    ({"dependencies": ["afterok:x"]}, "dependencies"),
    ({"setup_lines": ["module load a\nmodule load b"]}, "setup_lines"),
    ({"heterogeneous": [ResourceGroup(), ResourceGroup()], "array": "0-3"}, "heterogeneous"),
    ({"heterogeneous": [ResourceGroup(), {"nodes": 1, "gpus": 2}]}, "heterogeneous"),
    ({"heterogeneous": [ResourceGroup(partition="a b")]}, "partition"),
    ({"heterogeneous": [ResourceGroup(nodes=0)]}, "nodes"),
    ({"heterogeneous": [{"mem": "lots"}]}, "mem"),
    ({"heterogeneous": [ResourceGroup()], "launcher": "torchrun"}, "heterogeneous"),
    ({"env_vars": {"BAD NAME": "x"}}, "BAD NAME"),
]


@pytest.mark.parametrize(
    ("fields", "named"),
    REFUSALS,
    ids=[f"{i}-{named.replace(' ', '_')}" for i, (_, named) in enumerate(REFUSALS)],
)
def test_refusals_name_the_field(fields: dict[str, Any], named: str) -> None:
    executor = SlurmExecutor(**fields)
    with pytest.raises(ExecutorError) as info:
        executor.validate()
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_refusal_messages_quote_the_value() -> None:
    with pytest.raises(ExecutorError, match=r"partition='gpu a100'"):
        SlurmExecutor(partition="gpu a100").validate()
    with pytest.raises(ExecutorError, match=r"'bad key'"):
        SlurmExecutor(additional_parameters={"bad key": 1}).validate()
    with pytest.raises(ExecutorError, match=r"'--x'"):
        SlurmExecutor(additional_parameters={"--x": 1}).validate()
    with pytest.raises(ExecutorError, match=r"\['gpus'\]"):
        SlurmExecutor(heterogeneous=[{"gpus": 2}]).validate()  # type: ignore[list-item]
    with pytest.raises(ExecutorError, match=r"array='3-1'.*backwards"):
        SlurmExecutor(array="3-1").validate()
    with pytest.raises(ExecutorError, match=r"dependencies item 'after ok:1'"):
        SlurmExecutor(dependencies=["after ok:1"]).validate()


def test_empty_partition_means_unset() -> None:
    executor = SlurmExecutor(partition="")
    executor.validate()
    assert "partition" not in render(executor)


def test_render_refuses_unsafe_values_without_validate() -> None:
    with pytest.raises(ExecutorError, match="partition"):
        render(SlurmExecutor(partition="a b"), validate=False)
    with pytest.raises(ExecutorError, match="job_name"):
        render_sbatch(SlurmExecutor(), job_name="my job", paths=PATHS)
    with pytest.raises(ExecutorError, match="additional_parameters"):
        render(SlurmExecutor(additional_parameters={"x y": 1}), validate=False)


@pytest.mark.parametrize(
    "value",
    ["30", "90:00", "02:30:00", "1-0", "1-02", "1-02:30", "1-02:30:00", "infinite", "UNLIMITED"],
)
def test_times_accepted(value: str) -> None:
    SlurmExecutor(time=value).validate()


@pytest.mark.parametrize("value", ["4000", "4000M", "16G", "1T", "512K"])
def test_mems_accepted(value: str) -> None:
    SlurmExecutor(mem=value).validate()


@pytest.mark.parametrize("value", ["1234", "afterany:1234", "afterok:12_3", "aftercorr:9"])
def test_dependencies_accepted(value: str) -> None:
    SlurmExecutor(dependencies=[value]).validate()


def test_directive() -> None:
    assert directive("exclusive", True) == "#SBATCH --exclusive"
    assert directive("nodes", 2) == "#SBATCH --nodes=2"
    with pytest.raises(ExecutorError, match="mail_type"):
        directive("mail-type", "")


def test_sweep_limit_passes_validate() -> None:
    """A bare limit is a sweep's (launch_array); a plain launch refuses it."""
    SlurmExecutor(array="%2").validate()


# -- array specs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "indices"),
    [
        ("0-3", [0, 1, 2, 3]),
        ("1,5,7", [1, 5, 7]),
        ("0-15:4", [0, 4, 8, 12]),
        ("0-99%10", list(range(100))),
        ("7", [7]),
        ("3,1-2,2", [1, 2, 3]),
    ],
)
def test_array_indices(spec: str, indices: list[int]) -> None:
    assert array_indices(spec) == indices


@pytest.mark.parametrize("spec", ["x-y", "3-1", "", "%2", "0-3%x", "1,,2", "-1", "0-3:x"])
def test_array_indices_refused(spec: str) -> None:
    with pytest.raises(ExecutorError, match="array="):
        array_indices(spec)


def test_array_zero_step_is_an_executor_error() -> None:
    with pytest.raises(ExecutorError, match="array="):
        array_indices("0-3:0")


def test_bare_limit_is_refused_for_a_plain_launch(tmp_path: Path) -> None:
    """`array='%2'` alone names no elements: a plain launch refuses it before sending anything."""
    from nrun.exec.base import Job

    executor = SlurmExecutor(array="%2", job_dir=str(tmp_path / "job"))
    with pytest.raises(ExecutorError, match=r"array='%2' is only a limit.*'0-3%2'"):
        executor.launch(Job("x", tmp_path / "t.yaml"))
    assert not (tmp_path / "job").exists()
