"""A corpus of bad config files: each fails with one line that names the file (and the line)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import models
from nrun.config import ConfigError, ConfigFileError, apply_override, from_signature, load

MISSING = object()  # no file at all
DIRECTORY = object()  # a directory where the file should be


@dataclasses.dataclass(frozen=True)
class Bad:
    name: str
    content: Any
    error: type[ConfigError]
    match: str
    line: int | tuple[int, ...] | None = None
    key: str | None = None
    bad_as_override: bool = True  # also bad as `model=@file` (a mapping alone is fine there)


MODEL = "_target_: models.Model\n"
CORPUS = [
    Bad(
        "duplicate_key.yaml",
        MODEL + "size: 3\nsize: 4\n",
        ConfigFileError,
        "duplicate key 'size'",
        line=3,
    ),
    Bad(
        "alias_bomb.yaml",
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, n in zip("abcdef", "bcdefg", strict=True)
        ),
        ConfigFileError,
        "expands to more than 1,000,000 values",
    ),
    # -- unreadable or unparsable ---------------------------------------------------------------
    Bad("missing.yaml", MISSING, ConfigFileError, "no such file"),
    Bad("folder.yaml", DIRECTORY, ConfigFileError, "is a directory, not a config file"),
    Bad("config.ini", "[a]\nb = 1\n", ConfigFileError, "unsupported file type '.ini'"),
    Bad("noext", "_target_: models.Model\n", ConfigFileError, "unsupported file type '(none)'"),
    Bad("latin1.yaml", b"name: caf\xe9\n", ConfigFileError, "cannot read: 'utf-8' codec"),
    Bad(
        "indent.yaml",
        MODEL + "size: 3\n  name: x\n",
        ConfigFileError,
        "malformed YAML: mapping values are not allowed",
        line=3,
    ),
    Bad(
        "unclosed.yaml",
        MODEL + "size: 3\ntags: [a, b\n",
        ConfigFileError,
        "malformed YAML: while parsing a flow sequence",
        line=4,
    ),
    Bad(
        "tab.yaml",
        MODEL + "size: 3\n\tname: x\n",
        ConfigFileError,
        "malformed YAML: while scanning a plain scalar found a tab character",
        line=3,
    ),
    Bad(
        "two_documents.yaml",
        MODEL + "---\n" + MODEL,
        ConfigFileError,
        "malformed YAML: expected a single document",
        line=2,
    ),
    Bad(
        "unclosed.toml",
        '_target_ = "models.Model"\nsize = 3\nname = \n',
        ConfigFileError,
        "malformed TOML: Invalid value",
        line=3,
    ),
    Bad(
        "duplicate.toml",
        '_target_ = "models.Model"\nsize = 1\nsize = 2\n',
        ConfigFileError,
        "malformed TOML: Cannot overwrite a value",
        line=3,
    ),
    Bad(
        "trailing_comma.json",
        '{\n  "_target_": "models.Model",\n  "size": 3,\n}\n',
        ConfigFileError,
        "malformed JSON: ",
        line=(3, 4),  # Python 3.13 names the comma (line 3), older ones the brace
    ),
    Bad(
        "single_quotes.json",
        "{\n  '_target_': 'models.Model'\n}\n",
        ConfigFileError,
        "malformed JSON: Expecting property name",
        line=2,
    ),
    Bad("empty.json", "", ConfigFileError, "malformed JSON: Expecting value", line=1),
    Bad(
        "deep.json",
        '{"_target_": "models.Model", "extra": ' + "[" * 5000 + "]" * 5000 + "}",
        ConfigFileError,
        "nested deeper than 100 levels",
    ),
    Bad(
        "self_alias.yaml",
        MODEL + "extra: &loop\n  - *loop\n",
        ConfigFileError,
        "a YAML alias at 'extra[0]' refers to a node that contains it",
        line=2,
    ),
    # -- no code runs on loading ----------------------------------------------------------------
    Bad(
        "apply_tag.yaml",
        MODEL + "name: !!python/object/apply:models.record_call [pwned]\n",
        ConfigFileError,
        "could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:models.record_call'",
        line=2,
    ),
    Bad(
        "object_tag.yaml",
        "!!python/object:models.Model\nsize: 3\n",
        ConfigFileError,
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:",
        line=1,
    ),
    Bad(
        "new_tag.yaml",
        MODEL + "extra: !!python/object/new:models.record_call {args: [pwned]}\n",
        ConfigFileError,
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/new:",
        line=2,
    ),
    Bad(
        "name_tag.yaml",
        MODEL + "extra: !!python/name:models.record_call\n",
        ConfigFileError,
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/name:",
        line=2,
    ),
    # -- wrong shape at the top -----------------------------------------------------------------
    Bad("empty.yaml", "", ConfigFileError, "the file is empty"),
    Bad("comments.yaml", "# nothing here\n", ConfigFileError, "the file is empty"),
    Bad("empty.toml", "", ConfigFileError, "the top level has no _target_", bad_as_override=False),
    Bad(
        "list.yaml",
        "- 1\n- 2\n",
        ConfigFileError,
        "expected a mapping with _target_ at the top, got list",
    ),
    Bad(
        "scalar.yaml",
        "3\n",
        ConfigFileError,
        "expected a mapping with _target_ at the top, got int",
    ),
    Bad(
        "string.json",
        '"hello"',
        ConfigFileError,
        "expected a mapping with _target_ at the top, got str",
    ),
    Bad(
        "no_target.yaml",
        "size: 3\n",
        ConfigFileError,
        "the top level has no _target_",
        bad_as_override=False,
    ),
    # -- _target_, _partial_, _args_ ------------------------------------------------------------
    Bad(
        "unknown_module.yaml",
        "_target_: nrun_no_such_module.Model\n",
        ConfigFileError,
        "cannot import 'nrun_no_such_module.Model': No module named 'nrun_no_such_module'",
        line=1,
    ),
    Bad(
        "unknown_attribute.yaml",
        "_target_: models.Modle\n",
        ConfigFileError,
        "cannot import 'models.Modle': 'models' has no 'Modle'. Did you mean 'Model'?",
        line=1,
    ),
    Bad(
        "nested_unknown_attribute.yaml",
        "_target_: models.Trainer\nmodel:\n  _target_: models.Modell\n",
        ConfigFileError,
        "Did you mean 'Model'?",
        line=3,
    ),
    Bad(
        "target_not_string.yaml",
        "_target_: 3\n",
        ConfigFileError,
        "'_target_' must be a dotted import path, got 3",
        line=1,
    ),
    Bad(
        "target_bad_path.yaml",
        "_target_: models..Model\n",
        ConfigFileError,
        "is not a dotted import path",
        line=1,
    ),
    Bad(
        "target_not_callable.yaml",
        "_target_: models.FACTORIES\n",
        ConfigFileError,
        "is not callable",
        line=1,
    ),
    Bad(
        "partial_not_bool.yaml",
        "_target_: models.cosine\n_partial_: 'yes'\n",
        ConfigFileError,
        "'_partial_' must be true or false",
        line=2,
    ),
    Bad(
        "partial_not_bool.toml",
        '_target_ = "models.cosine"\n_partial_ = 1\n',
        ConfigFileError,
        "'_partial_' must be true or false",
    ),
    Bad(
        "args_not_list.yaml",
        "_target_: models.add\n_args_: {x: 1}\n",
        ConfigFileError,
        "'_args_' must be a list",
        line=2,
    ),
    Bad(
        "too_many_args.yaml",
        "_target_: models.add\n_args_: [1, 2, 3]\n",
        ConfigFileError,
        "too many positional arguments",
    ),
    Bad(
        "args_without_target.yaml",
        MODEL + "encoder:\n  _args_: [1]\n",
        ConfigFileError,
        "'encoder._args_': _args_ is only valid beside _target_",
        line=3,
    ),
    Bad(
        "named_argument_for_enum.yaml",
        MODEL + "color:\n  _target_: models.Color\n  _args_: [red]\n  shade: dark\n",
        ConfigFileError,
        "'color.shade': models.Color is made from _args_ alone",
        line=5,
    ),
    # -- arguments and values -------------------------------------------------------------------
    Bad(
        "unknown_argument.yaml",
        MODEL + "size: 3\n\nsiez: 4\n",
        ConfigFileError,
        "Unknown argument 'siez'. Did you mean 'size'?",
        line=4,
    ),
    Bad(
        "unknown_nested_argument.yaml",
        MODEL + "encoder:\n  block:\n    inner:\n      scael: 2.0\n",
        ConfigFileError,
        "Unknown argument 'scael' for 'encoder.block.inner'. Did you mean 'scale'?",
        line=5,
    ),
    Bad(
        "unknown_argument.json",
        '{"_target_": "models.Model", "colour": "red"}',
        ConfigFileError,
        "Unknown argument 'colour'. Did you mean 'color'?",
    ),
    Bad(
        "non_string_key.yaml",
        MODEL + "1: 2\n",
        ConfigFileError,
        "argument names are strings, got 1",
    ),
    Bad(
        "wrong_type.yaml",
        MODEL + "size: 3\nname: x\nenabled: maybe\n",
        ConfigFileError,
        "'enabled' expects bool, got 'maybe' (str)",
        line=4,
    ),
    Bad(
        "wrong_type.toml",
        '_target_ = "models.Model"\nsize = "big"\n',
        ConfigFileError,
        "'size' expects int, got 'big' (str)",
    ),
    Bad(
        "wrong_type.json",
        '{"_target_": "models.Model",\n "shape": "wide"}',
        ConfigFileError,
        "'shape' expects tuple[int, int], got 'wide' (str)",
    ),
    Bad(
        "bad_enum.yaml",
        MODEL + "color: purple\n",
        ConfigFileError,
        "'color' expects Color (one of RED, GREEN, BLUE), got 'purple' (str)",
        line=2,
    ),
    Bad(
        "bad_enum_target.yaml",
        MODEL + "color:\n  _target_: models.Color\n  _args_: [purple]\n",
        ConfigFileError,
        "'purple' is not a valid Color",
    ),
    Bad(
        "bad_literal.yaml",
        MODEL + "activation: tanh\n",
        ConfigFileError,
        "'activation' expects one of 'relu', 'gelu', 'silu', got 'tanh' (str)",
        line=2,
    ),
    Bad(
        "tuple_length.yaml",
        MODEL + "shape: [1, 2, 3]\n",
        ConfigFileError,
        "'shape' expects tuple[int, int] (2 items), got 3 items",
        line=2,
    ),
    Bad(
        "bad_dict_key.yaml",
        MODEL + "names:\n  one: 1\n",
        ConfigFileError,
        "'names.<key>' expects int, got 'one' (str)",
    ),
    Bad(
        "bad_value_three_deep.yaml",
        MODEL + "encoder:\n  block:\n    inner:\n      scale: big\n",
        ConfigFileError,
        "'encoder.block.inner.scale' expects float, got 'big' (str)",
        line=5,
    ),
    Bad(
        "bad_list_item.yaml",
        MODEL + "blocks:\n  - width: 1\n  - width: wide\n",
        ConfigFileError,
        "'blocks[1].width' expects int, got 'wide' (str)",
        line=4,
    ),
    Bad(
        "config_of_wrong_class.yaml",
        MODEL + "encoder:\n  _target_: models.Optimizer\n",
        ConfigFileError,
        "'encoder' expects models.Encoder, got a config of Optimizer",
        line=2,
    ),
    # -- _none_ ---------------------------------------------------------------------------------
    Bad(
        "none_false.yaml",
        MODEL + "dropout:\n  _none_: false\n",
        ConfigFileError,
        "'dropout': _none_ must stand alone as true",
        line=2,
    ),
    Bad(
        "none_with_company.toml",
        '_target_ = "models.Model"\ndropout = { _none_ = true, x = 1 }\n',
        ConfigFileError,
        "'dropout': _none_ must stand alone as true",
    ),
    Bad(
        "none_for_int.toml",
        '_target_ = "models.Model"\n[size]\n_none_ = true\n',
        ConfigFileError,
        "'size' expects int, got None (NoneType)",
    ),
    # -- interpolation and key selection --------------------------------------------------------
    Bad(
        "interpolation_missing.yaml",
        MODEL + "size: ${nowhere}\n",
        ConfigFileError,
        "interpolation failed: Interpolation key 'nowhere' not found",
    ),
    Bad(
        "interpolation_env.yaml",
        MODEL + "size: ${oc.env:NRUN_TEST_NO_SUCH_VARIABLE}\n",
        ConfigFileError,
        "Environment variable 'NRUN_TEST_NO_SUCH_VARIABLE' not found",
    ),
    Bad(
        "key_not_found.yaml",
        "runs:\n  first:\n    _target_: models.Model\n",
        ConfigFileError,
        "key 'runs.second' not found: 'second' is not in runs (it has first)",
        key="runs.second",
    ),
    Bad(
        "key_into_a_scalar.yaml",
        "runs: 3\n",
        ConfigFileError,
        "key 'runs.first' not found: 'first' is not in runs (it has no keys)",
        key="runs.first",
    ),
    Bad(
        "key_index_out_of_range.yaml",
        "runs:\n  - _target_: models.Model\n",
        ConfigFileError,
        "key 'runs.3' not found",
        key="runs.3",
    ),
]


def _ids(bad: Bad) -> str:
    return bad.name


def _write(bad: Bad, tmp_path: Path) -> Path:
    path = tmp_path / bad.name
    if bad.content is DIRECTORY:
        path.mkdir()
    elif isinstance(bad.content, bytes):
        path.write_bytes(bad.content)
    elif bad.content is not MISSING:
        path.write_text(bad.content, encoding="utf-8")
    return path


def test_the_corpus_is_large_and_names_are_unique() -> None:
    assert len(CORPUS) >= 25
    assert len({bad.name for bad in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("bad", CORPUS, ids=_ids)
def test_bad_file_fails_with_one_line_naming_the_file(
    bad: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NRUN_TEST_NO_SUCH_VARIABLE", raising=False)
    path = _write(bad, tmp_path)
    with pytest.raises(ConfigFileError) as caught:
        load(path, key=bad.key)
    error = caught.value
    message = str(error)
    assert isinstance(error, bad.error)
    assert bad.match in message
    assert message.startswith(str(path))
    assert error.file == str(path)
    assert "\n" not in message
    assert "Traceback" not in message
    assert error.__cause__ is None
    if bad.line is not None:
        lines = bad.line if isinstance(bad.line, tuple) else (bad.line,)
        assert error.line in lines
        assert message.startswith(f"{path}, line {error.line}: ")


@pytest.mark.parametrize(
    "bad", [b for b in CORPUS if b.key is None and b.bad_as_override], ids=_ids
)
def test_bad_file_through_an_override_names_the_override_and_the_file(
    bad: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NRUN_TEST_NO_SUCH_VARIABLE", raising=False)
    path = _write(bad, tmp_path)
    config = from_signature(models.Trainer)
    with pytest.raises(ConfigFileError) as caught:
        apply_override(config, f"model=@{path}")
    message = str(caught.value)
    assert message.startswith(f"Invalid override 'model=@{path}': {path}")
    assert "\n" not in message


def test_yaml_python_tags_run_no_code(tmp_path: Path) -> None:
    models.CALLS.clear()
    for bad in CORPUS:
        if "tag" in bad.name:
            with pytest.raises(ConfigFileError):
                load(_write(bad, tmp_path))
    assert models.CALLS == []


def test_relative_file_name_is_cited_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(MODEL + "size: big\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load("bad.yaml")
    assert str(caught.value) == "bad.yaml, line 2: 'size' expects int, got 'big' (str)"
    assert (caught.value.file, caught.value.line) == ("bad.yaml", 2)
