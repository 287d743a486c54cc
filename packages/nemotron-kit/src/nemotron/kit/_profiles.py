"""`env.toml`: finding it, reading its profiles and `extends` chains, writing one back.

The search goes from the current directory upwards and stops at the project root (the first
folder with `.git` or `pyproject.toml`). Every problem is one `RunProfileError` line naming the
file and the profile.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron.kit._run_config import (
    DEFAULTS,
    RunConfig,
    field_types,
    first_problem,
    settings,
    shown,
    type_ok,
    type_text,
)
from nemotron.kit.exceptions import RunProfileError
from nrun.config import did_you_mean
from nrun.config.atomic import atomic_write

if TYPE_CHECKING:
    from nemotron.kit.wandb import WandbConfig

__all__ = [
    "SECTIONS",
    "find_env_toml",
    "list_run_profiles",
    "load_run_profile",
    "load_wandb_config",
    "read_env_toml",
    "save_run_profile",
]

SECTIONS = frozenset({"wandb", "cli", "cache"})
"""Top-level tables of `env.toml` that are not run profiles."""
_DROPPED = {  # the original's keys for backends nrun does not have
    **dict.fromkeys(("cloud", "gpus", "cluster_name", "setup"), "a skypilot setting"),
    **dict.fromkeys(("base_url", "app_id", "app_secret", "project_name", "pvcs"), "dgxcloud's"),
    **dict.fromkeys(("resource_shape", "node_group", "nemo_run_dir"), "a lepton setting"),
    **dict.fromkeys(("ray_working_dir", "ray_mode"), "a Ray setting"),
}


# -- finding and reading env.toml --------------------------------------------------------------
def _search(start: Path) -> tuple[Path | None, list[Path]]:
    """The env.toml found from `start` upwards (None) and the folders looked in."""
    looked = []
    for folder in [start, *start.parents]:
        looked.append(folder)
        if (folder / "env.toml").is_file():
            return folder / "env.toml", looked
        if (folder / ".git").exists() or (folder / "pyproject.toml").exists():
            break
    return None, looked


def find_env_toml(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The `env.toml` in `start` (default: the current directory) or the nearest folder above.

    The search stops at the project root: the first folder with `.git` or `pyproject.toml`
    (its own `env.toml` counts). None when there is none.
    """
    return _search(Path(start or Path.cwd()).resolve())[0]


def _locate(config_path: str | os.PathLike[str] | None) -> Path:
    if config_path is not None:
        path = Path(config_path).expanduser().resolve()
        if path.suffix.lower() != ".toml":
            raise RunProfileError(f"{path}: a run-profile file must be a .toml file")
        return path
    found, looked = _search(Path.cwd().resolve())
    if found is None:
        top = looked[-1]
        stop = "the project root" if top.parent != top else "the filesystem root"
        raise RunProfileError(
            f"no env.toml found: looked in {looked[0]} and upwards to {top} ({stop})"
        )
    return found


def read_env_toml(path: Path) -> dict[str, Any]:
    """The tables of `path`; bad TOML is one line with its line number."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunProfileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunProfileError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        line = f" line {found.group(1)}" if found else ""
        raise RunProfileError(f"{path}:{line}: not valid TOML: {message}") from None
    for key, value in data.items():
        if not isinstance(value, dict):
            raise RunProfileError(
                f"{path}: top-level key '{key}' is not a table; each profile is a [name] table"
            )
    return data


def _profiles(path: Path) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in read_env_toml(path).items() if k not in SECTIONS}


def list_run_profiles(config_path: str | os.PathLike[str] | None = None) -> list[str]:
    """The profile names of `env.toml` (found as `load_run_profile` does), sorted; [] if none."""
    if config_path is None and find_env_toml() is None:
        return []
    return sorted(_profiles(_locate(config_path)))


# -- profiles and their extends chains ---------------------------------------------------------
def load_run_profile(name: str, config_path: str | os.PathLike[str] | None = None) -> RunConfig:
    """The profile `name` of `env.toml` (`config_path`, else found), with `extends` resolved.

    A child's keys replace its parent's (lists too). Raises `RunProfileError`, one line naming
    the file and the profile, for: no env.toml, bad TOML, an unknown profile, an `extends` that
    names itself, a missing profile or makes a cycle, an unknown key, a wrong value.
    """
    path = _locate(config_path)
    profiles = _profiles(path)
    if name not in profiles:
        if name in SECTIONS:
            raise RunProfileError(f"{path}: [{name}] is a settings section, not a run profile")
        known = ", ".join(sorted(profiles)) or "none"
        hint = did_you_mean(name, profiles)
        raise RunProfileError(f"{path}: no profile '{name}'.{hint} (profiles: {known})")
    chain = [name]
    while (parent := profiles[chain[-1]].get("extends")) is not None:
        here = f"{path}: profile '{chain[-1]}'"
        if not isinstance(parent, str):
            raise RunProfileError(f"{here}: 'extends' must be a profile name, got {parent!r}")
        if parent == chain[-1]:
            raise RunProfileError(f"{here}: extends itself")
        if parent in chain:
            cycle = " → ".join([*chain[chain.index(parent) :], parent])
            raise RunProfileError(f"{here}: 'extends' makes a cycle: {cycle}")
        if parent not in profiles:
            hint = did_you_mean(parent, profiles)
            known = ", ".join(sorted(profiles))
            raise RunProfileError(
                f"{here}: extends '{parent}', which is not a profile.{hint} (profiles: {known})"
            )
        chain.append(parent)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for profile in reversed(chain):
        for key, value in _checked(profiles[profile], f"{path}: profile '{profile}'").items():
            values[key], origin[key] = value, profile
    merged = {**{k: v for k, v in DEFAULTS.items() if k[0] != "_"}, **values}
    problem = first_problem(merged)
    if problem is not None:
        key, message = problem
        setter = origin.get(key, name)
        where = f"profile '{name}'" + (f" (from '{setter}')" if setter != name else "")
        raise RunProfileError(f"{path}: {where}: {message}")
    return RunConfig(**values, _profile=name, _source=str(path))


def _checked(table: dict[str, Any], where: str) -> dict[str, Any]:
    """A profile table's keys checked (and `env_vars` tables made `KEY=VALUE` lists)."""
    hints = field_types()
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "extends":
            continue
        if key in _DROPPED:
            raise RunProfileError(f"{where}: '{key}' is {_DROPPED[key]}, which nrun does not run")
        if key not in hints:
            hint = did_you_mean(key, [*hints, "extends"])
            raise RunProfileError(f"{where}: unknown key '{key}'.{hint}")
        if key == "env_vars" and isinstance(value, dict):
            for var, text in value.items():
                if not isinstance(text, str):
                    raise RunProfileError(f"{where}: env_vars.{var} must be a string, got {text!r}")
            value = [f"{var}={text}" for var, text in value.items()]
        if not type_ok(value, hints[key]):
            expected = type_text(hints[key]) + (" or a table" if key == "env_vars" else "")
            raise RunProfileError(f"{where}: '{key}' must be {expected}, got {shown(key, value)}")
        out[key] = value
    return out


def load_wandb_config(config_path: str | os.PathLike[str] | None = None) -> WandbConfig | None:
    """The `[wandb]` section of `env.toml` as a `WandbConfig` (None without one or the file)."""
    if config_path is None and find_env_toml() is None:
        return None
    path = _locate(config_path)
    section = dict(read_env_toml(path).get("wandb") or {})
    if not section:
        return None
    known = ("project", "entity", "run_name", "name", "tags", "notes")
    for key, value in section.items():
        if key not in known:
            hint = did_you_mean(key, known)
            raise RunProfileError(f"{path}: [wandb]: unknown key '{key}'.{hint}")
        if not type_ok(value, list[str] if key == "tags" else str):
            expected = "a list of strings" if key == "tags" else "a string"
            raise RunProfileError(f"{path}: [wandb]: '{key}' must be {expected}, got {value!r}")
    if "name" in section:
        section.setdefault("run_name", section.pop("name"))
    if isinstance(section.get("tags"), list):
        section["tags"] = tuple(section["tags"])
    # Imported here for its cost only (it brings in the trackers and pydantic); it imports
    # nothing of run profiles, so there is no cycle behind this.
    from nemotron.kit.wandb import WandbConfig

    return WandbConfig(**section)


# -- writing a profile back --------------------------------------------------------------------
def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    escaped = "".join(
        {'"': '\\"', "\\": "\\\\"}.get(c, c)
        if c == "\t" or (ord(c) >= 0x20 and ord(c) != 0x7F)
        else f"\\u{ord(c):04x}"
        for c in str(value)
    )
    return f'"{escaped}"'


def save_run_profile(
    config: RunConfig, path: str | os.PathLike[str], name: str | None = None
) -> Path:
    """Write `config` as a one-profile env.toml (`[name]`, default its profile's name).

    Written atomically and readable by its owner only (mode 0600): `env_vars` may hold
    secrets. Secrets taken from the environment are never written, only their names.
    `load_run_profile(name, path)` reads it back equal.
    """
    name = name or config._profile or "default"
    header = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)
    lines = [f"[{header}]", f"executor = {_toml(config.executor)}"]
    for key, value in settings(config).items():
        if key != "executor" and value != DEFAULTS[key]:
            lines.append(f"{key} = {_toml(value)}")
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, "\n".join(lines) + "\n")
    return target
