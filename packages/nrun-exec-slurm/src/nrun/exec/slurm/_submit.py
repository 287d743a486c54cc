"""Sending jobs to a cluster: one archive and one command for any number of `sbatch` calls.

`submit(tunnel, uploads, units)` packs the files of every unit (one job, a sweep, or an array of
several jobs) into one tar, copies it with one `put`, and runs one command that unpacks it,
moves each job's files into its own owner-only folder and calls `sbatch --parsable` once per
unit. The command prints `nrun-submitted <k> <id>` or `nrun-failed <k> <why>` per unit, so one
refused job fails alone, and a unit that was not queued leaves no folder behind. The command
is never sent twice: a connection lost while it runs fails every unit with "it may or may not
have happened", never a second `sbatch`.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import secrets
import shlex
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nrun.exec.base import ExecutorError
from nrun.exec.slurm._tunnel import Tunnel

__all__ = ["ARRAY", "SCRIPT", "Unit", "submit", "submit_script"]

SCRIPT = "job.sbatch"
ARRAY = "array"
"""The folder of a unit's files that go to the array's own folder (its script, its code)."""
_OK, _FAILED = "nrun-submitted", "nrun-failed"


@dataclasses.dataclass
class Unit:
    """One `sbatch` call and the folders its files go to."""

    dirs: list[str]
    """The jobs' folders on the cluster: one, or one per element of an array of jobs."""
    script: str
    """The sbatch script on the cluster."""
    files: dict[str, Path] = dataclasses.field(default_factory=dict)
    """What to send: `<i>/<name>` goes to `dirs[i]/<name>`, `array/<name>` to `links/<name>`."""
    code: str | None = None
    """A folder to unpack `code.tar.gz` (beside it) into, when there is a packager."""
    links: str | None = None
    """An array of jobs: its folder, where `<i>` is a link to `dirs[i]`."""


def submit_script(units: Sequence[Unit], *, staged: bool) -> str:
    """The shell script that places each unit's files and submits it (run as `sh script S`).

    `staged`: the files were unpacked in the folder `$1` as `<k>/<i>/…` and `<k>/array/…`;
    otherwise they are in place already (the cluster's files are this machine's, and their
    folders owner-only). sbatch's errors go to `<script>.err` on the way.
    """
    q = shlex.quote
    lines = [
        "# written by nrun: each job's files into its owner-only folder, then one sbatch per job",
        "umask 077",
        'S="$1"',
        'E="$0.err"',
        "nrun_place() {  # a folder made under umask 077 is 0700; one that was there is made so",
        '    mkdir -p "${2%/*}" || return',
        '    if [ -e "$2" ]; then cp -R "$1/." "$2/" && rm -rf "$1" && chmod 700 "$2"',
        '    else mv "$1" "$2"; fi',
        "}",
        "nrun_failed() {",
        '    why=$(head -n 1 "$E")',
        "    printf '%s %s %s\\n' " + _FAILED + ' "$1" "${why:-sbatch failed}"',
        "}",
    ]
    for k, unit in enumerate(units):
        steps = []
        made = list(unit.dirs)
        if staged:
            for i, folder in enumerate(unit.dirs):
                if any(name.startswith(f"{i}/") for name in unit.files):
                    steps.append(f'nrun_place "$S"/{k}/{i} {q(folder)}')
                else:
                    steps.append(f"mkdir -p {q(folder)} && chmod 700 {q(folder)}")
        if unit.links is not None:
            made.append(unit.links)
            if staged and any(name.startswith(f"{ARRAY}/") for name in unit.files):
                steps.append(f'nrun_place "$S"/{k}/{ARRAY} {q(unit.links)}')
            else:
                steps.append(f"mkdir -p {q(unit.links)}")
            steps += [
                f"ln -sfn {q(folder)} {q(posixpath.join(unit.links, str(i)))}"
                for i, folder in enumerate(unit.dirs)
            ]
        if unit.code is not None:
            archive = posixpath.join(posixpath.dirname(unit.code), "code.tar.gz")
            steps += [
                f"rm -rf {q(unit.code)}",
                f"mkdir {q(unit.code)}",
                f"tar -xzf {q(archive)} -C {q(unit.code)}",
                f"chmod -R go= {q(unit.code)}",
            ]
        prepare = " && ".join(steps) or "true"
        lines += [
            f"# unit {k}",
            f'if {{ {prepare}; }} 2>"$E" && id=$(sbatch --parsable {q(unit.script)} 2>"$E"); then',
            f"    printf '%s %s %s\\n' {_OK} {k} \"$id\"",
            "else",
            f"    nrun_failed {k}",
        ]
        if staged:  # a job that was not queued leaves nothing on the cluster
            lines.append("    rm -rf " + " ".join(q(folder) for folder in made))
        lines.append("fi")
    return "\n".join(lines) + "\n"


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Every file sent is owner-only there, even where tar keeps modes (as root)."""
    info.mode = 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _parse(stdout: str, count: int, fallback: str) -> list[str | ExecutorError]:
    """Each unit's job id, or its error, from the script's output."""
    found: dict[int, str | ExecutorError] = {}
    for line in stdout.splitlines():
        word, _, rest = line.partition(" ")
        index, _, value = rest.partition(" ")
        if word not in (_OK, _FAILED) or not index.isdigit():
            continue
        if word == _FAILED:
            found[int(index)] = ExecutorError(f"submitting the job failed: {value.strip()}")
            continue
        job_id = (value.split() or [""])[-1].split(";")[0]
        found[int(index)] = (
            job_id
            if job_id.isdigit()
            else ExecutorError(f"sbatch printed no job id: {value.strip()!r}")
        )
    return [
        found.get(k, ExecutorError(f"submitting the job failed: {fallback}")) for k in range(count)
    ]


def submit(
    tunnel: Tunnel, uploads: str, units: Sequence[Unit], *, staged: bool
) -> list[str | ExecutorError]:
    """Send and submit every unit: a job id (an array's own id for an array) or the error each.

    `uploads` is a folder on the cluster for the archive (and, in place, the script). Staged,
    this is one `put` and one command whatever the number of units; in place, one command.
    """
    if not units:
        return []
    q = shlex.quote
    token = secrets.token_hex(8)
    script = submit_script(units, staged=staged)
    if staged:
        sent = f"{uploads}/{token}.tar"
        stage = f"{uploads}/{token}"
        with tempfile.TemporaryDirectory(prefix="nrun-slurm-") as tmp:
            bundle = Path(tmp) / "jobs.tar"
            (Path(tmp) / "submit.sh").write_text(script)
            with tarfile.open(bundle, "w") as tar:
                tar.add(Path(tmp) / "submit.sh", arcname="submit.sh", filter=_private)
                for k, unit in enumerate(units):
                    for name, path in unit.files.items():
                        tar.add(path, arcname=f"{k}/{name}", recursive=False, filter=_private)
            tunnel.put(bundle, sent)
        command = (
            f"umask 077 && mkdir {q(stage)} && tar -xf {q(sent)} -C {q(stage)} && "
            f"rm -f {q(sent)} && sh {q(stage)}/submit.sh {q(stage)}; "
            f"rc=$?; rm -rf {q(stage)} {q(sent)}; exit $rc"
        )
    else:
        local = f"{uploads}/{token}.sh"  # in place: the cluster's files are this machine's
        with os.fdopen(os.open(local, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(script)
        command = f"umask 077; sh {q(local)} ''; rc=$?; rm -f {q(local)} {q(local)}.err; exit $rc"
    done = tunnel.run(command, idempotent=False)
    return _parse(done.stdout, len(units), done.first_error())
