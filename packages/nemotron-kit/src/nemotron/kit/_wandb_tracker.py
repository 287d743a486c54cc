"""`WandbTracker`: artifacts logged to the active W&B run, with their datasets and tokenizer."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nemotron.kit._lineage import (
    WANDB_PIP,
    InputDatasetInfo,
    TrackedArtifact,
    TrackerError,
    TrackerNotInstalledError,
    unique,
)

__all__ = ["WandbTracker", "to_wandb_uri", "tokenizer_to_uri"]


# -- URIs ----------------------------------------------------------------------------------------
def to_wandb_uri(path: str) -> str:
    """A data path as a W&B reference URI.

    `hf://org/name` becomes `https://huggingface.co/datasets/org/name`; URLs (`s3://`, `gs://`,
    `https://`, `file://`, …) stay as they are; a local path becomes `file:///abs/path`.
    """
    if path.startswith("hf://"):
        repo = path[len("hf://") :]
        if repo.startswith("models/"):
            return f"https://huggingface.co/{repo[len('models/') :]}"
        repo = repo[len("datasets/") :] if repo.startswith("datasets/") else repo
        return f"https://huggingface.co/datasets/{repo}"
    if "://" in path:
        return path
    return Path(path).expanduser().resolve().as_uri()


def tokenizer_to_uri(model: str, revision: str | None = None) -> str:
    """A tokenizer (a Hugging Face model name or a local path) as a reference URI.

    `meta-llama/Llama-3.2-1B` becomes `https://huggingface.co/meta-llama/Llama-3.2-1B` (with
    `/tree/<revision>` when given); a path that exists or starts with `/`, `.` or `~` becomes
    `file:///abs/path`.
    """
    if "://" in model:
        return model
    if model.startswith(("/", ".", "~")) or Path(model).expanduser().exists():
        return Path(model).expanduser().resolve().as_uri()
    url = f"https://huggingface.co/{quote(model, safe='/')}"
    return f"{url}/tree/{revision}" if revision else url


def _wandb_name(text: str, fallback: str = "dataset") -> str:
    """A W&B artifact name: `/` becomes `.`, other characters W&B refuses become `-`."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", text.replace("/", "."))
    name = re.sub(r"-+", "-", name).strip("-.")
    return name[:128] or fallback


def _dataset_artifact_name(uri: str, subset: str | None = None) -> str:
    name = uri.split("://", 1)[1] if "://" in uri else uri
    if subset:
        name = f"{name}-{subset}"
    name = re.sub(r"-+", "-", re.sub(r"[/\\:@#?&=+%]", "-", name)).strip("-")
    if name and not name[0].isalnum():
        name = "dataset-" + name
    return _wandb_name(name)


def _tokenizer_artifact_name(uri: str) -> str:
    match = re.search(r"huggingface\.co/([^/]+/[^/]+)", uri)
    if match:
        return _wandb_name(match.group(1).replace("/", "-"), "tokenizer")
    if uri.startswith("file://"):
        return _wandb_name(Path(uri[len("file://") :]).name, "tokenizer")
    return "tokenizer"


def _wandb_ref(logged: Any) -> str:
    """`entity/project/name:vN` of a logged W&B artifact (its `name` may hold the version)."""
    ref = f"{logged.entity}/{logged.project}/{logged.name}"
    return ref if ":" in str(logged.name) else f"{ref}:{logged.version}"


def _import_wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise TrackerNotInstalledError(f"WandbTracker needs wandb; {WANDB_PIP}") from None
    return wandb


class WandbTracker:
    """Logs artifacts to the active W&B run, with their input datasets and tokenizer as lineage.

    Each artifact becomes a W&B artifact of its type, holding its small files
    (`get_wandb_files()`: `metadata.json`, `blend.json`) and references to its data
    (`get_wandb_references()`, plus the tokenizer), with its fields as metadata. Online, its
    source datasets and tokenizer are registered as W&B artifacts that the run uses; with
    `WANDB_MODE=offline` (W&B cannot `use_artifact` offline) they are kept in the metadata.

    Example:
        >>> import wandb
        >>> wandb.init(project="my-project")
        >>> set_lineage_tracker(WandbTracker())  # every artifact.save() now logs to W&B
    """

    def __init__(self) -> None:
        self.wandb = _import_wandb()

    def _run(self) -> Any:
        run = self.wandb.run
        if run is None:
            raise TrackerError("no active W&B run: call wandb.init() (or init_wandb_if_configured)")
        return run

    def _offline(self) -> bool:
        run = self.wandb.run
        return bool(getattr(run, "offline", False)) or os.environ.get("WANDB_MODE") in (
            "offline",
            "dryrun",
            "disabled",
        )

    def is_active(self) -> bool:
        """Whether a W&B run is active."""
        return self.wandb.run is not None

    def use_artifact(self, ref: str, artifact_type: str) -> Path:
        """Mark the W&B artifact `ref` (`entity/project/name:v1`) as used; download it."""
        run = self._run()
        if self._offline():
            raise TrackerError(
                f"cannot use W&B artifact {ref!r} while W&B is offline: W&B serves artifacts"
                " only online; pass a path or an art:// URI"
            )
        used = run.use_artifact(ref, type=artifact_type)
        return Path(used.download())

    def _use(self, artifact: Any) -> Any | None:
        """`run.use_artifact` (online only); None where W&B refuses it."""
        try:
            return self.wandb.run.use_artifact(artifact)
        except Exception:  # W&B's errors are many; lineage is best-effort here, as in the original
            return None

    def _existing(self, name: str) -> Any | None:
        run = self.wandb.run
        try:
            return self.wandb.Api().artifact(f"{run.entity}/{run.project}/{name}:latest")
        except Exception:  # not found, or no API access: create it instead
            return None

    def _register_input(
        self, name: str, kind: str, uri: str, ref_name: str, metadata: dict[str, Any]
    ) -> Any | None:
        """Register an external input as a W&B artifact the run uses (online)."""
        used = self._existing(name)
        if used is None:
            created = self.wandb.Artifact(
                name=name, type=kind, description=f"Source: {uri}", metadata=metadata
            )
            # a scheme W&B cannot reference: the artifact still names it in its metadata
            with contextlib.suppress(Exception):
                created.add_reference(uri, name=ref_name, checksum=False)
            return self._use(created)
        return self._use(used)

    def _register_inputs(self, artifact: TrackedArtifact) -> list[Any]:
        datasets: list[InputDatasetInfo | str] = getattr(artifact, "source_datasets", None) or []
        used: list[Any] = []
        for item in datasets:
            ds = item if isinstance(item, InputDatasetInfo) else InputDatasetInfo(uri=item)
            meta: dict[str, Any] = {"source_uri": ds.uri, "raw": True}
            defaults = InputDatasetInfo(uri=ds.uri)
            for key, value in ds.model_dump(exclude={"uri"}).items():
                if value is not None and value != getattr(defaults, key):
                    meta[key] = value
            name = _dataset_artifact_name(ds.uri, ds.subset)
            used.append(self._register_input(name, "dataset", to_wandb_uri(ds.uri), "data", meta))
        tokenizer = getattr(artifact, "tokenizer_uri", None)
        if tokenizer:
            meta = {"source_uri": tokenizer, "type": "tokenizer"}
            name = _tokenizer_artifact_name(tokenizer)
            used.append(self._register_input(name, "tokenizer", tokenizer, "tokenizer", meta))
        return [u for u in used if u is not None]

    def log_artifact(
        self, artifact: TrackedArtifact, name: str, used_refs: list[str]
    ) -> dict[str, Any]:
        """Log `artifact` to the active run as the W&B artifact `name` (`/` becomes `.`)."""
        run = self._run()
        offline = self._offline()
        wname = _wandb_name(name, "artifact")
        inputs = unique(artifact.get_input_uris())
        metadata = {
            **artifact.registry_metadata(),
            "source_uris": inputs,
            "used_artifacts": list(used_refs),
        }
        wb = self.wandb.Artifact(name=wname, type=artifact.type, metadata=metadata)
        for local, rel in artifact.get_wandb_files():
            if Path(local).is_file():
                wb.add_file(local, name=rel)
        references = list(artifact.get_wandb_references())
        tokenizer = getattr(artifact, "tokenizer_uri", None)
        if tokenizer:
            references.append((tokenizer, "tokenizer"))
        for uri, rel in references:
            with contextlib.suppress(Exception):  # a scheme W&B cannot reference
                wb.add_reference(uri, name=rel, checksum=False)
        input_refs: list[str] = []
        if not offline:
            input_refs = [_wandb_ref(used) for used in self._register_inputs(artifact)]
            for ref in used_refs:
                if not ref.startswith("art://"):  # a W&B ref; art:// inputs live in metadata
                    self._use(ref)
        if artifact.metrics:
            self.wandb.log(artifact.metrics)
        aliases = ["latest"]
        experiment = os.environ.get("NRUN_EXPERIMENT_ID") or os.environ.get("NEMO_EXPERIMENT_ID")
        if experiment:
            aliases.append(re.sub(r"[/:]", "-", experiment))
        logged = run.log_artifact(wb, aliases=aliases)
        if offline:  # numbered when the run is synced
            where = "/".join(p for p in (run.entity, run.project) if p)
            artifact_id, url = f"{where}/{wname}" if where else wname, None
        else:
            logged.wait()
            artifact_id, url = _wandb_ref(logged), getattr(logged, "url", None)
        return {
            "artifact_id": artifact_id,
            "artifact_type": artifact.type,
            "run_id": run.id,
            "url": url,
            "used_artifacts": list(used_refs),
            "source_uris": inputs,
            "input_artifact_refs": input_refs,
        }

    def get_run_id(self) -> str | None:
        """The active W&B run's id, or None."""
        run = self.wandb.run
        return str(run.id) if run is not None else None
