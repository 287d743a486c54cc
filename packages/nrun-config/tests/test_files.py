"""Hand-written YAML, TOML and JSON files: loading, key selection, bases, and atomic export."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path, PosixPath
from typing import Any

import pytest
import yaml

import models
from nrun.config import (
    Config,
    ConfigError,
    ConfigFileError,
    Partial,
    apply_overrides,
    build,
    dump,
    dumps,
    from_signature,
    load,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# The same model, written by hand in each format with plain values where the annotations say
# Enum, Path, tuple, set and dict[int, str].
PLAIN_MODEL = {
    "model.yaml": """\
_target_: models.Model
size: 3
color: green
level: 2
data_dir: /srv/data
shape: [4, 5]
dims: [1, 2, 3]
labels: [1, 1, 2]
names: {1: one}
activation: gelu
dropout: null
encoder:
  block:
    inner:
      color: BLUE
""",
    "model.toml": """\
_target_ = "models.Model"
size = 3
color = "green"
level = 2
data_dir = "/srv/data"
shape = [4, 5]
dims = [1, 2, 3]
labels = [1, 1, 2]
names = { 1 = "one" }
activation = "gelu"
dropout = { _none_ = true }

[encoder.block.inner]
color = "BLUE"
""",
    "model.json": """\
{
  "_target_": "models.Model",
  "size": 3,
  "color": "green",
  "level": 2,
  "data_dir": "/srv/data",
  "shape": [4, 5],
  "dims": [1, 2, 3],
  "labels": [1, 1, 2],
  "names": {"1": "one"},
  "activation": "gelu",
  "dropout": null,
  "encoder": {"block": {"inner": {"color": "BLUE"}}}
}
""",
}


@pytest.mark.parametrize("name", PLAIN_MODEL)
def test_plain_values_are_coerced_to_the_annotated_types(name: str, tmp_path: Path) -> None:
    config = load(write(tmp_path, name, PLAIN_MODEL[name]))
    assert isinstance(config, Config)
    assert config.__fn_or_cls__ is models.Model
    assert config.size == 3
    assert config.color is models.Color.GREEN
    assert config.level is models.Level.HIGH
    assert config.data_dir == Path("/srv/data")
    assert type(config.data_dir) is PosixPath
    assert config.shape == (4, 5)
    assert type(config.shape) is tuple
    assert config.dims == (1, 2, 3)
    assert config.labels == {1, 2}
    assert config.names == {1: "one"}
    assert config.activation == "gelu"
    assert config.dropout is None
    assert config.encoder.block.inner.color is models.Color.BLUE


@pytest.mark.parametrize("name", PLAIN_MODEL)
def test_the_three_formats_load_to_equal_configs(name: str, tmp_path: Path) -> None:
    reference = load(write(tmp_path, "reference.yaml", PLAIN_MODEL["model.yaml"]))
    assert load(write(tmp_path, name, PLAIN_MODEL[name])) == reference


@pytest.mark.parametrize("name", PLAIN_MODEL)
def test_loaded_plain_file_builds_the_objects(name: str, tmp_path: Path) -> None:
    model = build(load(write(tmp_path, name, PLAIN_MODEL[name])))
    assert model == models.Model(
        size=3,
        color=models.Color.GREEN,
        level=models.Level.HIGH,
        data_dir=Path("/srv/data"),
        shape=(4, 5),
        dims=(1, 2, 3),
        labels={1, 2},
        names={1: "one"},
        activation="gelu",
        encoder=models.Encoder(block=models.Block(inner=models.Inner(color=models.Color.BLUE))),
    )


def test_only_the_arguments_in_the_file_are_set(tmp_path: Path) -> None:
    config = load(write(tmp_path, "m.yaml", "_target_: models.Model\nsize: 3\n"))
    assert config == Config(models.Model, size=3)


def test_mapping_without_target_configures_the_annotated_class(tmp_path: Path) -> None:
    text = "_target_: models.train\nmodel:\n  size: 5\n  encoder:\n    layers: 1\nepochs: 2\n"
    config = load(write(tmp_path, "t.yaml", text))
    expected = apply_overrides(from_signature(models.Model), ["size=5", "encoder.layers=1"])
    assert config.model == expected
    assert config.epochs == 2


def test_yml_suffix_is_yaml(tmp_path: Path) -> None:
    assert load(write(tmp_path, "m.yml", "_target_: models.Model\nsize: 3\n")) == Config(
        models.Model, size=3
    )


def test_upper_case_suffix_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "m.JSON", '{"_target_": "models.Model", "size": 3}')
    assert load(path) == Config(models.Model, size=3)


def test_yaml_with_byte_order_mark_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "\ufeff_target_: models.Model\nsize: 3\n")
    assert load(path) == Config(models.Model, size=3)


def test_load_accepts_str_paths_and_expands_user(tmp_path: Path, monkeypatch: Any) -> None:
    write(tmp_path, "m.yaml", "_target_: models.Model\nsize: 3\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load("~/m.yaml") == Config(models.Model, size=3)
    assert load(str(tmp_path / "m.yaml")) == Config(models.Model, size=3)


# -- key selection -----------------------------------------------------------------------------
RUNS = """\
defaults:
  lr: 0.1
runs:
  first:
    _target_: models.Model
    size: 1
  second:
    model:
      _target_: models.Inner
      scale: 0.5
  listed:
    - _target_: models.Block
      width: 10
    - _target_: models.Block
      width: 20
"""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("runs.first", Config(models.Model, size=1)),
        ("runs.second.model", Config(models.Inner, scale=0.5)),
        ("runs.listed.1", Config(models.Block, width=20)),
    ],
)
def test_key_selects_a_part_of_the_file(key: str, expected: Any, tmp_path: Path) -> None:
    assert load(write(tmp_path, "runs.yaml", RUNS), key=key) == expected


def test_key_selects_from_toml_and_json(tmp_path: Path) -> None:
    toml = write(tmp_path, "r.toml", '[a.b]\n_target_ = "models.Inner"\nscale = 2.0\n')
    data = {"a": {"b": {"_target_": "models.Inner", "scale": 2.0}}}
    as_json = write(tmp_path, "r.json", json.dumps(data))
    assert load(toml, key="a.b") == load(as_json, key="a.b") == Config(models.Inner, scale=2.0)


def test_key_selected_mapping_without_target_needs_a_type(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "sizes:\n  small:\n    size: 2\n")
    assert load(path, key="sizes.small", type=models.Model).size == 2


def test_error_in_selected_part_cites_the_line_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "runs.yaml", RUNS.replace("width: 20", "width: wide"))
    with pytest.raises(ConfigFileError, match=r"runs\.yaml, line 15: 'width' expects int"):
        load(path, key="runs.listed.1")


# -- base and type -----------------------------------------------------------------------------
def test_base_is_updated_by_a_mapping_without_target(tmp_path: Path) -> None:
    base = apply_overrides(from_signature(models.train), ["model.name=kept", "epochs=5"])
    path = write(
        tmp_path,
        "over.yaml",
        "model:\n  size: 9\n  encoder:\n    block:\n      width: 2\nseed: 4\n",
    )
    merged = load(path, base=base)
    expected = apply_overrides(
        from_signature(models.train),
        ["model.name=kept", "epochs=5", "model.size=9", "model.encoder.block.width=2", "seed=4"],
    )
    assert merged == expected
    assert isinstance(merged, Partial)


def test_base_is_not_changed_by_loading_onto_it(tmp_path: Path) -> None:
    base = from_signature(models.train)
    before = from_signature(models.train)
    load(write(tmp_path, "over.yaml", "model:\n  size: 9\nepochs: 1\n"), base=base)
    assert base == before


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("over.yaml", "model:\n  color: blue\n  shape: [8, 9]\n"),
        ("over.toml", '[model]\ncolor = "blue"\nshape = [8, 9]\n'),
        ("over.json", '{"model": {"color": "blue", "shape": [8, 9]}}'),
    ],
)
def test_base_update_checks_types_in_every_format(name: str, text: str, tmp_path: Path) -> None:
    merged = load(write(tmp_path, name, text), base=from_signature(models.train))
    assert merged.model.color is models.Color.BLUE
    assert merged.model.shape == (8, 9)


def test_file_with_target_replaces_the_base(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "_target_: models.Inner\nscale: 2.0\n")
    assert load(path, base=from_signature(models.Model)) == Config(models.Inner, scale=2.0)


def test_type_configures_a_class_from_a_plain_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "size: 3\ncolor: blue\nblocks:\n  - width: 1\n")
    config = load(path, type=models.Model)
    expected = apply_overrides(
        from_signature(models.Model), ["size=3", "color=blue", "blocks=[{width: 1}]"]
    )
    assert config == expected
    assert build(config).blocks == [models.Block(width=1)]


def test_type_is_checked_against_the_target(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "_target_: models.Optimizer\n")
    with pytest.raises(ConfigFileError, match=r"m\.yaml: .*expects models\.Model"):
        load(path, type=models.Model)


# -- _partial_, _args_ and Hydra's keys ---------------------------------------------------------
def test_partial_true_gives_a_partial(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "_target_: models.cosine\n_partial_: true\nwarmup: 4\n")
    config = load(path)
    assert isinstance(config, Partial)
    assert config == Partial(models.cosine, warmup=4)
    schedule = build(config)
    assert isinstance(schedule, functools.partial)
    assert schedule(2) == models.cosine(2, warmup=4)


def test_partial_false_gives_a_config(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "_target_: models.Inner\n_partial_: false\n")
    config = load(path)
    assert type(config) is Config


def test_nested_partial(tmp_path: Path) -> None:
    text = (
        "_target_: models.Trainer\nmodel:\n  _target_: models.Model\n"
        "schedule:\n  _target_: models.cosine\n  _partial_: true\n  peak: 2.0\n"
    )
    config = load(write(tmp_path, "t.yaml", text))
    assert type(config) is Config
    assert config.schedule == Partial(models.cosine, peak=2.0)
    assert build(config).schedule(0) == models.cosine(0, peak=2.0)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.yaml", "_target_: models.add\n_args_: [1]\ny: 2\n"),
        ("a.toml", '_target_ = "models.add"\n_args_ = [1]\ny = 2\n'),
        ("a.json", '{"_target_": "models.add", "_args_": [1], "y": 2}'),
    ],
)
def test_args_are_positional_arguments(name: str, text: str, tmp_path: Path) -> None:
    config = load(write(tmp_path, name, text))
    assert config == Config(models.add, 1, y=2)
    assert build(config) == 3


def test_args_on_a_partial(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "_target_: models.add\n_partial_: true\n_args_: [40]\n")
    assert build(load(path))(y=2) == 42


def test_args_hold_configs(tmp_path: Path) -> None:
    text = "_target_: models.Trainer\n_args_:\n  - _target_: models.Model\n    size: 2\n"
    config = load(write(tmp_path, "t.yaml", text))
    assert config.model == Config(models.Model, size=2)


def test_hydra_recursive_and_convert_keys_are_ignored(tmp_path: Path) -> None:
    plain = "_target_: models.Trainer\nmodel:\n  _target_: models.Model\n  size: 2\n"
    with_keys = (
        "_target_: models.Trainer\n_recursive_: true\n_convert_: all\n"
        "model:\n  _target_: models.Model\n  _convert_: partial\n  size: 2\n"
    )
    assert load(write(tmp_path, "k.yaml", with_keys)) == load(write(tmp_path, "p.yaml", plain))


def test_hydra_keys_are_ignored_when_updating_a_base(tmp_path: Path) -> None:
    path = write(tmp_path, "o.yaml", "_convert_: all\nmodel:\n  _recursive_: false\n  size: 2\n")
    merged = load(path, base=from_signature(models.train))
    assert merged.model.size == 2


# -- export ------------------------------------------------------------------------------------
def _configured() -> Any:
    return apply_overrides(
        from_signature(models.train),
        ["model.color=blue", "seed=None", "schedule=warmup(warmup=3)"],
        factories={"warmup": models.warmup_schedule},
    )


def test_yaml_export_has_the_documented_shape(tmp_path: Path) -> None:
    path = dump(_configured(), tmp_path / "c.yaml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("_target_: models.train\n_partial_: true\n")
    data = yaml.safe_load(text)
    assert data["model"]["_target_"] == "models.Model"
    assert "_partial_" not in data["model"]
    assert data["model"]["color"] == {"_target_": "models.Color", "_args_": ["blue"]}
    assert data["schedule"] == {"_target_": "models.cosine", "_partial_": True, "warmup": 3}
    assert data["seed"] is None


def test_toml_export_writes_none_as_a_none_table(tmp_path: Path) -> None:
    path = dump(_configured(), tmp_path / "c.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["_target_"] == "models.train"
    assert data["_partial_"] is True
    assert data["seed"] == {"_none_": True}
    assert data["model"]["dropout"] == {"_none_": True}
    assert data["schedule"]["_partial_"] is True


def test_json_export_is_indented_json(tmp_path: Path) -> None:
    path = dump(_configured(), tmp_path / "c.json")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "_target_": "models.train",\n  "_partial_": true,\n')
    assert text.endswith("}\n")
    assert json.loads(text)["seed"] is None


def test_yaml_export_keeps_unicode_readable(tmp_path: Path) -> None:
    config = Config(models.Inner, tag="ünï ✓")
    assert "tag: ünï ✓" in dump(config, tmp_path / "c.yaml").read_text(encoding="utf-8")
    assert '"tag": "ünï ✓"' in dump(config, tmp_path / "c.json").read_text(encoding="utf-8")


def test_yaml_export_quotes_strings_that_read_as_numbers(tmp_path: Path) -> None:
    text = dumps(Config(models.Inner, tag="1e-3"), "yaml")
    assert "tag: '1e-3'" in text


def test_export_escapes_interpolation_syntax_in_strings(tmp_path: Path) -> None:
    config = Config(models.Inner, tag="${x}")
    for fmt in ("yaml", "toml", "json"):
        assert "\\${x}" in dumps(config, fmt)
        assert load(dump(config, tmp_path / f"c.{fmt}")) == config


@pytest.mark.parametrize(
    ("name", "parse"),
    [
        ("c.yaml", yaml.safe_load),
        ("c.yml", yaml.safe_load),
        ("c.toml", tomllib.loads),
        ("c.json", json.loads),
        ("C.JSON", json.loads),
    ],
)
def test_dump_picks_the_format_from_the_suffix(name: str, parse: Any, tmp_path: Path) -> None:
    path = dump(Config(models.Inner, scale=2.0), tmp_path / name)
    assert path == tmp_path / name
    assert parse(path.read_text(encoding="utf-8")) == {"_target_": "models.Inner", "scale": 2.0}


def test_explicit_format_wins_over_the_suffix(tmp_path: Path) -> None:
    path = dump(Config(models.Inner, scale=2.0), tmp_path / "c.cfg", format="json")
    assert json.loads(path.read_text(encoding="utf-8"))["scale"] == 2.0


def test_dump_to_an_unknown_suffix_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"c\.txt: unsupported file type '\.txt'"):
        dump(Config(models.Inner), tmp_path / "c.txt")
    assert list(tmp_path.iterdir()) == []


def test_dumps_unknown_format_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown format 'xml'"):
        dumps(Config(models.Inner), "xml")


def test_dump_creates_parent_directories(tmp_path: Path) -> None:
    path = dump(Config(models.Inner), tmp_path / "a" / "b" / "c.yaml")
    assert load(path) == Config(models.Inner)


def test_dump_writes_a_readable_file(tmp_path: Path) -> None:
    path = dump(Config(models.Inner), tmp_path / "c.yaml")
    assert path.stat().st_mode & 0o777 == 0o644


def test_dump_leaves_only_the_target_in_the_directory(tmp_path: Path) -> None:
    dump(_configured(), tmp_path / "c.yaml")
    dump(_configured(), tmp_path / "c.yaml")
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_dump_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("x" * 100_000, encoding="utf-8")
    dump(Config(models.Inner), path)
    assert path.read_text(encoding="utf-8") == dumps(Config(models.Inner), "yaml")


def _unexportable() -> Any:
    return Config(models.Trainer, model=Config(models.Model), schedule=lambda step: 0.0)


@pytest.mark.parametrize("fmt", ["yaml", "toml", "json"])
def test_failed_export_writes_nothing(fmt: str, tmp_path: Path) -> None:
    target = tmp_path / f"c.{fmt}"
    with pytest.raises(ConfigError, match="cannot be exported"):
        dump(_unexportable(), target)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    target = dump(Config(models.Inner), tmp_path / "c.yaml")
    before = target.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be exported"):
        dump(_unexportable(), target)
    assert target.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


@pytest.mark.parametrize("broken", ["replace", "chmod"])
def test_export_failing_midway_leaves_no_temporary_file(
    broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = dump(Config(models.Inner), tmp_path / "c.yaml")
    before = target.read_text(encoding="utf-8")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, broken, fail)
    with pytest.raises(OSError, match="disk on fire"):
        dump(Config(models.Inner, scale=9.0), target)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]
    assert target.read_text(encoding="utf-8") == before


def test_local_function_cannot_be_exported(tmp_path: Path) -> None:
    def local(x: int = 0) -> int:
        return x

    with pytest.raises(ConfigError, match="only module-level functions and classes"):
        dumps(Config(local), "yaml")


def test_unexportable_value_names_its_path() -> None:
    config = Config(models.Model, extra=object())
    with pytest.raises(ConfigError, match="'extra' cannot be exported: a object"):
        dumps(config, "json")


def test_toml_export_needs_a_mapping_at_the_top() -> None:
    with pytest.raises(ConfigError, match="TOML can only hold a mapping"):
        dumps([Config(models.Inner)], "toml")


def test_yaml_scalars_read_as_omegaconf_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("_target_: models.Inner\ntag: 2024-01-01\n")
    assert load(path).tag == "2024-01-01"
    data_path = tmp_path / "data.yaml"
    data_path.write_text("_target_: builtins.dict\nlr: 1e-3\nsteps: 1_000\n")
    assert load(data_path) == {"lr": 0.001, "steps": 1000}


def test_functions_of_the_running_script_are_written_by_the_script_name(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "my_train.py"
    script.write_text(
        "import dataclasses, sys\n"
        "from nrun.config import Partial, dump\n"
        "@dataclasses.dataclass\n"
        "class Model:\n"
        "    size: int = 1\n"
        "def train(model: Model, epochs: int = 1):\n"
        "    return model.size * epochs\n"
        "if __name__ == '__main__':\n"
        "    dump(Partial(train, model=Model(3), epochs=2), sys.argv[1])\n"
    )
    out = tmp_path / "task.yaml"
    subprocess.run([sys.executable, str(script), str(out)], check=True, cwd=tmp_path)
    assert out.read_text().startswith("_target_: my_train.train\n")
    check = "import sys; from nrun.config import build, load; print(build(load(sys.argv[1]))())"
    done = subprocess.run(
        [sys.executable, "-c", check, str(out)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "6"
