"""The public API: every name of the kit README importable from `nemotron.kit`, imported lazily."""

from __future__ import annotations

import subprocess
import sys

import nemotron.kit as kit

README_NAMES = [
    "Artifact",
    "DataBlendsArtifact",
    "PretrainBlendsArtifact",
    "SFTDataArtifact",
    "SplitJsonlDataArtifact",
    "ModelArtifact",
    "InputDatasetInfo",
    "parse_config_and_overrides",
    "load_omegaconf_yaml",
    "apply_hydra_overrides",
    "omegaconf_to_dataclass",
    "RunConfig",
    "build_executor",
    "load_run_profile",
    "init",
    "get_config",
    "is_initialized",
    "ArtifactRegistry",
    "ArtifactEntry",
    "ArtifactVersion",
    "LineageTracker",
    "WandbTracker",
    "NoOpTracker",
    "add_wandb_tags",
    "finish_wandb",
]


def test_every_readme_name_is_exported() -> None:
    for name in README_NAMES:
        assert name in kit.__all__, name
    for name in kit.__all__:
        assert getattr(kit, name) is not None, name


def test_the_registry_classes_are_the_registry_s() -> None:
    import nemotron.registry

    assert kit.ArtifactRegistry is nemotron.registry.ArtifactRegistry
    assert kit.ArtifactVersion is nemotron.registry.ArtifactVersion


def test_import_is_light() -> None:
    code = (
        "import sys, nemotron.kit\n"
        "heavy = [m for m in ('pydantic', 'fsspec', 'omegaconf', 'wandb', 'fiddle', 'rich',"
        " 'nrun.exec') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_global_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nemotron.kit import _init, track

    try:
        config = track.init(output_root=tmp_path / "reg")
        assert kit.get_config() is config is track.get_config()
        assert kit.is_initialized()
        assert config.registry.root == f"file://{tmp_path / 'reg'}"
    finally:
        _init.reset()
    assert not kit.is_initialized() and kit.get_config() is None
