from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import models
from nrun.config import Config, ConfigTypeError, Partial, apply_override, build, from_signature
from nrun.config import type_hints as hints_of

if TYPE_CHECKING:
    from collections import OrderedDict as OnlyForTypeCheckers


def varargs(a: int, *args: int, b: str = "x", **kwargs: float) -> None: ...


def unannotated(a, b=2):  # type: ignore[no-untyped-def]
    return a, b


def dangling(a: Undefined, b: int = 1, c: list[models.Color] | None = None) -> None: ...  # noqa: F821


def typed_later(model: OnlyForTypeCheckers, epochs: int = 3) -> None: ...


class DanglingClass:
    def __init__(self, a: Nowhere, b: float = 1.0) -> None: ...  # noqa: F821


@dataclasses.dataclass
class DanglingData:
    a: Missing = None  # type: ignore[name-defined]  # noqa: F821
    b: int = 1


@dataclasses.dataclass
class Holder:
    model: models.Model = dataclasses.field(default_factory=models.Model)
    items: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    fixed: models.Optimizer = dataclasses.field(default_factory=lambda: models.Optimizer(lr=0.5))


# -- from_signature ------------------------------------------------------------------------------


def test_function_gives_a_partial_with_defaults() -> None:
    config = from_signature(models.train)
    assert type(config) is Partial
    assert config.__fn_or_cls__ is models.train
    assert (config.epochs, config.seed, config.mode, config.notes) == (3, None, "train", "")


def test_class_gives_a_config() -> None:
    config = from_signature(models.Trainer)
    assert type(config) is Config
    assert config.__fn_or_cls__ is models.Trainer
    assert (config.epochs, config.schedule) == (1, None)


def test_partial_flag_overrides_the_default_kind() -> None:
    assert type(from_signature(models.train, partial=False)) is Config
    assert type(from_signature(models.Model, partial=True)) is Partial


def test_dataclass_with_nested_dataclasses() -> None:
    config = from_signature(models.Model)
    assert type(config) is Config
    assert isinstance(config.encoder, Config)
    assert isinstance(config.encoder.block, Config)
    assert isinstance(config.encoder.block.inner, Config)
    assert config.encoder.block.inner.__fn_or_cls__ is models.Inner
    assert config.encoder.block.inner.color is models.Color.RED


def test_dataclass_config_builds_the_default_object() -> None:
    assert build(from_signature(models.Model)) == models.Model()


def test_dataclass_defaults_are_filled_in() -> None:
    config = from_signature(models.Model)
    assert (config.size, config.name, config.shape, config.data_dir) == (
        128,
        "model",
        (2, 3),
        models.Path("/data"),
    )
    assert (config.blocks, config.labels, config.weights) == ([], set(), {})


def test_default_factory_gives_fresh_copies() -> None:
    first, second = from_signature(models.Model), from_signature(models.Model)
    assert first.blocks is not second.blocks
    first.tags.append("changed")
    first.weights["a"] = 1.0
    assert second.tags == []
    assert second.weights == {}
    assert models.Model().tags == []


def test_default_factory_making_dataclasses_becomes_configs() -> None:
    config = from_signature(Holder)
    assert isinstance(config.model, Config)
    assert isinstance(config.fixed, Config)
    assert config.fixed.lr == 0.5
    assert config.items == [1, 2]
    assert build(config) == Holder()


def test_default_factory_configs_are_not_shared() -> None:
    first, second = from_signature(Holder), from_signature(Holder)
    first.fixed.lr = 9.0
    first.items.append(3)
    assert (second.fixed.lr, second.items) == (0.5, [1, 2])


def test_mutable_function_defaults_are_copied() -> None:
    config = from_signature(models.train)
    config.callbacks.append("cb")
    config.options["k"] = 1
    defaults = inspect.signature(models.train).parameters
    assert defaults["callbacks"].default == []
    assert defaults["options"].default == {}
    assert from_signature(models.train).callbacks == []


def test_dataclass_instance_default_becomes_a_config() -> None:
    config = from_signature(models.train)
    assert isinstance(config.optimizer, Config)
    assert config.optimizer.__fn_or_cls__ is models.Optimizer
    assert (config.optimizer.lr, config.optimizer.betas) == (1e-3, (0.9, 0.999))
    assert from_signature(models.train).optimizer is not config.optimizer


def test_dataclass_typed_parameter_without_default_gets_the_dataclass_defaults() -> None:
    config = from_signature(models.train)
    assert isinstance(config.model, Config)
    assert config.model.__fn_or_cls__ is models.Model
    assert build(config)()["model"] == models.Model()


def test_class_with_a_dataclass_typed_parameter_without_default() -> None:
    config = from_signature(models.Trainer)
    assert isinstance(config.model, Config)
    assert build(config) == models.Trainer(model=models.Model())


def test_required_parameter_of_plain_type_stays_unset() -> None:
    config = from_signature(models.add)
    assert "x" not in config.__arguments__
    assert config.y == 0
    assert build(config)(x=2) == 2


def test_star_args_and_kwargs_are_not_arguments() -> None:
    config = from_signature(varargs)
    assert dict(config.__arguments__) == {"b": "x"}


def test_partial_builds_to_a_callable() -> None:
    task = build(from_signature(models.train))
    assert isinstance(task, functools.partial)
    assert task(epochs=5)["epochs"] == 5


# -- type_hints ----------------------------------------------------------------------------------


def test_type_hints_of_a_function() -> None:
    hints = hints_of(models.train)
    assert hints["model"] is models.Model
    assert hints["epochs"] is int
    assert hints["seed"] == int | None
    assert hints["schedule"] == Callable[..., float] | None
    assert "return" not in hints


def test_type_hints_of_a_class_come_from_init() -> None:
    assert hints_of(models.Trainer) == {
        "model": models.Model,
        "epochs": int,
        "schedule": Callable[..., float] | None,
    }


def test_type_hints_of_a_dataclass() -> None:
    hints = hints_of(models.Optimizer)
    assert hints == {"lr": float, "betas": tuple[float, float], "weight_decay": float | None}


def test_type_hints_without_annotations_are_any() -> None:
    assert hints_of(unannotated) == {"a": Any, "b": Any}
    assert hints_of(varargs)["args"] is int


def _unresolved(tp: object) -> str | None:
    from nrun.config._annotations import unresolved_name

    return unresolved_name(tp)


def test_unresolvable_forward_ref_is_a_named_stand_in() -> None:
    """A name defined nowhere is not `Any` (a value would pass unchecked): it is named."""
    assert _unresolved(hints_of(dangling)["a"]) == "Undefined"


def test_unresolvable_forward_ref_leaves_the_others_typed() -> None:
    hints = hints_of(dangling)
    assert (hints["b"], hints["c"]) == (int, list[models.Color] | None)
    assert _unresolved(hints_of(DanglingClass)["a"]) == "Nowhere"
    assert hints_of(DanglingClass)["b"] is float
    assert _unresolved(hints_of(DanglingData)["a"]) == "Missing"
    assert hints_of(DanglingData)["b"] is int


def test_names_imported_only_under_type_checking_are_resolved() -> None:
    """`if TYPE_CHECKING: from collections import OrderedDict as ...` is read and imported."""
    from collections import OrderedDict

    assert hints_of(typed_later) == {"model": OrderedDict, "epochs": int}


def test_a_value_for_an_unresolvable_annotation_is_refused_naming_it() -> None:
    config = from_signature(dangling)
    assert apply_override(config, "b=4").b == 4
    with pytest.raises(ConfigTypeError, match="'b' expects int"):
        apply_override(config, "b=many")
    with pytest.raises(ConfigTypeError, match=r"'a' is annotated with 'Undefined', which is not"):
        apply_override(config, "a=anything")


def test_missing_arguments_lists_required_ones_at_every_depth() -> None:
    from nrun.config import Config, Partial, missing_arguments

    def needs(a: int, b: int = 1, *, c: Any) -> None: ...

    root = Partial(needs, c=Config(needs, a=1), b=2)
    assert missing_arguments(root) == ["a", "c.c"]
    assert missing_arguments(Partial(needs, a=1, c=[Partial(needs)])) == []
    assert missing_arguments(Config(needs, a=1, c={"x": Config(needs, c=0)})) == ["c.x.a"]


def test_hints_of_a_class_re_exported_under_another_module_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class whose `__module__` names the package that re-exports it (as nrun.exec.slurm does)
    keeps its annotations: they are read where its methods were written (a dataclass's own
    `__init__` does not tell on Python 3.13)."""
    from nrun.config import get_hints, load

    package = tmp_path / "reexport"
    package.mkdir()
    (package / "_impl.py").write_text(
        "from __future__ import annotations\n"
        "import dataclasses\nfrom typing import Any\n\n"
        "@dataclasses.dataclass\nclass Options:\n"
        "    extra: dict[str, Any] = dataclasses.field(default_factory=dict)\n\n"
        "    def describe(self) -> str:\n        return str(self.extra)\n"
    )
    (package / "__init__.py").write_text(
        "from reexport._impl import Options\nOptions.__module__ = 'reexport'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import reexport  # type: ignore[import-not-found]

    assert get_hints(reexport.Options)["extra"] == dict[str, typing.Any]
    (tmp_path / "o.yaml").write_text("_target_: reexport.Options\nextra: {}\n")
    assert load(tmp_path / "o.yaml").extra == {}  # a dict, not a config of `dict[str, Any]`
