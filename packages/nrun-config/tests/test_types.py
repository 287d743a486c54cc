from __future__ import annotations

import collections.abc as cabc
import inspect
import pathlib
import typing
from typing import Annotated, Any, Literal, Optional, TypeVar, Union

import pytest

import models
from nrun.config import Config, ConfigError, ConfigTypeError, Partial, coerce, type_name

T = TypeVar("T")


def same(a: object, b: object) -> bool:
    return a == b and type(a) is type(b)


# -- values that fit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp", "expected"),
    [
        # no constraint
        (5, Any, 5),
        ("x", object, "x"),
        ([1], T, [1]),
        (5, "Undefined", 5),
        (5, typing.ForwardRef("Undefined"), 5),
        (5, inspect.Parameter.empty, 5),
        # None
        (None, type(None), None),
        (None, None, None),
        (None, Optional[int], None),  # noqa: UP045
        (None, int | None, None),
        # bool
        (True, bool, True),
        (1, bool, True),
        (0, bool, False),
        ("yes", bool, True),
        ("On", bool, True),
        ("false", bool, False),
        ("0", bool, False),
        # int
        (3, int, 3),
        (2.0, int, 2),
        ("3", int, 3),
        ("1_000", int, 1000),
        # float
        (1.5, float, 1.5),
        (3, float, 3.0),
        ("1e-3", float, 1e-3),
        # str
        ("s", str, "s"),
        (3, str, "3"),
        (1.5, str, "1.5"),
        (pathlib.Path("a/b"), str, "a/b"),
        # paths
        ("a/b", pathlib.Path, pathlib.Path("a/b")),
        (pathlib.PurePosixPath("a"), pathlib.Path, pathlib.Path("a")),
        ("a", pathlib.PurePosixPath, pathlib.PurePosixPath("a")),
        # Annotated
        ("3", Annotated[int, "meta"], 3),
        # unions
        (3, Union[int, str], 3),  # noqa: UP007
        ("abc", int | str, "abc"),
        ("5", int | str, "5"),
        ("5", int | None, 5),
        (5.0, int | float, 5.0),
        (True, int | bool, True),
        (2, float | None, 2.0),
        # literals
        ("relu", Literal["relu", "gelu"], "relu"),
        (2, Literal[1, 2], 2),
        ("2", Literal[1, 2], 2),
        (True, Literal[True, "auto"], True),
        ("auto", Literal[True, "auto"], "auto"),
        # enums
        (models.Color.RED, models.Color, models.Color.RED),
        ("green", models.Color, models.Color.GREEN),
        ("GREEN", models.Color, models.Color.GREEN),
        ("Blue", models.Color, models.Color.BLUE),
        (2, models.Level, models.Level.HIGH),
        ("low", models.Level, models.Level.LOW),
        # sequences
        ([1, "2"], list[int], [1, 2]),
        ((1, 2), list[int], [1, 2]),
        ([1, 1, 2], set[int], {1, 2}),
        ([1], frozenset[int], frozenset({1})),
        ([1, "2"], cabc.Sequence[int], [1, 2]),
        ((1, "2"), cabc.Sequence[int], (1, 2)),
        ([1], cabc.MutableSequence[int], [1]),
        ([1], cabc.Iterable[int], [1]),
        ([1], cabc.Collection[int], [1]),
        ([1, 1], cabc.Set[int], {1}),
        ([1], cabc.MutableSet[int], {1}),
        ([1, "2"], tuple[int, int], (1, 2)),
        ([1, "x"], tuple[int, str], (1, "x")),
        ([1, 2, 3], tuple[int, ...], (1, 2, 3)),
        ([], tuple[int, ...], ()),
        ([], tuple[()], ()),
        ([1], list, [1]),
        ([1], tuple, (1,)),
        ((1,), set, {1}),
        ([[1, "2"]], list[list[int]], [[1, 2]]),
        # mappings
        ({"a": "1"}, dict[str, float], {"a": 1.0}),
        ({1: 2}, dict[str, int], {"1": 2}),
        ({"1": "x"}, dict[int, str], {1: "x"}),
        ({"a": 1}, cabc.Mapping[str, int], {"a": 1}),
        ({"a": 1}, cabc.MutableMapping[str, int], {"a": 1}),
        ({"a": 1}, dict, {"a": 1}),
        ({"a": [1, "2"]}, dict[str, list[int]], {"a": [1, 2]}),
        # types and callables
        (int, type[int], int),
        (len, cabc.Callable, len),
        (len, cabc.Callable[..., int], len),
        (models.cosine, typing.Callable[[int], float], models.cosine),
        # classes
        (models.Model(), models.Model, models.Model()),
    ],
)
def test_coerce_fits(value: object, tp: Any, expected: object) -> None:
    result = coerce(value, tp, "p")
    assert same(result, expected)


def test_coerce_keeps_an_exact_value_identical() -> None:
    items = [1, 2]
    assert coerce(items, Any) is items
    model = models.Model()
    assert coerce(model, models.Model) is model


def test_coerce_sequence_to_tuple_for_sequence_of_tuple() -> None:
    assert coerce((1, 2), cabc.Sequence[int]) == (1, 2)


def test_coerce_config_that_builds_the_annotated_class() -> None:
    config = Config(models.Model, size=3)
    assert coerce(config, models.Model, "p") is config


def test_coerce_config_of_a_factory_returning_the_annotated_class() -> None:
    config = Config(models.tiny_model)
    assert coerce(config, models.Model, "p") is config
    assert coerce(config, Optional[models.Model], "p") is config  # noqa: UP045


def test_coerce_partial_for_a_callable() -> None:
    partial = Partial(models.cosine, warmup=3)
    assert coerce(partial, cabc.Callable[..., float], "p") is partial


def test_coerce_config_for_any() -> None:
    config = Config(models.Optimizer)
    assert coerce(config, Any) is config


def test_coerce_mapping_to_a_class_through_from_mapping() -> None:
    calls: list[tuple[Any, Any, str]] = []

    def from_mapping(cls: Any, data: Any, path: str) -> str:
        calls.append((cls, data, path))
        return "made"

    assert coerce({"size": 3}, models.Model, "m", from_mapping=from_mapping) == "made"
    assert calls == [(models.Model, {"size": 3}, "m")]


def test_coerce_mapping_inside_a_list_uses_from_mapping() -> None:
    result = coerce(
        [{"width": 1}], list[models.Block], "b", from_mapping=lambda cls, data, path: (cls, path)
    )
    assert result == [(models.Block, "b[0]")]


# -- values that do not fit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tp", "message"),
    [
        (None, int, "'p' expects int, got None (NoneType)"),
        (1, type(None), "'p' expects None, got 1 (int)"),
        (1, None, "'p' expects None, got 1 (int)"),
        (2, bool, "'p' expects bool, got 2 (int)"),
        ("maybe", bool, "'p' expects bool, got 'maybe' (str)"),
        (1.5, bool, "'p' expects bool, got 1.5 (float)"),
        (True, int, "'p' expects int, got True (bool)"),
        (2.5, int, "'p' expects int, got 2.5 (float)"),
        ("x", int, "'p' expects int, got 'x' (str)"),
        ("", int, "'p' expects int, got '' (str)"),
        ([1], int, "'p' expects int, got [1] (list)"),
        (True, float, "'p' expects float, got True (bool)"),
        ("x", float, "'p' expects float, got 'x' (str)"),
        (True, str, "'p' expects str, got True (bool)"),
        ([1], str, "'p' expects str, got [1] (list)"),
        ({"a": 1}, str, "'p' expects str, got {'a': 1} (dict)"),
        (3, pathlib.Path, "'p' expects Path, got 3 (int)"),
        ("x", Annotated[int, "meta"], "'p' expects int, got 'x' (str)"),
        ([1], int | str, "'p' expects int | str, got [1] (list)"),
        ("x", Optional[int], "'p' expects int | None, got 'x' (str)"),  # noqa: UP045
        ("tanh", Literal["relu", "gelu"], "'p' expects one of 'relu', 'gelu', got 'tanh' (str)"),
        (3, Literal[1, 2], "'p' expects one of 1, 2, got 3 (int)"),
        (True, Literal[1, 2], "'p' expects one of 1, 2, got True (bool)"),
        ("purple", models.Color, "'p' expects Color (one of RED, GREEN, BLUE), got 'purple' (str)"),
        (7, models.Level, "'p' expects Level (one of LOW, HIGH), got 7 (int)"),
        ("ab", list[str], "'p' expects list[str], got 'ab' (str)"),
        (5, list, "'p' expects list, got 5 (int)"),
        ([1, "x"], list[int], "'p[1]' expects int, got 'x' (str)"),
        ([1, "x"], set[int], "'p[1]' expects int, got 'x' (str)"),
        (5, tuple[int, int], "'p' expects tuple[int, int], got 5 (int)"),
        ([1], tuple[int, int], "'p' expects tuple[int, int] (2 items), got 1 items"),
        ([1, 2, 3], tuple[int, int], "'p' expects tuple[int, int] (2 items), got 3 items"),
        ([1, "x"], tuple[int, ...], "'p[1]' expects int, got 'x' (str)"),
        ([1], dict[str, int], "'p' expects dict[str, int], got [1] (list)"),
        ({"a": "x"}, dict[str, int], "'p.a' expects int, got 'x' (str)"),
        ({"x": 1}, dict[int, int], "'p.<key>' expects int, got 'x' (str)"),
        (3, cabc.Callable[..., int], "'p' expects Callable[..., int], got 3 (int)"),
        (3, models.Model, "'p' expects models.Model, got 3 (int)"),
        ({"size": 3}, models.Model, "'p' expects models.Model, got {'size': 3} (dict)"),
        (
            Config(models.Optimizer),
            models.Model,
            "'p' expects models.Model, got a config of Optimizer",
        ),
        (Config(models.Optimizer), int, "'p' expects int, got a config of Optimizer"),
        (models.Optimizer(), models.Model, "'p' expects models.Model, got Optimizer("),
    ],
)
def test_coerce_errors_name_path_expected_and_got(value: object, tp: Any, message: str) -> None:
    with pytest.raises(ConfigTypeError) as info:
        coerce(value, tp, "p")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_coerce_error_is_a_config_error_and_a_type_error() -> None:
    with pytest.raises(ConfigTypeError) as info:
        coerce("x", int, "a.b")
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, TypeError)
    assert info.value.path == "a.b"
    assert info.value.override is None


def test_coerce_error_without_a_path() -> None:
    with pytest.raises(ConfigTypeError) as info:
        coerce("x", int)
    assert str(info.value) == "value expects int, got 'x' (str)"
    assert info.value.path is None


def test_coerce_error_shortens_long_values() -> None:
    with pytest.raises(ConfigTypeError) as info:
        coerce("x" * 200, int, "p")
    assert "..." in str(info.value)
    assert len(str(info.value)) < 120


def test_coerce_error_nested_path_in_list_of_dicts() -> None:
    with pytest.raises(ConfigTypeError, match=r"'p\[1\]\.b' expects int, got 'x'"):
        coerce([{"a": 1}, {"b": "x"}], list[dict[str, int]], "p")


# -- type names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "name"),
    [
        (Any, "any value"),
        (object, "any value"),
        (T, "any value"),
        (None, "None"),
        (type(None), "None"),
        (int, "int"),
        (str, "str"),
        (bool, "bool"),
        (float, "float"),
        (pathlib.Path, "Path"),
        (pathlib.PurePosixPath, "PurePosixPath"),
        (list, "list"),
        (list[int], "list[int]"),
        (set[str], "set[str]"),
        (frozenset[int], "frozenset[int]"),
        (dict[str, float], "dict[str, float]"),
        (dict[str, list[int]], "dict[str, list[int]]"),
        (tuple[int, int], "tuple[int, int]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (Optional[int], "int | None"),  # noqa: UP045
        (int | None, "int | None"),
        (Union[int, str], "int | str"),  # noqa: UP007
        (Union[int, None, str], "int | None | str"),  # noqa: UP007
        (Annotated[int, "meta"], "int"),
        (Literal["a", "b"], "one of 'a', 'b'"),
        (Literal[1, 2], "one of 1, 2"),
        (models.Color, "Color (one of RED, GREEN, BLUE)"),
        (models.Model, "models.Model"),
        (models.Model | None, "models.Model | None"),
        (models.Trainer, "models.Trainer"),
        (type[int], "type[int]"),
        (cabc.Sequence[int], "Sequence[int]"),
        (cabc.Callable[..., int], "Callable[..., int]"),
        (cabc.Callable[[int, str], float], "Callable[[int, str], float]"),
        (typing.Callable[[], None], "Callable[[], None]"),
    ],
)
def test_type_name(tp: Any, name: str) -> None:
    assert type_name(tp) == name


def test_enum_with_int_values_accepts_the_value_as_text() -> None:
    assert coerce("2", models.Level, "level") is models.Level.HIGH
