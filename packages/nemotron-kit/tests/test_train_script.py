"""train_script: YAML + strict overrides (nrun.config's grammar) → dataclasses."""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest
from omegaconf import DictConfig, OmegaConf

from nemotron.kit.exceptions import ConfigError, KitError
from nemotron.kit.train_script import (
    apply_hydra_overrides,
    load_omegaconf_yaml,
    omegaconf_to_dataclass,
    parse_config_and_overrides,
)


class Act(enum.Enum):
    RELU = "relu"
    GELU = "gelu"


@dataclass
class Model:
    hidden: int = 8
    act: Act = Act.RELU


@dataclass
class TrainConfig:
    learning_rate: float = 1e-4
    batch_size: int = 32
    name: str = "run"
    out: Path = Path("/tmp/out")
    resume: Optional[Path] = None  # noqa: UP045 - the Optional spelling is what users write
    mode: Literal["fast", "slow"] = "fast"
    tags: list[str] = field(default_factory=list)
    model: Model = field(default_factory=Model)
    dry_run: bool = False


@dataclass
class Required:
    data: Path
    steps: int = 1


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert text and "\n" not in text, text
    return text


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


# -- load_omegaconf_yaml ---------------------------------------------------------------------
def test_load_yaml_keeps_interpolations(tmp_path: Path) -> None:
    file = write(tmp_path / "c.yaml", "base: /data\nout: ${base}/out\n")
    config = load_omegaconf_yaml(file)
    assert isinstance(config, DictConfig)
    assert OmegaConf.to_container(config, resolve=False) == {"base": "/data", "out": "${base}/out"}
    assert config.out == "/data/out"


def test_load_yaml_missing_file_is_one_line_and_a_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_omegaconf_yaml(tmp_path / "nope.yaml")
    assert isinstance(exc.value, FileNotFoundError)
    assert one_line(exc) == f"config file not found: {tmp_path / 'nope.yaml'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", "line 3: invalid YAML: expected ',' or ']'"),
        ("a: 1\na: 2\n", "line 2: invalid YAML: found duplicate key a"),
        ("a: !!python/object:os.system x\n", "line 1: invalid YAML: could not determine"),
        ("- 1\n- 2\n", "expected a mapping of keys at the top level, got a list"),
    ],
)
def test_load_yaml_bad_files_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    file = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_omegaconf_yaml(file)
    message = one_line(exc)
    assert message.startswith(str(file)) and expected in message


def test_load_yaml_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_omegaconf_yaml(tmp_path)
    assert "is a directory" in one_line(exc)


# -- apply_hydra_overrides without a schema --------------------------------------------------
@pytest.fixture
def config() -> DictConfig:
    return OmegaConf.create(
        {
            "base": "/data",
            "train": {"lr": 0.1, "steps": 10, "out": "${base}/out", "layers": [1, 2, 3]},
            "optim": None,
            "tags": ["a"],
            "force": False,
            "dry_run": False,
        }
    )


def test_overrides_dotted_nested_lists_none(config: DictConfig) -> None:
    result = apply_hydra_overrides(
        config,
        [
            "train.lr=3e-4",
            "train.layers[0]=9",
            "train.layers.1=8",
            "base=/other",
            "train.steps=None",
            "optim={name: adam, betas: [0.9, 0.99]}",
            "tags=[x, 'y z']",
        ],
    )
    assert result is config
    assert OmegaConf.to_container(config, resolve=True) == {
        "base": "/other",
        "train": {"lr": 3e-4, "steps": None, "out": "/other/out", "layers": [9, 8, 3]},
        "optim": {"name": "adam", "betas": [0.9, 0.99]},
        "tags": ["x", "y z"],
        "force": False,
        "dry_run": False,
    }
    assert OmegaConf.to_container(config, resolve=False)["train"]["out"] == "${base}/out"  # type: ignore[index]


def test_overrides_operators_flags_interpolations_and_files(
    config: DictConfig, tmp_path: Path
) -> None:
    preset = write(tmp_path / "optim.yaml", "name: sgd\nmomentum: 0.9\n")
    apply_hydra_overrides(
        config,
        [
            "train.steps*=3",
            "train.lr/=10",
            "tags+=b",
            "tags+=[c]",
            "--force",
            "--no-dry-run",
            "train.out=${base}/elsewhere",
            f"optim=@{preset}",
            "train.lr+=0",
        ],
    )
    assert config.train.steps == 30
    assert config.train.lr == pytest.approx(0.01)
    assert list(config.tags) == ["a", "b", "c"]
    assert config.force is True and config.dry_run is False
    assert OmegaConf.to_container(config, resolve=False)["train"]["out"] == "${base}/elsewhere"  # type: ignore[index]
    assert config.train.out == "/data/elsewhere"
    assert OmegaConf.to_container(config.optim) == {"name": "sgd", "momentum": 0.9}


def test_overrides_are_all_or_nothing(config: DictConfig) -> None:
    with pytest.raises(ConfigError):
        apply_hydra_overrides(config, ["train.lr=5", "train.nope=1"])
    assert config.train.lr == 0.1


def test_overrides_accept_a_plain_mapping() -> None:
    result = apply_hydra_overrides({"a": {"b": 1}}, ["a.b=2"])
    assert isinstance(result, DictConfig) and result.a.b == 2


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (
            "train.lrr=1",
            "Invalid override 'train.lrr=1': 'train' has no key 'lrr'. Did you mean 'lr'?",
        ),
        ("bsae=/x", "Invalid override 'bsae=/x': unknown key 'bsae'. Did you mean 'base'?"),
        ("zzz.y=1", "unknown key 'zzz'. It has: base, train, optim, tags, force, dry_run."),
        ("train.lr", "Invalid override 'train.lr': expected '=' and a value after the name"),
        ("+train.new=1", "adding keys ('+key') is not supported"),
        ("~train.lr", "deleting keys ('~key') is not supported"),
        ("train.layers=[1,2", "Invalid override 'train.layers=[1,2': unclosed '['"),
        ("train.layers[7]=1", "index 7 is out of range: 'train.layers' has 3 items"),
        ("train.lr=1e-3,1e-4", "is given a sweep (1e-3, 1e-4)"),
        ("--forse", "Invalid override '--forse': unknown key 'forse'. Did you mean 'force'?"),
        ("optim+=1", "cannot apply '+=' to 'optim': it has no value (None)"),
        ("--tags", "a flag sets true or false, but 'tags' holds ['a'] (list); use tags=..."),
        ("train.lr.x=1", "'train.lr' is 0.1 (float), which has no 'x' inside"),
        ("train==1", "unexpected '=' after the operator"),
        ("optim=@missing.yaml", "missing.yaml: no such file"),
    ],
)
def test_bad_overrides_are_one_line(config: DictConfig, token: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        apply_hydra_overrides(config, [token])
    assert isinstance(exc.value, KitError)
    assert expected in one_line(exc)


def test_overrides_must_be_a_list(config: DictConfig) -> None:
    with pytest.raises(ConfigError) as exc:
        apply_hydra_overrides(config, "train.lr=1")
    assert "must be a list" in one_line(exc)
    with pytest.raises(ConfigError) as exc:
        apply_hydra_overrides(config, [3])  # type: ignore[list-item]
    assert "got 3" in one_line(exc)


# -- typed overrides -------------------------------------------------------------------------
def test_typed_overrides_coerce_and_keep_text() -> None:
    config = OmegaConf.create({"learning_rate": 1, "name": "x", "model": {"hidden": 8}})
    apply_hydra_overrides(
        config,
        ["learning_rate=2", "name=1.10", "model.act=gelu", "resume=/ckpt", "dry_run=yes"],
        schema=TrainConfig,
    )
    assert config.learning_rate == 2.0 and isinstance(config.learning_rate, float)
    assert config.name == "1.10"
    assert config.model.act == "gelu"  # stored as written; the dataclass gets Act.GELU
    assert config.resume == "/ckpt" and config.dry_run is True
    built = omegaconf_to_dataclass(config, TrainConfig)
    assert built.model.act is Act.GELU and built.resume == Path("/ckpt")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (
            "batch_size=abc",
            "Invalid override 'batch_size=abc': 'batch_size' expects int, got 'abc' (str)",
        ),
        ("mode=medium", "'mode' expects one of 'fast', 'slow', got 'medium' (str)"),
        ("model.act=tanh", "'model.act' expects Act (one of RELU, GELU), got 'tanh' (str)"),
        ("batch_size=None", "'batch_size' expects int, got None (NoneType)"),
        ("tags=[1, [2]]", "'tags[1]' expects str, got [2] (list)"),
        (
            "model={hidden: 3, width: 2}",
            "'model' (Model) has no field 'width'. Expected one of: hidden, act.",
        ),
        ("model.hiden=3", "'model' has no key 'hiden'. Did you mean 'hidden'?"),
        ("lerning_rate=1", "unknown key 'lerning_rate'. Did you mean 'learning_rate'?"),
    ],
)
def test_typed_overrides_refuse_bad_values(token: str, expected: str) -> None:
    config = OmegaConf.create({"batch_size": 4, "model": {"hidden": 8}})
    with pytest.raises(ConfigError) as exc:
        apply_hydra_overrides(config, [token], schema=TrainConfig)
    assert expected in one_line(exc)


def test_structured_config_is_its_own_schema() -> None:
    config = OmegaConf.structured(Model)
    apply_hydra_overrides(config, ["hidden=16"])
    assert config.hidden == 16
    with pytest.raises(ConfigError) as exc:
        apply_hydra_overrides(config, ["hidden=big"])
    assert "'hidden' expects int, got 'big' (str)" in one_line(exc)


# -- omegaconf_to_dataclass ------------------------------------------------------------------
@dataclass
class Shard:
    path: Path
    weight: float = 1.0


@dataclass
class DataConfig:
    root: Path
    shards: list[Shard] = field(default_factory=list)
    by_name: dict[str, Shard] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    cache: Optional[Path] = None  # noqa: UP045
    betas: tuple[float, float] = (0.9, 0.99)
    act: Act = Act.RELU
    split: Literal["train", "val"] = "train"
    seed: int = 0


def test_to_dataclass_converts_nested_types_and_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_DIR", "/shards")
    config = OmegaConf.create(
        {
            "root": "/data",
            "shards": [{"path": "${root}/a", "weight": 2}, {"path": "${oc.env:SHARD_DIR}/b"}],
            "by_name": {"x": {"path": "/x"}},
            "files": ["a.txt", "b.txt"],
            "cache": "${root}/cache",
            "betas": [0.8, 0.9],
            "act": "gelu",
            "split": "val",
        }
    )
    built = omegaconf_to_dataclass(config, DataConfig)
    assert built == DataConfig(
        root=Path("/data"),
        shards=[Shard(Path("/data/a"), 2.0), Shard(Path("/shards/b"))],
        by_name={"x": Shard(Path("/x"))},
        files=[Path("a.txt"), Path("b.txt")],
        cache=Path("/data/cache"),
        betas=(0.8, 0.9),
        act=Act.GELU,
        split="val",
        seed=0,
    )


def test_to_dataclass_defaults_and_none() -> None:
    built = omegaconf_to_dataclass(OmegaConf.create({"root": "/r", "cache": None}), DataConfig)
    assert built.cache is None and built.seed == 0 and built.shards == []
    assert omegaconf_to_dataclass({"act": "RELU"}, Model) == Model()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"root": "/r", "sed": 1}, "DataConfig has no field 'sed'. Did you mean 'seed'?"),
        (
            {"root": "/r", "shards": [{"path": "/a", "wieght": 1}]},
            "'shards[0]' (Shard) has no field 'wieght'. Did you mean 'weight'?",
        ),
        ({"root": "/r", "seed": "many"}, "'seed' expects int, got 'many' (str)"),
        (
            {"root": "/r", "split": "test"},
            "'split' expects one of 'train', 'val', got 'test' (str)",
        ),
        (
            {"root": "/r", "betas": [1]},
            "'betas' expects tuple[float, float] (2 items), got 1 items",
        ),
        ({"seed": 1}, "no value for 'root' (Path): set it in the config file or with root=..."),
        ({"root": "/r", "cache": "${nowhere}"}, "cannot resolve 'cache'"),
        ({"root": "${oc.env:NEMOTRON_TEST_UNSET_VAR}"}, "cannot resolve 'root'"),
    ],
)
def test_to_dataclass_errors_are_one_line(data: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        omegaconf_to_dataclass(OmegaConf.create(data), DataConfig)
    assert expected in one_line(exc)


@dataclass
class Checked:
    steps: int = 1

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be positive")


def test_to_dataclass_post_init_errors_and_non_dataclass() -> None:
    with pytest.raises(ConfigError) as exc:
        omegaconf_to_dataclass(OmegaConf.create({"steps": 0}), Checked)
    assert one_line(exc) == "Checked: Checked refused it: steps must be positive"
    with pytest.raises(TypeError, match="must be a dataclass"):
        omegaconf_to_dataclass(OmegaConf.create({}), dict)


# -- parse_config_and_overrides --------------------------------------------------------------
def test_parse_readme_form_file_plus_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.yaml", "batch_size: 64\nmodel:\n  hidden: 16\n")
    config = parse_config_and_overrides(
        TrainConfig, config_file="config.yaml", argv=["learning_rate=3e-4", "model.hidden*=2"]
    )
    assert isinstance(config, TrainConfig)
    assert (config.learning_rate, config.batch_size, config.model.hidden) == (3e-4, 64, 32)


def test_parse_missing_default_file_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config_and_overrides(TrainConfig, argv=["batch_size=8", "--dry-run"])
    assert config == TrainConfig(batch_size=8, dry_run=True)


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_parse_explicit_config_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.yaml", "batch_size: 64\n")
    other = write(tmp_path / "other.yaml", "batch_size: 128\nname: other\n")
    argv = ["--config", str(other)] if form == "separate" else [f"--config={other}"]
    config = parse_config_and_overrides(
        TrainConfig, config_file="config.yaml", argv=[*argv, "name=x"]
    )
    assert (config.batch_size, config.name) == (128, "x")


def test_parse_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config_and_overrides(TrainConfig, argv=["--config", str(tmp_path / "gone.yaml")])
    assert one_line(exc) == f"config file not found: {tmp_path / 'gone.yaml'}"


def test_parse_unknown_key_in_file(tmp_path: Path) -> None:
    file = write(tmp_path / "c.yaml", "batch_sise: 3\n")
    with pytest.raises(ConfigError) as exc:
        parse_config_and_overrides(TrainConfig, config_file=file, argv=[])
    assert one_line(exc) == "TrainConfig has no field 'batch_sise'. Did you mean 'batch_size'?"


def test_parse_original_form_returns_path_and_overrides() -> None:
    path, overrides = parse_config_and_overrides(
        argv=["--config", "x.yaml", "a.b=1", "--force"], default_config="d.yaml"
    )
    assert (path, overrides) == ("x.yaml", ["a.b=1", "--force"])
    assert parse_config_and_overrides(argv=[], default_config=Path("d.yaml")) == ("d.yaml", [])


def test_parse_from_sys_argv_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train.py", "batch_size=16"])
    assert parse_config_and_overrides(TrainConfig).batch_size == 16
    monkeypatch.setattr(sys, "argv", ["train.py", "bacth_size=16"])
    with pytest.raises(SystemExit) as exc:
        parse_config_and_overrides(TrainConfig)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "train.py: error: Invalid override 'bacth_size=16': unknown key 'bacth_size'. "
        "Did you mean 'batch_size'?\n"
    )


def test_parse_required_field_from_file(tmp_path: Path) -> None:
    file = write(tmp_path / "c.yaml", "data: /d\n")
    assert parse_config_and_overrides(Required, config_file=file, argv=["steps=2"]) == Required(
        Path("/d"), 2
    )
    with pytest.raises(ConfigError) as exc:
        parse_config_and_overrides(Required, config_file=None, argv=[])
    assert "no value for 'data' (Path)" in one_line(exc)


# -- the README's Quick Start, verbatim, in a fresh interpreter ------------------------------
README_BLOCK = """
from nemotron.kit.train_script import parse_config_and_overrides
from dataclasses import dataclass

@dataclass
class MyConfig:
    learning_rate: float = 1e-4
    batch_size: int = 32

config = parse_config_and_overrides(MyConfig, config_file="config.yaml")
"""


def run_train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "train.py"
    script.write_text(README_BLOCK + "print(config)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMOTRON_")}
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_readme_quick_start_block(tmp_path: Path) -> None:
    done = run_train(tmp_path, "learning_rate=3e-4")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "MyConfig(learning_rate=0.0003, batch_size=32)\n"
    (tmp_path / "config.yaml").write_text("batch_size: 64\n")
    done = run_train(tmp_path)
    assert done.stdout == "MyConfig(learning_rate=0.0001, batch_size=64)\n"
    done = run_train(tmp_path, "batch_size=many")
    assert done.returncode == 2
    assert done.stderr == (
        "train.py: error: Invalid override 'batch_size=many': 'batch_size' expects int, "
        "got 'many' (str)\n"
    )


def test_init_wandb_from_env(tmp_path: Path) -> None:
    """No `WANDB_PROJECT`: nothing; with one (W&B offline): a run and the W&B lineage tracker."""
    script = textwrap.dedent(
        """
        import wandb
        from nemotron.kit.trackers import get_lineage_tracker
        from nemotron.kit.train_script import init_wandb_from_env

        init_wandb_from_env()
        print(type(get_lineage_tracker()).__name__, wandb.run is not None)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "NEMOTRON_"))}
    run = [sys.executable, "-c", script]
    done = subprocess.run(run, env=env, capture_output=True, text=True, check=False)
    assert done.stdout == "NoneType False\n", done.stderr
    env.update(WANDB_PROJECT="kit-test", WANDB_MODE="offline", WANDB_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script + "wandb.finish()\n"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "WandbTracker True"
    assert list((tmp_path / "wandb").glob("offline-run-*"))
