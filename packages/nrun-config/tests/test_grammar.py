from __future__ import annotations

import pytest

from nrun.config import (
    Call,
    DictNode,
    FileRef,
    ListNode,
    Override,
    OverrideSyntaxError,
    Scalar,
    Sweep,
    Word,
    expand_sweeps,
    has_sweeps,
    parse_override,
    parse_overrides,
)
from nrun.config._grammar import OPERATORS, format_path, parse_value, unparse


def value_of(text: str) -> object:
    return parse_override(text).value


def s(value: object, raw: str | None = None, quoted: bool = False) -> Scalar:
    return Scalar(value, raw if raw is not None else str(value), quoted)


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("a=1", ("a",)),
        ("a.b=1", ("a", "b")),
        ("a.b.c.d.e=1", ("a", "b", "c", "d", "e")),
        ("_private.x_1=1", ("_private", "x_1")),
        ("a.0.b=1", ("a", 0, "b")),
        ("a.b.0.12=1", ("a", "b", 0, 12)),
        ("a[0]=1", ("a", 0)),
        ("a[0][1]=1", ("a", 0, 1)),
        ("a[-1]=1", ("a", -1)),
        ("a[ 2 ]=1", ("a", 2)),
        ("a[key]=1", ("a", "key")),
        ('a["k.x"]=1', ("a", "k.x")),
        ("a['k x']=1", ("a", "k x")),
        ('a["q\\"uote"]=1', ("a", 'q"uote')),
        ("a.b[0].c=1", ("a", "b", 0, "c")),
        ('a[0]["k"].z=1', ("a", 0, "k", "z")),
    ],
)
def test_paths(text: str, path: tuple[object, ...]) -> None:
    assert parse_override(text).path == path


@pytest.mark.parametrize(
    ("path", "dotted"),
    [
        (("a",), "a"),
        (("a", "b", 0, "c"), "a.b[0].c"),
        (("a", "k.x"), "a['k.x']"),
        (("a", -1), "a[-1]"),
    ],
)
def test_format_path(path: tuple[str | int, ...], dotted: str) -> None:
    assert format_path(path) == dotted


def test_dotted_property_round_trips_through_the_parser() -> None:
    parsed = parse_override('model.layers.0["k.x"]=1')
    assert parsed.dotted == "model.layers[0]['k.x']"
    assert parse_override(f"{parsed.dotted}=1").path == parsed.path


def test_whitespace_around_path_operator_and_value_is_ignored() -> None:
    parsed = parse_override("  a.b  +=  3  ")
    assert (parsed.path, parsed.op, parsed.value) == (("a", "b"), "+=", s(3))
    assert parsed.text == "  a.b  +=  3  "


# -- operators -----------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "+=", "-=", "*=", "/=", "|=", "&="])
def test_every_operator(op: str) -> None:
    parsed = parse_override(f"a.b{op}2")
    assert parsed == Override(("a", "b"), op, s(2), f"a.b{op}2")


def test_operator_list_is_complete() -> None:
    assert set(OPERATORS) == {"=", "+=", "-=", "*=", "/=", "|=", "&="}


# -- scalars -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("None", None),
        ("null", None),
        ("True", True),
        ("true", True),
        ("False", False),
        ("false", False),
    ],
)
def test_keywords(text: str, value: object) -> None:
    node = value_of(f"a={text}")
    assert node == Scalar(value, text)
    assert type(node.value) is type(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("3", 3),
        ("-3", -3),
        ("+4", 4),
        ("1_000", 1000),
        ("-1_000_000", -1_000_000),
    ],
)
def test_ints(text: str, value: int) -> None:
    node = value_of(f"a={text}")
    assert node == Scalar(value, text)
    assert type(node.value) is int


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.5", 1.5),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1.", 1.0),
        ("1e-3", 1e-3),
        ("1e5", 1e5),
        ("-2.5E+3", -2500.0),
        ("1_0.5", 10.5),
        ("0.0", 0.0),
    ],
)
def test_floats(text: str, value: float) -> None:
    node = value_of(f"a={text}")
    assert node == Scalar(value, text)
    assert type(node.value) is float


def test_numbers_keep_the_text_typed() -> None:
    assert value_of("a=1.10").raw == "1.10"
    assert value_of("a=1_000").raw == "1_000"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"hello"', "hello"),
        ("'hello'", "hello"),
        ('"text with spaces"', "text with spaces"),
        ('"a, b, c"', "a, b, c"),
        ('"[not a list]"', "[not a list]"),
        ('"f(x=1)"', "f(x=1)"),
        ('"@not_a_file.yaml"', "@not_a_file.yaml"),
        ('"line\\nbreak\\ttab"', "line\nbreak\ttab"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'it\\'s'", "it's"),
        ('"back\\\\slash"', "back\\slash"),
        ('"unknown \\q escape"', "unknown \\q escape"),
        ('"123"', "123"),
        ('"None"', "None"),
        ('""', ""),
        ("''", ""),
    ],
)
def test_quoted_strings(text: str, value: str) -> None:
    assert value_of(f"a={text}") == Scalar(value, text, quoted=True)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "/data/x",
        "./relative/path.txt",
        "~/home",
        "https://example.com/a?b=c&d=e",
        "s3://bucket/key",
        "007",
        "inf",
        "nan",
        "1.2.3",
        "text with spaces",
        "-",
        "gpt-4o",
        "C:\\data",
    ],
)
def test_bare_words(text: str) -> None:
    assert value_of(f"a={text}") == Word(text)


def test_empty_value_is_an_empty_word() -> None:
    assert value_of("a=") == Word("")
    assert value_of("a=   ") == Word("")


# -- lists and dicts -----------------------------------------------------------------------------


def test_list() -> None:
    assert value_of("a=[1, x, 'y', 2.5]") == ListNode(
        (s(1), Word("x"), s("y", "'y'", True), s(2.5))
    )


def test_empty_list() -> None:
    assert value_of("a=[]") == ListNode(())
    assert value_of("a=[ ]") == ListNode(())


def test_nested_lists() -> None:
    assert value_of("a=[[1,2],[],[[3]]]") == ListNode(
        (ListNode((s(1), s(2))), ListNode(()), ListNode((ListNode((s(3),)),)))
    )


def test_list_allows_a_trailing_comma() -> None:
    assert value_of("a=[1, 2,]") == ListNode((s(1), s(2)))


def test_dict() -> None:
    assert value_of("a={k: v, n: 1}") == DictNode(((Word("k"), Word("v")), (Word("n"), s(1))))


def test_empty_dict() -> None:
    assert value_of("a={}") == DictNode(())


def test_nested_dicts_and_lists() -> None:
    innermost = DictNode(((Word("z"), s(None, "null")),))
    inner = DictNode(((Word("y"), ListNode((s(1), innermost))),))
    assert value_of("a={x: {y: [1, {z: null}]}}") == DictNode(((Word("x"), inner),))


def test_dict_quoted_and_numeric_keys() -> None:
    assert value_of("a={\"k.x\": 1, 'a b': 2, 3: c, 1.5: d}") == DictNode(
        (
            (Scalar("k.x", '"k.x"', True), s(1)),
            (Scalar("a b", "'a b'", True), s(2)),
            (s(3), Word("c")),
            (s(1.5), Word("d")),
        )
    )


def test_dict_values_may_hold_urls_with_colons() -> None:
    assert value_of("a={url: http://h:80/p}") == DictNode(((Word("url"), Word("http://h:80/p")),))


# -- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("@file.yaml", FileRef("file.yaml")),
        ("@conf/model.toml", FileRef("conf/model.toml")),
        ("@/abs/path/model.json", FileRef("/abs/path/model.json")),
        ("@file.yaml:sub", FileRef("file.yaml", "sub")),
        ("@file.yaml:sub.key", FileRef("file.yaml", "sub.key")),
        ("@file.yaml:models.0.big", FileRef("file.yaml", "models.0.big")),
    ],
)
def test_file_references(text: str, ref: FileRef) -> None:
    assert value_of(f"a={text}") == ref


def test_file_reference_inside_a_list() -> None:
    assert value_of("a=[@x.yaml, @y.yaml:k]") == ListNode(
        (FileRef("x.yaml"), FileRef("y.yaml", "k"))
    )


# -- factories -----------------------------------------------------------------------------------


def test_factory_name_is_a_word() -> None:
    assert value_of("model=my_model") == Word("my_model")


def test_call_without_arguments() -> None:
    assert value_of("model=my_model()") == Call("my_model")


def test_call_with_keyword_arguments() -> None:
    assert value_of("model=my_model(hidden=3, act='gelu')") == Call(
        "my_model", (), (("hidden", s(3)), ("act", Scalar("gelu", "'gelu'", True)))
    )


def test_call_with_positional_and_keyword_arguments() -> None:
    assert value_of("model=sized(4, x, depth=[1, 2])") == Call(
        "sized", (s(4), Word("x")), (("depth", ListNode((s(1), s(2)))),)
    )


def test_call_with_a_dotted_name() -> None:
    assert value_of("model=pkg.mod.Model(size=3)") == Call("pkg.mod.Model", (), (("size", s(3)),))


def test_call_keyword_may_have_spaces_around_equals() -> None:
    assert value_of("model=f(x = 1)") == Call("f", (), (("x", s(1)),))


def test_nested_calls() -> None:
    assert value_of("a=outer(inner(1), opt=adam(lr=1e-3), d={k: f()})") == Call(
        "outer",
        (Call("inner", (s(1),)),),
        (
            ("opt", Call("adam", (), (("lr", s(1e-3, "1e-3")),))),
            ("d", DictNode(((Word("k"), Call("f")),))),
        ),
    )


def test_commas_inside_calls_lists_and_dicts_are_no_sweep() -> None:
    assert not isinstance(value_of("a=f(1, 2)"), Sweep)
    assert not isinstance(value_of("a=[1, 2]"), Sweep)
    assert not isinstance(value_of("a={x: 1, y: 2}"), Sweep)


# -- sweeps --------------------------------------------------------------------------------------


def test_sweep_of_scalars() -> None:
    assert value_of("a=1,2,3") == Sweep((s(1), s(2), s(3)))


def test_sweep_with_spaces_and_mixed_values() -> None:
    assert value_of("a=1e-3, x, 'y, z', null") == Sweep(
        (s(1e-3, "1e-3"), Word("x"), Scalar("y, z", "'y, z'", True), s(None, "null"))
    )


def test_sweep_of_lists() -> None:
    assert value_of("a=[1,2],[3]") == Sweep((ListNode((s(1), s(2))), ListNode((s(3),))))


def test_sweep_of_calls_and_files() -> None:
    assert value_of("a=f(1),g(x=2),@c.yaml") == Sweep(
        (Call("f", (s(1),)), Call("g", (), (("x", s(2)),)), FileRef("c.yaml"))
    )


# -- round trips ---------------------------------------------------------------------------------

ROUND_TRIP = [
    "None",
    "true",
    "-3",
    "1_000",
    "-2.5E+3",
    ".5",
    '"x, y\\n\\"q\\""',
    "'it\\'s'",
    "/data/x",
    "https://x.org/a?b=c",
    "",
    "[]",
    "[[1, 2], [], x]",
    "{}",
    '{"k.x": 1, 2: b, c: {d: [e]}}',
    "@file.yaml",
    "@file.yaml:sub.key",
    "factory",
    "factory()",
    "pkg.factory(1, [2], x=y, z={k: v})",
    "f(g(1), h=k(x=2))",
    "1,2,3",
    "[1, 2],[3]",
    "a,'b, c',f(x=1)",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_unparse_round_trips(text: str) -> None:
    node = parse_value(text)
    assert parse_value(unparse(node)) == node


def test_unparse_keeps_the_raw_text_of_scalars() -> None:
    assert unparse(parse_value("1.10")) == "1.10"
    assert unparse(parse_value("'a b'")) == "'a b'"


def test_parse_overrides_keeps_order() -> None:
    parsed = parse_overrides(["b=2", "a=1", "b+=3"])
    assert [(o.dotted, o.op, o.value) for o in parsed] == [
        ("b", "=", s(2)),
        ("a", "=", s(1)),
        ("b", "+=", s(3)),
    ]


def test_override_keeps_the_text_as_typed() -> None:
    assert parse_override("a.b = [1,2]").text == "a.b = [1,2]"


def test_with_value_writes_new_text() -> None:
    parsed = parse_override("model.layers[0]=1,2")
    assert parsed.with_value(s(2)).text == "model.layers[0]=2"
    assert parsed.with_value(s(2)).path == parsed.path


def test_sweep_with_an_operator_other_than_assign_is_a_syntax_error() -> None:
    with pytest.raises(OverrideSyntaxError, match="only be assigned with '='"):
        parse_override("a+=1,2")


# -- sweep expansion -----------------------------------------------------------------------------


def texts(points: list[list[Override]]) -> list[list[str]]:
    return [[o.text for o in point] for point in points]


def test_expand_sweeps_is_a_cartesian_product_last_varying_fastest() -> None:
    points = list(expand_sweeps(["a=1,2", "b=x,y", "c=3"]))
    assert texts(points) == [
        ["a=1", "b=x", "c=3"],
        ["a=1", "b=y", "c=3"],
        ["a=2", "b=x", "c=3"],
        ["a=2", "b=y", "c=3"],
    ]


def test_expand_sweeps_values_are_plain_nodes() -> None:
    points = list(expand_sweeps(["a=1,2"]))
    assert [p[0].value for p in points] == [s(1), s(2)]
    assert not any(isinstance(o.value, Sweep) for p in points for o in p)


def test_expand_sweeps_writes_each_choice_as_override_text() -> None:
    points = list(expand_sweeps(['m["k.x"]=[1],[2, 3]', "q='a b',c"]))
    assert texts(points) == [
        ["m['k.x']=[1]", "q='a b'"],
        ["m['k.x']=[1]", "q=c"],
        ["m['k.x']=[2, 3]", "q='a b'"],
        ["m['k.x']=[2, 3]", "q=c"],
    ]
    assert [p[0].value for p in points[::2]] == [
        ListNode((s(1),)),
        ListNode((s(2), s(3))),
    ]


def test_expand_sweeps_of_three_sweeps_counts_the_product() -> None:
    points = list(expand_sweeps(["a=1,2,3", "b=x,y", "c=p,q"]))
    assert len(points) == 12
    assert len({tuple(t) for t in texts(points)}) == 12


def test_expand_sweeps_without_sweeps_yields_the_overrides_once() -> None:
    points = list(expand_sweeps(["a=1", "b=[1,2]"]))
    assert texts(points) == [["a=1", "b=[1,2]"]]


def test_expand_sweeps_accepts_parsed_overrides() -> None:
    points = list(expand_sweeps([parse_override("a=1,2")]))
    assert texts(points) == [["a=1"], ["a=2"]]


def test_has_sweeps() -> None:
    assert has_sweeps(["a=1", "b=2,3"])
    assert has_sweeps([parse_override("a=[1],[2]")])
    assert not has_sweeps(["a=[1,2]", "b='x,y'", "c=f(1, 2)", "d={k: 1, j: 2}"])
    assert not has_sweeps([])
