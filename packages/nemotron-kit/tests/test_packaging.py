"""Packagers: real archives, unpacked and run the way the kit's task runs them."""

from __future__ import annotations

import ast
import json
import os
import runpy
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from nemotron.kit.packaging import CodePackager, SelfContainedPackager
from nrun.exec.packaging import Packager, PackagingError, extract

RUN_MAIN = 'import runpy; runpy.run_module("main", run_name="__main__", alter_sys=True)'

# A recipe script: prints what it was given as one JSON line.
SCRIPT = '''\
"""Train a tiny thing (the script's docstring)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from mylib import VALUE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    known, rest = parser.parse_known_args()
    with open(known.config) as handle:
        config = handle.read()
    import mylib

    print(json.dumps({
        "argv": sys.argv, "config": config, "rest": rest, "cwd": os.getcwd(),
        "value": VALUE, "mylib": mylib.__file__, "doc": __doc__,
    }))


if __name__ == "__main__":
    main()
'''


@pytest.fixture(autouse=True)
def nrun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private `$NRUN_HOME` (the code cache lives there)."""
    home = tmp_path / "nrun-home"
    monkeypatch.setenv("NRUN_HOME", str(home))
    return home


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if rel.endswith(".py") else text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo: `src/mylib`, a recipe script, an ignored output and an untracked note."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    write(
        root,
        {
            "src/mylib/__init__.py": "VALUE = 42\n",
            "recipes/tiny/train.py": SCRIPT,
            "recipes/tiny/train.yaml": "lr: 0.1\n",
            ".gitignore": "outputs/\n",
            "docs/guide.md": "# guide\n",
        },
    )
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    write(root, {"outputs/big.bin": "ignored", "notes.txt": "untracked, not ignored"})
    return root


def members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


def run_main(code: Path, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """Run the unpacked `main.py` as the kit's task does, with only `code` on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(code)
    cwd.mkdir(parents=True, exist_ok=True)
    command = list(flags) if "-c" in flags else [*flags, "-c", RUN_MAIN]
    return subprocess.run(
        [sys.executable, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def output(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def code_packager(repo: Path, **kwargs: object) -> CodePackager:
    return CodePackager(
        script_path=str(repo / "recipes/tiny/train.py"),
        train_path=str(repo / "recipes/tiny/train.yaml"),
        **kwargs,  # type: ignore[arg-type]
    )


# -- CodePackager -------------------------------------------------------------------------------
def test_code_archive_runs_the_script_with_its_config(repo: Path, tmp_path: Path):
    packager = code_packager(repo, argv=["--lr", "0.5", "extra"])
    assert isinstance(packager, Packager)
    archive = packager.package(repo, tmp_path / "job")
    assert archive == tmp_path / "job" / "code.tar.gz"
    names = members(archive)
    assert {"main.py", "config.yaml", "src/mylib/__init__.py", "recipes/tiny/train.py"} <= names
    assert "notes.txt" in names  # untracked but not ignored
    assert "outputs/big.bin" not in names  # ignored
    assert not any(n.startswith(".git/") for n in names)

    code = extract(archive, tmp_path / "job" / "code")
    elsewhere = tmp_path / "elsewhere"
    result = output(run_main(code, elsewhere))
    assert result["argv"] == [
        str(code / "recipes/tiny/train.py"),
        "--config",
        str(code / "config.yaml"),
        "--lr",
        "0.5",
        "extra",
    ]
    assert result["config"] == "lr: 0.1\n"
    assert result["rest"] == ["--lr", "0.5", "extra"]
    assert result["cwd"] == str(elsewhere)  # main.py does not chdir
    assert result["value"] == 42
    assert str(result["mylib"]).startswith(str(code / "src"))  # the packaged copy, from src/


def test_code_archive_leaves_out_the_job_dir_and_exclude_dirs(repo: Path):
    job_dir = repo / "jobs" / "j1"  # inside the repo and not ignored
    job_dir.mkdir(parents=True)
    (job_dir / "job.yaml").write_text("x: 1\n")
    names = members(code_packager(repo, exclude_dirs=("docs",)).package(repo, job_dir))
    assert not any(n.startswith(("jobs/", "docs/")) for n in names)
    assert "recipes/tiny/train.py" in names


def test_code_archive_is_reused_while_nothing_changes(repo: Path, tmp_path: Path, nrun_home: Path):
    packager = code_packager(repo)
    first = packager.package(repo, tmp_path / "job1")
    second = packager.package(repo, tmp_path / "job2")
    cached = list((nrun_home / "kit-code").glob("*.tar.gz"))
    assert len(cached) == 1
    # the same file (hard links): not compressed again
    assert first.stat().st_ino == second.stat().st_ino == cached[0].stat().st_ino
    assert first.read_bytes() == second.read_bytes()

    (repo / "src/mylib/__init__.py").write_text("VALUE = 43\n")
    third = packager.package(repo, tmp_path / "job3")
    assert third.stat().st_ino != first.stat().st_ino
    assert len(list((nrun_home / "kit-code").glob("*.tar.gz"))) == 2
    code = extract(third, tmp_path / "job3" / "code")
    assert output(run_main(code, tmp_path))["value"] == 43
    assert first.read_bytes() == second.read_bytes()  # the old archive is untouched

    # a different config is a different archive too
    other = tmp_path / "other.yaml"
    other.write_text("lr: 9\n")
    fourth = code_packager(repo).package(repo, tmp_path / "job4")
    assert fourth.stat().st_ino == third.stat().st_ino
    changed = CodePackager(script_path=packager.script_path, train_path=str(other))
    assert changed.package(repo, tmp_path / "job5").stat().st_ino != third.stat().st_ino


def test_a_script_in_no_repository_packages_its_folder(tmp_path: Path):
    root = tmp_path / "plain"
    write(root, {"train.py": SCRIPT, "mylib.py": "VALUE = 7\n", "train.yaml": "a: 1\n"})
    (root / ".git").mkdir()  # a marker folder, not a repository: still a plain folder
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    packager = CodePackager(script_path=str(root / "train.py"), train_path=str(root / "train.yaml"))
    archive = packager.package(root, tmp_path / "job")
    assert members(archive) == {"main.py", "config.yaml", "train.py", "mylib.py", "train.yaml"}
    code = extract(archive, tmp_path / "job" / "code")
    result = output(run_main(code, tmp_path))
    assert result["value"] == 7
    assert result["argv"] == [str(code / "train.py"), "--config", str(code / "config.yaml")]


def test_code_packager_is_exported_as_a_plain_config(repo: Path):
    from nrun.config import build, to_buildable

    packager = code_packager(repo, argv=["a"], exclude_dirs=("docs",))
    assert build(to_buildable(packager)) == packager


# -- SelfContainedPackager ----------------------------------------------------------------------
HELPER = {
    "nemotron/tinyhelper/__init__.py": '''\
        """A small local package of our namespace, installed nowhere."""
        from __future__ import annotations

        from .mathx import double
        from nemotron.tinyhelper import consts

        BASE = consts.BASE
        ''',
    "nemotron/tinyhelper/mathx.py": """\
        from __future__ import annotations

        import math


        def double(x: int) -> int:
            return int(math.fabs(2 * x))


        class Point:
            def __init__(self, x: int):
                self.x = x


        def explode() -> None:
            raise RuntimeError("boom from the helper")
        """,
    "nemotron/tinyhelper/consts.py": "BASE = 21\n",
    "nemotron/tinyhelper/lazy.py": "LAZY = 'lazy'\n",
    "data/vocab.txt": "a b c\n",
}

SC_SCRIPT = '''\
#!/usr/bin/env python
"""Self-contained recipe."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import sys

import nemotron.tinyhelper.mathx as mx
from nemotron.tinyhelper import BASE, double

try:
    import nemotron.not_installed_anywhere  # optional: guarded
except ImportError:
    pass


def lazy() -> str:
    from nemotron.tinyhelper.lazy import LAZY

    return LAZY


def main() -> None:
    if "--explode" in sys.argv:
        mx.explode()
    config = open(sys.argv[2]).read()
    point = pickle.loads(pickle.dumps(mx.Point(3)))
    print(json.dumps({
        "argv": sys.argv, "config": config, "cwd": os.getcwd(), "double": double(BASE),
        "lazy": lazy(), "module": type(point).__module__, "x": point.x, "doc": __doc__,
        "kit": importlib.util.find_spec("nemotron.kit") is not None,
        "vocab": open("data/vocab.txt").read(),
    }))


if __name__ == "__main__":
    main()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a local `nemotron.tinyhelper` package, a script using it, and its config."""
    root = tmp_path / "proj"
    write(root, {**HELPER, "train.py": SC_SCRIPT, "train.yaml": "vocab: data/vocab.txt\nn: 1\n"})
    return root


def self_contained(root: Path, script: str = "train.py", **kwargs: object) -> SelfContainedPackager:
    return SelfContainedPackager(
        script_path=str(root / script),
        train_path=str(root / "train.yaml"),
        **kwargs,  # type: ignore[arg-type]
    )


def test_self_contained_main_runs_with_nothing_of_ours_importable(project: Path, tmp_path: Path):
    archive = self_contained(project, argv=["--steps", "3"]).package(project, tmp_path / "job")
    assert members(archive) == {"main.py", "config.yaml", "data/vocab.txt"}
    code = extract(archive, tmp_path / "job" / "code")
    # -S: no site-packages, so neither nemotron.kit nor anything else of ours is importable;
    # cwd = the unpacked code, as nrun's executors run a packaged job
    result = output(run_main(code, code, "-S"))
    assert result["argv"] == [
        str(code / "main.py"),
        "--config",
        str(code / "config.yaml"),
        "--steps",
        "3",
    ]
    assert result["config"] == "vocab: data/vocab.txt\nn: 1\n"
    assert (result["double"], result["lazy"], result["x"]) == (42, "lazy", 3)
    assert result["module"] == "nemotron.tinyhelper.mathx"  # modules keep their names
    assert result["doc"] == "Self-contained recipe."
    assert result["kit"] is False
    assert result["vocab"] == "a b c\n"


def test_self_contained_main_keeps_docstring_and_future_imports_first(
    project: Path, tmp_path: Path
):
    archive = self_contained(project).package(project, tmp_path / "job")
    main = (extract(archive, tmp_path / "code") / "main.py").read_text()
    tree = ast.parse(main)
    assert ast.get_docstring(tree) == "Self-contained recipe."
    second = tree.body[1]
    assert isinstance(second, ast.ImportFrom) and second.module == "__future__"
    assert main.count("from __future__ import annotations") == 3  # the script's + 2 modules
    assert "import json" in main  # external imports stay imports
    for name in ("nemotron.tinyhelper", "nemotron.tinyhelper.mathx", "nemotron.tinyhelper.lazy"):
        assert f"'{name}': (" in main
    assert "not_installed_anywhere': (" not in main


def test_a_failing_inlined_module_shows_its_own_source_line(project: Path, tmp_path: Path):
    archive = self_contained(project, argv=["--explode"]).package(project, tmp_path / "job")
    code = extract(archive, tmp_path / "job" / "code")
    # Python's traceback module (nrun's task runner reports with it) asks the module's loader
    report = f"import traceback\ntry:\n    {RUN_MAIN}\nexcept Exception:\n    traceback.print_exc()"
    done = run_main(code, code, "-S", "-c", report)
    assert "nemotron/tinyhelper/mathx.py" in done.stderr
    assert 'raise RuntimeError("boom from the helper")' in done.stderr


def test_excluded_kit_modules_stay_imports(project: Path, tmp_path: Path):
    write(
        project,
        {
            "uses_kit.py": """\
                import json
                import sys

                from nemotron.kit.exceptions import KitError
                from nemotron.tinyhelper import BASE

                print(json.dumps({"base": BASE, "kit": KitError.__module__, "argv": sys.argv[1:]}))
                """
        },
    )
    archive = self_contained(project, "uses_kit.py").package(project, tmp_path / "job")
    code = extract(archive, tmp_path / "job" / "code")
    main = (code / "main.py").read_text()
    assert "'nemotron.kit" not in main
    result = output(run_main(code, tmp_path))  # nemotron-kit is installed in this Python
    assert result == {
        "base": 21,
        "kit": "nemotron.kit.exceptions",
        "argv": ["--config", str(code / "config.yaml")],
    }


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("train.py", "from nemotron.tinyhelper import *\n"),
        ("nemotron/tinyhelper/consts.py", "from nemotron.tinyhelper.lazy import *\nBASE = 1\n"),
        ("nemotron/tinyhelper/consts.py", "from .lazy import *\nBASE = 1\n"),
    ],
)
def test_star_imports_of_inlined_modules_are_refused(
    project: Path, tmp_path: Path, where: str, text: str
):
    (project / where).write_text(text)
    with pytest.raises(PackagingError) as exc:
        self_contained(project).package(project, tmp_path / "job")
    message = str(exc.value)
    assert "\n" not in message
    assert f"{project / where}:1' star-imports nemotron.tinyhelper" in message
    assert not (tmp_path / "job" / "code.tar.gz").exists()


def test_star_imports_of_other_modules_are_kept(project: Path, tmp_path: Path):
    write(project, {"star.py": "from os.path import *\nprint(join('a', 'b'))\n"})
    code = extract(self_contained(project, "star.py").package(project, tmp_path / "j"), tmp_path)
    done = run_main(code, tmp_path, "-S")
    assert done.returncode == 0 and done.stdout == "a/b\n", done.stderr


# -- bad input: one line each ---------------------------------------------------------------------
def one_line(exc: pytest.ExceptionInfo[PackagingError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("kind", [CodePackager, SelfContainedPackager])
@pytest.mark.parametrize(
    ("files", "script", "expected"),
    [
        ({}, "missing.py", "script '{root}/missing.py' is not a file"),
        ({"train.py": "def broken(:\n"}, "train.py", "syntax error in '{root}/train.py:1'"),
    ],
)
def test_bad_scripts(
    tmp_path: Path, kind: type[Packager], files: dict[str, str], script: str, expected: str
):
    root = tmp_path / "p"
    write(root, {**files, "train.yaml": "a: 1\n"})
    packager = kind(script_path=str(root / script), train_path=str(root / "train.yaml"))  # type: ignore[call-arg]
    with pytest.raises(PackagingError) as exc:
        packager.package(root, tmp_path / "job")
    assert expected.format(root=root) in one_line(exc)


@pytest.mark.parametrize("kind", [CodePackager, SelfContainedPackager])
def test_missing_config(tmp_path: Path, kind: type[Packager]):
    write(tmp_path, {"train.py": "print(1)\n"})
    packager = kind(script_path=str(tmp_path / "train.py"), train_path=str(tmp_path / "no.yaml"))  # type: ignore[call-arg]
    with pytest.raises(PackagingError) as exc:
        packager.package(tmp_path, tmp_path / "job")
    assert f"config '{tmp_path / 'no.yaml'}' is not a file" in one_line(exc)


def test_unknown_inlined_module(project: Path, tmp_path: Path):
    (project / "train.py").write_text("import nemotron.tinyhelper.nothere\n")
    with pytest.raises(PackagingError) as exc:
        self_contained(project).package(project, tmp_path / "job")
    assert "cannot find module 'nemotron.tinyhelper.nothere' imported at" in one_line(exc)


def test_syntax_error_in_an_inlined_module(project: Path, tmp_path: Path):
    (project / "nemotron/tinyhelper/lazy.py").write_text("LAZY = (\n")
    with pytest.raises(PackagingError) as exc:
        self_contained(project).package(project, tmp_path / "job")
    assert f"syntax error in '{project / 'nemotron/tinyhelper/lazy.py'}:1'" in one_line(exc)


def test_bad_inline_package(project: Path, tmp_path: Path):
    with pytest.raises(PackagingError) as exc:
        self_contained(project, inline_package="not a name").package(project, tmp_path / "j")
    assert "'not a name' is not a dotted module name" in one_line(exc)


def test_bad_config_yaml(project: Path, tmp_path: Path):
    (project / "train.yaml").write_text("a: [1\n")
    with pytest.raises(PackagingError) as exc:
        self_contained(project).package(project, tmp_path / "job")
    assert "is not valid YAML" in one_line(exc)


def test_a_repo_main_py_would_be_shadowed(repo: Path, tmp_path: Path):
    (repo / "main.py").write_text("print('mine')\n")
    with pytest.raises(PackagingError) as exc:
        code_packager(repo).package(repo, tmp_path / "job")
    assert f"'{repo / 'main.py'}' would be replaced by the archive's own main.py" in one_line(exc)


def test_git_failing_is_one_line(repo: Path, tmp_path: Path):
    (repo / ".git" / "index").write_bytes(b"junk")
    with pytest.raises(PackagingError) as exc:
        code_packager(repo).package(repo, tmp_path / "job")
    assert f"CodePackager: git ls-files failed in '{repo}'" in one_line(exc)


def test_git_missing_is_one_line(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(PackagingError) as exc:
        code_packager(repo).package(repo, tmp_path / "job")
    assert "is in a git repository, but git is not installed" in one_line(exc)


def test_an_excluded_script_is_refused(repo: Path, tmp_path: Path):
    with pytest.raises(PackagingError) as exc:
        code_packager(repo, exclude_dirs=("recipes",)).package(repo, tmp_path / "job")
    assert "is excluded from the archive" in one_line(exc)


# -- end to end through nrun ----------------------------------------------------------------------
def task() -> object:
    from nrun.config import Partial

    return Partial(runpy.run_module, mod_name="main", run_name="__main__", alter_sys=True)


def test_code_packager_through_nrun_local_executor(repo: Path, monkeypatch: pytest.MonkeyPatch):
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment
    from nrun.exec.local import LocalExecutor

    monkeypatch.chdir(repo)
    executor = LocalExecutor(packager=code_packager(repo, argv=["--lr", "2"]))
    experiment = Experiment("kit-code-packager", executor=executor)
    experiment.add(task(), name="train")
    experiment.run()
    assert experiment.status() == {"train": JobState.SUCCEEDED}
    result = json.loads(experiment.logs("train").strip().splitlines()[-1])
    code = Path(str(result["cwd"]))  # the local executor runs a packaged job in its code
    assert code.name == "code" and (code.parent / "code.tar.gz").is_file()
    assert result["argv"] == [
        str(code / "recipes/tiny/train.py"),
        "--config",
        str(code / "config.yaml"),
        "--lr",
        "2",
    ]
    assert result["value"] == 42


def test_self_contained_packager_through_nrun_local_executor(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment
    from nrun.exec.local import LocalExecutor

    monkeypatch.chdir(project)
    executor = LocalExecutor(packager=self_contained(project))
    experiment = Experiment("kit-self-contained", executor=executor)
    experiment.add(task(), name="train")
    experiment.run()
    assert experiment.status() == {"train": JobState.SUCCEEDED}, experiment.logs("train")
    result = json.loads(experiment.logs("train").strip().splitlines()[-1])
    assert (result["double"], result["module"]) == (42, "nemotron.tinyhelper.mathx")
    assert result["argv"][1:] == ["--config", str(Path(str(result["cwd"])) / "config.yaml")]


def slurm_is_up() -> None:
    """Skip unless the test cluster (integration-tests/slurm-up.sh) answers with its nodes."""
    pytest.importorskip("nrun.exec.slurm", reason="nrun-exec-slurm is not installed")
    if shutil.which("sinfo") is None:
        pytest.skip("no Slurm client tools; start the cluster with integration-tests/slurm-up.sh")
    done = subprocess.run(["sinfo", "--noheader", "--format=%N"], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        reason = (done.stderr.strip().splitlines() or ["no nodes"])[0]
        pytest.skip(f"Slurm is not up ({reason}); start it with integration-tests/slurm-up.sh")


def test_code_packager_through_the_slurm_executor(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    slurm_is_up()
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment
    from nrun.exec.slurm import LocalTunnel, SlurmExecutor

    monkeypatch.chdir(repo)
    remote = tmp_path / "remote"
    executor = SlurmExecutor(
        packager=code_packager(repo, argv=["x"]),
        tunnel=LocalTunnel(job_dir=str(remote)),
        time="00:05:00",
    )
    experiment = Experiment("kit-code-slurm", executor=executor)
    experiment.add(task(), name="train")
    experiment.run()
    assert experiment.status() == {"train": JobState.SUCCEEDED}, experiment.logs("train")
    result = json.loads(experiment.logs("train").strip().splitlines()[-1])
    code = Path(str(result["cwd"]))
    assert code.is_relative_to(remote) and code.name == "code"
    assert result["argv"][1:] == ["--config", str(code / "config.yaml"), "x"]
    assert result["value"] == 42
