"""Configs made by the override grammar survive `dump` then `load` in YAML, TOML and JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path, PosixPath
from typing import Any

import fiddle as fdl
import pytest

import models
from nrun.config import (
    Config,
    Partial,
    apply_overrides,
    build,
    dump,
    dumps,
    from_data,
    from_signature,
    load,
    to_data,
)

FORMATS = ["yaml", "toml", "json"]

FACTORIES = {
    "small": models.small_model,
    "warmup": models.warmup_schedule,
    "adam": models.adam,
}

# id -> (root, overrides); every case is made with `from_signature(root)` + `apply_overrides`.
CASES: dict[str, tuple[Any, list[str]]] = {
    "function_root_defaults": (models.train, []),
    "class_root_defaults": (models.Model, []),
    "plain_class_root": (models.Trainer, ["epochs=5", "model.size=3"]),
    "nested_three_deep": (
        models.train,
        [
            "model.encoder.block.inner.scale=0.25",
            "model.encoder.block.inner.tag=deep",
            "model.encoder.block.inner.color=blue",
            "model.encoder.block.width=9",
            "model.encoder.layers=6",
        ],
    ),
    "none_values": (
        models.train,
        ["seed=None", "model.dropout=None", "model.extra=None", "optimizer.weight_decay=None"],
    ),
    "optional_fields_set": (
        models.train,
        ["seed=7", "model.dropout=0.5", "optimizer.weight_decay=1e-2"],
    ),
    "bools": (models.train, ["model.enabled=false", "options={on: true, off: false}"]),
    "ints": (
        models.train,
        ["epochs=0", "model.size=-3", "seed=9007199254740993", "model.encoder.layers=1_000"],
    ),
    "floats": (
        models.train,
        [
            "optimizer.lr=1e-3",
            "max_time=inf",
            "model.encoder.block.inner.scale=-2.5e-10",
            "model.dropout=0.1",
            "options={tiny: 1e-300, huge: 1.5e300, third: 0.3333333333333333, neg: -inf}",
        ],
    ),
    "integral_float": (models.train, ["optimizer.lr=2.0", "model.encoder.block.inner.scale=3"]),
    "strings_with_quotes": (
        models.train,
        [
            'notes="it\'s \\"quoted\\" and \'single\'"',
            "model.name='back\\\\slash'",
        ],
    ),
    "strings_unicode": (
        models.train,
        ["model.name='ünïcødé ✓ 日本語 🚀'", "notes='tab\\tend'"],
    ),
    "strings_with_newlines": (
        models.train,
        ["notes='line one\\nline two\\n'", "model.name='\\n leading newline'"],
    ),
    "strings_that_look_like_other_values": (
        models.train,
        [
            "notes='1e-3'",
            "model.name='null'",
            "model.encoder.block.inner.tag='yes'",
            "model.tags=['true', '3', '1.5', '~', '', ' padded ', '# hash', 'a: b', '2024-01-01']",
        ],
    ),
    "strings_with_interpolation_syntax": (
        models.train,
        ["notes='${not.an.interpolation}'", "model.name='cost: \\\\${x} and ${y:z}'"],
    ),
    "empty_string": (models.train, ["notes=''"]),
    "list_of_configs": (
        models.train,
        ["model.blocks=[{width: 1}, {width: 2, inner: {scale: 0.5, color: green}}, {}]"],
    ),
    "list_index_override": (
        models.train,
        ["model.blocks=[{width: 1}, {width: 2}]", "model.blocks[1].inner.scale=3.5"],
    ),
    "list_of_factory_configs": (
        models.train,
        ["callbacks=[models.make_model(size=2), models.Optimizer(lr=0.1), 3, text, None]"],
    ),
    "dict_with_str_keys": (
        models.train,
        ["model.weights={a: 1.5, 'with space': 2, 'dotted.key': -1, '': 0}"],
    ),
    "dict_with_int_keys": (models.train, ["model.names={1: one, 20: twenty, -3: minus}"]),
    "nested_dicts_and_lists": (
        models.train,
        ["options={a: [1, [2, 3]], b: {c: {d: [None, true]}}, e: [{f: 1}]}"],
    ),
    "tuples": (
        models.train,
        ["model.shape=[7, 8]", "model.dims=[1, 2, 3]", "optimizer.betas=[0.8, 0.95]"],
    ),
    "empty_tuple": (models.Model, ["dims=[]"]),
    "sets": (models.Model, ["labels=[3, 1, 2]"]),
    "enums": (
        models.train,
        ["model.color=blue", "model.level=HIGH", "model.encoder.block.inner.color=GREEN"],
    ),
    "paths": (
        models.train,
        ["output='/tmp/with space/ü.txt'", "model.data_dir=relative/dir"],
    ),
    "literals": (models.train, ["mode=eval", "model.activation=silu"]),
    "empty_containers": (
        models.train,
        [
            "model.tags=[]",
            "model.weights={}",
            "model.names={}",
            "callbacks=[]",
            "options={}",
            "model.blocks=[]",
        ],
    ),
    "nested_empty_containers": (models.train, ["options={a: [], b: {}, c: [[], {}]}"]),
    "any_field_with_mixed_values": (
        models.train,
        ["model.extra={k: [1, 2.5, None, true, text], n: None}"],
    ),
    "factory_by_import_path": (models.train, ["model=models.make_model(size=3, color=blue)"]),
    "factory_then_argument": (
        models.train,
        ["model=models.make_model(size=3)", "model.depth=4"],
    ),
    "autoconvert_factory": (models.train, ["model=models.small_model(size=5)"]),
    "registered_factories": (
        models.train,
        ["model=small(size=9)", "optimizer=adam(lr=0.01)", "schedule=warmup(warmup=4)"],
    ),
    "nested_partial_from_factory": (models.Trainer, ["schedule=warmup"]),
    "nested_partial_from_dict": (
        models.train,
        ["schedule={_target_: models.cosine, _partial_: true, warmup: 2}"],
    ),
    "positional_args_from_dict": (
        models.train,
        ["callbacks=[{_target_: models.add, _args_: [1], y: 2}]"],
    ),
    "named_tuple_config": (models.train, ["options={point: models.Point(x=1, y=2)}"]),
    "operators": (
        models.train,
        ["epochs+=2", "optimizer.lr*=10", "model.tags+=x", "model.size-=28", "notes+=more"],
    ),
    "everything_at_once": (
        models.train,
        [
            "model=models.small_model(size=16)",
            "model.encoder.block.inner.scale=0.5",
            "model.blocks=[{width: 3}, {inner: {tag: 'a\\nb'}}]",
            "model.color=green",
            "model.level=HIGH",
            "model.dropout=None",
            "model.shape=[4, 5]",
            "model.labels=[9, 8]",
            "model.names={1: x}",
            "model.data_dir=/mnt/data",
            "seed=None",
            "mode=eval",
            "schedule=warmup(warmup=2)",
            "max_time=inf",
            "options={lr: 1e-3, name: '${x}'}",
        ],
    ),
}


def make(case: str) -> Any:
    root, overrides = CASES[case]
    return apply_overrides(from_signature(root), overrides, factories=FACTORIES)


def assert_same_build(loaded: Any, original: Any) -> None:
    assert models.comparable(build(loaded)) == models.comparable(build(original))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_load_of_dump_equals_the_config(case: str, fmt: str, tmp_path: Path) -> None:
    config = make(case)
    path = dump(config, tmp_path / f"config.{fmt}")
    loaded = load(path)
    assert loaded == config
    assert type(loaded) is type(config)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_dump_of_load_gives_identical_text(case: str, fmt: str, tmp_path: Path) -> None:
    config = make(case)
    path = dump(config, tmp_path / f"config.{fmt}")
    text = path.read_text(encoding="utf-8")
    assert text == dumps(config, fmt)
    again = dump(load(path), tmp_path / f"again.{fmt}")
    assert again.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES)
def test_loaded_config_builds_the_same_objects(case: str, fmt: str, tmp_path: Path) -> None:
    config = make(case)
    loaded = load(dump(config, tmp_path / f"config.{fmt}"))
    assert_same_build(loaded, config)


@pytest.mark.parametrize("case", CASES)
def test_from_data_of_to_data_equals_the_config(case: str) -> None:
    config = make(case)
    data = to_data(config)
    assert from_data(data) == config
    assert data == to_data(from_data(data))


def _plain_types(data: Any) -> set[type]:
    if isinstance(data, dict):
        return {dict}.union(*(_plain_types(k) | _plain_types(v) for k, v in data.items()))
    if isinstance(data, list):
        return {list}.union(*(_plain_types(v) for v in data))
    return {type(data)}


@pytest.mark.parametrize("case", CASES)
def test_to_data_gives_only_plain_data(case: str) -> None:
    types = _plain_types(to_data(make(case)))
    assert types <= {dict, list, str, int, float, bool, type(None)}


def test_to_data_writes_the_target_format() -> None:
    config = apply_overrides(
        from_signature(models.train),
        ["model.color=green", "model.shape=[1, 2]", "output=/o", "schedule=warmup"],
        factories=FACTORIES,
    )
    data = to_data(config)
    assert data["_target_"] == "models.train"
    assert data["_partial_"] is True
    assert data["model"]["_target_"] == "models.Model"
    assert "_partial_" not in data["model"]
    assert data["model"]["color"] == {"_target_": "models.Color", "_args_": ["green"]}
    assert data["model"]["level"] == {"_target_": "models.Level", "_args_": [1]}
    assert data["model"]["shape"] == {"_target_": "builtins.tuple", "_args_": [[1, 2]]}
    assert data["model"]["labels"] == {"_target_": "builtins.set", "_args_": [[]]}
    assert data["output"] == {"_target_": "pathlib.Path", "_args_": ["/o"]}
    assert data["schedule"] == {"_target_": "models.cosine", "_partial_": True, "warmup": 10}
    assert data["seed"] is None


def test_to_data_writes_positional_arguments_by_name() -> None:
    assert to_data(Config(models.add, 1, y=2)) == {"_target_": "models.add", "x": 1, "y": 2}


def test_from_data_reads_positional_arguments() -> None:
    config = from_data({"_target_": "models.add", "_args_": [1], "y": 2})
    assert config == Config(models.add, 1, y=2)
    assert build(config) == 3


def test_from_data_checks_values_against_the_given_type() -> None:
    config = from_data({"size": 3, "color": "blue", "shape": [5, 6]}, models.Model)
    assert isinstance(config, Config)
    assert config.__fn_or_cls__ is models.Model
    assert (config.size, config.color, config.shape) == (3, models.Color.BLUE, (5, 6))


def test_from_data_of_a_plain_mapping_with_no_type_is_a_dict() -> None:
    assert from_data({"a": 1, "b": [2]}) == {"a": 1, "b": [2]}


def test_mapping_for_an_any_field_stays_a_dict() -> None:
    config = from_data({"_target_": "models.Model", "extra": {"k": 1}})
    assert config.extra == {"k": 1}
    assert build(config).extra == {"k": 1}


def test_from_data_updates_a_copy_of_the_current_config() -> None:
    base = from_signature(models.train)
    updated = from_data({"model": {"size": 5}, "epochs": 9}, current=base)
    assert (updated.model.size, updated.epochs) == (5, 9)
    assert updated.model.name == "model"
    assert (base.model.size, base.epochs) == (128, 3)


def test_named_tuple_config_is_configured_by_name() -> None:
    config = Config(models.Point, x=1, y=2)
    data = to_data(config)
    assert data == {"_target_": "models.Point", "x": 1, "y": 2}
    assert from_data(data) == config
    assert build(from_data(data)) == models.Point(1, 2)


@pytest.mark.parametrize("fmt", FORMATS)
def test_types_of_values_survive_the_file(fmt: str, tmp_path: Path) -> None:
    config = make("everything_at_once")
    loaded = load(dump(config, tmp_path / f"config.{fmt}"))
    assert isinstance(loaded, Partial)
    assert isinstance(loaded.model, Config)
    assert isinstance(loaded.schedule, Partial)
    assert loaded.model.color is models.Color.GREEN
    assert loaded.model.level is models.Level.HIGH
    assert type(loaded.model.shape) is tuple
    assert type(loaded.model.labels) is set
    assert type(loaded.model.data_dir) is PosixPath
    assert loaded.model.names == {1: "x"}
    assert loaded.seed is None
    assert loaded.max_time == math.inf
    assert loaded.options == {"lr": 1e-3, "name": "${x}"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_built_partial_root_calls_the_same(fmt: str, tmp_path: Path) -> None:
    config = make("registered_factories")
    loaded = load(dump(config, tmp_path / f"config.{fmt}"))
    got, expected = build(loaded)(), build(config)()
    assert models.comparable(got) == models.comparable(expected)
    assert got["schedule"](3) == expected["schedule"](3) == models.cosine(3, warmup=4)


def _big_config(blocks: int) -> Config[models.Model]:
    return Config(
        models.Model,
        size=blocks,
        blocks=[
            Config(
                models.Block,
                width=i,
                inner=Config(models.Inner, scale=i / 4, tag=f"t{i}", color=models.Color.BLUE),
            )
            for i in range(blocks)
        ],
        weights={f"w{i}": float(i) for i in range(blocks)},
    )


def _count_nodes(value: Any) -> int:
    if isinstance(value, fdl.Buildable):
        return 1 + sum(_count_nodes(v) for v in value.__arguments__.values())
    if isinstance(value, dict):
        return 1 + sum(_count_nodes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 1 + sum(_count_nodes(v) for v in value)
    return 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_config_with_ten_thousand_nodes_round_trips(fmt: str, tmp_path: Path) -> None:
    config = _big_config(1500)
    assert _count_nodes(config) >= 10_000
    loaded = load(dump(config, tmp_path / f"big.{fmt}"))
    assert loaded == config


def test_json_export_parses_as_json(tmp_path: Path) -> None:
    path = dump(make("everything_at_once"), tmp_path / "config.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["_target_"] == "models.train"
    # JSON keys are text: a dict with int keys is written so its keys come back as ints
    assert data["model"]["names"] == {"_target_": "builtins.dict", "_args_": [[[1, "x"]]]}
