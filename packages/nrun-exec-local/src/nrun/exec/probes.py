"""Small tasks that probe what an executor gives a job: output, exit codes, env vars, time.

`ExecutorTestSuite` launches these; they import nothing but the standard library, so they run
wherever nrun's task runner does (a container, a cluster node). `allreduce` alone needs torch:
it checks that a distributed launch (torchrun, several nodes) wires its ranks together.
"""

from __future__ import annotations

import json
import os
import sys
import time

__all__ = ["allreduce", "echo", "fail", "print_env", "sleep"]


def echo(message: str = "hello from nrun") -> None:
    """Print `message`."""
    print(message, flush=True)


def fail(code: int = 3, message: str = "task failed on purpose") -> None:
    """Print `message` to stderr and exit with `code`."""
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(code)


def print_env(names: list[str]) -> None:
    """Print `NAME=value` for each of `names`."""
    for name in names:
        print(f"{name}={os.environ.get(name)}", flush=True)


def sleep(seconds: float = 60.0, lines: int = 1) -> None:
    """Print `lines` numbered lines spread over `seconds`."""
    for i in range(lines):
        print(f"line {i}", flush=True)
        time.sleep(seconds / lines)
    print("done", flush=True)


def allreduce(out: str) -> None:
    """One rank of a gloo all-reduce of `rank + 1`; writes `out/rank<r>.json` and prints the sum.

    The file holds the rank, the world size, the sum (`w(w+1)/2` when every rank took part), the
    host name and the Slurm node (`SLURMD_NODENAME`, when there is one).
    """
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        total = torch.tensor([float(rank + 1)])
        dist.all_reduce(total)
        seen = {
            "rank": rank,
            "world": world,
            "sum": total.item(),
            "host": os.uname().nodename,
            "node": os.environ.get("SLURMD_NODENAME"),
        }
        with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
            json.dump(seen, handle)
        print(f"rank {rank} of {world}: sum {total.item()}", flush=True)
    finally:
        dist.destroy_process_group()
