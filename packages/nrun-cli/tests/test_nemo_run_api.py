"""NeMo-Run's `test/cli/test_api.py`, ported to nrun's names: what its users type must work.

`import nemo_run as run` became `from nrun import cli` and `from nrun.config import Config,
Partial, autoconvert`; each resolve/parse call of the original runs as a command line through
`nrun.cli.testing.run_cli` (the public way to test an entrypoint).

Left out, one line each (internals or APIs nrun does not have):
- TestRunContext (all): RunContext's methods (parse_args, parse_fn, cli_execute, to_config, ...)
  are internals; `run.*` overrides are tested as command lines in test_compat_run_settings.py.
- test_execute_lazy_*, test_execute_experiment_*: RunContext.execute_lazy/fiddle.build mocks.
- test_factory_with_namespace, test_help (list_factories), test_resolve_* via resolve_factory:
  nemo_run-only `namespace=`/`resolve_factory`/`list_factories`; the same resolutions run here
  as `arg=name` command lines and `--help`.
- TestListEntrypoints: catalogue-backed `cli.list_entrypoints`, which nrun does not have.
- TestGlobalOptions, TestTorchrunAndConfirmation, TestRunContextLaunch, TestParsePrefixedArgs:
  add_global_options/_is_torchrun/_should_continue/launch/_parse_prefixed_args are internals.
- TestConfigExport: `_serialize_configuration` is internal; exports are tested as `--to-yaml`
  command lines here and in test_exports.py (the lazy `_factory_` format is nemo_run's own).
- TestWorkspaceLoading: nemo_run's `workspace.py` discovery, which nrun does not have.
- TestMainFunction, TestEntrypointCommandHelp: mocks of Entrypoint.main / rich internals.
- TestExtractConstituentTypes: `extract_constituent_types` is an internal helper.
- test_experiment_entrypoint: calls the decorated function directly with mocks; the
  `type="experiment"` entrypoint itself is the lead's (see the report).
"""

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, Union

import pytest

from nrun import cli
from nrun.cli.testing import run_cli
from nrun.config import Config, Partial, autoconvert, build

if TYPE_CHECKING:
    from nemo_run_dummy_type import RealType  # type: ignore[import-not-found]


@dataclass
class DummyModel:
    hidden: int = 100
    activation: str = "relu"


@dataclass
class NestedModel:
    dummy: DummyModel


@dataclass
class Optimizer:
    learning_rate: float = 0.1
    weight_decay: float = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@cli.factory
@autoconvert
def dummy_model() -> DummyModel:
    return DummyModel()


@cli.factory
def dummy_model_config() -> Config[DummyModel]:
    return Config(DummyModel, hidden=2000, activation="tanh")


@cli.factory
@autoconvert
def my_dummy_model(hidden: int = 2000) -> DummyModel:
    return DummyModel(hidden=hidden, activation="tanh")


@cli.factory
@autoconvert
def optimizer() -> Optimizer:
    return Optimizer()


@cli.entrypoint(namespace="dummy", skip_confirmation=True)
def dummy_entrypoint(dummy: DummyModel) -> None:
    print(NestedModel(dummy=dummy))


@cli.factory(target=dummy_entrypoint)
def dummy_recipe() -> Partial[dummy_entrypoint]:  # type: ignore[valid-type]
    return Partial(dummy_entrypoint, dummy=dummy_model_config())


def _ok(fn: object, args: list[str]) -> str:
    result = run_cli(fn, args)  # type: ignore[arg-type]
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result.stdout


# -- TestFactoryAndResolve ----------------------------------------------------------------------
@dataclass
class SomeObject:
    value_1: int
    value_2: int
    value_3: int


def test_factory_without_arguments() -> None:
    @cli.factory
    @autoconvert
    def commonly_used_object() -> SomeObject:
        return SomeObject(value_1=5, value_2=10, value_3=15)

    def show(obj: SomeObject) -> None:
        print(obj)

    out = _ok(show, ["obj=commonly_used_object"])
    assert out == "SomeObject(value_1=5, value_2=10, value_3=15)\n"


@dataclass
class ChildObject:
    value: str


def parent(child: Union[ChildObject, str]) -> None:  # noqa: UP007 - as NeMo-Run writes it
    print(f"child {child}")


@cli.factory(target=parent, target_arg="child")
def common_factory(value: str = "random") -> ChildObject:
    return ChildObject(value=value)


def test_factory_with_target_and_arg() -> None:
    assert _ok(parent, ["child=common_factory"]) == "child ChildObject(value='random')\n"
    assert _ok(parent, ["child=common_factory(custom)"]) == "child ChildObject(value='custom')\n"


@dataclass
class DefaultObject:
    value: str = "default"


@cli.factory(is_target_default=True)
@autoconvert
def default_object_factory() -> DefaultObject:
    return DefaultObject(value="from factory")


def test_factory_default() -> None:
    """`obj=default` names the `is_target_default=True` factory of the argument's type."""

    def holder(obj: DefaultObject) -> None:
        print(obj.value)

    assert _ok(holder, ["obj=default"]) == "from factory\n"


def test_factory_raises_error_without_return_annotation() -> None:
    with pytest.raises(TypeError, match="return annotation"):

        @cli.factory
        def no_return_annotation_function():  # type: ignore[no-untyped-def]
            pass


def test_factory_raises_error_without_parent_when_arg_is_used() -> None:
    @dataclass
    class TestObject:
        pass

    with pytest.raises(ValueError, match="target"):

        @cli.factory(target_arg="test")
        def test_function() -> TestObject:
            return TestObject()


def test_factory_with_unsupported_input() -> None:
    @dataclass
    class TestObject:
        pass

    obj = TestObject()
    obj.__name__ = "abcd"  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        cli.factory(obj)  # type: ignore[call-overload]


def test_resolve() -> None:
    """A factory returning the object (autoconvert) and one declared `-> Config[T]`."""
    assert "hidden=100, activation='relu'" in _ok(dummy_entrypoint, ["dummy=dummy_model"])
    out = _ok(dummy_entrypoint, ["dummy=dummy_model_config"])
    assert "hidden=2000, activation='tanh'" in out


def test_resolve_optional() -> None:
    def fit(optim: Optional[Optimizer] = None) -> None:  # noqa: UP045
        print(optim)

    assert _ok(fit, ["optim=optimizer"]) == f"{Optimizer()}\n"


def test_resolve_union() -> None:
    def fit(model: Union[DummyModel, Optimizer]) -> None:  # noqa: UP007
        print(model)

    assert _ok(fit, ["model=dummy_model"]) == f"{DummyModel()}\n"
    result = run_cli(fit, ["model=dummy_model_123"])
    assert result.exit_code == 2
    assert "dummy_model_123" in result.stderr


def test_help() -> None:
    """Both factories of `Optimizer` are listed: the autoconvert one and the `-> Config[T]` one."""

    @cli.factory
    def my_optimizer(learning_rate: float = 0.001) -> Config[Optimizer]:
        return Config(Optimizer, learning_rate=learning_rate)

    def fit(optim: Optional[Optimizer] = None) -> None:  # noqa: UP045
        print(optim)

    out = _ok(fit, ["--help"])
    assert "optimizer" in out
    assert "my_optimizer" in out
    assert _ok(fit, ["optim=my_optimizer(learning_rate=0.5)"]).startswith(
        "Optimizer(learning_rate=0.5,"
    )


def test_factory_for_entrypoint() -> None:
    out = _ok(dummy_entrypoint, ["--factory", "dummy_recipe"])
    assert "hidden=2000" in out


def test_forward_ref_with_real_type_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Optional["RealType"]`, RealType imported only under TYPE_CHECKING, finds its factories."""
    (tmp_path / "nemo_run_dummy_type.py").write_text(
        "class RealType:\n    def __init__(self, value: int = 42):\n        self.value = value\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("nemo_run_dummy_type", None)
    from nemo_run_dummy_type import RealType as _RealType

    def func(param: Optional["RealType"] = None) -> None:
        print(f"value {param.value if param is not None else None}")

    @cli.factory
    def real_type_factory() -> Config[_RealType]:
        return Config(_RealType, value=100)

    @cli.factory(target=func, target_arg="param")
    def other_factory() -> Config[_RealType]:
        return Config(_RealType, value=200)

    assert _ok(func, ["param=real_type_factory"]) == "value 100\n"
    assert _ok(func, ["param=other_factory"]) == "value 200\n"


# -- models, trainers and the default factory of TestEntrypointRunner ---------------------------
@dataclass
class Model:
    """Dummy model config."""

    hidden_size: int
    num_layers: int
    activation: str


@dataclass
class Trainer:
    """Dummy trainer config."""

    model: Model
    learning_rate: float = 0.001


@cli.factory
@autoconvert
def my_model(hidden_size: int = 256, num_layers: int = 3, activation: str = "relu") -> Model:
    """Create a model configuration."""
    return Model(hidden_size=hidden_size, num_layers=num_layers, activation=activation)


@cli.factory
@autoconvert
def my_other_model(hidden_size: int = 512, num_layers: int = 3, activation: str = "relu") -> Model:
    """Create a model configuration."""
    return Model(hidden_size=hidden_size, num_layers=num_layers, activation=activation)


@cli.factory
def my_optimizer(
    learning_rate: float = 0.001,
    weight_decay: float = 1e-5,
    betas: list[float] = [0.9, 0.999],  # noqa: B006 - as NeMo-Run writes it
) -> Config[Optimizer]:
    """Create an optimizer configuration."""
    return Config(Optimizer, learning_rate=learning_rate, weight_decay=weight_decay, betas=betas)


def defaults() -> Partial["train_model"]:  # type: ignore[name-defined]
    return Partial(
        train_model, model=my_model(), optimizer=my_optimizer(), epochs=40, batch_size=1024
    )


@cli.entrypoint(namespace="my_llm", skip_confirmation=True)
def train_model(model: Model, optimizer: Optimizer, epochs: int = 10, batch_size: int = 32) -> dict:  # type: ignore[type-arg]
    """Train a model using the specified configuration."""
    print("Training model with the following configuration:")
    print(f"Model: {model}")
    print(f"Optimizer: {optimizer}")
    print(f"Epochs: {epochs}")
    print(f"Batch size: {batch_size}")
    for epoch in range(epochs):
        print(f"Epoch {epoch + 1}/{epochs}")
    print("Training completed!")
    return {"model": model, "optimizer": optimizer, "epochs": epochs, "batch_size": batch_size}


@cli.entrypoint(namespace="my_llm", skip_confirmation=True)
def train_model_default_optimizer(
    model: Model,
    optimizer: Annotated[Optional[Optimizer], Config[Optimizer]] = None,  # noqa: UP045
    epochs: int = 10,
    batch_size: int = 32,
) -> dict:  # type: ignore[type-arg]
    if optimizer is None:
        optimizer = Optimizer()
    return train_model(model, optimizer, epochs, batch_size)


@cli.factory(target=train_model)
def custom_defaults() -> Partial["train_model"]:  # type: ignore[name-defined]
    return Partial(
        train_model, model=my_model(), optimizer=my_optimizer(), epochs=10, batch_size=1024
    )


def _llm(args: list[str]) -> str:
    result = run_cli({"train_model": train_model}, args, default_factory=None)
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result.stdout


def test_parse_partial_function_call() -> None:
    out = _ok(dummy_entrypoint, ["dummy=my_dummy_model(hidden=100)"])
    assert "DummyModel(hidden=100, activation='tanh')" in out


def test_with_factory() -> None:
    out = _ok(train_model, ["--factory", "custom_defaults", "model.hidden_size=200", "--yes"])
    assert "Training model with the following configuration:" in out
    assert "Model: Model(hidden_size=200, num_layers=3, activation='relu')" in out


def test_with_defaults() -> None:
    """The entrypoint's default factory, then overrides, `run.skip_confirmation=True` accepted."""
    result = run_cli(
        train_model,
        [
            "model.hidden_size=1024",
            "optimizer.learning_rate=0.005",
            "epochs=30",
            "run.skip_confirmation=True",
        ],
        default_factory=defaults,
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    out = result.stdout
    assert "Model: Model(hidden_size=1024, num_layers=3, activation='relu')" in out
    assert (
        "Optimizer: Optimizer(learning_rate=0.005, weight_decay=1e-05, betas=[0.9, 0.999])" in out
    )
    assert "Epochs: 30" in out
    assert "Batch size: 1024" in out
    assert "Training completed!" in out
    for i in range(1, 31):
        assert f"Epoch {i}/30" in out


def test_with_defaults_no_optimizer() -> None:
    """`Annotated[Optional[X], Config[X]] = None` starts as `X()`; the factory call sets model."""
    out = _ok(
        train_model_default_optimizer,
        ["model=my_model(hidden_size=1024)", "epochs=30", "run.skip_confirmation=True"],
    )
    assert "Model: Model(hidden_size=1024, num_layers=3, activation='relu')" in out
    assert "Optimizer: Optimizer(learning_rate=0.1," in out
    assert "Epochs: 30" in out
    assert "Batch size: 32" in out
    for i in range(1, 31):
        assert f"Epoch {i}/30" in out


def test_annotated_config_default_is_overridable() -> None:
    out = _ok(train_model_default_optimizer, ["model=my_model", "optimizer.learning_rate=0.5"])
    assert "Optimizer: Optimizer(learning_rate=0.5," in out


def test_with_factory_and_overwrite() -> None:
    out = _ok(
        train_model,
        ["model=my_other_model", "model.num_layers=10", "optimizer=my_optimizer", "--yes"],
    )
    assert "Model: Model(hidden_size=512, num_layers=10, activation='relu')" in out


# -- TestDefaultFactory -------------------------------------------------------------------------
def test_default_factory() -> None:
    """The default factory's values are where overrides start (`--factory default` names it)."""
    result = run_cli(train_model, ["epochs=1"], default_factory=defaults)
    assert result.exit_code == 0, result.stderr
    assert "Batch size: 1024" in result.stdout
    assert "Model: Model(hidden_size=256, num_layers=3, activation='relu')" in result.stdout
    assert "betas=[0.9, 0.999]" in result.stdout


def test_build_from_default_factory() -> None:
    result = build(defaults())()
    assert isinstance(result["model"], Model)
    assert isinstance(result["optimizer"], Optimizer)
    assert result["epochs"] == 40
    assert result["batch_size"] == 1024


# -- TestConfigExport, as command lines ---------------------------------------------------------
def test_section_export(tmp_path: Path) -> None:
    """`--to-yaml FILE:model` writes that section alone."""
    target = tmp_path / "model_section.yaml"
    _ok(
        train_model,
        ["model=my_model(hidden_size=2000)", "optimizer=my_optimizer", f"--to-yaml={target}:model"],
    )
    content = target.read_text()
    assert "hidden_size: 2000" in content
    assert "_target_: " in content and content.count("_target_") == 1
    assert "learning_rate" not in content


def test_partial_with_dataclass_instance_is_a_config() -> None:
    """`Partial(fn, arg=dataclass_instance)` holds a config, so overrides reach the fields."""
    partial = Partial(train_model, model=Model(1, 2, "relu"), optimizer=Optimizer())
    assert dataclasses.is_dataclass(partial.model) is False
    assert partial.model.hidden_size == 1
    partial.model.hidden_size = 5
    assert build(partial.model) == Model(5, 2, "relu")
