"""OmegaConf interop: `to_omegaconf`/`from_omegaconf`, and interpolations and resolvers in files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

import models
from nrun.config import (
    Config,
    ConfigError,
    ConfigFileError,
    apply_overrides,
    build,
    from_omegaconf,
    from_signature,
    load,
    to_omegaconf,
)

FACTORIES = {"warmup": models.warmup_schedule}

CONFIGS: dict[str, Any] = {
    "function_root_defaults": lambda: from_signature(models.train),
    "class_root_defaults": lambda: from_signature(models.Model),
    "configured": lambda: apply_overrides(
        from_signature(models.train),
        [
            "model.encoder.block.inner.scale=0.5",
            "model.blocks=[{width: 1}, {width: 2}]",
            "model.color=blue",
            "model.shape=[3, 4]",
            "model.labels=[1, 2]",
            "model.names={1: one}",
            "model.data_dir=/data/x",
            "seed=None",
            "schedule=warmup(warmup=2)",
            "notes='${not.resolved} \\\\${y}'",
            "max_time=inf",
            "options={a: [1, None], b: {}}",
        ],
        factories=FACTORIES,
    ),
    "positional": lambda: Config(models.add, 1, y=2),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_from_omegaconf_of_to_omegaconf_equals_the_config(name: str) -> None:
    config = CONFIGS[name]()
    conf = to_omegaconf(config)
    assert isinstance(conf, DictConfig)
    assert from_omegaconf(conf) == config


@pytest.mark.parametrize("name", CONFIGS)
def test_to_omegaconf_survives_omegaconf_yaml(name: str) -> None:
    config = CONFIGS[name]()
    text = OmegaConf.to_yaml(to_omegaconf(config))
    assert from_omegaconf(OmegaConf.create(text)) == config


def test_to_omegaconf_has_the_target_format() -> None:
    conf = to_omegaconf(CONFIGS["configured"]())
    assert conf._target_ == "models.train"
    assert conf._partial_ is True
    assert conf.model._target_ == "models.Model"
    assert conf.model.color == {"_target_": "models.Color", "_args_": ["blue"]}
    assert conf.schedule == {"_target_": "models.cosine", "_partial_": True, "warmup": 2}
    assert conf.seed is None
    assert conf.notes == "${not.resolved} \\${y}"


def test_from_omegaconf_resolves_interpolations() -> None:
    conf = OmegaConf.create(
        {
            "_target_": "models.train",
            "epochs": 4,
            "model": {"size": "${epochs}", "name": "m${.size}", "encoder": {"layers": "${..size}"}},
        }
    )
    config = from_omegaconf(conf)
    assert (config.epochs, config.model.size, config.model.name) == (4, 4, "m4")
    assert config.model.encoder.layers == 4


def test_from_omegaconf_with_type_and_base() -> None:
    conf = OmegaConf.create({"size": 3, "color": "green"})
    typed = from_omegaconf(conf, type=models.Model)
    assert typed == apply_overrides(from_signature(models.Model), ["size=3", "color=green"])
    base = apply_overrides(from_signature(models.Model), ["name=kept"])
    merged = from_omegaconf(conf, base=base)
    assert (merged.size, merged.color, merged.name) == (3, models.Color.GREEN, "kept")
    assert base.size == 128


def test_from_omegaconf_structured_config_of_a_dataclass() -> None:
    conf = OmegaConf.structured(models.Optimizer(lr=0.5))
    assert from_omegaconf(conf, type=models.Optimizer).lr == 0.5


def test_from_omegaconf_interpolation_error_is_a_config_error() -> None:
    conf = OmegaConf.create({"_target_": "models.Model", "size": "${nowhere}"})
    with pytest.raises(ConfigError, match=r"cannot resolve the OmegaConf config: .*nowhere"):
        from_omegaconf(conf)


def test_from_omegaconf_checks_types() -> None:
    conf = OmegaConf.create({"_target_": "models.Model", "size": "big"})
    with pytest.raises(ConfigError, match="'size' expects int, got 'big'"):
        from_omegaconf(conf)


# -- interpolations in files -------------------------------------------------------------------
def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


INTERPOLATED = {
    "i.yaml": """\
_target_: models.train
epochs: 6
model:
  size: ${epochs}
  name: model-${.size}
  encoder:
    layers: ${..size}
    block:
      width: ${...size}
notes: epochs=${epochs}
""",
    "i.toml": """\
_target_ = "models.train"
epochs = 6
notes = "epochs=${epochs}"

[model]
size = "${epochs}"
name = "model-${.size}"

[model.encoder]
layers = "${..size}"

[model.encoder.block]
width = "${...size}"
""",
    "i.json": """\
{
  "_target_": "models.train",
  "epochs": 6,
  "model": {
    "size": "${epochs}",
    "name": "model-${.size}",
    "encoder": {"layers": "${..size}", "block": {"width": "${...size}"}}
  },
  "notes": "epochs=${epochs}"
}
""",
}


@pytest.mark.parametrize("name", INTERPOLATED)
def test_absolute_and_relative_interpolations_in_files(name: str, tmp_path: Path) -> None:
    config = load(write(tmp_path, name, INTERPOLATED[name]))
    assert config.epochs == 6
    assert config.model.size == 6
    assert config.model.name == "model-6"
    assert config.model.encoder.layers == 6
    assert config.model.encoder.block.width == 6
    assert config.notes == "epochs=6"


def test_interpolated_values_are_type_checked(tmp_path: Path) -> None:
    text = "_target_: models.Model\nname: '3'\nsize: ${name}\ncolor: ${name}\n"
    with pytest.raises(ConfigFileError, match=r"c\.yaml, line 4: 'color' expects Color"):
        load(write(tmp_path, "c.yaml", text))


def test_interpolation_in_a_selected_key_sees_the_whole_file(tmp_path: Path) -> None:
    text = "shared:\n  size: 12\nmodel:\n  _target_: models.Model\n  size: ${shared.size}\n"
    assert load(write(tmp_path, "c.yaml", text), key="model") == Config(models.Model, size=12)


def test_interpolation_onto_a_base(tmp_path: Path) -> None:
    path = write(tmp_path, "o.yaml", "epochs: 8\nmodel:\n  size: ${epochs}\n")
    merged = load(path, base=from_signature(models.train))
    assert (merged.epochs, merged.model.size) == (8, 8)


def test_env_resolver_reads_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("NRUN_TEST_SIZE", "96")
    text = (
        "_target_: models.Model\nsize: ${oc.env:NRUN_TEST_SIZE,7}\nname: ${oc.env:NRUN_TEST_SIZE}\n"
    )
    config = load(write(tmp_path, "e.yaml", text))
    assert (config.size, config.name) == (96, "96")


def test_env_resolver_falls_back_to_its_default(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("NRUN_TEST_SIZE", raising=False)
    text = (
        "_target_: models.Model\n"
        "size: ${oc.env:NRUN_TEST_SIZE,7}\n"
        "name: ${oc.env:NRUN_TEST_SIZE,null}\n"
    )
    path = write(tmp_path, "e.yaml", text)
    with pytest.raises(ConfigFileError, match="'name' expects str, got None"):
        load(path)
    path.write_text(text.replace(",null}", ",unset}"), encoding="utf-8")
    config = load(path)
    assert (config.size, config.name) == (7, "unset")


def test_env_resolver_without_default_for_a_missing_variable(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("NRUN_TEST_SIZE", raising=False)
    path = write(tmp_path, "e.yaml", "_target_: models.Model\nsize: ${oc.env:NRUN_TEST_SIZE}\n")
    with pytest.raises(ConfigFileError, match=r"e\.yaml: interpolation failed: .*NRUN_TEST_SIZE"):
        load(path)


@pytest.fixture
def double_resolver() -> Iterator[str]:
    name = "nrun_test_double"
    OmegaConf.register_new_resolver(name, lambda value: 2 * int(value))
    try:
        yield name
    finally:
        OmegaConf.clear_resolver(name)


@pytest.mark.parametrize("suffix", ["yaml", "toml", "json"])
def test_custom_resolver_in_files(double_resolver: str, suffix: str, tmp_path: Path) -> None:
    value = "${" + double_resolver + ":21}"
    texts = {
        "yaml": f"_target_: models.Model\nsize: '{value}'\n",
        "toml": f'_target_ = "models.Model"\nsize = "{value}"\n',
        "json": f'{{"_target_": "models.Model", "size": "{value}"}}',
    }
    config = load(write(tmp_path, f"r.{suffix}", texts[suffix]))
    assert config == Config(models.Model, size=42)
    assert build(config).size == 42


def test_custom_resolver_is_gone_after_its_fixture(tmp_path: Path) -> None:
    assert not OmegaConf.has_resolver("nrun_test_double")
    path = write(tmp_path, "r.yaml", "_target_: models.Model\nsize: ${nrun_test_double:21}\n")
    with pytest.raises(ConfigFileError, match=r"interpolation failed: .*nrun_test_double"):
        load(path)


def test_custom_resolver_in_from_omegaconf(double_resolver: str) -> None:
    conf = OmegaConf.create({"_target_": "models.Model", "size": "${" + double_resolver + ":5}"})
    assert from_omegaconf(conf).size == 10


def test_escaped_interpolation_in_a_file_is_text(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "_target_: models.Model\nname: \\${epochs}\n")
    assert load(path).name == "${epochs}"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("_target_: models.Model\nsize: ${missing}\n", "Interpolation key 'missing' not found"),
        ("_target_: models.Model\nsize: ${..up}\n", "interpolation failed"),
        ("_target_: models.Model\nsize: ${unclosed\n", "interpolation failed"),
        ("_target_: models.Model\nsize: ${no_such_resolver:1}\n", "no_such_resolver"),
        ("_target_: models.Model\nsize: ${size}\n", "interpolation failed"),
    ],
)
def test_interpolation_errors_name_the_file(text: str, match: str, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigFileError, match=match) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: interpolation failed: ")
    assert "\n" not in message
    assert caught.value.file == str(path)
