"""Run profiles: tables of an `env.toml` that become nrun executors (local, Docker, Slurm).

```toml
# env.toml, at the project root
[wandb]
project = "nemotron"

[base-slurm]
executor = "slurm"
account = "my-account"
partition = "gpu"
container_image = "nvcr.io/nvidia/nemo:25.01"

[draco]
extends = "base-slurm"
nodes = 4
nproc_per_node = 8
tunnel = "ssh"
host = "login.draco.example"
user = "me"
env_vars = ["NCCL_DEBUG=INFO"]
secrets = ["S3_SECRET_KEY"]
```

`load_run_profile("draco")` finds the file (from the current directory up to the project root),
resolves `extends` and checks every key and value, giving a `RunConfig`;
`build_executor(config)` gives nrun's own executor for it, found through the `nrun.executors`
entry points (so a missing `nrun-exec-slurm` is one line naming its `pip install`).
`WANDB_API_KEY`, `HF_TOKEN`, `NVIDIA_API_KEY` and the profile's `secrets` go from the launching
environment to the job; wherever the kit shows them (`repr`, `describe`) they read `****`.
"""

from __future__ import annotations

from nemotron.kit._executors import build_executor, describe
from nemotron.kit._profiles import (
    find_env_toml,
    list_run_profiles,
    load_run_profile,
    load_wandb_config,
    save_run_profile,
)
from nemotron.kit._run_config import Executor, ExecutorKind, RunConfig, resolve_partition
from nemotron.kit._secrets import DEFAULT_SECRETS, MASK

__all__ = [
    "DEFAULT_SECRETS",
    "MASK",
    "Executor",
    "ExecutorKind",
    "RunConfig",
    "build_executor",
    "describe",
    "find_env_toml",
    "list_run_profiles",
    "load_run_profile",
    "load_wandb_config",
    "resolve_partition",
    "save_run_profile",
]
