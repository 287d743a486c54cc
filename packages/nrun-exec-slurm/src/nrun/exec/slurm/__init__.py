"""Run nrun tasks as Slurm batch jobs, from the login node or from anywhere over SSH.

`SlurmExecutor(partition=..., nodes=2, tunnel=SSHTunnel(host=..., user=...))` packages the
code, copies it and the exported task to the cluster, renders an sbatch script (shell-quoted
throughout), submits it with `sbatch --parsable`, and follows it with `squeue`/`sacct`.
"""

from nrun.exec.slurm._executor import SlurmExecutor
from nrun.exec.slurm._sbatch import ResourceGroup, ScriptPaths, render_sbatch
from nrun.exec.slurm._ssh import SSHTunnel
from nrun.exec.slurm._tunnel import CommandResult, LocalTunnel, Tunnel, TunnelError, TunnelStats

# exported configs name the public path (`nrun.exec.slurm.SlurmExecutor`), not the private module
for _cls in (SlurmExecutor, ResourceGroup, SSHTunnel, LocalTunnel):
    _cls.__module__ = __name__

__all__ = [
    "CommandResult",
    "LocalTunnel",
    "ResourceGroup",
    "SSHTunnel",
    "ScriptPaths",
    "SlurmExecutor",
    "Tunnel",
    "TunnelError",
    "TunnelStats",
    "render_sbatch",
]
