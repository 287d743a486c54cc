from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import models
from nrun.config import (
    ConfigError,
    ConfigFileError,
    ConfigTypeError,
    FactoryError,
    OverrideSyntaxError,
    OverrideValueError,
    UnknownArgumentError,
    apply_override,
    apply_overrides,
    from_signature,
    parse_override,
)

Syntax = OverrideSyntaxError
Unknown = UnknownArgumentError
Type = ConfigTypeError
Value = OverrideValueError
Factory = FactoryError
File = ConfigFileError

CHOICES = "Expected one of: model, backup, trainer, version, name, steps, lr, verbose, flags"

CORPUS: list[tuple[str, type[ConfigError], str]] = [
    # syntax
    ("layers=[1,2", Syntax, "unclosed '[' at column 8"),
    ("extra={k: 1", Syntax, "unclosed '{' at column 7"),
    ('name="abc', Syntax, 'unterminated string (no closing ") at column 6'),
    ("name='abc", Syntax, "unterminated string (no closing ') at column 6"),
    ("model=tiny_model(1", Syntax, "unclosed '(' at column 17"),
    ("model=f(g(1)", Syntax, "unclosed '('"),
    ("layers=[[1]", Syntax, "unclosed '['"),
    ("steps", Syntax, "expected '=' and a value after the name"),
    ("1steps=3", Syntax, "expected an argument name, found '1'"),
    ("=1", Syntax, "expected an argument name, found '='"),
    ("", Syntax, "empty override; expected name=value"),
    ("   ", Syntax, "empty override; expected name=value"),
    ("model..size=1", Syntax, "expected a name or index after '.'"),
    ("model.=1", Syntax, "expected a name or index after '.'"),
    ("steps==1", Syntax, "unexpected '=' after the operator"),
    ("steps+==1", Syntax, "unexpected '=' after the operator"),
    ("layers[=1", Syntax, "expected an index or key inside '[...]'"),
    ("layers[0=1", Syntax, "expected ']' to close the index"),
    ("model size=1", Syntax, "expected '=' or an operator (+= -= *= /= |= &=), found 's'"),
    ("steps*1", Syntax, "found '*'"),
    ("steps%=2", Syntax, "found '%'"),
    ("steps=1]", Syntax, "unexpected ']'"),
    ("steps=)", Syntax, "expected a value, found ')'"),
    ("layers=[1,,2]", Syntax, "expected a value, found ','"),
    ("layers=[1]x", Syntax, "unexpected 'x'"),
    ("layers=[1 2] [3]", Syntax, "unexpected '['"),
    ("extra={k 1}", Syntax, "expected ':' after a dict key"),
    ("extra={: 1}", Syntax, "expected a key"),
    ("model=tiny_model(hidden=1, 2)", Syntax, "a positional argument cannot follow a keyword"),
    ("model=tiny_model(hidden=1, hidden=2)", Syntax, "argument 'hidden' is given twice"),
    ("model=tiny_model(hidden=a=b)", Syntax, "expected ',' or ')', found '='"),
    ("model=f(1)(2)", Syntax, "unexpected '('"),
    ("model=9(1)", Syntax, "'9' is not a factory name that can be called"),
    ('name=x"y', Syntax, "unexpected '\"'"),
    ("steps=1,", Syntax, "expected a value after ','"),
    ("steps+=1,2", Syntax, "a sweep (a,b,...) can only be assigned with '=', not '+='"),
    ("model=@", Syntax, "expected a file path after '@'"),
    ("model=@model.yaml:", Syntax, "expected a key after ':' in a file reference"),
    # unknown names, at every depth, with the closest name suggested
    ("stpes=5", Unknown, "Unknown argument 'stpes'. Did you mean 'steps'?"),
    ("modle.size=1", Unknown, "Unknown argument 'modle'. Did you mean 'model'?"),
    ("verbos=true", Unknown, "Unknown argument 'verbos'. Did you mean 'verbose'?"),
    ("xyz=1", Unknown, f"Unknown argument 'xyz'. {CHOICES}"),
    ("model.sise=1", Unknown, "Unknown argument 'sise' for 'model'. Did you mean 'size'?"),
    (
        "model.encoder.layrs=1",
        Unknown,
        "Unknown argument 'layrs' for 'model.encoder'. Did you mean 'layers'?",
    ),
    (
        "model.encoder.block.widht=1",
        Unknown,
        "Unknown argument 'widht' for 'model.encoder.block'. Did you mean 'width'?",
    ),
    (
        "model.encoder.block.inner.scal=1",
        Unknown,
        "Unknown argument 'scal' for 'model.encoder.block.inner'. Did you mean 'scale'?",
    ),
    ("model={sise: 3}", Unknown, "Unknown argument 'sise' for 'model'. Did you mean 'size'?"),
    (
        "model={encoder: {layrs: 3}}",
        Unknown,
        "Unknown argument 'layrs' for 'model.encoder'. Did you mean 'layers'?",
    ),
    ("model.weights.c.x=1", Unknown, "'model.weights' has no key 'c'. It has no keys."),
    (
        "model=models.Model(sise=1)",
        Unknown,
        "Unknown argument 'sise' for 'models.Model()'. Did you mean 'size'?",
    ),
    (
        "model=tiny_model(hiden=3)",
        Unknown,
        "Unknown argument 'hiden' for 'tiny_model()'. Did you mean 'hidden'?",
    ),
    (
        "trainer=models.Trainer(epocs=2)",
        Unknown,
        "Unknown argument 'epocs' for 'models.Trainer()'. Did you mean 'epochs'?",
    ),
    (
        "model=models.make_model(colr=red)",
        Unknown,
        "Unknown argument 'colr' for 'models.make_model()'. Did you mean 'color'?",
    ),
    # wrong types, for every kind of annotation
    ("steps=abc", Type, "'steps' expects int, got 'abc' (str)"),
    ("steps=1.5", Type, "'steps' expects int, got 1.5 (float)"),
    ("steps=", Type, "'steps' expects int, got '' (str)"),
    ("steps=[1]", Type, "'steps' expects int, got [1] (list)"),
    ("lr=abc", Type, "'lr' expects float, got 'abc' (str)"),
    ("lr={a: 1}", Type, "'lr' expects float, got {'a': 1} (dict)"),
    ("verbose=maybe", Type, "'verbose' expects bool, got 'maybe' (str)"),
    ("verbose=2", Type, "'verbose' expects bool, got 2 (int)"),
    ("name=[1]", Type, "'name' expects str, got [1] (list)"),
    ("name=None", Type, "'name' expects str, got None (NoneType)"),
    ("seed=abc", Type, "'seed' expects int | None, got 'abc' (str)"),
    ("key=[1]", Type, "'key' expects int | str, got [1] (list)"),
    ("layers=5", Type, "'layers' expects list[int], got 5 (int)"),
    ("layers=[1, x]", Type, "'layers[1]' expects int, got 'x' (str)"),
    ("layers[0]=x", Type, "'layers[0]' expects int, got 'x' (str)"),
    ("model.shape=[1,2,3]", Type, "'model.shape' expects tuple[int, int] (2 items), got 3 items"),
    ("model.shape=5", Type, "'model.shape' expects tuple[int, int], got 5 (int)"),
    ("model.shape[0]=x", Type, "'model.shape[0]' expects int, got 'x' (str)"),
    ("model.dims=[1, x]", Type, "'model.dims[1]' expects int, got 'x' (str)"),
    ("model.labels=[1, x]", Type, "'model.labels[1]' expects int, got 'x' (str)"),
    ("model.weights={a: x}", Type, "'model.weights.a' expects float, got 'x' (str)"),
    ("model.weights=[1]", Type, "'model.weights' expects dict[str, float]"),
    ("model.names={x: a}", Type, "'model.names.<key>' expects int, got 'x' (str)"),
    ("model.data_dir=[1]", Type, "'model.data_dir' expects Path, got [1] (list)"),
    ("model.dropout=x", Type, "'model.dropout' expects float | None, got 'x' (str)"),
    ("model.enabled=2", Type, "'model.enabled' expects bool, got 2 (int)"),
    ("model=5", Type, "'model' expects models.Model, got 5 (int)"),
    ("model=[1]", Type, "'model' expects models.Model, got [1] (list)"),
    ("model={size: x}", Type, "'model.size' expects int, got 'x' (str)"),
    ("model=models.Optimizer()", Type, "'model' expects models.Model, got a config of Optimizer"),
    ("model=tiny_model(hidden=x)", Type, "'tiny_model().hidden' expects int, got 'x' (str)"),
    ("steps/=3", Type, "'steps' expects int, got 3.3333333333333335 (float)"),
    ("layers+=x", Type, "expects int, got 'x' (str)"),
    # choices of enums and literals are listed
    ("color=purple", Type, "'color' expects Color (one of RED, GREEN, BLUE), got 'purple' (str)"),
    ("level=7", Type, "'level' expects Level (one of LOW, HIGH), got 7 (int)"),
    (
        "model.activation=tanh",
        Type,
        "'model.activation' expects one of 'relu', 'gelu', 'silu', got 'tanh' (str)",
    ),
    ("size=3", Type, "'size' expects one of 1, 2, 4, got 3 (int)"),
    ("size=x", Type, "'size' expects one of 1, 2, 4, got 'x' (str)"),
    # operators on nothing, division by zero, operands that do not fit
    ("seed+=1", Value, "cannot apply '+=' to 'seed': it has no value (None)"),
    ("extra*=2", Value, "cannot apply '*=' to 'extra': it has no value (None)"),
    ("backup|={size: 1}", Value, "cannot apply '|=' to 'backup': it has no value (None)"),
    ("model.dropout-=0.1", Value, "cannot apply '-=' to 'model.dropout': it has no value"),
    ("steps/=0", Value, "'steps' /= 0 divides by zero"),
    ("lr/=0.0", Value, "'lr' /= 0 divides by zero"),
    ("steps-=x", Value, "cannot apply '-=' with 'x' (str) to 'steps', which holds 10 (int)"),
    ("model+=1", Value, "cannot apply '+=' with 1 (int) to 'model', which holds a config of Model"),
    ("layers-=[1]", Value, "cannot apply '-=' with [1] (list) to 'layers'"),
    ("lr|=1", Value, "cannot apply '|=' with 1 (int) to 'lr', which holds 0.5 (float)"),
    # indices and fields that are not there
    ("layers[5]=1", Value, "index 5 is out of range: 'layers' has 3 items"),
    ("layers[-4]=1", Value, "index -4 is out of range: 'layers' has 3 items"),
    ("model.shape[2]=1", Value, "index 2 is out of range: 'model.shape' has 2 items"),
    ("model.blocks[0].width=1", Value, "index 0 is out of range: 'model.blocks' has 0 items"),
    ("model[0]=1", Value, "'model' is a config of Model: address its arguments by name, not [0]"),
    ("model.encoder.0=1", Value, "'model.encoder' is a config of Encoder"),
    ("layers.x=1", Value, "'layers' is a list: use an index such as layers[0], not 'x'"),
    ("steps.x=1", Value, "'steps' is 10 (int), which has no 'x' inside; set 'steps' to a"),
    ("name.first=a", Value, "'name' is 'run' (str), which has no 'first' inside"),
    ("trainer.epochs=3", Value, "'trainer' is None, which has no 'epochs' inside"),
    ("backup.size=3", Value, "'backup' is None, which has no 'size' inside"),
    # factories
    ("model=nope", Factory, "'nope' is not a factory for 'model' (models.Model)."),
    ("model=tiny_modle", Factory, "Did you mean 'tiny_model'?"),
    ("model=sized_modle(3)", Factory, "'sized_modle' is not a factory for 'model' (models.Model)."),
    ("model=sized_modle(3)", Factory, "Did you mean 'sized_model'?"),
    ("backup=broken_modl", Factory, "Did you mean 'broken_model'?"),
    (
        "model=broken_model",
        Factory,
        "factory 'broken_model' for 'model' failed: RuntimeError: out of memory",
    ),
    ("model=broken_model()", Factory, "factory 'broken_model' for 'model' failed"),
    (
        "model=sized_model()",
        Factory,
        "failed: TypeError: sized_model() missing 1 required positional argument: 'hidden'",
    ),
    ("model=tiny_model(1, 2)", Factory, "'tiny_model' takes 1 positional arguments, 2 given"),
    ("model=models.Nope", Factory, "'models.Nope' is not a factory for 'model'"),
    ("model=models.Nope(x=1)", Factory, "'models.Nope' is not a factory for 'model'"),
    ("model=nopkg.Thing(x=1)", Factory, "'nopkg.Thing' is not a factory for 'model'"),
    # sweeps need expand_sweeps (or --multirun)
    ("lr=1e-3,1e-4", Value, "'lr' is given a sweep (1e-3, 1e-4): expand it with expand_sweeps"),
    ("model.size=1,2", Value, "'model.size' is given a sweep (1, 2)"),
    ("layers=[1],[2]", Value, "'layers' is given a sweep"),
    # files
    ("model=@missing.yaml", File, "missing.yaml: no such file"),
    ("model=@missing.yaml:a.b", File, "missing.yaml: no such file"),
    (
        "model=@model.txt",
        File,
        "unsupported file type '.txt'; expected .yaml, .yml, .toml or .json",
    ),
    ("model=@model", File, "unsupported file type '(none)'"),
    (
        "model=@many.yaml:models.huge",
        File,
        "key 'models.huge' not found: 'huge' is not in models (it has big, small)",
    ),
    ("model=@many.yaml:nothing", File, "key 'nothing' not found"),
    ("model=@malformed.yaml", File, "malformed.yaml, line 3: malformed YAML: while parsing"),
    ("model=@malformed.json", File, "malformed.json, line 1: malformed JSON"),
    ("model=@malformed.toml", File, "malformed TOML"),
    ("model=@badname.yaml", File, "badname.yaml, line 1: Unknown argument 'sise' for 'model'."),
    ("model=@badname.yaml", File, "Did you mean 'size'?"),
    ("model=@badtype.yaml", File, "badtype.yaml, line 2: 'model.size' expects int, got 'big'"),
    ("model=@badtarget.yaml", File, "cannot import 'models.Modle'"),
    ("model=@empty.yaml", File, "empty.yaml: the file is empty"),
    ("model=@folder.yaml", File, "folder.yaml: is a directory"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("files")
    (root / "model.yaml").write_text("_target_: models.Model\nsize: 7\n")
    (root / "model.txt").write_text("size: 7\n")
    (root / "model").write_text("size: 7\n")
    (root / "many.yaml").write_text(
        "models:\n  big:\n    _target_: models.Model\n  small:\n    size: 2\n"
    )
    (root / "malformed.yaml").write_text("size: 1\nname: [unclosed\n")
    (root / "malformed.json").write_text("{size: 1}")
    (root / "malformed.toml").write_text("size = = 1\n")
    (root / "badname.yaml").write_text("sise: 3\n")
    (root / "badtype.yaml").write_text("name: ok\nsize: big\n")
    (root / "badtarget.yaml").write_text("_target_: models.Modle\n")
    (root / "empty.yaml").write_text("")
    (root / "folder.yaml").mkdir()
    return root


def apply_bad(override: str, files: Path) -> ConfigError:
    config = from_signature(models.experiment)
    with pytest.raises(ConfigError) as info:
        apply_override(config, override, factories=models.FACTORIES, base_dir=files)
    return info.value


def test_corpus_is_large() -> None:
    assert len(CORPUS) >= 60
    assert len({(o, s) for o, _, s in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("override", "error", "expected"), CORPUS)
def test_bad_override(override: str, error: type[ConfigError], expected: str, files: Path) -> None:
    exc = apply_bad(override, files)
    message = str(exc)
    assert type(exc) is error, message
    assert isinstance(exc, ConfigError)
    assert message.startswith(f"Invalid override '{override}': "), message
    assert expected in message, message
    assert "\n" not in message
    assert "Traceback" not in message
    assert exc.override == override


@pytest.mark.parametrize(("override", "error", "expected"), CORPUS)
def test_bad_override_through_apply_overrides(
    override: str, error: type[ConfigError], expected: str, files: Path
) -> None:
    config = from_signature(models.experiment)
    with pytest.raises(error) as info:
        apply_overrides(
            config, ["version=2", override], factories=models.FACTORIES, base_dir=str(files)
        )
    assert f"Invalid override '{override}'" in str(info.value)
    assert expected in str(info.value)


SYNTAX = [(o, s) for o, e, s in CORPUS if e is OverrideSyntaxError]


@pytest.mark.parametrize(("override", "expected"), SYNTAX)
def test_syntax_errors_come_from_parsing_alone(override: str, expected: str) -> None:
    with pytest.raises(OverrideSyntaxError) as info:
        parse_override(override)
    assert str(info.value).startswith(f"Invalid override '{override}': ")
    assert expected in str(info.value)


def test_error_kinds_are_also_builtin_exceptions() -> None:
    assert issubclass(OverrideSyntaxError, ValueError)
    assert issubclass(UnknownArgumentError, AttributeError)
    assert issubclass(ConfigTypeError, TypeError)
    assert issubclass(OverrideValueError, ValueError)
    assert issubclass(FactoryError, LookupError)
    assert issubclass(ConfigFileError, ValueError)


def test_error_names_the_path() -> None:
    exc = apply_bad("model.encoder.block.inner.scal=1", Path())
    assert exc.path == "model.encoder.block.inner.scal"
    assert exc.detail.startswith("Unknown argument 'scal'")


def test_file_error_names_the_file_and_line(files: Path) -> None:
    exc = apply_bad("model=@badtype.yaml", files)
    assert isinstance(exc, ConfigFileError)
    assert (exc.file, exc.line) == ("badtype.yaml", 2)


def test_failing_override_leaves_the_config_unchanged() -> None:
    config = from_signature(models.experiment)
    with pytest.raises(ConfigTypeError):
        apply_override(config, "model={size: 3, name: [x]}")
    assert (config.model.size, config.model.name) == (128, "model")


def test_an_override_must_be_a_string() -> None:
    with pytest.raises(OverrideSyntaxError, match="an override is a string, got int"):
        parse_override(5)  # type: ignore[arg-type]


def test_operator_on_an_unset_argument() -> None:
    config = from_signature(models.add)
    with pytest.raises(OverrideValueError) as info:
        apply_override(config, "x+=1")
    assert (
        str(info.value)
        == "Invalid override 'x+=1': cannot apply '+=' to 'x': it has no value (None)"
    )


def test_descending_into_an_unset_argument() -> None:
    config = from_signature(models.add)
    with pytest.raises(OverrideValueError) as info:
        apply_override(config, "x.y=1")
    assert str(info.value) == (
        "Invalid override 'x.y=1': 'x' has no value to change inside; set it first (e.g. x=...)"
    )


def test_unknown_factory_suggests_from_a_lookup_with_names() -> None:
    class Lookup:
        def __call__(self, name: str, tp: Any, path: str) -> Any:
            return models.FACTORIES.get(name)

        def names(self, tp: Any, path: str) -> list[str]:
            return list(models.FACTORIES)

    config = from_signature(models.experiment)
    with pytest.raises(FactoryError) as info:
        apply_override(config, "model=tiny_modl(hidden=2)", factories=Lookup())
    assert str(info.value) == (
        "Invalid override 'model=tiny_modl(hidden=2)': 'tiny_modl' is not a factory for "
        "'model' (models.Model). Did you mean 'tiny_model'?"
    )


def test_unknown_factory_without_registered_names_has_no_suggestion() -> None:
    config = from_signature(models.experiment)
    with pytest.raises(FactoryError) as info:
        apply_override(config, "model=tiny_modl", factories=models.lookup)
    assert "Did you mean" not in str(info.value)
