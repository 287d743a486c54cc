"""A recipe's config: its YAML, the command line's overrides, its artifacts, its job dir.

`ConfigBuilder` does it in the order a recipe needs: everything that can be wrong is checked
(config name, overrides, artifact references, run profile) before anything is written, and
then `job.yaml` (everything, with the `run:` provenance) and `train.yaml` (what the script
reads) are written into a new job dir, owner-only.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron.kit.cli.globals import GlobalContext, RecipeUsageError
from nemotron.kit.cli.utils import plain
from nemotron.kit.exceptions import ConfigError
from nrun.config import did_you_mean
from nrun.config.atomic import atomic_write

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from nemotron.kit.run import RunConfig

__all__ = [
    "CONFIG_SUFFIXES",
    "JOBS_ENV",
    "ArtifactSlot",
    "ConfigBuilder",
    "apply_dotlist_overrides",
    "find_config_file",
    "generate_job_dir",
    "load_config",
]

CONFIG_SUFFIXES = (".yaml", ".yml")
JOBS_ENV = "NEMOTRON_JOBS_DIR"
"""Where job dirs are made (default `./.nemotron/jobs`, as the original kit does)."""


@dataclass(frozen=True)
class ArtifactSlot:
    """One input a recipe declares: `run.<name>` defaults to `default` (`Name:latest`)."""

    name: str
    default: str | None = None

    @classmethod
    def of(cls, name: str, spec: Any) -> ArtifactSlot:
        """A slot from the `artifacts=` mapping: `"Name:latest"` or `{"default": "Name"}`."""
        if isinstance(spec, Mapping):
            spec = spec.get("default")
        if spec is not None and not isinstance(spec, str):
            raise ConfigError(f"artifacts[{name!r}] must be a reference such as 'Blends:latest'")
        return cls(name, spec)


def find_config_file(config_name: str, config_dir: Path) -> Path:
    """The config `-c` names: a file of `config_dir` by stem (`tiny` → `tiny.yaml`), or a path."""
    given = Path(config_name).expanduser()
    if given.suffix in CONFIG_SUFFIXES or os.sep in config_name or "/" in config_name:
        if given.is_file():
            return given.resolve()
        raise RecipeUsageError(f"config file not found: {given}")
    for suffix in CONFIG_SUFFIXES:
        candidate = config_dir / f"{config_name}{suffix}"
        if candidate.is_file():
            return candidate
    names = sorted(p.stem for p in config_dir.glob("*") if p.suffix in CONFIG_SUFFIXES)
    known = f"; configs in {config_dir}: {', '.join(names)}" if names else ""
    raise RecipeUsageError(
        f"unknown config {config_name!r}{known}." + did_you_mean(config_name, names)
    )


def load_config(config_path: Path) -> DictConfig:
    """The YAML at `config_path` as a `DictConfig`, interpolations kept."""
    from nemotron.kit.train_script import load_omegaconf_yaml

    return load_omegaconf_yaml(config_path)


def apply_dotlist_overrides(config: DictConfig, dotlist: Sequence[str]) -> DictConfig:
    """Apply `key=value` overrides strictly: an unknown key is an error with "Did you mean"."""
    from nemotron.kit.train_script import apply_hydra_overrides

    return apply_hydra_overrides(config, list(dotlist))


def generate_job_dir(recipe_name: str, base_dir: Path | None = None) -> Path:
    """A new job dir's path: `<base>/<time>-<recipe>-<random>` (not made yet).

    `base` is `base_dir`, else `$NEMOTRON_JOBS_DIR`, else `./.nemotron/jobs`.
    """
    base = base_dir or Path(os.environ.get(JOBS_ENV) or Path.cwd() / ".nemotron" / "jobs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = recipe_name.replace("/", "-")
    return base.expanduser() / f"{stamp}-{safe}-{secrets.token_hex(3)}"


class ConfigBuilder:
    """Builds one recipe run's `job.yaml` and `train.yaml` from its config and command line."""

    def __init__(
        self,
        recipe_name: str,
        script_path: str | os.PathLike[str],
        config_dir: str | os.PathLike[str],
        default_config: str = "default",
        ctx: GlobalContext | None = None,
        argv: Sequence[str] | None = None,
        artifacts: Mapping[str, Any] | None = None,
    ):
        self.recipe_name = recipe_name
        self.script_path = Path(script_path)
        self.config_dir = Path(config_dir)
        self.default_config = default_config
        self.ctx = ctx or GlobalContext()
        self.argv = list(sys.argv if argv is None else argv)
        self.slots = {k: ArtifactSlot.of(k, v) for k, v in (artifacts or {}).items()}
        self.bindings: dict[str, str] = {}
        """Artifact slot → the reference given (before pinning)."""
        self.pinned: dict[str, str] = {}
        """Artifact slot → `name:vN`, the version it resolved to when the job was built."""
        self.run_config: RunConfig | None = None
        self.config_path: Path | None = None
        self._config: DictConfig | None = None
        self._job_config: DictConfig | None = None
        self._job_dir: Path | None = None

    # -- building --------------------------------------------------------------------------------
    def load_and_merge(self) -> DictConfig:
        """Load the config `-c` names (else the default) and apply the overrides strictly.

        `run.<slot>=Name:v3` (and `--art.<slot> Name:v3` among the pass-through args) rebind
        an artifact; other `run.` keys are refused.
        """
        self.config_path = find_config_file(self.ctx.config or self.default_config, self.config_dir)
        config = load_config(self.config_path)
        self._take_art_options()
        ordinary: list[str] = []
        for token in self.ctx.dotlist:
            key, _, value = token.partition("=")
            if key.startswith("run."):
                self._bind(key[len("run.") :], value, token)
            else:
                ordinary.append(token)
        self._config = apply_dotlist_overrides(config, ordinary)
        return self._config

    def _take_art_options(self) -> None:
        rest: list[str] = []
        args = self.ctx.passthrough
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if not arg.startswith("--art."):
                rest.append(arg)
                continue
            key, eq, value = arg[len("--art.") :].partition("=")
            if not eq:
                if i >= len(args):
                    raise RecipeUsageError(f"{arg} needs a reference, e.g. {arg} Name:v3")
                value, i = args[i], i + 1
            self._bind(key, value, arg)
        self.ctx.passthrough = rest

    def _bind(self, slot: str, value: str, token: str) -> None:
        if slot not in self.slots:
            known = ", ".join(sorted(self.slots)) or "none"
            raise RecipeUsageError(
                f"invalid override {token!r}: {self.recipe_name} has no artifact input "
                f"{slot!r} (its inputs: {known})." + did_you_mean(slot, self.slots)
            )
        if not value:
            raise RecipeUsageError(f"invalid override {token!r}: expected a reference Name:v3")
        self.bindings[slot] = value

    def resolve_artifacts(self) -> dict[str, str]:
        """Pin every artifact input to the version it names now; one line if one is unknown."""
        from nemotron.kit._init import jobs_registry
        from nemotron.registry import parse_uri

        refs = {k: self.bindings.get(k, s.default) for k, s in self.slots.items()}
        registry = None
        for slot, ref in refs.items():
            if ref is None:
                continue
            registry = registry or jobs_registry()
            text = ref if ref.startswith("art://") else f"art://{ref}"
            try:
                parsed = parse_uri(text)
                version = registry.resolve(parsed.name, parsed.ref)
            except Exception as exc:
                from nemotron.registry import ArtifactNotFoundError, RegistryError

                if isinstance(exc, ArtifactNotFoundError):
                    hint = did_you_mean(parsed.name, registry.list())
                    raise RecipeUsageError(
                        f"artifact input {slot!r}: no artifact named {parsed.name!r} in "
                        f"{registry.root}.{hint}"
                    ) from None
                if isinstance(exc, RegistryError):
                    raise RecipeUsageError(f"artifact input {slot!r}: {exc}") from None
                raise
            self.pinned[slot] = f"{version.name}:v{version.version}"
        return self.pinned

    def load_profile(self) -> RunConfig | None:
        """The `--run`/`--batch` profile of `env.toml` (detached for `--batch`), or None."""
        if not self.ctx.profile:
            return None
        import dataclasses

        from nemotron.kit.run import load_run_profile

        config = load_run_profile(self.ctx.profile)
        if self.ctx.batch:
            config = dataclasses.replace(config, detach=True)
        self.run_config = config
        return config

    def build_job_config(self, env: Mapping[str, str] | None = None) -> DictConfig:
        """The full job config: the script's config plus `run:` (profile, argv, recipe, env)."""
        from omegaconf import OmegaConf

        from nemotron.kit.cli.display import mask_secrets
        from nemotron.kit.run import MASK

        if self._config is None:
            self.load_and_merge()
        assert self._config is not None
        data = plain(self._config)
        existing = data.pop("run", None)
        run: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
        profile: dict[str, Any] = {}
        if self.run_config is not None:
            from nemotron.kit._run_config import settings

            profile = {k: v for k, v in settings(self.run_config).items() if v not in (None, [])}
        run.update(
            mode=self.ctx.mode,
            profile=self.ctx.profile,
            env=mask_secrets(profile, self.run_config.secrets if self.run_config else ()),
            cli={
                "argv": mask_secrets(self.argv),
                "config": self.ctx.config,
                "config_file": str(self.config_path),
                "dotlist": mask_secrets(self.ctx.dotlist),
                "passthrough": mask_secrets(self.ctx.passthrough),
            },
            recipe={"name": self.recipe_name, "script": str(self.script_path)},
            artifacts=dict(self.pinned),
            job_env={
                k: MASK if k in (env or {}) and _secret(k) else v for k, v in (env or {}).items()
            },
        )
        run.update(self.pinned)
        data["run"] = run
        self._job_config = OmegaConf.create(data)
        return self._job_config

    def train_config(self) -> dict[str, Any]:
        """What the script reads: its config, and `run:` with only the pinned artifacts."""
        if self._config is None:
            self.load_and_merge()
        assert self._config is not None
        data = plain(self._config)
        data.pop("run", None)
        if self.pinned:
            data["run"] = dict(self.pinned)
        return data

    # -- writing ---------------------------------------------------------------------------------
    def save(self, job_dir: Path | None = None) -> tuple[Path, Path]:
        """Make the job dir (owner-only) and write `job.yaml` and `train.yaml` into it."""
        import yaml

        job = self._job_config if self._job_config is not None else self.build_job_config()
        target = job_dir or generate_job_dir(self.recipe_name)
        old = os.umask(0o077)
        try:
            target.mkdir(parents=True, exist_ok=False, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot make the job dir {target}: {exc.strerror or exc}") from None
        finally:
            os.umask(old)
        self._job_dir = target.resolve()
        job_path, train_path = self._job_dir / "job.yaml", self._job_dir / "train.yaml"
        try:
            for path, data in ((job_path, plain(job)), (train_path, self.train_config())):
                atomic_write(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        except BaseException:
            import shutil

            shutil.rmtree(self._job_dir, ignore_errors=True)
            raise
        return job_path, train_path

    @property
    def job_config(self) -> DictConfig:
        """The job config (`build_job_config` first)."""
        return self._job_config if self._job_config is not None else self.build_job_config()

    @property
    def job_dir(self) -> Path | None:
        """The job dir, once `save` made it."""
        return self._job_dir


def _secret(name: str) -> bool:
    from nemotron.kit._secrets import is_secret

    return is_secret(name)
