from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fiddle as fdl
import pytest

import models
from nrun.config import (
    Config,
    ConfigFileError,
    ConfigTypeError,
    FactoryError,
    OverrideValueError,
    Partial,
    apply_override,
    apply_overrides,
    build,
    from_signature,
    parse_override,
)


def sequence_task(xs: Sequence[int] = (1,)) -> Sequence[int]:
    return xs


def configure(*overrides: str, **kwargs: Any) -> Any:
    return apply_overrides(from_signature(models.experiment), overrides, **kwargs)


def run(config: Any) -> dict[str, Any]:
    task = build(config)
    assert isinstance(task, functools.partial)
    return task()


# -- walking paths -------------------------------------------------------------------------------


def test_apply_changes_the_config_in_place_and_returns_it() -> None:
    config = from_signature(models.experiment)
    assert apply_override(config, "steps=3") is config
    assert config.steps == 3


def test_apply_accepts_a_parsed_override() -> None:
    assert apply_override(from_signature(models.experiment), parse_override("steps=4")).steps == 4


def test_nested_dataclasses_at_depth_four() -> None:
    config = configure("model.encoder.block.inner.scale=0.5", "model.encoder.block.width=16")
    model = run(config)["model"]
    assert model.encoder.block.inner.scale == 0.5
    assert model.encoder.block.width == 16
    assert model.encoder.block.inner.tag == "inner"
    assert model.encoder.layers == 2
    assert model.size == 128


def test_nested_path_leaves_siblings_as_configs() -> None:
    config = configure("model.encoder.layers=7")
    assert isinstance(config.model, Config)
    assert isinstance(config.model.encoder.block, Config)
    assert config.model.encoder.layers == 7


def test_list_index_set() -> None:
    assert configure("layers[1]=9").layers == [1, 9, 3]
    assert configure("layers.0=7").layers == [7, 2, 3]
    assert configure("layers[-1]=0").layers == [1, 2, 0]


def test_list_index_checks_the_element_type() -> None:
    with pytest.raises(ConfigTypeError, match=r"'layers\[0\]' expects int, got 'x'"):
        configure("layers[0]=x")


def test_list_of_configs_by_index() -> None:
    config = configure(
        "model.blocks=[{width: 1}, {width: 2}]",
        "model.blocks[1].width=7",
        "model.blocks.0.inner.tag=hi",
    )
    blocks = run(config)["model"].blocks
    assert [b.width for b in blocks] == [1, 7]
    assert [b.inner.tag for b in blocks] == ["hi", "inner"]
    assert all(isinstance(b, models.Block) for b in blocks)


def test_tuple_element_set_stays_a_tuple() -> None:
    config = configure("model.shape[1]=9", "model.shape.0=5")
    assert config.model.shape == (5, 9)
    assert type(config.model.shape) is tuple
    assert run(config)["model"].shape == (5, 9)


def test_tuple_element_is_checked_against_its_position() -> None:
    with pytest.raises(ConfigTypeError, match=r"'model.shape\[0\]' expects int"):
        configure("model.shape[0]=x")


def test_dict_key_set_and_new_keys() -> None:
    config = configure("model.weights.a=1", "model.weights.b=2.5", "model.weights.a=3")
    assert config.model.weights == {"a": 3.0, "b": 2.5}
    assert all(type(v) is float for v in config.model.weights.values())


def test_dict_key_with_dots_in_brackets() -> None:
    assert configure('model.weights["k.x"]=2').model.weights == {"k.x": 2.0}


def test_dict_int_keys() -> None:
    assert configure("model.names[3]=x", "model.names.4=y").model.names == {3: "x", 4: "y"}


def test_dict_index_addresses_an_existing_str_key() -> None:
    config = from_signature(models.train)
    apply_overrides(config, ['options={"0": a}', "options.0=b"])
    assert config.options == {"0": "b"}


def test_dict_with_str_keys_gets_a_str_key_from_an_index() -> None:
    assert configure("model.weights.3=1").model.weights == {"3": 1.0}


def test_unset_argument_can_be_set() -> None:
    config = apply_overrides(from_signature(models.add), ["x=4", "y=5"])
    assert build(config)() == 9


# -- operators -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("steps+=5", 15),
        ("steps-=3", 7),
        ("steps*=3", 30),
        ("steps/=2", 5),
        ("steps/=10", 1),
        ("flags|=1", 7),
        ("flags&=2", 2),
    ],
)
def test_operators_on_ints(override: str, expected: int) -> None:
    value = getattr(configure(override), parse_override(override).dotted)
    assert value == expected
    assert type(value) is int


def test_int_division_that_does_not_divide_evenly_is_a_type_error() -> None:
    with pytest.raises(ConfigTypeError, match=r"'steps' expects int, got 3\.33"):
        configure("steps/=3")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("lr+=0.25", 0.75),
        ("lr-=0.25", 0.25),
        ("lr*=2", 1.0),
        ("lr/=4", 0.125),
        ("lr+=1", 1.5),
    ],
)
def test_operators_on_floats(override: str, expected: float) -> None:
    value = configure(override).lr
    assert value == expected
    assert type(value) is float


def test_bitwise_operator_on_a_float_is_a_value_error() -> None:
    with pytest.raises(OverrideValueError, match="cannot apply '\\|='"):
        configure("lr|=1")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("name+=_v2", "run_v2"),
        ("name+=1", "run1"),
        ("name+=1.10", "run1.10"),
        ("name+=' x'", "run x"),
    ],
)
def test_operators_on_strs(override: str, expected: str) -> None:
    assert configure(override).name == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("layers+=4", [1, 2, 3, 4]),
        ("layers+=[4, 5]", [1, 2, 3, 4, 5]),
        ("layers+=[]", [1, 2, 3]),
        ("layers*=2", [1, 2, 3, 1, 2, 3]),
    ],
)
def test_operators_on_lists(override: str, expected: list[int]) -> None:
    assert configure(override).layers == expected


def test_appended_list_items_are_checked() -> None:
    with pytest.raises(ConfigTypeError, match="expects int, got 'x'"):
        configure("layers+=x")


def test_append_a_config_to_a_list_of_configs() -> None:
    config = configure("model.blocks+={width: 9}", "model.blocks+=[{width: 3}]")
    assert [b.width for b in run(config)["model"].blocks] == [9, 3]


def test_append_to_a_list_of_strs() -> None:
    assert configure("model.tags+=a", "model.tags+=[b, 1]").model.tags == ["a", "b", "1"]


def test_dict_merge_operator() -> None:
    config = configure("model.weights={a: 1}", "model.weights|={b: 2, a: 3}")
    assert config.model.weights == {"a": 3.0, "b": 2.0}


def test_dict_merge_checks_the_values() -> None:
    with pytest.raises(ConfigTypeError, match=r"'model\.weights\.b' expects float"):
        configure("model.weights|={b: x}")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("verbose|=true", True),
        ("verbose|=false", False),
        ("verbose&=true", False),
        ("model.enabled&=false", False),
        ("model.enabled&=true", True),
    ],
)
def test_operators_on_bools(override: str, expected: bool) -> None:
    config = configure(override)
    value = config.verbose if override.startswith("verbose") else config.model.enabled
    assert value is expected


def test_operators_apply_in_order() -> None:
    assert configure("steps+=1", "steps*=2", "steps-=2").steps == 20


# -- factories -----------------------------------------------------------------------------------


def test_factory_by_name_from_a_mapping() -> None:
    config = configure("model=tiny_model", factories=models.FACTORIES)
    assert isinstance(config.model, Config)
    model = run(config)["model"]
    assert (model.size, model.name) == (8, "tiny")


def test_factory_call_from_a_mapping() -> None:
    config = configure("model=tiny_model(hidden=3)", factories=models.FACTORIES)
    assert (config.model.size, config.model.name) == (3, "tiny")


def test_factory_result_stays_overridable() -> None:
    config = configure("model=tiny_model", "model.encoder.layers=5", factories=models.FACTORIES)
    model = run(config)["model"]
    assert (model.name, model.encoder.layers) == ("tiny", 5)


def test_factory_with_positional_arguments() -> None:
    config = configure("model=sized_model(4, 5)", factories=models.FACTORIES)
    model = run(config)["model"]
    assert (model.size, model.encoder.layers) == (4, 5)


def test_factory_positional_and_keyword() -> None:
    config = configure("model=sized_model(4, depth=6)", factories=models.FACTORIES)
    assert (config.model.size, config.model.encoder.layers) == (4, 6)


def test_factory_arguments_are_checked_against_its_signature() -> None:
    with pytest.raises(ConfigTypeError, match=r"'tiny_model\(\).hidden' expects int"):
        configure("model=tiny_model(hidden=x)", factories=models.FACTORIES)


def test_factory_lookup_callable() -> None:
    calls: list[tuple[str, Any, str]] = []

    def lookup(name: str, tp: Any, path: str) -> Any:
        calls.append((name, tp, path))
        return models.lookup(name, tp, path)

    config = configure("model=tiny_model(hidden=3)", factories=lookup)
    assert (config.model.size, config.model.name) == (3, "tiny")
    assert calls == [("tiny_model", models.Model, "model")]
    with pytest.raises(FactoryError):
        configure("backup=sized_model(2)", factories=lookup)
    assert calls[-1] == ("sized_model", models.Model | None, "backup")


def test_factory_lookup_declines_outside_its_path() -> None:
    with pytest.raises(FactoryError, match="'tiny_model' is not a factory for 'backup'"):
        configure("backup=tiny_model", factories=models.lookup)


def test_factory_lookup_by_name_without_call() -> None:
    config = configure("model=sized_model(7)", factories=models.lookup)
    assert config.model.size == 7


def test_dotted_import_of_a_class_gives_a_config_with_defaults() -> None:
    config = configure("model=models.Model(size=3)")
    assert isinstance(config.model, Config)
    assert config.model.__fn_or_cls__ is models.Model
    assert config.model.size == 3
    assert config.model.name == "model"
    assert isinstance(config.model.encoder, Config)
    assert run(config)["model"] == models.Model(size=3)


def test_dotted_import_of_a_function_configures_a_call() -> None:
    config = configure("model=models.make_model(size=3, depth=2)")
    assert config.model.__fn_or_cls__ is models.make_model
    model = run(config)["model"]
    assert model.size == 3
    assert [b.width for b in model.blocks] == [3, 3]


def test_dotted_import_of_a_plain_class() -> None:
    config = configure("trainer=models.Trainer(epochs=2)", "trainer.model.size=5")
    trainer = run(config)["trainer"]
    assert isinstance(trainer, models.Trainer)
    assert (trainer.epochs, trainer.model.size) == (2, 5)


def test_dotted_bare_word_imports_for_an_object_argument() -> None:
    assert configure("model=models.Model").model.__fn_or_cls__ is models.Model


def test_nested_factory_calls() -> None:
    config = configure(
        "trainer=models.Trainer(model=tiny_model(hidden=2), epochs=4)", factories=models.FACTORIES
    )
    trainer = run(config)["trainer"]
    assert (trainer.model.size, trainer.model.name, trainer.epochs) == (2, "tiny", 4)


def test_a_word_for_any_stays_text() -> None:
    assert configure("extra=models.tiny_model").extra == "models.tiny_model"
    assert configure("extra=hello").extra == "hello"


def test_an_explicit_call_for_any_configures_it() -> None:
    config = configure("extra=models.make_model(size=2)")
    assert isinstance(config.extra, Config)


def test_plain_data_for_any() -> None:
    assert configure("extra={a: 1, b: [x, 2.5]}").extra == {"a": 1, "b": ["x", 2.5]}
    assert configure("extra=[1, null, true]").extra == [1, None, True]


# -- None, mappings, files -----------------------------------------------------------------------


def test_none_for_optional() -> None:
    assert configure("seed=5", "seed=None").seed is None
    assert configure("seed=null").seed is None
    assert configure("seed=5").seed == 5


def test_none_for_an_optional_config() -> None:
    config = configure("backup={size: 3}", "backup=None")
    assert config.backup is None


def test_mapping_merges_into_the_existing_config() -> None:
    config = configure("model.name=kept", "model.encoder.layers=9", "model={size: 3}")
    model = run(config)["model"]
    assert (model.size, model.name, model.encoder.layers) == (3, "kept", 9)


def test_nested_mapping_merges_at_every_level() -> None:
    config = configure("model.encoder.block.width=11", "model={encoder: {layers: 4}}")
    assert (config.model.encoder.layers, config.model.encoder.block.width) == (4, 11)


def test_mapping_for_an_unset_optional_config_starts_from_defaults() -> None:
    config = configure("backup={size: 3}")
    assert run(config)["backup"] == models.Model(size=3)


def test_mapping_with_target_replaces_the_config() -> None:
    config = configure("model.name=dropped", "model={_target_: models.Model, size: 3}")
    assert run(config)["model"] == models.Model(size=3)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "model.yaml").write_text("_target_: models.Model\nsize: 7\nname: filed\n")
    (tmp_path / "part.yaml").write_text("size: 5\nencoder:\n  layers: 9\n")
    (tmp_path / "many.yaml").write_text(
        "models:\n"
        "  big:\n    _target_: models.Model\n    size: 1024\n"
        "  small:\n    size: 2\n"
        "  list:\n    - width: 1\n    - width: 2\n"
    )
    (tmp_path / "part.json").write_text(json.dumps({"size": 3, "tags": ["j"]}))
    (tmp_path / "part.toml").write_text('size = 4\ncolor = "blue"\n')
    return tmp_path


def test_file_with_target_replaces_the_config(files: Path) -> None:
    config = configure("model.name=dropped", f"model=@{files / 'model.yaml'}")
    assert run(config)["model"] == models.Model(size=7, name="filed")


def test_file_without_target_merges_onto_the_config(files: Path) -> None:
    config = configure("model.name=kept", f"model=@{files / 'part.yaml'}")
    model = run(config)["model"]
    assert (model.size, model.name, model.encoder.layers) == (5, "kept", 9)


def test_file_paths_are_relative_to_base_dir(files: Path) -> None:
    assert configure("model=@part.yaml", base_dir=files).model.size == 5
    assert configure("model=@part.yaml", base_dir=str(files)).model.size == 5


def test_file_sub_key_with_target(files: Path) -> None:
    config = configure("model=@many.yaml:models.big", base_dir=files)
    assert run(config)["model"] == models.Model(size=1024)


def test_file_sub_key_without_target_merges(files: Path) -> None:
    config = configure("model.name=kept", "model=@many.yaml:models.small", base_dir=files)
    assert (config.model.size, config.model.name) == (2, "kept")


def test_file_sub_key_into_a_list(files: Path) -> None:
    config = configure("model.blocks=@many.yaml:models.list", base_dir=files)
    assert [b.width for b in run(config)["model"].blocks] == [1, 2]


def test_file_for_a_nested_argument(files: Path) -> None:
    config = configure(
        "model.encoder.block.width=3", "model.encoder=@part.yaml:encoder", base_dir=files
    )
    assert (config.model.encoder.layers, config.model.encoder.block.width) == (9, 3)


def test_json_and_toml_files(files: Path) -> None:
    config = configure("model=@part.json", "backup=@part.toml", base_dir=files)
    assert (config.model.size, config.model.tags) == (3, ["j"])
    assert (config.backup.size, config.backup.color) == (4, models.Color.BLUE)


def test_file_values_are_type_checked(files: Path) -> None:
    (files / "bad.yaml").write_text("size: big\n")
    with pytest.raises(ConfigFileError, match=r"bad\.yaml, line 1: 'model\.size' expects int"):
        configure("model=@bad.yaml", base_dir=files)


# -- text, choices and types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("version=1.10", "1.10"),
        ("version=2", "2"),
        ("version=1e-3", "1e-3"),
        ("version=1_000", "1_000"),
        ("name=123", "123"),
        ("name=true", "true"),
        ('name="None"', "None"),
        ("name='a, b'", "a, b"),
        ("name=hello world", "hello world"),
        ("name=", ""),
        ("name=/data/x", "/data/x"),
    ],
)
def test_str_fields_keep_the_text_typed(override: str, expected: str) -> None:
    assert getattr(configure(override), parse_override(override).dotted) == expected


@pytest.mark.parametrize(
    ("override", "expected"),
    [("size=2", 2), ("size=4", 4), ("size='4'", 4)],
)
def test_int_literal(override: str, expected: int) -> None:
    value = configure(override).size
    assert value == expected
    assert type(value) is int


def test_str_literal() -> None:
    assert configure("model.activation=gelu").model.activation == "gelu"
    assert configure("model.activation='silu'").model.activation == "silu"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("color=green", models.Color.GREEN),
        ("color=GREEN", models.Color.GREEN),
        ("color=Green", models.Color.GREEN),
        ("color='blue'", models.Color.BLUE),
        ("level=2", models.Level.HIGH),
        ("level=HIGH", models.Level.HIGH),
        ("level=high", models.Level.HIGH),
        ("level=1", models.Level.LOW),
    ],
)
def test_enum_by_name_value_or_any_case(override: str, expected: Any) -> None:
    config = configure(override)
    assert getattr(config, parse_override(override).dotted) is expected


def test_nested_enum() -> None:
    config = configure("model.encoder.block.inner.color=blue")
    assert run(config)["model"].encoder.block.inner.color is models.Color.BLUE


def test_path() -> None:
    assert configure("out_dir=/data/x").out_dir == Path("/data/x")
    assert configure("out_dir=runs/1").out_dir == Path("runs/1")
    assert configure("out_dir='with space'").out_dir == Path("with space")
    assert isinstance(configure("model.data_dir=/d").model.data_dir, Path)


def test_list_of_ints() -> None:
    config = configure("layers=[4, 5]")
    assert config.layers == [4, 5]
    assert configure("layers=[]").layers == []


def test_dict_of_str_to_float() -> None:
    weights = configure("model.weights={a: 1, b: 2.5, 3: 1e-3}").model.weights
    assert weights == {"a": 1.0, "b": 2.5, "3": 1e-3}
    assert all(type(v) is float for v in weights.values())
    assert all(type(k) is str for k in weights)


def test_tuple_of_two_ints() -> None:
    shape = configure("model.shape=[4, 5]").model.shape
    assert shape == (4, 5)
    assert type(shape) is tuple


def test_variadic_tuple_and_set() -> None:
    config = configure("model.dims=[1, 2, 3]", "model.labels=[1, 2, 2]")
    assert config.model.dims == (1, 2, 3)
    assert config.model.labels == {1, 2}


@pytest.mark.parametrize(
    ("override", "expected"),
    [("key=5", 5), ("key=abc", "abc"), ("key='5'", "5"), ("key=007", "007"), ("key=-1", -1)],
)
def test_union_of_int_and_str(override: str, expected: int | str) -> None:
    value = configure(override).key
    assert value == expected
    assert type(value) is type(expected)


def test_sequence_of_ints() -> None:
    config = apply_override(from_signature(sequence_task), "xs=[1, '2']")
    assert build(config)() == [1, 2]


def test_a_word_for_a_generic_abc_is_a_type_error_not_a_factory_error() -> None:
    with pytest.raises(ConfigTypeError, match="'xs' expects Sequence\\[int\\], got 'abc'"):
        apply_override(from_signature(sequence_task), "xs=abc")


def test_bools() -> None:
    assert configure("verbose=true").verbose is True
    assert configure("verbose=True", "verbose=false").verbose is False
    assert configure("verbose=yes").verbose is True
    assert configure("verbose=0").verbose is False


def test_ints_from_integral_floats() -> None:
    assert configure("steps=2.0").steps == 2
    assert configure("steps=1_000").steps == 1000


def test_floats_from_ints() -> None:
    value = configure("lr=3").lr
    assert value == 3.0
    assert type(value) is float


# -- order and build -----------------------------------------------------------------------------


def test_later_overrides_win() -> None:
    assert configure("steps=1", "steps=2").steps == 2


def test_factory_then_field() -> None:
    assert configure("model=tiny_model", "model.size=5", factories=models.FACTORIES).model.size == 5


def test_field_then_factory() -> None:
    assert configure("model.size=5", "model=tiny_model", factories=models.FACTORIES).model.size == 8


def test_build_gives_the_objects() -> None:
    config = configure(
        "model.size=256",
        "model.encoder.block.inner.tag=deep",
        "steps=4",
        "color=blue",
        "out_dir=/tmp/x",
        "seed=1",
        "backup=tiny_model(hidden=2)",
        factories=models.FACTORIES,
    )
    result = run(config)
    assert result["model"] == models.Model(
        size=256,
        encoder=models.Encoder(block=models.Block(inner=models.Inner(tag="deep"))),
    )
    assert result["backup"] == models.tiny_model(hidden=2)
    assert (result["steps"], result["color"], result["out_dir"], result["seed"]) == (
        4,
        models.Color.BLUE,
        Path("/tmp/x"),
        1,
    )
    assert result["layers"] == [1, 2, 3]


def test_overrides_never_change_the_signature_defaults() -> None:
    configure("layers+=4", "layers[0]=9")
    assert from_signature(models.experiment).layers == [1, 2, 3]


def test_apply_overrides_refuses_a_plain_object() -> None:
    with pytest.raises(ConfigTypeError, match="overrides apply to a Config or Partial, got dict"):
        apply_overrides({"a": 1}, ["a=2"])


# -- autoconvert ---------------------------------------------------------------------------------


def test_autoconvert_returns_a_config() -> None:
    config = models.small_model(size=3)
    assert type(config) is Config
    assert config.__fn_or_cls__ is models.Model
    assert (config.size, config.name) == (3, "small")


def test_autoconvert_nested_calls_become_nested_configs() -> None:
    config = models.small_model()
    assert isinstance(config.encoder, Config)
    assert config.encoder.__fn_or_cls__ is models.Encoder
    config.encoder.layers = 6
    assert build(config) == models.Model(size=32, name="small", encoder=models.Encoder(layers=6))


def test_autoconvert_partial_gives_a_partial() -> None:
    config = models.auto_optimizer(lr=0.5)
    assert type(config) is Partial
    made = build(config)
    assert isinstance(made, functools.partial)
    assert made() == models.Optimizer(lr=0.5)


def test_autoconvert_with_control_flow_converts_the_returned_dataclass() -> None:
    big = models.branchy_model(big=True)
    small = models.branchy_model()
    assert isinstance(big, Config) and isinstance(small, Config)
    assert big.size == 1024
    assert isinstance(small.encoder, Config)
    assert small.encoder.layers == 5
    assert build(small) == models.Model(size=8, encoder=models.Encoder(layers=5))


def test_autoconvert_factory_by_dotted_path_in_an_override() -> None:
    config = configure("model=models.small_model(size=3)", "model.encoder.layers=4")
    assert isinstance(config.model.encoder, Config)
    assert run(config)["model"] == models.Model(
        size=3, name="small", encoder=models.Encoder(layers=4)
    )


def test_autoconvert_factory_from_a_mapping() -> None:
    config = configure("model=small(size=5)", factories={"small": models.small_model})
    assert (config.model.size, config.model.name) == (5, "small")


def test_autoconvert_partial_factory_in_an_override() -> None:
    config = configure("extra=models.auto_optimizer(lr=0.5)")
    assert type(config.extra) is Partial
    assert run(config)["extra"]() == models.Optimizer(lr=0.5)


def test_autoconvert_control_flow_factory_in_an_override() -> None:
    config = configure("model=models.branchy_model(big=true)", "model.name=b")
    assert run(config)["model"] == models.Model(size=1024, name="b")


def test_from_signature_result_is_a_fiddle_buildable() -> None:
    config = configure("steps=2")
    assert isinstance(config, fdl.Partial)
    assert fdl.build(config)()["steps"] == 2


def test_named_function_for_a_callable_argument_is_passed_not_called() -> None:
    task = apply_overrides(from_signature(models.train), ["schedule=models.cosine(warmup=5)"])
    assert isinstance(task.schedule, Partial)
    schedule = build(task)()["schedule"]
    assert schedule(2) == models.cosine(2, warmup=5)
    bare = apply_overrides(from_signature(models.train), ["schedule=models.cosine"])
    assert build(bare)()["schedule"](2000) == models.cosine(2000)


def test_file_reference_key_may_hold_dashes(tmp_path: Path) -> None:
    (tmp_path / "presets.yaml").write_text("my-model:\n  size: 7\n")
    task = apply_override(
        from_signature(models.train), "model=@presets.yaml:my-model", base_dir=tmp_path
    )
    assert task.model.size == 7


def test_failing_factory_reports_the_first_line_of_its_error() -> None:
    def multiline() -> models.Model:
        raise ValueError("first line\nsecond line")

    with pytest.raises(FactoryError) as info:
        apply_override(from_signature(models.train), "model=multi", factories={"multi": multiline})
    assert "ValueError: first line" in str(info.value)
    assert "\n" not in str(info.value)
